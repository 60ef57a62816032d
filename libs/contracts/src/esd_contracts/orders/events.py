"""Events the orders saga publishes: an order's final outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Event, Money


class OrderCompleted(Event):
    """Keys issued, debt recorded, document line added. ``correlation_id`` = order id."""

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Ordering partner")
    amount: Money = Field(description="Amount charged (0.00 for test orders)")
    key_count: int = Field(description="Keys issued, one per unit")
    document_number: str | None = Field(default=None, description="Shipping document, if billed")
    completed_at: datetime = Field(description="When the order completed")
    sealed_keys: str | None = Field(
        default=None,
        description="The keys as KeysIssued carried them, sealed for the gateway; none when "
        "they were not (the gateway then asks the keys service)",
    )


class OrderRejected(Event):
    """Refused before any key existed; nothing charged."""

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Ordering partner")
    reason: str = Field(description="Stable error code, e.g. 'credit_limit_exceeded'")


class OrderFailed(Event):
    """The vendor could not deliver; credit released, nothing charged."""

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Ordering partner")
    reason: str = Field(description="Stable error code, e.g. 'vendor_unavailable'")


class OrderCancelled(Event):
    """Cancelled by the partner before keys were generated; credit released."""

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Ordering partner")


class CancellationRefused(Event):
    """A cancel came too late (key generation had started); the order goes on."""

    CONTEXT: ClassVar[str] = "orders"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Ordering partner")
    reason: str = Field(default="not_cancellable", description="Always 'not_cancellable'")
