"""SQL of the keys service (SQLAlchemy Core ``text()`` on the caller's connection: hot path)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from keys.domain.model import KeyRequest, SealedKey

_CLAIM_ORDER = text(
    "INSERT INTO key_order (order_id, partner_id, sku, quantity, source, status, created_at) "
    "VALUES (:order_id, :partner_id, :sku, :quantity, :source, 'pending', :now) "
    "ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
)
_OUTCOME = text(
    "SELECT o.partner_id, o.status, o.reason, "
    "  coalesce(array_agg(k.key_id ORDER BY k.position) "
    "           FILTER (WHERE k.key_id IS NOT NULL), '{}') AS key_ids "
    "FROM key_order o LEFT JOIN issued_key k ON k.order_id = o.order_id "
    "WHERE o.order_id = :order_id GROUP BY o.order_id"
)
_INSERT_KEYS = text(
    "INSERT INTO issued_key "
    "(key_id, order_id, position, partner_id, sku, source, key_hash, ciphertext, issued_at) "
    "SELECT k.key_id, :order_id, k.position, :partner_id, :sku, :source, k.key_hash, "
    "       k.ciphertext, :now "
    "FROM unnest(CAST(:key_ids AS uuid[]), CAST(:positions AS integer[]), "
    "            CAST(:hashes AS bytea[]), CAST(:ciphertexts AS text[])) "
    "     AS k(key_id, position, key_hash, ciphertext)"
)
_FINISH = text(
    "UPDATE key_order SET status = :status, reason = :reason "
    "WHERE order_id = :order_id AND status = 'pending'"
)
_ORDER_KEYS = text(
    "SELECT key_id, ciphertext FROM issued_key "
    "WHERE order_id = :order_id AND partner_id = :partner_id ORDER BY position"
)
# All or nothing in one statement: the free rows are locked (skipping rows other orders hold)
# and claimed only if there are as many as ordered; otherwise nothing is updated.
_CLAIM_POOL = text(
    "WITH picked AS ("
    "  SELECT id FROM pool_key WHERE sku = :sku AND order_id IS NULL "
    "  ORDER BY id LIMIT :quantity FOR UPDATE SKIP LOCKED"
    "), enough AS (SELECT count(*) AS n FROM picked) "
    "UPDATE pool_key p SET order_id = :order_id, claimed_at = :now "
    "FROM picked, enough WHERE p.id = picked.id AND enough.n = :quantity "
    "RETURNING p.id, p.key_hash, p.ciphertext"
)


@dataclass(frozen=True)
class Outcome:
    """What became of an order's request for keys."""

    partner_id: uuid.UUID
    status: str
    reason: str | None
    key_ids: tuple[uuid.UUID, ...]


async def claim_order(conn: AsyncConnection, request: KeyRequest, now: datetime) -> bool:
    """Make this transaction the one that issues the order's keys; False if one did already.

    A concurrent transaction for the same order waits on the primary key here until this one
    commits, then gets False and answers with the set this one issued.
    """
    row = (
        await conn.execute(
            _CLAIM_ORDER,
            {
                "order_id": request.order_id,
                "partner_id": request.partner_id,
                "sku": request.sku,
                "quantity": request.quantity,
                "source": request.source,
                "now": now,
            },
        )
    ).first()
    return row is not None


async def outcome(conn: AsyncConnection, order_id: uuid.UUID) -> Outcome | None:
    row = (await conn.execute(_OUTCOME, {"order_id": order_id})).first()
    if row is None:
        return None
    return Outcome(row.partner_id, row.status, row.reason, tuple(row.key_ids))


async def record_issued(
    conn: AsyncConnection, request: KeyRequest, keys: list[SealedKey], now: datetime
) -> tuple[uuid.UUID, ...]:
    key_ids = tuple(uuid.uuid4() for _ in keys)
    await conn.execute(
        _INSERT_KEYS,
        {
            "order_id": request.order_id,
            "partner_id": request.partner_id,
            "sku": request.sku,
            "source": request.source,
            "now": now,
            "key_ids": list(key_ids),
            "positions": list(range(1, len(keys) + 1)),
            "hashes": [k.key_hash for k in keys],
            "ciphertexts": [k.ciphertext for k in keys],
        },
    )
    await conn.execute(_FINISH, {"order_id": request.order_id, "status": "issued", "reason": None})
    return key_ids


async def record_failed(conn: AsyncConnection, order_id: uuid.UUID, reason: str) -> None:
    await conn.execute(_FINISH, {"order_id": order_id, "status": "failed", "reason": reason})


async def order_keys(
    conn: AsyncConnection, order_id: uuid.UUID, partner_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    """Key ids and ciphertexts of an order, only if ``partner_id`` owns it."""
    rows = await conn.execute(_ORDER_KEYS, {"order_id": order_id, "partner_id": partner_id})
    return [(row.key_id, row.ciphertext) for row in rows]


async def claim_pool_keys(
    conn: AsyncConnection, request: KeyRequest, now: datetime
) -> list[SealedKey]:
    """``quantity`` free pool keys of the sku, claimed for the order; [] when too few are free."""
    rows = (
        await conn.execute(
            _CLAIM_POOL,
            {
                "sku": request.sku,
                "quantity": request.quantity,
                "order_id": request.order_id,
                "now": now,
            },
        )
    ).all()
    rows.sort(key=lambda row: row.id)
    return [SealedKey(bytes(row.key_hash), row.ciphertext) for row in rows]


_FREE = text("SELECT count(*) FROM pool_key WHERE sku = :sku AND order_id IS NULL")


async def free_pool_keys(conn: AsyncConnection, sku: str) -> int:
    """Unclaimed keys of ``sku``, counting those other transactions have locked right now."""
    return int((await conn.execute(_FREE, {"sku": sku})).scalar_one())
