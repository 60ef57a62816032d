"""Commands the orders service accepts."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from esd_contracts.catalog.events import KeySource
from esd_contracts.envelope import Command, Money


class PlaceOrder(Command):
    """The gateway accepted a partner's order: start its saga. ``correlation_id`` = order id.

    Price and VAT are fixed here, at acceptance, so a later price change never alters the order.
    """

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order id (also the correlation id)")
    partner_id: uuid.UUID = Field(description="Ordering partner")
    partner_live: bool = Field(description="Whether the partner has gone live (else test only)")
    external_id: str = Field(description="The partner's own order reference (idempotency key)")
    sku: str = Field(description="Ordered product")
    name: str = Field(description="Product name at acceptance")
    quantity: int = Field(ge=1, le=1000, description="Units, 1..1000")
    unit_price: Money = Field(description="Partner's unit price at acceptance")
    amount: Money = Field(description="unit_price × quantity")
    vat_rate: str = Field(description="'exempt' or a percentage")
    vat_amount: Money = Field(description="VAT included in amount")
    test: bool = Field(description="Test order: TEST- keys, no credit, no document")
    key_source: KeySource = Field(description="Which keys adapter issues the keys")
    fields: dict[str, str] = Field(default_factory=dict, description="Product's required fields")
    vendor: str = Field(
        default="",
        description="Product's vendor: for vendor_api products, whose API and breaker issue keys",
    )


class CancelOrder(Command):
    """The partner asks to cancel an order; honoured only before key generation started."""

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order to cancel")
    partner_id: uuid.UUID = Field(description="Partner asking (must own the order)")
