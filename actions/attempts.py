"""Counting failed order verifications, so guessing stops after a few tries.

Failures are counted per conversation and per hashed client address, for each store, over a sliding
window (an hour). Past :data:`MAX_FAILURES` in either scope the bot stops looking orders up. Counts
live in the app database (``lookup_attempts``), or in Redis when ``TRULYBOT_REDIS_URL`` is set, so
they survive restarts and are shared by replicas.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Protocol, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.db.models import LookupAttempt
from bot.core.settings import Settings

MAX_FAILURES = 5
WINDOW_SECONDS = 3600
CONVERSATION = "conversation"
CLIENT = "client"


def _subjects(conversation_id: str, client: Optional[str]) -> List[Tuple[str, str]]:
    subjects = [(CONVERSATION, conversation_id[:128])]
    if client:
        subjects.append((CLIENT, client[:128]))
    return subjects


class AttemptCounter(Protocol):
    """Where failures are counted."""

    async def failures(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        """The highest failure count of the conversation and the client within the window."""

    async def record_failure(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        """Count one failure; return the new highest count."""


class DatabaseAttemptCounter:
    """Counts in the ``lookup_attempts`` table."""

    def __init__(self, sessions: "sessionmaker[Session]", window: float = WINDOW_SECONDS) -> None:
        self._sessions = sessions
        self._window = window

    def _count(self, session: Session, store_id: int, subjects: List[Tuple[str, str]]) -> int:
        since = datetime.now(timezone.utc) - timedelta(seconds=self._window)
        counts = [
            session.execute(
                select(func.count()).select_from(LookupAttempt).where(
                    LookupAttempt.store_id == store_id, LookupAttempt.scope == scope,
                    LookupAttempt.subject == subject, LookupAttempt.created_at >= since,
                )
            ).scalar_one()
            for scope, subject in subjects
        ]
        return max(counts)

    def _failures(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        with self._sessions() as session:
            return self._count(session, store_id, _subjects(conversation_id, client))

    def _record(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        subjects = _subjects(conversation_id, client)
        with self._sessions.begin() as session:
            for scope, subject in subjects:
                session.add(LookupAttempt(store_id=store_id, scope=scope, subject=subject))
            stale = datetime.now(timezone.utc) - timedelta(seconds=2 * self._window)
            session.execute(delete(LookupAttempt).where(LookupAttempt.created_at < stale))
            session.flush()
            return self._count(session, store_id, subjects)

    async def failures(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        return await asyncio.get_running_loop().run_in_executor(None, self._failures, store_id, conversation_id, client)

    async def record_failure(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        return await asyncio.get_running_loop().run_in_executor(None, self._record, store_id, conversation_id, client)


class RedisAttemptCounter:
    """Counts in Redis sorted sets (one per store/scope/subject), trimmed to the window."""

    def __init__(self, url: str, window: float = WINDOW_SECONDS) -> None:
        import redis.asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(url)
        self._window = window

    @staticmethod
    def _key(store_id: int, scope: str, subject: str) -> str:
        digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
        return f"trulybot:attempts:{store_id}:{scope}:{digest}"

    async def _count(self, keys: List[str], now: float) -> int:
        pipe = self._redis.pipeline()
        for key in keys:
            pipe.zremrangebyscore(key, 0, now - self._window)
            pipe.zcard(key)
        results = await pipe.execute()
        return max(results[1::2])

    async def failures(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        keys = [self._key(store_id, s, v) for s, v in _subjects(conversation_id, client)]
        return await self._count(keys, time.time())

    async def record_failure(self, store_id: int, conversation_id: str, client: Optional[str]) -> int:
        now = time.time()
        keys = [self._key(store_id, s, v) for s, v in _subjects(conversation_id, client)]
        pipe = self._redis.pipeline()
        for key in keys:
            pipe.zadd(key, {uuid.uuid4().hex: now})
            pipe.expire(key, int(self._window) + 60)
        await pipe.execute()
        return await self._count(keys, now)


def make_attempt_counter(settings: Settings, sessions: "sessionmaker[Session]") -> AttemptCounter:
    """Redis when configured, else the app database."""
    if settings.redis_url:
        return RedisAttemptCounter(settings.redis_url)
    return DatabaseAttemptCounter(sessions)
