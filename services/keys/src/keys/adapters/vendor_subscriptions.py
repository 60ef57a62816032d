"""Subscriptions at the vendor over HTTP: create a tenant, push a change to it.

Protocol (what the stub in ``deploy/vendor_stub`` implements)::

    POST {base}/v1/subscriptions            Idempotency-Key: <change id>
    {"subscription_id": "…", "sku": "…", "quantity": 3}
    200 {"tenant_id": "…", "quantity": 3, "status": "active"}

    PUT  {base}/v1/subscriptions/{tenant}   Idempotency-Key: <change id>
    {"quantity": 5, "status": "active" | "suspended" | "cancelled"}
    200 {"tenant_id": "…", "quantity": 5, "status": "…"}

    408 / 429 / 5xx / timeout   transient: retried within the budget
    other 4xx                   the vendor refuses (unknown tenant, cancelled): not retried

The change id is the idempotency key, so a retry after a lost answer (or a redelivered
command) gets the same answer and never a second tenant. Timeouts, attempts and backoff are the
keys service's vendor settings (``ESD_VENDOR_*``), the same base URL per vendor as for keys.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from esd_platform.logging import get_logger

from keys.domain.circuit import backoff_delay
from keys.settings import KeysSettings

log = get_logger("esd.keys.vendor_subscriptions")

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
VENDOR_UNAVAILABLE = "vendor_unavailable"
VENDOR_REFUSED = "vendor_refused"


@dataclass(frozen=True)
class VendorOutcome:
    """The tenant id the vendor confirmed, or why it did not."""

    tenant_id: str | None = None
    reason: str | None = None


class VendorSubscriptions:
    def __init__(
        self,
        config: KeysSettings,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient()
        self._owns_client = client is None
        self._sleep = sleep
        self._jitter = jitter
        self._monotonic = monotonic

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def base_url(self, vendor: str) -> str:
        return (self._config.vendor_api_urls.get(vendor) or self._config.vendor_api_url).rstrip("/")

    async def provision(
        self, vendor: str, change_id: str, subscription_id: str, sku: str, quantity: int
    ) -> VendorOutcome:
        body = {"subscription_id": subscription_id, "sku": sku, "quantity": quantity}
        return await self._send(vendor, "POST", "/v1/subscriptions", change_id, body)

    async def update(
        self, vendor: str, change_id: str, tenant_id: str, quantity: int, status: str
    ) -> VendorOutcome:
        body = {"quantity": quantity, "status": status}
        path = f"/v1/subscriptions/{tenant_id}"
        return await self._send(vendor, "PUT", path, change_id, body)

    async def _send(
        self, vendor: str, method: str, path: str, change_id: str, body: dict[str, Any]
    ) -> VendorOutcome:
        base = self.base_url(vendor)
        if not base:
            log.warning("vendor_not_configured", vendor=vendor)
            return VendorOutcome(reason=VENDOR_UNAVAILABLE)
        config = self._config
        deadline = self._monotonic() + config.vendor_retry_budget
        if self._client.is_closed and self._owns_client:
            self._client = httpx.AsyncClient()
        for attempt in range(config.vendor_max_attempts):
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                break
            try:
                response = await self._client.request(
                    method,
                    base + path,
                    json=body,
                    headers={"Idempotency-Key": change_id},
                    timeout=min(config.vendor_timeout, remaining),
                )
            except (httpx.TimeoutException, httpx.TransportError) as error:
                failure = type(error).__name__
            else:
                if response.status_code == 200:
                    tenant = _tenant_of(response)
                    if tenant:
                        return VendorOutcome(tenant_id=tenant)
                    failure = "malformed answer"
                elif response.status_code in RETRYABLE_STATUS:
                    failure = f"status {response.status_code}"
                else:
                    status = response.status_code
                    log.warning("vendor_refused_subscription", vendor=vendor, status=status)
                    return VendorOutcome(reason=VENDOR_REFUSED)
            log.warning(
                "vendor_subscription_call_failed", vendor=vendor, attempt=attempt + 1, error=failure
            )
            delay = backoff_delay(
                attempt,
                base=config.vendor_backoff_base,
                cap=config.vendor_backoff_cap,
                jitter=self._jitter(),
            )
            if self._monotonic() + delay >= deadline:
                break
            await self._sleep(delay)
        return VendorOutcome(reason=VENDOR_UNAVAILABLE)


def _tenant_of(response: httpx.Response) -> str | None:
    try:
        tenant = response.json().get("tenant_id")
    except (ValueError, AttributeError):
        return None
    return tenant if isinstance(tenant, str) and tenant.strip() else None
