"""Rate limits of the widget gateway: messages per conversation and new sessions per address and per
store, in process or shared through Redis across replicas.

In-process windows forget keys that have been quiet for a whole window (checked at most once per
window), so their dictionaries stay as small as the set of recently active keys.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Deque, Dict, Optional

logger = logging.getLogger(__name__)


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key (accepted events only)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: Dict[str, Deque[float]] = {}
        self._pruned_at: Optional[float] = None

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._events)

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        current = time.monotonic() if now is None else now
        if self._pruned_at is None:
            self._pruned_at = current
        elif current - self._pruned_at >= self.window:
            self.prune(current)
        events = self._events.setdefault(key, deque())
        while events and events[0] <= current - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(current)
        return True

    def forget(self, key: str) -> None:
        self._events.pop(key, None)

    def prune(self, now: Optional[float] = None) -> None:
        """Forget keys without an event in the last window."""
        current = time.monotonic() if now is None else now
        cutoff = current - self.window
        for key in [k for k, v in self._events.items() if not v or v[-1] <= cutoff]:
            del self._events[key]
        self._pruned_at = current


class MessageRateLimiter:
    """Per-conversation message limit; with Redis a fixed window counter shared by every replica."""

    def __init__(self, limit: int, window: float, redis: Any = None, prefix: str = "trulybot:") -> None:
        self.local = SlidingWindow(limit, window)
        self.redis = redis
        self.prefix = prefix

    async def allow(self, conversation_id: str) -> bool:
        if self.redis is not None:
            count = await _redis_count(self.redis, f"{self.prefix}rl:{conversation_id}", int(self.local.window))
            if count is not None:
                return count <= self.local.limit
        return self.local.allow(conversation_id)


async def _redis_count(redis: Any, key: str, window: int) -> Optional[int]:
    """Count one event in the current fixed window of ``key``; None when Redis is unavailable."""
    window = max(1, window)
    bucket = int(time.time() // window)
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.incr(f"{key}:{bucket}")
        pipe.expire(f"{key}:{bucket}", window + 5)
        count, _ = await pipe.execute()
        return int(count)
    except Exception as exc:  # noqa: BLE001 - Redis trouble must not stop the chat
        logger.warning("rate limit: Redis unavailable (%s), counting in process", exc.__class__.__name__)
        return None


class NewSessionLimiter:
    """New conversations per client address group and per store (each row a database write).

    Returns the name of the exhausted budget (``"address"`` or ``"store"``), or None when allowed.
    """

    def __init__(self, per_address: int, per_store: int, window: float, redis: Any = None, prefix: str = "trulybot:") -> None:
        self.addresses = SlidingWindow(per_address, window)
        self.stores = SlidingWindow(per_store, window)
        self.redis = redis
        self.prefix = prefix

    async def allow(self, address_group: str, store_id: int) -> Optional[str]:
        if self.redis is not None:
            window = int(self.addresses.window)
            by_address = await _redis_count(self.redis, f"{self.prefix}ns:a:{address_group}", window)
            if by_address is not None:
                if by_address > self.addresses.limit:
                    return "address"
                by_store = await _redis_count(self.redis, f"{self.prefix}ns:s:{store_id}", window)
                if by_store is not None:
                    return "store" if by_store > self.stores.limit else None
        if not self.addresses.allow(address_group):
            return "address"
        if not self.stores.allow(str(store_id)):
            return "store"
        return None
