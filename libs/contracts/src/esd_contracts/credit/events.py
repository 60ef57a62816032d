"""Events the credit service publishes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Event, Money


class CreditReserved(Event):
    """The amount is held for the order."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order the reservation is for")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(description="Amount held")


class CreditRefused(Event):
    """A business refusal: the order must not go on. Never retried."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order refused")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    reason: str = Field(
        description="'credit_limit_exceeded', 'partner_blocked_overdue' or 'unknown_partner'"
    )


class CreditCaptured(Event):
    """The reservation became debt on the order's document: credit's answer to billing's
    ``ShipmentRecorded``, and the saga's last step."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order captured")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(description="Debt added")
    document_number: str | None = Field(
        default=None, description="The shipping document the debt is on (the order's line)"
    )


class CreditReleased(Event):
    """The reservation was given back (or there was none to give back)."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order released")
    partner_id: uuid.UUID = Field(description="Whose credit line")


class CreditTermsSet(Event):
    """A partner's credit terms in force from ``occurred_at``. ``correlation_id`` = partner id."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Whose credit line")
    limit: Money = Field(description="Credit limit, RUB")
    term_days: int = Field(description="Payment term, calendar days")


class PaymentReceived(Event):
    """A payment was matched to the partner and booked (once per payer, number and date).

    ``correlation_id`` = partner id; ``payment_id`` is stable for (payer_inn, number, date).
    """

    CONTEXT: ClassVar[str] = "credit"

    payment_id: uuid.UUID = Field(description="Stable id of the payment")
    partner_id: uuid.UUID = Field(description="Who paid")
    payer_inn: str = Field(description="Payer's ИНН")
    number: str = Field(description="Payment order number")
    date: dt.date = Field(description="Day the money reached the distributor's account")
    amount: Money = Field(description="Amount received")
    purpose: str = Field(default="", description="Назначение платежа")


class PaymentAllocated(Event):
    """Part of a payment paid (part of) a document. ``correlation_id`` = partner id."""

    CONTEXT: ClassVar[str] = "credit"

    payment_id: uuid.UUID = Field(description="The payment the money came from")
    partner_id: uuid.UUID = Field(description="Whose document")
    document_number: str = Field(description="The document paid, e.g. 'ESD-2026-000123'")
    amount: Money = Field(description="Amount applied to the document")
    payment_date: dt.date = Field(description="Day the money reached the distributor's account")
    document_paid: bool = Field(default=False, description="The document is now fully paid")


class PartnerBlocked(Event):
    """A document is unpaid after its due date: new non-test orders are refused.

    ``correlation_id`` = partner id.
    """

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Who is blocked")
    overdue_amount: Money = Field(description="Unpaid debt past its due date")
    oldest_due_date: dt.date = Field(description="Earliest due date among the overdue documents")


class PartnerUnblocked(Event):
    """The overdue documents are paid: the partner may order again. ``correlation_id`` = partner
    id."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Who is unblocked")
