"""The write-through tracker cache of ``SettingsSQLTrackerStore``: a turn reuses the tracker its previous
turn saved, saves insert only new events, and anything else writing the conversation's rows (another
Rasa replica, an erasure) makes the next retrieve load from the database again."""
from __future__ import annotations

import uuid
from typing import List

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.stores import SettingsSQLTrackerStore
from tests.support.servers import require_postgres

DOMAIN = Domain.from_path("domain.yml")


class Statements:
    """SQL statements an engine runs, to see what a save or retrieve did."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.seen: List[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        rows = len(parameters) if executemany and isinstance(parameters, (list, tuple)) else 1
        self.seen.extend([statement.split()[0].upper() + (" DATA" if "events.data" in statement else "")] * rows)

    def take(self) -> List[str]:
        out, self.seen = self.seen, []
        return out


def turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "help", "confidence": 1.0}))
    tracker.update(ActionExecuted("utter_help"))
    tracker.update(BotUttered("I can track your orders"))
    tracker.update(ActionExecuted("action_listen"))


def rows(store: SettingsSQLTrackerStore, sender: str) -> List[str]:
    with store.session_scope() as session:
        return [r.type_name for r in session.query(store.SQLEvent).filter_by(sender_id=sender).order_by(store.SQLEvent.id)]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "postgresql":
        return require_postgres()
    return f"sqlite:///{tmp_path}/tracker.db"


@pytest.fixture
def make_store(monkeypatch, store_url):
    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", store_url)

    def make(cache: int = 50) -> SettingsSQLTrackerStore:
        monkeypatch.setenv("TRULYBOT_TRACKER_CACHE_SIZE", str(cache))
        return SettingsSQLTrackerStore(domain=DOMAIN)

    return make


async def test_a_turn_reuses_the_saved_tracker_and_saves_only_new_events(make_store):
    store = make_store()
    sql = Statements(store.engine)
    sender = "c-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    turn(tracker, "help")
    await store.save(tracker)
    for n in range(30):
        sql.take()
        again = await store.retrieve(sender)
        assert again is tracker  # no rows read, nothing deserialised
        assert "SELECT DATA" not in sql.take()
        turn(again, f"help {n}")
        await store.save(again)
        assert sql.take().count("INSERT") == 4  # the turn's four events, nothing older
    assert len(rows(store, sender)) == len(tracker.events) == 3 + 4 * 31

    fresh = make_store()  # a restarted Rasa: loads the session from the database
    loaded = await fresh.retrieve(sender)
    assert loaded is not tracker
    assert [e.as_dict() for e in loaded.events] == [e.as_dict() for e in tracker.events][1:]  # session rows only


async def test_a_new_conversation_as_rasa_creates_it_is_cached_from_its_first_save(make_store):
    store = make_store()
    sql = Statements(store.engine)
    sender = "c-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)  # get_or_create_tracker: a listen, then the session
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    turn(tracker, "help")
    await store.save(tracker)
    sql.take()
    assert await store.retrieve(sender) is tracker
    assert "SELECT DATA" not in sql.take()
    # a second session start: a retrieve would load only the new session, so the tracker is reloaded
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    await store.save(tracker)
    again = await store.retrieve(sender)
    assert again is not tracker and isinstance(again.events[0], SessionStarted)


async def test_rows_written_elsewhere_are_loaded_and_nothing_is_lost_or_duplicated(make_store):
    ours, other = make_store(), make_store()  # two Rasa replicas sharing the database
    sender = "c-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    turn(tracker, "first")
    await ours.save(tracker)
    assert await ours.retrieve(sender) is tracker

    theirs = await other.retrieve(sender)
    turn(theirs, "second, on the other replica")
    await other.save(theirs)

    mine = await ours.retrieve(sender)
    assert mine is not tracker and [e.text for e in mine.events if isinstance(e, UserUttered)] == [
        "first", "second, on the other replica"]
    turn(mine, "third")
    await ours.save(mine)
    assert rows(ours, sender) == ["user", "action", "bot", "action"] * 3


async def test_a_save_racing_another_writer_keeps_both_turns(make_store):
    ours, other = make_store(), make_store()
    sender = "c-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    turn(tracker, "first")
    await ours.save(tracker)
    cached = await ours.retrieve(sender)
    theirs = await other.retrieve(sender)
    turn(theirs, "written meanwhile")
    await other.save(theirs)
    turn(cached, "ours")
    await ours.save(cached)  # the rows moved on under us: both turns are kept, none twice
    assert len(rows(ours, sender)) == 12


async def test_an_erased_conversation_is_not_served_from_memory(make_store):
    store = make_store()
    sender = "c-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    turn(tracker, "my email is jane@example.com")
    await store.save(tracker)
    with store.session_scope() as session:
        session.query(store.SQLEvent).filter_by(sender_id=sender).delete()
        session.commit()
    assert await store.retrieve(sender) is None


async def test_a_tracker_changed_but_not_saved_is_reloaded(make_store):
    store = make_store()
    sender = "c-" + uuid.uuid4().hex
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    turn(tracker, "saved")
    await store.save(tracker)
    turn(tracker, "a turn that failed before its save")
    again = await store.retrieve(sender)
    assert again is not tracker and len(again.events) == 4


async def test_the_cache_is_bounded_and_can_be_turned_off(make_store):
    store = make_store(cache=2)
    trackers = []
    for _ in range(3):
        tracker = DialogueStateTracker("c-" + uuid.uuid4().hex, DOMAIN.slots)
        turn(tracker, "hi")
        await store.save(tracker)
        trackers.append(tracker)
    assert await store.retrieve(trackers[0].sender_id) is not trackers[0]  # evicted, loaded again
    assert await store.retrieve(trackers[2].sender_id) is trackers[2]

    off = make_store(cache=0)
    tracker = DialogueStateTracker("c-" + uuid.uuid4().hex, DOMAIN.slots)
    turn(tracker, "hi")
    await off.save(tracker)
    turn(tracker, "again")
    await off.save(tracker)
    assert await off.retrieve(tracker.sender_id) is not tracker
    assert len(rows(off, tracker.sender_id)) == 8
