"""SQL of payments, allocations, overdue blocks and the aging report.

Written in bulk (``unnest`` of arrays): a 10,000-payment statement is a few statements per
chunk, not a few per payment. Every change of ``debt`` or ``unallocated`` on a partner's row is
matched by ledger entries in the same transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from credit.domain.model import ZERO
from credit.domain.payments import OpenDocument


@dataclass(frozen=True)
class Payer:
    partner_id: uuid.UUID
    inn: str
    kpp: str | None


async def payers(conn: AsyncConnection, inns: Iterable[str]) -> dict[str, list[Payer]]:
    """Registered partners by ИНН (several when branches share one)."""
    rows = await conn.execute(
        text(
            "SELECT partner_id, inn, kpp FROM credit_lines "
            "WHERE inn = ANY(CAST(:inns AS text[])) ORDER BY created_at"
        ),
        {"inns": sorted(set(inns))},
    )
    found: dict[str, list[Payer]] = defaultdict(list)
    for r in rows:
        found[r.inn].append(Payer(r.partner_id, r.inn, r.kpp))
    return found


@dataclass(frozen=True)
class NewPayment:
    id: uuid.UUID
    partner_id: uuid.UUID
    payer_inn: str
    number: str
    payment_date: date
    amount: Decimal
    purpose: str
    payer_name: str | None


_INSERT_PAYMENTS = text(
    """
    INSERT INTO payments (id, partner_id, payer_inn, number, payment_date, amount, unallocated,
                          purpose, payer_name, source, posted_at)
    SELECT p.id, p.partner_id, p.payer_inn, p.number, p.payment_date, p.amount, p.amount,
           p.purpose, p.payer_name, :source, CAST(:now AS timestamptz)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:partners AS uuid[]), CAST(:inns AS text[]),
                CAST(:numbers AS text[]), CAST(:dates AS date[]), CAST(:amounts AS numeric[]),
                CAST(:purposes AS text[]), CAST(:names AS text[]))
         AS p(id, partner_id, payer_inn, number, payment_date, amount, purpose, payer_name)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
)

_PAYMENT_ENTRIES = text(
    """
    INSERT INTO ledger (partner_id, kind, amount, recorded_at, payment_id)
    SELECT p.partner_id, 'payment', p.amount, CAST(:now AS timestamptz), p.id
    FROM payments p WHERE p.id = ANY(CAST(:ids AS uuid[]))
    ORDER BY p.partner_id, p.payment_date, p.id
    """
)

_CREDIT_PAYMENTS = text(
    """
    UPDATE credit_lines l SET unallocated = l.unallocated + x.total
    FROM (SELECT partner_id, sum(amount) AS total FROM payments
          WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY partner_id) x
    WHERE l.partner_id = x.partner_id
    """
)


async def insert_payments(
    conn: AsyncConnection, payments: Sequence[NewPayment], *, source: str, now: datetime
) -> set[uuid.UUID]:
    """Book the payments not booked before (by id = payer, number, date); returns their ids.
    Their money lands in ``unallocated`` (ledger: ``payment``) until allocated."""
    if not payments:
        return set()
    rows = await conn.execute(
        _INSERT_PAYMENTS,
        {
            "ids": [p.id for p in payments],
            "partners": [p.partner_id for p in payments],
            "inns": [p.payer_inn for p in payments],
            "numbers": [p.number for p in payments],
            "dates": [p.payment_date for p in payments],
            "amounts": [p.amount for p in payments],
            "purposes": [p.purpose for p in payments],
            "names": [p.payer_name for p in payments],
            "source": source,
            "now": now,
        },
    )
    new = {r.id for r in rows}
    if new:
        params = {"ids": list(new), "now": now}
        await conn.execute(_PAYMENT_ENTRIES, params)
        await conn.execute(_CREDIT_PAYMENTS, params)
    return new


async def lock_lines(conn: AsyncConnection, partner_ids: Iterable[uuid.UUID]) -> None:
    """Serialise with captures and other payments of these partners (in a fixed order, so two
    statements never deadlock)."""
    await conn.execute(
        text(
            "SELECT 1 FROM credit_lines WHERE partner_id = ANY(CAST(:ids AS uuid[])) "
            "ORDER BY partner_id FOR NO KEY UPDATE"
        ),
        {"ids": sorted(set(partner_ids))},
    )


async def open_documents(
    conn: AsyncConnection, partner_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[OpenDocument]]:
    rows = await conn.execute(
        text(
            "SELECT partner_id, number, document_date, amount - paid AS open_amount "
            "FROM documents WHERE partner_id = ANY(CAST(:ids AS uuid[])) AND paid < amount "
            "ORDER BY document_date, number"
        ),
        {"ids": list(set(partner_ids))},
    )
    found: dict[uuid.UUID, list[OpenDocument]] = defaultdict(list)
    for r in rows:
        found[r.partner_id].append(OpenDocument(r.number, r.document_date, r.open_amount))
    return found


@dataclass(frozen=True)
class UnallocatedPayment:
    id: uuid.UUID
    payment_date: date
    unallocated: Decimal


async def unallocated_payments(
    conn: AsyncConnection, partner_id: uuid.UUID
) -> list[UnallocatedPayment]:
    """The partner's payments with money left, oldest first (they are used up first)."""
    rows = await conn.execute(
        text(
            "SELECT id, payment_date, unallocated FROM payments "
            "WHERE partner_id = :p AND unallocated > 0 ORDER BY payment_date, posted_at, id"
        ),
        {"p": partner_id},
    )
    return [UnallocatedPayment(r.id, r.payment_date, r.unallocated) for r in rows]


@dataclass(frozen=True)
class AllocationRow:
    payment_id: uuid.UUID
    partner_id: uuid.UUID
    document_number: str
    amount: Decimal


_ALLOCATE = text(
    """
    WITH a AS (
        SELECT * FROM unnest(CAST(:payments AS uuid[]), CAST(:partners AS uuid[]),
                             CAST(:documents AS text[]), CAST(:amounts AS numeric[]))
            WITH ORDINALITY AS a(payment_id, partner_id, document_number, amount, position)
    ), kept AS (
        INSERT INTO allocations (payment_id, partner_id, document_number, amount, allocated_at)
        SELECT payment_id, partner_id, document_number, amount, CAST(:now AS timestamptz)
        FROM a ORDER BY position
    ), entries AS (
        INSERT INTO ledger (partner_id, kind, amount, recorded_at, payment_id, document_number)
        SELECT partner_id, 'allocation', amount, CAST(:now AS timestamptz), payment_id,
               document_number
        FROM a ORDER BY position
    ), docs AS (
        UPDATE documents d SET paid = d.paid + x.total
        FROM (SELECT partner_id, document_number, sum(amount) AS total FROM a
              GROUP BY partner_id, document_number) x
        WHERE d.partner_id = x.partner_id AND d.number = x.document_number
    ), pays AS (
        UPDATE payments p SET unallocated = p.unallocated - x.total
        FROM (SELECT payment_id, sum(amount) AS total FROM a GROUP BY payment_id) x
        WHERE p.id = x.payment_id
    )
    UPDATE credit_lines l
    SET debt = l.debt - x.total, unallocated = l.unallocated - x.total,
        overdraft = greatest(0, l.debt - x.total + l.reserved - l.credit_limit)
    FROM (SELECT partner_id, sum(amount) AS total FROM a GROUP BY partner_id) x
    WHERE l.partner_id = x.partner_id
    """
)


async def apply_allocations(
    conn: AsyncConnection, allocations: Sequence[AllocationRow], now: datetime
) -> None:
    """Pay documents from payments' unallocated money: allocations, ledger, documents, payments
    and the partners' running figures, in one statement."""
    if not allocations:
        return
    await conn.execute(
        _ALLOCATE,
        {
            "payments": [a.payment_id for a in allocations],
            "partners": [a.partner_id for a in allocations],
            "documents": [a.document_number for a in allocations],
            "amounts": [a.amount for a in allocations],
            "now": now,
        },
    )


@dataclass(frozen=True)
class StoredPayment:
    id: uuid.UUID
    partner_id: uuid.UUID
    number: str
    payment_date: date
    payer_inn: str
    amount: Decimal
    unallocated: Decimal
    allocations: tuple[tuple[str, Decimal], ...]


async def stored_payments(
    conn: AsyncConnection, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, StoredPayment]:
    """Payments as booked, with every allocation made from them so far."""
    rows = await conn.execute(
        text(
            """
            SELECT p.id, p.partner_id, p.number, p.payment_date, p.payer_inn, p.amount,
                   p.unallocated, a.document_number, a.amount AS allocated
            FROM payments p LEFT JOIN allocations a ON a.payment_id = p.id
            WHERE p.id = ANY(CAST(:ids AS uuid[]))
            ORDER BY p.id, a.id
            """
        ),
        {"ids": list(set(ids))},
    )
    found: dict[uuid.UUID, StoredPayment] = {}
    parts: dict[uuid.UUID, list[tuple[str, Decimal]]] = defaultdict(list)
    for r in rows:
        if r.document_number is not None:
            parts[r.id].append((r.document_number, r.allocated))
        found[r.id] = StoredPayment(
            r.id, r.partner_id, r.number, r.payment_date, r.payer_inn, r.amount, r.unallocated, ()
        )
    return {
        pid: StoredPayment(
            p.id,
            p.partner_id,
            p.number,
            p.payment_date,
            p.payer_inn,
            p.amount,
            p.unallocated,
            tuple(parts[pid]),
        )
        for pid, p in found.items()
    }


# -- overdue blocks ---------------------------------------------------------------------------

_OVERDUE = """
    SELECT partner_id, sum(amount - paid) AS overdue_amount, min(due_date) AS oldest_due_date
    FROM documents WHERE paid < amount AND due_date < :today GROUP BY partner_id
"""

# The sweeper claims rows with SKIP LOCKED: it never waits for (or deadlocks with) a statement
# or capture holding a partner's row; a skipped partner is announced on the next pass.
_BLOCK = text(
    f"""
    WITH overdue AS ({_OVERDUE}), claimed AS (
        SELECT l.partner_id FROM credit_lines l JOIN overdue o ON o.partner_id = l.partner_id
        WHERE l.blocked_since IS NULL
        FOR NO KEY UPDATE OF l SKIP LOCKED
    )
    UPDATE credit_lines l SET blocked_since = CAST(:now AS timestamptz)
    FROM claimed c JOIN overdue o ON o.partner_id = c.partner_id
    WHERE l.partner_id = c.partner_id
    RETURNING l.partner_id, o.overdue_amount, o.oldest_due_date
    """
)

_UNBLOCK = text(
    """
    WITH claimed AS (
        SELECT l.partner_id FROM credit_lines l
        WHERE l.blocked_since IS NOT NULL
          AND (CAST(:ids AS uuid[]) IS NULL OR l.partner_id = ANY(CAST(:ids AS uuid[])))
          AND NOT EXISTS (SELECT 1 FROM documents d
                          WHERE d.partner_id = l.partner_id AND d.paid < d.amount
                            AND d.due_date < :today)
        FOR NO KEY UPDATE OF l SKIP LOCKED
    )
    UPDATE credit_lines l SET blocked_since = NULL
    FROM claimed c WHERE l.partner_id = c.partner_id
    RETURNING l.partner_id
    """
)


@dataclass(frozen=True)
class Blocked:
    partner_id: uuid.UUID
    overdue_amount: Decimal
    oldest_due_date: date


async def mark_blocked(conn: AsyncConnection, today: date, now: datetime) -> list[Blocked]:
    """Partners whose overdue debt has not been announced yet (each is announced once)."""
    rows = await conn.execute(_BLOCK, {"today": today, "now": now})
    return [Blocked(r.partner_id, r.overdue_amount, r.oldest_due_date) for r in rows]


async def mark_unblocked(
    conn: AsyncConnection, today: date, partner_ids: Iterable[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Announced-blocked partners with no overdue debt any more (all, or those given)."""
    ids = None if partner_ids is None else list(set(partner_ids))
    rows = await conn.execute(_UNBLOCK, {"today": today, "ids": ids})
    return [r.partner_id for r in rows]


# -- the aging report -------------------------------------------------------------------------

_AGING = text(
    """
    SELECT l.partner_id, l.inn, l.company_name,
           COALESCE(sum(d.amount - d.paid) FILTER (WHERE d.due_date >= :on), 0) AS current,
           COALESCE(sum(d.amount - d.paid)
                    FILTER (WHERE :on - d.due_date BETWEEN 1 AND 7), 0) AS overdue_1_7,
           COALESCE(sum(d.amount - d.paid)
                    FILTER (WHERE :on - d.due_date BETWEEN 8 AND 30), 0) AS overdue_8_30,
           COALESCE(sum(d.amount - d.paid) FILTER (WHERE :on - d.due_date > 30), 0)
               AS overdue_30_plus,
           sum(d.amount - d.paid) AS total
    FROM documents d JOIN credit_lines l ON l.partner_id = d.partner_id
    WHERE d.paid < d.amount AND d.document_date <= :on
    GROUP BY l.partner_id, l.inn, l.company_name
    ORDER BY total DESC, l.partner_id
    """
)


@dataclass(frozen=True)
class AgingLine:
    partner_id: uuid.UUID
    inn: str | None
    company_name: str | None
    current: Decimal
    overdue_1_7: Decimal
    overdue_8_30: Decimal
    overdue_30_plus: Decimal
    total: Decimal


async def aging(conn: AsyncConnection, on: date) -> list[AgingLine]:
    rows = await conn.execute(_AGING, {"on": on})
    return [
        AgingLine(
            r.partner_id,
            r.inn,
            r.company_name,
            r.current or ZERO,
            r.overdue_1_7 or ZERO,
            r.overdue_8_30 or ZERO,
            r.overdue_30_plus or ZERO,
            r.total or ZERO,
        )
        for r in rows
    ]


# -- ops: terms history and payments ------------------------------------------------------------


async def terms_history(conn: AsyncConnection, partner_id: uuid.UUID) -> list[Any]:
    """Every terms change of the partner, newest first."""
    return list(
        (
            await conn.execute(
                text(
                    "SELECT credit_limit, term_days, source, effective_at FROM terms_history "
                    "WHERE partner_id = :p ORDER BY effective_at DESC, id DESC"
                ),
                {"p": partner_id},
            )
        ).all()
    )


async def partner_payments(
    conn: AsyncConnection,
    partner_id: uuid.UUID,
    date_from: date | None,
    date_to: date | None,
    limit: int,
) -> list[tuple[Any, list[tuple[str, Decimal]]]]:
    """The partner's payments (newest first) with their allocations in order."""
    sql = (
        "SELECT id, number, payment_date, amount, unallocated, payer_inn, purpose, source, "
        "posted_at FROM payments WHERE partner_id = :p"
    )
    params: dict[str, Any] = {"p": partner_id, "limit": limit}
    if date_from is not None:
        sql += " AND payment_date >= :date_from"
        params["date_from"] = date_from
    if date_to is not None:
        sql += " AND payment_date <= :date_to"
        params["date_to"] = date_to
    sql += " ORDER BY payment_date DESC, posted_at DESC, id LIMIT :limit"
    rows = (await conn.execute(text(sql), params)).all()
    allocations: dict[uuid.UUID, list[tuple[str, Decimal]]] = {}
    if rows:
        for a in await conn.execute(
            text(
                "SELECT payment_id, document_number, amount FROM allocations "
                "WHERE payment_id = ANY(:ids) ORDER BY payment_id, id"
            ),
            {"ids": [r.id for r in rows]},
        ):
            allocations.setdefault(a.payment_id, []).append((a.document_number, a.amount))
    return [(r, allocations.get(r.id, [])) for r in rows]
