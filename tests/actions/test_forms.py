"""validate_order_lookup_form: extraction from any message, corrections, postcode answers,
what is asked next, and hostile slot values."""
from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateOrderLookupForm
from tests.actions.conftest import make_tracker

DOMAIN = {"forms": {"order_lookup_form": {"required_slots": ["order_number", "email"]}},
          "slots": {s: {"mappings": [{"type": "custom"}]} for s in ("order_number", "email", "postcode", "verified_order")}}


def ent(name, value):
    return {"entity": name, "value": value}


async def run_form(stores, text, entities=(), slots=None, requested=None):
    slots = dict(slots or {})
    slots["requested_slot"] = requested
    tracker = make_tracker(stores["A"], text=text, entities=list(entities), slots=slots, active_loop="order_lookup_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderLookupForm().run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, [m["text"] for m in dispatcher.messages]


async def test_everything_in_the_first_message_completes_the_form(stores):
    slots, said = await run_form(stores, "where is #1001, Jane.Doe@Example.com",
                                 [ent("order_number", "1001"), ent("email", "Jane.Doe@Example.com")])
    assert slots["order_number"] == "1001" and slots["email"] == "jane.doe@example.com"
    assert slots["requested_slot"] is None
    assert said == []


async def test_number_only_asks_for_the_email(stores):
    slots, _ = await run_form(stores, "track 1001", [ent("order_number", "1001")])
    assert slots["order_number"] == "1001" and slots["requested_slot"] == "email"


async def test_correction_while_email_is_asked(stores):
    slots, _ = await run_form(stores, "sorry, it's 1002", [ent("order_number", "1002")],
                              slots={"order_number": "1001"}, requested="email")
    assert slots["order_number"] == "1002" and slots["requested_slot"] == "email"


async def test_bare_number_answering_the_email_question_is_a_postcode(stores):
    slots, _ = await run_form(stores, "94103", [ent("order_number", "94103")], slots={"order_number": "1001"}, requested="email")
    assert slots["postcode"] == "94103"
    assert "order_number" not in slots or slots["order_number"] == "1001"
    assert slots["requested_slot"] == "email"  # a postcode never stands in for a visible email


@pytest.mark.parametrize("text, asked", [("the zip on the order is 94105", "email"), ("94105", "postcode")])
async def test_numbers_given_as_postcodes(stores, text, asked):
    slots, _ = await run_form(stores, text, [ent("order_number", "94105")], slots={"order_number": "1001"}, requested=asked)
    assert slots["postcode"] == "94105" and "order_number" not in slots


async def test_postcode_entity_is_kept_but_the_email_is_still_asked(stores):
    slots, _ = await run_form(stores, "postcode SW1A 1AA", [ent("postcode", "SW1A 1AA")], slots={"order_number": "1003"}, requested="email")
    assert slots["postcode"] == "SW1A1AA" and slots["requested_slot"] == "email"


async def test_store_hiding_emails_asks_postcode_then_a_second_fact(stores):
    hidden = {"order_number": "1003", "email_hidden": True}
    slots, _ = await run_form(stores, "10118", [ent("order_number", "10118")], slots=hidden)
    assert slots["postcode"] == "10118" and slots["requested_slot"] == "second_fact"
    slots, _ = await run_form(stores, "Chen", [], slots={**hidden, "postcode": "10118"}, requested="second_fact")
    assert slots["second_fact"] == "Chen" and slots["requested_slot"] is None
    slots, _ = await run_form(stores, "(555) 0100", [ent("order_number", "5550100")], slots={**hidden, "postcode": "10118"},
                              requested="second_fact")
    assert slots["second_fact"] == "5550100" and slots.get("order_number", "1003") == "1003"


async def test_already_verified_order_needs_nothing_more(stores):
    slots, _ = await run_form(stores, "has it shipped", slots={"order_number": "1001", "verified_order": "1001"})
    assert slots.get("requested_slot") is None


async def test_email_and_postcode_without_number_lists_orders(stores):
    slots, _ = await run_form(stores, "jane.doe@example.com 94103", [ent("email", "jane.doe@example.com"), ent("postcode", "94103")])
    assert slots["requested_slot"] is None


@pytest.mark.parametrize(
    "typed, expected",
    [
        (" # 1001 ", "1001"),
        ("00123842", "00123842"),
        ("wc-5521", "wc-5521"),
        ("１００１", "1001"),  # full-width digits
        ("{{ 7*7 }}", None),
        ("'; DROP TABLE orders;--", None),
        ("9" * 10_000, None),
        ("", None),
    ],
)
async def test_hostile_or_odd_order_numbers(stores, typed, expected):
    slots, said = await run_form(stores, typed, [ent("order_number", typed)])
    assert slots["order_number"] == expected
    if expected is None:
        assert said and "doesn't look like an order number" in said[0]
        assert slots["requested_slot"] == "order_number"


@pytest.mark.parametrize(
    "typed, expected",
    [(" JANE.Doe@Example.COM ", "jane.doe@example.com"), ("jane doe@example.com", "janedoe@example.com"),
     ("not-an-email", None), ("a@b", None), ("x" * 10_000 + "@example.com", None)],
)
async def test_emails_are_normalized_or_refused(stores, typed, expected):
    slots, said = await run_form(stores, typed, [ent("email", typed)], slots={"order_number": "1001"}, requested="email")
    assert slots["email"] == expected
    if expected is None:
        assert "doesn't look like an email" in said[0]
