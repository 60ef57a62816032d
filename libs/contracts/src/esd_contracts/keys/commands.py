"""Commands the keys service accepts."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.catalog.events import KeySource
from esd_contracts.envelope import Command, MessageKind, Query


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


class LoadKeyPool(Query):
    """Ops loads keys into a sku's pool; the caller waits for the report (request/reply).

    A command in meaning (``keys.commands``), sent with ``broker.request`` like
    ``catalog.ImportPriceList``. Idempotent in effect: a key already in any pool or already
    issued is refused as a duplicate, so sending the same file twice loads it once.
    ``correlation_id`` is a fresh id per load.
    """

    CONTEXT: ClassVar[str] = "keys"
    KIND: ClassVar[MessageKind] = "command"

    sku: str = Field(min_length=1, description="The product whose pool receives the keys")
    keys: tuple[str, ...] = Field(
        description="Keys, one per item (the gateway splits a text file into lines)"
    )
    low_threshold: int | None = Field(
        default=None,
        ge=0,
        description="StockLow fires when free keys fall under this; omitted keeps the current "
        "threshold (the service default for a new pool), 0 disables it",
    )


class RefusedPoolKey(BaseModel):
    """A submitted key that was not loaded (the key itself is not echoed back)."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(description="1-based position of the key in the submitted list")
    reason: Literal["empty", "duplicate_in_request", "already_loaded", "already_issued"] = Field(
        description="Why it was refused"
    )


class PoolLoaded(BaseModel):
    """Answer to :class:`LoadKeyPool`."""

    model_config = ConfigDict(frozen=True)

    sku: str = Field(description="The pool")
    submitted: int = Field(description="Keys in the request")
    loaded: int = Field(description="Keys added to the pool")
    refused: tuple[RefusedPoolKey, ...] = Field(default=(), description="Keys not loaded, why")
    available: int = Field(description="Free keys in the pool after the load")
    low_threshold: int = Field(description="The pool's StockLow threshold now")
