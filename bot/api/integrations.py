"""Store integrations: list, connect (WooCommerce keys / wc-auth), disconnect, delete, orders."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import activity
from bot import appkeys
from bot.api import webhook_registration as hooks
from bot.api.auth import MerchantIdentity, merchant_required
from bot.services.db import in_db
from bot.api.errors import ApiError
from bot.services.keys import API_CONFIG
from bot.services.metrics import STORE_CONNECTIONS
from bot.services.platforms import call, connection, connection_for, map_platform_error, platform_class
from bot.api.registry import Param, route
from bot.api.stores import default_widget, invalidate_widget_cache, owned_store, store_dict
from bot.api.validation import (
    RETURN_TO_SCHEMA,
    query_int,
    read_json,
    safe_return_to,
    store_base_url,
    validation_error,
)
from bot.core.db.models import StoreIntegration, utcnow
from bot.core.logs import mask_order_number
from bot.services.credentials import clear_credentials, set_credentials
from bot.services.key_usage import count_encryptions
from bot.services.store_errors import DETAILS, StoreError, error_values
from plugins.integration import ConnectContext, ConnectFlow, FieldError, FieldType

logger = logging.getLogger(__name__)

PLATFORMS = ("woocommerce", "shopify")
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$"
ORDER_NUMBER_PATTERN = r"^#?[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$"

STORE_SCHEMA_REF = {"$ref": "#/components/schemas/Store"}

CONNECT_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "description": "the platform's connection fields (GET /api/platforms) plus the keys below",
    "properties": {
        "method": {"type": "string", "maxLength": 40, "description": "a connect flow of the platform (default: its first)"},
        "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
        # install flows: where the merchant's browser goes after a successful approval (only dashboard pages)
        "return_to": RETURN_TO_SCHEMA,
    },
}
_PRODUCT_KEYS = ("method", "display_name", "return_to")
DISCONNECT_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["id"],
    "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
}
ORDERS_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["store_id", "order_number"],
    "properties": {
        "store_id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        "order_number": {"type": "string", "pattern": ORDER_NUMBER_PATTERN},
    },
}
ORDER_SEARCH_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["email"],
    "properties": {
        "email": {"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN},
        "store_id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
    },
}
WC_CALLBACK_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": ["user_id", "consumer_key", "consumer_secret"],
    "properties": {
        "key_id": {"type": ["integer", "string"]},
        "user_id": {"type": ["string", "integer"]},
        "consumer_key": {"type": "string", "pattern": "^ck_[A-Za-z0-9_]{8,120}$"},
        "consumer_secret": {"type": "string", "pattern": "^cs_[A-Za-z0-9_]{8,120}$"},
        "key_permissions": {"type": "string", "maxLength": 20},
    },
}



def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default_name(url: str) -> str:
    return (urlsplit(url).hostname or url)[:200]


# --- list / delete / disconnect ------------------------------------------------------------------

def _list(session: Session, merchant_id: int) -> List[Dict[str, Any]]:
    stores = session.execute(
        select(StoreIntegration).where(StoreIntegration.user_id == merchant_id).order_by(StoreIntegration.id)
    ).scalars()
    return [store_dict(s) for s in stores]


@route("GET", "/api/integrations", summary="List the merchant's stores with their health", tag="integrations",
       responses={200: "StoreList"})
@merchant_required
async def list_integrations(request: web.Request, me: MerchantIdentity) -> web.Response:
    return web.json_response({"items": await in_db(request.app, _list, me.merchant_id)})


def _delete(session: Session, merchant_id: int, store_id: int) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id)
    shown = store_dict(store)
    session.delete(store)
    session.flush()
    activity.record_activity(session, merchant_id, activity.DISCONNECT, f"Store removed: {store.display_name}",
                             None, {"store_id": store_id, "platform": store.platform, "deleted": True})
    return shown


@route("DELETE", "/api/integrations", summary="Delete a store and its widget configuration", tag="integrations",
       params=[Param("id", "query", {"type": "integer", "minimum": 1}, required=True, description="store id")],
       responses={200: "Deleted", 404: "Error", 422: "Error"})
@merchant_required
async def delete_integration(request: web.Request, me: MerchantIdentity) -> web.Response:
    store_id = query_int(request, "id", required=True)
    shown = await in_db(request.app, _delete, me.merchant_id, store_id)
    invalidate_widget_cache(request.app)
    return web.json_response({"deleted": shown["id"], "store": shown})


def _disconnect_target(session: Session, app: web.Application, merchant_id: int, store_id: int,
                       platform: str) -> Tuple[Any, Any]:
    """The store's connection and webhook registration, to remove the webhooks before forgetting it."""
    store = owned_store(session, merchant_id, store_id, platform)
    registration = ((store.config or {}).get("webhooks") or {})
    try:
        conn = connection_for(app, store)
    except Exception:  # noqa: BLE001 - undecryptable credentials: nothing to deregister with
        conn = None
    return conn, registration


def _disconnect(session: Session, merchant_id: int, store_id: int, platform: str) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id, platform)
    clear_credentials(store)
    config = dict(store.config or {})
    config.pop("wc_auth", None)
    webhooks = dict(config.get("webhooks") or {})
    webhooks.pop("secret_encrypted", None)
    webhooks["topics"] = []
    config["webhooks"] = webhooks
    store.config = config
    store.status = "disabled"
    activity.record_activity(session, merchant_id, activity.DISCONNECT, f"Store disconnected: {store.display_name}",
                             store.id, {"platform": platform})
    session.flush()
    return store_dict(store)


def _platform_param(request: web.Request) -> str:
    """The installed platform named in the path (404 listing the installed ones otherwise)."""
    name = request.match_info.get("platform", "")
    platform_class(request.app, name)
    return name


@route("POST", "/api/integrations/{platform}/disconnect", summary="Disconnect a store (drop its credentials, keep its settings)",
       tag="integrations", body=DISCONNECT_SCHEMA,
       params=[Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                     description="an installed platform")],
       responses={200: "Store", 404: "Error", 422: "Error"})
@merchant_required
async def disconnect(request: web.Request, me: MerchantIdentity) -> web.Response:
    platform = _platform_param(request)
    body = await read_json(request, DISCONNECT_SCHEMA)
    conn, registration = await in_db(request.app, _disconnect_target, request.app, me.merchant_id, body["id"], platform)
    if conn is not None:
        await hooks.deregister(request.app, conn, registration)
    result = await in_db(request.app, _disconnect, me.merchant_id, body["id"], platform)
    invalidate_widget_cache(request.app)
    return web.json_response(result)


# --- WooCommerce: keys ---------------------------------------------------------------------------

def _new_store_widget_id() -> str:
    from bot.core.db.models import new_widget_id

    return new_widget_id()


async def _check(app: web.Application, conn: Any, kind: str) -> Dict[str, Any]:
    try:
        info = await call(app, conn, "check_connection")
    except Exception as exc:
        STORE_CONNECTIONS.labels(conn.platform, kind, "error").inc()
        raise map_platform_error(exc, connecting=True) from None
    STORE_CONNECTIONS.labels(conn.platform, kind, "ok").inc()
    return info if isinstance(info, dict) else {}


def _site_info(info: Dict[str, Any]) -> Dict[str, Any]:
    return {k: info.get(k) for k in ("name", "version", "currency") if isinstance(info.get(k), (str, int, float))}


async def _finish_webhooks(app: web.Application, store_id: int, platform: str, conn: Any, widget_id: str,
                           secret: Optional[str], secret_encrypted: Optional[str]) -> Dict[str, Any]:
    result = await hooks.register(app, conn, widget_id, secret)

    def save(session: Session) -> Dict[str, Any]:
        store = session.get(StoreIntegration, store_id)
        if store is None:
            return {}
        config = dict(store.config or {})
        webhooks = dict(config.get("webhooks") or {})
        webhooks.update(topics=result["topics"], remote_ids=result["remote_ids"], error=result["error"])
        if secret_encrypted:
            webhooks["secret_encrypted"] = secret_encrypted
        config["webhooks"] = webhooks
        store.config = config
        session.flush()
        return store_dict(store)

    return await in_db(app, save)


def _context(app: web.Application, cls: Any) -> ConnectContext:
    config = app[API_CONFIG]
    return ConnectContext(public_url=config.public_url, settings=dict(config.app_settings.get(cls.name) or {}),
                          demo=config.demo)


def _field_error(exc: FieldError) -> ApiError:
    """422 naming the field; ``details`` carry the platform's own words for the dashboard."""
    return ApiError(422, "validation_error", f"{exc.field}: {exc.message}",
                    details=[{"field": exc.field, "message": exc.message}])


def _clean_fields(app: web.Application, cls: Any, body: Dict[str, Any], flow: ConnectFlow) -> Dict[str, str]:
    """The platform's fields of ``body``, validated by its schema and the URL rules (422 naming the field)."""
    values = {k: v for k, v in body.items() if k not in _PRODUCT_KEYS}
    try:
        cleaned = cls.connection_schema.validate(values, flow)
    except FieldError as exc:
        raise _field_error(exc) from None
    for f in cls.connection_schema.fields_for(flow):
        if f.type is FieldType.URL and f.name in cleaned and not cleaned[f.name].lower().startswith("file:"):
            cleaned[f.name] = store_base_url(cleaned[f.name], f.name,
                                             allow_http_loopback=app[API_CONFIG].allow_http_loopback)
    return cleaned


async def _connect_keys(request: web.Request, me: MerchantIdentity, cls: Any, values: Dict[str, str],
                        body: Dict[str, Any]) -> web.Response:
    """API-keys flow: check the credentials at the store, then store them and register webhooks.
    Nothing is stored when the check fails."""
    app = request.app
    try:
        draft = cls.connection_from_fields(values, _context(app, cls))
    except FieldError as exc:
        raise _field_error(exc) from None
    creds = dict(draft.credentials)
    info = await _check(app, draft, "connect")
    store_url = draft.base_url
    name = body.get("display_name") or str(info.get("name") or "") or _default_name(store_url or cls.display_name)
    existing = await in_db(app, _existing_store, me.merchant_id, cls.name, cls.store_key_of(draft))
    widget_id = existing[1] if existing else _new_store_widget_id()
    secret, secret_encrypted = hooks.new_store_secret(app, cls, widget_id)
    origins = cls.storefront_origins(draft)

    def save(session: Session) -> Tuple[int, str]:
        config = {"site": _site_info(info), "options": dict(draft.options),
                  "webhooks": {"topics": [], "error": None, "secret_encrypted": secret_encrypted}}
        if secret_encrypted:
            count_encryptions(session, [secret_encrypted])
        if existing:
            store = owned_store(session, me.merchant_id, existing[0], cls.name)
            set_credentials(store, app[appkeys.KEY_RING], creds)
            kept = {k: v for k, v in (store.config or {}).items() if k not in ("health", "install")}
            store.config = {**kept, **config}
            store.status = "active"
            store.last_success_at = store.last_checked_at = utcnow()
            store.last_error = store.last_error_code = None
            if body.get("display_name"):
                store.display_name = name[:200]
            activity.record_activity(session, me.merchant_id, activity.CONNECT, f"Store reconnected: {store.display_name}",
                                     store.id, {"platform": cls.name, "reconnected": True})
            return store.id, store.widget_id
        created = _save_new_store_with_widget(session, app, me.merchant_id, cls.name, store_url, name[:200], creds,
                                              widget_id, config, shop_domain=draft.shop_domain, origins=origins)
        return created.id, created.widget_id

    store_id, wid = await in_db(app, save)
    conn = connection(app, cls.name, store_url, creds, store_id=store_id, shop_domain=draft.shop_domain,
                      options=draft.options)
    shown = await _finish_webhooks(app, store_id, cls.name, conn, wid, secret, secret_encrypted)
    invalidate_widget_cache(app)
    return web.json_response(shown, status=200 if existing else 201)


def _existing_store(session: Session, merchant_id: int, platform: str, key: str) -> Optional[Tuple[int, str]]:
    """The merchant's store of ``platform`` identified by ``key`` (connecting it again updates it)."""
    rows = session.execute(select(StoreIntegration).where(
        StoreIntegration.user_id == merchant_id, StoreIntegration.platform == platform,
        StoreIntegration.status != "pending")).scalars()
    for store in rows:
        if (store.shop_domain or store.store_url or "").lower() == key:
            return store.id, store.widget_id
    return None


def _save_new_store_with_widget(session: Session, app: web.Application, merchant_id: int, platform: str, store_url: str,
                                name: str, creds: Dict[str, Optional[str]], widget_id: str, config: Dict[str, Any],
                                *, status: str = "active", shop_domain: Optional[str] = None, checked: bool = True,
                                origins: Optional[List[str]] = None) -> StoreIntegration:
    store = StoreIntegration(user_id=merchant_id, widget_id=widget_id, platform=platform, display_name=name,
                             store_url=store_url, shop_domain=shop_domain, status=status, config=config)
    if checked:
        now = utcnow()
        store.last_success_at = now
        store.last_checked_at = now
    session.add(store)
    session.flush()
    set_credentials(store, app[appkeys.KEY_RING], creds)
    store.widget = default_widget(list(origins or []))
    if status == "active":
        activity.record_activity(session, merchant_id, activity.CONNECT, f"Store connected: {name}", store.id,
                                 {"platform": platform})
    session.flush()
    return store


# --- WooCommerce: wc-auth ------------------------------------------------------------------------

def _state_parts(state: Any) -> Optional[Tuple[int, str]]:
    text = str(state) if isinstance(state, (str, int)) and not isinstance(state, bool) else ""
    match = re.fullmatch(r"([0-9]{1,10})\.([A-Za-z0-9_\-]{20,100})", text)
    if not match:
        return None
    return int(match.group(1)), match.group(2)


def _aware(value: str) -> Optional[datetime]:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


async def _connect_authorization(request: web.Request, me: MerchantIdentity, cls: Any, values: Dict[str, str],
                                 body: Dict[str, Any]) -> web.Response:
    """Authorization-callback flow: a pending store and the URL where the merchant approves."""
    app = request.app
    config = app[API_CONFIG]
    draft = cls.connection_from_fields(values, _context(app, cls))
    store_url = draft.base_url
    nonce = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=config.state_ttl_seconds)
    name = body.get("display_name") or _default_name(store_url)
    widget_id = _new_store_widget_id()

    def save(session: Session) -> Dict[str, Any]:
        store = _save_new_store_with_widget(
            session, app, me.merchant_id, cls.name, store_url, name[:200], {}, widget_id,
            {"wc_auth": {"nonce_hash": _hash(nonce), "expires_at": expires.isoformat(), "used": False,
                         "return_to": body.get("return_to")}},
            status="pending", checked=False, origins=cls.storefront_origins(draft))
        return store_dict(store)

    shown = await in_db(app, save)
    state = f"{shown['id']}.{nonce}"
    return web.json_response({"authorize_url": cls.install_url(values, _context(app, cls), state),
                              "expires_at": expires.isoformat(), "store": shown}, status=202)


@route("POST", "/api/integrations/{platform}/connect", summary="Connect a store of any installed platform",
       tag="integrations", body=CONNECT_SCHEMA,
       params=[Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                     description="an installed platform")],
       responses={200: "Store", 201: "Store", 202: "WcAuthStart", 404: "Error", 422: "Error", 429: "Error", 502: "Error"})
@merchant_required
async def connect(request: web.Request, me: MerchantIdentity) -> web.Response:
    """Validate the platform's fields, then run its connect flow (``method``, default its first)."""
    cls = platform_class(request.app, request.match_info.get("platform", ""))
    body = await read_json(request, CONNECT_SCHEMA)
    flows = {flow.value: flow for flow in cls.connection_schema.flows}
    method = body.get("method") or cls.connection_schema.flows[0].value
    flow = flows.get(cls.connection_schema.flow_aliases.get(method, method))
    if flow is None:
        raise validation_error("method: must be one of " + ", ".join(flows), "method")
    values = _clean_fields(request.app, cls, body, flow)
    if flow is ConnectFlow.API_KEYS:
        return await _connect_keys(request, me, cls, values, body)
    if flow is ConnectFlow.AUTHORIZATION_CALLBACK:
        return await _connect_authorization(request, me, cls, values, body)
    raise ApiError(409, "flow_not_here", f"{cls.display_name} stores connect through their install page")


def _claim_wc_state(session: Session, store_id: int, nonce: str) -> Optional[Dict[str, Any]]:
    """Consume the state if it is live: returns the intended store's url and ids, else None."""
    store = session.get(StoreIntegration, store_id, with_for_update=True)
    if store is None or store.platform != "woocommerce" or store.status != "pending":
        return None
    wc = (store.config or {}).get("wc_auth") or {}
    expected = str(wc.get("nonce_hash") or "")
    if not expected or wc.get("used") or not hmac.compare_digest(expected, _hash(nonce)):
        return None
    expires = _aware(str(wc.get("expires_at")))
    if expires is None or expires < utcnow():
        return None
    config = dict(store.config or {})
    config["wc_auth"] = {**wc, "used": True}
    store.config = config
    session.flush()
    return {"id": store.id, "widget_id": store.widget_id, "store_url": store.store_url, "merchant_id": store.user_id}


def _activate_wc(session: Session, app: web.Application, store_id: int, creds: Dict[str, str], info: Dict[str, Any],
                 secret_encrypted: str) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    set_credentials(store, app[appkeys.KEY_RING], creds)
    config = dict(store.config or {})
    config["wc_auth"] = {**(config.get("wc_auth") or {}), "result": "ok"}
    config["site"] = _site_info(info)
    config["webhooks"] = {"topics": [], "error": None, "secret_encrypted": secret_encrypted}
    if secret_encrypted:
        count_encryptions(session, [secret_encrypted])
    store.config = config
    store.status = "active"
    now = utcnow()
    store.last_success_at = store.last_checked_at = now
    activity.record_activity(session, store.user_id, activity.CONNECT, f"Store connected: {store.display_name}", store.id,
                             {"platform": "woocommerce", "method": "wc_auth"})


def _fail_wc(session: Session, store_id: int, reason: StoreError) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    config = dict(store.config or {})
    config["wc_auth"] = {**(config.get("wc_auth") or {}), "result": "failed"}
    store.config = config
    store.status = "error"
    for column, value in error_values(reason, utcnow()).items():
        setattr(store, column, value)


@route("POST", "/api/integrations/woocommerce/callback", summary="wc-auth callback: WooCommerce posts the new keys here",
       tag="integrations", auth="state", body=WC_CALLBACK_SCHEMA, responses={200: "Ok", 400: "Error", 403: "Error"})
async def woocommerce_callback(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, WC_CALLBACK_SCHEMA)
    parts = _state_parts(body.get("user_id"))
    if parts is None:
        raise ApiError(403, "invalid_state", "unknown, used or expired authorization state")
    claimed = await in_db(app, _claim_wc_state, *parts)
    if claimed is None:
        raise ApiError(403, "invalid_state", "unknown, used or expired authorization state")
    creds = {"consumer_key": body["consumer_key"], "consumer_secret": body["consumer_secret"]}
    conn = connection(app, "woocommerce", claimed["store_url"], creds, store_id=claimed["id"])
    try:
        info = await _check(app, conn, "wc_auth")
    except ApiError as exc:
        await in_db(app, _fail_wc, claimed["id"], StoreError.of(exc.code, DETAILS["keys_rejected"]))
        raise ApiError(400, "keys_rejected", "the keys do not work against the store that was authorized") from None
    secret, secret_encrypted = hooks.new_store_secret(app, platform_class(app, "woocommerce"), claimed["widget_id"])
    await in_db(app, _activate_wc, app, claimed["id"], creds, info, secret_encrypted)
    await _finish_webhooks(app, claimed["id"], "woocommerce", conn, claimed["widget_id"], secret, secret_encrypted)
    return web.json_response({"status": "ok"})


def _return_status(session: Session, store_id: int, nonce: str, denied: bool) -> Tuple[str, Optional[str]]:
    """How the wc-auth flow ended, and the dashboard page to return to after a success."""
    store = session.get(StoreIntegration, store_id)
    if store is None or store.platform != "woocommerce":
        return "unknown", None
    wc = (store.config or {}).get("wc_auth") or {}
    expected = str(wc.get("nonce_hash") or "")
    if not expected or not hmac.compare_digest(expected, _hash(nonce)):
        return "unknown", None
    if store.status == "active" and wc.get("result") == "ok":
        return "ok", safe_return_to(wc.get("return_to"))
    if store.status == "pending" and denied:
        session.delete(store)  # the merchant said no: nothing half-written stays behind
        return "denied", None
    if store.status == "pending":
        return "pending", None
    return "failed", None


_RETURN_TEXT = {
    "ok": (200, "Store connected", "Your WooCommerce store is connected to TrulyBot. You can close this page."),
    "pending": (200, "Almost there", "WooCommerce has not sent the keys yet. Reload this page in a few seconds."),
    "denied": (200, "Connection cancelled", "You did not approve the connection. Nothing was saved."),
    "failed": (200, "Connection failed", "The keys WooCommerce sent did not work. Please try connecting again."),
    "unknown": (400, "Connection failed", "This connection link is unknown or has expired. Please start again."),
}


def html_page(status: int, title: str, message: str) -> web.Response:
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)} - TrulyBot</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")
    return web.Response(text=body, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'",
                                 "Referrer-Policy": "no-referrer"})


@route("GET", "/api/integrations/woocommerce/return", summary="wc-auth return page (success or failure, for the merchant's browser)",
       tag="integrations", auth="state", response_content_type="text/html",
       params=[Param("success", "query", {"type": "string", "enum": ["0", "1"]}),
               Param("user_id", "query", {"type": "string", "maxLength": 120})],
       responses={200: "Html", 400: "Html"})
async def woocommerce_return(request: web.Request) -> web.Response:
    parts = _state_parts(request.query.get("user_id", "")[:120])
    if parts is None:
        return html_page(*_RETURN_TEXT["unknown"])
    denied = request.query.get("success") == "0"
    status, return_to = await in_db(request.app, _return_status, parts[0], parts[1], denied)
    if return_to:
        return web.Response(status=302, headers={"Location": f"{return_to}?done=connected"})
    return html_page(*_RETURN_TEXT[status])


# --- orders --------------------------------------------------------------------------------------

def _store_conn(session: Session, app: web.Application, merchant_id: int, store_id: int, platform: Optional[str]) -> Any:
    store = owned_store(session, merchant_id, store_id, platform)
    if store.status not in ("active", "error"):
        raise ApiError(409, "store_not_connected", "the store is not connected")
    return connection_for(app, store)


@route("POST", "/api/integrations/{platform}/orders", summary="Look up one order of a connected store (merchant view)",
       tag="orders", body=ORDERS_SCHEMA,
       params=[Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                     description="an installed platform")],
       responses={200: "OrderResult", 404: "Error", 409: "Error", 422: "Error", 429: "Error", 502: "Error"})
@merchant_required
async def platform_orders(request: web.Request, me: MerchantIdentity) -> web.Response:
    platform = _platform_param(request)
    body = await read_json(request, ORDERS_SCHEMA)
    conn = await in_db(request.app, _store_conn, request.app, me.merchant_id, body["store_id"], platform)
    number = body["order_number"].lstrip("#")
    try:
        order = await call(request.app, conn, "get_order", number)
    except ApiError:
        raise
    except Exception as exc:
        logger.info("merchant order lookup on store %s failed for order %s (%s)", conn.store_id, mask_order_number(number),
                    getattr(exc, "code", type(exc).__name__))
        raise map_platform_error(exc) from None
    return web.json_response({"store_id": body["store_id"], "order": order.to_public_dict()})


def _search_targets(session: Session, app: web.Application, merchant_id: int, store_id: Optional[int]) -> List[Any]:
    if store_id is not None:
        return [_store_conn(session, app, merchant_id, store_id, None)]
    stores = session.execute(
        select(StoreIntegration).where(StoreIntegration.user_id == merchant_id, StoreIntegration.status == "active")
    ).scalars()
    return [connection_for(app, s) for s in stores]


@route("POST", "/api/integrations/orders/search", summary="Find a customer's recent orders by email across the merchant's stores",
       tag="orders", body=ORDER_SEARCH_SCHEMA,
       responses={200: "OrderSearch", 404: "Error", 422: "Error"})
@merchant_required
async def search_orders(request: web.Request, me: MerchantIdentity) -> web.Response:
    """The email travels in the body, never in the URL (URLs end up in access logs and browser history)."""
    body = await read_json(request, ORDER_SEARCH_SCHEMA)
    email = body["email"]
    store_id = body.get("store_id")
    limit = body.get("limit", 5)
    targets = await in_db(request.app, _search_targets, request.app, me.merchant_id, store_id)

    async def one(conn: Any) -> Dict[str, Any]:
        try:
            orders = await call(request.app, conn, "find_orders", email, limit)
        except Exception as exc:  # noqa: BLE001 - reported per store
            err = map_platform_error(exc) if not isinstance(exc, ApiError) else exc
            return {"store_id": conn.store_id, "orders": [], "error": {"code": err.code, "message": err.message}}
        return {"store_id": conn.store_id, "orders": [o.to_public_dict() for o in orders], "error": None}

    results = await asyncio.gather(*(one(c) for c in targets))
    return web.json_response({"results": list(results)})

