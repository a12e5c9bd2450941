"""The widget gateway: the public ``/ws`` socket, widget config and script, internal push, demo page.

``setup_gateway(app)`` is called once by :func:`bot.app.create_app`. The protocol is documented in
``docs/widget-protocol.md`` (contract C5 in DESIGN.md).
"""
from __future__ import annotations

import logging
from typing import AsyncIterator, Optional

from aiohttp import WSCloseCode, web

from bot import appkeys
from bot.gateway.addresses import FORWARDING, ForwardingWatch, startup_warning
from bot.gateway.config import LIMITS, GatewayLimits
from bot.gateway.push import PUSH_VERIFIER, push_handler
from bot.gateway.state import GATEWAY, Gateway
from bot.gateway.stores import StoreCache
from bot.gateway.widget_routes import (
    SCRIPT_PATHS, WIDGET_DIR, WIDGET_SCRIPT, Asset, demo_page, widget_config, widget_script,
)
from bot.gateway.ws import websocket_handler
from bot.core.signing import SignatureVerifier

__all__ = ["GATEWAY", "LIMITS", "Gateway", "GatewayLimits", "setup_gateway"]

logger = logging.getLogger(__name__)


async def _gateway_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    limits = app[LIMITS]
    redis = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5, health_check_interval=30)
    assert settings.session_secret and settings.channel_secret
    gateway = Gateway(limits, settings.session_secret, StoreCache(app[appkeys.DB_SESSIONS], limits.store_cache_seconds),
                      lambda: app[appkeys.RASA], redis)
    app[GATEWAY] = gateway
    app[PUSH_VERIFIER] = SignatureVerifier(settings.channel_secret)
    if redis is not None:
        await gateway.hub.start_redis(redis, limits.redis_channel)
    yield
    await gateway.hub.stop_redis()
    if redis is not None:
        await redis.close()


async def _close_sockets(app: web.Application) -> None:
    """On shutdown tell every widget to reconnect (1001) instead of hanging until the TCP drop."""
    gateway = app.get(GATEWAY)
    if gateway is None:
        return
    for ws in list(gateway.sockets):
        try:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restarting")
        except Exception:  # noqa: BLE001
            pass


async def _warn_about_proxies(app: web.Application) -> None:
    settings = app[appkeys.SETTINGS]
    warning = startup_warning(settings.host, settings.trusted_proxies)
    if warning:
        logging.getLogger(__name__).warning(warning)


def setup_gateway(app: web.Application, limits: Optional[GatewayLimits] = None) -> None:
    """Register the gateway's routes and lifecycle on the bot service application."""
    app[LIMITS] = limits or GatewayLimits()
    app[FORWARDING] = ForwardingWatch()
    app.on_startup.append(_warn_about_proxies)
    app[WIDGET_SCRIPT] = Asset.load(WIDGET_DIR / "widget.js")
    app.cleanup_ctx.append(_gateway_ctx)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_post("/internal/push", push_handler)
    app.router.add_get("/api/widget/config/{widget_id}", widget_config)
    for path in SCRIPT_PATHS:
        app.router.add_get(path, widget_script)
    app.router.add_get("/demo", demo_page)
