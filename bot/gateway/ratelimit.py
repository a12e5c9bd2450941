"""Message rate limit per conversation: in process, or shared through Redis across replicas."""
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

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        current = time.monotonic() if now is None else now
        events = self._events.setdefault(key, deque())
        while events and events[0] <= current - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(current)
        return True

    def forget(self, key: str) -> None:
        self._events.pop(key, None)

    def prune(self) -> None:
        cutoff = time.monotonic() - self.window
        for key in [k for k, v in self._events.items() if not v or v[-1] <= cutoff]:
            del self._events[key]


class MessageRateLimiter:
    """Per-conversation message limit; with Redis a fixed window counter shared by every replica."""

    def __init__(self, limit: int, window: float, redis: Any = None, prefix: str = "trulybot:") -> None:
        self.local = SlidingWindow(limit, window)
        self.redis = redis
        self.prefix = prefix

    async def allow(self, conversation_id: str) -> bool:
        if self.redis is not None:
            window = int(self.local.window)
            bucket = int(time.time() // window)
            key = f"{self.prefix}rl:{conversation_id}:{bucket}"
            try:
                pipe = self.redis.pipeline(transaction=False)
                pipe.incr(key)
                pipe.expire(key, window + 5)
                count, _ = await pipe.execute()
                return int(count) <= self.local.limit
            except Exception as exc:  # noqa: BLE001 - Redis trouble must not stop the chat
                logger.warning("rate limit: Redis unavailable (%s), counting in process", exc.__class__.__name__)
        return self.local.allow(conversation_id)
