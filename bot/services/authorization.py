"""The authorization-callback connect flow: a pending store and the approval URL, the credentials
the store posts back (bound to a single-use state, checked at the intended store), and the page the
merchant's browser returns to. The platform reads its own callback (``Platform.complete_install``)."""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Dict, Mapping, Optional, Tuple

from aiohttp import web
from sqlalchemy.orm import Session

from bot import appkeys
from bot.core.db.models import StoreIntegration, new_widget_id, utcnow
from bot.services import activity
from bot.services import webhook_registration as hooks
from bot.services.connecting import (
    AUTH_STATE_KEY,
    ConnectResult,
    check_store,
    context,
    default_name,
    finish_webhooks,
    save_new_store,
    site_info,
    state_hash,
)
from bot.services.credentials import set_credentials
from bot.services.db import in_db
from bot.services.errors import ApiError, FieldInvalid
from bot.services.key_usage import count_encryptions
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.services.platforms import connection, platform_class
from bot.services.store_errors import DETAILS, StoreError, error_values
from bot.services.stores import invalidate_widget_cache, store_dict
from bot.services.validation import safe_return_to
from plugins.integration import ConnectFlow


async def start_authorization(app: web.Application, merchant_id: int, cls: Any, values: Dict[str, str],
                                 display_name: Optional[str], return_to: Optional[str]) -> ConnectResult:
    """Authorization-callback flow: a pending store and the URL where the merchant approves."""
    config = app[API_CONFIG]
    draft = cls.connection_from_fields(values, context(app, cls))
    store_url = draft.base_url
    nonce = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=config.state_ttl_seconds)
    name = display_name or default_name(store_url)
    widget_id = new_widget_id()

    def save(session: Session) -> Dict[str, Any]:
        store = save_new_store(
            session, app, merchant_id, cls.name, store_url, name[:200], {}, widget_id,
            {AUTH_STATE_KEY: {"nonce_hash": state_hash(nonce), "expires_at": expires.isoformat(), "used": False,
                              "return_to": return_to}},
            status="pending", checked=False, origins=cls.storefront_origins(draft))
        return store_dict(store)

    shown = await in_db(app, save)
    state = f"{shown['id']}.{nonce}"
    return ConnectResult(store=shown, created=True, redirect_url=cls.install_url(values, context(app, cls), state),
                         expires_at=expires.isoformat())


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


def _claim_state(session: Session, platform: str, store_id: int, nonce: str) -> Optional[Dict[str, Any]]:
    """Consume the state if it is live: returns the intended store's url and ids, else None."""
    store = session.get(StoreIntegration, store_id, with_for_update=True)
    if store is None or store.platform != platform or store.status != "pending":
        return None
    pending = (store.config or {}).get(AUTH_STATE_KEY) or {}
    expected = str(pending.get("nonce_hash") or "")
    if not expected or pending.get("used") or not hmac.compare_digest(expected, state_hash(nonce)):
        return None
    expires = _aware(str(pending.get("expires_at")))
    if expires is None or expires < utcnow():
        return None
    config = dict(store.config or {})
    config[AUTH_STATE_KEY] = {**pending, "used": True}
    store.config = config
    session.flush()
    return {"id": store.id, "widget_id": store.widget_id, "store_url": store.store_url, "merchant_id": store.user_id,
            "shop_domain": store.shop_domain}


def _activate(session: Session, app: web.Application, store_id: int, creds: Dict[str, str], info: Dict[str, Any],
              secret_encrypted: Optional[str]) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    set_credentials(store, app[appkeys.KEY_RING], creds)
    config = dict(store.config or {})
    config[AUTH_STATE_KEY] = {**(config.get(AUTH_STATE_KEY) or {}), "result": "ok"}
    config["site"] = site_info(info)
    config["webhooks"] = {"topics": [], "error": None, "secret_encrypted": secret_encrypted}
    if secret_encrypted:
        count_encryptions(session, [secret_encrypted])
    store.config = config
    store.status = "active"
    store.last_success_at = store.last_checked_at = utcnow()
    activity.record_activity(session, store.user_id, activity.CONNECT, f"Store connected: {store.display_name}", store.id,
                             {"platform": store.platform, "method": ConnectFlow.AUTHORIZATION_CALLBACK.value})


def _fail(session: Session, store_id: int, reason: StoreError) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    config = dict(store.config or {})
    config[AUTH_STATE_KEY] = {**(config.get(AUTH_STATE_KEY) or {}), "result": "failed"}
    store.config = config
    store.status = "error"
    for column, value in error_values(reason, utcnow()).items():
        setattr(store, column, value)


async def complete_authorization(app: web.Application, platform: str, params: Mapping[str, Any]) -> Dict[str, Any]:
    """The store's authorization callback (credentials it POSTs for a pending store): read by the
    platform (``complete_install``), bound to the single-use state, checked at the intended store,
    then the store is activated and its webhooks registered.

    422 when the platform cannot read the callback, 403 ``invalid_state`` for an unknown, used or
    expired state, 400 ``keys_rejected`` when the credentials do not work (the store is then in error).
    """
    from plugins.errors import PlatformError

    cls = platform_class(app, platform)
    if ConnectFlow.AUTHORIZATION_CALLBACK not in cls.connection_schema.flows:
        raise ApiError(404, "not_found", f"{cls.display_name} has no authorization callback")
    try:
        grant = await cls.complete_install(params, context(app, cls), app[STORE_HTTP])
    except PlatformError as exc:
        raise FieldInvalid(str(exc)[:200] or "the callback cannot be read") from None
    parts = _state_parts(grant.state)
    claimed = await in_db(app, _claim_state, cls.name, *parts) if parts else None
    if claimed is None:
        raise ApiError(403, "invalid_state", "unknown, used or expired authorization state")
    creds = dict(grant.credentials)
    conn = connection(app, cls.name, grant.base_url or claimed["store_url"], creds, store_id=claimed["id"],
                      shop_domain=grant.shop_domain or claimed["shop_domain"])
    try:
        info = await check_store(app, conn, AUTH_STATE_KEY)
    except ApiError as exc:
        await in_db(app, _fail, claimed["id"], StoreError.of(exc.code, DETAILS["keys_rejected"]))
        raise ApiError(400, "keys_rejected", "the keys do not work against the store that was authorized") from None
    secret, secret_encrypted = hooks.new_store_secret(app, cls, claimed["widget_id"])
    await in_db(app, _activate, app, claimed["id"], creds, info, secret_encrypted)
    shown = await finish_webhooks(app, claimed["id"], conn, claimed["widget_id"], secret, secret_encrypted)
    invalidate_widget_cache(app)
    return shown


def _return_status(session: Session, platform: str, store_id: int, nonce: str, denied: bool) -> Tuple[str, Optional[str]]:
    store = session.get(StoreIntegration, store_id)
    if store is None or store.platform != platform:
        return "unknown", None
    pending = (store.config or {}).get(AUTH_STATE_KEY) or {}
    expected = str(pending.get("nonce_hash") or "")
    if not expected or not hmac.compare_digest(expected, state_hash(nonce)):
        return "unknown", None
    if store.status == "active" and pending.get("result") == "ok":
        return "ok", safe_return_to(pending.get("return_to"))
    if store.status == "pending" and denied:
        session.delete(store)  # the merchant said no: nothing half-written stays behind
        return "denied", None
    if store.status == "pending":
        return "pending", None
    return "failed", None


async def authorization_outcome(app: web.Application, platform: str, state: str, denied: bool) -> Tuple[str, Optional[str]]:
    """How an authorization ended for the merchant's browser coming back with ``state``: ``ok``,
    ``pending``, ``denied`` (the pending store is removed), ``failed`` or ``unknown``; and the
    dashboard page to return to after ``ok``."""
    cls = platform_class(app, platform)
    parts = _state_parts(state[:120])
    if parts is None:
        return "unknown", None
    return await in_db(app, _return_status, cls.name, parts[0], parts[1], denied)
