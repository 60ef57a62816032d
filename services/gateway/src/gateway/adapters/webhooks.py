"""SQL of webhook deliveries (table ``webhook_deliveries``, see migration 0003_webhooks)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

_STAGE = text(
    "INSERT INTO webhook_deliveries (id, partner_id, order_id, event, url, body, "
    "next_attempt_at, created_at) VALUES (:id, :partner_id, :order_id, :event, :url, :body, "
    ":at, :at) ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING RETURNING id"
)


async def stage(
    conn: AsyncConnection,
    *,
    partner_id: uuid.UUID,
    order_id: uuid.UUID,
    event: str,
    url: str,
    body: str,
    at: datetime,
) -> uuid.UUID | None:
    """A pending delivery due at ``at``; None when this order's event already has one."""
    row = (
        await conn.execute(
            _STAGE,
            {
                "id": uuid.uuid4(),
                "partner_id": partner_id,
                "order_id": order_id,
                "event": event,
                "url": url,
                "body": body,
                "at": at,
            },
        )
    ).first()
    return None if row is None else row.id


_CLAIM = text(
    "WITH due AS (SELECT id FROM webhook_deliveries WHERE status = 'pending' "
    "AND next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :limit "
    "FOR UPDATE SKIP LOCKED) "
    "UPDATE webhook_deliveries d SET next_attempt_at = :lease_until, claim_id = :claim, "
    "window_started_at = coalesce(d.window_started_at, :now) "
    "FROM due, partners p WHERE d.id = due.id AND p.partner_id = d.partner_id "
    "RETURNING d.id, d.partner_id, d.order_id, d.event, d.url, d.body, d.streak, "
    "d.window_started_at, p.webhook_secret"
)


async def claim_due(
    conn: AsyncConnection, now: datetime, lease: timedelta, claim: uuid.UUID, limit: int
) -> Sequence[Row[Any]]:
    """Lease the due rows for one send: other workers skip the locked rows now and find them
    not due (``next_attempt_at`` moved ahead by ``lease``) after the commit; a worker that dies
    mid-send leaves the row due again once the lease runs out."""
    return (
        await conn.execute(
            _CLAIM,
            {"now": now, "lease_until": now + lease, "claim": claim, "limit": limit},
        )
    ).all()


_DELIVERED = text(
    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, streak = 0, "
    "last_attempt_at = :now, delivered_at = :now, last_response_code = :code, "
    "last_error = NULL, claim_id = NULL WHERE id = :id AND claim_id = :claim"
)

_FAILED_ATTEMPT = text(
    "UPDATE webhook_deliveries SET status = :status, attempts = attempts + 1, "
    "streak = streak + 1, last_attempt_at = :now, next_attempt_at = :next, "
    "last_response_code = :code, last_error = :error, claim_id = NULL "
    "WHERE id = :id AND claim_id = :claim"
)


async def record_delivered(
    conn: AsyncConnection, delivery_id: uuid.UUID, claim: uuid.UUID, now: datetime, code: int
) -> None:
    await conn.execute(_DELIVERED, {"id": delivery_id, "claim": claim, "now": now, "code": code})


async def record_failure(
    conn: AsyncConnection,
    delivery_id: uuid.UUID,
    claim: uuid.UUID,
    now: datetime,
    *,
    code: int | None,
    error: str,
    next_attempt_at: datetime | None,
) -> None:
    """A failed attempt: retry at ``next_attempt_at``, or ``failed`` when it is None."""
    await conn.execute(
        _FAILED_ATTEMPT,
        {
            "id": delivery_id,
            "claim": claim,
            "now": now,
            "code": code,
            "error": error[:500],
            "status": "pending" if next_attempt_at is not None else "failed",
            "next": next_attempt_at or now,
        },
    )


async def list_for_partner(
    conn: AsyncConnection,
    partner_id: uuid.UUID,
    *,
    status: str | None,
    order_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Row[Any]]:
    clauses = ["partner_id = :partner_id"]
    params: dict[str, Any] = {"partner_id": partner_id, "limit": limit}
    if status is not None:
        clauses.append("status = :status")
        params["status"] = status
    if order_id is not None:
        clauses.append("order_id = :order_id")
        params["order_id"] = order_id
    sql = (
        f"SELECT * FROM webhook_deliveries WHERE {' AND '.join(clauses)} "
        "ORDER BY created_at DESC, id DESC LIMIT :limit"
    )
    return (await conn.execute(text(sql), params)).all()


_REDELIVER = text(
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = :now, streak = 0, "
    "window_started_at = NULL, delivered_at = NULL, claim_id = NULL "
    "WHERE id = :id AND partner_id = :partner_id RETURNING *"
)


async def redeliver(
    conn: AsyncConnection, partner_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
) -> Row[Any] | None:
    """Due again now with a fresh retry window; None for a missing or another's delivery."""
    return (
        await conn.execute(_REDELIVER, {"id": delivery_id, "partner_id": partner_id, "now": now})
    ).first()
