"""Engines and sessions for the app database."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy 1.4 engine in 2.0 mode (``future=True``) for ``url``.

    SQLite files get their directory created, WAL journaling and a busy timeout, so the bot
    service and the action server can share one file.
    """
    parsed = make_url(url)
    options: Dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 15, "check_same_thread": False}
        if database and database != ":memory:":
            # SQLAlchemy 1.4 gives file databases a NullPool: a new connection (and the pragmas
            # below) for every session, which under load multiplies the moments the bot service and
            # the action server wait for each other's locks.
            options.update(poolclass=QueuePool, pool_size=4, max_overflow=16)
    options.update(kwargs)
    engine = create_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas)
    return engine


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL journaling (readers never wait for the writer), commits without an fsync each
    (synchronous=NORMAL) and foreign keys enforced, on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> "sessionmaker[Session]":
    """Sessions in 2.0 style bound to ``engine``."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Run ``SELECT 1``; raises when the database does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
