"""The text form of keys: pure encoding rules (the signature itself is made in adapters).

Signed key (generator), version 1::

    payload   = 0x01 | sku_tag (4 bytes: SHA-256(sku)[:4]) | serial (11 random bytes)   16 bytes
    signature = Ed25519(payload) with esd's signing key                                  64 bytes
    key       = base32(payload | signature) (RFC 4648 alphabet A-Z2-7, 128 characters),
                in 16 groups of 8 joined by '-'

A vendor verifies a key offline with esd's public key: strip the dashes, base32-decode to 80
bytes, check the version byte, verify the signature over the first 16 bytes, and (optionally)
that the sku tag is SHA-256 of the expected sku's first 4 bytes. ``python -m keys.verify``
does exactly that.

Test keys are ``TEST-`` followed by four groups of five random base32 characters; they are never
signed and never valid with a vendor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

VERSION = 1
PAYLOAD_BYTES = 16
SERIAL_BYTES = 11
SIGNATURE_BYTES = 64
GROUP = 8
TEST_PREFIX = "TEST-"


@dataclass(frozen=True)
class DecodedKey:
    """A signed key taken apart; the signature still has to be checked."""

    payload: bytes
    signature: bytes
    version: int
    sku_tag: bytes


def sku_tag(sku: str) -> bytes:
    return hashlib.sha256(sku.encode()).digest()[:4]


def payload(sku: str, serial: bytes) -> bytes:
    """The signed part of a key: version, product tag and a random serial."""
    if len(serial) != SERIAL_BYTES:
        raise ValueError("serial must be 11 bytes")
    return bytes([VERSION]) + sku_tag(sku) + serial


def encode(payload_bytes: bytes, signature: bytes) -> str:
    """``XXXXXXXX-XXXXXXXX-…``: 16 groups of 8 base32 characters."""
    raw = base64.b32encode(payload_bytes + signature).decode()
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def decode(key: str) -> DecodedKey | None:
    """Undo :func:`encode`; ``None`` when the text is not a well-formed signed key."""
    compact = key.strip().replace("-", "").upper()
    try:
        raw = base64.b32decode(compact)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != PAYLOAD_BYTES + SIGNATURE_BYTES or raw[0] != VERSION:
        return None
    return DecodedKey(
        payload=raw[:PAYLOAD_BYTES],
        signature=raw[PAYLOAD_BYTES:],
        version=raw[0],
        sku_tag=raw[1:5],
    )


def test_key(random_bytes: bytes) -> str:
    """``TEST-XXXXX-XXXXX-XXXXX-XXXXX`` from 15 random bytes (100 bits used)."""
    if len(random_bytes) < 15:
        raise ValueError("a test key needs 15 random bytes")
    raw = base64.b32encode(random_bytes[:15]).decode()[:20]
    return TEST_PREFIX + "-".join(raw[i : i + 5] for i in range(0, 20, 5))
