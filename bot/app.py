"""The bot service: aiohttp application factory (public widget socket, API, health)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from bot import appkeys
from bot.core.crypto import load_key_ring
from bot.dashboard import setup_dashboard
from bot.core.db import make_engine, make_sessionmaker
from bot.api import setup_api
from bot.gateway import GatewayLimits, setup_gateway
from bot.health import health, live
from bot.rasa.client import RasaClient
from bot.rasa.queue import RasaQueue
from bot.core.settings import Settings
from bot.core.shared_secrets import with_secrets
from bot.handoff_setup import setup_handoff
from bot.services.privacy import retention_ctx
from bot.services.transcripts import setup_transcripts

logger = logging.getLogger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    engine = make_engine(settings.database_url)
    app[appkeys.DB_ENGINE] = engine
    app[appkeys.DB_SESSIONS] = make_sessionmaker(engine)
    yield
    engine.dispose()


async def _http(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30))
    app[appkeys.HTTP] = session
    assert settings.channel_secret
    queue = RasaQueue(settings.rasa_concurrency, max_wait=settings.rasa_queue_seconds)
    app[appkeys.RASA] = RasaClient(settings.rasa_url, settings.channel_secret, session, queue=queue)
    yield
    await session.close()


FAVICON = Path(__file__).resolve().parent / "dashboard" / "static" / "logo.svg"


async def favicon(_request: web.Request) -> web.Response:
    """``GET /favicon.ico``: the TrulyBot logo (SVG) for the demo page, the dashboard and the widget preview."""
    return web.Response(body=FAVICON.read_bytes(), content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


def create_app(settings: Settings) -> web.Application:
    """Build the bot service for ``settings`` (secrets filled in, key ring loaded)."""
    settings = with_secrets(settings)
    app = web.Application(client_max_size=64 * 1024)
    app[appkeys.SETTINGS] = settings
    app[appkeys.KEY_RING] = load_key_ring(settings.encryption_keys, settings.key_file, settings.demo)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_http)
    app.router.add_get("/health", health)
    app.router.add_get("/health/live", live)
    app.router.add_get("/favicon.ico", favicon)
    setup_api(app)  # merchant API, webhooks, metrics
    setup_transcripts(app)  # privacy webhooks erase transcripts from Rasa's tracker store
    app.cleanup_ctx.append(retention_ctx)  # transcripts, email index and exports past their retention
    setup_gateway(app, GatewayLimits(new_sessions_per_address=settings.new_sessions_per_address,
                                      new_sessions_per_store=settings.new_sessions_per_store))
    setup_dashboard(app)
    setup_handoff(app)  # live handoff: bus, gateway routing, inbox, notifications
    return app
