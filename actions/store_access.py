"""Which store a conversation belongs to, and a platform client for it.

The store id comes from the message metadata the bot service attaches (never from what the shopper
types). Credentials are decrypted here, only for that store, and never leave this process.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from sqlalchemy import update

from actions.metadata import message_metadata
from actions.runtime import Runtime
from bot.core.crypto import DecryptionError
from bot.core.db.models import StoreIntegration
from bot.services.credentials import get_credentials
from bot.services.store_errors import StoreError, error_values
from bot.services.stores import store_by_id
from plugins.base import Platform
from plugins.manager import UnknownPlatform, get_platform
from plugins.model import StoreConnection

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class StoreContext:
    """The current conversation's store, as the actions need it."""

    store_id: int
    merchant_id: int
    widget_id: str
    platform: str
    display_name: str
    locale: str
    policies: Dict[str, str]
    connection: StoreConnection = field(repr=False)

    def fact(self, name: str) -> Optional[str]:
        """A text the merchant filled in (``shipping``, ``returns``, ``cancellation``, ``hours``,
        ``contact``, ``payment``...), or None: the bot never makes up a store's terms."""
        text = self.policies.get(name)
        return text.strip() if isinstance(text, str) and text.strip() else None


def _store_id_from(tracker: Tracker) -> Optional[int]:
    value = message_metadata(tracker).get("store_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _connection(store: StoreIntegration, credentials: Dict[str, str]) -> StoreConnection:
    config = store.config or {}
    base_url = store.store_url or (f"https://{store.shop_domain}" if store.shop_domain else "")
    return StoreConnection(
        store_id=store.id,
        platform=store.platform,
        base_url=base_url,
        shop_domain=store.shop_domain,
        credentials=credentials,
        api_version=config.get("api_version"),
        options=dict(config.get("options") or {}),
    )


def _load(runtime: Runtime, store_id: int, locale: str) -> Optional[StoreContext]:
    with runtime.sessions() as session:
        store = store_by_id(session, store_id)
        if store is None or store.status not in ("active", "error"):
            return None
        try:
            credentials = get_credentials(store, runtime.ring)
        except DecryptionError:
            logger.error("credentials of store %s cannot be decrypted with the current key ring", store.id)
            credentials = {}
        widget = store.widget
        policies = dict(widget.policies or {}) if widget else {}
        return StoreContext(
            store_id=store.id,
            merchant_id=store.user_id,
            widget_id=store.widget_id,
            platform=store.platform,
            display_name=store.display_name or "",
            locale=locale,
            policies=policies,
            connection=_connection(store, credentials),
        )


async def resolve_store(runtime: Runtime, tracker: Tracker) -> Optional[StoreContext]:
    """The store of this conversation, or None when the metadata names no active store."""
    store_id = _store_id_from(tracker)
    if store_id is None:
        return None
    locale = message_metadata(tracker).get("locale")
    locale = locale if isinstance(locale, str) and locale.isalpha() and len(locale) <= 5 else "en"
    return await asyncio.get_running_loop().run_in_executor(None, _load, runtime, store_id, locale.lower())


def open_platform(runtime: Runtime, store: StoreContext) -> Platform:
    """A platform client for ``store`` (raises UnknownPlatform when its plugin is not installed)."""
    platform_class = get_platform(store.platform)
    return platform_class(store.connection, runtime.http)


def _mark(runtime: Runtime, store_id: int, error: Optional[StoreError]) -> None:
    now = datetime.now(timezone.utc)
    values: Dict[str, Any] = {"last_checked_at": now}
    if error is None:
        values["last_success_at"] = now
    else:
        values.update(error_values(error, now))
    with runtime.sessions.begin() as session:
        session.execute(update(StoreIntegration).where(StoreIntegration.id == store_id).values(**values))


async def mark_store_health(runtime: Runtime, store_id: int, error: Optional[StoreError]) -> None:
    """Record a successful store call (``error`` None) or why it failed (code and detail)."""
    await asyncio.get_running_loop().run_in_executor(None, _mark, runtime, store_id, error)


__all__ = ["StoreContext", "resolve_store", "open_platform", "mark_store_health", "UnknownPlatform"]
