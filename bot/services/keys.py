"""Typed application keys of the merchant API."""
from __future__ import annotations

from typing import Any, Callable

from aiohttp import web

from bot.services.config import ApiConfig

API_CONFIG = web.AppKey("api_config", ApiConfig)
#: the StoreHttpClient used for every store call the bot service makes
STORE_HTTP = web.AppKey("api_store_http", object)
#: ``name -> Platform class`` (plugins.manager.get_platform; tests may replace it)
PLATFORM_FACTORY = web.AppKey("api_platform_factory", object)
#: webhook de-duplication (bot.api.dedupe.Dedupe)
DEDUPE = web.AppKey("api_dedupe", object)
#: background work queue of webhooks (bot.api.webhooks.WebhookWorker)
WEBHOOK_WORKER = web.AppKey("api_webhook_worker", object)
#: background store health checker (bot.services.store_health.HealthChecker)
HEALTH_CHECKER = web.AppKey("api_health_checker", object)
#: optional override of the proactive push (tests); default uses the gateway's hub
PUSH = web.AppKey("api_push", object)
#: extra redactors run by the privacy webhooks: callables (app, store_id, order_numbers|None) -> awaitable
REDACTORS = web.AppKey("api_redactors", list)

Push = Callable[..., Any]
