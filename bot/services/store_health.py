"""Periodic store health checks (a cleanup context of the bot service).

Every ``health_check_interval`` seconds each active or failing store whose next check is due gets
``check_connection()``. Success: ``last_success_at``, failures reset, status back to ``active``.
Failure: ``last_error`` (code and a short text; never a secret), ``last_error_at``, and the next
check backs off exponentially (interval × 2^failures, at most ``health_check_max_backoff``).
Rejected credentials put the store in status ``error`` and record one ``store_error`` activity
(on the transition only, so a broken store does not flood the log). Pending stores (waiting for an
authorization callback) whose install state expired are deleted.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Dict, List, Optional

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import activity
from bot.services.db import in_db
from bot.services.keys import API_CONFIG, HEALTH_CHECKER
from bot.services.metrics import STORE_CONNECTIONS
from bot.services.platforms import call, connection_for
from bot.services.install_state import pending_expiry
from bot.services.store_errors import StoreError, error_values, from_exception
from bot.core.db.models import StoreIntegration, utcnow

logger = logging.getLogger(__name__)

CONCURRENCY = 4
CHECK_TIMEOUT = 20.0


def _parse(value: Any) -> Optional[datetime]:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def backoff_seconds(interval: float, failures: int, maximum: float) -> float:
    """Delay before the next check after ``failures`` consecutive failures."""
    if failures <= 0:
        return interval
    return min(maximum, interval * (2 ** min(failures, 20)))


def _due(session: Session, app: web.Application, now: datetime) -> List[Dict[str, Any]]:
    stores = session.execute(select(StoreIntegration).where(StoreIntegration.status.in_(("active", "error")))).scalars()
    due = []
    for store in stores:
        health = (store.config or {}).get("health") or {}
        next_at = _parse(health.get("next_check_at"))
        if next_at is not None and next_at > now:
            continue
        try:
            conn = connection_for(app, store)
        except Exception as exc:  # noqa: BLE001 - undecryptable credentials are a store error too
            due.append({"id": store.id, "conn": None, "error": StoreError.of("credentials_unreadable")})
            continue
        due.append({"id": store.id, "conn": conn, "error": None})
    return due


def _expire_pending(session: Session, now: datetime) -> int:
    stores = session.execute(select(StoreIntegration).where(StoreIntegration.status == "pending")).scalars()
    removed = 0
    for store in stores:
        expires = pending_expiry(store.config)
        if expires is None or expires < now:
            session.delete(store)
            removed += 1
    return removed


def _record(session: Session, app: web.Application, store_id: int, ok: bool, error: Optional[StoreError],
            auth_failed: bool) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None or store.status not in ("active", "error"):
        return
    config = app[API_CONFIG]
    now = utcnow()
    health = dict((store.config or {}).get("health") or {})
    store.last_checked_at = now
    if ok:
        health.update(failures=0, credentials_valid=True)
        store.last_success_at = now
        if store.status == "error":
            store.status = "active"
            activity.record_activity(session, store.user_id, activity.STORE_ERROR, "Store connection recovered", store.id,
                                     {"recovered": True})
    else:
        failures = int(health.get("failures") or 0) + 1
        health["failures"] = failures
        for column, value in error_values(error or StoreError.of("store_error"), now).items():
            setattr(store, column, value)
        if auth_failed:
            health["credentials_valid"] = False
            if store.status != "error":
                store.status = "error"
                activity.record_activity(session, store.user_id, activity.STORE_ERROR,
                                         "Store rejected TrulyBot's credentials", store.id,
                                         {"error": store.last_error, "code": store.last_error_code})
    delay = backoff_seconds(config.health_check_interval, int(health.get("failures") or 0), config.health_check_max_backoff)
    health["next_check_at"] = (now + timedelta(seconds=delay)).isoformat()
    store.config = {**(store.config or {}), "health": health}


async def check_store(app: web.Application, item: Dict[str, Any]) -> bool:
    from plugins.errors import StoreAuthError, StoreConfigError

    if item["conn"] is None:
        await in_db(app, _record, app, item["id"], False, item["error"], True)
        return False
    conn = item["conn"]
    try:
        await asyncio.wait_for(call(app, conn, "check_connection"), CHECK_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded
        STORE_CONNECTIONS.labels(conn.platform, "health", "error").inc()
        auth = isinstance(exc, (StoreAuthError, StoreConfigError))
        error = from_exception(exc)
        await in_db(app, _record, app, item["id"], False, error, auth)
        return False
    STORE_CONNECTIONS.labels(conn.platform, "health", "ok").inc()
    await in_db(app, _record, app, item["id"], True, None, False)
    return True


async def run_health_checks_once(app: web.Application) -> Dict[str, int]:
    """Check every due store now; returns counts (tests and ``/api`` tooling)."""
    now = utcnow()
    await in_db(app, _expire_pending, now)
    due = await in_db(app, _due, app, now)
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Dict[str, Any]) -> bool:
        async with semaphore:
            return await check_store(app, item)

    results = await asyncio.gather(*(one(i) for i in due))
    return {"checked": len(results), "ok": sum(1 for r in results if r), "failed": sum(1 for r in results if not r)}


class HealthChecker:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.task: Optional["asyncio.Task[None]"] = None
        self.runs = 0

    async def _loop(self) -> None:
        config = self.app[API_CONFIG]
        await asyncio.sleep(min(10.0, config.health_check_interval))
        while True:
            try:
                await run_health_checks_once(self.app)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the loop survives database outages
                logger.warning("store health checks skipped (%s)", type(exc).__name__)
            self.runs += 1
            await asyncio.sleep(config.health_check_interval / 5 if config.health_check_interval > 60 else config.health_check_interval)


async def health_checks_ctx(app: web.Application) -> AsyncIterator[None]:
    checker = HealthChecker(app)
    app[HEALTH_CHECKER] = checker
    if app[API_CONFIG].health_check_enabled:
        checker.task = asyncio.get_running_loop().create_task(checker._loop())
    yield
    if checker.task is not None:
        checker.task.cancel()
        try:
            await checker.task
        except asyncio.CancelledError:
            pass
