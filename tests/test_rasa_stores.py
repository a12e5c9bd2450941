"""Rasa's tracker and lock stores as configured by TRULYBOT_* settings: SQLite, PostgreSQL, Redis."""
from __future__ import annotations

import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.stores import SettingsLockStore, SettingsSQLTrackerStore
from tests.support.servers import require_postgres, require_redis

DOMAIN = Domain.from_path("domain.yml")


async def _round_trip(store: SettingsSQLTrackerStore) -> None:
    sender = "t-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered("where is my order", {"name": "track_order", "confidence": 1.0}))
    tracker.update(ActionExecuted("order_lookup_form"))
    await store.save(tracker)
    loaded = await store.retrieve(sender)
    assert loaded is not None
    assert [e.as_dict()["event"] for e in loaded.events] == ["user", "action"]
    assert loaded.latest_message.text == "where is my order"


async def test_sqlite_tracker_store_from_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", f"sqlite:///{tmp_path}/nested/tracker.db")
    store = SettingsSQLTrackerStore(domain=DOMAIN)
    assert store.engine.url.get_backend_name() == "sqlite"
    await _round_trip(store)
    assert (tmp_path / "nested" / "tracker.db").exists()


async def test_postgresql_tracker_store_from_settings(monkeypatch):
    url = require_postgres()
    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", url)
    store = SettingsSQLTrackerStore(domain=DOMAIN)
    assert store.engine.url.get_backend_name() == "postgresql"
    await _round_trip(store)


def test_lock_store_is_in_memory_without_redis(monkeypatch):
    monkeypatch.delenv("TRULYBOT_REDIS_URL", raising=False)
    monkeypatch.delenv("TRULYBOT_LOCK_STORE_URL", raising=False)
    assert isinstance(SettingsLockStore(), InMemoryLockStore)


def test_several_rasa_workers_need_redis_locks(monkeypatch):
    monkeypatch.delenv("TRULYBOT_REDIS_URL", raising=False)
    monkeypatch.delenv("TRULYBOT_LOCK_STORE_URL", raising=False)
    monkeypatch.setenv("SANIC_WORKERS", "2")
    with pytest.raises(RuntimeError, match="TRULYBOT_REDIS_URL"):
        SettingsLockStore()


async def test_redis_lock_store_serialises_a_conversation(monkeypatch):
    url = require_redis()
    monkeypatch.setenv("TRULYBOT_REDIS_URL", url)
    store = SettingsLockStore()
    assert isinstance(store, RedisLockStore)
    conversation = "c-" + uuid.uuid4().hex
    first = store.issue_ticket(conversation)
    second = store.issue_ticket(conversation)
    assert second == first + 1
    lock = store.get_lock(conversation)
    assert lock.is_locked(second) and not lock.is_locked(first)
    # A second lock store (another Rasa worker) sees the same lock.
    assert SettingsLockStore().get_lock(conversation).last_issued == second
    store.cleanup(conversation, first)
    store.cleanup(conversation, second)
