"""Prometheus metrics of the bot service, served at ``GET /metrics``.

Other modules set the shared instruments directly::

    from bot.services.metrics import WS_SESSIONS, TURNS
    WS_SESSIONS.inc(); ...; WS_SESSIONS.dec()
    TURNS.labels(outcome="ok").inc()

Order lookups happen in the action server (another process); their counts are read from the
activity log (``user_activities``) at scrape time, incrementally, so no metric crosses processes.
The database-backed values are refreshed at most once per ``metrics_refresh_seconds`` (concurrent
scrapes share one refresh), so scraping cannot load the database.

Access: with ``TRULYBOT_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``;
without it, only a direct loopback peer (no ``X-Forwarded-For``: not relayed by a proxy) may scrape.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from bot import appkeys

logger = logging.getLogger(__name__)
T = TypeVar("T")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)

HTTP_REQUESTS = Counter("trulybot_http_requests_total", "HTTP requests by route, method and status",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("trulybot_http_request_duration_seconds", "HTTP request latency by route (websockets excluded)",
                         ["route", "method"], buckets=LATENCY_BUCKETS)
WS_SESSIONS = Gauge("trulybot_ws_sessions_open", "Widget websocket sessions open in this process")
TURNS = Counter("trulybot_turns_total", "Shopper turns answered by the gateway", ["outcome"])
RASA_TURN_SECONDS = Histogram("trulybot_rasa_turn_seconds",
                              "Time from queueing a shopper message for Rasa to its reply (wait in the bot service's Rasa queue, actions and store lookups included)",
                              buckets=LATENCY_BUCKETS)
ORDER_LOOKUPS = Counter("trulybot_order_lookups_total", "Order lookups recorded in the activity log, by outcome",
                        ["outcome"])
STORE_CALLS = Counter("trulybot_store_calls_total", "Store API calls made by the bot service", ["platform", "operation", "outcome"])
STORE_CALL_LATENCY = Histogram("trulybot_store_call_duration_seconds", "Store API call latency", ["platform", "operation"],
                               buckets=LATENCY_BUCKETS)
STORE_CALL_ERRORS = Counter("trulybot_store_call_errors_total", "Store API call errors by platform and error code",
                            ["platform", "code"])
STORE_CONNECTIONS = Counter("trulybot_store_connection_checks_total",
                            "Store connection checks (connect attempts and health checks) by outcome",
                            ["platform", "kind", "outcome"])
CONNECTED_STORES = Gauge("trulybot_connected_stores", "Stores by platform and status", ["platform", "status"])
WEBHOOKS = Counter("trulybot_webhooks_total", "Webhook deliveries by source, topic and result", ["source", "topic", "result"])
NOTIFICATIONS = Counter("trulybot_notifications_total", "Emails and outgoing webhooks to merchants' teams, by outcome",
                        ["channel", "purpose", "outcome"])

_TOPICS = {"orders/updated", "orders/fulfilled", "orders/cancelled", "fulfillments/create", "fulfillments/update",
           "app/uninstalled", "customers/data_request", "customers/redact", "shop/redact", "order.updated"}


def safe_topic(topic: str) -> str:
    """A bounded label value for a webhook topic (unknown topics become "other")."""
    return topic if topic in _TOPICS else "other"


async def timed_store_call(platform: str, operation: str, call: Awaitable[T]) -> T:
    """Await ``call`` and record its latency, outcome and error code."""
    started = time.perf_counter()
    try:
        result = await call
    except Exception as exc:
        code = getattr(exc, "code", None) or type(exc).__name__
        STORE_CALL_ERRORS.labels(platform, str(code)[:40]).inc()
        STORE_CALLS.labels(platform, operation, "error").inc()
        raise
    finally:
        STORE_CALL_LATENCY.labels(platform, operation).observe(time.perf_counter() - started)
    STORE_CALLS.labels(platform, operation, "ok").inc()
    return result


def _route(request: web.Request) -> str:
    try:
        info = request.match_info
        if info.http_exception is not None:
            return "unmatched"
        return info.route.resource.canonical  # type: ignore[union-attr]
    except AttributeError:
        return "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    started = time.perf_counter()
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = _route(request)
        method = request.method if request.method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS") else "OTHER"
        HTTP_REQUESTS.labels(route, method, str(status)).inc()
        if not websocket:
            HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)


class ActivityLookupFeed:
    """Feeds :data:`ORDER_LOOKUPS` from new ``order_lookup``/``lookup_lockout`` activity rows."""

    def __init__(self) -> None:
        self.last_id: Optional[int] = None

    def update(self, session: Any) -> None:
        from bot.services import activity
        from bot.core.db.models import UserActivity

        types = (activity.LOOKUP, activity.LOCKOUT)
        if self.last_id is None:  # start counting from now: counters are per process
            self.last_id = session.execute(select(func.max(UserActivity.id))).scalar() or 0
            return
        rows = session.execute(
            select(UserActivity.id, UserActivity.activity_type, UserActivity.details)
            .where(UserActivity.id > self.last_id, UserActivity.activity_type.in_(types))
            .order_by(UserActivity.id).limit(10000)
        ).all()
        for row_id, kind, details in rows:
            outcome = (details or {}).get("outcome") if isinstance(details, dict) else None
            if kind == activity.LOCKOUT:
                outcome = "lockout"
            ORDER_LOOKUPS.labels(str(outcome or "unknown")[:30]).inc()
            self.last_id = row_id
        if rows:
            self.last_id = max(self.last_id, rows[-1][0])


def update_store_gauges(session: Any) -> None:
    from bot.core.db.models import StoreIntegration

    rows = session.execute(
        select(StoreIntegration.platform, StoreIntegration.status, func.count()).group_by(StoreIntegration.platform, StoreIntegration.status)
    ).all()
    CONNECTED_STORES.clear()
    for platform, status, count in rows:
        CONNECTED_STORES.labels(platform, status).set(count)


class DatabaseGauges:
    """The database-backed metrics, refreshed at most once per ``interval`` seconds."""

    def __init__(self) -> None:
        self.feed = ActivityLookupFeed()
        self.refreshed_at: Optional[float] = None
        self.lock = asyncio.Lock()

    async def refresh(self, app: web.Application, interval: float) -> None:
        """Re-read the gauges unless they were read less than ``interval`` seconds ago."""
        async with self.lock:  # concurrent scrapes wait for one refresh instead of each running it
            now = time.monotonic()
            if self.refreshed_at is not None and now - self.refreshed_at < interval:
                return
            self.refreshed_at = now

            def run() -> None:
                with app[appkeys.DB_SESSIONS]() as session:
                    update_store_gauges(session)
                    self.feed.update(session)

            try:
                await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, run), 3.0)
            except Exception as exc:  # noqa: BLE001 - metrics still answer when the database does not
                logger.warning("metrics: database gauges not refreshed (%s)", type(exc).__name__)


_GAUGES_KEY = web.AppKey("api_database_gauges", DatabaseGauges)


def setup_metrics(app: web.Application) -> None:
    app[_GAUGES_KEY] = DatabaseGauges()
    app.middlewares.insert(0, metrics_middleware)


def _direct_loopback_peer(request: web.Request) -> bool:
    from plugins.text import is_loopback_host

    peername = request.transport.get_extra_info("peername") if request.transport is not None else None
    peer = peername[0] if isinstance(peername, (tuple, list)) and peername else ""
    return is_loopback_host(str(peer)) and "X-Forwarded-For" not in request.headers and "Forwarded" not in request.headers


def scrape_allowed(request: web.Request, token: Optional[str]) -> bool:
    """True when ``request`` may read the metrics (see the module docstring)."""
    if token:
        sent = request.headers.get("Authorization", "")
        return sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode("utf-8"), token.encode("utf-8"))
    return _direct_loopback_peer(request)


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics`` in the Prometheus text format."""
    app = request.app
    settings = app[appkeys.SETTINGS]
    if not scrape_allowed(request, settings.metrics_token):
        message = ("send the metrics token as a bearer token" if settings.metrics_token
                   else "metrics are served to loopback only; set TRULYBOT_METRICS_TOKEN to scrape from elsewhere")
        return web.json_response({"error": {"code": "unauthorized", "message": message}}, status=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"})
    from bot.services.keys import API_CONFIG

    await app[_GAUGES_KEY].refresh(app, app[API_CONFIG].metrics_refresh_seconds)
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


__all__ = ["WS_SESSIONS", "TURNS", "ORDER_LOOKUPS", "STORE_CALLS", "STORE_CALL_LATENCY", "STORE_CALL_ERRORS",
           "STORE_CONNECTIONS", "CONNECTED_STORES", "HTTP_REQUESTS", "HTTP_LATENCY", "WEBHOOKS",
           "timed_store_call", "metrics_handler", "setup_metrics"]
