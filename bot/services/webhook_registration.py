"""Registering and removing a store's webhooks through its platform plugin.

Deliveries for a store go to ``/api/webhooks/<platform>/<widget id>``. Platforms whose webhooks
use a per-store secret get a random one, kept encrypted in ``store.config["webhooks"]``. What the
platform registered (topics, remote ids) is kept there too, so disconnecting can remove it.
A failed registration never fails the connection: the store works, pushes do not, and
``webhooks.error`` in ``GET /api/integrations`` says why.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Dict, Optional, Tuple

from aiohttp import web

from bot import appkeys
from bot.services.config import ApiConfig
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.services.metrics import timed_store_call
from bot.services.platforms import platform_class
from bot.core.db.models import StoreIntegration
from bot.services.credentials import webhook_secret_aad
from plugins.integration import WebhookRegistration, WebhookSecret, WebhookTarget

logger = logging.getLogger(__name__)

REGISTRATION_TIMEOUT = 30.0


def delivery_url(config: ApiConfig, platform: str, widget_id: str) -> str:
    return f"{config.public_url}/api/webhooks/{platform}/{widget_id}"


def new_store_secret(app: web.Application, platform: Any, widget_id: str) -> Tuple[Optional[str], Optional[str]]:
    """(plaintext, encrypted) per-store webhook secret, or (None, None) when the platform needs none.

    The caller stores the encrypted value and counts the encryption
    (:func:`bot.services.key_usage.count_encryptions`) in the same transaction."""
    if platform.webhooks is None or platform.webhooks.secret is not WebhookSecret.PER_STORE:
        return None, None
    plain = secrets.token_urlsafe(32)
    return plain, app[appkeys.KEY_RING].encrypt(plain, webhook_secret_aad(widget_id))


def store_webhook_secret(app: web.Application, store: StoreIntegration) -> Optional[str]:
    stored = ((store.config or {}).get("webhooks") or {}).get("secret_encrypted")
    if not stored:
        return None
    return app[appkeys.KEY_RING].decrypt(stored, webhook_secret_aad(store.widget_id))


async def register(app: web.Application, conn: Any, widget_id: str, secret: Optional[str]) -> Dict[str, Any]:
    """Ask the platform to subscribe the store; returns ``{"topics", "remote_ids", "error"}``."""
    cls = platform_class(app, conn.platform)
    if cls.webhooks is None:
        return WebhookRegistration(error="webhooks are not supported for this platform").to_dict()
    platform = cls(conn, app[STORE_HTTP])
    target = WebhookTarget(url=delivery_url(app[API_CONFIG], cls.name, widget_id), secret=secret)
    try:
        result = await asyncio.wait_for(
            timed_store_call(cls.name, "register_webhook", platform.register_webhooks(target)), REGISTRATION_TIMEOUT)
    except asyncio.TimeoutError:
        result = WebhookRegistration(error="webhook registration timed out")
    except Exception as exc:  # noqa: BLE001 - recorded, never fatal
        result = WebhookRegistration(error=f"{getattr(exc, 'code', type(exc).__name__)}: webhook registration failed")
    if result.error:
        logger.info("webhook registration for store %s: %s", widget_id, result.error)
    return result.to_dict()


async def deregister(app: web.Application, conn: Any, registration: Any) -> bool:
    """Ask the platform to remove what :func:`register` created; True when it ran without error."""
    cls = platform_class(app, conn.platform)
    saved = WebhookRegistration.from_dict(registration)
    if cls.webhooks is None or not saved.remote_ids:
        return True
    try:
        await asyncio.wait_for(timed_store_call(cls.name, "deregister_webhook",
                                                cls(conn, app[STORE_HTTP]).deregister_webhooks(saved)), REGISTRATION_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - best effort: the disconnect goes on
        logger.info("webhook deregistration for store %s failed (%s)", conn.store_id, getattr(exc, "code", type(exc).__name__))
        return False
    return True
