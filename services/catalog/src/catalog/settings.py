"""Catalog-only settings (``ESD_CATALOG_*``), besides the platform's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatalogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESD_CATALOG_", extra="ignore")

    seed_demo: bool = Field(
        default=True, description="Write the demo catalog at start when the catalog is empty"
    )
    demo_size: Literal["full", "compact"] = Field(
        default="full",
        description=(
            "full: the whole demo catalog (3,370 products); compact: the first active option"
            " combination of each product line and every inactive product (343 products),"
            " which the test suite seeds"
        ),
    )
