"""Order tracking end to end: widget socket → bot service → Rasa → action server → store emulators.

Every test acts as its own shopper (a distinct address through X-Forwarded-For, trusted from
loopback in the demo stack) and resets the emulators' fault knobs it touched.
"""
from __future__ import annotations

import itertools
import json
import time
import urllib.request
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List

import aiohttp
import pytest

from tests.gateway.helpers import WidgetSocket

pytestmark = pytest.mark.slow
_addresses = itertools.count(10)


@asynccontextmanager
async def shopper(stack, widget_id: str) -> AsyncIterator[WidgetSocket]:
    """A widget socket on ``widget_id`` from a fresh shopper address."""
    address = f"203.0.113.{next(_addresses)}"
    async with aiohttp.ClientSession() as http:
        sock = await WidgetSocket.connect(http, origin=stack.base_url, url=stack.ws_url,
                                          headers={"X-Forwarded-For": address})
        welcome = await sock.hello(widget_id)
        assert welcome["type"] == "welcome", welcome
        try:
            yield sock
        finally:
            await sock.ws.close()


async def turn(sock: WidgetSocket, text: str, payload: str = None) -> List[Dict[str, Any]]:
    frame = await sock.ask(text, payload)
    assert frame["type"] == "bot", frame
    return frame["messages"]


def text_of(messages: List[Dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


def card_of(messages: List[Dict[str, Any]]) -> Dict[str, Any]:
    cards = [m["custom"]["order"] for m in messages if (m.get("custom") or {}).get("type") == "order"]
    assert len(cards) == 1, messages
    return cards[0]


def set_faults(stack, platform: str, **knobs: Any) -> None:
    port = stack.env[f"TRULYBOT_{platform.upper()}_EMULATOR_PORT"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/__emulator/faults", data=json.dumps(knobs).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200


@pytest.fixture()
def faults(demo_stack):
    touched = []

    def apply(platform: str, **knobs: Any) -> None:
        touched.append(platform)
        set_faults(demo_stack, platform, **knobs)

    yield apply
    for platform in touched:
        set_faults(demo_stack, platform, latency_ms=0, error_rate=0, burst_count=0, malformed_count=0, drop_count=0)


async def test_woocommerce_partial_shipment_with_two_parcels(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        asked = await turn(sock, "hi, where's my stuff? ordered last week")
        assert "order number" in text_of(asked)
        asked = await turn(sock, "#1002")
        assert "email" in text_of(asked)
        messages = await turn(sock, "Jane.Doe@Example.com")
        card = card_of(messages)
        assert card["number"] == "1002" and card["status"] == "partially_shipped"
        assert len(card["shipments"]) == 2
        assert all(s["tracking_url"].startswith("https://") for s in card["shipments"])
        assert "Parcel 2" in text_of(messages)
        assert "jane" not in json.dumps(messages).lower()
        # Follow-up about the same order: no second verification.
        again = await turn(sock, "has it shipped yet?")
        assert card_of(again)["number"] == "1002"


async def test_shopify_lookup_in_one_message(demo_stack):
    async with shopper(demo_stack, "demo-shopify") as sock:
        messages = await turn(sock, "where is order #1003? email noah.wilson@example.com")
        card = card_of(messages)
        assert card["number"] == "1003" and card["status"] in ("shipped", "delivered")
        assert card["shipments"] and card["shipments"][0]["tracking_number"]


async def test_bigcommerce_order_card_with_tracking(demo_stack):
    """The demo store of the installed BigCommerce package answers through the same widget."""
    pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
    async with shopper(demo_stack, "demo-bigcommerce") as sock:
        messages = await turn(sock, "where is my order #121? my email is ava.martin@example.com")
        card = card_of(messages)
        assert card["platform"] == "bigcommerce" and card["number"] == "121" and card["status"] == "partially_shipped"
        [parcel] = card["shipments"]
        assert parcel["carrier"] == "UPS" and parcel["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
        assert [i["name"] for i in card["items"]] == ["Wool Picnic Blanket", "Folding Pocket Knife"]
        assert "ava" not in json.dumps(messages).lower()
    async with shopper(demo_stack, "demo-bigcommerce") as sock:
        wrong = text_of(await turn(sock, "track order 121 ben.taylor@example.com"))
    assert wrong.startswith("I couldn't find an order with that number and email")


@pytest.mark.parametrize("widget, number, email, opening", [
    ("demo-woocommerce", "1005", "jane.doe@example.com", "was cancelled"),
    ("demo-woocommerce", "1006", "alex.kim@example.com", "has been refunded"),
    ("demo-shopify", "1006", "emma.brown@example.com", "has been refunded"),
])
async def test_cancelled_and_refunded_orders(demo_stack, widget, number, email, opening):
    async with shopper(demo_stack, widget) as sock:
        messages = await turn(sock, f"status of order {number} {email}")
        assert opening in text_of(messages)
        assert card_of(messages)["number"] == number


async def test_wrong_email_and_unknown_order_get_the_same_reply(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        wrong = text_of(await turn(sock, "track 1001 wrong.person@example.com"))
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        unknown = text_of(await turn(sock, "track 424242 jane.doe@example.com"))
    assert wrong == unknown
    assert wrong.startswith("I couldn't find an order with that number and email")


async def test_lockout_after_five_failures(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        for attempt in range(5):
            reply = text_of(await turn(sock, f"order 1001 guess{attempt}@example.com"))
        assert reply.startswith("For your security")
        reply = await turn(sock, "order 1001 jane.doe@example.com")
        assert "For your security" in text_of(reply)
        assert not any(m.get("custom") for m in reply)


async def test_several_orders_for_one_email_offer_buttons(demo_stack):
    async with shopper(demo_stack, "demo-shopify") as sock:
        messages = await turn(sock, "i don't have the number, my email is olivia.chen@example.com and zip 10118")
        buttons = [b for m in messages for b in m.get("buttons", [])]
        assert len(buttons) >= 2, messages
        chosen = buttons[0]
        picked = await turn(sock, chosen["title"], chosen["payload"])
        assert card_of(picked)["number"] in chosen["payload"]


async def test_other_stores_orders_are_unreachable(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        messages = await turn(sock, "where is order 1003 noah.wilson@example.com")  # a Shopify demo order
    assert text_of(messages).startswith("I couldn't find an order")
    assert not any(m.get("custom") for m in messages)


@pytest.mark.parametrize("knobs", [
    {"error_rate": 1.0, "error_status": 503},
    {"burst_count": 50, "burst_status": 429, "retry_after": 1},
    {"malformed_count": 50},
    {"latency_ms": 8000},
], ids=["down", "429", "malformed", "slow"])
async def test_store_trouble_gets_an_apology_within_the_budget(demo_stack, faults, knobs):
    faults("woocommerce", **knobs)
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        started = time.monotonic()
        messages = await turn(sock, "track order 1004 sam.lee@example.com")
        elapsed = time.monotonic() - started
    assert text_of(messages).startswith("Sorry, I can't reach")
    assert any(b["payload"] == "/human_handoff" for m in messages for b in m.get("buttons", []))
    assert elapsed < 6.0, elapsed
