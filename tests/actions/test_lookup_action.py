"""action_lookup_order: verified lookups, identical failures, lockout, store failures — exact events
and messages, in the style of Rasa's financial-demo action tests."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions.order_actions import ActionLookupOrder
from bot.core.db import StoreIntegration, UserActivity
from bot.core.db.models import LookupAttempt
from tests.actions.conftest import faults, make_tracker

CLEARED = [SlotSet("email", None), SlotSet("postcode", None), SlotSet("second_fact", None),
           SlotSet("order_number_unknown", None)]
MISMATCH_TEXT = ("I couldn't find an order with that number and email. Please check them and try again. "
                 "If it's an older order, the store's team can look it up for you.")


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


async def test_postcode_never_stands_in_for_a_visible_email(stores, runtime):
    for extra in ({}, {"second_fact": "Lee"}, {"second_fact": "0000"}):
        messages, events = await run_lookup(stores["A"], order_number="1003", postcode="sw1a 1aa", sender=f"c{extra}", **extra)
        assert SlotSet("verified_order", "1003") not in events
        assert not any(m.get("custom") for m in messages)
    assert {a.details["outcome"] for a in activities(runtime, "order_lookup")} == {"mismatch"}


async def test_hidden_email_asks_for_postcode_and_a_second_fact(stores, runtime):
    messages, events = await run_lookup(stores["S"], order_number="1003", email="noah.wilson@example.com")
    assert messages[0]["text"].startswith("Thanks! This store keeps customer emails private")
    assert SlotSet("email_hidden", True) in events and SlotSet("order_number", None) not in events
    assert not any(m.get("custom") for m in messages)
    # the postcode alone is not enough, a wrong surname neither
    for fact in (None, "Smith", "0000"):
        messages, events = await run_lookup(stores["S"], order_number="1003", postcode="K1M 1M4", second_fact=fact, sender=f"s-{fact}")
        assert not any(m.get("custom") for m in messages), fact
    messages, events = await run_lookup(stores["S"], order_number="1003", postcode="k1m1m4", second_fact="wilson")
    assert messages[0]["custom"]["order"]["number"] == "1003"
    assert SlotSet("verified_order", "1003") in events


async def test_hidden_email_prompt_is_the_same_for_an_unknown_number(stores, runtime):
    real, real_events = await run_lookup(stores["S"], order_number="1003", email="x@example.com", sender="r")
    unknown, unknown_events = await run_lookup(stores["S"], order_number="5555", email="x@example.com", sender="u")
    assert [m["text"] for m in real] == [m["text"] for m in unknown]
    assert real_events == unknown_events
    # and it is not free: each prompt counted an attempt
    for sender in ("r", "u"):
        for _ in range(4):
            last, _events = await run_lookup(stores["S"], order_number="5555", email="x@example.com", sender=sender, client=sender)
        assert last[0]["text"].startswith("For your security")


async def test_wrong_email_and_unknown_order_get_the_same_answer(stores, runtime):
    wrong, wrong_events = await run_lookup(stores["A"], order_number="1001", email="someone@else.com", sender="c-a")
    unknown, unknown_events = await run_lookup(stores["A"], order_number="999999", email="jane.doe@example.com", sender="c-b")
    assert [m["text"] for m in wrong] == [m["text"] for m in unknown]
    assert wrong[0]["text"] == MISMATCH_TEXT
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


def set_limits(runtime, **values):
    runtime.limits = dataclasses.replace(runtime.limits, **values)


def direct_gets(store):
    """Order lookups that reached store A's emulator (one direct GET per looked-up number)."""
    return sum(n for path, n in store.emulator.app[woo_stats_key()].by_path.items() if path.startswith("/wp-json/wc/v3/orders/"))


def woo_stats_key():
    from plugins.emulation.faults import STATS_KEY

    return STATS_KEY


async def test_an_order_under_guessing_is_locked_for_everyone_but_others_carry_on(stores):
    for attempt in range(5):
        await run_lookup(stores["A"], order_number="1001", email=f"g{attempt}@x.com", sender=f"conv-{attempt}", client=f"addr-{attempt}")
    messages, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", sender="new", client="new")
    assert messages[0]["text"].startswith("For your security I've paused lookups of that order number")
    # the shoppers near the guesser are not locked out: other orders still work from the same address
    other, _ = await run_lookup(stores["A"], order_number="1003", email="sam.lee@example.com", sender="x", client="addr-4")
    assert other[0]["custom"]["order"]["number"] == "1003"
    # another store's counters are separate
    elsewhere, _ = await run_lookup(stores["B"], order_number="7001", email="bob@other.example", sender="new", client="addr-4")
    assert elsewhere[0]["custom"]["order"]["number"] == "7001"


async def test_an_address_slows_down_instead_of_hitting_a_wall(stores, runtime):
    set_limits(runtime, address_free=3, slowdown_base=60.0)
    for n in range(3):
        await run_lookup(stores["A"], order_number=str(2000 + n), email="a@x.com", sender=f"c{n}", client="office")
    before = direct_gets(stores["A"])
    slowed, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", sender="colleague", client="office")
    assert slowed[0]["text"].startswith("There have been many order lookups from your network")
    assert direct_gets(stores["A"]) == before  # refused without asking the store
    # a minute later (the recorded attempts moved back instead of waiting, so a busy machine cannot
    # turn this into a race), the next try goes through: a slowdown, never a wall
    with runtime.sessions.begin() as session:
        session.execute(update(LookupAttempt).values(created_at=LookupAttempt.created_at - timedelta(seconds=61)))
    shown, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", sender="colleague", client="office")
    assert shown[0]["custom"]["order"]["number"] == "1001"
    other, _ = await run_lookup(stores["A"], order_number="1003", email="sam.lee@example.com", sender="home", client="home")
    assert other[0]["custom"]["order"]["number"] == "1003"


async def test_success_resets_the_conversations_counter(stores):
    for n in range(4):
        await run_lookup(stores["A"], order_number=str(3000 + n), email="a@x.com", client=f"a{n}")
    shown, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com", client="a9")
    assert shown[0]["custom"]["order"]["number"] == "1001"
    for n in range(4):
        messages, _ = await run_lookup(stores["A"], order_number=str(4000 + n), email="a@x.com", client=f"b{n}")
        assert messages[0]["text"].startswith("I couldn't find"), n


@pytest.mark.parametrize("scope", ["conversation", "address"])
async def test_concurrent_attempts_cannot_overrun_the_limits(stores, runtime, scope):
    set_limits(runtime, address_free=8, slowdown_base=60.0)
    if scope == "conversation":
        runs = [run_lookup(stores["A"], order_number=str(5000 + n), email="a@x.com", sender="one", client=f"c{n}") for n in range(25)]
        limit = runtime.limits.conversation
    else:
        runs = [run_lookup(stores["A"], order_number=str(5000 + n), email="a@x.com", sender=f"c{n}", client="one") for n in range(25)]
        limit = runtime.limits.address_free
    results = await asyncio.gather(*runs)
    assert direct_gets(stores["A"]) == limit  # exactly the limit reached the store, however the turns interleave
    assert sum(1 for messages, _ in results if messages[0]["text"].startswith("I couldn't find")) == limit - (scope == "conversation")


async def test_store_failure_budget_raises_an_alert(stores, runtime):
    from actions.metrics import FAILURE_BUDGET_EXCEEDED

    set_limits(runtime, store_budget=4)
    before = FAILURE_BUDGET_EXCEEDED.labels("woocommerce")._value.get()
    for n in range(6):
        await run_lookup(stores["A"], order_number=str(6000 + n), email="a@x.com", sender=f"s{n}", client=f"s{n}")
    assert FAILURE_BUDGET_EXCEEDED.labels("woocommerce")._value.get() == before + 1
    alerts = [a for a in activities(runtime, "lookup_lockout") if a.details.get("outcome") == "store_budget_exceeded"]
    assert len(alerts) == 1 and alerts[0].store_id == stores["A"].id


async def test_failures_take_the_same_time_whether_the_order_exists_or_not(stores, runtime):
    waits = []

    async def recording_sleep(seconds):
        waits.append(seconds)

    runtime.sleep = recording_sleep
    faults(stores["A"]).update({"latency_ms": 40})
    stats = stores["A"].emulator.app[woo_stats_key()]
    stats.reset()
    await run_lookup(stores["A"], order_number="999999", email="a@x.com", sender="u", client="u")
    unknown_calls = stats.hits
    stats.reset()
    await run_lookup(stores["A"], order_number="1001", email="a@x.com", sender="k", client="k")
    known_calls = stats.hits
    assert unknown_calls > known_calls  # the platform needs extra calls to say "no such order" ...
    assert len(waits) == 1 and waits[0] > 0  # ... so the mismatch on an existing order was padded
    timing = runtime.failure_timing
    assert timing.target(stores["A"].id) == pytest.approx(timing._means[(stores["A"].id, "missing")])


async def test_not_visible_costs_the_same_and_says_the_same(stores, runtime):
    # store S lacks read_all_orders: an unknown number is "not visible", never announced as such
    visible, _ = await run_lookup(stores["S"], order_number="1003", postcode="K1M 1M4", second_fact="Nobody", sender="v")
    hidden, _ = await run_lookup(stores["S"], order_number="4242", postcode="K1M 1M4", second_fact="Nobody", sender="h")
    assert [m["text"] for m in visible] == [m["text"] for m in hidden]
    assert hidden[0]["text"].startswith("I couldn't find an order with that number and those details")
    outcomes = [a.details["outcome"] for a in activities(runtime, "order_lookup")]
    assert outcomes == ["mismatch", "not_visible"]


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
    assert messages[0]["text"].startswith("Thanks! To keep your details private")


async def test_a_verified_order_never_unlocks_its_prefixed_twin(stores, runtime):
    shown, events = await run_lookup(stores["B"], order_number="7001", email="bob@other.example")
    assert SlotSet("verified_order", "7001") in events
    # the look-alike number with the verified slot set but no details: never shown
    for typed in ("EU7001", "eu-7001"):
        messages, _ = await run_lookup(stores["B"], order_number=typed, verified_order="7001")
        assert not any(m.get("custom") for m in messages), typed
    # the exact order again, typed differently: shown without new details
    again, _ = await run_lookup(stores["B"], order_number="#07001", verified_order="7001")
    assert again[0]["custom"]["order"]["number"] == "7001"


async def test_several_orders_for_one_email_are_listed_with_buttons(stores):
    messages, events = await run_lookup(stores["A"], email="jane.doe@example.com", postcode="94103")
    assert events == []  # email and postcode kept for the pick
    message = messages[0]
    assert message["text"].startswith("I found 3 recent orders")
    payloads = sorted(b["payload"] for b in message["buttons"])
    assert payloads == ['/inform{"order_number":"1001"}', '/inform{"order_number":"1002"}', '/inform{"order_number":"1005"}']


async def test_listing_never_shows_orders_whose_email_is_hidden(stores):
    # the Shopify store returns orders without an email: a postcode must not list them
    messages, events = await run_lookup(stores["S"], email="olivia.chen@example.com", postcode="10118")
    assert messages[0]["text"].startswith("I couldn't find recent orders")
    assert not messages[0].get("buttons")


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
    messages, events = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    assert messages[0]["text"].startswith("Sorry, I can't reach Shop A's order system right now")
    assert messages[1]["buttons"][0]["payload"] == "/human_handoff"
    assert CLEARED[0] in events
    with runtime.sessions() as session:
        store = session.get(StoreIntegration, stores["A"].id)
        assert store.last_error and store.last_error_at
    entry = activities(runtime, "store_error")[-1]
    assert entry.details["reason"] != "timeout"  # answered by the failure itself, well within the budget


async def test_slow_store_is_answered_within_the_budget(stores, runtime):
    faults(stores["A"]).update({"latency_ms": 3000})
    runtime.lookup_budget_seconds = 0.3  # injected: the store answers after 3 s, the budget ends first
    messages, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    assert messages[0]["text"].startswith("Sorry, I can't reach")
    assert activities(runtime, "store_error")[-1].details["reason"] == "timeout"
    with runtime.sessions() as session:
        row = session.get(StoreIntegration, stores["A"].id)
        assert (row.last_error_code, row.last_error) == ("timeout", "store did not answer within 0.3 s")


async def test_rejected_credentials_are_reported_in_plain_words(stores, runtime):
    with runtime.sessions.begin() as session:
        store = session.get(StoreIntegration, stores["A"].id)
        from bot.services.credentials import set_credentials

        set_credentials(store, runtime.ring, {"consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"})
    messages, _ = await run_lookup(stores["A"], order_number="1001", email="jane.doe@example.com")
    assert messages[0]["text"].startswith("Sorry, I can't reach")
    with runtime.sessions() as session:
        row = session.get(StoreIntegration, stores["A"].id)
        assert (row.last_error_code, row.last_error) == ("store_auth", "credentials rejected by the store")


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


async def test_the_postcode_path_on_a_store_that_hides_emails(stores, runtime):
    """Postcode without a second fact asks again (not a verification); postcode and a wrong fact fail
    the same way for a real and an unknown number."""
    asked, events = await run_lookup(stores["S"], order_number="1003", postcode="K1M 1M4", sender="p-only")
    assert asked[0]["text"].startswith("Thanks! This store keeps customer emails private")
    assert SlotSet("email_hidden", True) in events
    real, real_events = await run_lookup(stores["S"], order_number="1003", postcode="K1M 1M4", second_fact="Smith", sender="p-real")
    unknown, unknown_events = await run_lookup(stores["S"], order_number="5555", postcode="K1M 1M4", second_fact="Smith", sender="p-unknown")
    assert [m["text"] for m in real] == [m["text"] for m in unknown]
    assert real[0]["text"].startswith("I couldn't find an order with that number and those details")
    assert real_events == unknown_events and SlotSet("email_hidden", True) not in real_events
    outcomes = [a.details["outcome"] for a in activities(runtime, "order_lookup")]
    assert outcomes == ["need_postcode", "mismatch", "not_visible"]  # the app may not read all orders there


@pytest.mark.parametrize("number", ["1001", "424242"])  # a real order and a number no order has
async def test_the_fifth_failure_on_an_order_already_locks_it(stores, runtime, number):
    for attempt in range(4):
        messages, _ = await run_lookup(stores["A"], order_number=number, email=f"g{attempt}@x.com", sender=f"c{attempt}", client=f"a{attempt}")
        assert messages[0]["text"] == MISMATCH_TEXT
    fifth, _ = await run_lookup(stores["A"], order_number=number, email="g4@x.com", sender="c4", client="a4")
    assert fifth[0]["text"].startswith("For your security I've paused lookups of that order number")
    assert fifth[-1]["text"] == "Would you like me to pass this to a person?" and fifth[-1]["buttons"]
    [lock] = [a.details for a in activities(runtime, "lookup_lockout")]
    assert lock["scope"] == "order" and lock["conversation_id"] == "c4"


async def test_a_failed_listing_is_never_an_order_lock(stores, runtime):
    """Listing by email and postcode names no order: even a limit of one failure per order leaves it alone."""
    set_limits(runtime, order=1)
    messages, _ = await run_lookup(stores["A"], email="jane.doe@example.com", postcode="00000")
    assert messages[0]["text"].startswith("I couldn't find recent orders")
    assert not activities(runtime, "lookup_lockout")
