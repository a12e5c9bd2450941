"""Shopify Admin GraphQL emulator (demo mode, tests, benchmarks).

Answers ``POST /admin/api/{version}/graphql.json`` with graphql-core and the schema of
:mod:`plugins.shopify.schema`, resolving orders from Shopify Admin **REST**-shaped order records
(with ``fulfillments``; contract C4). Checks ``X-Shopify-Access-Token`` (Shopify's own 401 body),
computes query costs and enforces a leaky bucket (``extensions.cost.throttleStatus``, ``THROTTLED``
errors), hides orders older than 60 days unless the token has ``read_all_orders``, can redact
customer email, and serves a minimal OAuth flow (``/admin/oauth/authorize``,
``/admin/oauth/access_token``). Fault knobs and ``/__emulator/*`` routes come from
:mod:`plugins.emulation`.

Run: ``python -m plugins.shopify.emulator --host 127.0.0.1 --port 8102 [--orders FILE]``.

Seed extension: an order may carry ``fulfillment_orders: [{"status": "on_hold"}]`` (the REST
fulfillment-orders resource) to be shown as ``ON_HOLD``.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import datetime, timedelta, timezone
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple
from urllib.parse import urlencode

from aiohttp import web
from graphql import GraphQLError, execute, parse, validate
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, IntValueNode, VariableNode

from plugins.emulation import Faults, make_emulator_app, run_emulator_cli
from plugins.emulation.faults import ORDERS_GETTER_KEY, ORDERS_SETTER_KEY
from plugins.shopify.emulator_keys import INVALID_TOKEN_BODY, STATE_KEY
from plugins.shopify.schema import get_schema

from plugins.shopify.demo import DEMO_ACCESS_TOKEN, DEMO_API_KEY, DEMO_API_SECRET, DEMO_SHOP_DOMAIN  # noqa: F401
DEFAULT_PORT = 8102
DEFAULT_SCOPES = ("read_orders", "read_all_orders", "read_fulfillments", "read_customers")
VERSION_RE = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
MAX_PAGE = 250
EPOCH = "1970-01-01T00:00:00Z"  #: stand-in for missing non-null dates in sloppy seed records


FINANCIAL = {"pending", "authorized", "partially_paid", "partially_refunded", "voided", "paid", "refunded", "expired"}
FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED", "restocked": "RESTOCKED"}
SHIPMENT = {
    "label_printed": "LABEL_PRINTED", "label_purchased": "LABEL_PURCHASED", "attempted_delivery": "ATTEMPTED_DELIVERY",
    "ready_for_pickup": "READY_FOR_PICKUP", "picked_up": "PICKED_UP", "confirmed": "CONFIRMED", "in_transit": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY", "delivered": "DELIVERED", "failure": "FAILURE", "not_delivered": "NOT_DELIVERED",
}
FULFILLMENT_STATUS = {"success": "SUCCESS", "cancelled": "CANCELLED", "error": "ERROR", "failure": "FAILURE", "open": "OPEN", "pending": "PENDING"}
CURRENCIES = set(get_schema().get_type("CurrencyCode").values)  # type: ignore[union-attr]
CANCEL_REASONS = {"customer", "declined", "fraud", "inventory", "other", "staff"}


def _fault_body(status: int) -> Dict[str, Any]:
    if status == 429:
        return {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}
    return {"errors": "Internal Server Error"}


def _parse_time(value: Any) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iso(value: Any) -> Optional[str]:
    parsed = _parse_time(value)
    return parsed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if parsed else None


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _after(cursor: Optional[str]) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1]) + 1
    except (ValueError, IndexError, UnicodeDecodeError):
        raise GraphQLError("Invalid cursor for current pagination sort.")


def _connection(items: List[Any], first: Optional[int], after: Optional[str] = None) -> Dict[str, Any]:
    if first is not None and (first < 0 or first > MAX_PAGE):
        raise GraphQLError(f"The 'first' argument must be between 0 and {MAX_PAGE}.")
    start = _after(after)
    end = len(items) if first is None else start + first
    chunk = items[start:end]
    return {
        "edges": [{"cursor": _cursor(start + i), "node": n} for i, n in enumerate(chunk)],
        "nodes": chunk,
        "pageInfo": {
            "hasNextPage": end < len(items), "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if chunk else None, "endCursor": _cursor(start + len(chunk) - 1) if chunk else None,
        },
    }


def _money(amount: Any, currency: str) -> Dict[str, Any]:
    value = str(amount) if isinstance(amount, (str, int, float)) and not isinstance(amount, bool) else "0.00"
    money = {"amount": value, "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def _address(address: Any, gid: str) -> Optional[Dict[str, Any]]:
    if not isinstance(address, dict):
        return None
    return {
        "id": gid, "zip": address.get("zip"), "firstName": address.get("first_name"), "lastName": address.get("last_name"),
        "phone": address.get("phone"), "city": address.get("city"), "province": address.get("province"),
        "provinceCode": address.get("province_code"), "country": address.get("country"), "countryCodeV2": address.get("country_code"),
    }


class ShopifyState:
    """Orders, tokens, throttle buckets and options of one emulator."""

    def __init__(self, orders: Sequence[Dict[str, Any]], *, shop_domain: str, access_tokens: Dict[str, Set[str]],
                 redact_email: Optional[str], bucket_size: float, restore_rate: float, max_query_cost: float,
                 visibility_days: int, api_key: str, api_secret: str, shop_name: str) -> None:
        self.shop_domain = shop_domain
        self.tokens = access_tokens
        self.redact_email = redact_email
        self.bucket_size = bucket_size
        self.restore_rate = restore_rate
        self.max_query_cost = max_query_cost
        self.visibility_days = visibility_days
        self.api_key = api_key
        self.api_secret = api_secret
        self.shop_name = shop_name
        self.buckets: Dict[str, Tuple[float, float]] = {}
        self.oauth_codes: Dict[str, str] = {}
        self.set_orders(orders)

    def set_orders(self, orders: Sequence[Dict[str, Any]]) -> None:
        self.orders = [copy.deepcopy(o) for o in orders if isinstance(o, dict)]
        self.results: "OrderedDict[Any, Tuple[Any, List[Dict[str, Any]]]]" = OrderedDict()

    def execute(self, document: Any, query: str, variables: Dict[str, Any], operation: Any, scopes: Set[str]) -> Tuple[Any, List[Dict[str, Any]]]:
        """Run a validated document; results are cached while orders and scopes are unchanged
        (graphql-core execution costs milliseconds, benchmarks send the same lookups again)."""
        try:
            key: Any = (query, json.dumps(variables, sort_keys=True), operation, frozenset(scopes), int(time.time() // 60))
        except (TypeError, ValueError):
            key = None
        if key is not None and key in self.results:
            self.results.move_to_end(key)
            return self.results[key]
        result = execute(get_schema(), document, root_value=_root(self, scopes), variable_values=variables, operation_name=operation)
        errors = [e.formatted for e in result.errors or []]
        if self.redact_email == "error" and result.data is not None:
            errors += _email_denials(result.data)
        outcome = (result.data, errors)
        if key is not None:
            self.results[key] = outcome
            if len(self.results) > 512:
                self.results.popitem(last=False)
        return outcome

    # -- throttling -----------------------------------------------------------------------------
    def _level(self, token: str) -> float:
        available, at = self.buckets.get(token, (self.bucket_size, time.monotonic()))
        now = time.monotonic()
        available = min(self.bucket_size, available + (now - at) * self.restore_rate)
        self.buckets[token] = (available, now)
        return available

    def can_start(self, token: str, requested: float) -> bool:
        """Shopify starts a query only when its *requested* cost is available."""
        return requested <= self._level(token)

    def charge(self, token: str, requested: float, actual: Optional[float]) -> Dict[str, Any]:
        """Deduct the *actual* cost (``None``: throttled, nothing deducted); ``extensions.cost``."""
        available = self._level(token)
        if actual is not None:
            available = max(0.0, available - actual)
            self.buckets[token] = (available, time.monotonic())
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": self.bucket_size, "currentlyAvailable": round(available, 1), "restoreRate": self.restore_rate},
        }

    # -- records → GraphQL shapes ---------------------------------------------------------------
    def visible(self, order: Dict[str, Any], scopes: Set[str]) -> bool:
        if "read_all_orders" in scopes:
            return True
        created = _parse_time(order.get("created_at"))
        return created is not None and created >= datetime.now(timezone.utc) - timedelta(days=self.visibility_days)

    def node(self, order: Dict[str, Any]) -> Dict[str, Any]:
        oid = order.get("id")
        currency = order.get("currency") if order.get("currency") in CURRENCIES else "USD"
        fin = order.get("financial_status")
        ful = order.get("fulfillment_status")
        display_ful = FULFILLMENT.get(ful, "UNFULFILLED")
        if display_ful == "UNFULFILLED" and any(
            isinstance(f, dict) and f.get("status") == "on_hold" for f in order.get("fulfillment_orders") or []
        ):
            display_ful = "ON_HOLD"
        items = [self._line_item(i, currency) for i in order.get("line_items") or [] if isinstance(i, dict)]
        by_id = {str(i.get("id")): n for i, n in zip([i for i in order.get("line_items") or [] if isinstance(i, dict)], items)}
        fulfillments = [self._fulfillment(f, order, currency, by_id, n) for n, f in enumerate(order.get("fulfillments") or []) if isinstance(f, dict)]
        shipping = order.get("total_shipping_price_set")
        shipping_amount = (
            shipping.get("shop_money", {}).get("amount") if isinstance(shipping, dict)
            else sum(float(s.get("price") or 0) for s in order.get("shipping_lines") or [] if isinstance(s, dict))
        )
        created = _iso(order.get("created_at")) or EPOCH
        cancel_reason = order.get("cancel_reason")
        email = order.get("email") if isinstance(order.get("email"), str) else None
        if self.redact_email:
            email = None
        return {
            "id": order.get("admin_graphql_api_id") or f"gid://shopify/Order/{oid}",
            "legacyResourceId": str(oid),
            "name": order.get("name") or f"#{order.get('order_number', oid)}",
            "createdAt": created,
            "updatedAt": _iso(order.get("updated_at")) or created,
            "processedAt": _iso(order.get("processed_at")) or created,
            "cancelledAt": _iso(order.get("cancelled_at")),
            "cancelReason": cancel_reason.upper() if cancel_reason in CANCEL_REASONS else None,
            "closed": bool(order.get("closed_at")),
            "closedAt": _iso(order.get("closed_at")),
            "email": email,
            "phone": order.get("phone") if isinstance(order.get("phone"), str) else None,
            "test": bool(order.get("test")),
            "displayFinancialStatus": fin.upper() if fin in FINANCIAL else None,
            "displayFulfillmentStatus": display_ful,
            "currencyCode": currency,
            "subtotalPriceSet": _money(order.get("subtotal_price"), currency),
            "totalShippingPriceSet": _money(shipping_amount, currency),
            "totalTaxSet": _money(order.get("total_tax"), currency),
            "totalPriceSet": _money(order.get("total_price"), currency),
            "billingAddress": _address(order.get("billing_address"), f"gid://shopify/MailingAddress/{oid}1"),
            "shippingAddress": _address(order.get("shipping_address"), f"gid://shopify/MailingAddress/{oid}2"),
            "statusPageUrl": order.get("order_status_url") or f"https://{self.shop_domain}/orders/{oid}/authenticate",
            "lineItems": lambda info, first=None, after=None: _connection(items, first, after),
            "fulfillments": lambda info, first=None: fulfillments[:first] if first is not None else fulfillments,
        }

    @staticmethod
    def _line_item(item: Dict[str, Any], currency: str) -> Dict[str, Any]:
        quantity = item.get("quantity") if isinstance(item.get("quantity"), int) else 1
        try:
            total = f"{float(item.get('price') or 0) * quantity:.2f}"
        except (TypeError, ValueError):
            total = "0.00"
        return {
            "id": f"gid://shopify/LineItem/{item.get('id')}",
            "title": item.get("title") or item.get("name") or "Item",
            "name": item.get("name") or item.get("title") or "Item",
            "quantity": quantity,
            "sku": item.get("sku"),
            "variantTitle": item.get("variant_title"),
            "originalUnitPriceSet": _money(item.get("price"), currency),
            "discountedTotalSet": _money(total, currency),
        }

    def _fulfillment(self, f: Dict[str, Any], order: Dict[str, Any], currency: str, by_id: Dict[str, Any], n: int) -> Dict[str, Any]:
        status = FULFILLMENT_STATUS.get(f.get("status"), "SUCCESS")
        display = "CANCELED" if status == "CANCELLED" else SHIPMENT.get(f.get("shipment_status"), "FULFILLED")
        numbers = f.get("tracking_numbers") or ([f["tracking_number"]] if f.get("tracking_number") else [])
        urls = f.get("tracking_urls") or ([f["tracking_url"]] if f.get("tracking_url") else [])
        infos = [
            {"company": f.get("tracking_company"), "number": num, "url": urls[i] if i < len(urls) else None}
            for i, num in enumerate(numbers if isinstance(numbers, list) else [])
        ]
        contents = []
        for item in f.get("line_items") or []:
            if not isinstance(item, dict):
                continue
            line = by_id.get(str(item.get("id"))) or self._line_item(item, currency)
            contents.append({"id": f"gid://shopify/FulfillmentLineItem/{item.get('id')}", "quantity": item.get("quantity") or 1, "lineItem": line})
        updated = _iso(f.get("updated_at")) or _iso(f.get("created_at"))
        return {
            "id": f"gid://shopify/Fulfillment/{f.get('id')}",
            "name": f"{order.get('name', '#0')}-F{n + 1}",
            "status": status,
            "displayStatus": display,
            "createdAt": _iso(f.get("created_at")) or _iso(order.get("created_at")) or EPOCH,
            "updatedAt": updated or _iso(order.get("created_at")) or EPOCH,
            "deliveredAt": updated if display == "DELIVERED" else None,
            "inTransitAt": _iso(f.get("created_at")) if display in ("IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED") else None,
            "estimatedDeliveryAt": _iso(f.get("estimated_delivery_at")),
            "trackingInfo": lambda info, first=None: infos[:first] if first is not None else infos,
            "fulfillmentLineItems": lambda info, first=None, after=None: _connection(contents, first, after),
        }


# -- search syntax ---------------------------------------------------------------------------------
_TERM = re.compile(r'\s*(?:(OR|AND)\b|(-?)([a-z_]+):(>=|<=|>|<)?("(?:[^"\\]|\\.)*"|\S+)|("(?:[^"\\]|\\.)*"|\S+))', re.I)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def search_matches(order: Dict[str, Any], query: Optional[str]) -> bool:
    """Shopify search syntax subset: ``name:``, ``email:``, ``created_at:>=``, ``status:``,
    ``financial_status:``, ``fulfillment_status:``, bare words, ``OR`` (``AND`` implicit)."""
    if not query or not query.strip():
        return True
    groups: List[List[Any]] = [[]]
    for match in _TERM.finditer(query):
        op, negate, field, comparator, value, word = match.groups()
        if op:
            if op.upper() == "OR":
                groups.append([])
            continue
        groups[-1].append((bool(negate), (field or "").lower(), comparator, _unquote(value or word or "")))
    return any(all(_term(order, *t) for t in group) for group in groups if group)


def _term(order: Dict[str, Any], negate: bool, field: str, comparator: Optional[str], value: str) -> bool:
    low = value.lower()
    name = str(order.get("name") or "").lower()
    email = str(order.get("email") or "").lower()
    if field == "name":
        result = low in (name, name.lstrip("#"))
    elif field == "email":
        result = low == email
    elif field in ("created_at", "updated_at", "processed_at"):
        when, bound = _parse_time(order.get(field)), _parse_time(value if "T" in value else value + "T00:00:00+00:00")
        if when is None or bound is None:
            result = False
        else:
            result = {">": when > bound, ">=": when >= bound, "<": when < bound, "<=": when <= bound}.get(comparator or "", when.date() == bound.date())
    elif field == "status":
        state = "cancelled" if order.get("cancelled_at") else ("closed" if order.get("closed_at") else "open")
        result = low in ("any", state)
    elif field == "financial_status":
        result = low == str(order.get("financial_status") or "").lower()
    elif field == "fulfillment_status":
        result = low == str(order.get("fulfillment_status") or "unshipped").lower()
    elif field:
        result = True  # unknown filters are ignored, as Shopify does (with a search warning)
    else:
        result = low in name or low in email
    return result != negate


# -- cost ------------------------------------------------------------------------------------------
def query_cost(document: Any, variables: Dict[str, Any], fragments: Dict[str, Any]) -> int:
    """Requested cost in Shopify's spirit: 1 per object field, connections multiply by ``first``."""

    def first_of(node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last"):
                if isinstance(arg.value, IntValueNode):
                    return int(arg.value.value)
                if isinstance(arg.value, VariableNode):
                    value = variables.get(arg.value.name.value)
                    return int(value) if isinstance(value, int) else 1
        return 1

    def walk(selection_set: Any, multiplier: int, depth: int = 0) -> int:
        if selection_set is None or depth > 20:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in ("nodes", "edges", "node"):  # part of the connection's cost
                    total += walk(selection.selection_set, multiplier, depth + 1)
                elif selection.selection_set is not None:
                    is_list = selection.name.value not in ("pageInfo", "shopMoney", "presentmentMoney")
                    has_first = any(a.name.value in ("first", "last") for a in selection.arguments or ())
                    total += multiplier * (2 if has_first else 1)
                    inner = multiplier * (first_of(selection) if is_list else 1)
                    total += walk(selection.selection_set, inner, depth + 1)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
                total += walk(fragments[selection.name.value].selection_set, multiplier, depth + 1)
            elif isinstance(selection, InlineFragmentNode):
                total += walk(selection.selection_set, multiplier, depth + 1)
        return total

    fragments = fragments or {}
    return max(1, sum(walk(d.selection_set, 1) for d in document.definitions if d.kind == "operation_definition"))


@functools.lru_cache(maxsize=256)
def _prepare(query: str) -> Tuple[Any, List[Dict[str, Any]], Dict[str, Any]]:
    """Parse and validate a document once per distinct query text: ``(document, errors, fragments)``."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, [exc.formatted], {}
    problems = validate(get_schema(), document)
    if problems:
        return None, [p.formatted for p in problems], {}
    return document, [], {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}


# -- handlers --------------------------------------------------------------------------------------
def _graphql_error(message: str, code: str, **extra: Any) -> Dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


async def graphql_handler(request: web.Request) -> web.Response:
    state: ShopifyState = request.app[STATE_KEY]
    version = request.match_info["version"]
    if not VERSION_RE.match(version):
        return web.json_response({"errors": "Not Found"}, status=404)
    token = request.headers.get("X-Shopify-Access-Token", "")
    scopes = next((s for t, s in state.tokens.items() if hmac.compare_digest(t.encode(), token.encode())), None)
    if not token or scopes is None:
        return web.json_response(INVALID_TOKEN_BODY, status=401)
    headers = {"X-Shopify-API-Version": version}
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return web.json_response({"errors": {"query": "Required parameter missing or invalid"}}, status=400, headers=headers)
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return web.json_response({"errors": {"variables": "must be an object"}}, status=400, headers=headers)
    schema = get_schema()
    document, problems, fragments = _prepare(body["query"])
    if problems:
        return web.json_response({"errors": problems}, headers=headers)
    cost = query_cost(document, variables, fragments)
    if cost > state.max_query_cost:
        return web.json_response({"errors": [_graphql_error(
            f"Query cost is {cost}, which exceeds the single query max cost limit ({state.max_query_cost:g}).", "MAX_COST_EXCEEDED",
            cost=cost, maxCost=state.max_query_cost)]}, headers=headers)
    if not state.can_start(token, cost):
        return web.json_response(
            {"errors": [_graphql_error("Throttled", "THROTTLED", documentation="https://shopify.dev/api/usage/rate-limits")],
             "extensions": {"cost": state.charge(token, cost, None)}},
            headers=headers,
        )
    data, errors = state.execute(document, body["query"], variables, body.get("operationName"), scopes)
    actual = float(min(cost, _objects(data)))
    payload: Dict[str, Any] = {"data": data}
    if errors:
        payload["errors"] = errors
    payload["extensions"] = {"cost": state.charge(token, cost, actual)}
    return web.json_response(payload, headers=headers)


def _objects(data: Any) -> int:
    """Objects in a result: the actual cost, the way Shopify refunds unused requested cost."""
    if isinstance(data, dict):
        return 1 + sum(_objects(v) for v in data.values())
    if isinstance(data, list):
        return sum(_objects(v) for v in data)
    return 0


def _email_denials(data: Any, path: Optional[List[Any]] = None) -> List[Dict[str, Any]]:
    """ACCESS_DENIED errors for every order ``email`` field in ``data``, whatever alias the query
    gave the orders connection (protected customer data)."""
    path = path or []
    found: List[Dict[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "email" and path and path[0] not in ("shop", "currentAppInstallation"):
                found.append({
                    "message": "This app is not approved to access the Order object's email field. See https://shopify.dev/docs/apps/launch/protected-customer-data for more details.",
                    "path": path + [key], "extensions": {"code": "ACCESS_DENIED"},
                })
            else:
                found += _email_denials(value, path + [key])
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _email_denials(value, path + [index])
    return found


def _root(state: ShopifyState, scopes: Set[str]) -> Dict[str, Any]:
    def orders(info: Any, first: Optional[int] = None, after: Optional[str] = None, last: Optional[int] = None,
               before: Optional[str] = None, query: Optional[str] = None, reverse: bool = False, sortKey: str = "PROCESSED_AT") -> Dict[str, Any]:
        if not scopes & {"read_orders", "read_all_orders"}:
            raise GraphQLError(
                "Access denied for orders field. Required access: `read_orders` access scope.",
                extensions={"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes"},
            )
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last")
        chosen = [o for o in state.orders if state.visible(o, scopes) and search_matches(o, query)]
        field = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "ID": "id", "NUMBER": "order_number"}.get(sortKey, "processed_at")
        chosen.sort(key=lambda o: str(o.get(field) or o.get("created_at") or "") if field != "id" else int(o.get("id") or 0), reverse=reverse)
        nodes = [state.node(o) for o in chosen]
        if last is not None and first is None:
            nodes = nodes[-last:]
            first = last
        return _connection(nodes, first, after)

    def order(info: Any, id: str) -> Optional[Dict[str, Any]]:
        for o in state.orders:
            if id in (o.get("admin_graphql_api_id"), f"gid://shopify/Order/{o.get('id')}") and state.visible(o, scopes):
                return state.node(o)
        return None

    return {
        "shop": {
            "id": "gid://shopify/Shop/1", "name": state.shop_name, "email": "owner@trulybot-demo.invalid",
            "myshopifyDomain": state.shop_domain, "primaryDomain": {"host": state.shop_domain, "url": f"https://{state.shop_domain}"},
            "currencyCode": "USD", "ianaTimezone": "America/New_York",
        },
        "orders": orders,
        "order": order,
        "currentAppInstallation": {
            "id": "gid://shopify/AppInstallation/1",
            "accessScopes": [{"handle": s, "description": s.replace("_", " ")} for s in sorted(scopes)],
        },
    }


def oauth_hmac(params: Dict[str, str], secret: str) -> str:
    """Shopify's OAuth query HMAC: hex SHA-256 over ``k=v`` pairs sorted by key, joined by ``&``."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


async def oauth_authorize(request: web.Request) -> web.Response:
    """Merchant "approves" at once: redirect to ``redirect_uri`` with a signed ``code``."""
    state: ShopifyState = request.app[STATE_KEY]
    query = request.query
    if query.get("client_id") != state.api_key or not query.get("redirect_uri", "").startswith(("http://", "https://")):
        return web.json_response({"errors": "invalid client_id or redirect_uri"}, status=400)
    code = secrets.token_hex(16)
    state.oauth_codes[code] = query.get("scope", ",".join(DEFAULT_SCOPES))
    params = {"code": code, "shop": state.shop_domain, "state": query.get("state", ""), "timestamp": str(int(time.time())),
              "host": base64.b64encode(f"{state.shop_domain}/admin".encode()).decode().rstrip("=")}
    params["hmac"] = oauth_hmac(params, state.api_secret)
    raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(params)}")


async def oauth_access_token(request: web.Request) -> web.Response:
    state: ShopifyState = request.app[STATE_KEY]
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = {}
    else:
        body = dict(await request.post())
    if not isinstance(body, dict) or body.get("client_id") != state.api_key or body.get("client_secret") != state.api_secret:
        return web.json_response({"error": "invalid_client", "error_description": "Client credentials are invalid"}, status=400)
    scope = state.oauth_codes.pop(str(body.get("code")), None)
    if scope is None:
        return web.json_response({"error": "invalid_request", "error_description": "The authorization code was not found or was already used"}, status=400)
    token = "shpat_" + secrets.token_hex(16)
    state.tokens[token] = {s.strip() for s in scope.split(",") if s.strip()}
    return web.json_response({"access_token": token, "scope": ",".join(sorted(state.tokens[token]))})


def create_app(orders: Optional[List[Dict[str, Any]]] = None, **options: Any) -> web.Application:
    """The emulator app. ``orders``: Shopify Admin REST order objects (default: the demo seed).

    Options: ``access_token`` (default :data:`DEMO_ACCESS_TOKEN`), ``scopes`` (of that token,
    default all incl. ``read_all_orders``), ``read_all_orders`` (shortcut to drop that scope),
    ``redact_email`` (``None``/``"null"``/``"error"``), ``bucket_size`` (20000) and
    ``restore_rate`` (1000/s) — Shopify Plus limits, so benchmarks are not throttled; tests pass
    small ones —, ``max_query_cost`` (1000), ``visibility_days`` (60), ``shop_domain``, ``shop_name``,
    ``api_key``/``api_secret`` (OAuth), and every :class:`~plugins.emulation.Faults` knob.
    """
    if orders is None:
        from plugins.shopify.demo import load_seed_orders

        orders = load_seed_orders()
    fault_values = {k: options.pop(k) for k in list(options) if k in Faults.__dataclass_fields__}
    faults = Faults()
    faults.update(fault_values)
    scopes = set(options.pop("scopes", DEFAULT_SCOPES))
    if not options.pop("read_all_orders", True):
        scopes.discard("read_all_orders")
    redact = options.pop("redact_email", None)
    state = ShopifyState(
        orders,
        shop_domain=options.pop("shop_domain", DEMO_SHOP_DOMAIN),
        access_tokens={options.pop("access_token", DEMO_ACCESS_TOKEN): scopes},
        redact_email=("null" if redact is True else redact) or None,
        bucket_size=float(options.pop("bucket_size", 20000.0)),
        restore_rate=float(options.pop("restore_rate", 1000.0)),
        max_query_cost=float(options.pop("max_query_cost", 1000.0)),
        visibility_days=int(options.pop("visibility_days", 60)),
        api_key=options.pop("api_key", DEMO_API_KEY),
        api_secret=options.pop("api_secret", DEMO_API_SECRET),
        shop_name=options.pop("shop_name", "Demo Supply Co."),
    )
    if options:
        raise TypeError(f"unknown emulator options: {', '.join(sorted(options))}")
    app = make_emulator_app("shopify", error_body=_fault_body, faults=faults)
    app[STATE_KEY] = state
    app[ORDERS_GETTER_KEY] = lambda: state.orders
    app[ORDERS_SETTER_KEY] = state.set_orders
    app.router.add_post("/admin/api/{version}/graphql.json", graphql_handler)
    app.router.add_get("/admin/oauth/authorize", oauth_authorize)
    app.router.add_post("/admin/oauth/access_token", oauth_access_token)
    from plugins.shopify.emulator_webhooks import install  # webhook subscriptions (imports this module)

    return install(app)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_emulator_cli("shopify", DEFAULT_PORT, create_app, argv)


if __name__ == "__main__":
    raise SystemExit(main())
