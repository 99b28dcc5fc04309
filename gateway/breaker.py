"""A circuit breaker per source, as a pure state machine (the caller passes ``now``).

CLOSED     calls go through; ``failure_threshold`` failures in a row open the circuit,
           because a source that keeps failing only adds its timeout to every lookup.
OPEN       calls are refused at once for ``reset_after`` seconds, which gives the source
           room to recover and lets lookups fall back (next source, stale entry) quickly.
HALF_OPEN  after that pause one trial call is let through; its success closes the
           circuit, its failure opens it for another pause. Other calls wait outside
           (are refused) while the trial runs, so a recovering source sees one request.
"""

from __future__ import annotations

from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, reset_after: float = 30.0) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self, now: float) -> bool:
        """May a call start now? A ``True`` in HALF_OPEN reserves the single trial."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if now - self._opened_at < self._reset_after:
                return False
            self._state = BreakerState.HALF_OPEN
            self._trial_running = False
        if self._trial_running:
            return False
        self._trial_running = True
        return True

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_running = False

    def record_failure(self, now: float) -> None:
        self._failures += 1
        self._trial_running = False
        if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._state = BreakerState.OPEN
            self._opened_at = now

    def retry_in(self, now: float) -> float:
        """Seconds until an open circuit lets a trial through (0 when not open)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._reset_after - (now - self._opened_at))
