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
import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.db.models import StoreIntegration
from bot.core.logs import mask_order_number
from bot.services import activity
from bot.services import webhook_registration as hooks
from bot.services import install_state
from bot.services.authorization import authorization_outcome, complete_authorization, start_authorization
from bot.services.connecting import PRODUCT_KEYS, ConnectResult, Cookie, choose_flow, clean_fields, connect_with_keys
from bot.services.install_redirect import start_install
from bot.services.credentials import clear_credentials
from bot.services.db import in_db
from bot.services.errors import ApiError, Conflict
from bot.services.platforms import call, connection_for, map_platform_error, platform_class
from bot.services.stores import invalidate_widget_cache, owned_store, store_dict
from bot.services.validation import safe_return_to
from plugins.integration import ConnectFlow

logger = logging.getLogger(__name__)

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
    pending_key, _ = install_state.pending_of(config)
    if pending_key is not None:
        config.pop(pending_key)
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

async def connect_store(app: web.Application, merchant_id: int, platform: str, body: Mapping[str, Any], *,
                        install_only: bool = False) -> ConnectResult:
    """Connect a store of ``platform`` with the values of ``body``: the platform's connection
    fields plus ``method`` (a connect flow; default the platform's first), ``display_name`` and
    ``return_to`` (a dashboard page to come back to after an approval).

    API keys: the store is checked and saved. Authorization callback: a pending store and the URL
    where the merchant approves (:mod:`bot.services.authorization`). Install redirect: the
    platform's install URL and the state cookie to set (:mod:`bot.services.install_redirect`).
    ``install_only``: only the two flows that send the merchant to approve (default the first of
    them). Only the fields of the chosen flow are taken; an unknown key is a :class:`FieldInvalid`.
    """
    cls = platform_class(app, platform)
    flow = choose_flow(cls, body.get("method"), install_only=install_only)
    values = {k: v for k, v in body.items() if k not in PRODUCT_KEYS}
    cleaned = clean_fields(app, cls, values, flow)
    display_name = body.get("display_name") or None
    return_to = safe_return_to(body.get("return_to"))
    if flow is ConnectFlow.API_KEYS:
        return await connect_with_keys(app, merchant_id, cls, cleaned, display_name)
    if flow is ConnectFlow.AUTHORIZATION_CALLBACK:
        return await start_authorization(app, merchant_id, cls, cleaned, display_name, return_to)
    return await start_install(app, merchant_id, cls, cleaned, display_name, return_to)


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


__all__ = ["ConnectResult", "Cookie", "authorization_outcome", "choose_flow", "complete_authorization",
           "connect_store", "delete_store", "disconnect_store", "get_store", "list_stores", "lookup_order",
           "search_orders"]
