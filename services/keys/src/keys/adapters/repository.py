"""SQL of the keys service: SQLAlchemy Core ``text()`` on the caller's connection; the two
statements every order runs (claim the order, record its keys) on the driver's connection
(:class:`esd_platform.db.Statement`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esd_platform.db import Statement
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from keys.domain.model import KeyRequest, SealedKey

_CLAIM_ORDER = Statement(
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
_INSERT_KEYS = Statement(
    # the keys and the order's 'issued' in one round trip
    "WITH keys AS (INSERT INTO issued_key "
    "(key_id, order_id, position, partner_id, sku, source, key_hash, ciphertext, issued_at) "
    "SELECT k.key_id, :order_id, k.position, :partner_id, :sku, :source, k.key_hash, "
    "       k.ciphertext, :now "
    "FROM unnest(CAST(:key_ids AS uuid[]), CAST(:positions AS integer[]), "
    "            CAST(:hashes AS bytea[]), CAST(:ciphertexts AS text[])) "
    "     AS k(key_id, position, key_hash, ciphertext)) "
    "UPDATE key_order SET status = 'issued', reason = NULL "
    "WHERE order_id = :order_id AND status = 'pending'"
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


async def claim_order(driver: Any, request: KeyRequest, now: datetime) -> bool:
    """Make this transaction the one that issues the order's keys; False if one did already.

    A concurrent transaction for the same order waits on the primary key here until this one
    commits, then gets False and answers with the set this one issued.
    """
    row = await _CLAIM_ORDER.fetchrow(
        driver,
        {
            "order_id": request.order_id,
            "partner_id": request.partner_id,
            "sku": request.sku,
            "quantity": request.quantity,
            "source": request.source,
            "now": now,
        },
    )
    return row is not None


async def outcome(conn: AsyncConnection, order_id: uuid.UUID) -> Outcome | None:
    row = (await conn.execute(_OUTCOME, {"order_id": order_id})).first()
    if row is None:
        return None
    return Outcome(row.partner_id, row.status, row.reason, tuple(row.key_ids))


async def record_issued(
    driver: Any, request: KeyRequest, keys: list[SealedKey], now: datetime
) -> tuple[uuid.UUID, ...]:
    key_ids = tuple(uuid.uuid4() for _ in keys)
    await _INSERT_KEYS.execute(
        driver,
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
    result = (
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
    rows = sorted(result, key=lambda row: row.id)
    return [SealedKey(bytes(row.key_hash), row.ciphertext) for row in rows]


_FREE = text("SELECT count(*) FROM pool_key WHERE sku = :sku AND order_id IS NULL")


async def free_pool_keys(conn: AsyncConnection, sku: str) -> int:
    """Unclaimed keys of ``sku``, counting those other transactions have locked right now."""
    return int((await conn.execute(_FREE, {"sku": sku})).scalar_one())


# -- pools: loading, levels, the low-stock alarm -----------------------------------------------

_ISSUED_HASHES = text(
    "SELECT key_hash FROM issued_key WHERE key_hash = ANY(CAST(:hashes AS bytea[]))"
)
_LOAD_POOL = text(
    "INSERT INTO pool_key (sku, key_hash, ciphertext, loaded_at) "
    "SELECT :sku, k.key_hash, k.ciphertext, :now "
    "FROM unnest(CAST(:hashes AS bytea[]), CAST(:ciphertexts AS text[])) "
    "     AS k(key_hash, ciphertext) "
    "ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash"
)
_SET_THRESHOLD = text(
    "INSERT INTO pool_setting (sku, low_threshold) "
    "VALUES (:sku, coalesce(CAST(:threshold AS integer), CAST(:default AS integer))) "
    "ON CONFLICT (sku) DO UPDATE "
    "SET low_threshold = coalesce(CAST(:threshold AS integer), pool_setting.low_threshold) "
    "RETURNING low_threshold"
)
_LEVEL = text(
    "SELECT (SELECT count(*) FROM pool_key WHERE sku = :sku AND order_id IS NULL) AS available, "
    "       coalesce((SELECT low_threshold FROM pool_setting WHERE sku = :sku), "
    "                CAST(:default AS integer)) "
    "         AS low_threshold"
)
_REARM = text("UPDATE pool_setting SET low_alerted = false WHERE sku = :sku AND low_alerted")
# Only one transaction wins the flip from not-alerted to alerted: one StockLow per crossing.
_ALERT = text(
    "INSERT INTO pool_setting (sku, low_threshold, low_alerted) VALUES (:sku, :threshold, true) "
    "ON CONFLICT (sku) DO UPDATE SET low_alerted = true WHERE NOT pool_setting.low_alerted "
    "RETURNING sku"
)
_STOCK = text(
    "SELECT coalesce(p.sku, s.sku) AS sku, coalesce(p.available, 0) AS available, "
    "       coalesce(p.issued, 0) AS issued, "
    "       coalesce(s.low_threshold, CAST(:default AS integer)) AS low_threshold "
    "FROM (SELECT sku, count(*) FILTER (WHERE order_id IS NULL) AS available, "
    "             count(*) FILTER (WHERE order_id IS NOT NULL) AS issued "
    "      FROM pool_key WHERE CAST(:sku AS text) IS NULL OR sku = :sku GROUP BY sku) p "
    "FULL JOIN (SELECT * FROM pool_setting WHERE CAST(:sku AS text) IS NULL OR sku = :sku) s "
    "  ON s.sku = p.sku "
    "ORDER BY 1"
)


@dataclass(frozen=True)
class PoolLevel:
    available: int
    low_threshold: int


async def issued_hashes(conn: AsyncConnection, hashes: list[bytes]) -> set[bytes]:
    rows = await conn.execute(_ISSUED_HASHES, {"hashes": hashes})
    return {bytes(row.key_hash) for row in rows}


async def load_pool_keys(
    conn: AsyncConnection, sku: str, keys: list[SealedKey], now: datetime
) -> set[bytes]:
    """Insert the keys not known yet; returns the hashes actually inserted."""
    rows = await conn.execute(
        _LOAD_POOL,
        {
            "sku": sku,
            "now": now,
            "hashes": [k.key_hash for k in keys],
            "ciphertexts": [k.ciphertext for k in keys],
        },
    )
    return {bytes(row.key_hash) for row in rows}


async def set_threshold(
    conn: AsyncConnection, sku: str, threshold: int | None, default: int
) -> int:
    result = await conn.execute(
        _SET_THRESHOLD, {"sku": sku, "threshold": threshold, "default": default}
    )
    return int(result.scalar_one())


async def pool_level(conn: AsyncConnection, sku: str, default_threshold: int) -> PoolLevel:
    row = (await conn.execute(_LEVEL, {"sku": sku, "default": default_threshold})).one()
    return PoolLevel(int(row.available), int(row.low_threshold))


async def rearm_stock_alarm(conn: AsyncConnection, sku: str) -> None:
    await conn.execute(_REARM, {"sku": sku})


async def raise_stock_alarm(conn: AsyncConnection, sku: str, threshold: int) -> bool:
    """True for the one transaction that flips the pool to 'alerted'."""
    row = (await conn.execute(_ALERT, {"sku": sku, "threshold": threshold})).first()
    return row is not None


async def stock(conn: AsyncConnection, sku: str | None, default_threshold: int) -> list[Any]:
    return list((await conn.execute(_STOCK, {"sku": sku, "default": default_threshold})).all())
