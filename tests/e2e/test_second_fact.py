"""The second-fact question, end to end against the trained model: on a Shopify store that hides
customer emails (protected customer data: the orders come back with ``email: null``), the bot asks
for the order's email first, then, told by the store that emails are hidden, for the billing
postcode and then a second fact (billing last name or the last 4 digits of the phone number).
The postcode never verifies on its own, and on a store that shows emails it never stands in.

The demo Shopify emulator's orders are replaced for these tests (its ``PUT /__emulator/orders``)
and restored afterwards.
"""
from __future__ import annotations

import copy
import json
import urllib.request
from typing import Any, Dict, List

import pytest

from plugins.shopify import load_seed_orders
from tests.e2e.test_order_tracking import card_of, shopper, text_of, turn

pytestmark = pytest.mark.slow

POSTCODE_QUESTION = "What's the billing postcode?"
SECOND_FACT_QUESTION = "the last name on the billing address"


def _put_orders(stack, orders: List[Dict[str, Any]]) -> None:
    port = stack.env["TRULYBOT_SHOPIFY_EMULATOR_PORT"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/__emulator/orders", data=json.dumps(orders).encode(),
                                     headers={"Content-Type": "application/json"}, method="PUT")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200


def _hidden(orders: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The seed as a shop under protected-customer-data rules shows it: no email anywhere; order
    #1003 gets a billing phone number for the phone-digits path."""
    out = copy.deepcopy(orders)
    for order in out:
        order["email"] = None
        order["contact_email"] = None
        if isinstance(order.get("customer"), dict):
            order["customer"]["email"] = None
        if order.get("name") == "#1003" and isinstance(order.get("billing_address"), dict):
            order["billing_address"]["phone"] = "+1 613 555 0147"
    return out


@pytest.fixture()
def hidden_emails(demo_stack):
    seed = load_seed_orders()
    _put_orders(demo_stack, _hidden(seed))
    yield
    _put_orders(demo_stack, seed)


async def test_hidden_email_asks_for_the_postcode_then_the_last_name(demo_stack, hidden_emails):
    async with shopper(demo_stack, "demo-shopify") as sock:
        asked = text_of(await turn(sock, "where is my order 1002"))
        assert "email" in asked
        asked = text_of(await turn(sock, "olivia.chen@example.com"))
        assert "keeps customer emails private" in asked and POSTCODE_QUESTION in asked
        asked = await turn(sock, "10118")
        assert SECOND_FACT_QUESTION in text_of(asked) and not any(m.get("custom") for m in asked)
        messages = await turn(sock, "Chen")
        assert card_of(messages)["number"] == "1002"
        assert "chen" not in json.dumps(messages).lower()


async def test_hidden_email_accepts_the_phone_digits_as_second_fact(demo_stack, hidden_emails):
    async with shopper(demo_stack, "demo-shopify") as sock:
        assert "email" in text_of(await turn(sock, "where is order #1003"))
        assert POSTCODE_QUESTION in text_of(await turn(sock, "noah.wilson@example.com"))
        assert SECOND_FACT_QUESTION in text_of(await turn(sock, "K1M 1M4"))
        assert card_of(await turn(sock, "0147"))["number"] == "1003"


async def test_postcode_with_a_wrong_last_name_shows_nothing(demo_stack, hidden_emails):
    async with shopper(demo_stack, "demo-shopify") as sock:
        await turn(sock, "where is my order 1002")
        assert POSTCODE_QUESTION in text_of(await turn(sock, "olivia.chen@example.com"))
        assert SECOND_FACT_QUESTION in text_of(await turn(sock, "10118"))
        messages = await turn(sock, "Smith")
        assert not any(m.get("custom") for m in messages)
        assert "couldn't find an order" in text_of(messages)


async def test_a_visible_email_is_never_replaced_by_the_postcode(demo_stack):
    """On the demo shop as it is (emails visible) the bot never asks for a postcode and a second fact."""
    async with shopper(demo_stack, "demo-shopify") as sock:
        await turn(sock, "where is my order 1002")
        messages = await turn(sock, "10118")
        assert not any(m.get("custom") for m in messages)
        assert SECOND_FACT_QUESTION not in text_of(messages)


@pytest.mark.parametrize("last_name, number, email, postcode", [
    ("Lee", "1006", "emma.brown@example.com", "95014"),
    ("White", "1007", "emma.brown@example.com", "95014"),
    ("Doe", "1008", "liam.jones@example.com", "78701"),
])
async def test_a_last_name_that_reads_like_goodbye_answers_the_question(demo_stack, last_name, number, email, postcode):
    """Some surnames look like small talk to the intent model ("Lee", "White" and "Doe" came out as
    ``goodbye``); asked for the last name, the shopper's answer is the answer, not a goodbye.
    (One order per name: the attempt counter locks a number after a few mismatches.)"""
    seed = load_seed_orders()
    orders = _hidden(seed)
    for order in orders:
        if order.get("name") == f"#{number}":
            for part in ("billing_address", "customer"):
                if isinstance(order.get(part), dict):
                    order[part]["last_name"] = last_name
    _put_orders(demo_stack, orders)
    try:
        async with shopper(demo_stack, "demo-shopify") as sock:
            await turn(sock, f"where is my order {number}")
            assert POSTCODE_QUESTION in text_of(await turn(sock, email))
            assert SECOND_FACT_QUESTION in text_of(await turn(sock, postcode))
            messages = await turn(sock, last_name)
            assert card_of(messages)["number"] == number, messages
    finally:
        _put_orders(demo_stack, seed)
