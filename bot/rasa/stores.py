"""Rasa tracker and lock stores configured from TrulyBot settings.

``endpoints.yml`` names these classes, so ``rasa run`` needs no ``${VAR}`` substitution and works
with the embedded defaults: the tracker store is SQL (``TRULYBOT_TRACKER_STORE_URL``, SQLite under
``var/`` by default, PostgreSQL by URL); the lock store is Redis when ``TRULYBOT_LOCK_STORE_URL`` or
``TRULYBOT_REDIS_URL`` is set, in memory otherwise (fine for a single Rasa worker).

The tracker store keeps a write-through cache of recent trackers (``TRULYBOT_TRACKER_CACHE_SIZE``):
a turn gets the tracker object its previous turn saved, after one cheap query confirms that the
database still holds exactly the rows this process wrote (row count and highest id of the
conversation; another replica's turn, an erasure or a purge changes them and the tracker is loaded
again), and a save inserts only the events added since. Rasa's own SQL store deserialises the whole
session on every retrieve and counts it on every save.
"""
from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from bot.core.db.engine import sqlite_pragmas
from bot.core.logs import add_redaction_to_all_handlers
from bot.core.settings import load_settings


def _spans_sessions(tracker: DialogueStateTracker) -> bool:
    """True when the tracker holds more than one session start, i.e. more than the session a retrieve
    would load. (Rasa creates a new conversation's tracker with an ``action_listen`` and starts the
    session after it: that single session start keeps the tracker cacheable.)"""
    starts = 0
    for event in tracker.events:
        if isinstance(event, SessionStarted):
            starts += 1
            if starts > 1:
                return True
    return False


@dataclass
class _Cached:
    """A tracker as last loaded or saved by this process, and the database rows it corresponds to."""

    tracker: DialogueStateTracker
    saved_events: int  # len(tracker.events) when it matched the database
    rows: int  # the conversation's row count then
    last_id: int  # its highest row id then


class SettingsSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store pointed at ``TRULYBOT_TRACKER_STORE_URL``, with a write-through cache."""

    def __init__(self, domain: Any = None, host: Optional[str] = None, event_broker: Any = None, **kwargs: Any) -> None:
        add_redaction_to_all_handlers()  # a plain `rasa run` / `rasa shell` logs redacted too
        settings = load_settings()
        url = settings.tracker_store_url
        # An event broker diffs each save against a fresh retrieve: the cache would hide the difference.
        self.cache_size = 0 if event_broker is not None else settings.tracker_cache_size
        self._cache: "collections.OrderedDict[str, _Cached]" = collections.OrderedDict()
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._use_pooled_wal_engine()
        import sqlalchemy as sa

        # Plain SQL: an ORM select costs ~0.3 ms more per call to build and compile (docs/benchmarks.md).
        table = self.SQLEvent.__tablename__
        self._count_rows = sa.text(f"SELECT count(id), max(id), sum(CASE WHEN id > :since_id THEN 1 ELSE 0 END) "
                                   f"FROM {table} WHERE sender_id = :sender_id")

    def _use_pooled_wal_engine(self) -> None:
        """SQLite: keep connections (SQLAlchemy 1.4 gives file databases a NullPool, i.e. a new
        connection per retrieve and save) and commit without an fsync each time (WAL with
        synchronous=NORMAL): the Rasa event loop blocks on every commit (docs/benchmarks.md)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.engine.url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                                  connect_args={"check_same_thread": False, "timeout": 30})

        sa.event.listen(engine, "connect", sqlite_pragmas)
        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)

    # -- write-through cache ---------------------------------------------------------------------
    def _rows(self, session: Any, sender_id: str, since_id: int = 0) -> Tuple[int, int, int]:
        """The conversation's row count, its highest row id (0 when it has none) and the number of its
        rows with an id above ``since_id``."""
        count, last_id, newer = session.execute(
            self._count_rows, {"sender_id": sender_id, "since_id": since_id}).one()
        return int(count or 0), int(last_id or 0), int(newer or 0)

    def _remember(self, sender_id: str, entry: _Cached) -> None:
        self._cache[sender_id] = entry
        self._cache.move_to_end(sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The conversation's current session: the cached tracker when the database still matches it."""
        if not self.cache_size:
            return await super().retrieve(sender_id)
        with self.session_scope() as session:
            rows, last_id, _ = self._rows(session, sender_id)
        entry = self._cache.get(sender_id)
        if (entry is not None and (entry.rows, entry.last_id) == (rows, last_id)
                and len(entry.tracker.events) == entry.saved_events):
            self._cache.move_to_end(sender_id)
            return entry.tracker
        self._cache.pop(sender_id, None)
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            # Rows written between the two queries (another replica) make the next retrieve reload.
            self._remember(sender_id, _Cached(tracker, len(tracker.events), rows, last_id))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Insert the events added since the tracker was loaded or last saved."""
        sender_id = tracker.sender_id
        entry = self._cache.pop(sender_id, None) if self.cache_size else None
        if entry is None or entry.tracker is not tracker or len(tracker.events) < entry.saved_events:
            await super().save(tracker)
            if self.cache_size and not _spans_sessions(tracker):
                with self.session_scope() as session:
                    rows, last_id, _ = self._rows(session, sender_id)
                self._remember(sender_id, _Cached(tracker, len(tracker.events), rows, last_id))
            return
        new_events = list(tracker.events)[entry.saved_events:]
        with self.session_scope() as session:
            if new_events:
                session.execute(self.SQLEvent.__table__.insert(),
                                [self._row(sender_id, event) for event in new_events])
            rows, last_id, newer = self._rows(session, sender_id, since_id=entry.last_id)
            session.commit()
        # Unchanged: the rows this process knew are all there and the only newer rows are this turn's.
        # Otherwise (another writer, possible only without a shared lock store, or an erasure) the
        # rows are kept as they are and the next retrieve loads from the database.
        unchanged = rows == entry.rows + len(new_events) and newer == len(new_events)
        if not unchanged or _spans_sessions(tracker):
            return
        self._remember(sender_id, _Cached(tracker, len(tracker.events), rows, last_id))

    def _row(self, sender_id: str, event: Any) -> Dict[str, Any]:
        """One event's column values, as Rasa's SQL store writes them."""
        import json

        from rasa.shared.nlu.constants import INTENT_NAME_KEY

        data = event.as_dict()
        return dict(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )


class SettingsLockStore:
    """Factory Rasa instantiates as a lock store; returns a Redis or in-memory lock store."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        url = load_settings().lock_store_url
        if not url:
            workers = os.environ.get("SANIC_WORKERS", "1")
            if workers.isdigit() and int(workers) > 1:
                raise RuntimeError(
                    f"SANIC_WORKERS={workers} needs a shared lock store: set TRULYBOT_REDIS_URL "
                    "(in-memory locks are per process, so two workers could answer one conversation at once)"
                )
            return InMemoryLockStore()
        parts = urlsplit(url)
        db = parts.path.lstrip("/")
        return RedisLockStore(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db) if db.isdigit() else 1,
            username=parts.username,
            password=parts.password,
            use_ssl=parts.scheme == "rediss",
            key_prefix="trulybot",
        )
