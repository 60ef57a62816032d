"""Catalog-only settings (``ESD_CATALOG_*``), besides the platform's."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatalogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESD_CATALOG_", extra="ignore")

    seed_demo: bool = Field(
        default=True, description="Write the demo catalog at start when the catalog is empty"
    )
