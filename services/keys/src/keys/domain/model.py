"""What an order of keys is and how it may end: pure rules, no I/O.

An order's keys are issued all at once or not at all, by exactly one adapter, and at most once:
the order id is the identity of the set, so a repeated request answers the set that exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Source = Literal["test", "generator", "pool", "vendor_api"]
"""Where an order's keys come from; ``test`` for test orders whatever the product says."""

FailureReason = Literal["out_of_stock", "vendor_unavailable"]

OUT_OF_STOCK: FailureReason = "out_of_stock"
VENDOR_UNAVAILABLE: FailureReason = "vendor_unavailable"


@dataclass(frozen=True)
class KeyRequest:
    """One order's request for keys, as the adapters see it."""

    order_id: uuid.UUID
    partner_id: uuid.UUID
    sku: str
    quantity: int
    source: Source
    vendor: str = ""


@dataclass(frozen=True)
class SealedKey:
    """A key as it is stored: never the plain text, only its hash and its ciphertext."""

    key_hash: bytes
    ciphertext: str


@dataclass(frozen=True)
class Refusal:
    """No key was taken; the order fails with ``reason``."""

    reason: FailureReason


def source_for(*, test: bool, key_source: str) -> Source:
    """Test orders never touch a pool or a vendor; others use the product's adapter."""
    if test:
        return "test"
    if key_source not in ("generator", "pool", "vendor_api"):
        raise ValueError(f"unknown key source {key_source!r}")
    return key_source  # type: ignore[return-value]


def check_complete(request: KeyRequest, keys: list[SealedKey]) -> None:
    """All or nothing: an adapter that returns another count than ordered is a bug."""
    if len(keys) != request.quantity:
        raise ValueError(f"adapter returned {len(keys)} keys for an order of {request.quantity}")


def stock_is_low(available: int, threshold: int) -> bool:
    """A pool is low once what is left is under the threshold ops set (0 disables the alarm)."""
    return threshold > 0 and available < threshold
