"""Use cases of the credit service: one transaction each, inbox first, events through the outbox.

Business refusals are events (``CreditRefused``); only transient faults raise, so the platform
requeues with backoff.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.credit.commands import (
    ChargeSubscription,
    ReleaseCredit,
    ReserveCredit,
    SetCreditTerms,
)
from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
    CreditTermsSet,
)
from esd_contracts.credit.queries import Balance, GetBalance
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.clock import moscow_day
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from credit.adapters import repository
from credit.domain.ledger import derive
from credit.domain.model import (
    DEFAULT_LIMIT,
    DEFAULT_TERM_DAYS,
    ZERO,
    Figures,
    ReservationState,
    Terms,
    money,
    refusal_reason,
)
from credit.service_layer import feed
from credit.service_layer.receivables import consume_unallocated

log = get_logger("esd.credit")


async def reserve_credit(cmd: ReserveCredit, uow: UnitOfWork) -> None:
    """Hold the order's amount, or refuse it: unknown partner, overdue block, or the limit."""
    now = uow.clock.now()
    today = moscow_day(now)
    amount = money(cmd.amount)
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        held = await repository.reserve(
            tx.driver,
            order_id=cmd.order_id,
            partner_id=cmd.partner_id,
            amount=amount,
            now=now,
            today=today,
        )
        if held:
            tx.publish(_reserved(cmd, amount, now))
            return
        # Cold path: explain the refusal, or answer a second ReserveCredit for the same order.
        existing = await repository.get_reservation(tx.conn, cmd.order_id)
        if existing is not None:
            log.warning(
                "reservation_exists", order_id=str(cmd.order_id), state=existing.state.value
            )
            if existing.state is not ReservationState.RELEASED:
                tx.publish(_reserved(cmd, existing.amount, now))
            return
        state = await repository.line_state(tx.conn, cmd.partner_id, today)
        reason = refusal_reason(
            line_exists=state is not None, blocked=state is not None and state.blocked
        )
        tx.publish(
            CreditRefused(
                correlation_id=cmd.correlation_id,
                occurred_at=now,
                order_id=cmd.order_id,
                partner_id=cmd.partner_id,
                reason=reason.value,
            )
        )
        log.info(
            "credit_refused",
            order_id=str(cmd.order_id),
            reason=reason.value,
            amount=str(amount),
            available=None if state is None else str(state.available),
        )


def _reserved(cmd: ReserveCredit, amount: Decimal, now: datetime) -> CreditReserved:
    return CreditReserved(
        correlation_id=cmd.correlation_id,
        occurred_at=now,
        order_id=cmd.order_id,
        partner_id=cmd.partner_id,
        amount=amount,
    )


async def capture_credit(event: ShipmentRecorded, uow: UnitOfWork) -> None:
    """The order's line is on a document (billing's ``ShipmentRecorded``): turn its held
    reservation into debt on that document. A repeat or stray capture is a no-op that still
    answers, so the saga never waits forever."""
    now = uow.clock.now()
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        captured = await repository.capture(
            tx.driver,
            order_id=event.order_id,
            document_number=event.document_number,
            document_date=event.document_date,
            due_date=event.due_date,
            now=now,
        )
        if captured is not None:
            amount = captured.amount
            if captured.amount != money(event.amount):
                log.warning(
                    "capture_amount_differs",
                    order_id=str(event.order_id),
                    reserved=str(captured.amount),
                    billed=str(event.amount),
                )
            if captured.unallocated > 0:
                await feed.publish(tx, await consume_unallocated(tx.conn, captured.partner_id, now))
        else:
            existing = await repository.get_reservation(tx.conn, event.order_id)
            captured_before = existing is not None and existing.state is ReservationState.CAPTURED
            amount = existing.amount if existing is not None and captured_before else ZERO
            log.warning(
                "capture_without_held_reservation",
                order_id=str(event.order_id),
                state=None if existing is None else existing.state.value,
            )
        tx.publish(
            CreditCaptured(
                correlation_id=event.correlation_id,
                occurred_at=now,
                order_id=event.order_id,
                partner_id=event.partner_id,
                amount=amount,
                document_number=event.document_number,
            )
        )


async def release_credit(cmd: ReleaseCredit, uow: UnitOfWork) -> None:
    """Compensation: give the reservation back. Always answers, held or not."""
    now = uow.clock.now()
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        released = await repository.release(tx.conn, order_id=cmd.order_id, now=now)
        if released is None:
            log.info("release_without_held_reservation", order_id=str(cmd.order_id))
        tx.publish(
            CreditReleased(
                correlation_id=cmd.correlation_id,
                occurred_at=now,
                order_id=cmd.order_id,
                partner_id=cmd.partner_id,
            )
        )


async def register_partner(event: PartnerRegistered, uow: UnitOfWork) -> None:
    """Open the partner's credit line with the terms it was registered with."""
    now = uow.clock.now()
    terms = Terms(
        limit=money(event.credit_limit) if event.credit_limit is not None else DEFAULT_LIMIT,
        term_days=event.term_days if event.term_days is not None else DEFAULT_TERM_DAYS,
    )
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        created, in_force = await repository.register(
            tx.conn,
            partner_id=event.partner_id,
            inn=event.inn,
            kpp=event.kpp,
            company_name=event.company_name,
            terms=terms,
            now=now,
        )
        if created:
            tx.publish(_terms_set(event.partner_id, in_force, now))
            log.info("credit_line_opened", partner_id=str(event.partner_id))


async def set_credit_terms(cmd: SetCreditTerms, uow: UnitOfWork) -> None:
    """New limit and term (the term applies to documents made from now on); history is kept."""
    now = uow.clock.now()
    terms = Terms(limit=money(cmd.limit), term_days=cmd.term_days)
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        await repository.set_terms(
            tx.conn, partner_id=cmd.partner_id, terms=terms, source=cmd.set_by, now=now
        )
        tx.publish(_terms_set(cmd.partner_id, terms, now))
        log.info(
            "credit_terms_set",
            partner_id=str(cmd.partner_id),
            limit=str(terms.limit),
            term_days=terms.term_days,
            set_by=cmd.set_by,
        )


def _terms_set(partner_id: object, terms: Terms, now: datetime) -> CreditTermsSet:
    return CreditTermsSet(
        correlation_id=partner_id,
        occurred_at=now,
        partner_id=partner_id,
        limit=terms.limit,
        term_days=terms.term_days,
    )


async def get_balance(query: GetBalance, uow: UnitOfWork) -> Balance:
    """The spec's balance: from the running figures now, or folded from the ledger at ``at``."""
    if query.at is not None and query.at < uow.clock.now():
        return await _balance_at(query, uow)
    today = uow.clock.today_moscow()
    async with uow.engine.connect() as conn:
        row = await repository.balance(conn, query.partner_id, today)
    if row is None:
        return _not_found()
    figures = Figures(
        limit=row.credit_limit,
        debt=row.debt,
        reserved=row.reserved,
        overdue_amount=row.overdue_amount,
        unallocated=row.unallocated,
    )
    return _balance(figures, row.term_days, row.next_due_date)


async def _balance_at(query: GetBalance, uow: UnitOfWork) -> Balance:
    at = query.at
    assert at is not None
    async with uow.engine.connect() as conn:
        terms = await repository.terms_at(conn, query.partner_id, at)
        if terms is None:
            return _not_found()
        entries = await repository.entries_until(conn, query.partner_id, at)
    derived = derive(entries, limit=terms.limit, today=moscow_day(at))
    return _balance(derived.figures, terms.term_days, derived.next_due_date)


def _balance(figures: Figures, term_days: int, next_due_date: date | None) -> Balance:
    return Balance(
        found=True,
        limit=figures.limit,
        debt=figures.debt,
        reserved=figures.reserved,
        remainder=figures.remainder,
        available=figures.available,
        overdue_amount=figures.overdue_amount,
        blocked=figures.blocked,
        term_days=term_days,
        next_due_date=next_due_date,
    )


def _not_found() -> Balance:
    return Balance(
        found=False,
        limit=ZERO,
        debt=ZERO,
        reserved=ZERO,
        remainder=ZERO,
        available=ZERO,
        overdue_amount=ZERO,
        blocked=False,
        term_days=0,
        next_due_date=None,
    )


async def charge_subscription(cmd: ChargeSubscription, uow: UnitOfWork) -> None:
    """A subscription's month charged by billing becomes debt on its document, once per charge
    id (a redelivery or a second run adds nothing); waiting payment money pays it at once."""
    now = uow.clock.now()
    amount = money(cmd.amount)
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        unallocated = await repository.charge_subscription(
            tx.conn,
            charge_id=cmd.charge_id,
            subscription_id=cmd.subscription_id,
            partner_id=cmd.partner_id,
            amount=amount,
            document_number=cmd.document_number,
            document_date=cmd.document_date,
            due_date=cmd.due_date,
            now=now,
        )
        if unallocated is None:
            log.info("subscription_charge_already_booked", charge_id=str(cmd.charge_id))
            return
        if unallocated > 0:
            await feed.publish(tx, await consume_unallocated(tx.conn, cmd.partner_id, now))
    log.info(
        "subscription_charge_booked",
        charge_id=str(cmd.charge_id),
        partner_id=str(cmd.partner_id),
        amount=str(amount),
        document=cmd.document_number,
    )
