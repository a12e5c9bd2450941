"""Demo mode: the demo stores' webhooks, registered at their emulators once the stack is up.

A demo store is seeded, not connected, so nothing registered its webhooks; the emulators start
empty on every ``trulybot up``. When every process answers, the supervisor calls
:func:`register_demo_webhooks`: for each demo store whose platform has webhooks, a fresh per-store
secret (when the platform uses one) and the platform's own ``register_webhooks`` against its
emulator, kept in the store's config exactly as connecting a store keeps them. Status changes made
at an emulator then reach the shoppers' open chats. Failures are recorded in ``webhooks.error`` and
never stop the stack.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Optional

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import appkeys
from bot.core.crypto import KeyRing
from bot.core.db.models import StoreIntegration
from bot.core.settings import Settings
from bot.services import webhook_registration as hooks
from bot.services.config import load_api_config
from bot.services.connecting import finish_webhooks
from bot.services.db import in_db
from bot.services.key_usage import count_encryptions
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.services.platforms import connection_for, platform_class

logger = logging.getLogger(__name__)


def _demo_store_ids(session: Session, widget_ids: List[str]) -> List[int]:
    return list(session.execute(select(StoreIntegration.id).where(StoreIntegration.widget_id.in_(widget_ids))).scalars())


def _prepare(session: Session, app: web.Application, store_id: int, secret_encrypted: Optional[str]) -> object:
    """The store's connection, with a fresh webhook secret in its config (the previous run's is void)."""
    store = session.get(StoreIntegration, store_id)
    config = dict(store.config or {})
    config["webhooks"] = {"topics": [], "remote_ids": [], "error": None, "secret_encrypted": secret_encrypted}
    store.config = config
    if secret_encrypted:
        count_encryptions(session, [secret_encrypted])
    return connection_for(app, store)


def _store_facts(session: Session, store_id: int) -> tuple:
    store = session.get(StoreIntegration, store_id)
    return store.platform, store.widget_id


async def register_for_app(app: web.Application, widget_ids: List[str]) -> Dict[str, Optional[str]]:
    """Register the webhooks of the stores ``widget_ids`` on ``app`` (its database, key ring, API
    configuration and store HTTP client); ``{widget_id: error or None}`` for the stores with webhooks."""
    results: Dict[str, Optional[str]] = {}
    for store_id in await in_db(app, _demo_store_ids, list(widget_ids)):
        platform, widget_id = await in_db(app, _store_facts, store_id)
        cls = platform_class(app, platform)
        if cls.webhooks is None:
            continue
        secret, secret_encrypted = hooks.new_store_secret(app, cls, widget_id)
        conn = await in_db(app, _prepare, app, store_id, secret_encrypted)
        shown = await finish_webhooks(app, store_id, conn, widget_id, secret, secret_encrypted)
        results[widget_id] = (shown.get("webhooks") or {}).get("error")
    return results


async def register_demo_webhooks(settings: Settings, sessions: "sessionmaker[Session]", ring: KeyRing,
                                 widget_ids: List[str]) -> Dict[str, Optional[str]]:
    """:func:`register_for_app` for the demo stores, outside the bot service (the supervisor)."""
    from plugins.http import StoreHttpClient
    from plugins.netguard import AddressPolicy

    app = web.Application()
    app[appkeys.SETTINGS] = settings
    app[appkeys.DB_SESSIONS] = sessions
    app[appkeys.KEY_RING] = ring
    app[API_CONFIG] = load_api_config(settings)
    app[STORE_HTTP] = StoreHttpClient(policy=AddressPolicy.with_loopback_ports(settings.store_loopback_ports))
    try:
        return await register_for_app(app, widget_ids)
    finally:
        await app[STORE_HTTP].close()
