"""Use cases of the billing service, one transaction each: record a shipment on the day's
document, keep partners' details and terms, answer document queries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from esd_contracts.billing.commands import RecordShipment
from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.billing.queries import Document, DocumentLine, Documents, GetDocuments
from esd_contracts.credit.events import CreditTermsSet
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.logging import get_logger
from esd_platform.uow import Transaction, UnitOfWork

from billing.adapters import repository
from billing.adapters.repository import DocumentRef
from billing.domain import documents as rules
from billing.domain.model import Line, Snapshot
from billing.domain.vat import line_vat
from billing.service_layer import finance

log = get_logger("esd.billing")


class DocumentRaced(RuntimeError):
    """A concurrent delivery of the same order recorded it first (or the day closed twice under
    us): transient, the retry answers from the recorded line."""


async def record_shipment(cmd: RecordShipment, uow: UnitOfWork) -> None:
    """Put the order's line on the partner's document of the shipment's Moscow day (creating
    and numbering the document on the day's first line) and answer ShipmentRecorded; announce
    the line on the finance feed. A repeated order adds nothing and answers again with the
    document it is on. A line whose day is already closed goes on a supplementary document of
    that same day (see services/billing/README.md)."""
    day = rules.document_day(cmd.shipped_at)
    vat = line_vat(cmd.vat_rate, cmd.amount, day)
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        now = uow.clock.now()
        existing, document = await repository.lookup(tx.driver, cmd.order_id, cmd.partner_id, day)
        if existing is not None:
            tx.publish(_recorded(cmd, existing.document, existing.amount, now))
            log.info(
                "shipment_already_recorded",
                order_id=str(cmd.order_id),
                document=existing.document.number,
            )
            return
        row = {
            "order_id": cmd.order_id,
            "sku": cmd.sku,
            "name": cmd.name,
            "quantity": cmd.quantity,
            "unit_price": cmd.unit_price,
            "amount": cmd.amount,
            "vat_rate": vat.rate,
            "vat_amount": vat.amount,
            "shipped_at": cmd.shipped_at,
            "now": now,
        }
        position = None
        for _ in range(2):  # a second pass only if the day closed between look-up and update
            if document is None:
                document = await _open_document(tx, cmd.partner_id, day, now)
            position = await repository.add_line(tx.driver, document.id, row)
            if position is not None:
                break
            document = None
        if document is None or position is None:
            raise DocumentRaced(str(cmd.order_id))
        line = Line(
            position=position,
            order_id=cmd.order_id,
            sku=cmd.sku,
            name=cmd.name,
            quantity=cmd.quantity,
            unit_price=cmd.unit_price,
            amount=cmd.amount,
            vat_rate=vat.rate,
            vat_amount=vat.amount,
            created_at=now,
        )
        tx.publish(
            _recorded(cmd, document, cmd.amount, now),
            finance.line_added(
                partner_id=cmd.partner_id, number=document.number, date=document.date, line=line
            ),
        )
    if vat.amount != cmd.vat_amount or vat.rate != cmd.vat_rate:
        log.warning(
            "vat_recomputed",
            order_id=str(cmd.order_id),
            priced_rate=cmd.vat_rate,
            priced_vat=str(cmd.vat_amount),
            rate=vat.rate,
            vat=str(vat.amount),
        )
    log.info("shipment_recorded", order_id=str(cmd.order_id), document=document.number)


async def _open_document(
    tx: Transaction, partner_id: uuid.UUID, day: date, now: datetime
) -> DocumentRef:
    """The partner's open document of ``day``, created and numbered if there is none.

    Creators of the same partner-day queue on an advisory lock and the second finds the first's
    document, so the yearly counter is advanced only for a document that is really inserted.
    If the day's document is already closed, the new one is its supplement.
    """
    await repository.lock_partner_day(tx.conn, partner_id, day)
    document = await repository.get_document(tx.conn, partner_id, day)
    if document is not None:
        return document
    supplement_to = await repository.closed_document_of(tx.conn, partner_id, day)
    term = rules.term_in_force(await repository.terms_history(tx.conn, partner_id), day)
    sequence = await repository.next_sequence(tx.conn, day.year)
    document = await repository.insert_document(
        tx.conn,
        number=rules.format_number(day.year, sequence),
        partner_id=partner_id,
        day=day,
        due=rules.due_date(day, term),
        now=now,
        supplement_to=supplement_to,
    )
    log.info(
        "document_opened",
        document=document.number,
        partner_id=str(partner_id),
        date=day.isoformat(),
        due_date=document.due_date.isoformat(),
        supplement_to=supplement_to,
    )
    return document


def _recorded(
    cmd: RecordShipment, document: DocumentRef, amount: Decimal, now: datetime
) -> ShipmentRecorded:
    return ShipmentRecorded(
        correlation_id=cmd.order_id,
        occurred_at=now,
        order_id=cmd.order_id,
        partner_id=cmd.partner_id,
        document_number=document.number,
        document_date=document.date,
        due_date=document.due_date,
        amount=amount,
    )


async def register_partner(event: PartnerRegistered, uow: UnitOfWork) -> None:
    """Keep the partner's details for its documents and its initial term as the first terms."""
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        await repository.upsert_partner(
            tx.conn,
            partner_id=event.partner_id,
            reseller_id=event.reseller_id,
            company_name=event.company_name,
            inn=event.inn,
            kpp=event.kpp,
            registered_at=event.occurred_at,
            official=event.official,
        )
        await _record_terms(
            tx, event.partner_id, event.occurred_at, event.term_days, event.message_id
        )
    log.info("partner_registered", partner_id=str(event.partner_id))


async def set_terms(event: CreditTermsSet, uow: UnitOfWork) -> None:
    """A new term in force from the event's day: record it in the history and move the due
    dates of the partner's documents it now governs (that day's and any later one)."""
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        await _record_terms(
            tx, event.partner_id, event.occurred_at, event.term_days, event.message_id
        )
    log.info("credit_terms_set", partner_id=str(event.partner_id), term_days=event.term_days)


async def _record_terms(
    tx: Transaction,
    partner_id: uuid.UUID,
    effective_from: datetime,
    term_days: int,
    message_id: uuid.UUID,
) -> None:
    effective_day = rules.document_day(effective_from)
    await repository.add_terms(
        tx.conn,
        partner_id=partner_id,
        effective_from=effective_from,
        effective_day=effective_day,
        term_days=term_days,
        source_message_id=message_id,
    )
    affected = await repository.documents_from(tx.conn, partner_id, effective_day)
    if not affected:
        return
    history = await repository.terms_history(tx.conn, partner_id)
    for row in affected:
        due = rules.due_date(row.date, rules.term_in_force(history, row.date))
        if due != row.due_date:
            await repository.set_due_date(tx.conn, row.id, due)


async def get_documents(query: GetDocuments, uow: UnitOfWork) -> Documents:
    """The partner's own documents by number or date range; another partner's are never seen."""
    today = uow.clock.today_moscow()
    async with uow.engine.connect() as conn:
        snapshots = await repository.load_documents(
            conn,
            partner_id=query.partner_id,
            number=query.number,
            date_from=query.date_from,
            date_to=query.date_to,
        )
    return Documents(documents=tuple(document_view(s, today) for s in snapshots))


def document_view(snapshot: Snapshot, today: date) -> Document:
    """The spec's document resource of a snapshot."""
    return Document(
        number=snapshot.number,
        date=snapshot.date,
        lines=tuple(
            DocumentLine(
                order_id=line.order_id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                vat_rate=line.vat_rate,
                vat_amount=line.vat_amount,
                vat_basis=line.vat_basis,
            )
            for line in snapshot.lines
        ),
        amount=snapshot.amount,
        vat_amount=snapshot.vat_amount,
        due_date=snapshot.due_date,
        paid_amount=snapshot.paid_amount,
        status=snapshot.status(today),
        vat_totals=tuple(finance.vat_total(t) for t in snapshot.vat_totals),
        closed=snapshot.closed,
        supplement_to=snapshot.supplement_to,
        edo_status=snapshot.edo_status,
    )
