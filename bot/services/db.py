"""Running blocking SQLAlchemy work from handlers and services, with outages mapped to 503."""
from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

from aiohttp import web
from sqlalchemy import exc as sa_exc

from bot import appkeys
from bot.services.errors import ApiError, DatabaseUnavailable

T = TypeVar("T")


def is_database_outage(exc: BaseException) -> bool:
    """True for errors that mean "the database is not answering" (not a bug in a query)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and getattr(exc, "connection_invalidated", False):
        return True
    if isinstance(exc, sa_exc.ProgrammingError) and "no such table" in str(exc).lower():
        return True  # a database that was never migrated is as good as absent
    return False


def run_in_session(app: web.Application, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, *args)`` in one transaction (committed on success, rolled back otherwise)."""
    sessions = app[appkeys.DB_SESSIONS]
    with sessions.begin() as session:
        return fn(session, *args)


async def in_db(app: web.Application, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, *args)`` in a worker thread inside one transaction."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, run_in_session, app, fn, *args)
    except ApiError:
        raise
    except sa_exc.IntegrityError as exc:
        raise ApiError(409, "conflict", "the change conflicts with existing data") from exc
    except Exception as exc:
        if is_database_outage(exc):
            raise DatabaseUnavailable() from exc
        raise


__all__ = ["in_db", "run_in_session", "is_database_outage"]
