"""Settings from the environment (``ESD_*``), the same names for every service."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """What every service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ESD_", extra="ignore")

    env: str = Field(default="dev", description="dev | test | prod; 'test' enables the test clock")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/esd")
    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/")
    prefetch: int = Field(default=16, ge=1, le=1000, description="Unacked messages per consumer")
    db_pool_size: int = Field(
        default=8,
        ge=1,
        description="Connections a service keeps (its handlers wait for one beyond that; the "
        "gateway keeps three times as many and opens as many again in a burst); all of them "
        "share PostgreSQL's max_connections (100 by default)",
    )
    log_level: str = Field(default="INFO")
    graceful_timeout: float = Field(default=20.0, description="Seconds in-flight handlers get")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the asyncpg driver, whatever form it was given in."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url

    @property
    def is_test(self) -> bool:
        return self.env == "test"
