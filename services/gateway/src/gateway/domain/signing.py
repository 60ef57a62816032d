"""Signed download links: ``/api/v1/downloads/{key_id}?order=…&expires=…&sig=…``.

The signature is HMAC-SHA256 over the key id, the order id and the expiry (unix seconds), so a
link cannot be pointed at another key or stretched in time without the gateway's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum


class LinkCheck(Enum):
    VALID = "valid"
    TAMPERED = "tampered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SignedLink:
    key_id: uuid.UUID
    order_id: uuid.UUID
    expires: int

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)


def signature(secret: str, key_id: uuid.UUID, order_id: uuid.UUID, expires: int) -> str:
    payload = f"{key_id}:{order_id}:{expires}".encode()
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def sign(secret: str, key_id: uuid.UUID, order_id: uuid.UUID, expires_at: datetime) -> str:
    """The path and query of a link to ``key_id``'s download, valid until ``expires_at``."""
    expires = int(expires_at.timestamp())
    sig = signature(secret, key_id, order_id, expires)
    return f"/api/v1/downloads/{key_id}?order={order_id}&expires={expires}&sig={sig}"


def check(secret: str, link: SignedLink, sig: str, now: datetime) -> LinkCheck:
    """Tampered before expired: a forged link never learns whether it would have expired."""
    expected = signature(secret, link.key_id, link.order_id, link.expires)
    if not hmac.compare_digest(expected, sig):
        return LinkCheck.TAMPERED
    if now.timestamp() >= link.expires:
        return LinkCheck.EXPIRED
    return LinkCheck.VALID
