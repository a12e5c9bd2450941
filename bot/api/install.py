"""Install flows of any platform: an install redirect (OAuth) or an authorization callback.

The platform plugin says which flows it has (``connection_schema.flows``) and does its own part
(``install_url``, ``read_install_callback``, ``complete_install``, ``read_install_return``); this
module runs the rest, the same for every platform:

``POST /api/integrations/{platform}/install`` (merchant token; also ``POST .../connect`` with an
install flow as ``method``), or ``GET .../install`` (the same, answered with a redirect)
    validates the platform's fields, then for an **install redirect** answers
    ``{"install_url", "expires_at", "shop"}`` and sets the signed state cookie
    (:mod:`bot.services.install_state`); for an **authorization callback** creates a pending store
    and answers ``202 {"authorize_url", "expires_at", "store"}``.
``GET /api/integrations/{platform}/callback`` (the merchant's browser, back from the platform)
    the platform checks the query (signature, freshness, shop); then the state must equal the
    cookie's nonce, the shop the one asked for, and the nonce must be unused (consumed in the
    database); only then the platform exchanges the code. The credentials are checked against the
    store, stored encrypted, and the store's webhooks registered. Failures are HTML pages.
``POST /api/integrations/{platform}/callback`` (the store, server to server)
    the platform reads the body; the state ``<store id>.<nonce>`` must be the pending store's
    live, unused one; the credentials must work against that store.
``GET /api/integrations/{platform}/return`` (the merchant's browser after an authorization)
    says how the flow ended, or sends the merchant back to the dashboard page they came from.
"""
from __future__ import annotations

import functools
import hmac
import html
import json
import logging
import secrets
import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import appkeys
from bot.api import webhook_registration as hooks
from bot.api.auth import MerchantIdentity, merchant_required
from bot.api.errors import ApiError
from bot.api.integrations import (
    CONNECT_SCHEMA,
    _check,
    _clean_fields,
    _finish_webhooks,
    _save_new_store_with_widget,
    _site_info,
)
from bot.api.registry import Param, route
from bot.api.stores import default_widget, invalidate_widget_cache, store_dict
from bot.api.validation import check, read_json, safe_return_to, validation_error
from bot.core.db.models import StoreIntegration, new_widget_id, utcnow
from bot.services import activity
from bot.services import install_state as state
from bot.services.credentials import set_credentials
from bot.services.db import in_db
from bot.services.key_usage import count_encryptions
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.services.metrics import STORE_CONNECTIONS, timed_store_call
from bot.services.platforms import connect_context, connection, missing_app_settings, platform_class
from bot.services.store_errors import DETAILS, StoreError, error_values
from plugins.errors import PlatformError
from plugins.integration import ConnectFlow, FieldError, InstallGrant, InstallRefused

logger = logging.getLogger(__name__)

INSTALL_FLOWS = (ConnectFlow.INSTALL_REDIRECT, ConnectFlow.AUTHORIZATION_CALLBACK)
CONNECT_PATH = "/api/integrations/{platform}/connect"
MAX_QUERY = 4000
PLATFORM_PARAM = Param("platform", "path", {"type": "string", "maxLength": 40}, required=True,
                       description="an installed platform with an install flow")
CALLBACK_BODY: Dict[str, Any] = {"type": "object", "description": "what the platform posts (e.g. new API keys and the state)"}


def html_page(status: int, title: str, message: str) -> web.Response:
    """A minimal HTML page for the merchant's browser (no script, no referrer)."""
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)} - TrulyBot</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")
    return web.Response(text=body, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'",
                                 "Referrer-Policy": "no-referrer"})


def _install_platform(request: web.Request, flow: Optional[ConnectFlow] = None) -> Any:
    """The installed platform in the path; 404 when it has no install flow (or not ``flow``)."""
    cls = platform_class(request.app, request.match_info.get("platform", ""))
    flows = cls.connection_schema.flows
    if not any(f in flows for f in ((flow,) if flow else INSTALL_FLOWS)):
        raise ApiError(404, "no_install_flow", f"{cls.display_name} stores do not connect through this flow")
    return cls


def _requested_flow(cls: Any, body: Mapping[str, Any], *, install_first: bool = True) -> Optional[ConnectFlow]:
    """The flow the body's ``method`` names (a flow value or one of the platform's aliases), else
    the platform's first install flow (``install_first``) or first flow; None for an unknown method."""
    schema = cls.connection_schema
    flows = {flow.value: flow for flow in schema.flows}
    method = body.get("method")
    if not method:
        first = next((f for f in schema.flows if f in INSTALL_FLOWS), None) if install_first else None
        return first or schema.flows[0]
    return flows.get(schema.flow_aliases.get(method, method)) if isinstance(method, str) else None


def _session_secret(app: web.Application) -> str:
    secret = app[appkeys.SETTINGS].session_secret
    if not secret:
        raise ApiError(503, "not_configured", "TRULYBOT_SESSION_SECRET is not set")
    return secret


def _shown_fields(cls: Any, values: Mapping[str, str]) -> Dict[str, str]:
    """The non-secret form values, kept in the state cookie (the callback's context is built from them)."""
    secret = {f.name for f in cls.connection_schema.fields if f.is_secret}
    return {k: v for k, v in values.items() if k not in secret}


# --- starting ------------------------------------------------------------------------------------

def _store_owner(session: Session, platform: str, shop_domain: Optional[str], base_url: Optional[str]) -> Optional[int]:
    if shop_domain:
        where = StoreIntegration.shop_domain == shop_domain
    else:
        where = StoreIntegration.store_url == (base_url or "")
    return session.execute(select(StoreIntegration.user_id).where(
        StoreIntegration.platform == platform, StoreIntegration.status != "pending", where)).scalars().first()


async def _start_redirect(request: web.Request, me: MerchantIdentity, cls: Any, values: Dict[str, str],
                          body: Mapping[str, Any]) -> Tuple[Dict[str, Any], str]:
    """Install redirect: the answer ``{"install_url", "expires_at", "shop"}`` and the signed cookie value."""
    app = request.app
    config = app[API_CONFIG]
    missing = missing_app_settings(app, cls)
    if missing:
        raise ApiError(409, "not_configured", f"the {cls.display_name} app is not configured ({', '.join(missing)})")
    context = connect_context(app, cls, values)
    try:
        draft = cls.connection_from_fields(values, context)
    except FieldError as exc:
        raise validation_error(f"{exc.field}: {exc.message}", exc.field) from None
    owner = await in_db(app, _store_owner, cls.name, draft.shop_domain, draft.base_url)
    if owner is not None and owner != me.merchant_id:
        raise ApiError(409, "shop_taken", "this store is connected to another TrulyBot account")
    nonce = secrets.token_urlsafe(24)
    expires = int(time.time()) + config.state_ttl_seconds
    payload: Dict[str, Any] = {"n": nonce, "m": me.merchant_id, "exp": expires, "v": _shown_fields(cls, values)}
    if draft.shop_domain:
        payload["shop"] = draft.shop_domain
    if body.get("display_name"):
        payload["name"] = body["display_name"]
    if body.get("return_to"):
        payload["r"] = body["return_to"]
    answer: Dict[str, Any] = {"install_url": cls.install_url(values, context, nonce), "expires_at": expires}
    if draft.shop_domain:
        answer["shop"] = draft.shop_domain
    return answer, state.sign_state(_session_secret(app), cls.name, payload)


def _set_state_cookie(request: web.Request, resp: web.StreamResponse, platform: str, value: str) -> None:
    config = request.app[API_CONFIG]
    resp.set_cookie(state.cookie_name(platform), value, max_age=config.state_ttl_seconds, path=state.cookie_path(platform),
                    httponly=True, samesite="Lax", secure=config.public_url.startswith("https://"))


async def _start_authorization(request: web.Request, me: MerchantIdentity, cls: Any, values: Dict[str, str],
                               body: Mapping[str, Any]) -> web.Response:
    """Authorization callback: a pending store and the URL where the merchant approves."""
    app = request.app
    ttl = app[API_CONFIG].state_ttl_seconds
    context = connect_context(app, cls, values)
    try:
        draft = cls.connection_from_fields(values, context)
    except FieldError as exc:
        raise validation_error(f"{exc.field}: {exc.message}", exc.field) from None
    nonce = secrets.token_urlsafe(32)
    pending = state.new_pending(nonce, ttl, body.get("return_to"))
    name = body.get("display_name") or draft.shop_domain or urlsplit(draft.base_url).hostname or cls.display_name

    def save(session: Session) -> Dict[str, Any]:
        store = _save_new_store_with_widget(
            session, app, me.merchant_id, cls.name, draft.base_url, name[:200], {}, new_widget_id(),
            {state.PENDING_KEY: pending, "options": dict(draft.options)}, status="pending", checked=False,
            shop_domain=draft.shop_domain, origins=cls.storefront_origins(draft))
        return store_dict(store)

    shown = await in_db(app, save)
    url = cls.install_url(values, context, state.pending_state(shown["id"], nonce))
    return web.json_response({"authorize_url": url, "expires_at": pending["expires_at"], "store": shown}, status=202)


async def _start(request: web.Request, me: MerchantIdentity, body: Mapping[str, Any], redirect: bool) -> web.Response:
    cls = _install_platform(request)
    flow = _requested_flow(cls, body)
    if flow not in INSTALL_FLOWS:
        raise validation_error("method: must be one of " + ", ".join(f.value for f in cls.connection_schema.flows
                                                                      if f in INSTALL_FLOWS), "method")
    values = _clean_fields(request.app, cls, dict(body), flow)
    if flow is ConnectFlow.AUTHORIZATION_CALLBACK:
        resp = await _start_authorization(request, me, cls, values, body)
        if redirect:
            return web.Response(status=302, headers={"Location": json.loads(resp.text or "{}")["authorize_url"]})
        return resp
    answer, cookie = await _start_redirect(request, me, cls, values, body)
    resp = web.Response(status=302, headers={"Location": answer["install_url"]}) if redirect else web.json_response(answer)
    _set_state_cookie(request, resp, cls.name, cookie)
    return resp


@route("POST", "/api/integrations/{platform}/install", summary="Start a platform's install flow (OAuth redirect or store authorization)",
       tag="integrations", body=CONNECT_SCHEMA, params=[PLATFORM_PARAM],
       responses={200: "InstallStart", 202: "AuthorizationStart", 404: "Error", 409: "Error", 422: "Error"})
@merchant_required
async def start_install(request: web.Request, me: MerchantIdentity) -> web.Response:
    """Validate the platform's fields and start its install flow (``method``: default its first)."""
    return await _start(request, me, await read_json(request, CONNECT_SCHEMA), redirect=False)


@route("GET", "/api/integrations/{platform}/install", summary="Start a platform's install flow, answered with a redirect to the platform",
       tag="integrations", params=[PLATFORM_PARAM, Param("method", "query", {"type": "string", "maxLength": 40}),
                                   Param("return_to", "query", {"type": "string", "maxLength": 100})],
       responses={302: "Redirect", 404: "Error", 409: "Error", 422: "Error"})
@merchant_required
async def start_install_redirect(request: web.Request, me: MerchantIdentity) -> web.Response:
    """The query carries the platform's fields (and ``method``, ``display_name``, ``return_to``)."""
    if len(request.query_string) > MAX_QUERY or len(set(request.query.keys())) != len(request.query):
        raise validation_error("query: too long or a parameter is repeated", "query")
    return await _start(request, me, check(CONNECT_SCHEMA, dict(request.query)), redirect=True)


def install_aware_connect(handler: Any) -> Any:
    """Wrap the handler of ``POST /api/integrations/{platform}/connect`` so that a request for an
    install flow (the platform's default, or ``method``) starts it here; other flows go on to
    ``handler``."""
    if getattr(handler, "_install_aware", False):
        return handler

    @functools.wraps(handler)
    async def connect(request: web.Request) -> web.StreamResponse:
        cls = platform_class(request.app, request.match_info.get("platform", ""))
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - the connect handler answers malformed bodies
            body = None
        flow = _requested_flow(cls, body, install_first=False) if isinstance(body, dict) else None
        if flow is not None and flow in INSTALL_FLOWS and flow in cls.connection_schema.flows:
            return await start_install(request)
        return await handler(request)

    connect._install_aware = True  # type: ignore[attr-defined]
    return connect


# --- install redirect: the callback --------------------------------------------------------------

def _fail(platform: Any, status: int, message: str, reason: str) -> web.Response:
    STORE_CONNECTIONS.labels(platform.name, ConnectFlow.INSTALL_REDIRECT.value, "error").inc()
    logger.info("%s install callback refused: %s", platform.name, reason)
    resp = html_page(status, "Connection failed", message)
    resp.del_cookie(state.cookie_name(platform.name), path=state.cookie_path(platform.name))
    return resp


def _save_installed(session: Session, app: web.Application, merchant_id: int, platform: Any, grant: InstallGrant,
                    name: Optional[str], info: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Store (or update) the installed store with its new credentials (and a new per-store webhook
    secret when the platform uses one); None when another merchant has the store."""
    if grant.shop_domain:
        where = StoreIntegration.shop_domain == grant.shop_domain
    else:
        where = StoreIntegration.store_url == (grant.base_url or "")
    existing = session.execute(select(StoreIntegration).where(
        StoreIntegration.platform == platform.name, StoreIntegration.status != "pending", where)).scalars().first()
    if existing is not None and existing.user_id != merchant_id:
        return None
    now = utcnow()
    store = existing
    if store is None:
        store = StoreIntegration(user_id=merchant_id, platform=platform.name, shop_domain=grant.shop_domain, config={},
                                 display_name=(name or str(info.get("name") or "") or grant.shop_domain
                                               or grant.base_url or platform.display_name)[:200])
        session.add(store)
    elif name:
        store.display_name = name[:200]
    store.store_url = grant.base_url or store.store_url or ""
    store.status = "active"
    store.last_success_at = store.last_checked_at = now
    store.last_error = store.last_error_code = None
    config = {k: v for k, v in (store.config or {}).items() if k not in ("uninstalled_at", "health")}
    config.update(scopes=list(grant.granted_scopes), site=_site_info(info))
    store.config = config
    session.flush()
    set_credentials(store, app[appkeys.KEY_RING], grant.credentials)
    if store.widget is None:
        store.widget = default_widget()
    session.flush()
    secret, secret_encrypted = hooks.new_store_secret(app, platform, store.widget_id)
    if secret_encrypted:
        store.config = {**store.config, "webhooks": {**(store.config.get("webhooks") or {}), "secret_encrypted": secret_encrypted}}
        count_encryptions(session, [secret_encrypted])
    activity.record_activity(session, merchant_id, activity.CONNECT, f"Store connected: {store.display_name}", store.id,
                             {"platform": platform.name, "method": ConnectFlow.INSTALL_REDIRECT.value})
    session.flush()
    return {"id": store.id, "widget_id": store.widget_id, "secret": secret, "secret_encrypted": secret_encrypted}


@route("GET", "/api/integrations/{platform}/callback", summary="Install redirect target (the merchant's browser, back from the platform)",
       tag="integrations", auth="cookie", response_content_type="text/html",
       params=[PLATFORM_PARAM, Param("state", "query", {"type": "string", "maxLength": 200},
                                     description="the product's state, echoed (other parameters are the platform's)")],
       responses={200: "Html", 302: "Redirect", 400: "Html", 401: "Html", 403: "Html", 404: "Error", 409: "Html"})
async def install_callback(request: web.Request) -> web.Response:
    app = request.app
    cls = _install_platform(request, ConnectFlow.INSTALL_REDIRECT)
    config = app[API_CONFIG]
    if len(request.query_string) > MAX_QUERY or missing_app_settings(app, cls):
        return _fail(cls, 400, "This connection link is invalid.", "query too long or app not configured")
    params = list(request.query.items())
    if len({k for k, _ in params}) != len(params):
        return _fail(cls, 400, "This connection link is invalid.", "repeated query parameter")
    query = dict(params)
    try:
        found = cls.read_install_callback(query, connect_context(app, cls))
    except InstallRefused as exc:
        return _fail(cls, 400 if exc.authentic else 401, exc.message, exc.reason)
    cookie = state.read_state(_session_secret(app), cls.name, request.cookies.get(state.cookie_name(cls.name)))
    if cookie is None:
        return _fail(cls, 403, "This connection link has expired or was opened in another browser. Please start again.",
                     "missing, forged or expired state cookie")
    if not state.state_matches(cookie, found.state):
        return _fail(cls, 403, "This connection link does not match your session. Please start again.", "state mismatch")
    asked = cookie.get("shop")
    if found.shop_domain and asked is not None and not hmac.compare_digest(str(asked).encode(), found.shop_domain.encode()):
        return _fail(cls, 403, "The shop does not match the one you asked to connect.", "foreign shop domain")
    if not await in_db(app, state.consume_nonce, cls.name, found.state, config.state_ttl_seconds):
        return _fail(cls, 403, "This connection link was already used. Please start again.", "replayed state")
    context = connect_context(app, cls, cookie.get("v") if isinstance(cookie.get("v"), dict) else None)
    try:
        grant = await timed_store_call(cls.name, "complete_install", cls.complete_install(query, context, app[STORE_HTTP]))
    except InstallRefused as exc:
        return _fail(cls, 400, exc.message, exc.reason)
    except PlatformError as exc:
        return _fail(cls, 400, f"{cls.display_name} did not answer. Please try again.", f"code exchange failed ({exc.code})")
    conn = connection(app, cls.name, grant.base_url or "", grant.credentials, shop_domain=grant.shop_domain)
    try:
        info = await _check(app, conn, ConnectFlow.INSTALL_REDIRECT.value)
    except ApiError:
        return _fail(cls, 400, "The new credentials do not work. Please try again.", "credential check failed")
    saved = await in_db(app, _save_installed, app, int(cookie["m"]), cls, grant, cookie.get("name"), info)
    if saved is None:
        return _fail(cls, 409, "This store is connected to another TrulyBot account.", "store taken")
    conn = connection(app, cls.name, grant.base_url or "", grant.credentials, store_id=saved["id"], shop_domain=grant.shop_domain)
    await _finish_webhooks(app, saved["id"], cls.name, conn, saved["widget_id"], saved["secret"], saved["secret_encrypted"])
    invalidate_widget_cache(app)
    return_to = safe_return_to(cookie.get("r"))
    if return_to:
        resp = web.Response(status=302, headers={"Location": f"{return_to}?done=connected"})
    else:
        resp = html_page(200, "Store connected", f"Your {cls.display_name} store is connected to TrulyBot. You can close this page.")
    resp.del_cookie(state.cookie_name(cls.name), path=state.cookie_path(cls.name))
    return resp


# --- authorization callback ------------------------------------------------------------------------

def _claim(session: Session, platform: str, store_id: int, nonce: str) -> Optional[Dict[str, Any]]:
    store = state.claim_pending(session, platform, store_id, nonce)
    if store is None:
        return None
    options = (store.config or {}).get("options")
    return {"id": store.id, "widget_id": store.widget_id, "store_url": store.store_url or "",
            "shop_domain": store.shop_domain, "options": options if isinstance(options, dict) else {}}


def _activate(session: Session, app: web.Application, store_id: int, creds: Dict[str, str], info: Dict[str, Any],
              secret_encrypted: Optional[str], flow: ConnectFlow) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    set_credentials(store, app[appkeys.KEY_RING], creds)
    state.set_pending_result(store, "ok")
    config = dict(store.config or {})
    config["site"] = _site_info(info)
    config["webhooks"] = {"topics": [], "error": None, "secret_encrypted": secret_encrypted}
    if secret_encrypted:
        count_encryptions(session, [secret_encrypted])
    store.config = config
    store.status = "active"
    store.last_success_at = store.last_checked_at = utcnow()
    activity.record_activity(session, store.user_id, activity.CONNECT, f"Store connected: {store.display_name}", store.id,
                             {"platform": store.platform, "method": flow.value})


def _fail_pending(session: Session, store_id: int, reason: StoreError) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    state.set_pending_result(store, "failed")
    store.status = "error"
    for column, value in error_values(reason, utcnow()).items():
        setattr(store, column, value)


@route("POST", "/api/integrations/{platform}/callback", summary="Authorization callback: the store posts new credentials here",
       tag="integrations", auth="state", body=CALLBACK_BODY, params=[PLATFORM_PARAM], first=True,
       responses={200: "Ok", 400: "Error", 401: "Error", 403: "Error", 404: "Error", 422: "Error"})
async def authorization_callback(request: web.Request) -> web.Response:
    app = request.app
    flow = ConnectFlow.AUTHORIZATION_CALLBACK
    cls = _install_platform(request, flow)
    body = await read_json(request, CALLBACK_BODY)
    try:
        found = cls.read_install_callback(body, connect_context(app, cls))
    except InstallRefused as exc:
        if not exc.authentic:
            raise ApiError(401, "invalid_signature", exc.message) from None
        raise ApiError(422, "validation_error", exc.message) from None
    parts = state.parse_pending_state(found.state)
    claimed = await in_db(app, _claim, cls.name, *parts) if parts else None
    if claimed is None:
        raise ApiError(403, "invalid_state", "unknown, used or expired authorization state")
    context = connect_context(app, cls, None)
    try:
        grant = await cls.complete_install(body, context, app[STORE_HTTP])
    except InstallRefused as exc:
        await in_db(app, _fail_pending, claimed["id"], StoreError.of("store_auth", DETAILS["keys_rejected"]))
        raise ApiError(422, "validation_error", exc.message) from None
    conn = connection(app, cls.name, grant.base_url or claimed["store_url"], grant.credentials, store_id=claimed["id"],
                      shop_domain=grant.shop_domain or claimed["shop_domain"], options=claimed["options"])
    try:
        info = await _check(app, conn, flow.value)
    except ApiError as exc:
        await in_db(app, _fail_pending, claimed["id"], StoreError.of(exc.code, DETAILS["keys_rejected"]))
        raise ApiError(400, "keys_rejected", "the credentials do not work against the store that was authorized") from None
    secret, secret_encrypted = hooks.new_store_secret(app, cls, claimed["widget_id"])
    await in_db(app, _activate, app, claimed["id"], dict(grant.credentials), info, secret_encrypted, flow)
    await _finish_webhooks(app, claimed["id"], cls.name, conn, claimed["widget_id"], secret, secret_encrypted)
    invalidate_widget_cache(app)
    return web.json_response({"status": "ok"})


def _return_text(platform: Any) -> Dict[str, Tuple[int, str, str]]:
    name = platform.display_name
    return {
        "ok": (200, "Store connected", f"Your {name} store is connected to TrulyBot. You can close this page."),
        "pending": (200, "Almost there", f"{name} has not sent the credentials yet. Reload this page in a few seconds."),
        "denied": (200, "Connection cancelled", "You did not approve the connection. Nothing was saved."),
        "failed": (200, "Connection failed", f"The credentials {name} sent did not work. Please try connecting again."),
        "unknown": (400, "Connection failed", "This connection link is unknown or has expired. Please start again."),
    }


@route("GET", "/api/integrations/{platform}/return", summary="Where the platform sends the merchant after an authorization (success or failure)",
       tag="integrations", auth="state", response_content_type="text/html", params=[PLATFORM_PARAM], first=True,
       responses={200: "Html", 302: "Redirect", 400: "Html", 404: "Error"})
async def authorization_return(request: web.Request) -> web.Response:
    cls = _install_platform(request, ConnectFlow.AUTHORIZATION_CALLBACK)
    texts = _return_text(cls)
    try:
        found = cls.read_install_return({k: v[:120] for k, v in request.query.items()})
    except InstallRefused:
        return html_page(*texts["unknown"])
    parts = state.parse_pending_state(found.state)
    if parts is None:
        return html_page(*texts["unknown"])
    outcome, return_to = await in_db(request.app, state.pending_outcome, cls.name, parts[0], parts[1], found.denied)
    return_to = safe_return_to(return_to)
    if return_to:
        return web.Response(status=302, headers={"Location": f"{return_to}?done=connected"})
    return html_page(*texts[outcome])


__all__ = ["install_aware_connect", "start_install", "install_callback", "authorization_callback", "authorization_return",
           "html_page", "INSTALL_FLOWS", "CONNECT_PATH"]
