"""Checking a callback really comes from esd: the HMAC signatures of its body."""

from __future__ import annotations

import hashlib
import hmac
import time


def _sign(secret: str, data: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    signature: str | None,
    *,
    timestamp: str | None = None,
    timestamp_signature: str | None = None,
    tolerance: float | None = 300.0,
    now: float | None = None,
) -> bool:
    """True when the callback is ours: ``X-Esd-Signature`` is the HMAC-SHA256 of the raw body
    with your webhook secret. Pass ``X-Esd-Timestamp`` and ``X-Esd-Timestamp-Signature`` too
    to refuse a captured callback replayed later (older than ``tolerance`` seconds).

    Verify the bytes as received, before parsing: re-serialised JSON is not the same bytes."""
    if not signature or not hmac.compare_digest(_sign(secret, body), signature):
        return False
    if timestamp is None and timestamp_signature is None:
        return True
    if timestamp is None or timestamp_signature is None:
        return False
    if not hmac.compare_digest(
        _sign(secret, timestamp.encode() + b"." + body), timestamp_signature
    ):
        return False
    if tolerance is None:
        return True
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    return abs((time.time() if now is None else now) - sent) <= tolerance


def verify_headers(secret: str, body: bytes, headers: dict[str, str] | object) -> bool:
    """:func:`verify_signature` with the headers of the request (any case-insensitive or
    plain mapping)."""
    get = getattr(headers, "get", None)
    if get is None:
        return False
    lower = {k.lower(): v for k, v in dict(headers).items()} if isinstance(headers, dict) else None

    def header(name: str) -> str | None:
        if lower is not None:
            return lower.get(name.lower())
        value = get(name)
        return str(value) if value is not None else None

    return verify_signature(
        secret,
        body,
        header("X-Esd-Signature"),
        timestamp=header("X-Esd-Timestamp"),
        timestamp_signature=header("X-Esd-Timestamp-Signature"),
    )
