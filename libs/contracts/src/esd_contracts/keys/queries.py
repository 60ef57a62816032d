"""Queries the keys service answers: the only way a plain key leaves it, to its owner."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Query


class GetOrderKeys(Query):
    """The plain keys of one order, for its owner only."""

    CONTEXT: ClassVar[str] = "keys"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Must own the order, else nothing comes back")


class IssuedKey(BaseModel):
    """One key as its owner sees it."""

    model_config = ConfigDict(frozen=True)

    key_id: uuid.UUID = Field(description="Key id (the gateway signs download links with it)")
    activation_code: str = Field(description="The activation code")


class OrderKeys(BaseModel):
    """Answer to :class:`GetOrderKeys`."""

    model_config = ConfigDict(frozen=True)

    keys: tuple[IssuedKey, ...] = Field(description="Keys in issue order; empty if none/not owner")


class GetKeyStock(Query):
    """Ops: free and claimed keys per sku pool (all pools, or one)."""

    CONTEXT: ClassVar[str] = "keys"

    sku: str | None = Field(default=None, description="One pool only; all pools when omitted")


class SkuStock(BaseModel):
    """One pool's levels."""

    model_config = ConfigDict(frozen=True)

    sku: str = Field(description="The product")
    available: int = Field(description="Free keys")
    issued: int = Field(description="Keys claimed by orders")
    low_threshold: int = Field(description="StockLow threshold (0: off)")
    low: bool = Field(description="available is under the threshold")


class KeyStock(BaseModel):
    """Answer to :class:`GetKeyStock`."""

    model_config = ConfigDict(frozen=True)

    items: tuple[SkuStock, ...] = Field(description="Pools by sku")


class GetVendorHealth(Query):
    """Ops: each vendor API's circuit state and recent error rate, as the keys workers see it."""

    CONTEXT: ClassVar[str] = "keys"


class VendorWorkerHealth(BaseModel):
    """One worker's view of one vendor (each worker has its own circuit breaker)."""

    model_config = ConfigDict(frozen=True)

    worker: str = Field(description="Worker id (host:pid)")
    circuit: Literal["closed", "open", "half_open"] = Field(description="Breaker state")
    calls: int = Field(description="Calls in the recent window")
    failures: int = Field(description="Failed calls in the recent window")
    updated_at: datetime = Field(description="When this worker last reported")


class VendorHealthItem(BaseModel):
    """A vendor's health over all workers that reported recently."""

    model_config = ConfigDict(frozen=True)

    vendor: str = Field(description="Vendor name ('' = the default vendor API)")
    circuit: Literal["closed", "open", "half_open"] = Field(
        description="Worst state any worker reports (open > half_open > closed)"
    )
    calls: int = Field(description="Calls in the recent window, all workers")
    failures: int = Field(description="Failed calls in the recent window, all workers")
    error_rate: float = Field(description="failures / calls (0 without calls)")
    workers: tuple[VendorWorkerHealth, ...] = Field(description="Per-worker detail")


class VendorHealth(BaseModel):
    """Answer to :class:`GetVendorHealth`."""

    model_config = ConfigDict(frozen=True)

    vendors: tuple[VendorHealthItem, ...] = Field(description="Vendors called recently")
