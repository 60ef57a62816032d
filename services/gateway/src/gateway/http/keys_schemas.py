"""HTTP bodies of the ops keys endpoints (pools, stock, vendor health)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Circuit = Literal["closed", "open", "half_open"]


class RefusedKeyRead(msgspec.Struct):
    line: Annotated[int, msgspec.Meta(description="Line of the file (or item of the JSON list)")]
    reason: Annotated[
        Literal["empty", "duplicate_in_request", "already_loaded", "already_issued"],
        msgspec.Meta(description="Why the key was not loaded"),
    ]


class PoolLoadRead(msgspec.Struct):
    sku: str
    submitted: int
    loaded: int
    refused: list[RefusedKeyRead]
    available: int
    low_threshold: int


class ThresholdUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    low_threshold: Annotated[
        int, msgspec.Meta(ge=0, le=1_000_000, description="StockLow under this; 0 turns it off")
    ]


class SkuStockRead(msgspec.Struct):
    sku: str
    available: int
    issued: int
    low_threshold: int
    low: bool


class KeyStockRead(msgspec.Struct):
    items: list[SkuStockRead]


class VendorWorkerRead(msgspec.Struct):
    worker: str
    circuit: Circuit
    calls: int
    failures: int
    updated_at: datetime


class VendorHealthItemRead(msgspec.Struct):
    vendor: str
    circuit: Circuit
    calls: int
    failures: int
    error_rate: float
    workers: list[VendorWorkerRead]


class VendorHealthRead(msgspec.Struct):
    vendors: list[VendorHealthItemRead]


class DownloadUseRead(msgspec.Struct):
    key_id: uuid.UUID
    order_id: uuid.UUID
    uses: Annotated[int, msgspec.Meta(description="Redirects through the key's signed link")]
    expired_uses: Annotated[int, msgspec.Meta(description="Uses refused as expired (410)")]
    first_used_at: datetime
    last_used_at: datetime


class DownloadUseList(msgspec.Struct):
    items: list[DownloadUseRead]
