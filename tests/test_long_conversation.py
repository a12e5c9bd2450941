"""A long conversation through the real model, tracker cache and incremental states: every turn is
still answered as the first ones were, and the database holds each event exactly once."""
from __future__ import annotations

import json
import uuid

import pytest

EXPECTED = {  # message -> start of the domain response the policies must choose
    "what can you do?": "I can track your orders",
    "are you a bot?": "I'm a bot",
    "recommend me a good laptop": "Sorry, that's not something I can help with",
    "thanks": "You're welcome",
    "bye": "Bye for now",
}


@pytest.mark.slow
async def test_sixty_turns_are_predicted_like_the_first(rasa_model_path, tmp_path, monkeypatch):
    from rasa.core.agent import Agent
    from rasa.core.lock_store import InMemoryLockStore

    from bot.rasa import speedups
    from bot.rasa.stores import SettingsSQLTrackerStore

    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", f"sqlite:///{tmp_path}/tracker.db")
    monkeypatch.setenv("TRULYBOT_TRACKER_CACHE_SIZE", "10")
    speedups.apply()
    agent = Agent.load(str(rasa_model_path), lock_store=InMemoryLockStore())
    store = SettingsSQLTrackerStore(domain=agent.domain)
    agent.tracker_store = agent.processor.tracker_store = store
    sender = "long-" + uuid.uuid4().hex
    messages = list(EXPECTED)
    for n in range(60):
        text = messages[n % len(messages)]
        replies = await agent.handle_text(text, sender_id=sender)
        assert [r["text"][:len(EXPECTED[text])] for r in replies] == [EXPECTED[text]], f"turn {n + 1}: {text}"

    tracker = await store.retrieve(sender)
    with store.session_scope() as session:
        stored = session.query(store.SQLEvent).filter_by(sender_id=sender).count()
    assert stored == len(tracker.events)  # every event once: appended, never re-inserted
    reloaded = await SettingsSQLTrackerStore(domain=agent.domain).retrieve(sender)
    as_stored = [json.loads(json.dumps(e.as_dict())) for e in tracker.events]  # tuples become lists
    assert [e.as_dict() for e in reloaded.events] == as_stored[1:]  # the session's rows, as Rasa loads them
