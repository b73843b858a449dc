"""A small circuit breaker, one per backend client.

closed --N consecutive failures--> open --reset_timeout--> half-open (one trial call)
half-open --trial succeeds--> closed;  half-open --trial fails--> open again.

It is used from a single event loop, so it needs no lock: every method is synchronous.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout < 0:
            raise ValueError("reset_timeout must not be negative")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.name = name
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        # When the half-open trial was handed out; None means no trial is in flight.
        self._trial_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial call is let through."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock()
        # A trial whose caller vanished (cancelled, never reported) must not wedge the
        # breaker: after another reset_timeout a new trial is allowed.
        if self._trial_at is not None and now - self._trial_at < self.reset_timeout:
            return False
        self._trial_at = now
        return True

    def record_success(self) -> None:
        if self._opened_at is not None:
            log.info("circuit %s closed", self.name or "breaker")
        self._failures = 0
        self._opened_at = None
        self._trial_at = None

    def record_failure(self) -> None:
        self._failures += 1
        half_open = self.state is BreakerState.HALF_OPEN
        if half_open or (self._opened_at is None and self._failures >= self.failure_threshold):
            if self._opened_at is None:
                log.warning(
                    "circuit %s opened after %d consecutive failures",
                    self.name or "breaker",
                    self._failures,
                )
            self._opened_at = self._clock()
            self._trial_at = None

    def reset(self) -> None:
        """Force the breaker closed (admin action, tests)."""
        self.record_success()

    def __repr__(self) -> str:
        state, failures = self.state.value, self._failures
        return f"CircuitBreaker(name={self.name!r}, state={state}, failures={failures})"
