"""Read-only queries the credit service answers over direct reply-to."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Money, Query


class GetBalance(Query):
    """The partner's balance now, or at a past moment ``at``."""

    CONTEXT: ClassVar[str] = "credit"

    partner_id: uuid.UUID = Field(description="Whose balance")
    at: datetime | None = Field(default=None, description="Past moment; now when omitted")


class Balance(BaseModel):
    """Answer to :class:`GetBalance`; the spec's balance resource."""

    model_config = ConfigDict(frozen=True)

    found: bool = Field(description="False when the partner has no credit line")
    currency: str = Field(default="RUB", description="Always RUB")
    limit: Money = Field(description="Credit limit")
    debt: Money = Field(description="Captured, unpaid debt")
    reserved: Money = Field(description="Held for orders in flight")
    remainder: Money = Field(description="limit − debt")
    available: Money = Field(description="remainder − reserved")
    overdue_amount: Money = Field(description="Unpaid debt past its due date")
    blocked: bool = Field(description="Overdue debt blocks new non-test orders")
    term_days: int = Field(description="Payment term, calendar days")
    next_due_date: date | None = Field(description="Earliest due date of unpaid debt")
