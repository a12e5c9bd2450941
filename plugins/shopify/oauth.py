"""Shopify app install: the OAuth authorization-code grant, Shopify's side of it.

The product runs the flow generically (``/api/integrations/shopify/install`` and ``/callback``,
its signed state cookie, single-use state); this module holds what is Shopify's own:

* the authorize URL (``https://{shop}/admin/oauth/authorize?client_id&scope&redirect_uri&state``);
* the callback check before any I/O: the HMAC of the query (every parameter but ``hmac`` and
  ``signature``, sorted, constant-time compare), the ``timestamp`` window, the shop domain;
* the code exchange (``POST /admin/oauth/access_token``) and the granted scopes.

``api_base_url`` (app setting) sends every call to an emulator instead of ``https://{shop}``;
it is honoured for loopback URLs, or in demo mode.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode, urlsplit

from plugins.integration import ConnectContext, InstallCallback, InstallGrant, InstallRefused
from plugins.shopify import webhooks
from plugins.shopify.normalize import PLATFORM
from plugins.text import is_loopback_host

if TYPE_CHECKING:  # pragma: no cover
    from plugins.http import StoreHttpClient

#: Shopify signs the callback's ``timestamp`` when it redirects: the redirect is immediate.
TIMESTAMP_WINDOW = 300
SHOP_DOMAIN_PATTERN = r"[a-z0-9][a-z0-9-]*\.myshopify\.com"
DEFAULT_SCOPES = ("read_orders", "read_fulfillments")
MAX_CODE_LENGTH = 200

Params = Union[Mapping[str, Any], Sequence[Tuple[str, Any]]]


# --- HMAC of the callback query ------------------------------------------------------------------

def _pairs(params: Params) -> Iterable[Tuple[str, Any]]:
    return params.items() if isinstance(params, Mapping) else params


def signed_message(params: Params) -> str:
    """The message Shopify signs: every parameter except ``hmac``/``signature``, ``%``, ``&`` and
    ``=`` escaped, array parameters (``ids[]``) as a JSON list, pairs sorted, joined with ``&``."""
    encoded = []
    for key, value in _pairs(params):
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            key = key[:-2]
            values = value if isinstance(value, (list, tuple)) else [value]
            value = json.dumps([str(v) for v in values])
        k = str(key).replace("%", "%25").replace("=", "%3D").replace("&", "%26")
        v = str(value).replace("%", "%25").replace("&", "%26")
        encoded.append(f"{k}={v}")
    return "&".join(sorted(encoded))


def query_hmac(secret: str, params: Params) -> str:
    """Hex HMAC-SHA256 of :func:`signed_message` under the app's secret."""
    return hmac.new(secret.encode("utf-8"), signed_message(params).encode("utf-8"), hashlib.sha256).hexdigest()


def verify_query_hmac(secret: str, params: Params) -> bool:
    """True when ``params`` carry an ``hmac`` equal (constant time) to the HMAC of the others."""
    given = next((v for k, v in _pairs(params) if k == "hmac"), None)
    if not isinstance(given, str) or not secret or len(given) > 128:
        return False
    expected = query_hmac(secret, params)
    return hmac.compare_digest(expected.encode("ascii"), given.lower().encode("ascii", "replace"))


def fresh_timestamp(params: Params, window: float, now: Optional[float] = None) -> bool:
    """True when ``params`` carry a ``timestamp`` within ``window`` seconds of now (missing: False)."""
    raw = next((v for k, v in _pairs(params) if k == "timestamp"), None)
    try:
        ts = int(str(raw))
    except ValueError:
        return False
    return abs((time.time() if now is None else now) - ts) <= window


def webhook_hmac(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of a webhook's raw body (``X-Shopify-Hmac-Sha256``)."""
    return webhooks.signature(secret, body)


def verify_webhook_hmac(secret: str, body: bytes, given: Optional[str]) -> bool:
    """Constant-time check of ``X-Shopify-Hmac-Sha256`` over the raw body bytes: the check the
    webhook route runs (:func:`plugins.shopify.webhooks.verify`), for a header value alone."""
    headers = {"X-Shopify-Hmac-Sha256": given.strip()} if given else {}
    return webhooks.verify(body, headers, secret)


# --- the flow ---------------------------------------------------------------------------------------

def usable_api_base_url(value: Optional[str], *, demo: bool) -> Optional[str]:
    """The ``api_base_url`` app setting when it may be used: a loopback URL, or demo mode."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not demo and not is_loopback_host(parts.hostname):
        return None
    return value.rstrip("/")


def shop_base_url(context: ConnectContext, shop: str) -> str:
    """Where ``shop``'s OAuth endpoints and Admin API live: the ``api_base_url`` setting, else the
    emulator the product names (the demo shop in demo mode), else ``https://{shop}``."""
    override = usable_api_base_url(context.settings.get("api_base_url"), demo=context.demo) or context.base_url_override
    return override.rstrip("/") if override else f"https://{shop}"


def scopes(context: ConnectContext) -> Tuple[str, ...]:
    """The access scopes the app asks for (``scopes`` app setting)."""
    raw = context.settings.get("scopes") or ",".join(DEFAULT_SCOPES)
    return tuple(s.strip() for s in raw.split(",") if s.strip())


def authorize_url(context: ConnectContext, shop: str, state: str) -> str:
    """The page where the merchant approves the app on ``shop``."""
    base = shop_base_url(context, shop)
    query = urlencode({"client_id": context.settings.get("api_key") or "", "scope": ",".join(scopes(context)),
                       "redirect_uri": context.callback_url(PLATFORM), "state": state})
    url = f"{base}/admin/oauth/authorize?{query}"
    if base != f"https://{shop}":  # an emulator serves every shop: tell it which one
        url += "&" + urlencode({"shop": shop})
    return url


def read_callback(params: Mapping[str, Any], context: ConnectContext) -> InstallCallback:
    """Check the redirect's query without I/O (HMAC, timestamp, shop, code)."""
    if not verify_query_hmac(context.settings.get("api_secret") or "", list(params.items())):
        raise InstallRefused("bad hmac", "The request did not come from Shopify.", authentic=False)
    if not fresh_timestamp(list(params.items()), TIMESTAMP_WINDOW):
        raise InstallRefused("stale timestamp", "This connection link has expired. Please start again.")
    shop = str(params.get("shop", "")).lower()
    if not re.fullmatch(SHOP_DOMAIN_PATTERN, shop) or len(shop) > 255:
        raise InstallRefused("invalid shop domain", "The shop address is invalid.")
    code = str(params.get("code", ""))
    state = str(params.get("state", ""))
    if not code or len(code) > MAX_CODE_LENGTH or not state:
        raise InstallRefused("missing code or state", "This connection link is invalid.")
    return InstallCallback(state=state, shop_domain=shop)


async def exchange_code(params: Mapping[str, Any], context: ConnectContext, http: "StoreHttpClient") -> InstallGrant:
    """Trade the callback's ``code`` for an offline access token; check the granted scopes."""
    shop = str(params["shop"]).lower()
    base = shop_base_url(context, shop)
    resp = await http.request(
        "POST", f"{base}/admin/oauth/access_token", store_key=f"{PLATFORM}-oauth:{shop}", platform=PLATFORM,
        max_retries=1, timeout=10, headers={"X-Shopify-Shop-Domain": shop},
        json={"client_id": context.settings.get("api_key"), "client_secret": context.settings.get("api_secret"),
              "code": str(params["code"])})
    body = resp.json_or_none()
    if resp.status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise InstallRefused("code exchange refused", "Shopify refused the authorization. Please start again.")
    granted = [s for s in str(body.get("scope") or "").split(",") if s]
    missing = [s for s in scopes(context) if s not in granted and s.replace("read_", "write_") not in granted]
    if granted and missing:
        raise InstallRefused("scopes missing",
                             "Shopify granted fewer permissions than TrulyBot needs. Please approve all of them.")
    return InstallGrant(state=str(params["state"]), credentials={"access_token": body["access_token"]},
                        shop_domain=shop, base_url=base, granted_scopes=tuple(granted))
