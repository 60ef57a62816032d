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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from esd_contracts.billing.finance import (
    SubscriptionCharged,
    subscription_charge_id,
    subscription_charged_id,
)
from esd_contracts.credit.commands import ChargeSubscription
from esd_contracts.envelope import Message
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_contracts.subscriptions.proration import last_day_of_month, month_charge
from esd_platform.logging import get_logger
from esd_platform.uow import Transaction, UnitOfWork

from billing.adapters import repository
from billing.adapters import subscriptions as db
from billing.adapters.repository import DocumentRef
from billing.adapters.subscriptions import ChargeRow, Due
from billing.domain.documents import day_bounds
from billing.domain.model import Line
from billing.domain.subscriptions import (
    day_states,
    due_months,
    last_complete_month,
    month_of,
    vat_rate_of,
)
from billing.domain.vat import line_vat
from billing.service_layer import finance
from billing.service_layer.handlers import DocumentRaced, _open_document

log = get_logger("esd.billing.subscriptions")

CHARGE_BATCH = 200
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
    how many charges were made. Safe to run in several processes at once, and again."""
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
            run = _Run(now)
            for subscription in due:
                await _charge(tx, subscription, upto, run)
            # the batch's charge rows and progress in two statements, not two per subscription
            if not await db.insert_charges(tx.conn, run.charges, now):
                raise AlreadyCharged("a charged month was charged again; rolled back")
            await db.set_charged_through(tx.conn, run.through, now)
            charged += run.count
        if len(due) < batch:
            break
    if charged:
        log.info("subscriptions_charged", charges=charged, through=upto.isoformat())
    return charged


class AlreadyCharged(RuntimeError):
    """A month's charge row exists though the subscription said it was not charged: never
    charge twice (the batch rolls back and the run fails loudly)."""


@dataclass
class _Run:
    """What one batch collects: charge rows, progress per subscription, documents opened."""

    now: datetime
    count: int = 0
    charges: list[ChargeRow] = field(default_factory=list)
    through: list[tuple[uuid.UUID, date]] = field(default_factory=list)
    documents: dict[tuple[uuid.UUID, date], DocumentRef] = field(default_factory=dict)


async def _charge(tx: Transaction, s: Due, upto: date, run: _Run) -> None:
    months = due_months(s.first_month, s.charged_through, s.ended_month, upto)
    for month in months:
        days = day_states(s.changes, month)
        amount = month_charge(days, month)
        last_day = last_day_of_month(month)
        vat = line_vat(vat_rate_of(s.changes, month), amount, last_day)
        charge = ChargeRow(
            charge_id=subscription_charge_id(s.subscription_id, month),
            subscription_id=s.subscription_id,
            month=month,
            partner_id=s.partner_id,
            external_id=s.external_id,
            sku=s.sku,
            seat_days=sum(d.seats for d in days.values()),
            amount=amount,
            vat_rate=vat.rate,
            vat_amount=vat.amount,
            document_number=None,
            document_date=last_day,
            charged_at=run.now,
        )
        if amount > 0:
            # the line first: its primary key (the charge id) refuses a second charge too
            charge, messages = await _put_on_document(tx, s, charge, run.documents)
            tx.publish(*messages)
            run.count += 1
        run.charges.append(charge)
    if months:
        run.through.append((s.subscription_id, months[-1]))


async def _put_on_document(
    tx: Transaction,
    s: Due,
    charge: ChargeRow,
    documents: dict[tuple[uuid.UUID, date], DocumentRef],
) -> tuple[ChargeRow, list[Message]]:
    """The charge as a line of the month's last day's document; its events and credit's debt.
    ``documents`` remembers, within the batch's transaction, the document each partner's
    charges of a day go on (a partner's many subscriptions open it once)."""
    now, month, last_day = charge.charged_at, charge.month, charge.document_date
    charge_id, amount = charge.charge_id, charge.amount
    name = f"{s.name}: подписка за {month:%m.%Y}"
    row = {
        "order_id": charge_id,
        "sku": s.sku,
        "name": name,
        "quantity": 1,
        "unit_price": amount,
        "amount": amount,
        "vat_rate": charge.vat_rate,
        "vat_amount": charge.vat_amount,
        "shipped_at": day_bounds(last_day)[1] - timedelta(seconds=1),
        "now": now,
    }
    key = (s.partner_id, last_day)
    document = documents.get(key)
    position = None
    for _ in range(2):  # a second pass only if the day closed between opening and adding
        if document is None:
            document = documents[key] = await _open_document(tx, s.partner_id, last_day, now)
        position = await repository.add_line(tx.conn, document.id, row)
        if position is not None:
            break
        document = None
    if document is None or position is None:
        raise DocumentRaced(str(charge_id))
    charge = replace(charge, document_number=document.number)
    line = Line(
        position=position,
        order_id=charge_id,
        sku=s.sku,
        name=name,
        quantity=1,
        unit_price=amount,
        amount=amount,
        vat_rate=charge.vat_rate,
        vat_amount=charge.vat_amount,
        created_at=now,
    )
    log.info(
        "subscription_charged",
        subscription_id=str(s.subscription_id),
        month=f"{month:%Y-%m}",
        amount=str(amount),
        document=document.number,
    )
    return charge, [
        finance.line_added(
            partner_id=s.partner_id, number=document.number, date=last_day, line=line
        ),
        charged_event(charge),
        ChargeSubscription(
            message_id=uuid.uuid5(charge_id, "ChargeSubscription"),
            correlation_id=s.subscription_id,
            occurred_at=now,
            charge_id=charge_id,
            subscription_id=s.subscription_id,
            partner_id=s.partner_id,
            amount=amount,
            document_number=document.number,
            document_date=last_day,
            due_date=document.due_date,
        ),
    ]


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
