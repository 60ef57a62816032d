"""Commands the keys service accepts."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from esd_contracts.catalog.events import KeySource
from esd_contracts.envelope import Command


class IssueKeys(Command):
    """Issue ``quantity`` keys for an order, all or nothing. ``correlation_id`` = order id."""

    CONTEXT: ClassVar[str] = "keys"

    order_id: uuid.UUID = Field(description="Order the keys are for")
    partner_id: uuid.UUID = Field(description="Owner of the keys")
    sku: str = Field(description="Product")
    quantity: int = Field(ge=1, le=1000, description="Keys to issue, one per unit")
    test: bool = Field(description="Test order: TEST- keys from no pool and no vendor")
    key_source: KeySource = Field(description="Adapter to use")
    fields: dict[str, str] = Field(default_factory=dict, description="Order's required fields")
    vendor: str = Field(
        default="", description="Product's vendor (vendor_api source: which vendor API, breaker)"
    )
