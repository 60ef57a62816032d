"""Settings only the gateway reads (``ESD_*``); the platform's own come from PlatformSettings."""

from __future__ import annotations

from typing import Literal

from esd_platform.delivery import DEV_DELIVERY_SECRET
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """HTTP-side settings of the gateway."""

    model_config = SettingsConfigDict(env_prefix="ESD_", extra="ignore")

    ops_token: str = Field(
        default="esd-ops-dev-token", description="Bearer token of ops (ESD_OPS_TOKEN)"
    )
    gateway_port: int = Field(default=8080, description="HTTP port (ESD_GATEWAY_PORT)")
    gateway_workers: int = Field(default=1, ge=1, description="granian workers")
    download_secret: str = Field(
        default="esd-download-dev-secret",
        description="HMAC key of signed download links (ESD_DOWNLOAD_SECRET)",
    )
    secret_key: str = Field(
        default="esd-secret-dev-key",
        description="Key that encrypts partners' webhook secrets at rest (ESD_SECRET_KEY)",
    )
    key_delivery_secret: str = Field(
        default=DEV_DELIVERY_SECRET,
        description="Secret(s) that open the keys the keys service sealed for us, the keys "
        "service's own ESD_KEY_DELIVERY_SECRET ('kid:secret[,…]')",
    )
    public_base_url: str = Field(
        default="", description="Absolute base of links we hand out; empty = relative links"
    )
    download_ttl_days: int = Field(default=7, ge=1, description="Validity of download links")
    query_timeout: float = Field(default=5.0, description="Seconds a query to a service may take")
    balance_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Longest a partner's balance is served from this process's memory; credit's "
        "events and the partner's final orders invalidate it sooner (0 = ask credit every time)",
    )
    # hardening (gateway.http.hardening): generous defaults; 0 turns a limit off
    rate_limit_per_second: float = Field(
        default=500.0, ge=0, description="Requests a second per partner, sustained (0 = no limit)"
    )
    rate_limit_burst: int = Field(
        default=2000, ge=1, description="Requests a partner may send at once above the rate"
    )
    rate_limit_store: Literal["auto", "memory", "postgres"] = Field(
        default="auto",
        description="Where buckets live: auto = in process for one worker, PostgreSQL for more",
    )
    max_request_bytes: int = Field(
        default=10_000_000, ge=1, description="Largest request body (routes may set their own)"
    )
    request_timeout: float = Field(
        default=60.0, ge=0, description="Seconds until an answer must start (0 = none)"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS; empty = CORS off"
    )
    # webhooks (gateway.service_layer.webhook_delivery): signed callbacks of final orders
    webhooks_enabled: bool = Field(
        default=True, description="Run the webhook dispatcher in this gateway process"
    )
    webhook_backoff_base: float = Field(
        default=10.0, gt=0, description="Seconds before the first retry; doubles per failure"
    )
    webhook_backoff_cap: float = Field(
        default=3600.0, gt=0, description="Longest pause between two attempts, seconds"
    )
    webhook_retry_window: float = Field(
        default=86400.0, gt=0, description="Seconds after the first attempt until a delivery fails"
    )
    webhook_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a partner's endpoint has to answer"
    )
    webhook_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between looks for due deliveries"
    )
    webhook_batch: int = Field(default=20, ge=1, description="Deliveries sent at once")
    webhook_include_keys: bool = Field(
        default=True,
        description="A completed order's callback carries its keys, as GET /orders/{id} "
        "shows them (asked of the keys service at each attempt, never stored here)",
    )
