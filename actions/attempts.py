"""Counting order-verification attempts, so guessing stops while real shoppers carry on.

Every lookup that could disclose an order first *reserves* an attempt: one atomic step adds it to
the counters of its conversation, its client address group (the gateway hashes IPv4 addresses and
IPv6 /64 networks), the order number asked for, and the store, and returns the new counts. Two
concurrent lookups therefore never both see the old count. :func:`decide` turns the counts into a
verdict (:class:`Limits`):

* a conversation is locked after ``conversation`` failures;
* an order number is locked for everyone after ``order`` failures against it (the order being
  guessed is protected, not every shopper behind the guesser's address);
* an address gets ``address_free`` failures, then slows down: each further attempt must wait twice
  as long after the previous one as the last, up to ``slowdown_max`` seconds;
* past ``store_budget`` failures in a store, the merchant is alerted (once an hour per store,
  whichever replica sees the crossing first: :meth:`AttemptCounter.claim_alert` records the alert
  in the same store as the counts) and addresses get only ``address_free_over_budget`` free failures.

A lookup refused before the store was asked gives its reservation back (:meth:`release`); a
verified lookup gives it back and clears its conversation's failures (:meth:`succeeded`); any other
outcome keeps it as a counted failure. Counts live in Redis when ``TRULYBOT_REDIS_URL`` is set,
else in the app database (``lookup_attempts``), over a sliding window; they survive restarts and
are shared by replicas.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Protocol, Tuple

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.core.db.models import LookupAttempt
from bot.core.settings import Settings

WINDOW_SECONDS = 3600
CONVERSATION = "conversation"
CLIENT = "client"
ORDER = "order"
STORE = "store"
ALERT = "alert"  #: when the store's failure-budget alert last went out (not an attempt)
_STORE_SUBJECT = "*"

ALLOWED = "allowed"
CONVERSATION_LOCKED = "conversation_locked"
ORDER_LOCKED = "order_locked"
SLOWED = "slowed"


@dataclass(frozen=True)
class Limits:
    """Where guessing stops (see the module docstring)."""

    conversation: int = 5
    order: int = 5
    address_free: int = 20
    address_free_over_budget: int = 3
    slowdown_base: float = 2.0
    slowdown_max: float = 900.0
    store_budget: int = 200

    def allowance(self, store_failures: int) -> int:
        """Free failures per address, given the store's failures in the window."""
        return self.address_free if store_failures <= self.store_budget else self.address_free_over_budget

    def slowdown(self, beyond: int) -> float:
        """Seconds the ``beyond``-th attempt past the allowance waits after the previous one."""
        return min(self.slowdown_max, self.slowdown_base * 2 ** max(beyond - 1, 0))


@dataclass
class Subjects:
    """Who and what one attempt is about (``client`` and ``order`` may be unknown)."""

    conversation: str
    client: Optional[str] = None
    order: Optional[str] = None

    def pairs(self) -> List[Tuple[str, str]]:
        """``(scope, subject)`` for every counter this attempt touches."""
        pairs = [(CONVERSATION, self.conversation[:128]), (STORE, _STORE_SUBJECT)]
        if self.client:
            pairs.append((CLIENT, self.client[:128]))
        if self.order:
            pairs.append((ORDER, self.order[:128]))
        return pairs


@dataclass
class Reservation:
    """One attempt, counted: the counts include it; ``previous_client_attempt`` is the time (epoch
    seconds) of the address's attempt before this one, if any in the window."""

    store_id: int
    subjects: Subjects
    counts: Dict[str, int]
    previous_client_attempt: Optional[float]
    token: List[int] = field(default_factory=list)  # database row ids, or empty for Redis
    member: str = ""  # Redis sorted-set member


@dataclass(frozen=True)
class Verdict:
    """What :func:`decide` says about a reservation."""

    outcome: str
    retry_after: float = 0.0
    budget_crossed: bool = False  #: this attempt is the first past the store's budget


def decide(reservation: Reservation, limits: Limits, now: float) -> Verdict:
    """The verdict on one reserved attempt; pure, so the rules are tested without a store."""
    counts = reservation.counts
    crossed = counts.get(STORE, 0) == limits.store_budget + 1
    if counts.get(CONVERSATION, 0) > limits.conversation:
        return Verdict(CONVERSATION_LOCKED, budget_crossed=crossed)
    if counts.get(ORDER, 0) > limits.order:
        return Verdict(ORDER_LOCKED, budget_crossed=crossed)
    beyond = counts.get(CLIENT, 0) - limits.allowance(counts.get(STORE, 0))
    if beyond > 0 and reservation.previous_client_attempt is not None:
        wait = limits.slowdown(beyond) - (now - reservation.previous_client_attempt)
        if wait > 0:
            return Verdict(SLOWED, retry_after=wait, budget_crossed=crossed)
    return Verdict(ALLOWED, budget_crossed=crossed)


class AttemptCounter(Protocol):
    """Where attempts are counted."""

    async def reserve(self, store_id: int, subjects: Subjects) -> Reservation:
        """Count one attempt atomically in every scope; return the new counts."""

    async def release(self, reservation: Reservation) -> None:
        """Take back an attempt that never reached the store."""

    async def succeeded(self, reservation: Reservation) -> None:
        """Take back a verified attempt and clear its conversation's failures."""

    async def claim_alert(self, store_id: int, interval: float = WINDOW_SECONDS) -> bool:
        """True for exactly one caller per store and ``interval``, across every process sharing the
        counts: reservations given back let the store's count cross the budget again, and several
        replicas see crossings of their own, which must not repeat the alert."""


class DatabaseAttemptCounter:
    """Counts rows of ``lookup_attempts``. The insert and the count share one transaction,
    serialized per store: SQLite's single writer does it by itself (the insert comes first), on
    PostgreSQL a transaction-scoped advisory lock on the store does."""

    def __init__(self, sessions: "sessionmaker[Session]", window: float = WINDOW_SECONDS) -> None:
        self._sessions = sessions
        self._window = window

    def _reserve(self, store_id: int, subjects: Subjects) -> Reservation:
        pairs = subjects.pairs()
        now = datetime.now(timezone.utc)
        since = now - timedelta(seconds=self._window)
        with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": 0x7472756C, "b": store_id})
            rows = [LookupAttempt(store_id=store_id, scope=s, subject=v, created_at=now) for s, v in pairs]
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]
            counts = {}
            for scope, subject in pairs:
                counts[scope] = session.execute(
                    select(func.count()).select_from(LookupAttempt).where(
                        LookupAttempt.store_id == store_id, LookupAttempt.scope == scope,
                        LookupAttempt.subject == subject, LookupAttempt.created_at >= since,
                    )
                ).scalar_one()
            previous = None
            if subjects.client:
                latest = session.execute(
                    select(func.max(LookupAttempt.created_at)).where(
                        LookupAttempt.store_id == store_id, LookupAttempt.scope == CLIENT,
                        LookupAttempt.subject == subjects.client[:128], LookupAttempt.created_at >= since,
                        LookupAttempt.id.notin_(ids),
                    )
                ).scalar_one()
                if latest is not None:
                    previous = (latest if latest.tzinfo else latest.replace(tzinfo=timezone.utc)).timestamp()
            session.execute(delete(LookupAttempt).where(LookupAttempt.created_at < now - timedelta(seconds=2 * self._window)))
        return Reservation(store_id, subjects, counts, previous, token=ids)

    def _release(self, reservation: Reservation, clear_conversation: bool) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(LookupAttempt).where(LookupAttempt.id.in_(reservation.token)))
            if clear_conversation:
                session.execute(delete(LookupAttempt).where(
                    LookupAttempt.store_id == reservation.store_id, LookupAttempt.scope == CONVERSATION,
                    LookupAttempt.subject == reservation.subjects.conversation[:128],
                ))

    def _claim_alert(self, store_id: int, interval: float) -> bool:
        now = datetime.now(timezone.utc)
        with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": 0x7472756C, "b": store_id})
            row = LookupAttempt(store_id=store_id, scope=ALERT, subject=_STORE_SUBJECT, created_at=now)
            session.add(row)  # the insert comes first: on SQLite it takes the writer lock
            session.flush()
            earlier = session.execute(
                select(func.count()).select_from(LookupAttempt).where(
                    LookupAttempt.store_id == store_id, LookupAttempt.scope == ALERT, LookupAttempt.id != row.id,
                    LookupAttempt.created_at >= now - timedelta(seconds=interval),
                )
            ).scalar_one()
            if earlier:
                session.delete(row)
            return not earlier

    async def reserve(self, store_id: int, subjects: Subjects) -> Reservation:
        return await asyncio.get_running_loop().run_in_executor(None, self._reserve, store_id, subjects)

    async def claim_alert(self, store_id: int, interval: float = WINDOW_SECONDS) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self._claim_alert, store_id, interval)

    async def release(self, reservation: Reservation) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._release, reservation, False)

    async def succeeded(self, reservation: Reservation) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._release, reservation, True)


class RedisAttemptCounter:
    """Counts in Redis sorted sets (one per store/scope/subject) trimmed to the window; a reservation
    is one MULTI/EXEC transaction, so concurrent reservations are serialized by Redis."""

    def __init__(self, url: str, window: float = WINDOW_SECONDS) -> None:
        import redis.asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(url)
        self._window = window

    @staticmethod
    def _key(store_id: int, scope: str, subject: str) -> str:
        digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
        return f"trulybot:attempts:{store_id}:{scope}:{digest}"

    async def reserve(self, store_id: int, subjects: Subjects) -> Reservation:
        now = time.time()
        member = uuid.uuid4().hex
        pairs = subjects.pairs()
        pipe = self._redis.pipeline(transaction=True)
        for scope, subject in pairs:
            key = self._key(store_id, scope, subject)
            pipe.zremrangebyscore(key, 0, now - self._window)
            pipe.zadd(key, {member: now})
            pipe.zcard(key)
            pipe.expire(key, int(self._window) + 60)
            if scope == CLIENT:
                pipe.zrevrange(key, 1, 1, withscores=True)
        results = await pipe.execute()
        counts: Dict[str, int] = {}
        previous = None
        position = 0
        for scope, _ in pairs:
            counts[scope] = int(results[position + 2])
            position += 4
            if scope == CLIENT:
                before = results[position]
                previous = float(before[0][1]) if before else None
                position += 1
        return Reservation(store_id, subjects, counts, previous, member=member)

    async def _release(self, reservation: Reservation, clear_conversation: bool) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for scope, subject in reservation.subjects.pairs():
            key = self._key(reservation.store_id, scope, subject)
            if scope == CONVERSATION and clear_conversation:
                pipe.delete(key)
            else:
                pipe.zrem(key, reservation.member)
        await pipe.execute()

    async def release(self, reservation: Reservation) -> None:
        await self._release(reservation, False)

    async def succeeded(self, reservation: Reservation) -> None:
        await self._release(reservation, True)

    async def claim_alert(self, store_id: int, interval: float = WINDOW_SECONDS) -> bool:
        key = self._key(store_id, ALERT, _STORE_SUBJECT)
        return bool(await self._redis.set(key, str(time.time()), nx=True, px=max(1, int(interval * 1000))))


def make_attempt_counter(settings: Settings, sessions: "sessionmaker[Session]") -> AttemptCounter:
    """Redis when configured, else the app database."""
    if settings.redis_url:
        return RedisAttemptCounter(settings.redis_url)
    return DatabaseAttemptCounter(sessions)
