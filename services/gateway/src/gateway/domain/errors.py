"""Refusals with the spec's stable error codes."""

from __future__ import annotations


class Refusal(Exception):
    """A request the rules refuse; ``code`` is one of the spec's error codes."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class NotFound(Exception):
    """Missing, or not this caller's: the same answer either way."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.detail = f"{what} not found"


class Conflict(Exception):
    """The request contradicts the current state (``code`` e.g. ``idempotency_conflict``)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Unavailable(Exception):
    """A service the answer depends on did not respond in time."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
