"""A merchant's store integrations: list, connect, disconnect, delete, look orders up.

Plain async functions over the bot service's application; the JSON API (:mod:`bot.api.integrations`)
and the dashboard's pages both call them, so validation, connection checks, webhook registration and
activity rows are the same on both. Everything about a platform comes from its plugin (its
:class:`~plugins.integration.ConnectionSchema`, connect flows and webhooks); nothing here names one.

Errors are :mod:`bot.services.errors` exceptions: :class:`~bot.services.errors.UnknownPlatform` and
:class:`~bot.services.errors.NotFound` (404), :class:`~bot.services.errors.FieldInvalid` (422 naming
the field), :class:`~bot.services.errors.StoreCallFailed` (422 when the store refuses the merchant's
input, 502 when it does not answer properly), :class:`~bot.services.errors.Conflict` (409).
Nothing is stored when connecting fails.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import appkeys
from bot.core.db.models import StoreIntegration, new_widget_id, utcnow
from bot.core.logs import mask_order_number
from bot.services import activity
from bot.services import webhook_registration as hooks
from bot.services.credentials import clear_credentials, set_credentials
from bot.services.db import in_db
from bot.services.errors import ApiError, Conflict, FieldInvalid, StoreCallFailed
from bot.services.key_usage import count_encryptions
from bot.services.keys import API_CONFIG, INSTALL_STARTERS, STORE_HTTP
from bot.services.metrics import STORE_CONNECTIONS
from bot.services.platforms import call, connection, connection_for, map_platform_error, platform_class
from bot.services.store_errors import DETAILS, StoreError, error_values
from bot.services.stores import default_widget, invalidate_widget_cache, owned_store, store_dict
from bot.services.validation import safe_return_to, store_base_url
from plugins.integration import ConnectContext, ConnectFlow, FieldError, FieldRole, FieldType

logger = logging.getLogger(__name__)

#: keys of a connect request that are the product's, not the platform's fields
PRODUCT_KEYS = ("method", "display_name", "return_to")
#: ``store.config`` key of a pending authorization-callback connection (its single-use state)
AUTH_STATE_KEY = "wc_auth"


@dataclass(frozen=True)
class Cookie:
    """A cookie an install flow sets in the merchant's browser (e.g. a signed OAuth state)."""

    name: str
    value: str
    max_age: int
    path: str = "/"
    httponly: bool = True
    samesite: str = "Lax"
    secure: bool = False

    def set_on(self, response: web.StreamResponse) -> None:
        response.set_cookie(self.name, self.value, max_age=self.max_age, path=self.path, httponly=self.httponly,
                            samesite=self.samesite, secure=self.secure)


@dataclass
class ConnectResult:
    """What a connect request did.

    API-keys flow: ``store`` is connected (``created``: a new store; else an existing one was
    reconnected). Authorization-callback and install-redirect flows: the merchant's browser goes
    to ``redirect_url`` to approve; ``store`` is the pending store (callback flows) or ``None``,
    and ``cookies`` must be set on that redirect.
    """

    store: Optional[Dict[str, Any]]
    created: bool = False
    redirect_url: Optional[str] = None
    expires_at: Optional[Any] = None
    cookies: List[Cookie] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def needs_approval(self) -> bool:
        return self.redirect_url is not None


#: ``async starter(app, merchant_id, values, display_name, return_to) -> ConnectResult`` for a
#: platform whose install-redirect flow the product runs itself (``app[INSTALL_STARTERS][name]``)
InstallStarter = Callable[[web.Application, int, Dict[str, str], Optional[str], Optional[str]], Awaitable[ConnectResult]]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default_name(url: str) -> str:
    return (urlsplit(url).hostname or url)[:200]


def demo_emulator_url(app: web.Application, cls: Any) -> Optional[str]:
    """In demo mode, the URL of ``cls``'s own emulator (``register_emulators``) when its stores are
    not addressed by a URL the merchant types (no ``BASE_URL`` field) and the operator set none of
    its app settings: every store call of a store connected then goes to the emulator, as the demo
    store's do. Otherwise ``None`` (the platform's own address, or the one configured)."""
    from plugins.manager import get_emulators

    config = app[API_CONFIG]
    if not config.demo or any(f.role is FieldRole.BASE_URL for f in cls.connection_schema.fields):
        return None
    if any(value for value in (config.app_settings.get(cls.name) or {}).values()):
        return None
    spec = get_emulators().get(cls.name)
    if spec is None:
        return None
    return app[appkeys.SETTINGS].emulator_url(spec.name, spec.default_port)


def context(app: web.Application, cls: Any) -> ConnectContext:
    """What the product tells ``cls`` while connecting (public URL, its app settings, demo mode and,
    in demo mode, its emulator: :func:`demo_emulator_url`)."""
    config = app[API_CONFIG]
    return ConnectContext(public_url=config.public_url, settings=dict(config.app_settings.get(cls.name) or {}),
                          demo=config.demo, base_url_override=demo_emulator_url(app, cls))


def field_invalid(exc: FieldError) -> FieldInvalid:
    """422 naming the field, in the platform's own words."""
    return FieldInvalid(f"{exc.field}: {exc.message}", details=[{"field": exc.field, "message": exc.message}])


# --- list, delete, disconnect --------------------------------------------------------------------

def _list(session: Session, merchant_id: int) -> List[Dict[str, Any]]:
    stores = session.execute(
        select(StoreIntegration).where(StoreIntegration.user_id == merchant_id).order_by(StoreIntegration.id)
    ).scalars()
    return [store_dict(s) for s in stores]


async def list_stores(app: web.Application, merchant_id: int) -> List[Dict[str, Any]]:
    """The merchant's stores with their health (:func:`bot.services.stores.store_dict`), oldest first."""
    return await in_db(app, _list, merchant_id)


def _get(session: Session, merchant_id: int, store_id: int) -> Dict[str, Any]:
    return store_dict(owned_store(session, merchant_id, store_id))


async def get_store(app: web.Application, merchant_id: int, store_id: int) -> Dict[str, Any]:
    """One of the merchant's stores (404 for anyone else's)."""
    return await in_db(app, _get, merchant_id, store_id)


def _delete(session: Session, merchant_id: int, store_id: int) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id)
    shown = store_dict(store)
    session.delete(store)
    session.flush()
    activity.record_activity(session, merchant_id, activity.DISCONNECT, f"Store removed: {store.display_name}",
                             None, {"store_id": store_id, "platform": store.platform, "deleted": True})
    return shown


async def delete_store(app: web.Application, merchant_id: int, store_id: int) -> Dict[str, Any]:
    """Delete the store and its widget configuration; returns what it was."""
    shown = await in_db(app, _delete, merchant_id, store_id)
    invalidate_widget_cache(app)
    return shown


def _disconnect_target(session: Session, app: web.Application, merchant_id: int, store_id: int,
                       platform: Optional[str]) -> Tuple[Any, Any, str]:
    """The store's connection, webhook registration and status (to remove the webhooks first)."""
    store = owned_store(session, merchant_id, store_id, platform)
    registration = ((store.config or {}).get("webhooks") or {})
    try:
        conn = connection_for(app, store)
    except Exception:  # noqa: BLE001 - undecryptable credentials: nothing to deregister with
        conn = None
    return conn, registration, store.status


def _disconnect(session: Session, merchant_id: int, store_id: int, platform: Optional[str],
                deregistered: bool) -> Dict[str, Any]:
    store = owned_store(session, merchant_id, store_id, platform)
    clear_credentials(store)
    config = dict(store.config or {})
    config.pop(AUTH_STATE_KEY, None)
    webhooks = dict(config.get("webhooks") or {})
    webhooks.pop("secret_encrypted", None)
    webhooks["topics"] = []
    if deregistered:
        webhooks["remote_ids"] = []
    config["webhooks"] = webhooks
    store.config = config
    store.status = "disabled"
    activity.record_activity(session, merchant_id, activity.DISCONNECT, f"Store disconnected: {store.display_name}",
                             store.id, {"platform": store.platform})
    session.flush()
    return store_dict(store)


async def disconnect_store(app: web.Application, merchant_id: int, store_id: int, platform: Optional[str] = None,
                           *, only_if_connected: bool = False) -> Optional[Dict[str, Any]]:
    """Remove the store's webhooks at the store (best effort), forget its credentials and stop
    answering for it; its widget settings stay. ``platform``: 404 unless the store is on it.
    ``only_if_connected``: an already disconnected store is left alone and ``None`` returned."""
    conn, registration, status = await in_db(app, _disconnect_target, app, merchant_id, store_id, platform)
    if only_if_connected and status == "disabled":
        return None
    deregistered = conn is not None and await hooks.deregister(app, conn, registration)
    result = await in_db(app, _disconnect, merchant_id, store_id, platform, deregistered)
    invalidate_widget_cache(app)
    return result


# --- connect -------------------------------------------------------------------------------------

def choose_flow(cls: Any, method: Optional[str]) -> ConnectFlow:
    """The connect flow ``method`` names (its value or an alias; default the platform's first)."""
    schema = cls.connection_schema
    flows = {flow.value: flow for flow in schema.flows}
    wanted = method or schema.flows[0].value
    flow = flows.get(schema.flow_aliases.get(wanted, wanted))
    if flow is None:
        raise FieldInvalid("method: must be one of " + ", ".join(flows),
                           details=[{"field": "method", "message": "must be one of " + ", ".join(flows)}])
    return flow


def clean_fields(app: web.Application, cls: Any, values: Mapping[str, Any], flow: ConnectFlow) -> Dict[str, str]:
    """The platform's fields of ``values`` checked by its schema, URL fields by the product's URL
    rules (https, public address); :class:`FieldInvalid` naming the first bad field."""
    try:
        cleaned = cls.connection_schema.validate(values, flow)
    except FieldError as exc:
        raise field_invalid(exc) from None
    for f in cls.connection_schema.fields_for(flow):
        if f.type is FieldType.URL and f.name in cleaned and not cleaned[f.name].lower().startswith("file:"):
            cleaned[f.name] = store_base_url(cleaned[f.name], f.name,
                                             allow_http_loopback=app[API_CONFIG].allow_http_loopback)
    return cleaned


async def check_store(app: web.Application, conn: Any, kind: str) -> Dict[str, Any]:
    """The platform's ``check_connection`` for ``conn`` (counted by ``kind``); a refusal is a
    :class:`StoreCallFailed` (422 for the merchant's input, 502 when the store did not answer)."""
    try:
        info = await call(app, conn, "check_connection")
    except ApiError:
        STORE_CONNECTIONS.labels(conn.platform, kind, "error").inc()
        raise
    except Exception as exc:
        STORE_CONNECTIONS.labels(conn.platform, kind, "error").inc()
        raise map_platform_error(exc, connecting=True) from None
    STORE_CONNECTIONS.labels(conn.platform, kind, "ok").inc()
    return info if isinstance(info, dict) else {}


def site_info(info: Dict[str, Any]) -> Dict[str, Any]:
    """What is kept of a connection check's answer (store name, version, currency)."""
    return {k: info.get(k) for k in ("name", "version", "currency") if isinstance(info.get(k), (str, int, float))}


async def finish_webhooks(app: web.Application, store_id: int, conn: Any, widget_id: str, secret: Optional[str],
                          secret_encrypted: Optional[str]) -> Dict[str, Any]:
    """Register the store's webhooks through its platform and keep what was registered (topics,
    remote ids, error) in its config; returns the store as shown by the API."""
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


def _existing_store(session: Session, merchant_id: int, platform: str, key: str) -> Optional[Tuple[int, str]]:
    """The merchant's store of ``platform`` identified by ``key`` (connecting it again updates it)."""
    rows = session.execute(select(StoreIntegration).where(
        StoreIntegration.user_id == merchant_id, StoreIntegration.platform == platform,
        StoreIntegration.status != "pending")).scalars()
    for store in rows:
        if (store.shop_domain or store.store_url or "").lower() == key:
            return store.id, store.widget_id
    return None


def save_new_store(session: Session, app: web.Application, merchant_id: int, platform: str, store_url: str,
                   name: str, creds: Mapping[str, Optional[str]], widget_id: str, config: Dict[str, Any], *,
                   status: str = "active", shop_domain: Optional[str] = None, checked: bool = True,
                   origins: Optional[List[str]] = None) -> StoreIntegration:
    """Add a store with its encrypted credentials and a default widget (allowed on ``origins``);
    an active one gets a "Store connected" activity row."""
    store = StoreIntegration(user_id=merchant_id, widget_id=widget_id, platform=platform, display_name=name,
                             store_url=store_url, shop_domain=shop_domain, status=status, config=config)
    if checked:
        now = utcnow()
        store.last_success_at = now
        store.last_checked_at = now
    session.add(store)
    session.flush()
    set_credentials(store, app[appkeys.KEY_RING], dict(creds))
    store.widget = default_widget(list(origins or []))
    if status == "active":
        activity.record_activity(session, merchant_id, activity.CONNECT, f"Store connected: {name}", store.id,
                                 {"platform": platform})
    session.flush()
    return store


async def _connect_keys(app: web.Application, merchant_id: int, cls: Any, values: Dict[str, str],
                        display_name: Optional[str]) -> ConnectResult:
    """API-keys flow: check the credentials at the store, then store them and register webhooks."""
    try:
        draft = cls.connection_from_fields(values, context(app, cls))
    except FieldError as exc:
        raise field_invalid(exc) from None
    creds = dict(draft.credentials)
    info = await check_store(app, draft, "connect")
    store_url = draft.base_url
    name = display_name or str(info.get("name") or "") or _default_name(store_url or cls.display_name)
    existing = await in_db(app, _existing_store, merchant_id, cls.name, cls.store_key_of(draft))
    widget_id = existing[1] if existing else new_widget_id()
    secret, secret_encrypted = hooks.new_store_secret(app, cls, widget_id)
    origins = cls.storefront_origins(draft)

    def save(session: Session) -> Tuple[int, str]:
        config = {"site": site_info(info), "options": dict(draft.options),
                  "webhooks": {"topics": [], "error": None, "secret_encrypted": secret_encrypted}}
        if secret_encrypted:
            count_encryptions(session, [secret_encrypted])
        if existing:
            store = owned_store(session, merchant_id, existing[0], cls.name)
            set_credentials(store, app[appkeys.KEY_RING], creds)
            kept = {k: v for k, v in (store.config or {}).items() if k not in ("health", "install")}
            store.config = {**kept, **config}
            store.status = "active"
            store.last_success_at = store.last_checked_at = utcnow()
            store.last_error = store.last_error_code = None
            if display_name:
                store.display_name = name[:200]
            activity.record_activity(session, merchant_id, activity.CONNECT, f"Store reconnected: {store.display_name}",
                                     store.id, {"platform": cls.name, "reconnected": True})
            return store.id, store.widget_id
        created = save_new_store(session, app, merchant_id, cls.name, store_url, name[:200], creds, widget_id, config,
                                 shop_domain=draft.shop_domain, origins=origins)
        return created.id, created.widget_id

    store_id, wid = await in_db(app, save)
    conn = connection(app, cls.name, store_url, creds, store_id=store_id, shop_domain=draft.shop_domain,
                      options=draft.options)
    shown = await finish_webhooks(app, store_id, conn, wid, secret, secret_encrypted)
    invalidate_widget_cache(app)
    return ConnectResult(store=shown, created=not existing)


async def _connect_authorization(app: web.Application, merchant_id: int, cls: Any, values: Dict[str, str],
                                 display_name: Optional[str], return_to: Optional[str]) -> ConnectResult:
    """Authorization-callback flow: a pending store and the URL where the merchant approves."""
    config = app[API_CONFIG]
    draft = cls.connection_from_fields(values, context(app, cls))
    store_url = draft.base_url
    nonce = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=config.state_ttl_seconds)
    name = display_name or _default_name(store_url)
    widget_id = new_widget_id()

    def save(session: Session) -> Dict[str, Any]:
        store = save_new_store(
            session, app, merchant_id, cls.name, store_url, name[:200], {}, widget_id,
            {AUTH_STATE_KEY: {"nonce_hash": _hash(nonce), "expires_at": expires.isoformat(), "used": False,
                              "return_to": return_to}},
            status="pending", checked=False, origins=cls.storefront_origins(draft))
        return store_dict(store)

    shown = await in_db(app, save)
    state = f"{shown['id']}.{nonce}"
    return ConnectResult(store=shown, created=True, redirect_url=cls.install_url(values, context(app, cls), state),
                         expires_at=expires.isoformat())


async def connect_store(app: web.Application, merchant_id: int, platform: str, body: Mapping[str, Any]) -> ConnectResult:
    """Connect a store of ``platform`` with the values of ``body``: the platform's connection
    fields plus ``method`` (a connect flow; default the platform's first), ``display_name`` and
    ``return_to`` (a dashboard page to come back to after an approval).

    Only the fields of the chosen flow are taken; an unknown key is a :class:`FieldInvalid`.
    """
    cls = platform_class(app, platform)
    flow = choose_flow(cls, body.get("method"))
    values = {k: v for k, v in body.items() if k not in PRODUCT_KEYS}
    cleaned = clean_fields(app, cls, values, flow)
    display_name = body.get("display_name") or None
    return_to = safe_return_to(body.get("return_to"))
    if flow is ConnectFlow.API_KEYS:
        return await _connect_keys(app, merchant_id, cls, cleaned, display_name)
    if flow is ConnectFlow.AUTHORIZATION_CALLBACK:
        return await _connect_authorization(app, merchant_id, cls, cleaned, display_name, return_to)
    starter = (app.get(INSTALL_STARTERS) or {}).get(cls.name)
    if starter is None:
        raise Conflict("flow_not_here", f"{cls.display_name} stores connect through their install page")
    return await starter(app, merchant_id, cleaned, display_name, return_to)


# --- authorization callback ----------------------------------------------------------------------

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
    if not expected or pending.get("used") or not hmac.compare_digest(expected, _hash(nonce)):
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
    if not expected or not hmac.compare_digest(expected, _hash(nonce)):
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


# --- orders --------------------------------------------------------------------------------------

def _store_conn(session: Session, app: web.Application, merchant_id: int, store_id: int, platform: Optional[str]) -> Any:
    store = owned_store(session, merchant_id, store_id, platform)
    if store.status not in ("active", "error"):
        raise Conflict("store_not_connected", "the store is not connected")
    return connection_for(app, store)


async def lookup_order(app: web.Application, merchant_id: int, store_id: int, number: str,
                       platform: Optional[str] = None) -> Dict[str, Any]:
    """One order of the merchant's connected store, as the merchant sees it (no verification)."""
    conn = await in_db(app, _store_conn, app, merchant_id, store_id, platform)
    number = number.lstrip("#")
    try:
        order = await call(app, conn, "get_order", number)
    except ApiError:
        raise
    except Exception as exc:
        logger.info("merchant order lookup on store %s failed for order %s (%s)", conn.store_id, mask_order_number(number),
                    getattr(exc, "code", type(exc).__name__))
        raise map_platform_error(exc) from None
    return order.to_public_dict()


def _search_targets(session: Session, app: web.Application, merchant_id: int, store_id: Optional[int]) -> List[Any]:
    if store_id is not None:
        return [_store_conn(session, app, merchant_id, store_id, None)]
    stores = session.execute(
        select(StoreIntegration).where(StoreIntegration.user_id == merchant_id, StoreIntegration.status == "active")
    ).scalars()
    return [connection_for(app, s) for s in stores]


async def search_orders(app: web.Application, merchant_id: int, email: str, store_id: Optional[int] = None,
                        limit: int = 5) -> List[Dict[str, Any]]:
    """A customer's recent orders by email in one or every active store of the merchant:
    ``[{"store_id", "orders", "error"}]`` (a failing store reports its error, the others answer)."""
    targets = await in_db(app, _search_targets, app, merchant_id, store_id)

    async def one(conn: Any) -> Dict[str, Any]:
        try:
            orders = await call(app, conn, "find_orders", email, limit)
        except Exception as exc:  # noqa: BLE001 - reported per store
            err = map_platform_error(exc) if not isinstance(exc, ApiError) else exc
            return {"store_id": conn.store_id, "orders": [], "error": {"code": err.code, "message": err.message}}
        return {"store_id": conn.store_id, "orders": [o.to_public_dict() for o in orders], "error": None}

    return list(await asyncio.gather(*(one(c) for c in targets)))


__all__ = ["AUTH_STATE_KEY", "ConnectResult", "Cookie", "InstallStarter", "PRODUCT_KEYS", "StoreCallFailed",
           "authorization_outcome", "check_store", "choose_flow", "clean_fields", "complete_authorization", "connect_store",
           "context", "delete_store", "demo_emulator_url", "disconnect_store", "field_invalid", "finish_webhooks", "get_store",
           "list_stores", "lookup_order", "save_new_store", "search_orders", "site_info"]
