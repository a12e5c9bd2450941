"""Public widget endpoints: config API, the widget script (``/widget.js`` and one loader URL per
installed platform, ``/api/widget/<platform>.js``: one file) and the demo page."""
from __future__ import annotations

import gzip
import hashlib
import html
import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict

from aiohttp import web

from bot import appkeys
from bot.services import activity
from bot.gateway.state import GATEWAY

WIDGET_DIR = Path(__file__).resolve().parents[1] / "widget"
#: the widget script; the second path is the loader a platform's storefront snippet names
SCRIPT_PATHS = ("/widget.js", "/api/widget/{platform}.js")
logger = logging.getLogger(__name__)
CONFIG_MAX_AGE = 60
SEEN_INTERVAL = 3600.0  # record "widget seen on <origin>" at most hourly per store and origin (per process)
_seen: Dict[tuple, float] = {}
SCRIPT_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    version: str

    @classmethod
    def load(cls, path: Path) -> "Asset":
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        return cls(body, gzip.compress(body, 9, mtime=0), f'"{digest[:32]}"', digest[:12])


WIDGET_SCRIPT = web.AppKey("widget_script", Asset)


def socket_url(public_url: str) -> str:
    """The widget socket URL of a deployment: its public URL with ws(s):// and /ws."""
    base = public_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    return "ws://" + base[len("http://"):] + "/ws" if base.startswith("http://") else base + "/ws"


def _not_modified(request: web.Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(",")) if header else False


async def widget_config(request: web.Request) -> web.Response:
    widget_id = request.match_info["widget_id"]
    cors = {"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}
    try:
        store = await request.app[GATEWAY].stores.get(widget_id)
    except Exception:  # noqa: BLE001 - database trouble is a 503, never a stack trace
        logger.exception("widget config lookup failed")
        return web.json_response({"error": "unavailable", "message": "try again in a moment"}, status=503,
                                 headers={**cors, "Cache-Control": "no-store"})
    if store is None or not store.active:
        return web.json_response({"error": "unknown_widget", "message": "this chat widget is not available"},
                                 status=404, headers={**cors, "Cache-Control": "public, max-age=30"})
    _note_seen(request, store.id, store.allowed_origins)
    body = json.dumps(store.public_config(socket_url(request.app[appkeys.SETTINGS].public_url)),
                      separators=(",", ":"), sort_keys=True).encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**cors, "ETag": etag, "Cache-Control": f"public, max-age={CONFIG_MAX_AGE}, stale-while-revalidate=600"}
    if _not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def _note_seen(request: web.Request, store_id: int, allowed: tuple) -> None:
    origin = (request.headers.get("Origin") or "").rstrip("/")
    if not origin or origin not in allowed:
        return
    now = time.monotonic()
    key = (store_id, origin)
    if _seen.get(key, -SEEN_INTERVAL) > now - SEEN_INTERVAL:
        return
    if len(_seen) > 10_000:
        _seen.clear()
    _seen[key] = now
    from bot.gateway.ws import note_activity

    note_activity(request.app, store_id, activity.WIDGET_SEEN, f"Widget loaded on {origin}"[:200], {"origin": origin[:300]})


@lru_cache(maxsize=1)
def demo_widgets() -> Dict[str, str]:
    """``{demo widget id: platform display name}`` of the installed platforms' demo stores."""
    from plugins.manager import get_emulators, get_platforms

    platforms = get_platforms()
    return {spec.demo_widget_id: platforms[name].display_name if name in platforms else name
            for name, spec in get_emulators().items() if spec.demo_widget_id}


def _installed(platform: str) -> bool:
    from plugins.manager import get_platforms

    return platform in get_platforms()


async def widget_script(request: web.Request) -> web.Response:
    platform = request.match_info.get("platform")
    if platform is not None and not _installed(platform):
        raise web.HTTPNotFound()
    asset = request.app[WIDGET_SCRIPT]
    immutable = request.query.get("v") == asset.version
    headers: Dict[str, str] = {
        "ETag": asset.etag,
        "Cache-Control": "public, max-age=31536000, immutable" if immutable
        else f"public, max-age={SCRIPT_MAX_AGE}, stale-while-revalidate=604800",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, asset.etag):
        return web.Response(status=304, headers=headers)
    body = asset.body
    if "gzip" in request.headers.get("Accept-Encoding", "").lower():
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers={**headers, "Content-Type": "application/javascript; charset=utf-8"})


async def demo_page(request: web.Request) -> web.Response:
    settings = request.app[appkeys.SETTINGS]
    if not settings.demo:
        raise web.HTTPNotFound()
    widgets = demo_widgets()
    if not widgets:
        raise web.HTTPNotFound()
    widget_id = request.query.get("store", "")
    if widget_id not in widgets:
        widget_id = next(iter(widgets))
    template = (WIDGET_DIR / "demo.html").read_text(encoding="utf-8")
    links = "".join(
        f'<a href="/demo?store={html.escape(w)}"{" aria-current=page" if w == widget_id else ""}>{html.escape(name)} store</a>'
        for w, name in widgets.items()
    )
    version = request.app[WIDGET_SCRIPT].version
    page = (template.replace("{{PLATFORM}}", html.escape(widgets[widget_id]))
            .replace("{{WIDGET_ID}}", html.escape(widget_id))
            .replace("{{SCRIPT}}", f"/widget.js?v={version}")
            .replace("{{LINKS}}", links))
    return web.Response(text=page, content_type="text/html", headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                   "connect-src 'self' ws: wss:; img-src 'self' data: https:",
    })
