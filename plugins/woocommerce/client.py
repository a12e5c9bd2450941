"""WooCommerce platform: REST API v3 (``/wp-json/wc/v3``) with consumer key/secret."""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

import aiohttp

from plugins.base import Platform
from plugins.integration import (
    ConnectContext,
    ConnectFlow,
    ConnectionSchema,
    Field,
    FieldRole,
    FieldType,
    InstallCallback,
    InstallGrant,
    InstallRefused,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRegistration,
    WebhookSecret,
    WebhookSpec,
    WebhookTarget,
)
from plugins.woocommerce import webhooks as woo_webhooks
from plugins.errors import (
    MalformedResponse,
    OrderNotFound,
    PlatformError,
    StoreAuthError,
    StoreConfigError,
)
from plugins.http import HttpResponse
from plugins.model import Order, OrderStatus, Shipment, StoreConnection
from plugins.text import clean_text, digits_of, is_loopback_host, normalize_email, normalize_order_number, order_number_matches
from plugins.woocommerce.normalize import PLATFORM, order_from_payload, parse_tracking_items

logger = logging.getLogger(__name__)

API_PREFIX = "/wp-json/wc/v3"
TRACKING_PREFIX = "/wp-json/wc-shipment-tracking/v3"
#: 401 code WooCommerce sends when no credentials reached it (e.g. the server stripped the
#: Authorization header): the documented cue to retry with query-string auth
NO_AUTH_CODE = "woocommerce_rest_cannot_view"
AUTH_MODES = ("auto", "basic", "query")
MAX_PAGES = 3
#: wc-auth scope: creating the ``order.updated`` webhook needs write access
WC_AUTH_SCOPE = "read_write"



def _error_code(response: HttpResponse) -> Optional[str]:
    body = response.json_or_none()
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return body["code"]
    return None


def _has_next_page(response: HttpResponse, page: int) -> bool:
    link = response.headers.get("Link", "")
    if 'rel="next"' in link:
        return True
    total_pages = response.headers.get("X-WP-TotalPages", "")
    return total_pages.isdigit() and page < int(total_pages)


class WooCommercePlatform(Platform):
    """WooCommerce store through the REST API v3.

    Store options: ``auth`` (``"auto"`` default: basic auth, falling back to query-string auth
    when the server drops the Authorization header; ``"basic"``; ``"query"``),
    ``allow_insecure_http`` (plain HTTP to a non-loopback host; off), ``permalinks`` (``"pretty"``:
    ``/wp-json/...``; ``"plain"``: ``/?rest_route=...``; default: detected by ``check_connection``),
    ``completed_means_delivered``, ``status_map`` (custom status slug → normalized status).
    """

    name = "woocommerce"
    display_name = "WooCommerce"
    credential_fields = ("consumer_key", "consumer_secret")
    connection_schema = ConnectionSchema(
        fields=(
            Field("store_url", "Store address", FieldType.URL, FieldRole.BASE_URL, min_length=8,
                  help="The https:// address of your WordPress site.", placeholder="https://shop.example.com"),
            Field("consumer_key", "Consumer key", FieldType.TEXT, FieldRole.CREDENTIAL, secret=True,
                  pattern=r"ck_[A-Za-z0-9_]{8,120}", pattern_hint="Consumer keys start with ck_ followed by letters and digits.",
                  help="WooCommerce → Settings → Advanced → REST API → Add key (Read/Write)."),
            Field("consumer_secret", "Consumer secret", FieldType.PASSWORD, FieldRole.CREDENTIAL,
                  pattern=r"cs_[A-Za-z0-9_]{8,120}", pattern_hint="Consumer secrets start with cs_ followed by letters and digits.",
                  help="Shown once, next to the consumer key."),
        ),
        flows=(ConnectFlow.API_KEYS, ConnectFlow.AUTHORIZATION_CALLBACK),
        flow_fields={ConnectFlow.AUTHORIZATION_CALLBACK: ("store_url",)},
        flow_aliases={"keys": "api_keys", "wc_auth": "authorization_callback"},
        flow_labels={ConnectFlow.API_KEYS: "Paste REST API keys",
                     ConnectFlow.AUTHORIZATION_CALLBACK: "Approve on my store (WooCommerce creates the keys)"},
    )
    webhooks = WebhookSpec(secret=WebhookSecret.PER_STORE, topics=("order.updated",))

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def _base(self) -> str:
        base = (self.store.base_url or "").strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreConfigError("store URL must be an http(s) URL", platform=PLATFORM)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not self.store.options.get("allow_insecure_http"):
            raise StoreConfigError("WooCommerce stores must be reached over HTTPS", platform=PLATFORM)
        return base

    def _credentials(self) -> Tuple[str, str]:
        key = self.store.credentials.get("consumer_key")
        secret = self.store.credentials.get("consumer_secret")
        if not key or not secret:
            raise StoreConfigError("consumer key and secret are required", platform=PLATFORM)
        return key, secret

    def _auth_mode(self) -> str:
        memo = self.http.state_for(self.store.key).memo
        configured = self.store.options.get("auth", "auto")
        if configured not in AUTH_MODES:
            configured = "auto"
        if configured == "auto":
            return memo.get("auth_mode", "basic")
        return configured

    def _plain_permalinks(self) -> bool:
        if self.store.options.get("permalinks") in ("plain", "pretty"):
            return self.store.options["permalinks"] == "plain"
        return bool(self.http.state_for(self.store.key).memo.get("plain_permalinks"))

    def _url(self, path: str, query: Dict[str, Any], plain: Optional[bool] = None) -> str:
        """``/wp-json/wc/v3/orders`` → pretty URL, or ``/?rest_route=/wc/v3/orders`` (plain permalinks)."""
        if self._plain_permalinks() if plain is None else plain:
            query["rest_route"] = path[len("/wp-json"):] or "/"
            return self._base + "/"
        return self._base + path

    async def _send(self, path: str, params: Optional[Mapping[str, Any]], mode: str) -> HttpResponse:
        key, secret = self._credentials()
        query: Dict[str, Any] = dict(params or {})
        url = self._url(path, query)
        auth = None
        if mode == "query":
            query.update(consumer_key=key, consumer_secret=secret)
        else:
            auth = aiohttp.BasicAuth(key, secret)
        return await self.http.request("GET", url, store_key=self.store.key, platform=PLATFORM, params=query or None, auth=auth)

    async def _get(self, path: str, params: Optional[Mapping[str, Any]] = None, *, allow_404: bool = False) -> HttpResponse:
        """GET with auth; maps 3xx/401/403/other 4xx to typed errors (404 returned if allowed)."""
        mode = self._auth_mode()
        response = await self._send(path, params, mode)
        if (
            response.status == 401
            and mode == "basic"
            and self.store.options.get("auth", "auto") == "auto"
            and _error_code(response) == NO_AUTH_CODE
        ):
            fallback = await self._send(path, params, "query")
            if fallback.status != 401:
                self.http.state_for(self.store.key).memo["auth_mode"] = "query"
                logger.info("store %s: Authorization header not received, using query-string auth", self.store.store_id)
            response = fallback
        status = response.status
        if 200 <= status < 300:
            return response
        if status == 404 and response.json_or_none() is None and await self._discovered_plain_permalinks():
            return await self._get(path, params, allow_404=allow_404)
        if 300 <= status < 400:
            raise StoreConfigError("the store redirected the API request; check the store URL (https, www)", platform=PLATFORM)
        if status in (401, 403):
            raise StoreAuthError("WooCommerce rejected the API keys", platform=PLATFORM)
        if status == 404 and allow_404:
            return response
        if status == 404 and _error_code(response) == "rest_no_route":
            raise StoreConfigError("no WooCommerce REST API at this URL (is WooCommerce active?)", platform=PLATFORM)
        raise PlatformError(f"WooCommerce answered HTTP {status}", platform=PLATFORM)

    def _order(self, payload: Any) -> Order:
        return order_from_payload(payload, store_url=self.store.base_url, options=self.store.options)

    async def _search(self, term: str, *, per_page: int, max_pages: int = MAX_PAGES) -> List[Any]:
        """Raw order objects for ``search=term``, newest first, following pagination."""
        payloads: List[Any] = []
        page = 1
        while True:
            response = await self._get(
                f"{API_PREFIX}/orders", {"search": term, "per_page": per_page, "page": page, "orderby": "date", "order": "desc"}
            )
            body = response.json()
            if not isinstance(body, list):
                raise MalformedResponse("order list is not a JSON list", platform=PLATFORM)
            payloads.extend(body)
            if page >= max_pages or not body or not _has_next_page(response, page):
                return payloads
            page += 1

    def _orders_from(self, payloads: List[Any]) -> List[Order]:
        orders = []
        for payload in payloads:
            try:
                orders.append(self._order(payload))
            except MalformedResponse:
                logger.debug("store %s: skipped a malformed order in a list", self.store.store_id)
        return orders

    # -- Platform API -----------------------------------------------------------------------------
    async def _discovered_plain_permalinks(self) -> bool:
        """After a non-JSON 404 (a theme's page, not the REST API): check once per store whether
        the site only has plain permalinks; True when requests should be retried that way."""
        memo = self.http.state_for(self.store.key).memo
        if "permalinks" in self.store.options or memo.get("plain_permalinks") or memo.get("permalinks_checked"):
            return False
        memo["permalinks_checked"] = True
        try:
            await self._index()
        except PlatformError:
            return False
        return bool(memo.get("plain_permalinks"))

    async def _index(self) -> Dict[str, Any]:
        """The public WordPress REST index; detects sites without pretty permalinks."""
        for plain in ((self._plain_permalinks(),) if "permalinks" in self.store.options else (False, True)):
            query: Dict[str, Any] = {}
            url = self._url("/wp-json/", query, plain)
            response = await self.http.request("GET", url, store_key=self.store.key, platform=PLATFORM, params=query or None)
            body = response.json_or_none() if response.status == 200 else None
            if isinstance(body, dict) and isinstance(body.get("namespaces"), list):
                if plain:
                    self.http.state_for(self.store.key).memo["plain_permalinks"] = True
                return body
            if response.status in (401, 403):
                return {}  # a security plugin hides the index from anonymous visitors: carry on
            if 300 <= response.status < 400:
                raise StoreConfigError("the store redirected the API request; check the store URL (https, www)", platform=PLATFORM)
            if response.status not in (200, 404):
                raise PlatformError(f"WooCommerce answered HTTP {response.status}", platform=PLATFORM)
        raise StoreConfigError("no WordPress REST API at this URL", platform=PLATFORM)

    async def check_connection(self) -> Dict[str, Any]:
        index = await self._index()
        namespaces = [n for n in index.get("namespaces") or [] if isinstance(n, str)]
        if index and "wc/v3" not in namespaces:
            raise StoreConfigError("WooCommerce REST API v3 is not active on this site", platform=PLATFORM)
        response = await self._get(f"{API_PREFIX}/system_status")
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("environment"), dict):
            raise MalformedResponse("system status without environment", platform=PLATFORM)
        env = body["environment"]
        settings = body.get("settings") if isinstance(body.get("settings"), dict) else {}
        plugins = body.get("active_plugins") if isinstance(body.get("active_plugins"), list) else []
        tracking = "wc-shipment-tracking/v3" in namespaces or any(
            isinstance(p, dict) and "shipment-tracking" in str(p.get("plugin", "")) for p in plugins
        )
        site = env.get("site_url") if isinstance(env.get("site_url"), str) else self.store.base_url
        return {
            "platform": PLATFORM,
            "name": clean_text(index.get("name"), 100) or urlsplit(site).hostname or site,
            "permalinks": "plain" if self._plain_permalinks() else "pretty",
            "version": env.get("version") if isinstance(env.get("version"), str) else None,
            "wp_version": env.get("wp_version") if isinstance(env.get("wp_version"), str) else None,
            "currency": settings.get("currency") if isinstance(settings.get("currency"), str) else None,
            "shipment_tracking": tracking,
            "auth_mode": self._auth_mode(),
        }

    async def get_order(self, number: str) -> Order:
        try:
            typed = normalize_order_number(number)
        except ValueError:
            raise OrderNotFound("not an order number", platform=PLATFORM) from None
        if typed.isdigit() and 0 < int(typed) < 2**63:
            response = await self._get(f"{API_PREFIX}/orders/{int(typed)}", allow_404=True)
            if response.status == 200:
                order = self._order(response.json())
                if order_number_matches(typed, order.number):
                    return order
        terms = [typed]
        digits = digits_of(typed)
        if digits and digits != typed:
            terms.append(digits)
        for term in terms:
            for order in self._orders_from(await self._search(term, per_page=20, max_pages=2)):
                if order_number_matches(typed, order.number):
                    return order
        raise OrderNotFound("no order with that number", platform=PLATFORM)

    async def find_orders(self, email: str, limit: int = 5) -> List[Order]:
        address = normalize_email(email)
        if address is None or limit <= 0:
            return []
        per_page = min(100, max(10, limit * 2))
        matches = [o for o in self._orders_from(await self._search(address, per_page=per_page)) if o.matches_email(address)]
        matches.sort(key=lambda o: o.created_at.timestamp() if o.created_at else 0.0, reverse=True)
        return matches[:limit]

    async def get_shipments(self, order: Order) -> List[Shipment]:
        if order.shipments:
            return list(order.shipments)
        memo = self.http.state_for(self.store.key).memo
        if memo.get("tracking_endpoint") is False:
            return []
        response = await self._get(f"{TRACKING_PREFIX}/orders/{order.platform_id}/shipment-trackings", allow_404=True)
        if response.status == 404:
            if _error_code(response) == "rest_no_route":
                memo["tracking_endpoint"] = False
            return []
        body = response.json()
        if not isinstance(body, list):
            raise MalformedResponse("shipment tracking list is not a JSON list", platform=PLATFORM)
        return parse_tracking_items(body, delivered=order.status is OrderStatus.DELIVERED)

    # -- integration ------------------------------------------------------------------------------
    @classmethod
    def storefront_origins(cls, connection: StoreConnection) -> List[str]:
        parts = urlsplit(connection.base_url or "")
        return [f"https://{parts.netloc}"] if parts.scheme == "https" and parts.netloc else []

    @classmethod
    def storefront_snippet(cls, script_url: str, widget_id: str) -> Optional[str]:
        base = script_url.rsplit("/", 1)[0]
        return f'<script src="{base}/api/widget/{cls.name}.js" data-widget-id="{widget_id}" async></script>'

    @classmethod
    def install_url(cls, values: Mapping[str, str], context: ConnectContext, state: str) -> str:
        """wc-auth: ``<store>/wc-auth/v1/authorize`` asking for ``read_write`` keys (creating the
        ``order.updated`` webhook needs write access); the store POSTs the keys to the callback."""
        base = (context.base_url_override or values.get("store_url") or "").rstrip("/")
        query = urlencode({"app_name": "TrulyBot", "scope": WC_AUTH_SCOPE, "user_id": state,
                           "return_url": context.return_url(cls.name), "callback_url": context.callback_url(cls.name)})
        return f"{base}/wc-auth/v1/authorize?{query}"

    @classmethod
    def read_install_callback(cls, params: Mapping[str, Any], context: ConnectContext) -> InstallCallback:
        """wc-auth callback body: ``{key_id, user_id (our state), consumer_key, consumer_secret,
        key_permissions}``; the keys must look like WooCommerce keys (``ck_…``/``cs_…``)."""
        state = params.get("user_id")
        if not isinstance(state, (str, int)) or isinstance(state, bool) or not str(state):
            raise InstallRefused("authorization callback without state", "user_id: is required")
        for name, prefix in (("consumer_key", "ck_"), ("consumer_secret", "cs_")):
            value = params.get(name)
            if not isinstance(value, str) or not re.fullmatch(prefix + r"[A-Za-z0-9_]{8,120}", value):
                raise InstallRefused(f"authorization callback without a valid {name}", f"{name}: must look like {prefix}…")
        return InstallCallback(state=str(state))

    @classmethod
    def read_install_return(cls, params: Mapping[str, str]) -> InstallCallback:
        """wc-auth sends the merchant back to ``return_url`` with ``success=1|0&user_id=<our state>``."""
        state = params.get("user_id")
        if not isinstance(state, str) or not state:
            raise InstallRefused("return without user_id", "This connection link is invalid.")
        return InstallCallback(state=state, denied=params.get("success") == "0")

    @classmethod
    async def complete_install(cls, params: Mapping[str, Any], context: ConnectContext, http: Any) -> InstallGrant:
        """wc-auth: the store POSTed the new keys; nothing to exchange."""
        found = cls.read_install_callback(params, context)
        return InstallGrant(state=found.state, credentials={"consumer_key": params["consumer_key"],
                                                           "consumer_secret": params["consumer_secret"]})

    async def register_webhooks(self, target: WebhookTarget) -> WebhookRegistration:
        return await woo_webhooks.register(self, target)

    async def deregister_webhooks(self, registration: WebhookRegistration) -> None:
        await woo_webhooks.deregister(self, registration)

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        return woo_webhooks.verify(raw_body, headers, secret)

    @classmethod
    def is_ping(cls, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        return woo_webhooks.is_ping(raw_body, headers)

    @classmethod
    def read_delivery(cls, raw_body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
        return woo_webhooks.read_delivery(raw_body, headers)

    async def parse_webhook(self, delivery: WebhookDelivery) -> WebhookOutcome:
        return woo_webhooks.parse(self, delivery)
