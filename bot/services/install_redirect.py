"""The install-redirect connect flow (OAuth authorization code), the same for every platform.

:func:`start_install` checks that the platform's app is configured and the store is not another
merchant's, then gives the platform's install URL and the signed state cookie to set with it
(:mod:`bot.services.install_state`). :func:`finish_install` handles the merchant's browser coming
back: the platform checks its query (``read_install_callback``: signature, freshness, shop); the
state must equal the cookie's nonce, the shop the one asked for, the nonce must be unused (consumed
in the database); only then the platform exchanges the code (``complete_install``). The new
credentials are checked at the store, stored encrypted and the store's webhooks registered.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import appkeys
from bot.core.db.models import StoreIntegration, utcnow
from bot.services import activity
from bot.services import install_state as state
from bot.services import webhook_registration as hooks
from bot.services.connecting import ConnectResult, Cookie, check_store, context, field_invalid, finish_webhooks, site_info
from bot.services.credentials import set_credentials
from bot.services.db import in_db
from bot.services.errors import ApiError, Conflict
from bot.services.key_usage import count_encryptions
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.services.metrics import STORE_CONNECTIONS, timed_store_call
from bot.services.platforms import connection, missing_app_settings, platform_class
from bot.services.stores import default_widget, invalidate_widget_cache
from bot.services.validation import safe_return_to
from plugins.errors import PlatformError
from plugins.integration import ConnectFlow, FieldError, InstallGrant, InstallRefused

logger = logging.getLogger(__name__)

FLOW = ConnectFlow.INSTALL_REDIRECT
#: longest callback query read
MAX_QUERY = 4000


@dataclass(frozen=True)
class InstallFinished:
    """How an install callback ended, for the merchant's browser: a page (``status``, ``title``,
    ``message``) or, after a success with a ``return_to`` page, a redirect to ``location``. The
    state cookie is spent either way (``cookie_name``, ``cookie_path``: delete it)."""

    status: int
    title: str
    message: str
    cookie_name: str
    cookie_path: str
    location: Optional[str] = None


def _session_secret(app: web.Application) -> str:
    secret = app[appkeys.SETTINGS].session_secret
    if not secret:
        raise ApiError(503, "not_configured", "TRULYBOT_SESSION_SECRET is not set")
    return secret


def _shown_fields(cls: Any, values: Mapping[str, str]) -> Dict[str, str]:
    """The non-secret form values, kept in the state cookie (the callback's context is built from them)."""
    secret = {f.name for f in cls.connection_schema.fields if f.is_secret}
    return {k: v for k, v in values.items() if k not in secret}


def _store_owner(session: Session, platform: str, shop_domain: Optional[str], base_url: Optional[str]) -> Optional[int]:
    if shop_domain:
        where = StoreIntegration.shop_domain == shop_domain
    else:
        where = StoreIntegration.store_url == (base_url or "")
    return session.execute(select(StoreIntegration.user_id).where(
        StoreIntegration.platform == platform, StoreIntegration.status != "pending", where)).scalars().first()


async def start_install(app: web.Application, merchant_id: int, cls: Any, values: Dict[str, str],
                        display_name: Optional[str], return_to: Optional[str]) -> ConnectResult:
    """The platform's install URL for the store in ``values`` and the signed state cookie to set
    with it; ``extra`` names the shop when the platform addresses stores by shop domain.

    409 ``not_configured`` when a required app setting is missing, 409 ``shop_taken`` when the
    store is connected to another merchant, 422 naming a bad field."""
    config = app[API_CONFIG]
    missing = missing_app_settings(app, cls)
    if missing:
        raise Conflict("not_configured", f"the {cls.display_name} app is not configured ({', '.join(missing)})")
    ctx = context(app, cls, values)
    try:
        draft = cls.connection_from_fields(values, ctx)
    except FieldError as exc:
        raise field_invalid(exc) from None
    owner = await in_db(app, _store_owner, cls.name, draft.shop_domain, draft.base_url)
    if owner is not None and owner != merchant_id:
        raise Conflict("shop_taken", "this store is connected to another TrulyBot account")
    nonce = secrets.token_urlsafe(24)
    expires = int(time.time()) + config.state_ttl_seconds
    payload: Dict[str, Any] = {"n": nonce, "m": merchant_id, "exp": expires, "v": _shown_fields(cls, values)}
    extra: Dict[str, Any] = {}
    if draft.shop_domain:
        payload["shop"] = extra["shop"] = draft.shop_domain
    if display_name:
        payload["name"] = display_name
    if return_to:
        payload["r"] = return_to
    cookie = Cookie(state.cookie_name(cls.name), state.sign_state(_session_secret(app), cls.name, payload),
                    max_age=config.state_ttl_seconds, path=state.cookie_path(cls.name),
                    secure=config.public_url.startswith("https://"))
    return ConnectResult(store=None, redirect_url=cls.install_url(values, ctx, nonce), expires_at=expires,
                         cookies=[cookie], extra=extra)


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
    config.update(scopes=list(grant.granted_scopes), site=site_info(info))
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
                             {"platform": platform.name, "method": FLOW.value})
    session.flush()
    return {"id": store.id, "widget_id": store.widget_id, "secret": secret, "secret_encrypted": secret_encrypted}


async def finish_install(app: web.Application, platform: str, query: Sequence[Tuple[str, str]],
                         cookie: Optional[str], *, query_size: Optional[int] = None) -> InstallFinished:
    """The install callback: the platform's ``query`` (as sent, repeated keys included; its raw
    length ``query_size``) and the state ``cookie`` of the browser that came back. Every refusal
    is a page, never a stored store.

    404 ``no_install_flow`` (raised) when the platform has no install redirect."""
    cls = platform_class(app, platform)
    if FLOW not in cls.connection_schema.flows:
        raise ApiError(404, "no_install_flow", f"{cls.display_name} stores do not connect through this flow")
    name, path = state.cookie_name(cls.name), state.cookie_path(cls.name)

    def fail(status: int, message: str, reason: str) -> InstallFinished:
        STORE_CONNECTIONS.labels(cls.name, FLOW.value, "error").inc()
        logger.info("%s install callback refused: %s", cls.name, reason)
        return InstallFinished(status, "Connection failed", message, name, path)

    size = sum(len(k) + len(v) + 2 for k, v in query) if query_size is None else query_size
    if size > MAX_QUERY or missing_app_settings(app, cls):
        return fail(400, "This connection link is invalid.", "query too long or app not configured")
    if len({k for k, _ in query}) != len(query):
        return fail(400, "This connection link is invalid.", "repeated query parameter")
    params = dict(query)
    try:
        found = cls.read_install_callback(params, context(app, cls))
    except InstallRefused as exc:
        return fail(400 if exc.authentic else 401, exc.message, exc.reason)
    payload = state.read_state(_session_secret(app), cls.name, cookie)
    if payload is None:
        return fail(403, "This connection link has expired or was opened in another browser. Please start again.",
                    "missing, forged or expired state cookie")
    if not state.state_matches(payload, found.state):
        return fail(403, "This connection link does not match your session. Please start again.", "state mismatch")
    asked = payload.get("shop")
    if found.shop_domain and asked is not None and not hmac.compare_digest(str(asked).encode(), found.shop_domain.encode()):
        return fail(403, "The shop does not match the one you asked to connect.", "foreign shop domain")
    if not await in_db(app, state.consume_nonce, cls.name, found.state, app[API_CONFIG].state_ttl_seconds):
        return fail(403, "This connection link was already used. Please start again.", "replayed state")
    ctx = context(app, cls, payload.get("v") if isinstance(payload.get("v"), dict) else None)
    try:
        grant = await timed_store_call(cls.name, "complete_install", cls.complete_install(params, ctx, app[STORE_HTTP]))
    except InstallRefused as exc:
        return fail(400, exc.message, exc.reason)
    except PlatformError as exc:
        return fail(400, f"{cls.display_name} did not answer. Please try again.", f"code exchange failed ({exc.code})")
    conn = connection(app, cls.name, grant.base_url or "", grant.credentials, shop_domain=grant.shop_domain)
    try:
        info = await check_store(app, conn, FLOW.value)
    except ApiError:
        return fail(400, "The new credentials do not work. Please try again.", "credential check failed")
    saved = await in_db(app, _save_installed, app, int(payload["m"]), cls, grant, payload.get("name"), info)
    if saved is None:
        return fail(409, "This store is connected to another TrulyBot account.", "store taken")
    conn = connection(app, cls.name, grant.base_url or "", grant.credentials, store_id=saved["id"], shop_domain=grant.shop_domain)
    await finish_webhooks(app, saved["id"], conn, saved["widget_id"], saved["secret"], saved["secret_encrypted"])
    invalidate_widget_cache(app)
    return_to = safe_return_to(payload.get("r"))
    return InstallFinished(200, "Store connected", f"Your {cls.display_name} store is connected to TrulyBot. You can close this page.",
                           name, path, location=f"{return_to}?done=connected" if return_to else None)


__all__ = ["InstallFinished", "start_install", "finish_install", "MAX_QUERY"]
