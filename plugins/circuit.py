"""A small per-store circuit breaker.

closed → (``threshold`` consecutive failures) → open → (``reset_timeout`` elapsed) → half-open:
one trial request passes; success closes the circuit, failure opens it again.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from plugins.errors import CircuitOpen

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one store and refuses calls while open."""

    def __init__(self, threshold: int = 5, reset_timeout: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1:
            raise ValueError("threshold must be >= 1")
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: Optional[float] = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout:
            return HALF_OPEN
        return OPEN

    @property
    def failures(self) -> int:
        return self._failures

    def before_request(self, platform: Optional[str] = None) -> None:
        """Raise :class:`CircuitOpen` unless a request may go out now."""
        state = self.state
        if state == CLOSED:
            return
        if state == HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        remaining = 0.0 if self._opened_at is None else max(0.0, self.reset_timeout - (self._clock() - self._opened_at))
        raise CircuitOpen(f"store temporarily unavailable (retry in {remaining:.1f}s)", platform=platform)

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        was_trial = self._trial_in_flight
        self._trial_in_flight = False
        if was_trial or self._failures >= self.threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """Forget an in-flight trial that ended without a verdict (e.g. cancelled)."""
        self._trial_in_flight = False
