"""BigCommerce platform: the V2 Orders API with an API account's ``X-Auth-Token``.

Calls ``{api}/stores/{store_hash}/v2/store``, ``/v2/orders/{id}``, ``/v2/orders?email=``,
``/v2/orders/{id}/products`` and ``/v2/orders/{id}/shipments`` through the shared
:class:`~plugins.http.StoreHttpClient` (retries, ``Retry-After``, circuit breaker, body cap).
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from plugins.base import Platform
from plugins.errors import MalformedResponse, OrderNotFound, PlatformError, StoreAuthError, StoreConfigError
from plugins.http import HttpResponse
from plugins.integration import (
    AppSetting,
    ConnectContext,
    ConnectFlow,
    ConnectionSchema,
    Field,
    FieldError,
    FieldRole,
    FieldType,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRegistration,
    WebhookSecret,
    WebhookSpec,
    WebhookTarget,
)
from plugins.model import Order, OrderStatus, Shipment, StoreConnection
from plugins.text import clean_text, clean_url, is_loopback_host, normalize_email, normalize_order_number

from trulybot_bigcommerce import webhooks as bc_webhooks
from trulybot_bigcommerce.normalize import (
    PLATFORM,
    SHIPPING_STATUSES,
    embedded_list,
    map_status,
    order_from_payload,
    parse_shipments,
    to_order_id,
)

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.bigcommerce.com"
STORE_HASH = re.compile(r"^[a-z0-9]{1,32}$")
#: what a merchant may paste as the store hash: the hash, or the API path of the API account
#: (``https://api.bigcommerce.com/stores/abc123/v3/``)
STORE_HASH_INPUT = r"(?:https://api\.bigcommerce\.com/)?(?:stores/)?[A-Za-z0-9]{1,32}(?:/v[23])?/?"
#: a V2 list answers 204 No Content when nothing matches
NO_CONTENT = 204


def api_root(base_url: Optional[str]) -> str:
    """The API host to call: ``base_url`` (an emulator, a proxy) or BigCommerce's API gateway."""
    return (base_url or "").strip().rstrip("/") or DEFAULT_API_URL


def parse_store_hash(value: str) -> str:
    """``abc123`` from ``abc123``, ``stores/abc123`` or the API path ``https://api.bigcommerce.com/stores/abc123/v3/``."""
    text = (value or "").strip().lower().rstrip("/")
    for prefix in ("https://api.bigcommerce.com/", "stores/"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    for suffix in ("/v2", "/v3"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


class BigCommercePlatform(Platform):
    """A BigCommerce store through the V2 Orders API.

    The store hash (the ``abc123`` in ``stores/abc123``) is the connection's ``shop_domain``: it
    identifies the store and is checked against the ``producer`` of webhook callbacks. The only
    credential is ``access_token``, an API account token with the *Orders: read-only* and
    *Information & settings: read-only* scopes (webhooks need no extra scope). ``base_url`` is the
    API host (``https://api.bigcommerce.com`` when empty). Store options: ``storefront_url`` (for
    the order page link; read from ``/v2/store`` when absent), ``status_map``
    (``{"<status id>": "<normalized status>"}``), ``allow_insecure_http`` (plain HTTP to a
    non-loopback API host; off).
    """

    name = PLATFORM
    display_name = "BigCommerce"
    credential_fields = ("access_token",)
    connection_schema = ConnectionSchema(
        fields=(
            Field("store_hash", "Store hash", FieldType.TEXT, FieldRole.SHOP_DOMAIN, max_length=80,
                  pattern=STORE_HASH_INPUT, pattern_hint="letters and digits, like abc123 (or the API path https://api.bigcommerce.com/stores/abc123/v3/)",
                  help="The abc123 in your control panel address store-abc123.mybigcommerce.com, or the API path shown with the API account.",
                  placeholder="abc123"),
            Field("access_token", "Access token", FieldType.PASSWORD, FieldRole.CREDENTIAL,
                  pattern=r"[A-Za-z0-9]{16,128}", pattern_hint="16 to 128 letters and digits",
                  help="Settings → API → Store-level API accounts → Create API account, with Orders and "
                       "Information & settings read-only; the token is shown once."),
            Field("storefront_url", "Storefront address", FieldType.URL, FieldRole.OPTION, required=False,
                  help="Your shop's https:// address, for order page links and the chat's allowed origin "
                       "(read from the store when empty).", placeholder="https://shop.example.com"),
        ),
        flows=(ConnectFlow.API_KEYS,),
        flow_labels={ConnectFlow.API_KEYS: "Paste an API account's store hash and access token"},
    )
    app_settings = (
        AppSetting("api_url", "Send every BigCommerce call to this base URL instead of https://api.bigcommerce.com "
                   "(emulators; honoured for https URLs, loopback URLs or in demo mode only)."),
    )
    webhooks = WebhookSpec(secret=WebhookSecret.PER_STORE, topics=("order/status_updated", "shipment/created", "shipment/updated"))

    # -- plumbing ---------------------------------------------------------------------------------
    def store_hash(self) -> str:
        """The store hash (``shop_domain``), validated: lower-case letters and digits."""
        value = parse_store_hash(self.store.shop_domain or "")
        if not STORE_HASH.match(value):
            raise StoreConfigError("store hash must be letters and digits (the abc123 in stores/abc123)", platform=PLATFORM)
        return value

    def _token(self) -> str:
        token = str(self.store.credentials.get("access_token") or "").strip()
        if not token:
            raise StoreConfigError("access token is required", platform=PLATFORM)
        return token

    def base_url(self, version: str = "v2") -> str:
        """``{api}/stores/{hash}/{version}``; HTTPS unless the host is loopback."""
        root = api_root(self.store.base_url)
        parts = urlsplit(root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreConfigError("API URL must be an http(s) URL", platform=PLATFORM)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not self.store.options.get("allow_insecure_http"):
            raise StoreConfigError("BigCommerce must be reached over HTTPS", platform=PLATFORM)
        return f"{root}/stores/{self.store_hash()}/{version}"

    def headers(self) -> Dict[str, str]:
        return {"X-Auth-Token": self._token(), "Accept": "application/json"}

    async def call(self, method: str, path: str, *, version: str = "v2", params: Optional[Mapping[str, Any]] = None,
                   json: Any = None, allow_404: bool = False) -> HttpResponse:
        """One API call; 401/403 → :class:`StoreAuthError`, 3xx → :class:`StoreConfigError`, other
        4xx → :class:`PlatformError` (404 returned when ``allow_404``)."""
        response = await self.http.request(
            method, self.base_url(version) + path, store_key=self.store.key, platform=PLATFORM,
            params=dict(params) if params else None, json=json, headers=self.headers(),
        )
        status = response.status
        if 200 <= status < 300 or (status == 404 and allow_404):
            return response
        if status in (401, 403):
            raise StoreAuthError("BigCommerce rejected the access token (or it lacks a scope)", platform=PLATFORM)
        if 300 <= status < 400:
            raise StoreConfigError("the API redirected the request; check the API URL", platform=PLATFORM)
        if status == 404:
            raise StoreConfigError("no BigCommerce store with this store hash", platform=PLATFORM)
        raise PlatformError(f"BigCommerce answered HTTP {status}", platform=PLATFORM)

    @staticmethod
    def _list(response: HttpResponse, what: str) -> List[Any]:
        if response.status == NO_CONTENT or not response.body.strip():
            return []
        body = response.json()
        if not isinstance(body, list):
            raise MalformedResponse(f"{what} is not a JSON list", platform=PLATFORM)
        return body

    def _storefront_url(self) -> Optional[str]:
        configured = clean_url(self.store.options.get("storefront_url"))
        return configured or self.http.state_for(self.store.key).memo.get("storefront_url")

    def _order(self, payload: Any, products: Optional[List[Any]] = None, shipments: Optional[List[Any]] = None) -> Order:
        return order_from_payload(payload, products=products, shipments=shipments,
                                  storefront_url=self._storefront_url(), options=self.store.options)

    async def _sub_resource(self, payload: Dict[str, Any], name: str) -> List[Any]:
        """``products`` / ``shipments`` of an order: the embedded list, else ``GET /orders/{id}/{name}``."""
        inline = embedded_list(payload.get(name))
        if inline is not None:
            return inline
        return self._list(await self.call("GET", f"/orders/{int(payload['id'])}/{name}"), name)

    # -- Platform API -----------------------------------------------------------------------------
    async def check_connection(self) -> Dict[str, Any]:
        response = await self.call("GET", "/store")
        body = response.json()
        if not isinstance(body, dict) or not body.get("id"):
            raise MalformedResponse("store information without an id", platform=PLATFORM)
        storefront = clean_url(body.get("secure_url")) or clean_url(f"https://{body.get('domain')}" if body.get("domain") else None)
        if storefront:
            self.http.state_for(self.store.key).memo["storefront_url"] = storefront
        return {
            "platform": PLATFORM,
            "name": clean_text(body.get("name"), 100) or self.store_hash(),
            "version": "v2",
            "store_hash": self.store_hash(),
            "storefront_url": storefront,
            "currency": body.get("currency") if isinstance(body.get("currency"), str) else None,
            "status": body.get("status") if isinstance(body.get("status"), str) else None,
        }

    async def _learn_storefront(self) -> None:
        """Read the storefront address from ``/v2/store`` once per process when no option gives it."""
        memo = self.http.state_for(self.store.key).memo
        if self._storefront_url() or memo.get("storefront_checked"):
            return
        memo["storefront_checked"] = True
        try:
            await self.check_connection()
        except PlatformError as exc:
            logger.debug("store %s: storefront address not learned (%s)", self.store.store_id, exc.code)

    async def fetch_order(self, order_id: int, *, with_shipments: Optional[bool] = None, only_shipment: Optional[int] = None) -> Order:
        """The order with this id, its products and (for shipped states, or when asked) shipments.

        ``only_shipment``: keep only the shipment with this id (all when it is not among them).
        """
        response = await self.call("GET", f"/orders/{order_id}", allow_404=True)
        if response.status == 404:
            raise OrderNotFound("no order with that number", platform=PLATFORM)
        payload = response.json()
        if not isinstance(payload, dict) or to_order_id(payload.get("id")) != order_id:
            raise MalformedResponse("order answer does not match the order asked for", platform=PLATFORM)
        status, _ = map_status(payload.get("status_id"), items_shipped=payload.get("items_shipped"),
                               items_total=payload.get("items_total"), options=self.store.options)
        wanted = status in SHIPPING_STATUSES if with_shipments is None else with_shipments
        shipments: Optional[List[Any]] = embedded_list(payload.get("shipments"))
        if wanted:
            products, shipments, _ = await asyncio.gather(
                self._sub_resource(payload, "products"), self._sub_resource(payload, "shipments"), self._learn_storefront())
        else:
            products, _ = await asyncio.gather(self._sub_resource(payload, "products"), self._learn_storefront())
        if only_shipment is not None and shipments:
            named = [s for s in shipments if isinstance(s, dict) and to_order_id(s.get("id")) == only_shipment]
            shipments = named or shipments
        return self._order(payload, products, shipments)

    async def get_order(self, number: str) -> Order:
        try:
            typed = normalize_order_number(number)
        except ValueError:
            raise OrderNotFound("not an order number", platform=PLATFORM) from None
        order_id = to_order_id(typed)
        if order_id is None:
            raise OrderNotFound("BigCommerce order numbers are digits", platform=PLATFORM)
        return await self.fetch_order(order_id)

    async def find_orders(self, email: str, limit: int = 5) -> List[Order]:
        address = normalize_email(email)
        if address is None or limit <= 0:
            return []
        response = await self.call("GET", "/orders", params={"email": address, "sort": "date_created:desc", "limit": min(50, max(limit, 1))})
        orders = []
        for payload in self._list(response, "order list"):
            try:
                order = self._order(payload)  # items only when the list embeds them: a list costs one call
            except MalformedResponse:
                logger.debug("store %s: skipped a malformed order in a list", self.store.store_id)
                continue
            if order.matches_email(address):
                orders.append(order)
        orders.sort(key=lambda o: o.created_at.timestamp() if o.created_at else 0.0, reverse=True)
        return orders[:limit]

    async def get_shipments(self, order: Order) -> List[Shipment]:
        if order.shipments:
            return list(order.shipments)
        order_id = to_order_id(order.platform_id)
        if order_id is None:
            return []
        response = await self.call("GET", f"/orders/{order_id}/shipments", allow_404=True)
        if response.status == 404:
            return []
        return parse_shipments(self._list(response, "shipment list"), delivered=order.status is OrderStatus.DELIVERED)

    # -- integration ------------------------------------------------------------------------------
    @classmethod
    def connection_from_fields(cls, values: Mapping[str, str], context: ConnectContext) -> StoreConnection:
        """The store hash from any accepted spelling; the API host from ``context`` (emulators) or the
        ``api_url`` app setting when it may be used, else BigCommerce's gateway."""
        connection = super().connection_from_fields(values, context)
        connection.shop_domain = parse_store_hash(values.get("store_hash", ""))
        if not STORE_HASH.match(connection.shop_domain):
            raise FieldError("store_hash", "letters and digits, like abc123")
        if not context.base_url_override:
            connection.base_url = usable_api_url(context.settings.get("api_url"), demo=context.demo) or DEFAULT_API_URL
        return connection

    @classmethod
    def store_key_of(cls, connection: StoreConnection) -> str:
        return parse_store_hash(connection.shop_domain or "")

    @classmethod
    def storefront_origins(cls, connection: StoreConnection) -> List[str]:
        parts = urlsplit(clean_url(connection.options.get("storefront_url")) or "")
        return [f"https://{parts.netloc}"] if parts.scheme == "https" and parts.netloc else []

    async def register_webhooks(self, target: WebhookTarget) -> WebhookRegistration:
        return await bc_webhooks.register(self, target)

    async def deregister_webhooks(self, registration: WebhookRegistration) -> None:
        await bc_webhooks.deregister(self, registration)

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        """BigCommerce does not sign bodies: the store's secret comes back in a custom header of the
        hook (see :mod:`trulybot_bigcommerce.webhooks`), compared in constant time."""
        return bc_webhooks.verify(headers, secret)

    @classmethod
    def read_delivery(cls, raw_body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
        return bc_webhooks.read_delivery(raw_body)

    async def parse_webhook(self, delivery: WebhookDelivery) -> WebhookOutcome:
        return await bc_webhooks.parse(self, delivery)


def usable_api_url(value: Optional[str], *, demo: bool) -> Optional[str]:
    """The ``api_url`` app setting when it may be used: https, a loopback host, or demo mode."""
    url = clean_url(value)
    if url is None:
        return None
    host = urlsplit(url).hostname
    if url.lower().startswith("https://") or demo or is_loopback_host(host):
        return url.rstrip("/")
    logger.warning("TRULYBOT_BIGCOMMERCE_API_URL ignored: plain http is allowed for loopback emulators or in demo mode only")
    return None


__all__ = ["BigCommercePlatform", "DEFAULT_API_URL", "api_root", "parse_store_hash", "usable_api_url"]
