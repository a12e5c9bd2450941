"""Shopify platform: Admin GraphQL API (the REST Admin API is legacy)."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from plugins.base import Platform
from plugins.integration import (
    AppSetting,
    ConnectContext,
    ConnectFlow,
    ConnectionSchema,
    Field,
    FieldRole,
    FieldType,
    InstallCallback,
    InstallGrant,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRegistration,
    WebhookSecret,
    WebhookSpec,
    WebhookTarget,
)
from plugins.shopify import oauth as shopify_oauth
from plugins.shopify import webhooks as shopify_webhooks
from plugins.shopify.demo import DEMO_API_KEY, DEMO_API_SECRET
from plugins.errors import (
    MalformedResponse,
    OrderNotFound,
    OrderNotVisible,
    PlatformError,
    RateLimited,
    StoreAuthError,
    StoreConfigError,
    StoreUnreachable,
)
from plugins.model import Order, Shipment
from plugins.shopify import queries
from plugins.shopify.normalize import PLATFORM, order_from_node
from plugins.text import is_loopback_host, normalize_email, normalize_order_number, order_number_matches

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2025-07"
API_VERSION_RE = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,60}\.myshopify\.com$")
#: fields that protected-customer-data rules may deny; such denials mean "redacted", not failure
CUSTOMER_DATA_FIELDS = {"email", "phone", "billingAddress", "shippingAddress", "customer", "zip"}
VISIBILITY_DAYS = 60
#: orders per email lookup: keeps the requested query cost (~165 per order) under Shopify's 1000
MAX_FIND = 5



def search_quote(value: str) -> str:
    """Quote a value for Shopify's search syntax."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error_code(error: Any) -> Optional[str]:
    if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
        code = error["extensions"].get("code")
        return code if isinstance(code, str) else None
    return None


def _probe_hides_email(data: Dict[str, Any]) -> bool:
    """True when the newest order came back without its email (redacted as ``null``)."""
    probe = data.get("emailProbe")
    nodes = probe.get("nodes") if isinstance(probe, dict) else None
    return isinstance(nodes, list) and bool(nodes) and isinstance(nodes[0], dict) and nodes[0].get("email") is None


class ShopifyPlatform(Platform):
    """Shopify store through the Admin GraphQL API.

    Store fields: ``shop_domain`` (``name.myshopify.com``), ``base_url`` (defaults to
    ``https://{shop_domain}``; an emulator URL in demo mode), ``api_version`` (default
    :data:`DEFAULT_API_VERSION`). Options: ``read_all_orders`` (bool; default: learned from the
    app's access scopes on every lookup).
    """

    name = "shopify"
    display_name = "Shopify"
    credential_fields = ("access_token",)
    connection_schema = ConnectionSchema(
        fields=(
            Field("shop", "Shop address", FieldType.DOMAIN, FieldRole.SHOP_DOMAIN, max_length=255,
                  pattern=r"[a-z0-9][a-z0-9-]*\.myshopify\.com", pattern_hint="like your-store.myshopify.com",
                  help="Your shop's myshopify.com address (Settings → Domains).", placeholder="your-store.myshopify.com"),
        ),
        flows=(ConnectFlow.INSTALL_REDIRECT,),
        flow_labels={ConnectFlow.INSTALL_REDIRECT: "Install the app on my shop"},
    )
    app_settings = (
        AppSetting("api_key", "Client id of your Shopify app (OAuth installs).", demo_default=DEMO_API_KEY,
                   required=True),
        AppSetting("api_secret", "Client secret of your Shopify app (OAuth and webhook HMAC).", secret=True,
                   demo_default=DEMO_API_SECRET, required=True),
        AppSetting("scopes", "Access scopes the app asks for, comma-separated.", default=",".join(shopify_oauth.DEFAULT_SCOPES)),
        AppSetting("api_base_url", "Send every Shopify call to this base URL instead of https://<shop> "
                   "(emulators; honoured for loopback URLs or in demo mode only)."),
    )
    webhooks = WebhookSpec(secret=WebhookSecret.APP, app_secret_setting="api_secret", app_endpoint=True,
                           topics=shopify_webhooks.HANDLED_TOPICS)

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def api_version(self) -> str:
        version = self.store.api_version or DEFAULT_API_VERSION
        if not API_VERSION_RE.match(version):
            raise StoreConfigError("invalid Shopify API version", platform=PLATFORM)
        return version

    @property
    def endpoint(self) -> str:
        base = (self.store.base_url or "").strip().rstrip("/")
        if not base:
            domain = (self.store.shop_domain or "").strip().lower()
            if not SHOP_DOMAIN_RE.match(domain):
                raise StoreConfigError("shop domain must look like name.myshopify.com", platform=PLATFORM)
            base = f"https://{domain}"
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreConfigError("Shopify API base must be an http(s) URL", platform=PLATFORM)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise StoreConfigError("Shopify must be reached over HTTPS", platform=PLATFORM)
        return f"{base}/admin/api/{self.api_version}/graphql.json"

    def _token(self) -> str:
        token = self.store.credentials.get("access_token")
        if not token:
            raise StoreConfigError("access token is required", platform=PLATFORM)
        return token

    @property
    def _memo(self) -> Dict[str, Any]:
        return self.http.state_for(self.store.key).memo

    def _note_cost(self, operation: str, extensions: Any) -> Optional[Dict[str, float]]:
        """Remember the bucket state and the query's cost from ``extensions.cost``."""
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return None
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, (int, float)) and not isinstance(requested, bool):
            self._memo[f"cost:{operation}"] = float(requested)
        status = cost.get("throttleStatus")
        if not isinstance(status, dict):
            return None
        try:
            bucket = {
                "available": float(status["currentlyAvailable"]),
                "maximum": float(status["maximumAvailable"]),
                "rate": max(float(status["restoreRate"]), 0.001),
                "at": time.monotonic(),
            }
        except (KeyError, TypeError, ValueError):
            return None
        self._memo["bucket"] = bucket
        return bucket

    def _wait_for(self, operation: str) -> float:
        """Seconds until the bucket holds this operation's last known cost (0 when unknown)."""
        bucket = self._memo.get("bucket")
        cost = self._memo.get(f"cost:{operation}")
        if not bucket or cost is None:
            return 0.0
        available = min(bucket["maximum"], bucket["available"] + (time.monotonic() - bucket["at"]) * bucket["rate"])
        return max(0.0, (cost - available) / bucket["rate"])

    async def _graphql(self, operation: str, document: str, variables: Optional[Dict[str, Any]] = None) -> Tuple[Dict[str, Any], bool]:
        """Run one query; returns ``(data, customer_data_redacted)`` or raises a typed error."""
        url, token = self.endpoint, self._token()
        throttled = 0
        while True:
            wait = self._wait_for(operation)
            if wait > 0:
                if wait > self.http.max_retry_after:
                    raise RateLimited("Shopify query cost budget exhausted", retry_after=wait, platform=PLATFORM)
                await asyncio.sleep(wait)
            response = await self.http.request(
                "POST", url, store_key=self.store.key, platform=PLATFORM,
                json={"query": document, "variables": variables or {}, "operationName": operation},
                headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json"},
            )
            status = response.status
            if status in (401, 403):
                raise StoreAuthError("Shopify rejected the access token", platform=PLATFORM)
            if status in (402, 423):
                raise StoreUnreachable("the shop is frozen or locked", platform=PLATFORM)
            if status == 404:
                raise StoreConfigError("no Shopify Admin API at this address (shop domain or API version)", platform=PLATFORM)
            if 300 <= status < 400:
                raise StoreConfigError("Shopify redirected the API request; check the shop domain", platform=PLATFORM)
            if status != 200:
                raise PlatformError(f"Shopify answered HTTP {status}", platform=PLATFORM)
            body = response.json()
            if not isinstance(body, dict):
                raise MalformedResponse("GraphQL response is not a JSON object", platform=PLATFORM)
            bucket = self._note_cost(operation, body.get("extensions"))
            errors = body.get("errors")
            redacted = False
            if errors:
                if not isinstance(errors, list):
                    raise StoreAuthError("Shopify refused the request", platform=PLATFORM) if "token" in str(errors).lower() \
                        else PlatformError("Shopify refused the request", platform=PLATFORM)
                codes = {_error_code(e) for e in errors}
                if "THROTTLED" in codes:
                    wait = self._wait_for(operation) if bucket else None
                    if throttled < self.http.max_retries and wait is not None and wait <= self.http.max_retry_after:
                        throttled += 1
                        await asyncio.sleep(max(wait, 0.01))
                        continue
                    raise RateLimited("Shopify query cost budget exhausted", retry_after=wait, platform=PLATFORM)
                if codes == {"ACCESS_DENIED"} and all(self._is_customer_data(e) for e in errors) and isinstance(body.get("data"), dict):
                    redacted = True
                elif "ACCESS_DENIED" in codes:
                    raise StoreAuthError("the Shopify app lacks a needed access scope", platform=PLATFORM)
                elif "INTERNAL_SERVER_ERROR" in codes:
                    raise StoreUnreachable("Shopify had an internal error", platform=PLATFORM)
                else:
                    logger.warning("store %s: Shopify rejected %s", self.store.store_id, operation)
                    raise PlatformError("Shopify rejected the query", platform=PLATFORM)
            data = body.get("data")
            if not isinstance(data, dict):
                raise MalformedResponse("GraphQL response without data", platform=PLATFORM)
            return data, redacted

    @staticmethod
    def _is_customer_data(error: Any) -> bool:
        path = error.get("path") if isinstance(error, dict) else None
        if not isinstance(path, list):
            return False
        return any(isinstance(part, str) and part in CUSTOMER_DATA_FIELDS for part in path)

    def _read_all_orders(self, data: Dict[str, Any]) -> bool:
        configured = self.store.options.get("read_all_orders")
        if isinstance(configured, bool):
            return configured
        installation = data.get("currentAppInstallation")
        scopes = installation.get("accessScopes") if isinstance(installation, dict) else None
        if not isinstance(scopes, list):
            return False
        return any(isinstance(s, dict) and s.get("handle") == "read_all_orders" for s in scopes)

    def _orders(self, data: Dict[str, Any], redacted: bool) -> List[Order]:
        connection = data.get("orders")
        if not isinstance(connection, dict):
            raise MalformedResponse("orders connection missing", platform=PLATFORM)
        nodes = connection.get("nodes")
        if not isinstance(nodes, list):
            raise MalformedResponse("orders connection without nodes", platform=PLATFORM)
        orders = []
        for node in nodes:
            try:
                orders.append(order_from_node(node, email_redacted=redacted))
            except MalformedResponse:
                logger.debug("store %s: skipped a malformed order", self.store.store_id)
        return orders

    # -- Platform API -----------------------------------------------------------------------------
    async def check_connection(self) -> Dict[str, Any]:
        data, _ = await self._graphql("TrulyBotShop", queries.SHOP)
        shop = data.get("shop")
        if not isinstance(shop, dict) or not isinstance(shop.get("name"), str):
            raise MalformedResponse("shop query without a shop", platform=PLATFORM)
        installation = data.get("currentAppInstallation") or {}
        scopes = sorted(
            s["handle"] for s in installation.get("accessScopes") or [] if isinstance(s, dict) and isinstance(s.get("handle"), str)
        )
        if "read_orders" not in scopes and "read_all_orders" not in scopes:
            raise StoreAuthError("the Shopify app lacks the read_orders scope", platform=PLATFORM)
        return {
            "platform": PLATFORM,
            "name": shop["name"],
            "domain": shop.get("myshopifyDomain"),
            "currency": shop.get("currencyCode"),
            "api_version": self.api_version,
            "scopes": scopes,
            "read_all_orders": self._read_all_orders(data),
        }

    async def get_order(self, number: str) -> Order:
        try:
            typed = normalize_order_number(number)
        except ValueError:
            raise OrderNotFound("not an order number", platform=PLATFORM) from None
        variants = [typed]
        if typed.isdigit() and typed.lstrip("0") and typed.lstrip("0") != typed:
            variants.append(typed.lstrip("0"))
        names = [n for v in variants for n in (f"#{v}", v)]
        search = " OR ".join(f"name:{search_quote(n)}" for n in names)
        data, redacted = await self._graphql("TrulyBotGetOrder", queries.GET_ORDER, {"query": search, "first": 3})
        for order in self._orders(data, redacted):
            if order_number_matches(typed, order.number):
                return order
        hidden = redacted or _probe_hides_email(data)
        if not self._read_all_orders(data):
            raise OrderNotVisible(f"order not among the last {VISIBILITY_DAYS} days the app may read",
                                  customer_data_hidden=hidden, platform=PLATFORM)
        raise OrderNotFound("no order with that number", customer_data_hidden=hidden, platform=PLATFORM)

    async def find_orders(self, email: str, limit: int = 5) -> List[Order]:
        """Recent orders for ``email`` (at most :data:`MAX_FIND`). On a shop where the app lacks
        ``read_all_orders``, an empty result raises :class:`OrderNotVisible` (older orders may exist)."""
        address = normalize_email(email)
        if address is None or limit <= 0:
            return []
        data, redacted = await self._graphql(
            "TrulyBotFindOrders", queries.FIND_ORDERS, {"query": f"email:{search_quote(address)}", "first": min(limit, MAX_FIND)}
        )
        # the search filtered by email on Shopify's side; with redacted emails we cannot re-check
        orders = [o for o in self._orders(data, redacted) if o.matches_email(address) or o.email is None]
        if not orders and not self._read_all_orders(data):
            raise OrderNotVisible(f"no order among the last {VISIBILITY_DAYS} days the app may read", platform=PLATFORM)
        orders.sort(key=lambda o: o.created_at.timestamp() if o.created_at else 0.0, reverse=True)
        return orders[:limit]

    async def get_shipments(self, order: Order) -> List[Shipment]:
        """Fulfillments with tracking come with the order query; no extra call."""
        return list(order.shipments)

    # -- integration ------------------------------------------------------------------------------
    @classmethod
    def storefront_snippet(cls, script_url: str, widget_id: str) -> Optional[str]:
        base = script_url.rsplit("/", 1)[0]
        return f'<script src="{base}/api/widget/{cls.name}.js" data-widget-id="{widget_id}" async></script>'

    @classmethod
    def install_url(cls, values: Mapping[str, str], context: ConnectContext, state: str) -> str:
        """OAuth: the shop's ``/admin/oauth/authorize`` page for this app (see :mod:`plugins.shopify.oauth`)."""
        return shopify_oauth.authorize_url(context, values["shop"], state)

    @classmethod
    def read_install_callback(cls, params: Mapping[str, Any], context: ConnectContext) -> InstallCallback:
        """OAuth redirect: the query's HMAC under the app secret, its timestamp, the shop domain."""
        return shopify_oauth.read_callback(params, context)

    @classmethod
    async def complete_install(cls, params: Mapping[str, Any], context: ConnectContext, http: Any) -> InstallGrant:
        """OAuth redirect: exchange the code for an offline access token (scopes checked)."""
        return await shopify_oauth.exchange_code(params, context, http)

    async def register_webhooks(self, target: WebhookTarget) -> WebhookRegistration:
        return await shopify_webhooks.register(self, target)

    async def deregister_webhooks(self, registration: WebhookRegistration) -> None:
        await shopify_webhooks.deregister(self, registration)

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        return shopify_webhooks.verify(raw_body, headers, secret)

    @classmethod
    def read_delivery(cls, raw_body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
        return shopify_webhooks.read_delivery(raw_body, headers)

    async def parse_webhook(self, delivery: WebhookDelivery) -> WebhookOutcome:
        return shopify_webhooks.parse(delivery)
