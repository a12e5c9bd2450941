"""Transcripts and the email index are purged after the retention period; newer ones stay."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select, text

from bot.core.db import ConversationSubject, Merchant, StoreIntegration, make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from bot.core.settings import load_settings
from bot.rasa.stores import SettingsSQLTrackerStore
from bot.services.privacy import purge_expired


async def _conversation(store, sender, at):
    tracker = DialogueStateTracker(sender, [])
    tracker.update(UserUttered("where is 1001, jane@example.com", {"name": "track_order"}, metadata={"store_id": 1}, timestamp=at))
    tracker.update(BotUttered("Which postcode?", timestamp=at + 1))
    await store.save(tracker)


def test_the_default_retention_is_90_days(tmp_path):
    settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path)})
    assert settings.transcript_retention_days == 90 and settings.export_retention_days == 30


async def test_quiet_conversations_and_old_index_rows_are_purged(tmp_path, monkeypatch):
    tracker_url = f"sqlite:///{tmp_path}/tracker.db"
    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", tracker_url)
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    now = time.time()
    await _conversation(store, "c-old", now - 91 * 86400)
    await _conversation(store, "c-new", now - 89 * 86400)
    app_url = f"sqlite:///{tmp_path}/app.db"
    upgrade(app_url)
    sessions = make_sessionmaker(make_engine(app_url))
    with sessions.begin() as session:
        merchant = Merchant(name="m", email="m@example.com")
        session.add(merchant)
        session.flush()
        shop = StoreIntegration(user_id=merchant.id, platform="woocommerce", widget_id="w", display_name="W", store_url="https://s.example", config={})
        session.add(shop)
        session.flush()
        session.add(ConversationSubject(store_id=shop.id, conversation_id="c-old", email_hash="a" * 64,
                                        created_at=datetime.now(timezone.utc) - timedelta(days=91)))
        session.add(ConversationSubject(store_id=shop.id, conversation_id="c-new", email_hash="b" * 64))
    engine = make_engine(tracker_url)
    report = purge_expired(sessions, engine, tmp_path, transcript_days=90, export_days=30, now=now)
    assert report.conversations == 1 and report.index_rows == 1
    with engine.connect() as connection:
        senders = {row[0] for row in connection.execute(text("SELECT DISTINCT sender_id FROM events"))}
    assert senders == {"c-new"}
    with sessions() as session:
        assert [r.conversation_id for r in session.execute(select(ConversationSubject)).scalars()] == ["c-new"]
