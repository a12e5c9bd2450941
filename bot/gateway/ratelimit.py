"""Rate limits of the widget gateway: messages per conversation and new sessions per address and per
store, in process or shared through Redis across replicas.

In-process windows forget keys that have been quiet for a whole window (checked at most once per
window), so their dictionaries stay as small as the set of recently active keys.
"""
from __future__ import annotations

import logging
import secrets
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
    """Per-conversation message limit; with Redis a sliding window shared by every replica."""

    def __init__(self, limit: int, window: float, redis: Any = None, prefix: str = "trulybot:") -> None:
        self.local = SlidingWindow(limit, window)
        self.redis = redis
        self.shared = RedisWindow(redis) if redis is not None else None
        self.prefix = prefix

    async def allow(self, conversation_id: str) -> bool:
        if self.shared is not None:
            allowed = await self.shared.allow(f"{self.prefix}rl:{conversation_id}", self.local.limit, self.local.window)
            if allowed is not None:
                return allowed
        return self.local.allow(conversation_id)


# A sliding log in a sorted set, scored by the Redis server's clock so that replicas with skewed
# clocks still share one window. Only accepted events are recorded, as in ``SlidingWindow``.
_SLIDING_WINDOW_SCRIPT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
if redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window_ms + 1000)
return 1
"""


class RedisWindow:
    """The sliding window above, kept in Redis; the script is sent once and then run by its digest."""

    def __init__(self, redis: Any) -> None:
        self._script = redis.register_script(_SLIDING_WINDOW_SCRIPT)

    async def allow(self, key: str, limit: int, window: float) -> Optional[bool]:
        """Record one event under ``key`` if fewer than ``limit`` were accepted in the last ``window``
        seconds; True when accepted, False when over the limit, None when Redis is unavailable."""
        window_ms = max(1, int(window * 1000))
        try:
            accepted = await self._script(keys=[key], args=[window_ms, limit, secrets.token_hex(8)])
            return bool(int(accepted))
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
        self.shared = RedisWindow(redis) if redis is not None else None
        self.prefix = prefix

    async def allow(self, address_group: str, store_id: int) -> Optional[str]:
        if self.shared is not None:
            window = self.addresses.window
            by_address = await self.shared.allow(f"{self.prefix}ns:a:{address_group}", self.addresses.limit, window)
            if by_address is not None:
                if not by_address:
                    return "address"
                by_store = await self.shared.allow(f"{self.prefix}ns:s:{store_id}", self.stores.limit, window)
                if by_store is not None:
                    return None if by_store else "store"
        if not self.addresses.allow(address_group):
            return "address"
        if not self.stores.allow(str(store_id)):
            return "store"
        return None
