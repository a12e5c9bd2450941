"""The authorization-callback connect flow: a pending store and the approval URL, the credentials
the store posts back (bound to a single-use state, checked at the intended store), and how the
flow ended for the merchant's browser coming back. The platform reads its own callback and return
query (``Platform.read_install_callback``, ``complete_install``, ``read_install_return``); the state
is :mod:`bot.services.install_state`'s."""
from __future__ import annotations

import secrets
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.orm import Session

from bot import appkeys
from bot.core.db.models import StoreIntegration, new_widget_id, utcnow
from bot.services import activity
from bot.services import install_state as state
from bot.services import webhook_registration as hooks
from bot.services.connecting import (
    ConnectResult,
    check_store,
    context,
    field_invalid,
    finish_webhooks,
    save_new_store,
    site_info,
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
from plugins.integration import ConnectFlow, FieldError, InstallRefused

FLOW = ConnectFlow.AUTHORIZATION_CALLBACK


async def start_authorization(app: web.Application, merchant_id: int, cls: Any, values: Dict[str, str],
                              display_name: Optional[str], return_to: Optional[str]) -> ConnectResult:
    """A pending store (its single-use state kept hashed in its config) and the URL where the
    merchant approves; the state travels as ``<store id>.<nonce>``."""
    ttl = app[API_CONFIG].state_ttl_seconds
    ctx = context(app, cls, values)
    try:
        draft = cls.connection_from_fields(values, ctx)
    except FieldError as exc:
        raise field_invalid(exc) from None
    nonce = secrets.token_urlsafe(32)
    pending = state.new_pending(nonce, ttl, return_to)
    name = display_name or draft.shop_domain or urlsplit(draft.base_url or "").hostname or cls.display_name

    def save(session: Session) -> Dict[str, Any]:
        store = save_new_store(session, app, merchant_id, cls.name, draft.base_url, name[:200], {}, new_widget_id(),
                               {state.PENDING_KEY: pending, "options": dict(draft.options)}, status="pending",
                               checked=False, shop_domain=draft.shop_domain, origins=cls.storefront_origins(draft))
        return store_dict(store)

    shown = await in_db(app, save)
    url = cls.install_url(values, ctx, state.pending_state(shown["id"], nonce))
    return ConnectResult(store=shown, created=True, redirect_url=url, expires_at=pending["expires_at"])


def _claim(session: Session, platform: str, store_id: int, nonce: str) -> Optional[Dict[str, Any]]:
    store = state.claim_pending(session, platform, store_id, nonce)
    if store is None:
        return None
    options = (store.config or {}).get("options")
    return {"id": store.id, "widget_id": store.widget_id, "store_url": store.store_url or "",
            "shop_domain": store.shop_domain, "options": options if isinstance(options, dict) else {}}


def _activate(session: Session, app: web.Application, store_id: int, creds: Dict[str, str], info: Dict[str, Any],
              secret_encrypted: Optional[str]) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    set_credentials(store, app[appkeys.KEY_RING], creds)
    state.set_pending_result(store, "ok")
    config = dict(store.config or {})
    config["site"] = site_info(info)
    config["webhooks"] = {"topics": [], "error": None, "secret_encrypted": secret_encrypted}
    if secret_encrypted:
        count_encryptions(session, [secret_encrypted])
    store.config = config
    store.status = "active"
    store.last_success_at = store.last_checked_at = utcnow()
    activity.record_activity(session, store.user_id, activity.CONNECT, f"Store connected: {store.display_name}", store.id,
                             {"platform": store.platform, "method": FLOW.value})


def _fail(session: Session, store_id: int, reason: StoreError) -> None:
    store = session.get(StoreIntegration, store_id)
    if store is None:
        return
    state.set_pending_result(store, "failed")
    store.status = "error"
    for column, value in error_values(reason, utcnow()).items():
        setattr(store, column, value)


def _platform_with_flow(app: web.Application, platform: str) -> Any:
    cls = platform_class(app, platform)
    if FLOW not in cls.connection_schema.flows:
        raise ApiError(404, "no_install_flow", f"{cls.display_name} stores do not connect through this flow")
    return cls


async def complete_authorization(app: web.Application, platform: str, params: Mapping[str, Any]) -> Dict[str, Any]:
    """The store's authorization callback (the credentials it POSTs for a pending store): checked
    by the platform (``read_install_callback``), bound to the single-use state, read
    (``complete_install``) and checked at the intended store; then the store is activated and its
    webhooks registered. Returns the store as shown by the API.

    401 ``invalid_signature`` when the platform finds the callback forged, 422 when it cannot read
    it, 403 ``invalid_state`` for an unknown, used or expired state, 400 ``keys_rejected`` when the
    credentials do not work (the store is then in error).
    """
    cls = _platform_with_flow(app, platform)
    try:
        found = cls.read_install_callback(params, context(app, cls))
    except InstallRefused as exc:
        if not exc.authentic:
            raise ApiError(401, "invalid_signature", exc.message) from None
        raise FieldInvalid(exc.message) from None
    parts = state.parse_pending_state(found.state)
    claimed = await in_db(app, _claim, cls.name, *parts) if parts else None
    if claimed is None:
        raise ApiError(403, "invalid_state", "unknown, used or expired authorization state")
    try:
        grant = await cls.complete_install(params, context(app, cls), app[STORE_HTTP])
    except InstallRefused as exc:
        await in_db(app, _fail, claimed["id"], StoreError.of("store_auth", DETAILS["keys_rejected"]))
        raise FieldInvalid(exc.message) from None
    creds = dict(grant.credentials)
    conn = connection(app, cls.name, grant.base_url or claimed["store_url"], creds, store_id=claimed["id"],
                      shop_domain=grant.shop_domain or claimed["shop_domain"], options=claimed["options"])
    try:
        info = await check_store(app, conn, FLOW.value)
    except ApiError as exc:
        await in_db(app, _fail, claimed["id"], StoreError.of(exc.code, DETAILS["keys_rejected"]))
        raise ApiError(400, "keys_rejected", "the credentials do not work against the store that was authorized") from None
    secret, secret_encrypted = hooks.new_store_secret(app, cls, claimed["widget_id"])
    await in_db(app, _activate, app, claimed["id"], creds, info, secret_encrypted)
    shown = await finish_webhooks(app, claimed["id"], conn, claimed["widget_id"], secret, secret_encrypted)
    invalidate_widget_cache(app)
    return shown


async def authorization_outcome(app: web.Application, platform: str, query: Mapping[str, str]) -> Tuple[str, Optional[str]]:
    """How an authorization ended for the merchant's browser coming back with the platform's
    return ``query``: ``ok``, ``pending``, ``denied`` (the pending store is removed), ``failed`` or
    ``unknown``; and the dashboard page to return to after ``ok``."""
    cls = _platform_with_flow(app, platform)
    try:
        found = cls.read_install_return({k: v[:120] for k, v in query.items()})
    except InstallRefused:
        return "unknown", None
    parts = state.parse_pending_state(found.state)
    if parts is None:
        return "unknown", None
    outcome, return_to = await in_db(app, state.pending_outcome, cls.name, parts[0], parts[1], found.denied)
    return outcome, safe_return_to(return_to) if outcome == "ok" else None


__all__ = ["start_authorization", "complete_authorization", "authorization_outcome"]
