"""Commands the credit service accepts. ``correlation_id`` = order id where there is one."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Command, Money


class ReserveCredit(Command):
    """Hold ``amount`` of the partner's available credit for an order in flight."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order the reservation is for")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(description="Amount to hold, RUB")


class CaptureCredit(Command):
    """Turn an order's reservation into debt on a shipping document."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order whose reservation is captured")
    partner_id: uuid.UUID = Field(description="Whose credit line")
    amount: Money = Field(description="Amount to capture (the reservation's amount)")
    document_number: str = Field(description="Shipping document the debt belongs to")
    document_date: date = Field(description="The document's calendar day (Europe/Moscow)")
    due_date: date = Field(description="When the document must be paid")


class ReleaseCredit(Command):
    """Compensation: give an order's reservation back (vendor failed, order cancelled)."""

    CONTEXT: ClassVar[str] = "credit"

    order_id: uuid.UUID = Field(description="Order whose reservation is released")
    partner_id: uuid.UUID = Field(description="Whose credit line")


class SetCreditTerms(Command):
    """Ops or a distributor set a partner's limit and payment term (applies to new documents)."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Whose credit line")
    limit: Money = Field(description="New credit limit, RUB")
    term_days: int = Field(ge=0, le=365, description="Payment term, calendar days")
