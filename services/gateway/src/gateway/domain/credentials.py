"""API keys and webhook secrets: random, shown once, stored as a SHA-256 hash (keys)."""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "esd_"


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def key_hash(api_key: str) -> str:
    """What the database keeps of a key; a key of 256 random bits needs no slow hash."""
    return hashlib.sha256(api_key.encode()).hexdigest()
