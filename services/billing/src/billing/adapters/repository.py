"""Billing persistence: raw SQLAlchemy Core ``text()`` on the caller's connection.

The per-line path is a handful of statements: one look-up (is the order on a document already,
and does the partner's document of that day exist), one conditional ``UPDATE`` of the document's
totals (which also locks it), one ``INSERT`` of the line. Creating a day's document happens once
per partner and day and takes the yearly counter row lock, so numbers never skip or repeat.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.domain.documents import TermsChange


@dataclass(frozen=True)
class DocumentRef:
    """What a ShipmentRecorded reply needs to know of a document."""

    id: int
    number: str
    date: dt.date
    due_date: dt.date


@dataclass(frozen=True)
class ExistingLine:
    document: DocumentRef
    amount: Decimal


_LOOKUP = text(
    """
    SELECT l.document_id AS line_document_id, ld.number AS line_number, ld.date AS line_date,
           ld.due_date AS line_due_date, l.amount AS line_amount,
           d.id AS document_id, d.number, d.date, d.due_date
    FROM (SELECT 1) AS one
    LEFT JOIN document_lines l ON l.order_id = :order_id
    LEFT JOIN documents ld ON ld.id = l.document_id
    LEFT JOIN documents d ON d.partner_id = :partner_id AND d.date = :day
    """
)

_DAY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('billing:document'), hashtext(:key))")

_SELECT_DOCUMENT = text(
    "SELECT id, number, date, due_date FROM documents WHERE partner_id = :partner_id "
    "AND date = :day"
)

_NEXT_NUMBER = text(
    "INSERT INTO document_counters (year, last_number) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last_number = document_counters.last_number + 1 "
    "RETURNING last_number"
)

_INSERT_DOCUMENT = text(
    "INSERT INTO documents (number, partner_id, date, due_date, created_at) "
    "VALUES (:number, :partner_id, :day, :due_date, :now) RETURNING id"
)

_ADD_TO_DOCUMENT = text(
    "UPDATE documents SET amount = amount + :amount, vat_amount = vat_amount + :vat_amount, "
    "line_count = line_count + 1 WHERE id = :document_id RETURNING line_count"
)

_INSERT_LINE = text(
    "INSERT INTO document_lines (order_id, document_id, position, sku, name, quantity, "
    "unit_price, amount, vat_rate, vat_amount, shipped_at, created_at) VALUES (:order_id, "
    ":document_id, :position, :sku, :name, :quantity, :unit_price, :amount, :vat_rate, "
    ":vat_amount, :shipped_at, :now) ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
)

_TERMS_HISTORY = text(
    "SELECT effective_from, term_days FROM credit_terms WHERE partner_id = :partner_id"
)

_INSERT_TERMS = text(
    "INSERT INTO credit_terms (partner_id, effective_from, effective_day, term_days, "
    "source_message_id) VALUES (:partner_id, :effective_from, :effective_day, :term_days, "
    ":source_message_id) ON CONFLICT DO NOTHING"
)

_UPSERT_PARTNER = text(
    "INSERT INTO partners (partner_id, reseller_id, company_name, inn, kpp, registered_at) "
    "VALUES (:partner_id, :reseller_id, :company_name, :inn, :kpp, :registered_at) "
    "ON CONFLICT (partner_id) DO UPDATE SET reseller_id = excluded.reseller_id, "
    "company_name = excluded.company_name, inn = excluded.inn, kpp = excluded.kpp"
)

_DOCUMENT_COLUMNS = (
    "id, number, partner_id, date, due_date, amount, vat_amount, paid_amount, line_count"
)

_LINES_OF = text(
    "SELECT document_id, order_id, sku, name, quantity, unit_price, amount, vat_rate, "
    "vat_amount FROM document_lines WHERE document_id = ANY(:ids) ORDER BY document_id, position"
)


async def lookup(
    conn: AsyncConnection, order_id: uuid.UUID, partner_id: uuid.UUID, day: date
) -> tuple[ExistingLine | None, DocumentRef | None]:
    """In one round trip: the order's line if it is recorded, and the partner's day document."""
    row = (
        await conn.execute(_LOOKUP, {"order_id": order_id, "partner_id": partner_id, "day": day})
    ).one()
    existing = None
    if row.line_document_id is not None:
        existing = ExistingLine(
            DocumentRef(row.line_document_id, row.line_number, row.line_date, row.line_due_date),
            row.line_amount,
        )
    document = None
    if row.document_id is not None:
        document = DocumentRef(row.document_id, row.number, row.date, row.due_date)
    return existing, document


async def lock_partner_day(conn: AsyncConnection, partner_id: uuid.UUID, day: date) -> None:
    """Serialise the creation of one partner's document for one day (transaction-scoped)."""
    await conn.execute(_DAY_LOCK, {"key": f"{partner_id}:{day.isoformat()}"})


async def get_document(
    conn: AsyncConnection, partner_id: uuid.UUID, day: date
) -> DocumentRef | None:
    row = (await conn.execute(_SELECT_DOCUMENT, {"partner_id": partner_id, "day": day})).first()
    return DocumentRef(row.id, row.number, row.date, row.due_date) if row else None


async def next_sequence(conn: AsyncConnection, year: int) -> int:
    """The year's next number; the counter row stays locked until this transaction ends, so a
    rollback gives the number back and concurrent creators queue instead of skipping."""
    return int((await conn.execute(_NEXT_NUMBER, {"year": year})).scalar_one())


async def insert_document(
    conn: AsyncConnection,
    *,
    number: str,
    partner_id: uuid.UUID,
    day: date,
    due: date,
    now: datetime,
) -> DocumentRef:
    params = {"number": number, "partner_id": partner_id, "day": day, "due_date": due, "now": now}
    document_id = int((await conn.execute(_INSERT_DOCUMENT, params)).scalar_one())
    return DocumentRef(document_id, number, day, due)


async def add_line(conn: AsyncConnection, document_id: int, line: dict[str, Any]) -> bool:
    """Add the line and its amounts to the document; ``False`` if the order is already on one
    (then the caller must roll back: the totals were already raised)."""
    position = (
        await conn.execute(
            _ADD_TO_DOCUMENT,
            {
                "document_id": document_id,
                "amount": line["amount"],
                "vat_amount": line["vat_amount"],
            },
        )
    ).scalar_one()
    inserted = await conn.execute(
        _INSERT_LINE, {**line, "document_id": document_id, "position": position}
    )
    return inserted.first() is not None


async def terms_history(conn: AsyncConnection, partner_id: uuid.UUID) -> list[TermsChange]:
    rows = (await conn.execute(_TERMS_HISTORY, {"partner_id": partner_id})).all()
    return [TermsChange(r.effective_from, r.term_days) for r in rows]


async def add_terms(
    conn: AsyncConnection,
    *,
    partner_id: uuid.UUID,
    effective_from: datetime,
    effective_day: date,
    term_days: int,
    source_message_id: uuid.UUID,
) -> None:
    await conn.execute(
        _INSERT_TERMS,
        {
            "partner_id": partner_id,
            "effective_from": effective_from,
            "effective_day": effective_day,
            "term_days": term_days,
            "source_message_id": source_message_id,
        },
    )


async def upsert_partner(conn: AsyncConnection, **partner: Any) -> None:
    await conn.execute(_UPSERT_PARTNER, partner)


async def documents_from(conn: AsyncConnection, partner_id: uuid.UUID, day: date) -> list[Any]:
    """The partner's documents dated ``day`` or later (whose due date a terms change moves)."""
    return list(
        (
            await conn.execute(
                text(
                    "SELECT id, date, due_date FROM documents WHERE partner_id = :partner_id "
                    "AND date >= :day FOR UPDATE"
                ),
                {"partner_id": partner_id, "day": day},
            )
        ).all()
    )


async def set_due_date(conn: AsyncConnection, document_id: int, due: date) -> None:
    await conn.execute(
        text("UPDATE documents SET due_date = :due WHERE id = :id"), {"id": document_id, "due": due}
    )


async def find_documents(
    conn: AsyncConnection,
    partner_id: uuid.UUID,
    *,
    number: str | None,
    date_from: date | None,
    date_to: date | None,
) -> list[Any]:
    """The partner's documents (only its own) by number or within a date range, oldest first."""
    clauses = ["partner_id = :partner_id"]
    params: dict[str, Any] = {"partner_id": partner_id}
    if number is not None:
        clauses.append("number = :number")
        params["number"] = number
    if date_from is not None:
        clauses.append("date >= :date_from")
        params["date_from"] = date_from
    if date_to is not None:
        clauses.append("date <= :date_to")
        params["date_to"] = date_to
    sql = (
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE {' AND '.join(clauses)} "
        "ORDER BY date, number"
    )
    return list((await conn.execute(text(sql), params)).all())


async def lines_of(conn: AsyncConnection, document_ids: Sequence[int]) -> list[Any]:
    if not document_ids:
        return []
    return list((await conn.execute(_LINES_OF, {"ids": list(document_ids)})).all())
