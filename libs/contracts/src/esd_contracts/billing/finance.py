"""The finance feed: events for downstream ledgers on ``finance.events`` (billing publishes the
documents' and subscriptions' events, credit the receivables' copies).

Every event's ``message_id`` is derived from the business fact (the order's line, the closed
document), never random: the first emission and any replay carry the same id, so a ledger
dedupes by ``message_id`` alone. ``occurred_at`` is the fact's own time, equally stable.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date
from typing import ClassVar

from pydantic import ConfigDict, Field

from esd_contracts.billing.queries import VatTotal
from esd_contracts.envelope import Event, Money

FINANCE_NAMESPACE = uuid.UUID("6f1d3c3e-0b7e-5b8e-9a51-8f3f0c2f6e11")
"""uuid5 namespace of finance event ids."""


def line_added_id(order_id: uuid.UUID) -> uuid.UUID:
    """The stable id of the DocumentLineAdded of an order's line."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"DocumentLineAdded:{order_id}")


def document_closed_id(number: str) -> uuid.UUID:
    """The stable id of the DocumentClosed of a document."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"DocumentClosed:{number}")


class DocumentLineAdded(Event):
    """A line was added to a shipping document: the partner owes ``amount`` more.

    ``correlation_id`` = order id; ``message_id`` = :func:`line_added_id` of the order.
    """

    CONTEXT: ClassVar[str] = "finance"

    partner_id: uuid.UUID = Field(description="The buyer")
    document_number: str = Field(description="e.g. 'ESD-2026-000123'")
    document_date: date = Field(description="Calendar day of the document (Moscow)")
    position: int = Field(description="Line number on the document, from 1")
    order_id: uuid.UUID = Field(description="The order")
    sku: str = Field(description="Product")
    quantity: int = Field(description="Units")
    amount: Money = Field(description="Line amount, VAT included")
    vat_rate: str = Field(description="'exempt' or a percentage")
    vat_amount: Money = Field(description="VAT included in amount")


class DocumentClosed(Event):
    """A document's day is over: its lines and totals are final.

    ``correlation_id`` = partner id; ``message_id`` = :func:`document_closed_id` of the number.
    """

    CONTEXT: ClassVar[str] = "finance"

    partner_id: uuid.UUID = Field(description="The buyer")
    document_number: str = Field(description="e.g. 'ESD-2026-000123'")
    document_date: date = Field(description="Calendar day of the document (Moscow)")
    due_date: date = Field(description="Payment due date")
    line_count: int = Field(description="Lines on the document")
    amount: Money = Field(description="Document total, VAT included (sum of the lines)")
    vat_amount: Money = Field(description="Sum of the lines' VAT")
    vat_totals: tuple[VatTotal, ...] = Field(default=(), description="Totals per VAT rate")
    supplement_to: str | None = Field(
        default=None, description="The closed document of the same day this one supplements"
    )


# -- subscriptions: the month-end charge (billing publishes) -----------------------------------


def subscription_charge_id(subscription_id: uuid.UUID, month: date) -> uuid.UUID:
    """The id of a subscription's charge for ``month``'s month: the document line's ``order_id``,
    credit's idempotency key of the debt, the same on every run and replay."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"SubscriptionCharge:{subscription_id}:{month:%Y-%m}")


def subscription_charged_id(subscription_id: uuid.UUID, month: date) -> uuid.UUID:
    """The stable ``message_id`` of the SubscriptionCharged of a subscription's month."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"SubscriptionCharged:{subscription_id}:{month:%Y-%m}")


class SubscriptionCharged(Event):
    """A subscription's calendar month was charged on the month's last day (Moscow).

    The charge is also a line of that day's document (its ``DocumentLineAdded``, ``order_id`` =
    ``charge_id``), so a ledger that posts lines must not post this event again: it tells which
    subscription and month a line is. ``correlation_id`` = subscription id; ``message_id`` =
    :func:`subscription_charged_id`.
    """

    CONTEXT: ClassVar[str] = "finance"

    charge_id: uuid.UUID = Field(description="The charge (= the document line's order_id)")
    subscription_id: uuid.UUID = Field(description="The subscription")
    partner_id: uuid.UUID = Field(description="The buyer")
    external_id: str = Field(default="", description="The partner's reference of it")
    sku: str = Field(description="The subscription product")
    month: date = Field(description="First day of the charged month")
    seat_days: int = Field(description="Seats summed over the month's days")
    document_number: str = Field(description="The document the charge is on")
    document_date: date = Field(description="The month's last day (Moscow)")
    amount: Money = Field(description="Charge, VAT included, rounded once to the kopeck")
    vat_rate: str = Field(description="'exempt' or a percentage")
    vat_amount: Money = Field(description="VAT included in amount")


# -- receivables on the finance feed (credit publishes copies of its own events) ---------------
#
# Credit's PaymentReceived, PaymentAllocated, PartnerBlocked and PartnerUnblocked go to its own
# consumers on ``credit.events``; for finance, credit publishes a copy of each on
# ``finance.events`` in the same transaction, with ``message_id`` = :func:`finance_copy_id` of
# the credit event and journals it, so the ops replay sends it again with the same id.


def finance_copy_id(kind: str, source_message_id: uuid.UUID) -> uuid.UUID:
    """The stable id of the finance copy of credit's event ``source_message_id``."""
    return uuid.uuid5(FINANCE_NAMESPACE, f"{kind}:{source_message_id}")


class PaymentReceived(Event):
    """A payment was matched to the partner and booked (once per payer, number and date).

    ``correlation_id`` = partner id. Finance copy of ``credit.PaymentReceived``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", title="FinancePaymentReceived")
    CONTEXT: ClassVar[str] = "finance"

    source_message_id: uuid.UUID = Field(description="The credit event this copies")
    payment_id: uuid.UUID = Field(description="Stable id of the payment")
    partner_id: uuid.UUID = Field(description="Who paid")
    payer_inn: str = Field(description="Payer's ИНН")
    number: str = Field(description="Payment order number")
    date: dt.date = Field(description="Day the money reached the distributor's account")
    amount: Money = Field(description="Amount received")
    purpose: str = Field(default="", description="Назначение платежа")


class PaymentAllocated(Event):
    """Part of a payment paid (part of) a document. ``correlation_id`` = partner id.

    Finance copy of ``credit.PaymentAllocated``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", title="FinancePaymentAllocated")
    CONTEXT: ClassVar[str] = "finance"

    source_message_id: uuid.UUID = Field(description="The credit event this copies")
    payment_id: uuid.UUID = Field(description="The payment the money came from")
    partner_id: uuid.UUID = Field(description="Whose document")
    document_number: str = Field(description="The document paid")
    amount: Money = Field(description="Amount applied to the document")
    payment_date: dt.date = Field(description="Day the money reached the distributor's account")
    document_paid: bool = Field(default=False, description="The document is now fully paid")


class PartnerBlocked(Event):
    """A document is unpaid after its due date: new non-test orders are refused.

    ``correlation_id`` = partner id. Finance copy of ``credit.PartnerBlocked``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", title="FinancePartnerBlocked")
    CONTEXT: ClassVar[str] = "finance"

    source_message_id: uuid.UUID = Field(description="The credit event this copies")
    partner_id: uuid.UUID = Field(description="Who is blocked")
    overdue_amount: Money = Field(description="Unpaid debt past its due date")
    oldest_due_date: dt.date = Field(description="Earliest due date among the overdue documents")


class PartnerUnblocked(Event):
    """The overdue documents are paid: the partner may order again. ``correlation_id`` = partner
    id. Finance copy of ``credit.PartnerUnblocked``."""

    model_config = ConfigDict(frozen=True, extra="ignore", title="FinancePartnerUnblocked")
    CONTEXT: ClassVar[str] = "finance"

    source_message_id: uuid.UUID = Field(description="The credit event this copies")
    partner_id: uuid.UUID = Field(description="Who is unblocked")


RECEIVABLES_FEED: tuple[type[Event], ...] = (
    PaymentReceived,
    PaymentAllocated,
    PartnerBlocked,
    PartnerUnblocked,
)
"""The finance copies credit publishes, by class name of the credit event they copy."""
