"""BigCommerce platform: the V2 Orders API with an API account's ``X-Auth-Token``.

Calls ``{api}/stores/{store_hash}/v2/store``, ``/v2/orders/{id}``, ``/v2/orders?email=``,
``/v2/orders/{id}/products`` and ``/v2/orders/{id}/shipments`` through the shared
:class:`~plugins.http.StoreHttpClient` (retries, ``Retry-After``, circuit breaker, body cap).
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from plugins.base import Platform
from plugins.errors import MalformedResponse, OrderNotFound, PlatformError, StoreAuthError, StoreConfigError
from plugins.http import HttpResponse
from plugins.model import Order, OrderStatus, Shipment
from plugins.text import clean_text, clean_url, is_loopback_host, normalize_email, normalize_order_number

from trulybot_bigcommerce.normalize import PLATFORM, SHIPPING_STATUSES, embedded_list, order_from_payload, parse_shipments

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.bigcommerce.com"
STORE_HASH = re.compile(r"^[a-z0-9]{1,32}$")
MAX_ORDER_ID = 2**31 - 1
#: a V2 list answers 204 No Content when nothing matches
NO_CONTENT = 204


def api_root(base_url: Optional[str]) -> str:
    """The API host to call: ``base_url`` (an emulator, a proxy) or BigCommerce's API gateway."""
    return (base_url or "").strip().rstrip("/") or DEFAULT_API_URL


class BigCommercePlatform(Platform):
    """A BigCommerce store through the V2 Orders API.

    Credentials: ``store_hash`` (the ``abc123`` in ``stores/abc123``) and ``access_token`` (an API
    account token with the *Orders: read-only* and *Information & settings: read-only* scopes; webhooks
    need no extra scope). Store options: ``storefront_url`` (for the order page link; learned from
    ``/v2/store`` when absent), ``status_map`` (``{"<status id>": "<normalized status>"}``),
    ``allow_insecure_http`` (plain HTTP to a non-loopback API host; off).
    """

    name = PLATFORM
    display_name = "BigCommerce"
    credential_fields = ("store_hash", "access_token")

    # -- plumbing ---------------------------------------------------------------------------------
    def store_hash(self) -> str:
        """The store hash, validated (lower-case letters and digits)."""
        value = str(self.store.credentials.get("store_hash") or self.store.options.get("store_hash") or "").strip().lower()
        if value.startswith("stores/"):
            value = value[len("stores/"):]
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

    async def fetch_order(self, order_id: int, *, with_shipments: Optional[bool] = None) -> Order:
        """The order with this id, its products and (for shipped states, or when asked) shipments."""
        response = await self.call("GET", f"/orders/{order_id}", allow_404=True)
        if response.status == 404:
            raise OrderNotFound("no order with that number", platform=PLATFORM)
        payload = response.json()
        if not isinstance(payload, dict) or to_order_id(payload.get("id")) != order_id:
            raise MalformedResponse("order answer does not match the order asked for", platform=PLATFORM)
        status = self._order(payload).status
        wanted = status in SHIPPING_STATUSES if with_shipments is None else with_shipments
        if wanted:
            products, shipments = await asyncio.gather(self._sub_resource(payload, "products"), self._sub_resource(payload, "shipments"))
        else:
            products, shipments = await self._sub_resource(payload, "products"), embedded_list(payload.get("shipments"))
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
                order = self._order(payload, products=embedded_list(payload.get("products")) if isinstance(payload, dict) else None)
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


def to_order_id(value: Any) -> Optional[int]:
    """A positive V2 order id from an int or a digit string (leading zeros allowed), else ``None``."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    if not text.isdigit() or not text.isascii() or len(text) > 12:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ORDER_ID else None


__all__ = ["BigCommercePlatform", "DEFAULT_API_URL", "api_root", "to_order_id"]
