"""Registering our webhooks at a store right after it connects.

WooCommerce: ``POST /wp-json/wc/v3/webhooks`` (topic ``order.updated``) with a per-store secret
that we keep encrypted in ``store.config["webhooks"]["secret_encrypted"]``.
Shopify: GraphQL ``webhookSubscriptionCreate`` for orders/updated, fulfillments/create|update and
app/uninstalled (the privacy topics are configured in the Shopify app settings, not per shop).
A failed registration never fails the connection: the store works, pushes do not, and
``webhooks.error`` in ``GET /api/integrations`` says why.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
from aiohttp import web

from bot import appkeys
from bot.api.config import ApiConfig
from bot.api.keys import API_CONFIG, STORE_HTTP
from bot.api.metrics import timed_store_call
from bot.core.crypto import associated_data
from bot.core.db.models import StoreIntegration

logger = logging.getLogger(__name__)

WOO_TOPICS = ("order.updated",)
SHOPIFY_TOPICS = ("ORDERS_UPDATED", "FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE", "APP_UNINSTALLED")
REGISTRATION_TIMEOUT = 10.0

SHOPIFY_MUTATION = """
mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
""".strip()


def webhook_secret_aad(widget_id: str) -> bytes:
    return associated_data(StoreIntegration.__tablename__, widget_id, "webhook_secret")


def woo_delivery_url(config: ApiConfig, widget_id: str) -> str:
    return f"{config.public_url}/api/webhooks/woocommerce/{widget_id}"


def shopify_delivery_url(config: ApiConfig) -> str:
    return f"{config.public_url}/api/webhooks/shopify"


def new_woo_secret(app: web.Application, widget_id: str) -> Tuple[str, str]:
    """(plaintext, encrypted) webhook secret for a WooCommerce store."""
    plain = secrets.token_urlsafe(32)
    return plain, app[appkeys.KEY_RING].encrypt(plain, webhook_secret_aad(widget_id))


def woo_secret(app: web.Application, store: StoreIntegration) -> Optional[str]:
    stored = ((store.config or {}).get("webhooks") or {}).get("secret_encrypted")
    if not stored:
        return None
    return app[appkeys.KEY_RING].decrypt(stored, webhook_secret_aad(store.widget_id))


async def register_woocommerce(app: web.Application, conn: Any, widget_id: str, secret: str) -> Tuple[List[str], Optional[str]]:
    """Create the ``order.updated`` webhook; returns (topics registered, error or None)."""
    http = app[STORE_HTTP]
    url = conn.base_url.rstrip("/") + "/wp-json/wc/v3/webhooks"
    key, csecret = conn.credentials.get("consumer_key", ""), conn.credentials.get("consumer_secret", "")
    done: List[str] = []
    for topic in WOO_TOPICS:
        body = {"name": f"TrulyBot {topic}", "topic": topic, "delivery_url": woo_delivery_url(app[API_CONFIG], widget_id),
                "secret": secret, "status": "active"}
        try:
            resp = await timed_store_call("woocommerce", "register_webhook", http.request(
                "POST", url, store_key=conn.key, platform="woocommerce", json=body,
                auth=aiohttp.BasicAuth(key, csecret), timeout=REGISTRATION_TIMEOUT, max_retries=1))
        except Exception as exc:  # noqa: BLE001 - recorded, never fatal
            return done, f"{getattr(exc, 'code', type(exc).__name__)}: webhook registration failed"
        if resp.status not in (200, 201):
            return done, f"store answered {resp.status} to the webhook registration"
        done.append(topic)
    return done, None


async def register_shopify(app: web.Application, conn: Any) -> Tuple[List[str], Optional[str]]:
    config = app[API_CONFIG]
    http = app[STORE_HTTP]
    url = conn.base_url.rstrip("/") + f"/admin/api/{config.shopify_api_version}/graphql.json"
    headers = {"X-Shopify-Access-Token": conn.credentials.get("access_token", ""), "Content-Type": "application/json"}
    done: List[str] = []
    for topic in SHOPIFY_TOPICS:
        payload = {"query": SHOPIFY_MUTATION, "variables": {
            "topic": topic, "webhookSubscription": {"callbackUrl": shopify_delivery_url(config), "format": "JSON"}}}
        try:
            resp = await timed_store_call("shopify", "register_webhook", http.request(
                "POST", url, store_key=conn.key, platform="shopify", json=payload, headers=headers,
                timeout=REGISTRATION_TIMEOUT, max_retries=1))
        except Exception as exc:  # noqa: BLE001
            return done, f"{getattr(exc, 'code', type(exc).__name__)}: webhook registration failed"
        body = resp.json_or_none()
        if resp.status != 200 or not isinstance(body, dict):
            return done, f"store answered {resp.status} to the webhook registration"
        result = ((body.get("data") or {}).get("webhookSubscriptionCreate") or {}) if isinstance(body.get("data"), dict) else {}
        errors = result.get("userErrors") or body.get("errors")
        if errors and not _already_exists(errors):
            return done, "store refused the webhook registration"
        done.append(topic)
    return done, None


def _already_exists(errors: Any) -> bool:
    try:
        return all("already" in str(e.get("message", "")).lower() for e in errors)
    except AttributeError:
        return False


async def register(app: web.Application, store_platform: str, conn: Any, widget_id: str,
                   woo_secret_plain: Optional[str] = None) -> Dict[str, Any]:
    """Register the platform's webhooks; returns ``{"topics": [...], "error": str|None}``."""
    try:
        if store_platform == "woocommerce" and woo_secret_plain:
            topics, error = await asyncio.wait_for(register_woocommerce(app, conn, widget_id, woo_secret_plain), 30)
        elif store_platform == "shopify":
            topics, error = await asyncio.wait_for(register_shopify(app, conn), 30)
        else:
            return {"topics": [], "error": "webhooks are not supported for this platform"}
    except asyncio.TimeoutError:
        topics, error = [], "webhook registration timed out"
    if error:
        logger.info("webhook registration for store %s: %s", widget_id, error)
    return {"topics": topics, "error": error}
