"""action_lookup_order: verified lookups, identical failures, lockout, store failures — exact events
and messages, in the style of Rasa's financial-demo action tests."""
from __future__ import annotations

import time

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.order_actions import ActionLookupOrder
from bot.core.db import StoreIntegration, UserActivity
from tests.actions.conftest import faults, make_tracker

CLEARED = [SlotSet("email", None), SlotSet("postcode", None)]


async def run_lookup(store, **slots):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(store, slots=slots, sender=slots.pop("sender", "conv-1"), client=slots.pop("client", "client-1"))
    events = await ActionLookupOrder().run(dispatcher, tracker, {})
    return dispatcher.messages, events


def activities(runtime, kind=None):
    with runtime.sessions() as session:
        query = select(UserActivity).order_by(UserActivity.id)
        rows = session.execute(query).scalars().all()
    return [r for r in rows if kind is None or r.activity_type == kind]


async def test_verified_lookup_shows_card_and_clears_personal_data(stores, runtime):
    messages, events = await run_lookup(stores["A"], order_number="1001", email="Jane.Doe@Example.com")
    assert events == CLEARED + [SlotSet("verified_order", "1001"), SlotSet("order_number", "1001")]
    assert len(messages) == 1
    message = messages[0]
    assert message["text"] == ("Your order #1001 is being prepared and hasn't shipped yet. "
                               "You'll get tracking details as soon as it does.")
    card = message["custom"]
    assert card["type"] == "order"
    order = card["order"]
    assert order["number"] == "1001" and order["status"] == "processing"
    assert "email" not in order and "billing_postcode" not in order
    assert "jane" not in str(card).lower()
    entry = activities(runtime, "order_lookup")[-1]
    assert entry.details["outcome"] == "shown" and entry.details["order_number"] == "1001"
    assert "jane" not in str(entry.details).lower()


async def test_postcode_verifies_too(stores):
    messages, events = await run_lookup(stores["A"], order_number="1003", postcode="sw1a 1aa")
    assert SlotSet("verified_order", "1003") in events
    assert messages[0]["text"].startswith("Your order #1003 shipped on")
    assert "Royal Mail" in messages[0]["text"]


async def test_wrong_email_and_unknown_order_get_the_same_answer(stores, runtime):
    wrong, wrong_events = await run_lookup(stores["A"], order_number="1001", email="someone@else.com", sender="c-a")
    unknown, unknown_events = await run_lookup(stores["A"], order_number="999999", email="jane.doe@example.com", sender="c-b")
    assert [m["text"] for m in wrong] == [m["text"] for m in unknown]
    assert wrong[0]["text"] == "I couldn't find an order with that number and email. Please check both and try again."
    assert wrong_events == unknown_events == CLEARED + [SlotSet("order_number", None)]
    assert not any(m.get("custom") for m in wrong + unknown)
    outcomes = [a.details["outcome"] for a in activities(runtime, "order_lookup")]
    assert outcomes == ["mismatch", "not_found"]


async def test_lockout_after_five_failures_per_conversation(stores, runtime):
    texts = []
    for attempt in range(5):
        messages, _ = await run_lookup(stores["A"], order_number="1001", email=f"guess{attempt}@x.com", client=f"c{attempt}")
        texts.append(messages[0]["text"])
    assert "(2 attempts left)" in texts[2] and "(1 attempt left)" in texts[3]
    assert texts[4].startswith("For your security I've stopped looking up orders")
    # Even the right email is refused now, and the store is not asked.
    messages, events = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", client="fresh")
    assert messages[0]["text"].startswith("For your security")
    assert messages[1]["buttons"][0]["payload"] == "/human_handoff"
    assert SlotSet("verified_order", "1001") not in events
    assert activities(runtime, "lookup_lockout")


async def test_lockout_follows_the_client_across_conversations(stores):
    for attempt in range(5):
        await run_lookup(stores["A"], order_number="1001", email=f"g{attempt}@x.com", sender=f"conv-{attempt}", client="same")
    messages, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", sender="new", client="same")
    assert messages[0]["text"].startswith("For your security")
    # Another store's counters are separate.
    other, _ = await run_lookup(stores["B"], order_number="7001", email="bob@other.example", sender="new", client="same")
    assert other[0]["custom"]["order"]["number"] == "7001"


async def test_partial_shipment_lists_both_parcels(stores):
    messages, _ = await run_lookup(stores["A"], order_number="1002", email="jane.doe@example.com")
    text = messages[0]["text"]
    assert text.startswith("Part of your order #1002 is on its way")
    assert "Parcel 1 with UPS, tracking 1Z999AA10123456784." in text
    assert "Parcel 2 with USPS" in text
    shipments = messages[0]["custom"]["order"]["shipments"]
    assert len(shipments) == 2 and all(s["tracking_url"] for s in shipments)


@pytest.mark.parametrize(
    "number, email, opening",
    [
        ("1005", "jane.doe@example.com", "Your order #1005 was cancelled"),
        ("1006", "alex.kim@example.com", "Your order #1006 has been refunded"),
        ("1007", "alex.kim@example.com", "Your order #1007 is on hold"),
        ("1008", "chris.park@example.com", "Your order #1008 is waiting for payment confirmation"),
        ("1009", "chris.park@example.com", "The payment for order #1009 didn't go through"),
        ("1004", "sam.lee@example.com", "Your order #1004 was delivered"),
        ("WC-5521", "maria.garcia@example.com", "Your order #WC-5521 shipped"),
        ("00123842", "maria.garcia@example.com", "Your order #00123842 is being prepared"),
    ],
)
async def test_each_status_has_its_sentence(stores, number, email, opening):
    messages, _ = await run_lookup(stores["A"], order_number=number, email=email)
    assert messages[0]["text"].startswith(opening), messages[0]["text"]


async def test_follow_up_needs_no_second_verification(stores):
    messages, events = await run_lookup(stores["A"], order_number="1001", verified_order="1001")
    assert messages[0]["custom"]["order"]["number"] == "1001"
    assert SlotSet("verified_order", "1001") in events


async def test_verification_of_one_order_does_not_unlock_another(stores):
    messages, _ = await run_lookup(stores["A"], order_number="1003", verified_order="1001")
    assert not messages[0].get("custom")
    assert messages[0]["text"].startswith("I couldn't find an order")


async def test_several_orders_for_one_email_are_listed_with_buttons(stores):
    messages, events = await run_lookup(stores["A"], email="jane.doe@example.com", postcode="94103")
    assert events == []  # email and postcode kept for the pick
    message = messages[0]
    assert message["text"].startswith("I found 3 recent orders")
    payloads = sorted(b["payload"] for b in message["buttons"])
    assert payloads == ['/inform{"order_number":"1001"}', '/inform{"order_number":"1002"}', '/inform{"order_number":"1005"}']


async def test_listing_needs_the_postcode_to_match(stores):
    messages, _ = await run_lookup(stores["A"], email="jane.doe@example.com", postcode="00000")
    assert messages[0]["text"].startswith("I couldn't find recent orders")
    assert "buttons" not in messages[0] or not messages[0]["buttons"]


async def test_other_stores_orders_are_unreachable(stores):
    messages, _ = await run_lookup(stores["A"], order_number="7001", email="bob@other.example")
    assert messages[0]["text"].startswith("I couldn't find an order")


@pytest.mark.parametrize(
    "knobs",
    [
        {"error_rate": 1.0, "error_status": 503},
        {"burst_count": 10, "burst_status": 429, "retry_after": 1},
        {"malformed_count": 10},
        {"drop_count": 10},
    ],
    ids=["down", "rate-limited", "malformed", "dropped"],
)
async def test_store_failures_get_an_apology_and_turn_health_red(stores, runtime, knobs):
    faults(stores["A"]).update(knobs)
    started = time.monotonic()
    messages, events = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    assert time.monotonic() - started < 5.0
    assert messages[0]["text"].startswith("Sorry, I can't reach Shop A's order system right now")
    assert messages[1]["buttons"][0]["payload"] == "/human_handoff"
    assert CLEARED[0] in events
    with runtime.sessions() as session:
        store = session.get(StoreIntegration, stores["A"].id)
        assert store.last_error and store.last_error_at
    assert activities(runtime, "store_error")


async def test_slow_store_is_answered_within_the_budget(stores, runtime):
    faults(stores["A"]).update({"latency_ms": 8000})
    started = time.monotonic()
    messages, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    assert time.monotonic() - started < 5.0
    assert messages[0]["text"].startswith("Sorry, I can't reach")
    assert activities(runtime, "store_error")[-1].details["reason"] == "timeout"


async def test_rejected_credentials_are_reported_in_plain_words(stores, runtime):
    with runtime.sessions.begin() as session:
        store = session.get(StoreIntegration, stores["A"].id)
        from bot.services.credentials import set_credentials

        set_credentials(store, runtime.ring, {"consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"})
    messages, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    assert messages[0]["text"].startswith("Sorry, I can't reach")
    with runtime.sessions() as session:
        assert session.get(StoreIntegration, stores["A"].id).last_error == "WooCommerce rejected the API credentials — reconnect the store"


async def test_missing_store_metadata_is_answered(stores):
    dispatcher = CollectingDispatcher()
    events = await ActionLookupOrder().run(dispatcher, make_tracker(None, slots={"order_number": "1001", "email": "a@b.co"}), {})
    assert dispatcher.messages[0]["text"].startswith("Sorry, I can't look anything up")
    assert events == CLEARED


async def test_lookups_are_counted_for_prometheus(stores):
    from actions.metrics import LOOKUPS, STORE_ERRORS

    def value(counter, *labels):
        return counter.labels(*labels)._value.get()

    shown, errors = value(LOOKUPS, "woocommerce", "shown"), value(STORE_ERRORS, "woocommerce", "store_unreachable")
    await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    faults(stores["A"]).update({"error_rate": 1.0, "error_status": 503})
    await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", sender="c-2")
    assert value(LOOKUPS, "woocommerce", "shown") == shown + 1
    assert value(STORE_ERRORS, "woocommerce", "store_unreachable") == errors + 1
