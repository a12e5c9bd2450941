"""Failure counters in the database and in Redis: per conversation, per client, per store, windowed."""
from __future__ import annotations

import uuid

import pytest

from actions.attempts import DatabaseAttemptCounter, RedisAttemptCounter
from bot.core.db import Merchant, StoreIntegration, make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from tests.support.servers import require_redis


@pytest.fixture()
def db_counter(tmp_path):
    url = f"sqlite:///{tmp_path}/c.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions.begin() as session:
        merchant = Merchant(name="m")
        session.add(merchant)
        session.flush()
        for i in (1, 2):
            session.add(StoreIntegration(id=i, user_id=merchant.id, platform="woocommerce", widget_id=f"w{i}", config={}))
    return lambda window=3600: DatabaseAttemptCounter(sessions, window)


async def _exercise(counter):
    assert await counter.failures(1, "conv", "client") == 0
    for expected in (1, 2, 3):
        assert await counter.record_failure(1, "conv", "client") == expected
    assert await counter.failures(1, "conv", "other-client") == 3  # same conversation
    assert await counter.failures(1, "other-conv", "client") == 3  # same client
    assert await counter.failures(1, "other-conv", "other-client") == 0
    assert await counter.failures(2, "conv", "client") == 0  # another store
    assert await counter.failures(1, "conv", None) == 3


async def test_database_counter(db_counter):
    await _exercise(db_counter())


async def test_database_counter_forgets_after_the_window(db_counter):
    counter = db_counter(window=0.0)
    await counter.record_failure(1, "conv", "client")
    assert await counter.failures(1, "conv", "client") == 0


async def test_database_counts_survive_a_new_counter(db_counter):
    await db_counter().record_failure(1, "conv", "client")
    assert await db_counter().failures(1, "conv", "client") == 1


async def test_redis_counter():
    url = require_redis()
    counter = RedisAttemptCounter(url)
    prefix = uuid.uuid4().hex
    assert await counter.failures(1, prefix + "conv", prefix + "client") == 0
    for expected in (1, 2):
        assert await counter.record_failure(1, prefix + "conv", prefix + "client") == expected
    assert await counter.failures(1, prefix + "x", prefix + "client") == 2
    assert await counter.failures(2, prefix + "conv", prefix + "client") == 0
    assert await RedisAttemptCounter(url).failures(1, prefix + "conv", None) == 2
