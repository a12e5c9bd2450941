"""Merchant side of the widget configuration: ``GET|PUT /api/integrations/{id}/widget``.

The public, read-only part (``GET /api/widget/config/{widget_id}``) belongs to the gateway; the
rules and the saving live in :mod:`bot.services.widget_config`.
"""
from __future__ import annotations

from aiohttp import web

from bot.api.auth import MerchantIdentity, merchant_required
from bot.api.registry import Param, route
from bot.api.validation import path_int, read_json
from bot.services.widget_config import WIDGET_SCHEMA, get_widget_config, update_widget_config

_ID = [Param("id", "path", {"type": "integer", "minimum": 1}, required=True, description="store id")]


@route("GET", "/api/integrations/{id}/widget", summary="A store's widget configuration", tag="widget", params=_ID,
       responses={200: "WidgetConfig", 404: "Error"})
@merchant_required
async def get_widget(request: web.Request, me: MerchantIdentity) -> web.Response:
    return web.json_response(await get_widget_config(request.app, me.merchant_id, path_int(request, "id")))


@route("PUT", "/api/integrations/{id}/widget", summary="Change a store's widget configuration (any subset of fields)",
       tag="widget", params=_ID, body=WIDGET_SCHEMA, responses={200: "WidgetConfig", 404: "Error", 422: "Error"})
@merchant_required
async def put_widget(request: web.Request, me: MerchantIdentity) -> web.Response:
    store_id = path_int(request, "id")
    body = await read_json(request, WIDGET_SCHEMA)
    return web.json_response(await update_widget_config(request.app, me.merchant_id, store_id, body))
