"""Signed callbacks of final orders: staged with the order's outcome, sent in the background.

The consumer that makes an order final stages its delivery row in the same transaction
(:func:`stage_callback`), so a callback exists exactly when the outcome is committed. The
:class:`WebhookDispatcher` (one per gateway process, started with the Gateway) leases due rows
with ``FOR UPDATE SKIP LOCKED``, POSTs them signed with the partner's webhook secret and
records the answer: 2xx delivered, anything else retried with exponential backoff and jitter
until the retry window (24 h by default) after the first attempt is over, then failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
from esd_platform.logging import get_logger
from esd_platform.service import Service
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.adapters import webhooks as store
from gateway.adapters.secret_box import SecretBox
from gateway.domain.webhooks import (
    EVENTS,
    RetryPolicy,
    signature,
    timestamped_signature,
)
from gateway.service_layer.callback_policy import check_before_send, pinned_transport
from gateway.settings import GatewaySettings

log = get_logger("esd.gateway.webhooks")

_ORDER = text("SELECT * FROM orders WHERE id = :id")


def order_body(row: Row[Any]) -> str:
    """The order as ``GET /api/v1/orders/{id}`` shows it, without ``keys``: that is what is
    stored. A completed order's keys are added at each attempt (:class:`WebhookDispatcher`),
    asked of the keys service, so no activation code is ever kept in this table."""
    # imported here: presenters → ordering → runtime → this module
    from gateway.http.presenters import order_read

    order = order_read(row)
    payload = msgspec.to_builtins(order)
    payload.pop("keys", None)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def stage_callback(
    conn: AsyncConnection, order_id: uuid.UUID, at: datetime, *, row: Row[Any] | None = None
) -> bool:
    """In the transaction that made the order final: stage its callback, if it asked for one.
    ``row``: the order as that transaction left it (else it is read here).

    False when there is none to send or the (order, event) already has its row."""
    if row is None:
        row = (await conn.execute(_ORDER, {"id": order_id})).first()
    if row is None or not row.callback_url or row.status not in EVENTS:
        return False
    staged = await store.stage(
        conn,
        partner_id=row.partner_id,
        order_id=row.id,
        event=EVENTS[row.status],
        url=row.callback_url,
        body=order_body(row),
        at=at,
    )
    return staged is not None


def _host(url: str) -> str:
    """What a log line may say of a callback URL (its query may carry the partner's tokens)."""
    try:
        return httpx.URL(url).host
    except Exception:  # an unparsable URL is logged as such
        return "<invalid url>"


KeysOf = Callable[[uuid.UUID, uuid.UUID], Awaitable[list[dict[str, Any]]]]
"""(order id, partner id) → the order's keys as the API shows them."""


class WebhookDispatcher:
    """Background sender of due deliveries; several gateway processes may run one each."""

    def __init__(
        self,
        service: Service,
        settings: GatewaySettings,
        box: SecretBox,
        keys_of: KeysOf | None = None,
    ) -> None:
        self._keys_of = keys_of if settings.webhook_include_keys else None
        self._service = service
        self._settings = settings
        self._box = box
        self.policy = RetryPolicy(
            base=timedelta(seconds=settings.webhook_backoff_base),
            cap=timedelta(seconds=settings.webhook_backoff_cap),
            window=timedelta(seconds=settings.webhook_retry_window),
        )
        self._lease = timedelta(seconds=settings.webhook_timeout + 30)
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._settings.webhooks_enabled or self._task is not None:
            return
        self._client = httpx.AsyncClient(
            timeout=self._settings.webhook_timeout,
            follow_redirects=False,
            trust_env=False,
            transport=pinned_transport(self._service),  # connects to the addresses it checked
        )
        self._task = asyncio.create_task(self._run(), name="gateway-webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a database hiccup
                log.exception("webhook dispatch round failed")
                sent = 0
            if sent < self._settings.webhook_batch:
                await asyncio.sleep(self._settings.webhook_poll_interval)

    async def dispatch_once(self) -> int:
        """Lease the due deliveries, send them concurrently, record each answer."""
        now = self._service.clock.now()
        claim = uuid.uuid4()
        async with self._service.engine.begin() as conn:
            batch = self._settings.webhook_batch
            rows = await store.claim_due(conn, now, self._lease, claim, batch)
        if rows:
            results = await asyncio.gather(
                *(self._send(row, claim) for row in rows), return_exceptions=True
            )
            for result in results:
                if isinstance(result, Exception):  # the row stays leased, then due again
                    log.error("webhook result not recorded", error=type(result).__name__)
        return len(rows)

    def _headers(self, row: Row[Any], body: bytes) -> dict[str, str]:
        """The signed headers; the opened secret lives only in this frame (never in a
        traceback of the send, never in a log line)."""
        secret = self._box.open(row.webhook_secret)
        timestamp = str(int(self._service.clock.now().timestamp()))
        return {
            "Content-Type": "application/json",
            "User-Agent": "esd-webhooks/1",
            "X-Esd-Event": row.event,
            "X-Esd-Delivery": str(row.id),
            "X-Esd-Timestamp": timestamp,
            "X-Esd-Signature": signature(secret, body),
            "X-Esd-Timestamp-Signature": timestamped_signature(secret, timestamp, body),
        }

    async def _body(self, row: Row[Any]) -> bytes:
        """The stored order, plus its keys when it completed (the spec's "final order")."""
        if row.event != "order.completed" or self._keys_of is None:
            return bytes(row.body.encode())
        payload = json.loads(row.body)
        payload["keys"] = await self._keys_of(row.order_id, row.partner_id)
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    async def _send(self, row: Row[Any], claim: uuid.UUID) -> None:
        assert self._client is not None
        code: int | None = None
        error: str | None = None
        try:
            await check_before_send(self._service, row.url)  # SSRF: resolved at each send
            body = await self._body(row)  # keys service down: a failed attempt, retried
            headers = self._headers(row, body)
            response = await self._client.post(row.url, content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except Exception as exc:  # any failure to deliver is a failed attempt
            error = f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__
        now = self._service.clock.now()
        context = {
            "delivery_id": str(row.id),
            "order_id": str(row.order_id),
            "partner_id": str(row.partner_id),
            "webhook_event": row.event,
            "host": _host(row.url),
            "response_code": code,
        }
        async with self._service.engine.begin() as conn:
            if error is None:
                assert code is not None
                await store.record_delivered(conn, row.id, claim, now, code)
                log.info("webhook delivered", **context)
                return
            next_at = self.policy.next_attempt(now, row.window_started_at, row.streak + 1)
            await store.record_failure(
                conn, row.id, claim, now, code=code, error=error, next_attempt_at=next_at
            )
        if next_at is None:
            log.warning("webhook failed for good", error=error, **context)
        else:
            log.info("webhook attempt failed", error=error, retry_at=next_at.isoformat(), **context)
