"""Add-on for the WooCommerce emulator: the wc-auth app-authorization flow, REST webhook
registration and firing webhook deliveries (written for the merchant API, issue 8).

``install(app)`` mounts, on an app built by :func:`plugins.woocommerce.emulator.create_app`:

``GET /wc-auth/v1/authorize``
    what WooCommerce does after the shop owner clicks "Approve": creates new REST keys, POSTs
    them as JSON to ``callback_url`` (``key_id, user_id, consumer_key, consumer_secret,
    key_permissions``); if the callback answers 200 the keys become the store's keys, otherwise
    they are deleted; finally redirects to ``return_url?success=1&user_id=...``. Add
    ``_emulator_action=deny`` to act as the owner clicking "Deny" (``success=0``, no callback).
``POST|GET /wp-json/wc/v3/webhooks``, ``DELETE /wp-json/wc/v3/webhooks/<id>``
    create / list / delete webhooks.
``POST /__emulator/webhooks/fire``
    ``{"topic": "order.updated", "order_id": 123, "delivery_id": "..."(optional)}``: deliver the
    order to every active webhook of that topic, signed with ``X-WC-Webhook-Signature``
    (base64 HMAC-SHA256 of the raw body with the webhook secret); answers the delivery statuses.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
from typing import Any, Dict, List
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from plugins.woocommerce.emulator_keys import STATE_KEY

WEBHOOKS_KEY = web.AppKey("woo_emulator_webhooks", list)
LAST_AUTH_KEY = web.AppKey("woo_emulator_last_auth", dict)
_ids = itertools.count(1)


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


async def _authorize(request: web.Request) -> web.StreamResponse:
    q = request.query
    missing = [k for k in ("app_name", "scope", "user_id", "return_url", "callback_url") if not q.get(k)]
    if missing:
        return web.json_response({"code": "woocommerce_rest_authentication_error",
                                  "message": f"missing {', '.join(missing)}"}, status=400)
    if q.get("scope") not in ("read", "write", "read_write"):
        return web.json_response({"code": "woocommerce_rest_authentication_error", "message": "invalid scope"}, status=400)
    sep = "&" if "?" in q["return_url"] else "?"
    if q.get("_emulator_action") == "deny":
        raise web.HTTPFound(q["return_url"] + sep + urlencode({"success": "0", "user_id": q["user_id"]}))
    state = request.app[STATE_KEY]
    key, secret = "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20)
    body = {"key_id": next(_ids), "user_id": q["user_id"], "consumer_key": key, "consumer_secret": secret,
            "key_permissions": q["scope"]}
    old = (state.consumer_key, state.consumer_secret)
    state.consumer_key, state.consumer_secret = key, secret  # the keys exist while the callback runs
    status = 0
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(q["callback_url"], data=json.dumps(body),
                                    headers={"Content-Type": "application/json"}, allow_redirects=False) as resp:
                status = resp.status
    except aiohttp.ClientError:
        status = 0
    request.app[LAST_AUTH_KEY].update(callback_status=status, user_id=q["user_id"])
    if status != 200:
        state.consumer_key, state.consumer_secret = old  # WooCommerce deletes keys the app did not accept
        return web.Response(text="An error occurred in the request and at the time were unable to send the consumer data",
                            status=401)
    raise web.HTTPFound(q["return_url"] + sep + urlencode({"success": "1", "user_id": q["user_id"]}))


async def _create_webhook(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"code": "rest_invalid_json", "message": "invalid JSON"}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("delivery_url"), str) or not isinstance(body.get("topic"), str):
        return web.json_response({"code": "rest_missing_callback_param", "message": "topic and delivery_url required"}, status=400)
    hook = {"id": next(_ids), "name": str(body.get("name") or ""), "status": str(body.get("status") or "active"),
            "topic": body["topic"], "delivery_url": body["delivery_url"], "secret": str(body.get("secret") or "")}
    request.app[WEBHOOKS_KEY].append(hook)
    shown = {k: v for k, v in hook.items() if k != "secret"}
    return web.json_response(shown, status=201)


async def _list_webhooks(request: web.Request) -> web.Response:
    return web.json_response([{k: v for k, v in h.items() if k != "secret"} for h in request.app[WEBHOOKS_KEY]])


async def _delete_webhook(request: web.Request, hook_id: str) -> web.Response:
    for hook in list(request.app[WEBHOOKS_KEY]):
        if str(hook["id"]) == hook_id:
            request.app[WEBHOOKS_KEY].remove(hook)
            return web.json_response({k: v for k, v in hook.items() if k != "secret"})
    return web.json_response({"code": "woocommerce_rest_webhook_invalid_id", "message": "Invalid ID."}, status=404)


async def fire(app: web.Application, topic: str, order_id: int, delivery_id: str = "") -> List[Dict[str, Any]]:
    """Deliver ``order_id`` to every active webhook of ``topic``; returns the delivery statuses."""
    state = app[STATE_KEY]
    order = state.by_id.get(int(order_id))
    if order is None:
        raise KeyError(order_id)
    raw = json.dumps(state.render(order)).encode("utf-8")
    results = []
    async with aiohttp.ClientSession() as session:
        for hook in app[WEBHOOKS_KEY]:
            if hook["topic"] != topic or hook["status"] != "active":
                continue
            headers = {"Content-Type": "application/json", "X-WC-Webhook-Source": state.site_url + "/",
                       "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": topic.split(".")[0],
                       "X-WC-Webhook-Event": topic.split(".")[-1], "X-WC-Webhook-ID": str(hook["id"]),
                       "X-WC-Webhook-Delivery-ID": delivery_id or secrets.token_hex(8),
                       "X-WC-Webhook-Signature": signature(hook["secret"], raw)}
            try:
                async with session.post(hook["delivery_url"], data=raw, headers=headers) as resp:
                    results.append({"webhook_id": hook["id"], "status": resp.status})
            except aiohttp.ClientError as exc:
                results.append({"webhook_id": hook["id"], "status": 0, "error": type(exc).__name__})
    return results


async def _fire(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        results = await fire(request.app, str(body.get("topic") or "order.updated"), int(body["order_id"]),
                             str(body.get("delivery_id") or ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return web.json_response({"error": "body must be {topic, order_id} of an existing order"}, status=400)
    return web.json_response({"deliveries": results})


@web.middleware
async def _routes(request: web.Request, handler: Any) -> web.StreamResponse:
    path = request.path
    if path == "/wc-auth/v1/authorize" and request.method == "GET":
        return await _authorize(request)
    if path.rstrip("/") == "/wp-json/wc/v3/webhooks":
        if request.method == "POST":
            return await _create_webhook(request)
        if request.method == "GET":
            return await _list_webhooks(request)
    if path.startswith("/wp-json/wc/v3/webhooks/") and request.method == "DELETE":
        return await _delete_webhook(request, path.rstrip("/").rsplit("/", 1)[-1])
    if path == "/__emulator/webhooks/fire" and request.method == "POST":
        return await _fire(request)
    return await handler(request)


def install(app: web.Application) -> web.Application:
    """Mount the add-on on an emulator app (before it starts); returns ``app``. Idempotent."""
    if WEBHOOKS_KEY in app:
        return app
    app[WEBHOOKS_KEY] = []
    app[LAST_AUTH_KEY] = {}
    app.middlewares.append(_routes)
    return app
