"""Rasa tracker and lock stores configured from TrulyBot settings.

``endpoints.yml`` names these classes, so ``rasa run`` needs no ``${VAR}`` substitution and works
with the embedded defaults: the tracker store is SQL (``TRULYBOT_TRACKER_STORE_URL``, SQLite under
``var/`` by default, PostgreSQL by URL); the lock store is Redis when ``TRULYBOT_LOCK_STORE_URL`` or
``TRULYBOT_REDIS_URL`` is set, in memory otherwise (fine for a single Rasa worker).
"""
from __future__ import annotations

import os
from typing import Any, Optional
from urllib.parse import urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore

from bot.core.logs import add_redaction_to_all_handlers
from bot.core.settings import load_settings


class SettingsSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store pointed at ``TRULYBOT_TRACKER_STORE_URL``."""

    def __init__(self, domain: Any = None, host: Optional[str] = None, event_broker: Any = None, **kwargs: Any) -> None:
        add_redaction_to_all_handlers()  # a plain `rasa run` / `rasa shell` logs redacted too
        url = load_settings().tracker_store_url
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._use_pooled_wal_engine()

    def _use_pooled_wal_engine(self) -> None:
        """SQLite: keep connections (SQLAlchemy 1.4 gives file databases a NullPool, i.e. a new
        connection per retrieve and save) and commit without an fsync each time (WAL with
        synchronous=NORMAL): the Rasa event loop blocks on every commit (docs/benchmarks.md)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.engine.url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                                  connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)


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
