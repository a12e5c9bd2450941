"""Fault injection, hit statistics and the ``/__emulator/*`` admin routes."""
from __future__ import annotations

import asyncio
import logging
import dataclasses
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web

from plugins.http import mask_path

logger = logging.getLogger("plugins.emulator")

ADMIN_PREFIX = "/__emulator/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FAULTS_KEY = web.AppKey("faults", object)
STATS_KEY = web.AppKey("stats", object)
INFO_KEY = web.AppKey("emulator_info", dict)
ORDERS_SETTER_KEY = web.AppKey("orders_setter", object)
ORDERS_GETTER_KEY = web.AppKey("orders_getter", object)

MALFORMED_BODY = '<br />\n<b>Warning</b>: Cannot modify header information in /var/www/wp-includes/x.php</b><br />\n{"id":'


@dataclass
class Faults:
    """Fault knobs. ``*_count`` knobs apply to the next N store requests, ``*_rate`` knobs to a
    random fraction of requests. All can be changed at runtime with ``POST /__emulator/faults``.
    """

    latency_ms: float = 0.0  #: added to every store request
    error_rate: float = 0.0  #: fraction answered with ``error_status``
    error_status: int = 503
    burst_status: int = 429  #: status of the next ``burst_count`` requests
    burst_count: int = 0
    retry_after: Optional[float] = None  #: ``Retry-After`` sent with 429/503 answers
    malformed_count: int = 0  #: next N requests get 200 with a body that is not JSON
    malformed_rate: float = 0.0
    drop_count: int = 0  #: next N requests: connection closed without an answer
    drop_rate: float = 0.0
    oversize_count: int = 0  #: next N requests get 200 with a huge body
    oversize_bytes: int = 8 * 1024 * 1024
    strip_authorization: bool = False  #: ignore the Authorization header (CGI servers do that)

    def update(self, values: Dict[str, Any]) -> None:
        """Set known knobs from a JSON dict; raises ``ValueError`` for unknown names or bad types."""
        known = {f.name: f for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}")
            current = getattr(self, name)
            if name == "retry_after":
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise ValueError("retry_after must be a number or null")
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be a boolean")
            elif isinstance(current, (int, float)):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                value = type(current)(value)
            setattr(self, name, value)

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Stats:
    """Hit counts of store endpoints (admin routes are not counted)."""

    hits: int = 0
    by_path: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "hits": self.hits,
            "by_path": dict(self.by_path),
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "faults": dict(self.faults),
        }

    def reset(self) -> None:
        self.hits = 0
        self.by_path.clear()
        self.by_status.clear()
        self.faults.clear()


def _take(faults: Faults, count_name: str, rate_name: Optional[str] = None) -> bool:
    count = getattr(faults, count_name)
    if count > 0:
        setattr(faults, count_name, count - 1)
        return True
    return bool(rate_name) and random.random() < getattr(faults, rate_name)


def _fault_middleware(error_body: Callable[[int], Dict[str, Any]]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        faults: Faults = request.app[FAULTS_KEY]
        stats: Stats = request.app[STATS_KEY]
        stats.hits += 1
        stats.by_path[request.path] += 1
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000.0)
        if _take(faults, "drop_count", "drop_rate"):
            stats.faults["drop"] += 1
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        status = None
        if _take(faults, "burst_count"):
            status = faults.burst_status
        elif faults.error_rate and random.random() < faults.error_rate:
            status = faults.error_status
        if status is not None:
            stats.faults[f"status_{status}"] += 1
            stats.by_status[status] += 1
            headers = {}
            if faults.retry_after is not None and status in (429, 503):
                headers["Retry-After"] = f"{faults.retry_after:g}"
            return web.json_response(error_body(status), status=status, headers=headers)
        if _take(faults, "malformed_count", "malformed_rate"):
            stats.faults["malformed"] += 1
            stats.by_status[200] += 1
            return web.Response(text=MALFORMED_BODY, content_type="application/json")
        if _take(faults, "oversize_count"):
            stats.faults["oversize"] += 1
            stats.by_status[200] += 1
            return web.Response(body=b'{"pad":"' + b"x" * faults.oversize_bytes + b'"}', content_type="application/json")
        response = await handler(request)
        stats.by_status[response.status] += 1
        logger.info("%s %s -> %d", request.method, mask_path(request.path), response.status)
        return response

    return middleware


async def _health(request: web.Request) -> web.Response:
    info = dict(request.app[INFO_KEY])
    getter = request.app.get(ORDERS_GETTER_KEY)
    if getter is not None:
        info["orders"] = len(getter())
    return web.json_response({"status": "ok", **info})


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS_KEY].as_dict())


async def _post_faults(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    faults: Faults = request.app[FAULTS_KEY]
    if body.pop("reset", False):
        faults.__init__()  # type: ignore[misc]
    try:
        faults.update(body)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(faults.as_dict())


async def _get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS_KEY].as_dict())


async def _reset_stats(request: web.Request) -> web.Response:
    request.app[STATS_KEY].reset()
    return web.json_response(request.app[STATS_KEY].as_dict())


async def _put_orders(request: web.Request) -> web.Response:
    setter = request.app.get(ORDERS_SETTER_KEY)
    if setter is None:
        return web.json_response({"error": "not supported"}, status=404)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, list) or not all(isinstance(o, dict) for o in body):
        return web.json_response({"error": "body must be a JSON list of orders"}, status=400)
    setter(body)
    return web.json_response({"orders": len(body)})


def make_emulator_app(
    platform: str,
    *,
    error_body: Callable[[int], Dict[str, Any]],
    faults: Optional[Faults] = None,
    client_max_size: int = 1024 * 1024,
    middlewares: Optional[List[Any]] = None,
) -> web.Application:
    """An aiohttp app with fault injection, stats and the admin routes:

    ``GET /__emulator/health``, ``GET|POST /__emulator/faults``, ``GET /__emulator/stats``,
    ``POST /__emulator/stats/reset``, ``PUT /__emulator/orders``.
    """
    app = web.Application(
        middlewares=[_fault_middleware(error_body), *(middlewares or [])], client_max_size=client_max_size
    )
    app[FAULTS_KEY] = faults or Faults()
    app[STATS_KEY] = Stats()
    app[INFO_KEY] = {"platform": platform}
    app.router.add_get(ADMIN_PREFIX + "health", _health)
    app.router.add_get(ADMIN_PREFIX + "faults", _get_faults)
    app.router.add_post(ADMIN_PREFIX + "faults", _post_faults)
    app.router.add_get(ADMIN_PREFIX + "stats", _get_stats)
    app.router.add_post(ADMIN_PREFIX + "stats/reset", _reset_stats)
    app.router.add_put(ADMIN_PREFIX + "orders", _put_orders)
    return app
