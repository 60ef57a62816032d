"""Events the credit service publishes."""

from __future__ import annotations

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
    """The reservation became debt on a document."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order captured")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(description="Debt added")


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
