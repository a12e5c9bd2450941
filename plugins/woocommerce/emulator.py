"""WooCommerce REST API v3 emulator (demo mode, tests, benchmarks).

Serves the endpoints the WooCommerce platform calls, from a list of WooCommerce v3 order
objects, with WooCommerce's auth rules and error bodies:

- ``GET /wp-json/wc/v3/orders`` (``search``, ``status``, ``page``, ``per_page``, ``orderby``,
  ``order``; ``X-WP-Total``, ``X-WP-TotalPages``, ``Link`` headers)
- ``GET /wp-json/wc/v3/orders/<id>``
- ``GET /wp-json/wc/v3/system_status``
- ``GET /wp-json/wc-shipment-tracking/v3/orders/<id>/shipment-trackings``

plus the ``/__emulator/*`` admin routes (see :mod:`plugins.emulation`).

Run: ``python -m plugins.woocommerce.emulator --host 127.0.0.1 --port 8101 [--orders FILE]``.
"""
from __future__ import annotations

import base64
import binascii
import copy
import hmac
import math
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlencode

from aiohttp import web

from plugins.emulation import Faults, make_emulator_app, run_emulator_cli
from plugins.emulation.faults import FAULTS_KEY, ORDERS_GETTER_KEY, ORDERS_SETTER_KEY
from plugins.woocommerce.emulator_keys import STATE_KEY

DEMO_CONSUMER_KEY = "ck_demo_3f1c2b7a9e8d4c6b5a4f3e2d1c0b9a8f7e6d5c4b"
DEMO_CONSUMER_SECRET = "cs_demo_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
DEFAULT_PORT = 8101
WC_VERSION = "9.4.2"
TRACKING_META_KEY = "_wc_shipment_tracking_items"

ROUTE_PARAMS = "wc_route_params"
NOT_FOUND_PAGE = "<!doctype html><title>Page not found</title><h1>Not Found</h1>"


def _error(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"code": code, "message": message, "data": {"status": status}}, status=status)


def _fault_body(status: int) -> Dict[str, Any]:
    if status == 429:
        return {"code": "woocommerce_rest_too_many_requests", "message": "Too many requests.", "data": {"status": 429}}
    return {"code": "internal_server_error", "message": "The server is temporarily unavailable.", "data": {"status": status}}


class WooState:
    """The emulator's orders and options."""

    def __init__(self, orders: Sequence[Dict[str, Any]], *, consumer_key: str, consumer_secret: str,
                 shipment_tracking: bool, hide_tracking_meta: bool, site_url: str,
                 site_name: str = "Demo Outfitters", plain_permalinks: bool = False) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.shipment_tracking = shipment_tracking
        self.hide_tracking_meta = hide_tracking_meta
        self.site_url = site_url
        self.site_name = site_name
        self.plain_permalinks = plain_permalinks
        self.set_orders(orders)

    def set_orders(self, orders: Sequence[Dict[str, Any]]) -> None:
        self.orders: List[Dict[str, Any]] = [copy.deepcopy(o) for o in orders if isinstance(o, dict)]
        self.by_id: Dict[int, Dict[str, Any]] = {}
        for order in self.orders:
            try:
                self.by_id[int(order.get("id"))] = order  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue

    def render(self, order: Dict[str, Any]) -> Dict[str, Any]:
        if not self.hide_tracking_meta:
            return order
        shown = dict(order)
        shown["meta_data"] = [m for m in order.get("meta_data") or [] if not (isinstance(m, dict) and m.get("key") == TRACKING_META_KEY)]
        return shown


def _credentials(request: web.Request, faults: Faults) -> Optional[Tuple[str, str]]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic ") and not faults.strip_authorization:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        key, _, secret = decoded.partition(":")
        return key, secret
    key = request.query.get("consumer_key")
    secret = request.query.get("consumer_secret")
    if key is not None or secret is not None:
        return key or "", secret or ""
    return None


def api_route(request: web.Request) -> Optional[str]:
    """The REST route of a request (``/wc/v3/orders``): from ``/wp-json/...`` (pretty permalinks)
    or ``/?rest_route=...`` (plain permalinks); ``None`` for other pages."""
    if request.path == "/" and "rest_route" in request.query:
        return "/" + request.query["rest_route"].strip("/")
    if request.path == "/wp-json" or request.path.startswith("/wp-json/"):
        return "/" + request.path[len("/wp-json"):].strip("/")
    return None


@web.middleware
async def _auth(request: web.Request, handler: Any) -> web.StreamResponse:
    route = api_route(request)
    if route is None or route == "/":  # the REST index is public
        return await handler(request)
    state: WooState = request.app[STATE_KEY]
    if state.plain_permalinks and request.path != "/":
        return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html")
    creds = _credentials(request, request.app[FAULTS_KEY])
    if creds is None:
        return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
    key, secret = creds
    if not hmac.compare_digest(key.encode(), state.consumer_key.encode()):
        return _error("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
    if not hmac.compare_digest(secret.encode(), state.consumer_secret.encode()):
        return _error("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
    return await handler(request)


def _meta(order: Dict[str, Any], key: str) -> Any:
    for entry in order.get("meta_data") or []:
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def _haystack(order: Dict[str, Any]) -> str:
    billing = order.get("billing") if isinstance(order.get("billing"), dict) else {}
    shipping = order.get("shipping") if isinstance(order.get("shipping"), dict) else {}
    parts = [order.get("id"), order.get("number"), _meta(order, "_order_number"), _meta(order, "_order_number_formatted")]
    parts += [billing.get(k) for k in ("first_name", "last_name", "email", "company", "address_1", "city", "postcode", "phone")]
    parts += [shipping.get(k) for k in ("first_name", "last_name", "address_1", "city", "postcode")]
    parts += [i.get("name") for i in order.get("line_items") or [] if isinstance(i, dict)]
    return " ".join(str(p) for p in parts if p is not None).lower()


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise web.HTTPBadRequest(
            text=f'{{"code":"rest_invalid_param","message":"Invalid parameter(s): {name}","data":{{"status":400}}}}',
            content_type="application/json",
        )
    return int(raw)


def _page_url(request: web.Request, page: int) -> str:
    """Link-header URL for another page (credentials in the query string are not echoed)."""
    query = {k: v for k, v in request.query.items() if k not in ("consumer_key", "consumer_secret")}
    query["page"] = str(page)
    return f"{request.scheme}://{request.host}{request.path}?{urlencode(query)}"


async def list_orders(request: web.Request) -> web.Response:
    state: WooState = request.app[STATE_KEY]
    per_page = _int_param(request, "per_page", 10, 1, 100)
    page = _int_param(request, "page", 1, 1, 10**6)
    status = request.query.get("status", "any")
    search = request.query.get("search", "").strip().lower()
    orders = [o for o in state.orders if (o.get("status") != "trash" if status == "any" else o.get("status") in status.split(","))]
    if search:
        orders = [o for o in orders if search in _haystack(o)]
    key = "id" if request.query.get("orderby") == "id" else "date_created_gmt"
    orders.sort(key=lambda o: str(o.get(key) or "") if key != "id" else int(o.get("id") or 0), reverse=request.query.get("order", "desc") != "asc")
    total = len(orders)
    pages = max(1, math.ceil(total / per_page)) if total else 0
    chunk = orders[(page - 1) * per_page : page * per_page]
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    if page < pages:
        links.append(f'<{_page_url(request, page + 1)}>; rel="next"')
    if page > 1:
        links.append(f'<{_page_url(request, page - 1)}>; rel="prev"')
    if links:
        headers["Link"] = ", ".join(links)
    return web.json_response([state.render(o) for o in chunk], headers=headers)


def _find(request: web.Request) -> Optional[Dict[str, Any]]:
    state: WooState = request.app[STATE_KEY]
    raw = request.get(ROUTE_PARAMS, {}).get("id") or request.match_info.get("id", "")
    if not raw.isdigit() or len(raw) > 19:
        return None
    return state.by_id.get(int(raw))


async def get_order(request: web.Request) -> web.Response:
    order = _find(request)
    if order is None:
        return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
    return web.json_response(request.app[STATE_KEY].render(order))


async def shipment_trackings(request: web.Request) -> web.Response:
    state: WooState = request.app[STATE_KEY]
    if not state.shipment_tracking:
        return _error("rest_no_route", "No route was found matching the URL and request method.", 404)
    order = _find(request)
    if order is None:
        return _error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
    items = _meta(order, TRACKING_META_KEY) or []
    result = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        shipped = item.get("date_shipped")
        try:
            date_shipped = datetime.fromtimestamp(int(shipped), tz=timezone.utc).strftime("%Y-%m-%d")
        except (TypeError, ValueError, OverflowError, OSError):
            date_shipped = shipped
        result.append({
            "tracking_id": item.get("tracking_id"),
            "tracking_provider": item.get("custom_tracking_provider") or item.get("tracking_provider"),
            "tracking_link": item.get("custom_tracking_link") or "",
            "tracking_number": item.get("tracking_number"),
            "date_shipped": date_shipped,
        })
    return web.json_response(result)


async def system_status(request: web.Request) -> web.Response:
    state: WooState = request.app[STATE_KEY]
    plugins = [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": WC_VERSION}]
    if state.shipment_tracking:
        plugins.append({"plugin": "woocommerce-shipment-tracking/woocommerce-shipment-tracking.php", "name": "WooCommerce Shipment Tracking", "version": "2.6.0"})
    return web.json_response({
        "environment": {
            "home_url": state.site_url, "site_url": state.site_url, "version": WC_VERSION, "wp_version": "6.7.1",
            "wp_multisite": False, "language": "en_US", "default_timezone": "UTC",
        },
        "database": {"wc_database_version": WC_VERSION},
        "active_plugins": plugins,
        "settings": {"api_enabled": True, "currency": "USD", "currency_symbol": "&#36;"},
    })


async def no_route(request: web.Request) -> web.Response:
    if request.app[STATE_KEY].plain_permalinks:
        return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html")
    return _error("rest_no_route", "No route was found matching the URL and request method.", 404)


async def rest_index(request: web.Request) -> web.Response:
    """``GET /wp-json/``: the WordPress REST index (public): site name and namespaces."""
    state: WooState = request.app[STATE_KEY]
    if state.plain_permalinks and request.path != "/":
        return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html")
    namespaces = ["oembed/1.0", "wc/v1", "wc/v2", "wc/v3", "wc/store/v1", "wp/v2"]
    if state.shipment_tracking:
        namespaces.append("wc-shipment-tracking/v3")
    return web.json_response({
        "name": state.site_name, "description": "Demo store", "url": state.site_url, "home": state.site_url,
        "namespaces": namespaces, "authentication": [], "routes": {},
    })


async def home_or_rest_route(request: web.Request) -> web.Response:
    """``/``: the shop front page, or a REST request in plain-permalink form (``?rest_route=``)."""
    route = api_route(request)
    if route is None:
        return web.Response(text="<!doctype html><title>Demo Outfitters</title><h1>Demo Outfitters</h1>", content_type="text/html")
    if request.method != "GET":
        return no_route_json()
    for pattern, handler in _DISPATCH:
        match = pattern.match(route)
        if match:
            request[ROUTE_PARAMS] = match.groupdict()
            return await handler(request)
    return no_route_json()


def no_route_json() -> web.Response:
    return _error("rest_no_route", "No route was found matching the URL and request method.", 404)


#: REST routes reachable in plain-permalink form (``/?rest_route=<route>``)
_DISPATCH = [
    (re.compile(r"^/$"), rest_index),
    (re.compile(r"^/wc/v3/orders$"), list_orders),
    (re.compile(r"^/wc/v3/orders/(?P<id>[^/]+)$"), get_order),
    (re.compile(r"^/wc/v3/system_status$"), system_status),
    (re.compile(r"^/wc-shipment-tracking/v3/orders/(?P<id>[^/]+)/shipment-trackings$"), shipment_trackings),
]


def create_app(orders: Optional[List[Dict[str, Any]]] = None, **options: Any) -> web.Application:
    """The emulator app. ``orders``: WooCommerce v3 order objects (default: the demo seed).

    Options: ``consumer_key``, ``consumer_secret`` (default the demo ones), ``shipment_tracking``
    (serve the extension endpoint, default True), ``hide_tracking_meta`` (drop
    ``_wc_shipment_tracking_items`` from order meta, default False), ``site_url``, ``site_name``,
    ``plain_permalinks`` (``/wp-json/`` is a 404 page; the API answers at ``/?rest_route=``), and every
    :class:`~plugins.emulation.Faults` knob (``latency_ms``, ``error_rate``, ...).
    """
    if orders is None:
        from plugins.woocommerce.demo import load_seed_orders

        orders = load_seed_orders()
    fault_values = {k: options.pop(k) for k in list(options) if k in Faults.__dataclass_fields__}
    faults = Faults()
    faults.update(fault_values)
    state = WooState(
        orders,
        consumer_key=options.pop("consumer_key", DEMO_CONSUMER_KEY),
        consumer_secret=options.pop("consumer_secret", DEMO_CONSUMER_SECRET),
        shipment_tracking=bool(options.pop("shipment_tracking", True)),
        hide_tracking_meta=bool(options.pop("hide_tracking_meta", False)),
        site_url=options.pop("site_url", "https://demo-outfitters.example"),
        site_name=options.pop("site_name", "Demo Outfitters"),
        plain_permalinks=bool(options.pop("plain_permalinks", False)),
    )
    if options:
        raise TypeError(f"unknown emulator options: {', '.join(sorted(options))}")
    app = make_emulator_app("woocommerce", error_body=_fault_body, faults=faults, middlewares=[_auth])
    app[STATE_KEY] = state
    app[ORDERS_GETTER_KEY] = lambda: state.orders
    app[ORDERS_SETTER_KEY] = state.set_orders
    app.router.add_get("/", home_or_rest_route)
    app.router.add_get("/wp-json", rest_index)
    app.router.add_get("/wp-json/", rest_index)
    app.router.add_get("/wp-json/wc/v3/orders", list_orders)
    app.router.add_get("/wp-json/wc/v3/orders/{id}", get_order)
    app.router.add_get("/wp-json/wc/v3/system_status", system_status)
    app.router.add_get("/wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings", shipment_trackings)
    app.router.add_route("*", "/wp-json/{tail:.*}", no_route)
    from plugins.woocommerce.emulator_auth import install  # wc-auth and webhooks (imports this module)

    return install(app)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_emulator_cli("woocommerce", DEFAULT_PORT, create_app, argv)


if __name__ == "__main__":
    raise SystemExit(main())
