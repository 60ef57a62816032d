"""SQL of the subscriptions' projection and month-end charges (``text()`` on the caller's
connection)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.domain.subscriptions import Change

_UPSERT = text(
    """
    INSERT INTO subscriptions (subscription_id, partner_id, external_id, sku, name, test,
                               first_month, updated_at)
    VALUES (:subscription_id, :partner_id, :external_id, :sku, :name, :test, :first_month, :now)
    ON CONFLICT (subscription_id) DO UPDATE SET
        external_id = excluded.external_id, name = excluded.name, test = excluded.test,
        first_month = least(subscriptions.first_month, excluded.first_month),
        updated_at = excluded.updated_at
    RETURNING charged_through
    """
)

_INSERT_CHANGE = text(
    """
    INSERT INTO subscription_changes (subscription_id, sequence, message_id, change, status,
        quantity, seats, monthly_price, vat_rate, effective_date, received_at, after_charge)
    VALUES (:subscription_id, :sequence, :message_id, :change, :status, :quantity, :seats,
        :monthly_price, :vat_rate, :effective_date, :now, :after_charge)
    ON CONFLICT DO NOTHING
    RETURNING sequence
    """
)

_SET_ENDED = text(
    """
    UPDATE subscriptions s SET ended_month = (
        SELECT CASE WHEN c.status = 'cancelled'
                    THEN date_trunc('month', c.effective_date)::date END
        FROM subscription_changes c WHERE c.subscription_id = s.subscription_id
        ORDER BY c.sequence DESC LIMIT 1)
    WHERE s.subscription_id = :subscription_id
    """
)


async def record_change(
    conn: AsyncConnection, row: dict[str, Any], first_month: date
) -> tuple[bool, date | None]:
    """Keep the change (once per subscription and sequence); (inserted, charged_through).

    The subscription's row is upserted first, so its lock orders this against a month-end run
    charging the same subscription."""
    charged_through = (
        await conn.execute(
            _UPSERT,
            {
                "subscription_id": row["subscription_id"],
                "partner_id": row["partner_id"],
                "external_id": row["external_id"],
                "sku": row["sku"],
                "name": row["name"],
                "test": row["test"],
                "first_month": first_month,
                "now": row["now"],
            },
        )
    ).scalar_one()
    after_charge = charged_through is not None and first_month <= charged_through
    inserted = (
        await conn.execute(_INSERT_CHANGE, {**row, "after_charge": after_charge})
    ).first() is not None
    if inserted:
        await conn.execute(_SET_ENDED, {"subscription_id": row["subscription_id"]})
    return inserted, charged_through


@dataclass(frozen=True)
class Due:
    """A subscription with months to charge, and its changes."""

    subscription_id: uuid.UUID
    partner_id: uuid.UUID
    external_id: str
    sku: str
    name: str
    first_month: date
    charged_through: date | None
    ended_month: date | None
    changes: tuple[Change, ...]


_CLAIM_DUE = text(
    """
    SELECT subscription_id, partner_id, external_id, sku, name, first_month, charged_through,
           ended_month
    FROM subscriptions
    WHERE NOT test
      AND coalesce((charged_through + interval '1 month')::date, first_month) <= :upto
      AND (ended_month IS NULL
           OR coalesce((charged_through + interval '1 month')::date, first_month)
              <= ended_month)
    ORDER BY partner_id, subscription_id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
)

_CHANGES_OF = text(
    "SELECT subscription_id, sequence, effective_date, seats, monthly_price, vat_rate, status "
    "FROM subscription_changes WHERE subscription_id = ANY(:ids) "
    "ORDER BY subscription_id, sequence"
)


async def lock_month_end(conn: AsyncConnection) -> None:
    """Serialise month-end batches (transaction-scoped advisory lock)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('billing:month-end'))"))


async def claim_due(conn: AsyncConnection, upto: date, limit: int) -> list[Due]:
    """Up to ``limit`` subscriptions with an uncharged month up to ``upto``, locked (others
    running the same pass skip them)."""
    rows = (await conn.execute(_CLAIM_DUE, {"upto": upto, "limit": limit})).all()
    if not rows:
        return []
    changes: dict[uuid.UUID, list[Change]] = {}
    for c in await conn.execute(_CHANGES_OF, {"ids": [r.subscription_id for r in rows]}):
        changes.setdefault(c.subscription_id, []).append(
            Change(
                sequence=c.sequence,
                effective_date=c.effective_date,
                seats=c.seats,
                monthly_price=c.monthly_price,
                vat_rate=c.vat_rate,
                status=c.status,
            )
        )
    return [
        Due(
            subscription_id=r.subscription_id,
            partner_id=r.partner_id,
            external_id=r.external_id,
            sku=r.sku,
            name=r.name,
            first_month=r.first_month,
            charged_through=r.charged_through,
            ended_month=r.ended_month,
            changes=tuple(changes.get(r.subscription_id, ())),
        )
        for r in rows
    ]


_INSERT_CHARGES = text(
    """
    INSERT INTO subscription_charges (charge_id, subscription_id, month, partner_id, external_id,
        sku, seat_days, amount, vat_rate, vat_amount, document_number, document_date, charged_at)
    SELECT c.*, CAST(:now AS timestamptz)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:subscriptions AS uuid[]), CAST(:months AS date[]),
                CAST(:partners AS uuid[]), CAST(:externals AS text[]), CAST(:skus AS text[]),
                CAST(:seat_days AS integer[]), CAST(:amounts AS numeric[]),
                CAST(:rates AS text[]), CAST(:vats AS numeric[]), CAST(:numbers AS text[]),
                CAST(:dates AS date[])) AS c
    ON CONFLICT DO NOTHING
    RETURNING charge_id
    """
)


async def insert_charges(
    conn: AsyncConnection, charges: Sequence[ChargeRow], now: datetime
) -> bool:
    """Record a batch's charges in one statement; ``False`` if any subscription's month was
    charged already (unique per subscription and month)."""
    if not charges:
        return True
    rows = await conn.execute(
        _INSERT_CHARGES,
        {
            "ids": [c.charge_id for c in charges],
            "subscriptions": [c.subscription_id for c in charges],
            "months": [c.month for c in charges],
            "partners": [c.partner_id for c in charges],
            "externals": [c.external_id for c in charges],
            "skus": [c.sku for c in charges],
            "seat_days": [c.seat_days for c in charges],
            "amounts": [c.amount for c in charges],
            "rates": [c.vat_rate for c in charges],
            "vats": [c.vat_amount for c in charges],
            "numbers": [c.document_number for c in charges],
            "dates": [c.document_date for c in charges],
            "now": now,
        },
    )
    return len(rows.all()) == len(charges)


async def set_charged_through(
    conn: AsyncConnection, through: Sequence[tuple[uuid.UUID, date]], now: datetime
) -> None:
    """Each subscription's last charged month, in one statement."""
    if not through:
        return
    await conn.execute(
        text(
            "UPDATE subscriptions s SET charged_through = t.month, updated_at = :now "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:months AS date[])) AS t(id, month) "
            "WHERE s.subscription_id = t.id"
        ),
        {"ids": [i for i, _ in through], "months": [m for _, m in through], "now": now},
    )


@dataclass(frozen=True)
class ChargeRow:
    charge_id: uuid.UUID
    subscription_id: uuid.UUID
    month: date
    partner_id: uuid.UUID
    external_id: str
    sku: str
    seat_days: int
    amount: Decimal
    vat_rate: str
    vat_amount: Decimal
    document_number: str | None
    document_date: date
    charged_at: datetime


async def charges_on(
    conn: AsyncConnection,
    day: date,
    *,
    partner_id: uuid.UUID | None = None,
    number: str | None = None,
) -> list[ChargeRow]:
    """Charges put on documents dated ``day`` (of one partner / one document)."""
    sql = (
        "SELECT charge_id, subscription_id, month, partner_id, external_id, sku, seat_days, "
        "amount, vat_rate, vat_amount, document_number, document_date, charged_at "
        "FROM subscription_charges WHERE document_date = :day AND document_number IS NOT NULL"
    )
    params: dict[str, Any] = {"day": day}
    if partner_id is not None:
        sql += " AND partner_id = :partner_id"
        params["partner_id"] = partner_id
    if number is not None:
        sql += " AND document_number = :number"
        params["number"] = number
    rows = (await conn.execute(text(sql + " ORDER BY charged_at, charge_id"), params)).all()
    return [ChargeRow(**r._mapping) for r in rows]


@dataclass(frozen=True)
class NewLine:
    """A charge's line for :func:`add_lines` (quantity 1, unit price = amount)."""

    document_id: int
    order_id: uuid.UUID
    sku: str
    name: str
    amount: Decimal
    vat_rate: str
    vat_amount: Decimal
    shipped_at: datetime


_ADD_LINES = text(
    """
    WITH l AS (
        SELECT * FROM unnest(CAST(:ords AS integer[]), CAST(:documents AS bigint[]),
                             CAST(:orders AS uuid[]), CAST(:skus AS text[]),
                             CAST(:names AS text[]), CAST(:amounts AS numeric[]),
                             CAST(:rates AS text[]), CAST(:vats AS numeric[]),
                             CAST(:shipped AS timestamptz[]))
            AS l(ord, document_id, order_id, sku, name, amount, vat_rate, vat_amount, shipped_at)
    ), t AS (
        SELECT document_id, sum(amount) AS amount, sum(vat_amount) AS vat_amount,
               count(*)::integer AS n
        FROM l GROUP BY document_id
    ), d AS (
        UPDATE documents SET amount = documents.amount + t.amount,
            vat_amount = documents.vat_amount + t.vat_amount,
            line_count = documents.line_count + t.n
        FROM t WHERE documents.id = t.document_id AND documents.closed_at IS NULL
        RETURNING documents.id, documents.line_count - t.n AS base
    )
    INSERT INTO document_lines (order_id, document_id, position, sku, name, quantity,
        unit_price, amount, vat_rate, vat_amount, shipped_at, created_at)
    SELECT l.order_id, l.document_id,
           d.base + (row_number() OVER (PARTITION BY l.document_id ORDER BY l.ord))::integer,
           l.sku, l.name, 1, l.amount, l.amount, l.vat_rate, l.vat_amount, l.shipped_at,
           CAST(:now AS timestamptz)
    FROM l JOIN d ON d.id = l.document_id
    ON CONFLICT (order_id) DO NOTHING
    RETURNING order_id, position
    """
)


async def add_lines(
    conn: AsyncConnection, lines: Sequence[NewLine], now: datetime
) -> dict[uuid.UUID, int]:
    """In one statement: raise each open document's totals by its lines (locking it) and insert
    the lines at its next positions, in the given order. Returns each inserted line's position
    by order id; a line missing from it is on a document closed meanwhile (that document is left
    unchanged) or already exists (then the totals were raised: the caller must roll back)."""
    if not lines:
        return {}
    rows = await conn.execute(
        _ADD_LINES,
        {
            "ords": list(range(len(lines))),
            "documents": [x.document_id for x in lines],
            "orders": [x.order_id for x in lines],
            "skus": [x.sku for x in lines],
            "names": [x.name for x in lines],
            "amounts": [x.amount for x in lines],
            "rates": [x.vat_rate for x in lines],
            "vats": [x.vat_amount for x in lines],
            "shipped": [x.shipped_at for x in lines],
            "now": now,
        },
    )
    return {r.order_id: int(r.position) for r in rows}


async def existing_lines(conn: AsyncConnection, order_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Which of ``order_ids`` are already lines of some document."""
    if not order_ids:
        return []
    rows = await conn.execute(
        text("SELECT order_id FROM document_lines WHERE order_id = ANY(:ids)"),
        {"ids": list(order_ids)},
    )
    return [r.order_id for r in rows]
