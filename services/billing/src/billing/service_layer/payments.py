"""Payments on documents: credit allocates the money, billing shows it on the document.

Credit owns payments and decides which document a payment pays (``PaymentAllocated``); billing
adds each allocation to the document's ``paid_amount``, from which the document's status
(open/paid/overdue, on the billing clock) follows. One effect per allocation: the inbox drops a
redelivered message, and the allocation row's primary key (the message id) is written in the
same statement as the update, so even a message replayed past the inbox adds nothing.
"""

from __future__ import annotations

from esd_contracts.credit.events import PaymentAllocated
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from billing.adapters import repository

log = get_logger("esd.billing.payments")


async def apply_payment(event: PaymentAllocated, uow: UnitOfWork) -> None:
    """Add the allocated amount to the partner's document's ``paid_amount`` (once)."""
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        document = await repository.apply_allocation(
            tx.conn,
            message_id=event.message_id,
            payment_id=event.payment_id,
            partner_id=event.partner_id,
            number=event.document_number,
            amount=event.amount,
            payment_date=event.payment_date,
            now=uow.clock.now(),
        )
    if document is None:
        # kept in payment_allocations with applied = false, for ops to see
        log.warning(
            "payment_allocation_not_applied",
            document=event.document_number,
            partner_id=str(event.partner_id),
            payment_id=str(event.payment_id),
            amount=str(event.amount),
        )
        return
    log.info(
        "payment_allocated",
        document=document.number,
        amount=str(event.amount),
        paid_amount=str(document.paid_amount),
        paid=document.paid_amount >= document.amount,
    )
