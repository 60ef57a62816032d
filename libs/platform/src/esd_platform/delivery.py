"""An order's keys on their way to their owner, sealed so only the gateway can read them.

The keys service seals the plain keys of an order when it issues them; the sealed text rides
in ``KeysIssued`` and ``OrderCompleted`` (the saga keeps it without being able to open it) and
the gateway opens it to answer the partner. So the answer to an order needs no query back to
the keys service (two messages and a read per order, bench/RESULTS.md), and no plain key
travels on the bus, lands in a dead-letter queue or in the saga's tables.

AES-GCM under a key derived from ``ESD_KEY_DELIVERY_SECRET`` (shared by keys and the gateway);
the order id is the associated data, so a sealed text cannot be replayed onto another order.
Text form: ``<kid>:<base64url(nonce | ciphertext+tag)>``; the key id allows rotation (the first
secret seals, all open: ``'k2:new,k1:old'``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEV_DELIVERY_SECRET = "esd-development-key-delivery-secret-not-for-production"  # noqa: S105
_KID = re.compile(r"^([A-Za-z0-9_-]{1,16}):(.+)$")


class SealBroken(ValueError):
    """The text was not sealed for this order with any secret this process holds."""


class DeliverySeal:
    """Seals ``[(key id, activation code), …]`` for one order; opens what it (or an older
    secret) sealed."""

    def __init__(self, secrets_spec: str) -> None:
        pairs = []
        for item in (part.strip() for part in secrets_spec.split(",")):
            if item:
                match = _KID.match(item)
                pairs.append((match.group(1), match.group(2)) if match else ("k1", item))
        if not pairs:
            raise ValueError("ESD_KEY_DELIVERY_SECRET holds no secret")
        self._current = pairs[0][0]
        self._aead = {kid: AESGCM(_derive(secret)) for kid, secret in pairs}

    def seal(self, order_id: uuid.UUID, keys: Sequence[tuple[uuid.UUID, str]]) -> str:
        plain = json.dumps([[str(key_id), code] for key_id, code in keys]).encode()
        nonce = os.urandom(12)
        sealed = self._aead[self._current].encrypt(nonce, plain, _aad(self._current, order_id))
        return f"{self._current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, order_id: uuid.UUID, text: str) -> list[tuple[uuid.UUID, str]]:
        kid, _, body = text.partition(":")
        aead = self._aead.get(kid)
        if aead is None:
            raise SealBroken(f"no delivery secret with key id {kid!r}")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            plain = aead.decrypt(raw[:12], raw[12:], _aad(kid, order_id))
        except (InvalidTag, ValueError) as exc:
            raise SealBroken("the sealed keys do not open for this order") from exc
        return [(uuid.UUID(key_id), code) for key_id, code in json.loads(plain)]


def _derive(secret: str) -> bytes:
    info = b"esd key delivery aes-gcm v1"
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def _aad(kid: str, order_id: uuid.UUID) -> bytes:
    return f"{kid}:{order_id}".encode()
