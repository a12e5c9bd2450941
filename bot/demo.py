"""Demo mode (contract C4): one demo merchant and two stores backed by the store emulators."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.crypto import KeyRing
from bot.db.models import Merchant, StoreIntegration, WidgetConfig
from bot.settings import Settings
from bot.store_credentials import set_credentials

logger = logging.getLogger(__name__)

DEMO_MERCHANT_EMAIL = "demo@trulybot.invalid"
DEMO_POLICIES = {
    "shipping": "Orders ship within 1-2 business days. Standard delivery takes 3-5 business days; express takes 1-2.",
    "returns": "You can return unused items within 30 days of delivery for a full refund. Refunds reach your card 5-10 days after we receive the parcel.",
    "cancellation": "Orders can be cancelled until they ship. Once shipped, you can return them instead.",
}


@dataclass(frozen=True)
class DemoStore:
    """What demo mode needs to know about one demo store."""

    widget_id: str
    platform: str
    display_name: str
    store_url: str
    shop_domain: Optional[str]
    credentials: Dict[str, str]


def demo_stores(settings: Settings) -> List[DemoStore]:
    """The demo stores, pointing at the emulators on this deployment's ports."""
    from plugins.shopify import emulator as shopify_emulator
    from plugins.woocommerce import emulator as woo_emulator

    return [
        DemoStore(
            widget_id="demo-woocommerce",
            platform="woocommerce",
            display_name="Demo Outfitters (WooCommerce)",
            store_url=settings.emulator_url("woocommerce"),
            shop_domain=None,
            credentials={
                "consumer_key": woo_emulator.DEMO_CONSUMER_KEY,
                "consumer_secret": woo_emulator.DEMO_CONSUMER_SECRET,
            },
        ),
        DemoStore(
            widget_id="demo-shopify",
            platform="shopify",
            display_name="Demo Supply Co. (Shopify)",
            store_url=settings.emulator_url("shopify"),
            shop_domain=shopify_emulator.DEMO_SHOP_DOMAIN,
            credentials={"access_token": shopify_emulator.DEMO_ACCESS_TOKEN},
        ),
    ]


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
        store.widget = WidgetConfig(title="Order help", policies=dict(DEMO_POLICIES))
    demo_origin = origin_of(settings.public_url)
    origins = list(store.widget.allowed_origins or [])
    if demo_origin not in origins:
        store.widget.allowed_origins = origins + [demo_origin]
