"""Fixtures for action tests: a migrated database with two stores backed by in-process emulators,
the action runtime pointing at them, and trackers built the way Rasa sends them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.attempts import DatabaseAttemptCounter
from actions.runtime import Runtime, set_runtime
from bot.core.crypto import KeyRing
from bot.core.db import Merchant, StoreIntegration, WidgetConfig, make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from bot.core.settings import load_settings
from bot.services.credentials import set_credentials
from plugins.emulation.faults import FAULTS_KEY
from plugins.http import StoreHttpClient
from plugins.netguard import AddressPolicy
from plugins.shopify import emulator as shopify_emulator
from plugins.woocommerce import emulator as woo_emulator

SHOP_B_ORDER = {
    "id": 7001, "number": "7001", "status": "completed", "currency": "USD", "total": "10.00",
    "date_created": "2026-11-01T10:00:00", "date_modified": "2026-11-02T10:00:00",
    "billing": {"email": "bob@other.example", "postcode": "10001"}, "shipping": {}, "line_items": [], "meta_data": [],
}

#: a look-alike number in the same store: verifying 7001 must never unlock it
SHOP_B_TWIN = dict(SHOP_B_ORDER, id=7002, number="EU7001", billing={"email": "eve@other.example", "postcode": "99999"})


@dataclass
class StoreFixture:
    id: int
    widget_id: str
    emulator: Any  # aiohttp TestServer


@pytest.fixture()
async def stores(aiohttp_server, tmp_path) -> Dict[str, StoreFixture]:
    """Two WooCommerce stores (A: the demo seed, B: order 7001 and its look-alike EU7001) and a Shopify store that hides
    customer emails (S: the demo seed, app without read_all_orders) in a fresh database."""
    server_a = await aiohttp_server(woo_emulator.create_app())
    server_b = await aiohttp_server(woo_emulator.create_app([SHOP_B_ORDER, SHOP_B_TWIN]))
    server_s = await aiohttp_server(shopify_emulator.create_app(redact_email="null", read_all_orders=False))
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    ring = KeyRing.generate()
    out = {}
    with sessions.begin() as session:
        merchant = Merchant(name="Test Merchant")
        session.add(merchant)
        session.flush()
        for name, server in (("A", server_a), ("B", server_b)):
            store = StoreIntegration(user_id=merchant.id, platform="woocommerce", widget_id=f"store-{name.lower()}",
                                     display_name=f"Shop {name}", store_url=str(server.make_url("")).rstrip("/"), config={})
            session.add(store)
            set_credentials(store, ring, {"consumer_key": woo_emulator.DEMO_CONSUMER_KEY,
                                          "consumer_secret": woo_emulator.DEMO_CONSUMER_SECRET})
            store.widget = WidgetConfig(policies={"cancellation": f"Shop {name} cancels until shipping."})
            session.add(store)
            session.flush()
            out[name] = StoreFixture(store.id, store.widget_id, server)
        store = StoreIntegration(user_id=merchant.id, platform="shopify", widget_id="store-s", display_name="Shop S",
                                 store_url=str(server_s.make_url("")).rstrip("/"), shop_domain=shopify_emulator.DEMO_SHOP_DOMAIN,
                                 config={})
        session.add(store)
        set_credentials(store, ring, {"access_token": shopify_emulator.DEMO_ACCESS_TOKEN})
        store.widget = WidgetConfig(policies={})
        session.add(store)
        session.flush()
        out["S"] = StoreFixture(store.id, store.widget_id, server_s)
    settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_DATABASE_URL": url})
    http = StoreHttpClient(max_retries=1, backoff_base=0.01, backoff_max=0.05, policy=AddressPolicy.for_tests())
    runtime = Runtime(settings=settings, sessions=sessions, ring=ring, http=http,
                      attempts=DatabaseAttemptCounter(sessions))
    set_runtime(runtime)
    yield out
    set_runtime(None)
    await http.close()


@pytest.fixture()
def runtime(stores) -> Runtime:
    from actions.runtime import get_runtime

    return get_runtime()


def faults(store: StoreFixture):
    """The fault knobs of a store's emulator."""
    return store.emulator.app[FAULTS_KEY]


def make_tracker(
    store: Optional[StoreFixture],
    text: str = "",
    intent: str = "inform",
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    sender: str = "conv-1",
    client: str = "client-hash-1",
    events: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
    ranking: Optional[List[Tuple[str, float]]] = None,
) -> Tracker:
    """A tracker as the action server receives it, with the bot service's metadata (``ranking``: the
    classifier's intent ranking, as the FallbackClassifier leaves it for an unsure message)."""
    metadata = {"store_id": store.id, "widget_id": store.widget_id, "store_name": "Shop", "locale": "en",
                "client": client} if store else {}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "entities": [dict(e) for e in (entities or [])], "metadata": metadata}
    if ranking is not None:
        latest["intent_ranking"] = [{"name": name, "confidence": c} for name, c in ranking]
    all_slots = {"order_number": None, "email": None, "postcode": None, "second_fact": None, "email_hidden": None,
                 "verified_order": None, "requested_slot": None, "order_number_unknown": None, "pending_request": None}
    all_slots.update(slots or {})
    return Tracker(sender, all_slots, latest, events or [{"event": "user", "text": text, "parse_data": latest}],
                   False, None, {"name": active_loop} if active_loop else {}, "action_listen")


def set_policies(runtime, store, **texts):
    """Merge ``texts`` into ``store``'s widget policies (the merchant's texts)."""
    with runtime.sessions.begin() as session:
        widget = session.execute(select(WidgetConfig).where(WidgetConfig.store_id == store.id)).scalar_one()
        widget.policies = {**(widget.policies or {}), **texts}
