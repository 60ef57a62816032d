"""Billing persistence: raw SQLAlchemy Core ``text()`` on the caller's connection; the per-line
statements on the driver's connection (:class:`esd_platform.db.Statement`).

The per-line path is a handful of statements: one look-up (is the order on a document already,
and does the partner's document of that day exist), one conditional ``UPDATE`` of the document's
totals (which also locks it), one ``INSERT`` of the line. Creating a day's document happens once
per partner and day and takes the yearly counter row lock, so numbers never skip or repeat.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from esd_platform.db import Statement
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.domain.documents import TermsChange
from billing.domain.model import Line, Party, Snapshot


class LineExists(RuntimeError):
    """The order's line was inserted by a concurrent delivery: roll back and retry."""


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


_LOOKUP = Statement(
    """
    SELECT l.document_id AS line_document_id, ld.number AS line_number, ld.date AS line_date,
           ld.due_date AS line_due_date, l.amount AS line_amount,
           d.id AS document_id, d.number, d.date, d.due_date
    FROM (SELECT 1) AS one
    LEFT JOIN document_lines l ON l.order_id = :order_id
    LEFT JOIN documents ld ON ld.id = l.document_id
    LEFT JOIN documents d ON d.partner_id = :partner_id AND d.date = :day
        AND d.closed_at IS NULL
    """
)

_DAY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('billing:document'), hashtext(:key))")

_SELECT_DOCUMENT = text(
    "SELECT id, number, date, due_date FROM documents WHERE partner_id = :partner_id "
    "AND date = :day AND closed_at IS NULL"
)

_FIRST_CLOSED = text(
    "SELECT number FROM documents WHERE partner_id = :partner_id AND date = :day "
    "AND closed_at IS NOT NULL ORDER BY id LIMIT 1"
)

_NEXT_NUMBER = text(
    "INSERT INTO document_counters (year, last_number) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last_number = document_counters.last_number + 1 "
    "RETURNING last_number"
)

_INSERT_DOCUMENT = text(
    "INSERT INTO documents (number, partner_id, date, due_date, supplement_to, created_at) "
    "VALUES (:number, :partner_id, :day, :due_date, :supplement_to, :now) RETURNING id"
)

_ADD_LINE = Statement(
    """
    WITH document AS (
        UPDATE documents SET amount = amount + :amount, vat_amount = vat_amount + :vat_amount,
            line_count = line_count + 1
        WHERE id = :document_id AND closed_at IS NULL
        RETURNING id, line_count
    )
    INSERT INTO document_lines (order_id, document_id, position, sku, name, quantity,
        unit_price, amount, vat_rate, vat_amount, shipped_at, created_at)
    SELECT :order_id, document.id, document.line_count, :sku, :name, :quantity, :unit_price,
        :amount, :vat_rate, :vat_amount, :shipped_at, :now
    FROM document
    ON CONFLICT (order_id) DO NOTHING
    RETURNING position
    """
)

_LINE_EXISTS = Statement("SELECT 1 FROM document_lines WHERE order_id = :order_id")

_TERMS_HISTORY = text(
    "SELECT effective_from, term_days FROM credit_terms WHERE partner_id = :partner_id"
)

_INSERT_TERMS = text(
    "INSERT INTO credit_terms (partner_id, effective_from, effective_day, term_days, "
    "source_message_id) VALUES (:partner_id, :effective_from, :effective_day, :term_days, "
    ":source_message_id) ON CONFLICT DO NOTHING"
)

_UPSERT_PARTNER = text(
    "INSERT INTO partners (partner_id, reseller_id, company_name, inn, kpp, registered_at, "
    "official) VALUES (:partner_id, :reseller_id, :company_name, :inn, :kpp, :registered_at, "
    ":official) ON CONFLICT (partner_id) DO UPDATE SET reseller_id = excluded.reseller_id, "
    "company_name = excluded.company_name, inn = excluded.inn, kpp = excluded.kpp, "
    "official = excluded.official"
)

_DOCUMENT_COLUMNS = (
    "id, number, partner_id, date, due_date, amount, vat_amount, paid_amount, line_count"
)

_LINES_OF = text(
    "SELECT document_id, order_id, sku, name, quantity, unit_price, amount, vat_rate, "
    "vat_amount FROM document_lines WHERE document_id = ANY(:ids) ORDER BY document_id, position"
)


async def lookup(
    driver: Any, order_id: uuid.UUID, partner_id: uuid.UUID, day: date
) -> tuple[ExistingLine | None, DocumentRef | None]:
    """In one round trip: the order's line if it is recorded, and the partner's day document."""
    params = {"order_id": order_id, "partner_id": partner_id, "day": day}
    row = await _LOOKUP.fetchrow(driver, params)
    existing = None
    if row["line_document_id"] is not None:
        existing = ExistingLine(
            DocumentRef(
                row["line_document_id"], row["line_number"], row["line_date"], row["line_due_date"]
            ),
            row["line_amount"],
        )
    document = None
    if row["document_id"] is not None:
        document = DocumentRef(row["document_id"], row["number"], row["date"], row["due_date"])
    return existing, document


async def lock_partner_day(conn: AsyncConnection, partner_id: uuid.UUID, day: date) -> None:
    """Serialise the creation of one partner's document for one day (transaction-scoped)."""
    await conn.execute(_DAY_LOCK, {"key": f"{partner_id}:{day.isoformat()}"})


async def get_document(
    conn: AsyncConnection, partner_id: uuid.UUID, day: date
) -> DocumentRef | None:
    row = (await conn.execute(_SELECT_DOCUMENT, {"partner_id": partner_id, "day": day})).first()
    return DocumentRef(row.id, row.number, row.date, row.due_date) if row else None


async def closed_document_of(conn: AsyncConnection, partner_id: uuid.UUID, day: date) -> str | None:
    """The number of the partner's already closed document of ``day``, if any."""
    return (
        await conn.execute(_FIRST_CLOSED, {"partner_id": partner_id, "day": day})
    ).scalar_one_or_none()


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
    supplement_to: str | None = None,
) -> DocumentRef:
    params = {
        "number": number,
        "partner_id": partner_id,
        "day": day,
        "due_date": due,
        "supplement_to": supplement_to,
        "now": now,
    }
    document_id = int((await conn.execute(_INSERT_DOCUMENT, params)).scalar_one())
    return DocumentRef(document_id, number, day, due)


async def add_line(driver: Any, document_id: int, line: dict[str, Any]) -> int | None:
    """In one statement: add the line's amounts to the open document (locking it) and insert
    the line at the next position. ``None`` when the document was closed meanwhile (nothing
    changed); :class:`LineExists` when the order is already on a document (the caller must roll
    back: the document's totals were raised)."""
    position = await _ADD_LINE.fetchval(driver, {**line, "document_id": document_id})
    if position is not None:
        return int(position)
    if await _LINE_EXISTS.fetchrow(driver, {"order_id": line["order_id"]}) is not None:
        raise LineExists(str(line["order_id"]))
    return None


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
                    "AND date >= :day AND closed_at IS NULL FOR UPDATE"
                ),
                {"partner_id": partner_id, "day": day},
            )
        ).all()
    )


async def set_due_date(conn: AsyncConnection, document_id: int, due: date) -> None:
    await conn.execute(
        text("UPDATE documents SET due_date = :due WHERE id = :id"), {"id": document_id, "due": due}
    )


_SNAPSHOT_COLUMNS = (
    "d.id, d.number, d.partner_id, d.date, d.due_date, d.amount, d.vat_amount, d.paid_amount, "
    "d.closed_at, d.supplement_to, d.edo_status, d.created_at, d.line_count, "
    "p.company_name, p.inn, p.kpp, p.address, p.reseller_id, p.registered_at, "
    "coalesce(p.official, false) AS official"
)

_LINES_OF = text(
    "SELECT document_id, position, order_id, sku, name, quantity, unit_price, amount, vat_rate, "
    "vat_amount, created_at FROM document_lines WHERE document_id = ANY(:ids) "
    "ORDER BY document_id, position"
)


async def load_documents(
    conn: AsyncConnection,
    *,
    partner_id: uuid.UUID | None = None,
    number: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    ids: list[int] | None = None,
    with_lines: bool = True,
) -> list[Snapshot]:
    """Documents with their lines and buyer, oldest first. With ``partner_id`` only that
    partner's own documents (another partner's number finds nothing)."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if partner_id is not None:
        clauses.append("d.partner_id = :partner_id")
        params["partner_id"] = partner_id
    if number is not None:
        clauses.append("d.number = :number")
        params["number"] = number
    if date_from is not None:
        clauses.append("d.date >= :date_from")
        params["date_from"] = date_from
    if date_to is not None:
        clauses.append("d.date <= :date_to")
        params["date_to"] = date_to
    if ids is not None:
        clauses.append("d.id = ANY(:ids)")
        params["ids"] = ids
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        f"SELECT {_SNAPSHOT_COLUMNS} FROM documents d "
        f"LEFT JOIN partners p ON p.partner_id = d.partner_id {where} ORDER BY d.date, d.id"
    )
    rows = (await conn.execute(text(sql), params)).all()
    lines: dict[int, list[Line]] = {}
    if with_lines and rows:
        for line in (await conn.execute(_LINES_OF, {"ids": [r.id for r in rows]})).all():
            lines.setdefault(line.document_id, []).append(
                Line(
                    position=line.position,
                    order_id=line.order_id,
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                    vat_rate=line.vat_rate,
                    vat_amount=line.vat_amount,
                    created_at=line.created_at,
                )
            )
    return [_snapshot(r, tuple(lines.get(r.id, ()))) for r in rows]


def _snapshot(r: Any, lines: tuple[Line, ...]) -> Snapshot:
    return Snapshot(
        id=r.id,
        number=r.number,
        partner_id=r.partner_id,
        date=r.date,
        due_date=r.due_date,
        amount=r.amount,
        vat_amount=r.vat_amount,
        paid_amount=r.paid_amount,
        supplement_to=r.supplement_to,
        edo_status=r.edo_status,
        created_at=r.created_at,
        closed_at=r.closed_at,
        line_count=r.line_count,
        lines=lines,
        buyer=None
        if r.inn is None
        else Party(name=r.company_name, inn=r.inn, kpp=r.kpp, address=r.address),
        reseller_id=r.reseller_id,
        registered_at=r.registered_at,
        official=r.official,
    )


_CLOSE_BATCH = text(
    """
    UPDATE documents SET closed_at = :now
    WHERE id IN (
        SELECT id FROM documents WHERE closed_at IS NULL AND date < :before
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    RETURNING id
    """
)

_LINE_SUMS = text(
    "SELECT document_id, vat_rate, count(*) AS lines, sum(amount) AS amount, "
    "sum(vat_amount) AS vat_amount FROM document_lines WHERE document_id = ANY(:ids) "
    "GROUP BY document_id, vat_rate"
)


async def close_before(conn: AsyncConnection, before: date, now: datetime, limit: int) -> list[int]:
    """Close up to ``limit`` open documents dated before ``before``; their ids."""
    rows = await conn.execute(_CLOSE_BATCH, {"before": before, "now": now, "limit": limit})
    return [int(r.id) for r in rows]


async def line_sums(
    conn: AsyncConnection, document_ids: list[int]
) -> dict[int, list[tuple[str, int, Decimal, Decimal]]]:
    """Per document, its lines summed per VAT rate: (rate, lines, amount, vat_amount)."""
    sums: dict[int, list[tuple[str, int, Decimal, Decimal]]] = {}
    for r in await conn.execute(_LINE_SUMS, {"ids": document_ids}):
        sums.setdefault(r.document_id, []).append((r.vat_rate, r.lines, r.amount, r.vat_amount))
    return sums


async def load_by_ids(conn: AsyncConnection, document_ids: list[int]) -> list[Snapshot]:
    """Documents by id, without lines (headers and buyer only)."""
    if not document_ids:
        return []
    rows = (
        await conn.execute(
            text(
                f"SELECT {_SNAPSHOT_COLUMNS} FROM documents d "
                "LEFT JOIN partners p ON p.partner_id = d.partner_id "
                "WHERE d.id = ANY(:ids) ORDER BY d.id"
            ),
            {"ids": document_ids},
        )
    ).all()
    return [_snapshot(r, ()) for r in rows]


_CLAIM_UNSENT = text(
    "SELECT id FROM documents WHERE closed_at IS NOT NULL AND edo_status IS NULL "
    "ORDER BY closed_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_CLAIM_SENT = text(
    "SELECT id, edo_file FROM documents WHERE closed_at IS NOT NULL AND edo_status = 'sent' "
    "ORDER BY edo_updated_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_SET_EDO = text(
    "UPDATE documents SET edo_status = :status, edo_file = coalesce(:file, edo_file), "
    "edo_message = :message, edo_updated_at = :now WHERE id = :id"
)


async def claim_unsent(conn: AsyncConnection, limit: int) -> list[int]:
    """Closed documents not yet handed to EDO, locked for this transaction."""
    return [int(r.id) for r in await conn.execute(_CLAIM_UNSENT, {"limit": limit})]


async def claim_sent(conn: AsyncConnection, limit: int) -> list[tuple[int, str]]:
    """Documents handed to EDO and not yet settled, locked: (id, file name)."""
    return [(int(r.id), r.edo_file) for r in await conn.execute(_CLAIM_SENT, {"limit": limit})]


async def set_edo(
    conn: AsyncConnection,
    document_id: int,
    *,
    status: str,
    file: str | None,
    message: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        _SET_EDO,
        {"id": document_id, "status": status, "file": file, "message": message, "now": now},
    )


# -- payments (credit's PaymentAllocated) -------------------------------------------------------

_RECORD_ALLOCATION = text(
    """
    WITH target AS (
        SELECT id FROM documents WHERE number = :number AND partner_id = :partner_id FOR UPDATE
    ), allocation AS (
        INSERT INTO payment_allocations (message_id, payment_id, partner_id, document_number,
            amount, payment_date, applied, received_at)
        SELECT :message_id, :payment_id, :partner_id, :number, :amount, :payment_date,
            EXISTS (SELECT 1 FROM target), :now
        ON CONFLICT (message_id) DO NOTHING
        RETURNING amount, applied
    )
    UPDATE documents SET paid_amount = paid_amount + allocation.amount
    FROM allocation, target
    WHERE documents.id = target.id AND allocation.applied
    RETURNING documents.number, documents.amount, documents.paid_amount
    """
)


@dataclass(frozen=True)
class PaidDocument:
    number: str
    amount: Decimal
    paid_amount: Decimal


async def apply_allocation(
    conn: AsyncConnection,
    *,
    message_id: uuid.UUID,
    payment_id: uuid.UUID,
    partner_id: uuid.UUID,
    number: str,
    amount: Decimal,
    payment_date: date,
    now: datetime,
) -> PaidDocument | None:
    """Record the allocation (once per message id) and add it to the partner's document's
    ``paid_amount``; the document as it now stands, ``None`` when the partner has no such
    document (the allocation is kept, marked not applied) or the message was already recorded."""
    row = (
        await conn.execute(
            _RECORD_ALLOCATION,
            {
                "message_id": message_id,
                "payment_id": payment_id,
                "partner_id": partner_id,
                "number": number,
                "amount": amount,
                "payment_date": payment_date,
                "now": now,
            },
        )
    ).first()
    return PaidDocument(row.number, row.amount, row.paid_amount) if row else None


# -- EDO for ops --------------------------------------------------------------------------------


async def edo_documents(
    conn: AsyncConnection,
    *,
    edo_status: str | None,
    partner_id: uuid.UUID | None,
    date_from: date | None,
    date_to: date | None,
    number: str | None,
    limit: int,
) -> list[Any]:
    """Documents' EDO state, newest first; ``edo_status='unsent'`` = closed, not handed over."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if edo_status == "unsent":
        clauses.append("closed_at IS NOT NULL AND edo_status IS NULL")
    elif edo_status is not None:
        clauses.append("edo_status = :edo_status")
        params["edo_status"] = edo_status
    if partner_id is not None:
        clauses.append("partner_id = :partner_id")
        params["partner_id"] = partner_id
    if date_from is not None:
        clauses.append("date >= :date_from")
        params["date_from"] = date_from
    if date_to is not None:
        clauses.append("date <= :date_to")
        params["date_to"] = date_to
    if number is not None:
        clauses.append("number = :number")
        params["number"] = number
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        "SELECT number, partner_id, date, closed_at, edo_status, edo_file, edo_message, "
        "edo_updated_at, coalesce((SELECT official FROM partners p "
        "WHERE p.partner_id = documents.partner_id), false) AS official "
        f"FROM documents {where} ORDER BY date DESC, id DESC LIMIT :limit"
    )
    return list((await conn.execute(text(sql), params)).all())


_CLAIM_FOR_RESEND = text(
    "SELECT id, closed_at, edo_status FROM documents WHERE number = :number FOR UPDATE"
)
_CLEAR_EDO = text(
    "UPDATE documents SET edo_status = NULL, edo_message = NULL, edo_updated_at = :now "
    "WHERE id = :id"
)


async def document_for_resend(conn: AsyncConnection, number: str) -> Any | None:
    """The document's id, closing time and EDO status, locked; ``None`` if there is none."""
    return (await conn.execute(_CLAIM_FOR_RESEND, {"number": number})).first()


async def clear_edo(conn: AsyncConnection, document_id: int, now: datetime) -> None:
    """Forget the EDO status so the next pass sends the document again (same file name)."""
    await conn.execute(_CLEAR_EDO, {"id": document_id, "now": now})
