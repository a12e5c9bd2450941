"""Store integrations over JSON: installed platforms, list, connect (any installed platform and
connect flow; the install flows' own routes are :mod:`bot.api.install`), disconnect, delete,
merchant order lookups.

The handlers read and validate requests and shape answers; the work is done by
:mod:`bot.services.integrations` (shared with the dashboard). Its typed errors become JSON error
answers through :mod:`bot.api.errors`: 404 unknown platform or store, 422 naming the field,
502 naming why the store did not answer.
"""
from __future__ import annotations

from typing import Any, Dict

from aiohttp import web

from bot.api.auth import MerchantIdentity, merchant_required
from bot.api.registry import Param, route
from bot.api.validation import RETURN_TO_SCHEMA, query_int, read_json
from bot.services import integrations as service
from bot.services.connecting import ConnectResult
from bot.services.platforms import describe_platforms, platform_class

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$"
ORDER_NUMBER_PATTERN = r"^#?[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$"

CONNECT_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "description": "the platform's connection fields (GET /api/platforms) plus the keys below",
    "properties": {
        "method": {"type": "string", "maxLength": 40, "description": "a connect flow of the platform (default: its first)"},
        "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
        # approval flows: where the merchant's browser goes after a successful approval (only dashboard pages)
        "return_to": RETURN_TO_SCHEMA,
    },
}
DISCONNECT_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["id"],
    "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
}
ORDERS_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["store_id", "order_number"],
    "properties": {
        "store_id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        "order_number": {"type": "string", "pattern": ORDER_NUMBER_PATTERN},
    },
}
ORDER_SEARCH_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["email"],
    "properties": {
        "email": {"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN},
        "store_id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
    },
}
_PLATFORM = Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                  description="an installed platform")


def _platform_param(request: web.Request) -> str:
    """The installed platform named in the path (404 listing the installed ones otherwise)."""
    name = request.match_info.get("platform", "")
    platform_class(request.app, name)
    return name


@route("GET", "/api/platforms", summary="Installed platforms with their connection fields and connect flows",
       tag="integrations", responses={200: "PlatformList"})
@merchant_required
async def list_platforms(request: web.Request, me: MerchantIdentity) -> web.Response:
    return web.json_response({"items": describe_platforms(request.app)})


@route("GET", "/api/integrations", summary="List the merchant's stores with their health", tag="integrations",
       responses={200: "StoreList"})
@merchant_required
async def list_integrations(request: web.Request, me: MerchantIdentity) -> web.Response:
    return web.json_response({"items": await service.list_stores(request.app, me.merchant_id)})


@route("DELETE", "/api/integrations", summary="Delete a store and its widget configuration", tag="integrations",
       params=[Param("id", "query", {"type": "integer", "minimum": 1}, required=True, description="store id")],
       responses={200: "Deleted", 404: "Error", 422: "Error"})
@merchant_required
async def delete_integration(request: web.Request, me: MerchantIdentity) -> web.Response:
    store_id = query_int(request, "id", required=True)
    shown = await service.delete_store(request.app, me.merchant_id, store_id)
    return web.json_response({"deleted": shown["id"], "store": shown})


@route("POST", "/api/integrations/{platform}/disconnect", summary="Disconnect a store (remove its webhooks at the "
       "store, drop its credentials, keep its settings)", tag="integrations", body=DISCONNECT_SCHEMA, params=[_PLATFORM],
       responses={200: "Store", 404: "Error", 422: "Error"})
@merchant_required
async def disconnect(request: web.Request, me: MerchantIdentity) -> web.Response:
    platform = _platform_param(request)
    body = await read_json(request, DISCONNECT_SCHEMA)
    return web.json_response(await service.disconnect_store(request.app, me.merchant_id, body["id"], platform))


def connect_answer(result: ConnectResult) -> web.Response:
    """The JSON answer to a connect request: 201/200 a connected (new/reconnected) store; 202
    ``{"authorize_url", "expires_at", "store"}`` a pending store to approve; 200 ``{"install_url",
    "expires_at", ...}`` an install redirect, with its state cookie."""
    if not result.needs_approval:
        return web.json_response(result.store, status=201 if result.created else 200)
    if result.store is not None:
        resp = web.json_response({"authorize_url": result.redirect_url, "expires_at": result.expires_at,
                                  "store": result.store}, status=202)
    else:
        resp = web.json_response({"install_url": result.redirect_url, "expires_at": result.expires_at, **result.extra})
    for cookie in result.cookies:
        cookie.set_on(resp)
    return resp


@route("POST", "/api/integrations/{platform}/connect", summary="Connect a store of any installed platform",
       tag="integrations", body=CONNECT_SCHEMA, params=[_PLATFORM],
       responses={200: "ConnectResult", 201: "Store", 202: "AuthorizationStart", 404: "Error", 409: "Error",
                  422: "Error", 429: "Error", 502: "Error"})
@merchant_required
async def connect(request: web.Request, me: MerchantIdentity) -> web.Response:
    """Validate the platform's fields, then run its connect flow (``method``, default its first):
    API keys are checked and the store saved; an install flow is started (as
    ``POST /api/integrations/{platform}/install`` starts it)."""
    platform = request.match_info.get("platform", "")
    platform_class(request.app, platform)  # 404 before reading the body
    body = await read_json(request, CONNECT_SCHEMA)
    return connect_answer(await service.connect_store(request.app, me.merchant_id, platform, body))


@route("POST", "/api/integrations/{platform}/orders", summary="Look up one order of a connected store (merchant view)",
       tag="orders", body=ORDERS_SCHEMA, params=[_PLATFORM],
       responses={200: "OrderResult", 404: "Error", 409: "Error", 422: "Error", 429: "Error", 502: "Error"})
@merchant_required
async def platform_orders(request: web.Request, me: MerchantIdentity) -> web.Response:
    platform = _platform_param(request)
    body = await read_json(request, ORDERS_SCHEMA)
    order = await service.lookup_order(request.app, me.merchant_id, body["store_id"], body["order_number"], platform)
    return web.json_response({"store_id": body["store_id"], "order": order})


@route("POST", "/api/integrations/orders/search", summary="Find a customer's recent orders by email across the merchant's stores",
       tag="orders", body=ORDER_SEARCH_SCHEMA,
       responses={200: "OrderSearch", 404: "Error", 422: "Error"})
@merchant_required
async def search_orders(request: web.Request, me: MerchantIdentity) -> web.Response:
    """The email travels in the body, never in the URL (URLs end up in access logs and browser history)."""
    body = await read_json(request, ORDER_SEARCH_SCHEMA)
    results = await service.search_orders(request.app, me.merchant_id, body["email"], body.get("store_id"),
                                          body.get("limit", 5))
    return web.json_response({"results": results})
