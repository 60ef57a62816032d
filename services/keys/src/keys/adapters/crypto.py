"""Keys at rest and keys in hand: AES-GCM sealing, keyed hashes, Ed25519 signatures.

Ciphertext text form: ``<kid>:<base64url(nonce | ciphertext+tag)>``. The key id travels with
the ciphertext, so after a rotation old rows still decrypt with the secret they were sealed
with. The key id is the associated data, so a ciphertext cannot be passed off under another id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys.domain import key_format

_KID = re.compile(r"^([A-Za-z0-9_-]{1,16}):(.+)$")


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def parse_secrets(spec: str) -> list[tuple[str, str]]:
    """``'k2:new,k1:old'`` → ``[('k2', 'new'), ('k1', 'old')]``; a bare secret is ``k1``."""
    pairs: list[tuple[str, str]] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        match = _KID.match(item)
        pairs.append((match.group(1), match.group(2)) if match else ("k1", item))
    if not pairs:
        raise ValueError("ESD_KEYS_SECRET holds no secret")
    if len({kid for kid, _ in pairs}) != len(pairs):
        raise ValueError("ESD_KEYS_SECRET names a key id twice")
    return pairs


class KeyCipher:
    """Seals keys with the current secret; opens them with whichever secret sealed them."""

    def __init__(self, secrets_spec: str) -> None:
        pairs = parse_secrets(secrets_spec)
        self.current_kid = pairs[0][0]
        self._aead = {kid: AESGCM(_derive(secret, b"esd keys aes-gcm v1")) for kid, secret in pairs}

    def seal(self, plain: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead[self.current_kid].encrypt(
            nonce, plain.encode(), self.current_kid.encode()
        )
        return f"{self.current_kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, ciphertext: str) -> str:
        """The plain key; raises ``KeyError`` for an unknown key id, ``InvalidTag`` if altered."""
        kid, _, body = ciphertext.partition(":")
        raw = base64.urlsafe_b64decode(body)
        return self._aead[kid].decrypt(raw[:12], raw[12:], kid.encode()).decode()


class KeyHasher:
    """HMAC-SHA256 of a key: what the unique index holds, so duplicates are caught without the
    plain key ever being stored (and without an unkeyed hash that could be brute-forced)."""

    def __init__(self, secret: str) -> None:
        self._key = _derive(secret, b"esd keys hash v1")

    def digest(self, plain: str) -> bytes:
        return hmac.new(self._key, normalise(plain).encode(), hashlib.sha256).digest()


def normalise(plain: str) -> str:
    """Keys are compared as written, without surrounding blanks."""
    return plain.strip()


class KeySigner:
    """Makes signed keys (see :mod:`keys.domain.key_format`) with esd's Ed25519 key."""

    def __init__(self, seed: str) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(b"esd keys signing v1:" + seed.encode()).digest()
        )
        self.public_key = self._private.public_key()

    def new_key(self, sku: str) -> str:
        payload = key_format.payload(sku, os.urandom(key_format.SERIAL_BYTES))
        return key_format.encode(payload, self._private.sign(payload))

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def verify_key(key: str, public_key: Ed25519PublicKey, sku: str | None = None) -> bool:
    """True when ``key`` is a signed esd key (for ``sku``, if given) under ``public_key``."""
    decoded = key_format.decode(key)
    if decoded is None:
        return False
    if sku is not None and decoded.sku_tag != key_format.sku_tag(sku):
        return False
    try:
        public_key.verify(decoded.signature, decoded.payload)
    except InvalidSignature:
        return False
    return True


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key
