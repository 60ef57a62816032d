"""The vendor API adapter: keys fetched over HTTP from the vendor's service.

Protocol (what the stub in ``deploy/vendor_stub`` implements)::

    POST {base}/v1/keys   Idempotency-Key: <order id>
    {"order_id": "…", "sku": "…", "quantity": 3}
    200 {"keys": ["…", "…", "…"]}      the same answer for the same Idempotency-Key, always
    409 {"error": "out_of_stock"}      the vendor has no keys for the sku (a business refusal)
    408 / 429 / 5xx / timeout           transient: retried
    other 4xx                           our request is wrong: not retried

Safety: the order id is the idempotency key, so a retry after a timeout (the vendor may have
issued the keys and only the answer got lost) returns the same set, never a second one. The
call happens before the database transaction (``prepare``), so it holds no connection or lock.

Bounds: each call has a timeout; retries use full-jitter exponential backoff; all attempts of
one order fit a retry budget of a few seconds (a RabbitMQ message is never held for minutes).
A circuit breaker per vendor refuses at once while the vendor is known to be down.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from esd_platform.logging import get_logger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keys.adapters.sources import Sealer
from keys.domain.circuit import CircuitBreaker, backoff_delay
from keys.domain.model import (
    OUT_OF_STOCK,
    VENDOR_UNAVAILABLE,
    KeyRequest,
    Refusal,
    SealedKey,
)
from keys.settings import KeysSettings

log = get_logger("esd.keys.vendor")

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def worker_id() -> str:
    """``host:pid:nonce``: tells workers apart in health reports and the vendor's logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class VendorHealthStore:
    """Each worker's breaker view in ``vendor_health`` (one row per worker and vendor), so the
    GetVendorHealth answer covers all workers, whichever of them answers it."""

    _UPSERT = text(
        "INSERT INTO vendor_health (worker, vendor, circuit, calls, failures, updated_at) "
        "VALUES (:worker, :vendor, :circuit, :calls, :failures, now()) "
        "ON CONFLICT (worker, vendor) DO UPDATE SET circuit = excluded.circuit, "
        "calls = excluded.calls, failures = excluded.failures, updated_at = now()"
    )

    def __init__(self, engine: AsyncEngine, worker: str, min_interval: float = 1.0) -> None:
        self._engine = engine
        self.worker = worker
        self._min_interval = min_interval
        self._last: dict[str, tuple[float, str]] = {}

    async def report(self, vendor: str, breaker: CircuitBreaker, now: float) -> None:
        """Write on a state change, otherwise at most once per ``min_interval``."""
        state = breaker.state(now)
        last = self._last.get(vendor)
        if last is not None and last[1] == state and now - last[0] < self._min_interval:
            return
        self._last[vendor] = (now, state)
        stats = breaker.stats(now)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    self._UPSERT,
                    {
                        "worker": self.worker,
                        "vendor": vendor,
                        "circuit": state,
                        "calls": stats.calls,
                        "failures": stats.failures,
                    },
                )
        except Exception:  # health is advisory: never fail an order over it
            log.warning("vendor_health_not_recorded", vendor=vendor, exc_info=True)


class VendorApiKeys:
    """The ``vendor_api`` key source."""

    def __init__(
        self,
        sealer: Sealer,
        config: KeysSettings,
        health: VendorHealthStore | None = None,
        client: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._sealer = sealer
        self._config = config
        self._health = health
        self._client = client or httpx.AsyncClient()
        self._owns_client = client is None
        self._monotonic = monotonic
        self._sleep = sleep
        self._jitter = jitter
        self._breakers: dict[str, CircuitBreaker] = {}
        self._in_flight = 0
        self._idle = asyncio.Event()
        self.worker = health.worker if health is not None else worker_id()

    async def close(self, drain_timeout: float = 20.0) -> None:
        """Close the HTTP client once the calls in flight have finished (graceful shutdown runs
        this before the broker stops, while handlers may still be waiting on a vendor)."""
        if not self._owns_client:
            return
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), drain_timeout)
        await self._client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client.is_closed and self._owns_client:  # a late call during shutdown
            self._client = httpx.AsyncClient()
        return self._client

    def base_url(self, vendor: str) -> str:
        return (self._config.vendor_api_urls.get(vendor) or self._config.vendor_api_url).rstrip("/")

    def breaker(self, vendor: str) -> CircuitBreaker:
        if vendor not in self._breakers:
            self._breakers[vendor] = CircuitBreaker(
                self._config.vendor_breaker_failures, self._config.vendor_breaker_reset
            )
        return self._breakers[vendor]

    async def prepare(self, request: KeyRequest) -> list[str] | Refusal:
        """Fetch the order's keys from its vendor within the retry budget, or refuse."""
        base = self.base_url(request.vendor)
        if not base:
            log.warning("vendor_not_configured", vendor=request.vendor, sku=request.sku)
            return Refusal(VENDOR_UNAVAILABLE)
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._fetch(base, request)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _fetch(self, base: str, request: KeyRequest) -> list[str] | Refusal:
        breaker = self.breaker(request.vendor)
        deadline = self._monotonic() + self._config.vendor_retry_budget
        for attempt in range(self._config.vendor_max_attempts):
            now = self._monotonic()
            if not breaker.allow(now):
                log.warning("vendor_circuit_open", vendor=request.vendor, attempt=attempt + 1)
                await self._report(request.vendor, breaker)
                return Refusal(VENDOR_UNAVAILABLE)
            remaining = deadline - now
            outcome = await self._call(base, request, min(self._config.vendor_timeout, remaining))
            if isinstance(outcome, list):
                breaker.record_success(self._monotonic())
                await self._report(request.vendor, breaker)
                return outcome
            if isinstance(outcome, Refusal):  # the vendor answered: it is up, but says no
                breaker.record_success(self._monotonic())
                await self._report(request.vendor, breaker)
                return outcome
            breaker.record_failure(self._monotonic())
            await self._report(request.vendor, breaker)
            log.warning(
                "vendor_call_failed", vendor=request.vendor, attempt=attempt + 1, error=outcome
            )
            if outcome == "permanent":
                return Refusal(VENDOR_UNAVAILABLE)
            delay = backoff_delay(
                attempt,
                base=self._config.vendor_backoff_base,
                cap=self._config.vendor_backoff_cap,
                jitter=self._jitter(),
            )
            if self._monotonic() + delay >= deadline:
                break
            await self._sleep(delay)
        log.warning("vendor_unavailable", vendor=request.vendor, order_id=str(request.order_id))
        return Refusal(VENDOR_UNAVAILABLE)

    async def _call(
        self, base: str, request: KeyRequest, seconds: float
    ) -> list[str] | Refusal | str:
        """The keys, a business refusal, or a short description of a failure."""
        try:
            response = await self._http().post(
                f"{base}/v1/keys",
                json={
                    "order_id": str(request.order_id),
                    "sku": request.sku,
                    "quantity": request.quantity,
                },
                headers={"Idempotency-Key": str(request.order_id), "X-ESD-Worker": self.worker},
                timeout=seconds,
            )
        except httpx.TimeoutException:
            return "timeout"
        except httpx.TransportError as error:
            return f"transport: {type(error).__name__}"
        if response.status_code == 200:
            return self._keys_of(response, request)
        if response.status_code == 409 and _error_code(response) == "out_of_stock":
            return Refusal(OUT_OF_STOCK)
        if response.status_code in RETRYABLE_STATUS:
            return f"status {response.status_code}"
        return "permanent"

    @staticmethod
    def _keys_of(response: httpx.Response, request: KeyRequest) -> list[str] | str:
        try:
            keys = response.json()["keys"]
        except (ValueError, KeyError, TypeError):
            return "malformed answer"
        if (
            not isinstance(keys, list)
            or len(keys) != request.quantity
            or not all(isinstance(k, str) and k.strip() for k in keys)
            or len(set(keys)) != len(keys)
        ):
            return "wrong key count or duplicate keys"
        return keys

    async def _report(self, vendor: str, breaker: CircuitBreaker) -> None:
        if self._health is not None:
            await self._health.report(vendor, breaker, self._monotonic())

    async def issue(
        self, conn: AsyncConnection, request: KeyRequest, prepared: Any, now: datetime
    ) -> list[SealedKey] | Refusal:
        if isinstance(prepared, Refusal):
            return prepared
        if prepared is None:  # cannot happen: the handler always prepares vendor orders
            raise RuntimeError("vendor keys were not fetched before the transaction")
        return [self._sealer.seal(key) for key in prepared]


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None
