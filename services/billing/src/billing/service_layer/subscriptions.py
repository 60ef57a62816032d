"""Subscriptions in billing: keep the lifecycle's events, charge each complete month once.

**Projection.** Every ``SubscriptionChanged`` is kept (once per subscription and sequence); a day
is billed for the state of the highest sequence effective on or before it.

**Month end.** When a month's last day is over (the day closing's cutoff, so changes still in
flight at midnight count), each non-test subscription is charged
``proration.month_charge`` for it: a line on the partner's document of the month's last day
(a supplementary document of that date if the day is already closed), ``DocumentLineAdded``
and ``SubscriptionCharged`` on the finance feed, and ``ChargeSubscription`` to credit, which
makes it debt. Exactly once: subscriptions are claimed with ``FOR UPDATE SKIP LOCKED``, the
charge row is unique per subscription and month, and the charge, the line, ``charged_through``
and the outbox rows commit together; a run that dies mid-way rolled its batch back, so the next
run (any process) takes it again. A month charging nothing (suspended, cancelled) records a
zero charge and emits nothing.

**Late changes.** A change effective in a month already charged is kept and flagged
``after_charge``: that month's charge stands (its line is on a closed document that went to
EDO), the change counts from the first uncharged month on, and ops see it in the log
(``subscription_change_after_charge``) and in ``subscription_changes.after_charge``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from esd_contracts.billing.finance import (
    SubscriptionCharged,
    subscription_charge_id,
    subscription_charged_id,
)
from esd_contracts.credit.commands import ChargeSubscription
from esd_contracts.envelope import Message
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_contracts.subscriptions.proration import last_day_of_month
from esd_platform.logging import get_logger
from esd_platform.uow import Transaction, UnitOfWork

from billing.adapters import repository
from billing.adapters import subscriptions as db
from billing.adapters.repository import DocumentRef, LineExists
from billing.adapters.subscriptions import ChargeRow, Due
from billing.domain.documents import day_bounds
from billing.domain.model import Line
from billing.domain.subscriptions import (
    due_months,
    last_complete_month,
    month_of,
    month_total,
    vat_rate_of,
)
from billing.domain.vat import line_vat
from billing.service_layer import finance
from billing.service_layer.handlers import DocumentRaced, _open_document

log = get_logger("esd.billing.subscriptions")

CHARGE_BATCH = 1000
"""Subscriptions charged per transaction."""


async def record_change(event: SubscriptionChanged, uow: UnitOfWork) -> None:
    """Keep a confirmed change in the projection (a redelivery keeps nothing twice)."""
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        row = {
            "subscription_id": event.subscription_id,
            "partner_id": event.partner_id,
            "external_id": event.external_id,
            "sku": event.sku,
            "name": event.name or event.sku,
            "test": event.test,
            "sequence": event.sequence,
            "message_id": event.message_id,
            "change": event.change,
            "status": event.status,
            "quantity": event.quantity,
            "seats": event.seats,
            "monthly_price": event.monthly_price,
            "vat_rate": event.vat_rate,
            "effective_date": event.effective_date,
            "now": uow.clock.now(),
        }
        inserted, charged_through = await db.record_change(
            tx.conn, row, month_of(event.effective_date)
        )
    if not inserted:
        log.info(
            "subscription_change_repeated",
            subscription_id=str(event.subscription_id),
            sequence=event.sequence,
        )
    elif charged_through is not None and month_of(event.effective_date) <= charged_through:
        log.warning(
            "subscription_change_after_charge",
            subscription_id=str(event.subscription_id),
            sequence=event.sequence,
            effective_date=event.effective_date.isoformat(),
            charged_through=charged_through.isoformat(),
        )


async def charge_months(uow: UnitOfWork, cutoff: date, batch: int = CHARGE_BATCH) -> int:
    """Charge every complete month (all of its days before ``cutoff``) not charged yet; returns
    how many charges were made. Safe to run in several processes at once, and again.

    Set-based per batch: the batch's subscriptions and their changes are read in two
    statements, every month's charge is computed in one Python pass (``month_charge``, one
    rounding per subscription and month), each partner-day's document is opened once, then the
    lines (with the documents' totals), the charge rows, the progress and the outbox rows are
    written in one statement each."""
    upto = last_complete_month(cutoff)
    charged = 0
    while True:
        async with uow.transaction() as tx:
            # One batch at a time across processes: a batch opens documents, and each holds
            # the yearly counter row until commit, so two batches meeting at one partner's
            # document would deadlock (counter vs partner-day lock). They would queue on the
            # counter anyway; this queues them before they take anything.
            await db.lock_month_end(tx.conn)
            due = await db.claim_due(tx.conn, upto, batch)
            if not due:
                break
            now = uow.clock.now()
            charges, through = _compute(due, upto, now)
            billed = await _put_on_documents(tx, due, charges, now)
            if not await db.insert_charges(tx.conn, billed, now):
                raise AlreadyCharged("a charged month was charged again; rolled back")
            await db.set_charged_through(tx.conn, through, now)
            count = sum(1 for c in billed if c.amount > 0)
            charged += count
        if len(due) < batch:
            break
    if charged:
        log.info("subscriptions_charged", charges=charged, through=upto.isoformat())
    return charged


class AlreadyCharged(RuntimeError):
    """A month's charge row exists though the subscription said it was not charged: never
    charge twice (the batch rolls back and the run fails loudly)."""


def _compute(
    due: list[Due], upto: date, now: datetime
) -> tuple[list[ChargeRow], list[tuple[uuid.UUID, date]]]:
    """Every due month's charge of the batch (documents not known yet), and each
    subscription's new ``charged_through``: pure, one pass."""
    charges: list[ChargeRow] = []
    through: list[tuple[uuid.UUID, date]] = []
    for s in due:
        months = due_months(s.first_month, s.charged_through, s.ended_month, upto)
        for month in months:
            total = month_total(s.changes, month)
            amount = total.amount
            last_day = last_day_of_month(month)
            vat = line_vat(vat_rate_of(s.changes, month), amount, last_day)
            charges.append(
                ChargeRow(
                    charge_id=subscription_charge_id(s.subscription_id, month),
                    subscription_id=s.subscription_id,
                    month=month,
                    partner_id=s.partner_id,
                    external_id=s.external_id,
                    sku=s.sku,
                    seat_days=total.seat_days,
                    amount=amount,
                    vat_rate=vat.rate,
                    vat_amount=vat.amount,
                    document_number=None,
                    document_date=last_day,
                    charged_at=now,
                )
            )
        if months:
            through.append((s.subscription_id, months[-1]))
    return charges, through


def _line_name(s: Due, month: date) -> str:
    return f"{s.name}: подписка за {month:%m.%Y}"


def _shipped_at(last_day: date) -> datetime:
    return day_bounds(last_day)[1] - timedelta(seconds=1)


async def _put_on_documents(
    tx: Transaction, due: list[Due], charges: list[ChargeRow], now: datetime
) -> list[ChargeRow]:
    """Every non-zero charge as a line of its month's last day's document (each partner-day's
    document opened once, all lines in one statement), its events and credit's debt staged;
    returns the charges with their document numbers (zero charges as they were)."""
    subs = {s.subscription_id: s for s in due}
    billable = [c for c in charges if c.amount > 0]
    documents: dict[tuple[uuid.UUID, date], DocumentRef] = {}
    # sorted: the partner-day locks are taken in one order by every batch
    for key in sorted({(c.partner_id, c.document_date) for c in billable}):
        documents[key] = await _open_document(tx, key[0], key[1], now)
    positions = await db.add_lines(
        tx.conn,
        [
            db.NewLine(
                document_id=documents[(c.partner_id, c.document_date)].id,
                order_id=c.charge_id,
                sku=c.sku,
                name=_line_name(subs[c.subscription_id], c.month),
                amount=c.amount,
                vat_rate=c.vat_rate,
                vat_amount=c.vat_amount,
                shipped_at=_shipped_at(c.document_date),
            )
            for c in billable
        ],
        now,
    )
    missing = [c.charge_id for c in billable if c.charge_id not in positions]
    if missing:
        # already a line: the documents' totals were raised for it, so roll the batch back
        exists = await db.existing_lines(tx.conn, missing)
        if exists:
            raise LineExists(str(exists[0]))
        # the rest: their document closed between opening and adding (a day closing ran):
        # one at a time onto the supplement, as a single charge would be
        for key in {(c.partner_id, c.document_date) for c in billable if c.charge_id in missing}:
            documents.pop(key, None)
    result: list[ChargeRow] = []
    messages: list[Message] = []
    by_document: dict[str, list[Decimal]] = {}
    for charge in charges:
        if charge.amount <= 0:
            result.append(charge)
            continue
        s = subs[charge.subscription_id]
        position = positions.get(charge.charge_id)
        if position is None:
            charge, staged = await _put_on_document(tx, s, charge, documents)
            messages.extend(staged)
        else:
            document = documents[(charge.partner_id, charge.document_date)]
            charge = replace(charge, document_number=document.number)
            messages.extend(_messages(s, charge, document, position))
        result.append(charge)
        by_document.setdefault(charge.document_number or "", []).append(charge.amount)
    tx.publish(*messages)
    for number, amounts in by_document.items():
        log.info(
            "subscriptions_charged_on_document",
            document=number,
            charges=len(amounts),
            amount=str(sum(amounts, Decimal(0))),
        )
    return result


def _messages(s: Due, charge: ChargeRow, document: DocumentRef, position: int) -> list[Message]:
    """The line's ``DocumentLineAdded``, ``SubscriptionCharged`` and credit's
    ``ChargeSubscription`` for a charge on ``document`` at ``position``."""
    charge_id, amount, last_day = charge.charge_id, charge.amount, charge.document_date
    line = Line(
        position=position,
        order_id=charge_id,
        sku=s.sku,
        name=_line_name(s, charge.month),
        quantity=1,
        unit_price=amount,
        amount=amount,
        vat_rate=charge.vat_rate,
        vat_amount=charge.vat_amount,
        created_at=charge.charged_at,
    )
    return [
        finance.line_added(
            partner_id=s.partner_id, number=document.number, date=last_day, line=line
        ),
        charged_event(charge),
        ChargeSubscription(
            message_id=uuid.uuid5(charge_id, "ChargeSubscription"),
            correlation_id=s.subscription_id,
            occurred_at=charge.charged_at,
            charge_id=charge_id,
            subscription_id=s.subscription_id,
            partner_id=s.partner_id,
            amount=amount,
            document_number=document.number,
            document_date=last_day,
            due_date=document.due_date,
        ),
    ]


async def _put_on_document(
    tx: Transaction,
    s: Due,
    charge: ChargeRow,
    documents: dict[tuple[uuid.UUID, date], DocumentRef],
) -> tuple[ChargeRow, list[Message]]:
    """One charge as a line of the month's last day's document (the rare path: its document
    closed while the batch ran, so it goes on the day's supplement)."""
    now, last_day = charge.charged_at, charge.document_date
    row = {
        "order_id": charge.charge_id,
        "sku": s.sku,
        "name": _line_name(s, charge.month),
        "quantity": 1,
        "unit_price": charge.amount,
        "amount": charge.amount,
        "vat_rate": charge.vat_rate,
        "vat_amount": charge.vat_amount,
        "shipped_at": _shipped_at(last_day),
        "now": now,
    }
    key = (s.partner_id, last_day)
    document = documents.get(key)
    position = None
    for _ in range(2):  # a second pass only if the day closed between opening and adding
        if document is None:
            document = documents[key] = await _open_document(tx, s.partner_id, last_day, now)
        position = await repository.add_line(tx.driver, document.id, row)
        if position is not None:
            break
        document = None
    if document is None or position is None:
        raise DocumentRaced(str(charge.charge_id))
    charge = replace(charge, document_number=document.number)
    return charge, _messages(s, charge, document, position)


def charged_event(charge: ChargeRow) -> SubscriptionCharged:
    """The same event on first emission and on replay (id and body from the charge row)."""
    if charge.document_number is None:
        raise ValueError(f"charge {charge.charge_id} is on no document (a zero charge)")
    return SubscriptionCharged(
        message_id=subscription_charged_id(charge.subscription_id, charge.month),
        correlation_id=charge.subscription_id,
        occurred_at=charge.charged_at,
        charge_id=charge.charge_id,
        subscription_id=charge.subscription_id,
        partner_id=charge.partner_id,
        external_id=charge.external_id,
        sku=charge.sku,
        month=charge.month,
        seat_days=charge.seat_days,
        document_number=charge.document_number,
        document_date=charge.document_date,
        amount=charge.amount,
        vat_rate=charge.vat_rate,
        vat_amount=charge.vat_amount,
    )
