"""Add-on for the Shopify emulator: webhook subscriptions and firing signed webhook deliveries
(written for the merchant API, issue 8).

``install(app)`` mounts, on an app built by :func:`plugins.shopify.emulator.create_app`:

``POST /admin/api/{version}/graphql.json`` with a ``webhookSubscriptionCreate`` mutation
    records the subscription (``topic`` enum such as ``ORDERS_UPDATED``, ``callbackUrl``) and
    answers like Shopify; ``webhookSubscriptionDelete(id)`` removes one; any other query goes to
    the emulator's GraphQL handler.
``GET /__emulator/webhooks``
    the current subscriptions.
``POST /__emulator/webhooks/fire``
    ``{"topic": "orders/updated", "payload": {...} | "order_id": 450789469, "webhook_id": "...",
    "callback_url": "..." (privacy topics: delivered there, as configured in the app settings),
    "hmac": "override" (to send a forged signature)}``: POSTs the JSON body to every subscription
    of the topic with ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body with the app
    secret), ``X-Shopify-Topic``, ``X-Shopify-Shop-Domain``, ``X-Shopify-Webhook-Id``,
    ``X-Shopify-Event-Id``, ``X-Shopify-Triggered-At``, ``X-Shopify-API-Version``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import aiohttp
from aiohttp import web

from plugins.shopify.emulator_keys import INVALID_TOKEN_BODY, STATE_KEY

SUBSCRIPTIONS_KEY = web.AppKey("shopify_emulator_webhooks", list)
_ids = itertools.count(1)


def webhook_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def topic_name(enum_value: str) -> str:
    """``ORDERS_UPDATED`` → ``orders/updated``; ``APP_UNINSTALLED`` → ``app/uninstalled``."""
    first, _, rest = enum_value.lower().partition("_")
    return f"{first}/{rest}"


async def _subscribe(request: web.Request, body: Dict[str, Any]) -> web.Response:
    state = request.app[STATE_KEY]
    if request.headers.get("X-Shopify-Access-Token", "") not in state.tokens:
        return web.json_response(INVALID_TOKEN_BODY, status=401)
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    topic = variables.get("topic")
    sub = variables.get("webhookSubscription") if isinstance(variables.get("webhookSubscription"), dict) else {}
    url = sub.get("callbackUrl")
    if not isinstance(topic, str) or not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return web.json_response({"data": {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [
            {"field": ["webhookSubscription", "callbackUrl"], "message": "Address is invalid"}]}}})
    for existing in request.app[SUBSCRIPTIONS_KEY]:
        if existing["topic"] == topic and existing["callbackUrl"] == url:
            return web.json_response({"data": {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}]}}})
    record = {"id": f"gid://shopify/WebhookSubscription/{next(_ids)}", "topic": topic, "callbackUrl": url}
    request.app[SUBSCRIPTIONS_KEY].append(record)
    return web.json_response({"data": {"webhookSubscriptionCreate": {
        "webhookSubscription": {"id": record["id"], "topic": topic}, "userErrors": []}}})


async def _unsubscribe(request: web.Request, body: Dict[str, Any]) -> web.Response:
    state = request.app[STATE_KEY]
    if request.headers.get("X-Shopify-Access-Token", "") not in state.tokens:
        return web.json_response(INVALID_TOKEN_BODY, status=401)
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    wanted = variables.get("id")
    for existing in list(request.app[SUBSCRIPTIONS_KEY]):
        if existing["id"] == wanted:
            request.app[SUBSCRIPTIONS_KEY].remove(existing)
            return web.json_response({"data": {"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": wanted,
                                                                              "userErrors": []}}})
    return web.json_response({"data": {"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": None, "userErrors": [
        {"field": ["id"], "message": "Webhook subscription does not exist"}]}}})


def _order_payload(state: Any, order_id: Any) -> Optional[Dict[str, Any]]:
    for order in state.orders:
        if str(order.get("id")) == str(order_id) or str(order.get("name", "")).lstrip("#") == str(order_id):
            return dict(order)
    return None


async def fire(app: web.Application, topic: str, payload: Any, *, webhook_id: str = "", callback_url: str = "",
               forged_hmac: str = "", event_id: str = "") -> List[Dict[str, Any]]:
    state = app[STATE_KEY]
    raw = json.dumps(payload).encode("utf-8")
    targets = [callback_url] if callback_url else [s["callbackUrl"] for s in app[SUBSCRIPTIONS_KEY] if topic_name(s["topic"]) == topic]
    results = []
    async with aiohttp.ClientSession() as session:
        for url in targets:
            headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                       "X-Shopify-Hmac-Sha256": forged_hmac or webhook_hmac(state.api_secret, raw),
                       "X-Shopify-Shop-Domain": state.shop_domain, "X-Shopify-API-Version": "2024-07",
                       "X-Shopify-Webhook-Id": webhook_id or secrets.token_hex(16),
                       "X-Shopify-Event-Id": event_id or secrets.token_hex(16),
                       "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat()}
            try:
                async with session.post(url, data=raw, headers=headers) as resp:
                    results.append({"url": url, "status": resp.status})
            except aiohttp.ClientError as exc:
                results.append({"url": url, "status": 0, "error": type(exc).__name__})
    return results


async def _fire(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        topic = str(body["topic"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "body must be JSON with a topic"}, status=400)
    payload = body.get("payload")
    if payload is None and body.get("order_id") is not None:
        payload = _order_payload(request.app[STATE_KEY], body["order_id"])
        if payload is None:
            return web.json_response({"error": "no such order"}, status=404)
    results = await fire(request.app, topic, payload if payload is not None else {}, webhook_id=str(body.get("webhook_id") or ""),
                         callback_url=str(body.get("callback_url") or ""), forged_hmac=str(body.get("hmac") or ""),
                         event_id=str(body.get("event_id") or ""))
    return web.json_response({"deliveries": results})


@web.middleware
async def _routes(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method == "POST" and request.path.startswith("/admin/api/") and request.path.endswith("/graphql.json"):
        raw = await request.read()
        if b"webhookSubscriptionCreate" in raw or b"webhookSubscriptionDelete" in raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict):
                if b"webhookSubscriptionDelete" in raw:
                    return await _unsubscribe(request, body)
                return await _subscribe(request, body)
    if request.method == "GET" and request.path == "/__emulator/webhooks":
        return web.json_response(request.app[SUBSCRIPTIONS_KEY])
    if request.method == "POST" and request.path == "/__emulator/webhooks/fire":
        return await _fire(request)
    return await handler(request)


def install(app: web.Application) -> web.Application:
    """Mount the add-on on an emulator app (before it starts); returns ``app``. Idempotent."""
    if SUBSCRIPTIONS_KEY in app:
        return app
    app[SUBSCRIPTIONS_KEY] = []
    app.middlewares.append(_routes)
    return app
