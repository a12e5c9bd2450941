"""Equal time for failed verifications, whether the order exists or not.

A platform may need more store calls to say "no such order" than to return an order whose details
then do not match (a platform may search after a direct miss). Per store, this keeps a moving average
of how long the store fetch took for each kind of failure, and pads every failure up to the slower
average, so response time does not tell a guesser which numbers exist.
"""
from __future__ import annotations

import threading
from typing import Dict, Optional, Tuple

FOUND = "found"  #: the order exists, the details did not match
MISSING = "missing"  #: no such order (or not visible to the app)
SMOOTHING = 0.2


class FailureTiming:
    """Moving averages of failed-lookup fetch durations, per store and kind (process memory)."""

    def __init__(self) -> None:
        self._means: Dict[Tuple[int, str], float] = {}
        self._lock = threading.Lock()

    def observe(self, store_id: int, kind: str, seconds: float) -> None:
        """Add one fetch duration of a failed lookup."""
        with self._lock:
            key = (store_id, kind)
            mean = self._means.get(key)
            self._means[key] = seconds if mean is None else mean + SMOOTHING * (seconds - mean)

    def target(self, store_id: int) -> Optional[float]:
        """Seconds every failed fetch of this store should take (the slower kind's average)."""
        with self._lock:
            known = [self._means[(store_id, k)] for k in (FOUND, MISSING) if (store_id, k) in self._means]
        return max(known) if known else None

    def padding(self, store_id: int, kind: str, seconds: float) -> float:
        """Record ``seconds`` for ``kind`` and return how long to wait so it matches the target."""
        self.observe(store_id, kind, seconds)
        target = self.target(store_id)
        return max(0.0, target - seconds) if target is not None else 0.0
