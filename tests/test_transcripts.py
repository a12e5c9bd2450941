"""Erasing shoppers' transcripts from Rasa's tracker store (privacy webhooks)."""
from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from bot.core.db import make_engine
from bot.rasa.stores import SettingsSQLTrackerStore
from bot.services.transcripts import conversations_of_store, delete_conversations


async def _conversation(store, sender: str, store_id: int) -> None:
    tracker = DialogueStateTracker(sender, [])
    tracker.update(UserUttered("where is 1001 jane@example.com", {"name": "track_order"}, metadata={"store_id": store_id}))
    tracker.update(BotUttered("Your order #1001 shipped"))
    await store.save(tracker)


async def test_conversations_of_a_store_are_found_and_erased(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/tracker.db"
    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", url)
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    await _conversation(store, "c-1", 1)
    await _conversation(store, "c-2", 1)
    await _conversation(store, "c-3", 2)
    engine = make_engine(url)
    assert conversations_of_store(engine, 1) == ["c-1", "c-2"]
    assert delete_conversations(engine, ["c-1", "c-2"]) == 4
    with engine.connect() as connection:
        senders = {row[0] for row in connection.execute(text("SELECT DISTINCT sender_id FROM events"))}
    assert senders == {"c-3"}
    assert "jane" not in str(await store.retrieve("c-1"))
    assert delete_conversations(engine, []) == 0


def test_missing_tracker_table_is_not_an_error(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    assert conversations_of_store(engine, 1) == [] and delete_conversations(engine, ["x"]) == 0


async def test_export_lists_messages_of_each_conversation(tmp_path, monkeypatch):
    from bot.services.transcripts import export_conversations

    url = f"sqlite:///{tmp_path}/tracker.db"
    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", url)
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    await _conversation(store, "c-1", 1)
    exported = export_conversations(make_engine(url), ["c-1", "c-unknown"])
    assert [m["role"] for m in exported["c-1"]] == ["user", "bot"]
    assert exported["c-1"][1]["text"] == "Your order #1001 shipped"
    assert exported["c-unknown"] == []
