"""BigCommerce API emulator (demo mode, tests, benchmarks).

Serves, under ``/stores/{store_hash}/``, what the BigCommerce platform calls, from a list of V2
order objects whose ``products`` and ``shipments`` are lists (the seed shape); answers render
them as resource links like BigCommerce does:

- ``GET v2/store`` (store information)
- ``GET v2/orders`` (``email``, ``status_id``, ``min_id``, ``max_id``, ``sort``, ``page``, ``limit``;
  ``204 No Content`` when nothing matches), ``GET v2/orders/{id}``,
  ``GET v2/orders/{id}/products``, ``GET v2/orders/{id}/shipments`` (``204`` when none)
- ``GET|POST v3/hooks``, ``GET|PUT|DELETE v3/hooks/{id}`` (webhooks with custom headers)

``X-Auth-Token`` must be the store's token (401 otherwise); another store hash is a 404. Admin
routes, besides the common ``/__emulator/*`` ones (faults, stats, orders):

``POST /__emulator/webhooks/fire``
    ``{"scope": "store/order/statusUpdated", "order_id": 120, "shipment_id": 1,
    "previous_status_id": 11, "headers": {...}}``: POSTs a callback to every active hook of the
    scope with the hook's custom headers (``headers`` replaces them, to send a forged delivery).
``POST /__emulator/orders/{id}/status``
    ``{"status_id": 2, "fire": true}``: changes the status (label, ``date_modified``) and fires
    ``store/order/statusUpdated``.
``POST /__emulator/orders/{id}/shipments``
    a V2 shipment object (``tracking_number``, ``shipping_provider``, ...), added and fired as
    ``store/shipment/created``.

Each answer of the three lists ``deliveries`` (``url``, ``status``). Run:
``python -m trulybot_bigcommerce.emulator --host 127.0.0.1 --port 8103 [--orders FILE]``.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Dict, List, Optional, Sequence

import aiohttp
from aiohttp import web

from plugins.emulation import Faults, make_emulator_app, run_emulator_cli
from plugins.emulation.faults import ADMIN_PREFIX, ORDERS_GETTER_KEY, ORDERS_SETTER_KEY

from trulybot_bigcommerce.normalize import STATUS_MAP, parse_rfc2822

DEMO_STORE_HASH = "demo1bc"
DEMO_ACCESS_TOKEN = "bcdemo7d2e4f9a1b3c5d6e8f0a2b4c6d8e0f1a"
DEFAULT_PORT = 8103
STATE_KEY = web.AppKey("bigcommerce_state", object)
SUB_RESOURCES = ("products", "shipments")


def v2_error(status: int, message: str) -> web.Response:
    """V2 error body: a list of ``{"status", "message"}``."""
    return web.json_response([{"status": status, "message": message}], status=status)


def v3_error(status: int, title: str, errors: Optional[Dict[str, str]] = None) -> web.Response:
    body: Dict[str, Any] = {"status": status, "title": title, "type": "/api-docs/getting-started/api-status-codes"}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status)


def _fault_body(status: int) -> Any:
    if status == 429:
        return {"status": 429, "title": "Too many requests", "type": "/api-docs/getting-started/api-status-codes"}
    return {"status": status, "title": "Service Unavailable", "type": "/api-docs/getting-started/api-status-codes"}


def _now_rfc2822() -> str:
    return format_datetime(datetime.now(timezone.utc).replace(microsecond=0))


class BigCommerceState:
    """Orders, their products and shipments, registered hooks and the store's identity."""

    def __init__(self, orders: Sequence[Dict[str, Any]], *, store_hash: str, access_token: str, store_name: str,
                 secure_url: str, store_id: str) -> None:
        self.store_hash = store_hash
        self.access_token = access_token
        self.store_name = store_name
        self.secure_url = secure_url
        self.store_id = store_id
        self.hooks: List[Dict[str, Any]] = []
        self._hook_ids = itertools.count(1001)
        self._shipment_ids = itertools.count(1)
        self.set_orders(orders)

    def set_orders(self, orders: Sequence[Dict[str, Any]]) -> None:
        """Load V2 orders; ``products`` / ``shipments`` lists are split off into sub-resources."""
        self.orders: List[Dict[str, Any]] = []
        self.by_id: Dict[int, Dict[str, Any]] = {}
        self.sub: Dict[int, Dict[str, List[Dict[str, Any]]]] = {}
        for raw in orders:
            if not isinstance(raw, dict):
                continue
            order = copy.deepcopy(raw)
            try:
                order_id = int(order.get("id"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            self.sub[order_id] = {name: [x for x in order.pop(name, None) or [] if isinstance(x, dict)] if isinstance(order.get(name), list) else []
                                  for name in SUB_RESOURCES}
            for shipment in self.sub[order_id]["shipments"]:
                shipment.setdefault("id", next(self._shipment_ids))
                shipment.setdefault("order_id", order_id)
            self.orders.append(order)
            self.by_id[order_id] = order

    def seed_view(self) -> List[Dict[str, Any]]:
        """The orders in the seed shape (sub-resources embedded as lists)."""
        return [{**o, **{name: self.sub[int(o["id"])][name] for name in SUB_RESOURCES}} for o in self.orders]

    def render(self, order: Dict[str, Any], base: str) -> Dict[str, Any]:
        shown = dict(order)
        order_id = int(order["id"])
        for name, path in (("products", "products"), ("shipping_addresses", "shippingaddresses"), ("coupons", "coupons")):
            shown[name] = {"url": f"{base}/v2/orders/{order_id}/{path}", "resource": f"/orders/{order_id}/{path}"}
        return shown


def _state(request: web.Request) -> BigCommerceState:
    return request.app[STATE_KEY]


def _api_base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}/stores/{_state(request).store_hash}"


@web.middleware
async def _auth(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/stores/"):
        return await handler(request)
    state = _state(request)
    parts = request.path.split("/")
    version = parts[3] if len(parts) > 3 else ""
    if len(parts) < 3 or parts[2] != state.store_hash:
        return v2_error(404, "The requested resource was not found.")
    token = request.headers.get("X-Auth-Token", "")
    if not token or not hmac.compare_digest(token.encode(), state.access_token.encode()):
        if version == "v3":
            return v3_error(401, "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.")
        return v2_error(401, "You are not authorised to access this resource.")
    return await handler(request)


def _int_query(request: web.Request, name: str, default: Optional[int], low: int, high: int) -> Optional[int]:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise web.HTTPBadRequest(text=json.dumps([{"status": 400, "message": f"The field '{name}' is invalid."}]),
                                 content_type="application/json")
    return int(raw)


def _order_id(request: web.Request) -> Optional[int]:
    raw = request.match_info.get("id", "")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


async def store_information(request: web.Request) -> web.Response:
    state = _state(request)
    domain = state.secure_url.split("://", 1)[-1].rstrip("/")
    return web.json_response({
        "id": state.store_hash, "domain": domain, "secure_url": state.secure_url,
        "control_panel_base_url": f"https://store-{state.store_hash}.mybigcommerce.com", "status": "live",
        "name": state.store_name, "country": "United States", "country_code": "US", "language": "en", "currency": "USD",
        "currency_symbol": "$", "timezone": {"name": "America/Chicago", "raw_offset": -21600}, "plan_name": "Standard",
        "store_id": int(state.store_id) if state.store_id.isdigit() else state.store_id, "default_channel_id": 1,
    })


_SORT_KEYS = {"id", "date_created", "date_modified", "status_id", "customer_id"}


def _sort_value(order: Dict[str, Any], key: str) -> Any:
    if key in ("date_created", "date_modified"):
        when = parse_rfc2822(order.get(key))
        return when.timestamp() if when else 0.0
    value = order.get(key)
    return value if isinstance(value, (int, float)) else 0


async def list_orders(request: web.Request) -> web.Response:
    state = _state(request)
    limit = _int_query(request, "limit", 50, 1, 250) or 50
    page = _int_query(request, "page", 1, 1, 10**6) or 1
    status_id = _int_query(request, "status_id", None, 0, 100)
    min_id = _int_query(request, "min_id", None, 0, 2**31)
    max_id = _int_query(request, "max_id", None, 0, 2**31)
    email = request.query.get("email", "").strip().lower()
    sort_key, _, direction = request.query.get("sort", "id:asc").partition(":")
    if sort_key not in _SORT_KEYS or direction not in ("", "asc", "desc"):
        return v2_error(400, "The field 'sort' is invalid.")
    orders = [
        o for o in state.orders
        if (not email or str((o.get("billing_address") or {}).get("email", "")).strip().lower() == email)
        and (status_id is None or o.get("status_id") == status_id)
        and (min_id is None or int(o["id"]) >= min_id) and (max_id is None or int(o["id"]) <= max_id)
    ]
    orders.sort(key=lambda o: _sort_value(o, sort_key), reverse=direction == "desc")
    chunk = orders[(page - 1) * limit: page * limit]
    if not chunk:
        return web.Response(status=204)
    base = _api_base(request)
    return web.json_response([state.render(o, base) for o in chunk])


async def get_order(request: web.Request) -> web.Response:
    state = _state(request)
    order_id = _order_id(request)
    order = state.by_id.get(order_id) if order_id is not None else None
    if order is None:
        return v2_error(404, "The requested resource was not found.")
    return web.json_response(state.render(order, _api_base(request)))


async def order_products(request: web.Request) -> web.Response:
    state = _state(request)
    order_id = _order_id(request)
    if order_id is None or order_id not in state.by_id:
        return v2_error(404, "The requested resource was not found.")
    return web.json_response(state.sub[order_id]["products"])


async def order_shipments(request: web.Request) -> web.Response:
    state = _state(request)
    order_id = _order_id(request)
    if order_id is None or order_id not in state.by_id:
        return v2_error(404, "The requested resource was not found.")
    shipments = state.sub[order_id]["shipments"]
    return web.json_response(shipments) if shipments else web.Response(status=204)


# -- v3 webhooks --------------------------------------------------------------------------------------
async def _json_object(request: web.Request) -> Optional[Dict[str, Any]]:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _hook_errors(body: Dict[str, Any], *, partial: bool) -> Dict[str, str]:
    errors = {}
    for name in ("scope", "destination"):
        value = body.get(name)
        if value is None and partial:
            continue
        if not isinstance(value, str) or not value:
            errors[name] = "error.path.missing."
    destination = body.get("destination")
    if isinstance(destination, str) and not destination.startswith(("https://", "http://")):
        errors["destination"] = "must be an absolute URL"
    headers = body.get("headers")
    if headers is not None and (not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
        errors["headers"] = "must be an object of strings"
    if "is_active" in body and not isinstance(body["is_active"], bool):
        errors["is_active"] = "must be a boolean"
    return errors


async def list_hooks(request: web.Request) -> web.Response:
    hooks = _state(request).hooks
    scope, destination = request.query.get("scope"), request.query.get("destination")
    shown = [dict(h) for h in hooks if (not scope or h["scope"] == scope) and (not destination or h["destination"] == destination)]
    return web.json_response({"data": shown, "meta": {"pagination": {"total": len(shown), "count": len(shown), "per_page": 50,
                                                                       "current_page": 1, "total_pages": 1, "links": {}}}})


async def create_hook(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _json_object(request)
    if body is None:
        return v3_error(400, "Input is invalid.")
    errors = _hook_errors(body, partial=False)
    if errors:
        return v3_error(422, "JSON data is missing or invalid", errors)
    for hook in state.hooks:
        if hook["scope"] == body["scope"] and hook["destination"] == body["destination"]:
            return v3_error(422, "Webhook already exists for this scope and destination", {"destination": "duplicate"})
    now = int(time.time())
    hook = {"id": next(state._hook_ids), "client_id": "emulatorclient", "store_hash": state.store_hash, "scope": body["scope"],
            "destination": body["destination"], "is_active": body.get("is_active", True), "headers": body.get("headers"),
            "created_at": now, "updated_at": now}
    state.hooks.append(hook)
    return web.json_response({"data": dict(hook), "meta": {}})


def _hook(request: web.Request) -> Optional[Dict[str, Any]]:
    raw = request.match_info.get("hook_id", "")
    return next((h for h in _state(request).hooks if str(h["id"]) == raw), None)


async def get_hook(request: web.Request) -> web.Response:
    hook = _hook(request)
    if hook is None:
        return v3_error(404, f"Webhook with id [{request.match_info.get('hook_id')}] not found")
    return web.json_response({"data": dict(hook), "meta": {}})


async def update_hook(request: web.Request) -> web.Response:
    hook = _hook(request)
    if hook is None:
        return v3_error(404, f"Webhook with id [{request.match_info.get('hook_id')}] not found")
    body = await _json_object(request)
    if body is None:
        return v3_error(400, "Input is invalid.")
    errors = _hook_errors(body, partial=True)
    if errors:
        return v3_error(422, "JSON data is missing or invalid", errors)
    for name in ("scope", "destination", "is_active", "headers"):
        if name in body:
            hook[name] = body[name]
    hook["updated_at"] = int(time.time())
    return web.json_response({"data": dict(hook), "meta": {}})


async def delete_hook(request: web.Request) -> web.Response:
    hook = _hook(request)
    if hook is None:
        return v3_error(404, f"Webhook with id [{request.match_info.get('hook_id')}] not found")
    _state(request).hooks.remove(hook)
    return web.json_response({"data": dict(hook), "meta": {}})


# -- deliveries ---------------------------------------------------------------------------------------
def callback_body(state: BigCommerceState, scope: str, data: Dict[str, Any]) -> Dict[str, Any]:
    """A callback in BigCommerce's shape; ``hash`` is the SHA-1 of the JSON-encoded ``data``."""
    return {"scope": scope, "store_id": state.store_id, "data": data,
            "hash": hashlib.sha1(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest(),
            "created_at": int(time.time()), "producer": f"stores/{state.store_hash}"}


async def deliver(app: web.Application, scope: str, data: Dict[str, Any], *,
                  headers: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
    """POST a callback to every active hook of ``scope``; ``headers`` replaces the hooks' custom headers."""
    state: BigCommerceState = app[STATE_KEY]
    raw = json.dumps(callback_body(state, scope, data)).encode("utf-8")
    results = []
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for hook in [h for h in state.hooks if h["scope"] == scope and h.get("is_active", True)]:
            sent = {"Content-Type": "application/json", "User-Agent": "BigCommerce webhooks emulator"}
            sent.update((hook.get("headers") or {}) if headers is None else headers)
            try:
                async with session.post(hook["destination"], data=raw, headers=sent) as resp:
                    results.append({"url": hook["destination"], "status": resp.status})
            except (aiohttp.ClientError, OSError) as exc:
                results.append({"url": hook["destination"], "status": 0, "error": type(exc).__name__})
    return results


def _event_data(state: BigCommerceState, scope: str, order_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    if scope.startswith("store/shipment/"):
        shipments = state.sub.get(order_id, {}).get("shipments") or []
        shipment_id = body.get("shipment_id") or (shipments[-1]["id"] if shipments else 0)
        return {"type": "shipment", "id": shipment_id, "orderId": order_id}
    data: Dict[str, Any] = {"type": "order", "id": order_id}
    if scope == "store/order/statusUpdated":
        previous = body.get("previous_status_id", 0)
        data["status"] = {"previous_status_id": previous, "new_status_id": state.by_id[order_id].get("status_id", 0)}
    return data


def _headers_override(body: Dict[str, Any]) -> Optional[Dict[str, str]]:
    value = body.get("headers")
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return None


async def fire_webhook(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _json_object(request)
    if body is None or not isinstance(body.get("scope"), str):
        return web.json_response({"error": "body must be JSON with a scope"}, status=400)
    order_id = body.get("order_id")
    if not isinstance(order_id, int) or order_id not in state.by_id:
        return web.json_response({"error": "no such order"}, status=404)
    data = _event_data(state, body["scope"], order_id, body)
    return web.json_response({"deliveries": await deliver(request.app, body["scope"], data, headers=_headers_override(body))})


async def set_status(request: web.Request) -> web.Response:
    state = _state(request)
    order_id = _order_id(request)
    body = await _json_object(request)
    if order_id is None or order_id not in state.by_id:
        return web.json_response({"error": "no such order"}, status=404)
    if body is None or not isinstance(body.get("status_id"), int) or body["status_id"] not in STATUS_MAP:
        return web.json_response({"error": "status_id must be a BigCommerce status id (0-14)"}, status=400)
    order = state.by_id[order_id]
    previous = order.get("status_id", 0)
    label = STATUS_MAP[body["status_id"]][1]
    order.update(status_id=body["status_id"], status=label, custom_status=label, date_modified=_now_rfc2822())
    deliveries: List[Dict[str, Any]] = []
    if body.get("fire", True):
        data = {"type": "order", "id": order_id, "status": {"previous_status_id": previous, "new_status_id": body["status_id"]}}
        deliveries = await deliver(request.app, "store/order/statusUpdated", data, headers=_headers_override(body))
    return web.json_response({"order_id": order_id, "status_id": body["status_id"], "deliveries": deliveries})


async def add_shipment(request: web.Request) -> web.Response:
    state = _state(request)
    order_id = _order_id(request)
    body = await _json_object(request)
    if order_id is None or order_id not in state.by_id:
        return web.json_response({"error": "no such order"}, status=404)
    if body is None:
        return web.json_response({"error": "body must be a JSON shipment object"}, status=400)
    fire = body.pop("fire", True)
    override = _headers_override(body)
    body.pop("headers", None)
    shipment = {**body, "id": next(state._shipment_ids), "order_id": order_id, "date_created": body.get("date_created") or _now_rfc2822()}
    state.sub[order_id]["shipments"].append(shipment)
    order = state.by_id[order_id]
    order["date_modified"] = _now_rfc2822()
    deliveries: List[Dict[str, Any]] = []
    if fire:
        data = {"type": "shipment", "id": shipment["id"], "orderId": order_id}
        deliveries = await deliver(request.app, "store/shipment/created", data, headers=override)
    return web.json_response({"shipment": shipment, "deliveries": deliveries})


def create_app(orders: Optional[List[Dict[str, Any]]] = None, **options: Any) -> web.Application:
    """The emulator app. ``orders``: V2 order objects (default: the demo seed).

    Options: ``store_hash``, ``access_token`` (default the demo ones), ``store_name``, ``secure_url``,
    ``store_id``, and every :class:`~plugins.emulation.Faults` knob (``latency_ms``, ``error_rate``, ...).
    """
    if orders is None:
        from trulybot_bigcommerce import load_seed_orders

        orders = load_seed_orders()
    fault_values = {k: options.pop(k) for k in list(options) if k in Faults.__dataclass_fields__}
    faults = Faults()
    faults.update(fault_values)
    state = BigCommerceState(
        orders,
        store_hash=options.pop("store_hash", DEMO_STORE_HASH),
        access_token=options.pop("access_token", DEMO_ACCESS_TOKEN),
        store_name=options.pop("store_name", "Demo Trading Post"),
        secure_url=options.pop("secure_url", "https://demo-trading-post.example"),
        store_id=str(options.pop("store_id", "1025646")),
    )
    if options:
        raise TypeError(f"unknown emulator options: {', '.join(sorted(options))}")
    app = make_emulator_app("bigcommerce", error_body=_fault_body, faults=faults, middlewares=[_auth])
    app[STATE_KEY] = state
    app[ORDERS_GETTER_KEY] = state.seed_view
    app[ORDERS_SETTER_KEY] = state.set_orders
    prefix = "/stores/{store_hash}"
    app.router.add_get(prefix + "/v2/store", store_information)
    app.router.add_get(prefix + "/v2/orders", list_orders)
    app.router.add_get(prefix + "/v2/orders/{id}", get_order)
    app.router.add_get(prefix + "/v2/orders/{id}/products", order_products)
    app.router.add_get(prefix + "/v2/orders/{id}/shipments", order_shipments)
    app.router.add_get(prefix + "/v3/hooks", list_hooks)
    app.router.add_post(prefix + "/v3/hooks", create_hook)
    app.router.add_get(prefix + "/v3/hooks/{hook_id}", get_hook)
    app.router.add_put(prefix + "/v3/hooks/{hook_id}", update_hook)
    app.router.add_delete(prefix + "/v3/hooks/{hook_id}", delete_hook)
    app.router.add_post(ADMIN_PREFIX + "webhooks/fire", fire_webhook)
    app.router.add_post(ADMIN_PREFIX + "orders/{id}/status", set_status)
    app.router.add_post(ADMIN_PREFIX + "orders/{id}/shipments", add_shipment)
    return app


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_emulator_cli("bigcommerce", DEFAULT_PORT, create_app, argv)


if __name__ == "__main__":
    raise SystemExit(main())
