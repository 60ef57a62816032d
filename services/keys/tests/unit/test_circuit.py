"""The vendor circuit breaker and the retry schedule."""

from __future__ import annotations

import pytest
from keys.domain.circuit import CircuitBreaker, backoff_delay


class TestCircuitBreaker:
    def test_opens_after_consecutive_failures(self) -> None:
        breaker = CircuitBreaker(failure_threshold=3, reset_after=10)
        for t in range(2):
            breaker.record_failure(float(t))
        assert breaker.state(2.0) == "closed"
        breaker.record_failure(2.0)
        assert breaker.state(2.0) == "open"
        assert not breaker.allow(5.0)

    def test_success_resets_the_failure_count(self) -> None:
        breaker = CircuitBreaker(failure_threshold=2, reset_after=10)
        breaker.record_failure(0.0)
        breaker.record_success(1.0)
        breaker.record_failure(2.0)
        assert breaker.state(2.0) == "closed"

    def test_half_open_after_reset_lets_one_trial_through(self) -> None:
        breaker = CircuitBreaker(failure_threshold=1, reset_after=10)
        breaker.record_failure(0.0)
        assert breaker.state(10.0) == "half_open"
        assert breaker.allow(10.0)
        assert not breaker.allow(10.1)  # the trial is in flight

    def test_successful_trial_closes(self) -> None:
        breaker = CircuitBreaker(failure_threshold=1, reset_after=10)
        breaker.record_failure(0.0)
        assert breaker.allow(11.0)
        breaker.record_success(11.5)
        assert breaker.state(11.5) == "closed"
        assert breaker.allow(11.6)

    def test_failed_trial_opens_again(self) -> None:
        breaker = CircuitBreaker(failure_threshold=5, reset_after=10)
        for t in range(5):
            breaker.record_failure(float(t))
        assert breaker.allow(15.0)
        breaker.record_failure(15.5)
        assert breaker.state(16.0) == "open"
        assert not breaker.allow(20.0)
        assert breaker.state(25.5) == "half_open"

    def test_error_rate_over_the_window(self) -> None:
        breaker = CircuitBreaker(failure_threshold=10, reset_after=10, window=60)
        breaker.record_success(0.0)
        breaker.record_failure(1.0)
        breaker.record_failure(2.0)
        breaker.record_success(3.0)
        stats = breaker.stats(3.0)
        assert (stats.calls, stats.failures, stats.error_rate) == (4, 2, 0.5)
        assert breaker.stats(61.5).calls == 2  # the first two fell out of the window

    def test_no_calls_no_error_rate(self) -> None:
        assert CircuitBreaker(1, 1).stats(0.0).error_rate == 0.0


class TestBackoff:
    def test_grows_exponentially_up_to_the_cap(self) -> None:
        delays = [backoff_delay(a, base=0.1, cap=1.0, jitter=1.0) for a in range(6)]
        assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]

    def test_jitter_scales_the_delay(self) -> None:
        assert backoff_delay(3, base=0.1, cap=1.0, jitter=0.5) == pytest.approx(0.4)
        assert backoff_delay(3, base=0.1, cap=1.0, jitter=0.0) == 0.0

    def test_jitter_outside_unit_interval_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="jitter"):
            backoff_delay(1, base=0.1, cap=1.0, jitter=1.5)
