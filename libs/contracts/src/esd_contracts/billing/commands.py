"""Commands the billing service accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Command, Money


class RecordShipment(Command):
    """Add a completed order's line to the partner's document of that calendar day (Moscow)."""

    CONTEXT: ClassVar[str] = "billing"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="The buyer")
    sku: str = Field(description="Product")
    name: str = Field(description="Product name")
    quantity: int = Field(description="Units")
    unit_price: Money = Field(description="Unit price")
    amount: Money = Field(description="Line amount, VAT included")
    vat_rate: str = Field(description="'exempt' or a percentage")
    vat_amount: Money = Field(description="VAT included in amount")
    shipped_at: datetime = Field(description="When the keys were issued; picks the day")
