"""Settings of the keys service (``ESD_*`` like every service's), beyond the platform's."""

from __future__ import annotations

from esd_platform.delivery import DEV_DELIVERY_SECRET
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults, refused at start when ESD_ENV=prod (see KeysSettings.check_for).
DEV_SECRET = "dev:esd-development-keys-secret-not-for-production"  # noqa: S105
DEV_SIGNING_SEED = "esd-development-signing-seed-not-for-production"
DEV_HASH_SECRET = "esd-development-key-hash-secret"  # noqa: S105


class KeysSettings(BaseSettings):
    """Secrets and adapter knobs; defaults are for development only."""

    model_config = SettingsConfigDict(env_prefix="ESD_", extra="ignore")

    keys_secret: str = Field(
        default=DEV_SECRET,
        description=(
            "AES-GCM secrets as 'kid:secret[,kid:secret…]'; the first encrypts, all decrypt "
            "(rotation: put the new one first, keep the old ones until re-encrypted). "
            "A bare secret without 'kid:' gets the key id 'k1'."
        ),
    )
    keys_signing_seed: str = Field(
        default=DEV_SIGNING_SEED,
        description="Seed of the Ed25519 signing key (any string; hashed to 32 bytes)",
    )
    keys_hash_secret: str = Field(
        default=DEV_HASH_SECRET,
        description="HMAC secret of the key hashes that make every key unique (never rotated)",
    )
    key_delivery_secret: str = Field(
        default=DEV_DELIVERY_SECRET,
        description="Secret(s) that seal an order's keys for the gateway, the gateway's own "
        "ESD_KEY_DELIVERY_SECRET ('kid:secret[,…]', the first seals)",
    )
    vendor_api_url: str = Field(
        default="", description="Base URL of the vendor keys API; empty = no vendor configured"
    )
    vendor_api_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Per-vendor base URLs as JSON ({"Kaspersky": "http://…"}); '
        "vendors not named use vendor_api_url",
    )
    vendor_timeout: float = Field(default=2.0, gt=0, description="Seconds per vendor HTTP call")
    vendor_retry_budget: float = Field(
        default=6.0, gt=0, description="Seconds one order may spend retrying a vendor"
    )
    vendor_max_attempts: int = Field(default=4, ge=1, description="Vendor calls per order at most")
    vendor_backoff_base: float = Field(default=0.1, gt=0, description="First retry delay, s")
    vendor_backoff_cap: float = Field(default=1.0, gt=0, description="Largest retry delay, s")
    vendor_breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open a vendor's circuit"
    )
    vendor_breaker_reset: float = Field(
        default=10.0, gt=0, description="Seconds an open circuit waits before a trial call"
    )
    stock_low_threshold: int = Field(
        default=10,
        ge=0,
        description="StockLow is published when a pool falls under this (0: never)",
    )

    def check_for(self, env: str) -> None:
        """Production must bring its own secrets: the development ones are public."""
        if env != "prod":
            return
        if DEV_SECRET in self.keys_secret or self.keys_hash_secret == DEV_HASH_SECRET:
            raise ValueError("ESD_KEYS_SECRET / ESD_KEYS_HASH_SECRET must be set in production")
        if self.keys_signing_seed == DEV_SIGNING_SEED:
            raise ValueError("ESD_KEYS_SIGNING_SEED must be set in production")
        if DEV_DELIVERY_SECRET in self.key_delivery_secret:
            raise ValueError("ESD_KEY_DELIVERY_SECRET must be set in production")
