"""Events the keys service publishes. They never carry a key itself."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Event


class KeysIssued(Event):
    """All keys of the order exist and are stored encrypted."""

    CONTEXT: ClassVar[str] = "keys"

    order_id: uuid.UUID = Field(description="Order the keys are for")
    partner_id: uuid.UUID = Field(description="Owner")
    key_ids: tuple[uuid.UUID, ...] = Field(description="Ids of the issued keys, one per unit")
    sealed_keys: str | None = Field(
        default=None,
        description="The keys (id and activation code), sealed for the gateway "
        "(esd_platform.delivery); none from a repeated request",
    )


class KeysFailed(Event):
    """No key was issued; the order cannot be delivered."""

    CONTEXT: ClassVar[str] = "keys"

    order_id: uuid.UUID = Field(description="Order that failed")
    partner_id: uuid.UUID = Field(description="Owner")
    reason: str = Field(description="'vendor_unavailable' or 'out_of_stock'")


class StockLow(Event):
    """A sku's pool fell under its threshold; once per crossing (a reload above re-arms it).

    ``correlation_id`` is the order whose claim crossed the threshold (or the load's id).
    """

    CONTEXT: ClassVar[str] = "keys"

    sku: str = Field(description="The product whose pool is low")
    available: int = Field(description="Free keys left")
    low_threshold: int = Field(description="The threshold it fell under")
