"""Webhook rules without I/O: event names, the signature, the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

EVENTS = {
    "completed": "order.completed",
    "rejected": "order.rejected",
    "failed": "order.failed",
    "cancelled": "order.cancelled",
}
"""A final order status → the ``X-Esd-Event`` of its callback."""


def signature(secret: str, body: bytes) -> str:
    """``X-Esd-Signature`` (the spec's): ``sha256=`` hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def timestamped_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Esd-Timestamp-Signature``: HMAC of ``<timestamp>.<body>``, so a captured callback
    cannot be replayed later with a fresh timestamp."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta
    cap: timedelta
    window: timedelta
    """Retries go on until this long after the first attempt (of the current window)."""

    def delay(self, streak: int, rand: random.Random | None = None) -> timedelta:
        """Exponential backoff with jitter after the ``streak``-th failure in a row (≥ 1):
        base · 2^(streak−1), capped, then a random point in its upper half."""
        exponent = min(max(streak - 1, 0), 32)
        full = min(self.base * (1 << exponent), self.cap)
        jitter: float = (rand or random).random()
        return full * (0.5 + 0.5 * jitter)

    def next_attempt(
        self, now: datetime, window_started_at: datetime, streak: int
    ) -> datetime | None:
        """When to try again after a failure at ``now``; None once the window is over.

        The last try falls on the window's end, so a partner back just before it still gets
        the callback."""
        deadline = window_started_at + self.window
        if now >= deadline:
            return None
        return min(now + self.delay(streak), deadline)
