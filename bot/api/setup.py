"""Mounting the merchant API on the bot service (``bot.api.setup_api``)."""
from __future__ import annotations

import importlib
import logging
from typing import AsyncIterator

from aiohttp import web

from bot import appkeys
from bot.services.config import load_api_config
from bot.api.errors import error_middleware
from bot.services.keys import API_CONFIG, REDACTORS, STORE_HTTP
from bot.services.metrics import metrics_handler, setup_metrics
from bot.api.registry import register_routes

logger = logging.getLogger(__name__)

#: modules whose ``@route`` declarations make up the API
ROUTE_MODULES = (
    "bot.api.integrations",
    "bot.api.install",
    "bot.api.webhooks",
    "bot.api.exports",
    "bot.api.widget",
    "bot.api.activities",
    "bot.api.handoffs",
    "bot.api.openapi",
)


def load_route_modules() -> None:
    for name in ROUTE_MODULES:
        importlib.import_module(name)


async def _store_http(app: web.Application) -> AsyncIterator[None]:
    from plugins.http import StoreHttpClient
    from plugins.netguard import AddressPolicy

    if STORE_HTTP not in app:
        loopback_ports = app[appkeys.SETTINGS].store_loopback_ports
        app[STORE_HTTP] = StoreHttpClient(policy=AddressPolicy.with_loopback_ports(loopback_ports))
    yield
    await app[STORE_HTTP].close()


def setup(app: web.Application) -> None:
    load_route_modules()
    app[API_CONFIG] = load_api_config(app[appkeys.SETTINGS])
    app[REDACTORS] = []
    app.middlewares.append(error_middleware)
    setup_metrics(app)
    register_routes(app)
    app.router.add_get("/metrics", metrics_handler, name="metrics")
    app.cleanup_ctx.append(_store_http)
    from bot.api.webhooks import webhook_worker_ctx
    from bot.services.store_health import health_checks_ctx

    app.cleanup_ctx.append(webhook_worker_ctx)
    app.cleanup_ctx.append(health_checks_ctx)
