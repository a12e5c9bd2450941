"""Connecting a store: the steps every connect flow shares, and the API-keys flow.

Choosing the platform's connect flow, checking its fields (the plugin's schema plus the product's
URL rules), what the product tells the plugin (:func:`context`), the connection check at the store,
saving a new store with its encrypted credentials and widget, registering its webhooks. Nothing
here names a platform; see :mod:`bot.services.integrations` for the functions callers use.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import appkeys
from bot.core.db.models import StoreIntegration, new_widget_id, utcnow
from bot.services import activity
from bot.services import webhook_registration as hooks
from bot.services.credentials import set_credentials
from bot.services.db import in_db
from bot.services.errors import ApiError, FieldInvalid
from bot.services.key_usage import count_encryptions
from bot.services.keys import API_CONFIG
from bot.services.metrics import STORE_CONNECTIONS
from bot.services.platforms import (  # noqa: F401 - demo_emulator_url: part of what connecting offers
    call,
    connect_context,
    connection,
    demo_emulator_url,
    map_platform_error,
)
from bot.services.stores import default_widget, invalidate_widget_cache, owned_store, store_dict
from bot.services.validation import store_base_url
from plugins.integration import ConnectContext, ConnectFlow, FieldError, FieldType

logger = logging.getLogger(__name__)

#: the connect flows that send the merchant's browser to the platform to approve the connection
INSTALL_FLOWS = (ConnectFlow.INSTALL_REDIRECT, ConnectFlow.AUTHORIZATION_CALLBACK)
#: keys of a connect request that are the product's, not the platform's fields
PRODUCT_KEYS = ("method", "display_name", "return_to")


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


def default_name(url: str) -> str:
    return (urlsplit(url).hostname or url)[:200]


def context(app: web.Application, cls: Any, values: Optional[Mapping[str, str]] = None) -> ConnectContext:
    """What the product tells ``cls`` while connecting the store the form ``values`` describe
    (public URL, its app settings, demo mode and, in demo mode, its emulator; see
    :func:`bot.services.platforms.connect_context`)."""
    return connect_context(app, cls, values)


def field_invalid(exc: FieldError) -> FieldInvalid:
    """422 naming the field, in the platform's own words."""
    return FieldInvalid(f"{exc.field}: {exc.message}", details=[{"field": exc.field, "message": exc.message}])


def choose_flow(cls: Any, method: Optional[str], *, install_only: bool = False) -> ConnectFlow:
    """The connect flow ``method`` names (its value or an alias; default the platform's first).

    ``install_only``: only the flows that send the merchant to the platform to approve
    (:data:`INSTALL_FLOWS`; default the platform's first of them); 404 ``no_install_flow`` when
    the platform has none.
    """
    schema = cls.connection_schema
    allowed = [flow for flow in schema.flows if flow in INSTALL_FLOWS or not install_only]
    if not allowed:
        raise ApiError(404, "no_install_flow", f"{cls.display_name} stores do not connect through this flow")
    flows = {flow.value: flow for flow in allowed}
    wanted = method or allowed[0].value
    flow = flows.get(schema.flow_aliases.get(wanted, wanted)) if isinstance(wanted, str) else None
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


def existing_store(session: Session, merchant_id: int, platform: str, key: str) -> Optional[Tuple[int, str]]:
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


async def connect_with_keys(app: web.Application, merchant_id: int, cls: Any, values: Dict[str, str],
                        display_name: Optional[str]) -> ConnectResult:
    """API-keys flow: check the credentials at the store, then store them and register webhooks."""
    try:
        draft = cls.connection_from_fields(values, context(app, cls))
    except FieldError as exc:
        raise field_invalid(exc) from None
    creds = dict(draft.credentials)
    info = await check_store(app, draft, "connect")
    store_url = draft.base_url
    name = display_name or str(info.get("name") or "") or default_name(store_url or cls.display_name)
    existing = await in_db(app, existing_store, merchant_id, cls.name, cls.store_key_of(draft))
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
