"""De-duplication of webhook deliveries and ordering of order updates.

With ``TRULYBOT_REDIS_URL`` every replica shares the memory (``SET NX EX``); otherwise it is
per process (a restart may let one duplicate through: every handler is idempotent anyway).
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any, Optional

logger = logging.getLogger(__name__)


class Dedupe:
    def __init__(self, ttl: int, redis: Any = None, prefix: str = "trulybot:webhook:", size: int = 100_000) -> None:
        self.ttl = ttl
        self.redis = redis
        self.prefix = prefix
        self.size = size
        self._seen: "OrderedDict[str, float]" = OrderedDict()
        self._latest: "OrderedDict[str, str]" = OrderedDict()

    def _prune(self) -> None:
        now = time.time()
        while self._seen and (len(self._seen) > self.size or next(iter(self._seen.values())) < now):
            self._seen.popitem(last=False)
        while len(self._latest) > self.size:
            self._latest.popitem(last=False)

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL."""
        if self.redis is not None:
            try:
                return bool(await self.redis.set(self.prefix + "id:" + key, "1", nx=True, ex=self.ttl))
            except Exception as exc:  # noqa: BLE001 - fall back to local memory
                logger.warning("webhook dedupe: Redis unavailable (%s); using local memory", type(exc).__name__)
        self._prune()
        if key in self._seen:
            return False
        self._seen[key] = time.time() + self.ttl
        return True

    async def forget(self, key: str) -> None:
        """Let a delivery whose processing failed be retried."""
        self._seen.pop(key, None)
        if self.redis is not None:
            try:
                await self.redis.delete(self.prefix + "id:" + key)
            except Exception:  # noqa: BLE001
                pass

    async def newer(self, key: str, version: Optional[str]) -> bool:
        """True when ``version`` (an ISO timestamp) is newer than the last one seen for ``key``.

        Deliveries without a version always count as newer.
        """
        if not version:
            return True
        if self.redis is not None:
            try:
                script = ("local v = redis.call('GET', KEYS[1]); if (not v) or v < ARGV[1] then "
                          "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]); return 1 end; return 0")
                return bool(await self.redis.eval(script, 1, self.prefix + "ver:" + key, version, self.ttl))
            except Exception as exc:  # noqa: BLE001
                logger.warning("webhook ordering: Redis unavailable (%s); using local memory", type(exc).__name__)
        last = self._latest.get(key)
        if last is not None and last >= version:
            return False
        self._latest[key] = version
        self._latest.move_to_end(key)
        self._prune()
        return True
