"""SQL of the credit service, SQLAlchemy Core ``text()`` on the caller's connection; the two
statements every order runs (reserve, capture) on the driver's connection
(:class:`esd_platform.db.Statement`).

Every money movement updates the partner's running figures in ``credit_lines`` and appends the
matching ``ledger`` entry in the same statement or transaction, so the row always equals the
ledger's sums. The limit is enforced by the conditional UPDATE in :data:`_RESERVE` under READ
COMMITTED: PostgreSQL re-evaluates its WHERE on the newest row version after waiting for a
concurrent writer, so two reservations can never both take the last roubles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from esd_platform.db import Statement
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from credit.domain.ledger import EntryKind, LedgerEntry
from credit.domain.model import ReservationState, Terms

# -- the hot path: one statement holds the credit, records the reservation and the entry -------

_RESERVE = Statement(
    """
    WITH line AS (
        UPDATE credit_lines SET reserved = reserved + :amount
        WHERE partner_id = :partner_id
          AND credit_limit - debt - reserved >= :amount
          AND NOT EXISTS (SELECT 1 FROM reservations WHERE order_id = :order_id)
          AND NOT EXISTS (
              SELECT 1 FROM documents
              WHERE partner_id = :partner_id AND paid < amount AND due_date < :today)
        RETURNING partner_id
    ), held AS (
        INSERT INTO reservations (order_id, partner_id, amount, state, created_at)
        SELECT :order_id, partner_id, :amount, 'held', CAST(:now AS timestamptz) FROM line
        RETURNING order_id
    ), entry AS (
        INSERT INTO ledger (partner_id, kind, amount, recorded_at, order_id)
        SELECT partner_id, 'reservation', :amount, CAST(:now AS timestamptz), :order_id
        FROM line
    )
    SELECT count(*) FROM held
    """
)

_WHY_NOT = text(
    """
    SELECT l.credit_limit - l.debt - l.reserved AS available,
           EXISTS (SELECT 1 FROM documents d
                   WHERE d.partner_id = l.partner_id AND d.paid < d.amount
                     AND d.due_date < :today) AS blocked
    FROM credit_lines l WHERE l.partner_id = :partner_id
    """
)

_RESERVATION = text(
    "SELECT order_id, partner_id, amount, state FROM reservations WHERE order_id = :order_id"
)


@dataclass(frozen=True)
class Reservation:
    order_id: uuid.UUID
    partner_id: uuid.UUID
    amount: Decimal
    state: ReservationState


@dataclass(frozen=True)
class LineState:
    available: Decimal
    blocked: bool


async def reserve(
    driver: Any,
    *,
    order_id: uuid.UUID,
    partner_id: uuid.UUID,
    amount: Decimal,
    now: datetime,
    today: date,
) -> bool:
    """Hold ``amount`` if the line exists, is not blocked, has it available, and the order holds
    nothing yet. True when held by this call."""
    held = await _RESERVE.fetchval(
        driver,
        {
            "order_id": order_id,
            "partner_id": partner_id,
            "amount": amount,
            "now": now,
            "today": today,
        },
    )
    return bool(held)


async def line_state(conn: AsyncConnection, partner_id: uuid.UUID, today: date) -> LineState | None:
    row = (await conn.execute(_WHY_NOT, {"partner_id": partner_id, "today": today})).first()
    if row is None:
        return None
    return LineState(available=row.available, blocked=row.blocked)


async def get_reservation(conn: AsyncConnection, order_id: uuid.UUID) -> Reservation | None:
    row = (await conn.execute(_RESERVATION, {"order_id": order_id})).first()
    if row is None:
        return None
    return Reservation(row.order_id, row.partner_id, row.amount, ReservationState(row.state))


# -- capture and release: finish a held reservation exactly once -------------------------------

_CAPTURE = Statement(
    """
    WITH done AS (
        UPDATE reservations
        SET state = 'captured', document_number = :document_number, due_date = :due_date,
            finished_at = CAST(:now AS timestamptz)
        WHERE order_id = :order_id AND state = 'held'
        RETURNING partner_id, amount
    ), line AS (
        UPDATE credit_lines l
        SET reserved = l.reserved - done.amount, debt = l.debt + done.amount
        FROM done WHERE l.partner_id = done.partner_id
        RETURNING l.partner_id, l.unallocated
    ), doc AS (
        INSERT INTO documents (partner_id, number, document_date, due_date, amount)
        SELECT partner_id, :document_number, CAST(:document_date AS date),
               CAST(:due_date AS date), amount
        FROM done
        ON CONFLICT (partner_id, number) DO UPDATE SET amount = documents.amount + excluded.amount
    ), entry AS (
        INSERT INTO ledger (partner_id, kind, amount, recorded_at, order_id, document_number,
                            document_date, due_date)
        SELECT partner_id, 'capture', amount, CAST(:now AS timestamptz), :order_id,
               :document_number, CAST(:document_date AS date), CAST(:due_date AS date)
        FROM done
    )
    SELECT done.partner_id, done.amount, line.unallocated
    FROM done JOIN line ON line.partner_id = done.partner_id
    """
)

_RELEASE = text(
    """
    WITH done AS (
        UPDATE reservations SET state = 'released', finished_at = CAST(:now AS timestamptz)
        WHERE order_id = :order_id AND state = 'held'
        RETURNING partner_id, amount
    ), line AS (
        UPDATE credit_lines l SET reserved = l.reserved - done.amount,
            overdraft = greatest(0, l.debt + l.reserved - done.amount - l.credit_limit)
        FROM done WHERE l.partner_id = done.partner_id
    ), entry AS (
        INSERT INTO ledger (partner_id, kind, amount, recorded_at, order_id)
        SELECT partner_id, 'release', amount, CAST(:now AS timestamptz), :order_id FROM done
    )
    SELECT partner_id, amount FROM done
    """
)


@dataclass(frozen=True)
class Captured:
    partner_id: uuid.UUID
    amount: Decimal
    unallocated: Decimal
    """The partner's unallocated payment money after the capture (to be consumed next)."""


async def capture(
    driver: Any,
    *,
    order_id: uuid.UUID,
    document_number: str,
    document_date: date,
    due_date: date,
    now: datetime,
) -> Captured | None:
    """Move a held reservation into debt on the document; None if nothing was held."""
    row = await _CAPTURE.fetchrow(
        driver,
        {
            "order_id": order_id,
            "document_number": document_number,
            "document_date": document_date,
            "due_date": due_date,
            "now": now,
        },
    )
    if row is None:
        return None
    return Captured(row["partner_id"], row["amount"], row["unallocated"])


async def release(
    conn: AsyncConnection, *, order_id: uuid.UUID, now: datetime
) -> tuple[uuid.UUID, Decimal] | None:
    """Give a held reservation back; None if nothing was held."""
    row = (await conn.execute(_RELEASE, {"order_id": order_id, "now": now})).first()
    return None if row is None else (row.partner_id, row.amount)


# -- terms ----------------------------------------------------------------------------------

_REGISTER = text(
    """
    INSERT INTO credit_lines (partner_id, inn, kpp, company_name, credit_limit, term_days,
                              registered, created_at)
    VALUES (:partner_id, :inn, :kpp, :company_name, :credit_limit, :term_days, true, :now)
    ON CONFLICT (partner_id) DO UPDATE
        SET inn = excluded.inn, kpp = excluded.kpp, company_name = excluded.company_name,
            registered = true
    RETURNING (xmax = 0) AS created, credit_limit, term_days
    """
)

_SET_TERMS = text(
    """
    INSERT INTO credit_lines (partner_id, credit_limit, term_days, created_at)
    VALUES (:partner_id, :credit_limit, :term_days, :now)
    ON CONFLICT (partner_id) DO UPDATE
        SET credit_limit = excluded.credit_limit, term_days = excluded.term_days,
            overdraft = greatest(0, credit_lines.debt + credit_lines.reserved
                                    - excluded.credit_limit)
    """
)

_TERMS_HISTORY = text(
    """
    INSERT INTO terms_history (partner_id, credit_limit, term_days, source, effective_at)
    VALUES (:partner_id, :credit_limit, :term_days, :source, :now)
    """
)


async def register(
    conn: AsyncConnection,
    *,
    partner_id: uuid.UUID,
    inn: str,
    kpp: str | None,
    company_name: str,
    terms: Terms,
    now: datetime,
) -> tuple[bool, Terms]:
    """Open the partner's line with ``terms``, or just record its identity if ops already set
    terms (SetCreditTerms can overtake PartnerRegistered). Returns (created, terms in force)."""
    row = (
        await conn.execute(
            _REGISTER,
            {
                "partner_id": partner_id,
                "inn": inn,
                "kpp": kpp,
                "company_name": company_name,
                "credit_limit": terms.limit,
                "term_days": terms.term_days,
                "now": now,
            },
        )
    ).one()
    in_force = Terms(row.credit_limit, row.term_days)
    if row.created:
        await _record_terms(conn, partner_id, in_force, "registration", now)
    return bool(row.created), in_force


async def set_terms(
    conn: AsyncConnection, *, partner_id: uuid.UUID, terms: Terms, source: str, now: datetime
) -> None:
    params = {
        "partner_id": partner_id,
        "credit_limit": terms.limit,
        "term_days": terms.term_days,
        "now": now,
    }
    await conn.execute(_SET_TERMS, params)
    await _record_terms(conn, partner_id, terms, source, now)


async def _record_terms(
    conn: AsyncConnection, partner_id: uuid.UUID, terms: Terms, source: str, now: datetime
) -> None:
    await conn.execute(
        _TERMS_HISTORY,
        {
            "partner_id": partner_id,
            "credit_limit": terms.limit,
            "term_days": terms.term_days,
            "source": source,
            "now": now,
        },
    )


# -- reads ----------------------------------------------------------------------------------

_BALANCE = text(
    """
    SELECT l.credit_limit, l.debt, l.reserved, l.unallocated, l.term_days,
           COALESCE((SELECT sum(d.amount - d.paid) FROM documents d
                     WHERE d.partner_id = l.partner_id AND d.paid < d.amount
                       AND d.due_date < :today), 0) AS overdue_amount,
           (SELECT min(d.due_date) FROM documents d
            WHERE d.partner_id = l.partner_id AND d.paid < d.amount) AS next_due_date
    FROM credit_lines l WHERE l.partner_id = :partner_id
    """
)


@dataclass(frozen=True)
class BalanceRow:
    credit_limit: Decimal
    debt: Decimal
    reserved: Decimal
    unallocated: Decimal
    term_days: int
    overdue_amount: Decimal
    next_due_date: date | None


async def balance(conn: AsyncConnection, partner_id: uuid.UUID, today: date) -> BalanceRow | None:
    row = (await conn.execute(_BALANCE, {"partner_id": partner_id, "today": today})).first()
    if row is None:
        return None
    return BalanceRow(
        row.credit_limit,
        row.debt,
        row.reserved,
        row.unallocated,
        row.term_days,
        row.overdue_amount,
        row.next_due_date,
    )


_TERMS_AT = text(
    """
    SELECT credit_limit, term_days FROM terms_history
    WHERE partner_id = :partner_id AND effective_at <= :at
    ORDER BY effective_at DESC, id DESC LIMIT 1
    """
)

_ENTRIES_UNTIL = text(
    """
    SELECT kind, amount, recorded_at, order_id, document_number, document_date, due_date,
           payment_id
    FROM ledger WHERE partner_id = :partner_id AND recorded_at <= :at
    ORDER BY recorded_at, id
    """
)


async def terms_at(conn: AsyncConnection, partner_id: uuid.UUID, at: datetime) -> Terms | None:
    row = (await conn.execute(_TERMS_AT, {"partner_id": partner_id, "at": at})).first()
    return None if row is None else Terms(row.credit_limit, row.term_days)


async def entries_until(
    conn: AsyncConnection, partner_id: uuid.UUID, at: datetime
) -> list[LedgerEntry]:
    rows = await conn.execute(_ENTRIES_UNTIL, {"partner_id": partner_id, "at": at})
    return [
        LedgerEntry(
            kind=EntryKind(r.kind),
            amount=r.amount,
            recorded_at=r.recorded_at,
            order_id=r.order_id,
            document_number=r.document_number,
            document_date=r.document_date,
            due_date=r.due_date,
            payment_id=r.payment_id,
        )
        for r in rows
    ]


# -- subscription charges: debt on the document, once per charge -------------------------------

_CHARGE_SUBSCRIPTION = text(
    """
    WITH charge AS (
        INSERT INTO subscription_debts (charge_id, subscription_id, partner_id, document_number,
                                        amount, recorded_at)
        SELECT :charge_id, :subscription_id, partner_id, :document_number, :amount,
               CAST(:now AS timestamptz)
        FROM credit_lines WHERE partner_id = :partner_id
        ON CONFLICT (charge_id) DO NOTHING
        RETURNING partner_id, amount
    ), line AS (
        UPDATE credit_lines l
        SET debt = l.debt + charge.amount,
            overdraft = greatest(0, l.debt + charge.amount + l.reserved - l.credit_limit)
        FROM charge WHERE l.partner_id = charge.partner_id
        RETURNING l.partner_id, l.unallocated
    ), doc AS (
        INSERT INTO documents (partner_id, number, document_date, due_date, amount)
        SELECT partner_id, :document_number, CAST(:document_date AS date),
               CAST(:due_date AS date), amount
        FROM charge
        ON CONFLICT (partner_id, number) DO UPDATE SET amount = documents.amount + excluded.amount
    ), entry AS (
        INSERT INTO ledger (partner_id, kind, amount, recorded_at, order_id, document_number,
                            document_date, due_date)
        SELECT partner_id, 'document_debt', amount, CAST(:now AS timestamptz), :charge_id,
               :document_number, CAST(:document_date AS date), CAST(:due_date AS date)
        FROM charge
    )
    SELECT line.partner_id, line.unallocated FROM line
    """
)

_LINE_EXISTS = text("SELECT 1 FROM credit_lines WHERE partner_id = :partner_id")


class UnknownCreditLine(RuntimeError):
    """A charge for a partner credit has no line for: parked (DLQ) for ops, never dropped."""


async def charge_subscription(
    conn: AsyncConnection,
    *,
    charge_id: uuid.UUID,
    subscription_id: uuid.UUID,
    partner_id: uuid.UUID,
    amount: Decimal,
    document_number: str,
    document_date: date,
    due_date: date,
    now: datetime,
) -> Decimal | None:
    """Add the charge to the partner's debt and document, with its ledger entry, once per
    ``charge_id``; the partner's unallocated money after it, ``None`` if already booked."""
    row = (
        await conn.execute(
            _CHARGE_SUBSCRIPTION,
            {
                "charge_id": charge_id,
                "subscription_id": subscription_id,
                "partner_id": partner_id,
                "amount": amount,
                "document_number": document_number,
                "document_date": document_date,
                "due_date": due_date,
                "now": now,
            },
        )
    ).first()
    if row is not None:
        return Decimal(row.unallocated)
    if (await conn.execute(_LINE_EXISTS, {"partner_id": partner_id})).first() is None:
        raise UnknownCreditLine(str(partner_id))
    return None
