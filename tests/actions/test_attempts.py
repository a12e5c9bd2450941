"""Attempt counters (database and Redis) and the lockout rules: atomic reservations per
conversation, address group, order number and store; slowdown; release and reset."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from actions.attempts import (
    ALLOWED, CLIENT, CONVERSATION, CONVERSATION_LOCKED, ORDER, ORDER_LOCKED, SLOWED, STORE,
    DatabaseAttemptCounter, Limits, RedisAttemptCounter, Reservation, Subjects, decide,
)
from bot.core.db import Merchant, StoreIntegration, make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from tests.support.servers import require_postgres, require_redis

LIMITS = Limits(conversation=5, order=5, address_free=20, address_free_over_budget=3,
                slowdown_base=2.0, slowdown_max=900.0, store_budget=200)


def _reservation(previous=None, **counts):
    return Reservation(1, Subjects("c", "a", "1001"), {CONVERSATION: 1, CLIENT: 1, ORDER: 1, STORE: 1, **counts}, previous)


def test_rules():
    assert decide(_reservation(), LIMITS, 0).outcome == ALLOWED
    assert decide(_reservation(conversation=5), LIMITS, 0).outcome == ALLOWED  # the fifth try is allowed
    assert decide(_reservation(conversation=6), LIMITS, 0).outcome == CONVERSATION_LOCKED
    assert decide(_reservation(order=5), LIMITS, 0).outcome == ALLOWED  # the fifth try on an order is allowed
    assert decide(_reservation(order=6), LIMITS, 0).outcome == ORDER_LOCKED
    # the address: 20 free, then each try waits 2, 4, 8 ... s after the previous one, never a wall
    assert decide(_reservation(previous=99.9, client=20), LIMITS, 100).outcome == ALLOWED
    slowed = decide(_reservation(previous=99.0, client=21), LIMITS, 100)
    assert slowed.outcome == SLOWED and slowed.retry_after == pytest.approx(1.0)
    assert decide(_reservation(previous=97.9, client=21), LIMITS, 100).outcome == ALLOWED
    assert decide(_reservation(previous=98.0, client=21), LIMITS, 100).outcome == ALLOWED  # the wait is exactly over
    assert decide(_reservation(previous=95.0, client=23), LIMITS, 100).retry_after == pytest.approx(3.0)
    assert decide(_reservation(previous=0.0, client=500), LIMITS, 901).outcome == ALLOWED  # capped at 15 min
    # past the store's budget an address gets 3 free failures; the first attempt past it raises the alert
    over = decide(_reservation(previous=99.5, client=4, store=201), LIMITS, 100)
    assert over.outcome == SLOWED and over.budget_crossed
    assert not decide(_reservation(previous=99.5, client=4, store=202), LIMITS, 100).budget_crossed


@pytest.fixture()
def sqlite_sessions(tmp_path):
    url = f"sqlite:///{tmp_path}/c.db"
    upgrade(url)
    return _with_stores(make_sessionmaker(make_engine(url)))


def _with_stores(sessions):
    with sessions.begin() as session:
        merchant = Merchant(name="m")
        session.add(merchant)
        session.flush()
        ids = []
        for _ in (1, 2):
            store = StoreIntegration(user_id=merchant.id, platform="woocommerce", widget_id=uuid.uuid4().hex, config={})
            session.add(store)
            session.flush()
            ids.append(store.id)
    sessions.store_ids = ids
    return sessions


@pytest.fixture()
def postgres_sessions():
    url = require_postgres()
    upgrade(url)
    return _with_stores(make_sessionmaker(make_engine(url)))


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def counter_and_stores(request, tmp_path):
    if request.param == "redis":
        require_redis()
        return RedisAttemptCounter(require_redis()), [10_000 + uuid.uuid4().int % 10**9, 20_000 + uuid.uuid4().int % 10**9]
    sessions = request.getfixturevalue(f"{request.param}_sessions")
    return DatabaseAttemptCounter(sessions), sessions.store_ids


async def test_counts_per_scope(counter_and_stores):
    counter, (store, other_store) = counter_and_stores
    tag = uuid.uuid4().hex
    first = await counter.reserve(store, Subjects(tag + "conv", tag + "addr", tag + "1001"))
    assert first.counts == {CONVERSATION: 1, STORE: 1, CLIENT: 1, ORDER: 1} and first.previous_client_attempt is None
    second = await counter.reserve(store, Subjects(tag + "conv", tag + "other-addr", tag + "1002"))
    assert second.counts == {CONVERSATION: 2, STORE: 2, CLIENT: 1, ORDER: 1}
    third = await counter.reserve(store, Subjects(tag + "conv2", tag + "addr", tag + "1001"))
    assert third.counts == {CONVERSATION: 1, STORE: 3, CLIENT: 2, ORDER: 2}
    assert third.previous_client_attempt is not None
    elsewhere = await counter.reserve(other_store, Subjects(tag + "conv", tag + "addr", tag + "1001"))
    assert elsewhere.counts == {CONVERSATION: 1, STORE: 1, CLIENT: 1, ORDER: 1}
    # a released attempt no longer counts; success also clears the conversation's failures
    await counter.release(third)
    again = await counter.reserve(store, Subjects(tag + "conv2", tag + "addr", tag + "1001"))
    assert again.counts[CLIENT] == 2 and again.counts[ORDER] == 2
    await counter.succeeded(second)
    after = await counter.reserve(store, Subjects(tag + "conv", tag + "addr"))
    assert after.counts[CONVERSATION] == 1 and ORDER not in after.counts


async def test_concurrent_reservations_each_see_their_own_count(counter_and_stores):
    counter, (store, _) = counter_and_stores
    tag = uuid.uuid4().hex
    reservations = await asyncio.gather(*[counter.reserve(store, Subjects(tag + "conv", tag + "addr")) for _ in range(12)])
    assert sorted(r.counts[CONVERSATION] for r in reservations) == list(range(1, 13))
    allowed = [r for r in reservations if decide(r, LIMITS, 0).outcome == ALLOWED]
    assert len(allowed) == LIMITS.conversation


async def test_database_counter_forgets_after_the_window(sqlite_sessions):
    store = sqlite_sessions.store_ids[0]
    counter = DatabaseAttemptCounter(sqlite_sessions, window=0.0)
    await counter.reserve(store, Subjects("conv", "addr"))
    assert (await counter.reserve(store, Subjects("conv", "addr"))).counts[CONVERSATION] == 1


async def test_database_counts_survive_a_new_counter(sqlite_sessions):
    store = sqlite_sessions.store_ids[0]
    await DatabaseAttemptCounter(sqlite_sessions).reserve(store, Subjects("conv", "addr"))
    assert (await DatabaseAttemptCounter(sqlite_sessions).reserve(store, Subjects("conv", "addr"))).counts[CONVERSATION] == 2


async def test_budget_alert_goes_out_once_per_store_across_replicas(counter_and_stores):
    """Two limiter instances sharing the store (two replicas): one alert per store and interval."""
    counter, (store, other_store) = counter_and_stores
    if isinstance(counter, RedisAttemptCounter):
        twin = RedisAttemptCounter(require_redis())
    else:
        url = counter._sessions.kw["bind"].url.render_as_string(hide_password=False)
        twin = DatabaseAttemptCounter(make_sessionmaker(make_engine(url)))  # its own engine, like another process
    claims = await asyncio.gather(*[c.claim_alert(store) for c in (counter, twin) * 4])
    assert sum(claims) == 1, claims
    assert not await twin.claim_alert(store) and not await counter.claim_alert(store)
    # another store has its own alert, which goes out again once its interval has passed
    assert await twin.claim_alert(other_store, interval=1.0) and not await counter.claim_alert(other_store, interval=1.0)
    await asyncio.sleep(1.1)
    assert await counter.claim_alert(other_store, interval=1.0)


async def test_long_subjects_are_counted_by_their_first_128_characters(counter_and_stores):
    """The counters key on at most 128 characters of a conversation id, address or order key."""
    counter, (store, _) = counter_and_stores
    tag = uuid.uuid4().hex
    base = (tag * 8)[:128]
    first = await counter.reserve(store, Subjects(base + "x", base + "1", base + "A"))
    second = await counter.reserve(store, Subjects(base + "y", base + "2", base + "B"))
    assert first.counts == {CONVERSATION: 1, STORE: 1, CLIENT: 1, ORDER: 1}
    assert second.counts == {CONVERSATION: 2, STORE: 2, CLIENT: 2, ORDER: 2}
    assert second.previous_client_attempt is not None
