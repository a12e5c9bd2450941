"""``GET /health`` (contract C3): 200 when the database, Rasa and the action server answer."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Dict

import aiohttp
from aiohttp import web

from bot import appkeys
from bot.core.db import ping
from bot.gateway.addresses import FORWARDING
from bot.rasa.client import RasaUnavailable

CHECK_TIMEOUT = 3.0


async def _timed(check: Callable[[], Awaitable[None]]) -> Dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except asyncio.TimeoutError:
        return {"status": "error", "error": f"no answer within {CHECK_TIMEOUT:.0f} s"}
    except Exception as exc:  # noqa: BLE001 - any failure makes the component unhealthy
        return {"status": "error", "error": _describe(exc)}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RasaUnavailable):
        return str(exc)
    if isinstance(exc, aiohttp.ClientError):
        return f"not reachable ({exc.__class__.__name__})"
    return exc.__class__.__name__


async def health(request: web.Request) -> web.Response:
    """Check every component concurrently and answer 200 or 503 naming the failures."""
    app = request.app
    settings = app[appkeys.SETTINGS]
    engine = app[appkeys.DB_ENGINE]
    session = app[appkeys.HTTP]
    loop = asyncio.get_running_loop()

    async def database() -> None:
        await loop.run_in_executor(None, ping, engine)

    async def action_server() -> None:
        async with session.get(settings.actions_url + "/health", timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as resp:
            if resp.status != 200:
                raise RuntimeError(f"action server answered {resp.status}")

    names = ("database", "rasa", "action_server")
    results = await asyncio.gather(_timed(database), _timed(app[appkeys.RASA].health), _timed(action_server))
    components = dict(zip(names, results))
    failing = [name for name, result in components.items() if result["status"] != "ok"]
    body: Dict[str, Any] = {"status": "ok" if not failing else "error", "components": components}
    if failing:
        body["failing"] = failing
    watch = app.get(FORWARDING)
    if watch is not None and watch.warning:
        body["warnings"] = [watch.warning]  # reported, not failing: the service still works
    return web.json_response(body, status=200 if not failing else 503, headers={"Cache-Control": "no-store"})


async def live(_request: web.Request) -> web.Response:
    """Liveness of the bot service process itself (no dependencies checked)."""
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})
