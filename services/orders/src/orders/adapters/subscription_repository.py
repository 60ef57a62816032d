"""Subscription persistence: one row per subscription (locked while changed) and its history."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orders.domain.subscription import Entry, Pending, Subscription

_COLUMNS = (
    "subscription_id, partner_id, external_id, fingerprint, sku, name, vendor, monthly_price, "
    "vat_rate, test, status, quantity, tenant_id, pending, vendor_error, sequence, created_at, "
    "updated_at"
)
_INSERT = text(
    f"INSERT INTO subscriptions ({_COLUMNS}) VALUES (:subscription_id, :partner_id, "
    ":external_id, :fingerprint, :sku, :name, :vendor, :monthly_price, :vat_rate, :test, "
    ":status, :quantity, :tenant_id, CAST(:pending AS jsonb), :vendor_error, :sequence, "
    ":created_at, :updated_at) ON CONFLICT DO NOTHING RETURNING subscription_id"
)
_UPDATE = text(
    "UPDATE subscriptions SET status = :status, quantity = :quantity, tenant_id = :tenant_id, "
    "pending = CAST(:pending AS jsonb), vendor_error = :vendor_error, sequence = :sequence, "
    "updated_at = :updated_at WHERE subscription_id = :subscription_id"
)
_HISTORY = text(
    "INSERT INTO subscription_history (subscription_id, sequence, change, status, quantity, "
    "seats, effective_date, at) VALUES (:subscription_id, :sequence, :change, :status, "
    ":quantity, :seats, :effective_date, :at)"
)
_BY_ID = text(
    f"SELECT {_COLUMNS} FROM subscriptions WHERE subscription_id = :subscription_id "
    "AND (CAST(:partner_id AS uuid) IS NULL OR partner_id = CAST(:partner_id AS uuid))"
)
_BY_EXTERNAL_ID = text(
    f"SELECT {_COLUMNS} FROM subscriptions "
    "WHERE partner_id = :partner_id AND external_id = :external_id"
)
_OF_PARTNER = text(
    f"SELECT {_COLUMNS} FROM subscriptions WHERE partner_id = :partner_id "
    "ORDER BY created_at DESC, subscription_id LIMIT :limit"
)
_HISTORIES = text(
    "SELECT subscription_id, sequence, change, status, quantity, seats, effective_date, at "
    "FROM subscription_history WHERE subscription_id = ANY(:ids) "
    "ORDER BY subscription_id, sequence"
)


def _pending_json(pending: Pending | None) -> str | None:
    if pending is None:
        return None
    return json.dumps(
        {
            "change_id": str(pending.change_id),
            "change": pending.change,
            "status": pending.status,
            "quantity": pending.quantity,
            "effective_date": pending.effective_date.isoformat(),
            "requested_at": pending.requested_at.isoformat(),
        }
    )


def _pending_of(value: Any) -> Pending | None:
    if value is None:
        return None
    data = value if isinstance(value, dict) else json.loads(value)
    return Pending(
        change_id=uuid.UUID(data["change_id"]),
        change=data["change"],
        status=data["status"],
        quantity=int(data["quantity"]),
        effective_date=date.fromisoformat(data["effective_date"]),
        requested_at=datetime.fromisoformat(data["requested_at"]),
    )


def _params(sub: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": sub.subscription_id,
        "partner_id": sub.partner_id,
        "external_id": sub.external_id,
        "fingerprint": sub.fingerprint,
        "sku": sub.sku,
        "name": sub.name,
        "vendor": sub.vendor,
        "monthly_price": sub.monthly_price,
        "vat_rate": sub.vat_rate,
        "test": sub.test,
        "status": sub.status,
        "quantity": sub.quantity,
        "tenant_id": sub.tenant_id,
        "pending": _pending_json(sub.pending),
        "vendor_error": sub.vendor_error,
        "sequence": sub.sequence,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }


async def _with_history(conn: AsyncConnection, rows: Sequence[Any]) -> list[Subscription]:
    subs = []
    for row in rows:
        data = dict(row._mapping)
        data["pending"] = _pending_of(data["pending"])
        subs.append(Subscription(**data))
    if not subs:
        return subs
    by_id = {s.subscription_id: s for s in subs}
    for h in await conn.execute(_HISTORIES, {"ids": list(by_id)}):
        by_id[h.subscription_id].history.append(
            Entry(
                sequence=h.sequence,
                change=h.change,
                status=h.status,
                quantity=h.quantity,
                seats=h.seats,
                effective_date=h.effective_date,
                at=h.at,
            )
        )
    return subs


_LOCK_PARTNER = text("SELECT pg_advisory_xact_lock(hashtext(CAST(:partner_id AS text)))")


async def lock_partner(conn: AsyncConnection, partner_id: uuid.UUID) -> None:
    """Serialise the partner's credit-checked changes until the transaction ends, so two
    concurrent ones cannot both fit the same available credit."""
    await conn.execute(_LOCK_PARTNER, {"partner_id": str(partner_id)})


async def add(conn: AsyncConnection, sub: Subscription) -> bool:
    """Insert a new subscription; False when the partner's external id exists already."""
    return (await conn.execute(_INSERT, _params(sub))).first() is not None


async def get(
    conn: AsyncConnection,
    subscription_id: uuid.UUID,
    partner_id: uuid.UUID | None = None,
    *,
    lock: bool = False,
) -> Subscription | None:
    """One subscription (its owner's only, when ``partner_id`` is given); ``lock``: FOR UPDATE."""
    statement = text(str(_BY_ID) + " FOR UPDATE") if lock else _BY_ID
    params = {
        "subscription_id": subscription_id,
        "partner_id": str(partner_id) if partner_id else None,
    }
    rows = (await conn.execute(statement, params)).all()
    found = await _with_history(conn, rows)
    return found[0] if found else None


async def by_external_id(
    conn: AsyncConnection, partner_id: uuid.UUID, external_id: str
) -> Subscription | None:
    rows = (
        await conn.execute(_BY_EXTERNAL_ID, {"partner_id": partner_id, "external_id": external_id})
    ).all()
    found = await _with_history(conn, rows)
    return found[0] if found else None


async def of_partner(
    conn: AsyncConnection, partner_id: uuid.UUID, limit: int = 1000
) -> list[Subscription]:
    rows = (await conn.execute(_OF_PARTNER, {"partner_id": partner_id, "limit": limit})).all()
    return await _with_history(conn, rows)


async def save(conn: AsyncConnection, sub: Subscription, new_entry: bool = False) -> None:
    """Persist the state (and, with ``new_entry``, its latest history entry)."""
    await conn.execute(_UPDATE, _params(sub))
    if new_entry:
        entry = sub.history[-1]
        await conn.execute(
            _HISTORY,
            {
                "subscription_id": sub.subscription_id,
                "sequence": entry.sequence,
                "change": entry.change,
                "status": entry.status,
                "quantity": entry.quantity,
                "seats": entry.seats,
                "effective_date": entry.effective_date,
                "at": entry.at,
            },
        )
