"""Shopify install: OAuth authorization-code grant.

1. ``POST /api/integrations/shopify/connect {"shop": "x.myshopify.com"}`` (merchant token): we
   validate the shop domain, create a random state nonce, put it with the shop and merchant in a
   signed, short-lived, HttpOnly cookie and answer the install URL.
2. Shopify redirects the merchant's browser to ``GET /api/integrations/shopify/callback`` with
   ``code, shop, state, timestamp, hmac``. We verify the HMAC of the query (sorted parameters,
   constant time), the timestamp window, the shop domain, that ``state`` equals the cookie's nonce
   and ``shop`` the cookie's shop, that the nonce was not used before; then exchange the code for
   an access token, check it, store it encrypted and register webhooks.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import activity
from bot import appkeys
from bot.api.auth import MerchantIdentity, merchant_required
from bot.services.db import in_db
from bot.api.errors import ApiError
from bot.api.integrations import _check, _finish_webhooks, _site_info, html_page
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.services.metrics import STORE_CONNECTIONS, timed_store_call
from bot.services.platforms import connection, shopify_base_url
from bot.api.registry import Param, route
from bot.api.stores import default_widget, store_dict
from bot.api.validation import RETURN_TO_SCHEMA, SHOP_DOMAIN_RE, read_json, safe_return_to, shop_domain
from bot.core.db.models import StoreIntegration, utcnow
from bot.core.sealed import derive_key, seal, unseal
from bot.services.credentials import set_credentials

logger = logging.getLogger(__name__)

COOKIE_NAME = "tb_shopify_oauth"
COOKIE_PATH = "/api/integrations/shopify"

CONNECT_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["shop"],
    "properties": {
        "shop": {"type": "string", "maxLength": 255, "pattern": SHOP_DOMAIN_RE.pattern},
        "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
        # where the merchant's browser goes after a successful install (only dashboard pages)
        "return_to": RETURN_TO_SCHEMA,
    },
}


# --- HMAC of the callback query -------------------------------------------------------------------

Params = Union[Mapping[str, Any], Sequence[Tuple[str, Any]]]


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
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify_webhook_hmac(secret: str, body: bytes, given: Optional[str]) -> bool:
    """Constant-time check of ``X-Shopify-Hmac-Sha256`` over the raw body bytes."""
    if not given or not secret:
        return False
    return hmac.compare_digest(webhook_hmac(secret, body).encode("ascii"), given.strip().encode("ascii", "replace"))


# --- signed state cookie ----------------------------------------------------------------------------

def sign_state(secret: str, payload: Dict[str, Any]) -> str:
    """The signed state cookie value (see :mod:`bot.core.sealed`)."""
    return seal(derive_key(secret, "shopify-oauth-cookie"), payload)


def read_state(secret: str, cookie: Optional[str], now: Optional[float] = None) -> Optional[Dict[str, Any]]:
    """The state cookie's payload when authentic and unexpired, else None."""
    payload = unseal(derive_key(secret, "shopify-oauth-cookie"), cookie)
    if payload is None or not isinstance(payload.get("exp"), (int, float)):
        return None
    if payload["exp"] < (time.time() if now is None else now):
        return None
    return payload


class UsedNonces:
    """Nonces consumed by callbacks in this process (the store row keeps them across restarts)."""

    def __init__(self, size: int = 10000) -> None:
        self._seen: "OrderedDict[str, float]" = OrderedDict()
        self._size = size

    def use(self, nonce: str, ttl: float) -> bool:
        now = time.time()
        while self._seen and (len(self._seen) >= self._size or next(iter(self._seen.values())) < now):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now + ttl
        return True


_USED = UsedNonces()


def _session_secret(app: web.Application) -> str:
    secret = app[appkeys.SETTINGS].session_secret
    if not secret:
        raise ApiError(503, "not_configured", "TRULYBOT_SESSION_SECRET is not set")
    return secret


# --- routes ------------------------------------------------------------------------------------------

@route("POST", "/api/integrations/shopify/connect", summary="Start installing the app on a Shopify shop (OAuth)",
       tag="integrations", body=CONNECT_SCHEMA, responses={200: "ShopifyInstall", 409: "Error", 422: "Error"})
@merchant_required
async def shopify_connect(request: web.Request, me: MerchantIdentity) -> web.Response:
    app = request.app
    config = app[API_CONFIG]
    body = await read_json(request, CONNECT_SCHEMA)
    shop = shop_domain(body["shop"])
    if not config.shopify_configured:
        raise ApiError(409, "not_configured", "the Shopify app is not configured (TRULYBOT_SHOPIFY_API_KEY/SECRET)")
    owner = await in_db(app, _shop_owner, shop)
    if owner is not None and owner != me.merchant_id:
        raise ApiError(409, "shop_taken", "this shop is connected to another TrulyBot account")
    nonce = secrets.token_urlsafe(24)
    expires = int(time.time()) + config.state_ttl_seconds
    payload = {"n": nonce, "shop": shop, "m": me.merchant_id, "exp": expires}
    if body.get("display_name"):
        payload["name"] = body["display_name"]
    if body.get("return_to"):
        payload["r"] = body["return_to"]
    query = urlencode({
        "client_id": config.shopify_api_key,
        "scope": ",".join(config.shopify_scopes),
        "redirect_uri": f"{config.public_url}/api/integrations/shopify/callback",
        "state": nonce,
    })
    install_url = f"{shopify_base_url(app, shop)}/admin/oauth/authorize?{query}"
    if config.shopify_api_base_url:
        install_url += "&" + urlencode({"shop": shop})
    resp = web.json_response({"install_url": install_url, "expires_at": expires, "shop": shop})
    resp.set_cookie(COOKIE_NAME, sign_state(_session_secret(app), payload), max_age=config.state_ttl_seconds,
                    path=COOKIE_PATH, httponly=True, samesite="Lax", secure=config.public_url.startswith("https://"))
    return resp


def _shop_owner(session: Session, shop: str) -> Optional[int]:
    return session.execute(select(StoreIntegration.user_id).where(StoreIntegration.shop_domain == shop,
                                                                  StoreIntegration.platform == "shopify")
                           ).scalars().first()


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def _nonce_used(session: Session, shop: str, nonce: str) -> bool:
    configs = session.execute(select(StoreIntegration.config).where(StoreIntegration.shop_domain == shop)).scalars()
    digest = _nonce_hash(nonce)
    return any(isinstance(c, dict) and hmac.compare_digest(str(c.get("oauth_nonce_hash") or ""), digest) for c in configs)


def _fail(status: int, message: str, reason: str) -> web.Response:
    STORE_CONNECTIONS.labels("shopify", "oauth", "error").inc()
    logger.info("Shopify OAuth callback refused: %s", reason)
    resp = html_page(status, "Connection failed", message)
    resp.del_cookie(COOKIE_NAME, path=COOKIE_PATH)
    return resp


async def _exchange_code(app: web.Application, shop: str, code: str) -> Tuple[str, str]:
    config = app[API_CONFIG]
    http = app[STORE_HTTP]
    url = f"{shopify_base_url(app, shop)}/admin/oauth/access_token"
    resp = await timed_store_call("shopify", "oauth_token", http.request(
        "POST", url, store_key=f"shopify-oauth:{shop}", platform="shopify", max_retries=1, timeout=10,
        json={"client_id": config.shopify_api_key, "client_secret": config.shopify_api_secret, "code": code},
        headers={"X-Shopify-Shop-Domain": shop}))
    body = resp.json_or_none()
    if resp.status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ApiError(400, "code_rejected", "Shopify refused the authorization code")
    return body["access_token"], str(body.get("scope") or "")


def _save_shop(session: Session, app: web.Application, merchant_id: int, shop: str, base_url: str, token: str,
               scopes: str, nonce: str, name: Optional[str], info: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    existing = session.execute(select(StoreIntegration).where(StoreIntegration.shop_domain == shop,
                                                              StoreIntegration.platform == "shopify")).scalars().first()
    if existing is not None and existing.user_id != merchant_id:
        return None
    now = utcnow()
    store = existing
    if store is None:
        store = StoreIntegration(user_id=merchant_id, platform="shopify", shop_domain=shop, config={},
                                 display_name=(name or str(info.get("name") or "") or shop)[:200])
        session.add(store)
    elif name:
        store.display_name = name[:200]
    store.store_url = base_url
    store.status = "active"
    store.last_success_at = store.last_checked_at = now
    store.last_error = store.last_error_code = None
    config = dict(store.config or {})
    config.update(oauth_nonce_hash=_nonce_hash(nonce), scopes=scopes.split(",") if scopes else [], site=_site_info(info))
    config.pop("uninstalled_at", None)
    store.config = config
    session.flush()
    set_credentials(store, app[appkeys.KEY_RING], {"access_token": token})
    if store.widget is None:
        store.widget = default_widget()
    activity.record_activity(session, merchant_id, activity.CONNECT, f"Store connected: {store.display_name}", store.id,
                             {"platform": "shopify", "method": "oauth"})
    session.flush()
    return {"id": store.id, "widget_id": store.widget_id, "store": store_dict(store)}


@route("GET", "/api/integrations/shopify/callback", summary="Shopify OAuth redirect target (merchant's browser)",
       tag="integrations", auth="cookie", response_content_type="text/html",
       params=[Param("code", "query", {"type": "string", "maxLength": 200}, required=True),
               Param("shop", "query", {"type": "string", "maxLength": 255}, required=True),
               Param("state", "query", {"type": "string", "maxLength": 200}, required=True),
               Param("timestamp", "query", {"type": "string", "maxLength": 20}, required=True),
               Param("hmac", "query", {"type": "string", "maxLength": 128}, required=True),
               Param("host", "query", {"type": "string", "maxLength": 500})],
       responses={200: "Html", 400: "Html", 401: "Html", 403: "Html", 409: "Html"})
async def shopify_callback(request: web.Request) -> web.Response:
    app = request.app
    config = app[API_CONFIG]
    query = request.query
    if len(request.query_string) > 4000 or not config.shopify_configured:
        return _fail(400, "This connection link is invalid.", "query too long or app not configured")
    params = [(k, v) for k, v in query.items()]
    if len({k for k, _ in params}) != len(params):
        return _fail(400, "This connection link is invalid.", "repeated query parameter")
    if not verify_query_hmac(config.shopify_api_secret or "", params):
        return _fail(401, "The request did not come from Shopify.", "bad hmac")
    if not fresh_timestamp(params, config.oauth_timestamp_window):
        return _fail(400, "This connection link has expired. Please start again.", "stale timestamp")
    shop = str(query.get("shop", "")).lower()
    code = str(query.get("code", ""))
    state = str(query.get("state", ""))
    if not SHOP_DOMAIN_RE.match(shop):
        return _fail(400, "The shop address is invalid.", "invalid shop domain")
    if not code or len(code) > 200:
        return _fail(400, "This connection link is invalid.", "missing code")
    cookie = read_state(_session_secret(app), request.cookies.get(COOKIE_NAME))
    if cookie is None:
        return _fail(403, "This connection link has expired or was opened in another browser. Please start again.",
                     "missing, forged or expired state cookie")
    if not hmac.compare_digest(str(cookie.get("n", "")).encode(), state.encode("utf-8", "replace")):
        return _fail(403, "This connection link does not match your session. Please start again.", "state mismatch")
    if not hmac.compare_digest(str(cookie.get("shop", "")).encode(), shop.encode()):
        return _fail(403, "The shop does not match the one you asked to connect.", "foreign shop domain")
    if await in_db(app, _nonce_used, shop, state) or not _USED.use(state, config.state_ttl_seconds):
        return _fail(403, "This connection link was already used. Please start again.", "replayed state")
    merchant_id = int(cookie["m"])
    try:
        token, scopes = await _exchange_code(app, shop, code)
    except ApiError:
        return _fail(400, "Shopify refused the authorization. Please start again.", "code exchange refused")
    except Exception as exc:  # noqa: BLE001 - store errors become a failure page
        return _fail(400, "Shopify did not answer. Please try again.", f"code exchange failed ({getattr(exc, 'code', type(exc).__name__)})")
    missing = [s for s in config.shopify_scopes if s not in scopes.split(",") and s.replace("read_", "write_") not in scopes.split(",")]
    if scopes and missing:
        return _fail(400, "Shopify granted fewer permissions than TrulyBot needs. Please approve all of them.", "scopes missing")
    base = shopify_base_url(app, shop)
    conn = connection(app, "shopify", base, {"access_token": token}, shop_domain=shop)
    try:
        info = await _check(app, conn, "oauth")
    except ApiError:
        return _fail(400, "The new access token does not work. Please try again.", "token check failed")
    saved = await in_db(app, _save_shop, app, merchant_id, shop, base, token, scopes, state, cookie.get("name"), info)
    if saved is None:
        return _fail(409, "This shop is connected to another TrulyBot account.", "shop taken")
    conn = connection(app, "shopify", base, {"access_token": token}, store_id=saved["id"], shop_domain=shop)
    await _finish_webhooks(app, saved["id"], "shopify", conn, saved["widget_id"], None, None)
    return_to = safe_return_to(cookie.get("r"))
    if return_to:
        resp = web.Response(status=302, headers={"Location": f"{return_to}?done=connected"})
    else:
        resp = html_page(200, "Store connected", "Your Shopify store is connected to TrulyBot. You can close this page.")
    resp.del_cookie(COOKIE_NAME, path=COOKIE_PATH)
    return resp
