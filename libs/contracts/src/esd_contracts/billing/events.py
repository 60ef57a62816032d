"""Events the billing service publishes."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Event, Money


class ShipmentRecorded(Event):
    """The order's line is on a document. ``correlation_id`` = order id."""

    CONTEXT: ClassVar[str] = "billing"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="The buyer")
    document_number: str = Field(description="e.g. 'ESD-2026-000123'")
    document_date: date = Field(description="Calendar day of the document (Moscow)")
    due_date: date = Field(description="document_date + the partner's term")
    amount: Money = Field(description="Line amount")
