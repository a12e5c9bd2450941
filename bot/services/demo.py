"""Demo mode (contract C4): one demo merchant and a store per installed emulator that defines a demo store."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.crypto import KeyRing
from bot.core.db.models import Merchant, StoreIntegration, WidgetConfig
from bot.core.settings import Settings
from bot.services.credentials import set_credentials

logger = logging.getLogger(__name__)

DEMO_MERCHANT_EMAIL = "demo@trulybot.invalid"
DEMO_POLICIES = {
    "shipping": "Orders ship within 1-2 business days. Standard delivery takes 3-5 business days; express takes 1-2.",
    "returns": "You can return unused items within 30 days of delivery for a full refund. Refunds reach your card 5-10 days after we receive the parcel.",
    "cancellation": "Orders can be cancelled until they ship. Once shipped, you can return them instead.",
}


DEMO_QUICK_REPLIES = [
    {"title": "Track my order", "payload": "/track_order"},
    {"title": "Delivery times", "payload": "/delivery_info"},
    {"title": "Returns and refunds", "payload": "/return_refund"},
    {"title": "Talk to a person", "payload": "/human_handoff"},
]


@dataclass(frozen=True)
class DemoStore:
    """What demo mode needs to know about one demo store."""

    widget_id: str
    platform: str
    display_name: str
    store_url: str
    shop_domain: Optional[str]
    credentials: Dict[str, str]


def demo_emulators() -> List[Any]:
    """Emulator specs of the installed platforms that define a demo store (contract C4)."""
    from plugins.manager import get_emulators

    return [spec for spec in get_emulators().values() if spec.demo_widget_id]


def demo_stores(settings: Settings) -> List[DemoStore]:
    """The demo stores, pointing at the emulators on this deployment's ports."""
    stores = []
    for spec in demo_emulators():
        connection = spec.demo_connection(settings.emulator_url(spec.name, spec.default_port), spec.demo_widget_id)
        stores.append(
            DemoStore(
                widget_id=spec.demo_widget_id,
                platform=spec.name,
                display_name=spec.demo_display_name or f"Demo {spec.name} store",
                store_url=connection.base_url,
                shop_domain=connection.shop_domain,
                credentials=dict(connection.credentials),
            )
        )
    return stores


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def seed_demo(settings: Settings, sessions: "sessionmaker[Session]", ring: KeyRing) -> List[str]:
    """Create or update the demo merchant and stores; return their widget ids. Idempotent."""
    stores = demo_stores(settings)
    with sessions.begin() as session:
        merchant = session.execute(select(Merchant).where(Merchant.email == DEMO_MERCHANT_EMAIL)).scalar_one_or_none()
        if merchant is None:
            merchant = Merchant(name="Demo Merchant", email=DEMO_MERCHANT_EMAIL)
            session.add(merchant)
            session.flush()
        for spec in stores:
            _upsert_store(session, merchant, spec, settings, ring)
    return [s.widget_id for s in stores]


def _upsert_store(session: Session, merchant: Merchant, spec: DemoStore, settings: Settings, ring: KeyRing) -> None:
    store = session.execute(
        select(StoreIntegration).where(StoreIntegration.widget_id == spec.widget_id)
    ).scalar_one_or_none()
    if store is None:
        store = StoreIntegration(widget_id=spec.widget_id, user_id=merchant.id, platform=spec.platform, config={})
        session.add(store)
    store.platform = spec.platform
    store.display_name = spec.display_name
    store.store_url = spec.store_url
    store.shop_domain = spec.shop_domain
    store.status = "active"
    store.config = {**(store.config or {}), "demo": True}
    set_credentials(store, ring, dict(spec.credentials))
    session.flush()
    if store.widget is None:
        store.widget = WidgetConfig(title="Order help", policies=dict(DEMO_POLICIES), quick_replies=list(DEMO_QUICK_REPLIES))
    demo_origin = origin_of(settings.public_url)
    origins = list(store.widget.allowed_origins or [])
    if demo_origin not in origins:
        store.widget.allowed_origins = origins + [demo_origin]
