"""Connected stores: looking them up (by widget id, by id, as their merchant) and what is shown of them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import appkeys
from bot.core.db.models import StoreIntegration, WidgetConfig
from bot.services.credentials import has_credentials
from bot.services.errors import NotFound


def store_by_widget_id(session: Session, widget_id: str) -> Optional[StoreIntegration]:
    """The store whose widget id is ``widget_id`` (with its widget config loaded), or None."""
    if not isinstance(widget_id, str) or not 0 < len(widget_id) <= 64:
        return None
    return session.execute(
        select(StoreIntegration).options(selectinload(StoreIntegration.widget)).where(StoreIntegration.widget_id == widget_id)
    ).scalar_one_or_none()


def store_by_id(session: Session, store_id: int) -> Optional[StoreIntegration]:
    """The store with primary key ``store_id`` (with its widget config loaded), or None."""
    return session.execute(
        select(StoreIntegration).options(selectinload(StoreIntegration.widget)).where(StoreIntegration.id == store_id)
    ).scalar_one_or_none()


def iso(value: Optional[datetime]) -> Optional[str]:
    """ISO 8601 with an offset (SQLite hands back naive datetimes; every stored time is UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def owned_store(session: Session, merchant_id: int, store_id: int, platform: Optional[str] = None) -> StoreIntegration:
    """The store ``store_id`` if it belongs to ``merchant_id`` (and is on ``platform``); 404 otherwise.

    Another merchant's store gets exactly the same 404 as a store that does not exist.
    """
    store = session.execute(
        select(StoreIntegration).options(selectinload(StoreIntegration.widget)).where(StoreIntegration.id == store_id)
    ).scalar_one_or_none()
    if store is None or store.user_id != merchant_id or (platform is not None and store.platform != platform):
        raise NotFound("store")
    return store


def default_widget(origins: Optional[list] = None) -> WidgetConfig:
    return WidgetConfig(allowed_origins=list(origins or []), quick_replies=[], policies={})


def _needs_credentials(platform: str) -> bool:
    """False only for an installed platform that reads no credentials (e.g. a local file)."""
    from plugins.manager import get_platforms

    cls = get_platforms().get(platform)
    return cls is None or bool(cls.credential_fields or any(
        f.role.value == "credential" for f in cls.connection_schema.fields))


def store_dict(store: StoreIntegration) -> Dict[str, Any]:
    """What the API shows of a store: never a credential, never the webhook secret."""
    config = store.config or {}
    health = config.get("health") if isinstance(config.get("health"), dict) else {}
    webhooks = config.get("webhooks") if isinstance(config.get("webhooks"), dict) else {}
    stored_credentials = has_credentials(store)
    if store.status == "pending":
        credentials_valid = None
    elif not stored_credentials and _needs_credentials(store.platform):
        credentials_valid = False
    elif health.get("credentials_valid") is False:
        credentials_valid = False
    elif store.last_success_at is not None:
        credentials_valid = True
    else:
        credentials_valid = health.get("credentials_valid")
    return {
        "id": store.id,
        "widget_id": store.widget_id,
        "platform": store.platform,
        "display_name": store.display_name,
        "store_url": store.store_url,
        "shop_domain": store.shop_domain,
        "status": store.status,
        "created_at": iso(store.created_at),
        "updated_at": iso(store.updated_at),
        "health": {
            "credentials_valid": credentials_valid,
            "last_success_at": iso(store.last_success_at),
            "last_error": store.last_error,
            "last_error_code": store.last_error_code,
            "last_error_at": iso(store.last_error_at),
            "last_checked_at": iso(store.last_checked_at),
            "consecutive_failures": int(health.get("failures") or 0),
            "next_check_at": health.get("next_check_at"),
        },
        "webhooks": {
            "topics": list(webhooks.get("topics") or []),
            "error": webhooks.get("error"),
        },
    }


def invalidate_widget_cache(app: Any) -> None:
    """Make this process's gateway re-read widget settings now (other replicas: within its cache TTL)."""
    gateway = app.get(appkeys.GATEWAY)
    if gateway is not None:
        gateway.forget_store_settings()
