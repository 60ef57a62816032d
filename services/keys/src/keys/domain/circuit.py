"""A circuit breaker per vendor, and the retry schedule: pure state machines over given times.

closed ──(``failure_threshold`` consecutive failures)──▶ open ──(``reset_after`` s)──▶ half_open
half_open lets one trial call through: success closes the circuit, failure opens it again.
While open, callers are refused at once instead of waiting on a vendor known to be down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class WindowStats:
    calls: int
    failures: int

    @property
    def error_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0


class CircuitBreaker:
    """One vendor's breaker. Times are seconds on a monotonic clock, passed in by the caller."""

    def __init__(self, failure_threshold: int, reset_after: float, window: float = 60.0) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self.window = window
        self._state: CircuitState = "closed"
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._outcomes: deque[tuple[float, bool]] = deque()

    def state(self, now: float) -> CircuitState:
        if self._state == "open" and now - self._opened_at >= self.reset_after:
            return "half_open"
        return self._state

    def allow(self, now: float) -> bool:
        """May a call go out now? In half_open only one trial call is let through."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "open":
            return False
        if self._state == "open":  # the reset time just passed: enter half_open
            self._state = "half_open"
            self._trial_in_flight = False
        if self._trial_in_flight:
            return False
        self._trial_in_flight = True
        return True

    def record_success(self, now: float) -> None:
        self._note(now, ok=True)
        self._state = "closed"
        self._consecutive_failures = 0
        self._trial_in_flight = False

    def record_failure(self, now: float) -> None:
        self._note(now, ok=False)
        self._consecutive_failures += 1
        if self._state == "half_open" or self._consecutive_failures >= self.failure_threshold:
            self._state = "open"
            self._opened_at = now
        self._trial_in_flight = False

    def stats(self, now: float) -> WindowStats:
        self._trim(now)
        failures = sum(1 for _, ok in self._outcomes if not ok)
        return WindowStats(calls=len(self._outcomes), failures=failures)

    def _note(self, now: float, *, ok: bool) -> None:
        self._outcomes.append((now, ok))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._outcomes and now - self._outcomes[0][0] > self.window:
            self._outcomes.popleft()


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Full-jitter exponential backoff: ``jitter`` (0..1, random) × min(cap, base × 2^attempt)."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter is a fraction in [0, 1]")
    return float(jitter * min(cap, base * 2.0**attempt))
