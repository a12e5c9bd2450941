"""The dialogue around the lookup: clarifying questions, values kept through fallbacks and answers,
the no-number path, pending cancel/change/return requests, complaints, store facts and "when will
it arrive?" — trackers built as Rasa sends them, ``CollectingDispatcher``, exact events
(in the style of Rasa's financial-demo action tests)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.arrival import arrival_text
from actions.fallback import ActionFallback, clarify, ranked_intents
from actions.forms import ValidateOrderLookupForm
from actions.handoff import ActionComplaint, ActionHumanHandoff
from actions.order_actions import ActionLookupOrder, ActionPolicyAnswer
from actions.order_requests import ActionOrderRequest, pending_request
from actions.store_access import resolve_store
from actions.store_facts import ActionInvoice, ActionStoreInfo
from bot.core.db import UserActivity
from plugins.model import Order, OrderStatus, Shipment, ShipmentStatus
from tests.actions.conftest import make_tracker, set_policies

LOOKUP_DOMAIN = {"forms": {"order_lookup_form": {"required_slots": ["order_number", "email"]}},
                 "slots": {s: {"mappings": [{"type": "custom"}]}
                           for s in ("order_number", "email", "postcode", "verified_order", "order_number_unknown")}}


def ent(name, value):
    return {"entity": name, "value": value}


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def run(action, tracker, domain=None):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain or {})
    return dispatcher.messages, events


def activities(runtime, kind):
    with runtime.sessions() as session:
        rows = session.execute(select(UserActivity).order_by(UserActivity.id)).scalars().all()
    return [r for r in rows if r.activity_type == kind]


# --- clarifying questions -------------------------------------------------------------------------

def test_ranking_drops_the_fallback_pseudo_intent():
    parse = {"intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "cancel_order", "confidence": 0.45},
                                {"name": "track_order", "confidence": 0.4}, {"name": "bogus"}]}
    assert ranked_intents(parse) == [("cancel_order", 0.45), ("track_order", 0.4), ("bogus", 0.0)]
    assert ranked_intents({}) == []


def test_unsure_message_with_an_order_offers_the_ranked_order_intents():
    question = clarify([("cancel_order", 0.45), ("track_order", 0.4), ("out_of_scope", 0.1)], "1001")
    assert question.template == "clarify_order"
    assert question.buttons == [
        {"title": "Cancel order #1001", "payload": '/cancel_order{"order_number":"1001"}'},
        {"title": "Track order #1001", "payload": '/track_order{"order_number":"1001"}'},
        {"title": "Something else", "payload": "/help"},
    ]


def test_tracking_is_always_among_the_choices_for_an_order():
    question = clarify([("change_order", 0.4), ("cancel_order", 0.35), ("return_refund", 0.3)], "WC-5521")
    assert [b["payload"] for b in question.buttons] == [
        '/change_order{"order_number":"WC-5521"}', '/cancel_order{"order_number":"WC-5521"}',
        '/track_order{"order_number":"WC-5521"}', "/help"]
    unknown = clarify([("greet", 0.4), ("out_of_scope", 0.35)], "1001")
    assert [b["title"] for b in unknown.buttons] == ["Track order #1001", "Cancel order #1001", "Something else"]


def test_a_clear_lookup_needs_no_question():
    assert clarify([("track_order", 0.45), ("out_of_scope", 0.2)], "1001") is None
    assert clarify([("track_order", 0.51), ("inform", 0.49), ("change_order", 0.0)], "1006") is None  # inform: a number
    assert clarify([("inform", 0.49), ("out_of_scope", 0.24), ("human_handoff", 0.08)], "1001") is not None
    assert clarify([("track_order", 0.4), ("cancel_order", 0.3)], "1001") is not None


def test_close_task_intents_without_an_order_offer_both():
    question = clarify([("delivery_info", 0.42), ("return_refund", 0.38), ("greet", 0.1)], None)
    assert question.template == "clarify"
    assert [b["payload"] for b in question.buttons] == ["/delivery_info", "/return_refund", "/help"]
    assert clarify([("delivery_info", 0.45), ("return_refund", 0.1)], None) is None  # not close
    assert clarify([("greet", 0.42), ("thank", 0.38)], None) is None  # nothing to offer


async def test_fallback_with_an_order_asks_and_keeps_the_number_and_email(stores):
    tracker = make_tracker(stores["A"], "1001 jane.doe@example.com hmm cancel or where", "nlu_fallback",
                           entities=[ent("order_number", "1001"), ent("email", "Jane.Doe@example.com")],
                           ranking=[("nlu_fallback", 0.5), ("cancel_order", 0.44), ("track_order", 0.41)])
    messages, events = await run(ActionFallback(), tracker)
    assert messages[0]["text"] == "I want to get this right: what would you like to do with order #1001?"
    assert messages[0]["buttons"][0] == {"title": "Cancel order #1001", "payload": '/cancel_order{"order_number":"1001"}'}
    assert events == [SlotSet("order_number", "1001"), SlotSet("email", "jane.doe@example.com")]


async def test_fallback_that_says_no_number_starts_the_no_number_path(stores):
    tracker = make_tracker(stores["A"], "i don't know the order number", "nlu_fallback",
                           ranking=[("nlu_fallback", 0.5), ("cancel_order", 0.45)])
    messages, events = await run(ActionFallback(), tracker)
    assert messages == []
    assert events == [SlotSet("order_number_unknown", True), {"event": "followup", "timestamp": None, "name": "order_lookup_form"}]


async def test_fallback_during_the_form_leaves_the_question_to_the_form(stores):
    no_number = make_tracker(stores["A"], "i dont have my order number", "nlu_fallback", active_loop="order_lookup_form",
                             slots={"requested_slot": "order_number"})
    messages, events = await run(ActionFallback(), no_number)
    assert messages == [] and events == [SlotSet("order_number_unknown", True)]
    garbled = make_tracker(stores["A"], "blorp", "nlu_fallback", active_loop="order_lookup_form")
    messages, events = await run(ActionFallback(), garbled)
    assert messages[0]["text"].startswith("Sorry, I didn't catch that") and events == []


# --- the lookup form's no-number path -----------------------------------------------------------------

async def run_form(stores, text, entities=(), **slots):
    tracker = make_tracker(stores["A"], text=text, entities=list(entities), slots=slots, active_loop="order_lookup_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderLookupForm().run(dispatcher, tracker, LOOKUP_DOMAIN)
    return slots_of(events), [m["text"] for m in dispatcher.messages]


async def test_no_number_phrase_switches_to_email_and_postcode(stores):
    slots, _ = await run_form(stores, "i don't know the order number", requested_slot="order_number")
    assert slots == {"order_number_unknown": True, "requested_slot": "email"}


@pytest.mark.parametrize("first, second", [
    (("94103", [ent("order_number", "94103")]), ("jane.doe@example.com", [ent("email", "jane.doe@example.com")])),
    (("jane.doe@example.com", [ent("email", "jane.doe@example.com")]), ("94103", [ent("order_number", "94103")])),
], ids=["postcode-first", "email-first"])
async def test_email_and_postcode_in_either_order_complete_the_form(stores, first, second):
    slots, _ = await run_form(stores, first[0], first[1], order_number_unknown=True, requested_slot="email")
    asked = slots["requested_slot"]
    assert asked in ("email", "postcode") and "order_number" not in slots
    state = {k: v for k, v in slots.items() if k != "requested_slot"}
    slots, _ = await run_form(stores, second[0], second[1], order_number_unknown=True, requested_slot=asked, **state)
    assert slots["requested_slot"] is None and "order_number" not in slots
    final = {**state, **slots}
    assert final["email"] == "jane.doe@example.com" and final["postcode"] == "94103"


async def test_an_email_instead_of_the_number_asks_for_the_postcode_not_the_number_again(stores):
    slots, _ = await run_form(stores, "jane.doe@example.com", [ent("email", "jane.doe@example.com")],
                              requested_slot="order_number")
    assert slots == {"email": "jane.doe@example.com", "requested_slot": "postcode"}
    slots, _ = await run_form(stores, "94103", [ent("order_number", "94103")], email="jane.doe@example.com",
                              requested_slot="postcode")
    assert slots == {"postcode": "94103", "requested_slot": None}


async def test_a_number_called_an_order_number_still_counts_on_the_no_number_path(stores):
    slots, _ = await run_form(stores, "found it, order 1002", [ent("order_number", "1002")],
                              email="jane.doe@example.com", requested_slot="postcode")
    assert slots == {"order_number": "1002", "requested_slot": None}


async def test_email_question_names_the_kept_order_number(stores):
    from actions.asks import ActionAskEmail, ActionAskPostcode

    messages, _ = await run(ActionAskEmail(), make_tracker(stores["A"], slots={"order_number": "1001"}))
    assert "email address on order #1001" in messages[0]["text"]
    messages, _ = await run(ActionAskEmail(), make_tracker(stores["A"], slots={"order_number_unknown": True}))
    assert messages[0]["text"].startswith("No problem! Send me the email address and the billing postcode")
    messages, _ = await run(ActionAskPostcode(), make_tracker(stores["A"], slots={"email": "a@b.co"}))
    assert "list your recent orders" in messages[0]["text"]


# --- requests waiting for verification ------------------------------------------------------------

async def test_cancel_without_an_order_finds_the_order_first(stores, runtime):
    messages, events = await run(ActionOrderRequest(), make_tracker(stores["A"], "cancel my order", "cancel_order"))
    assert messages[0]["text"] == "Here's how cancellations work: Shop A cancels until shipping."
    assert messages[1]["text"] == ("I can pass your cancellation request on to the store's team once I've found "
                                   "the order and checked it's yours.")
    assert events == [SlotSet("pending_request", "cancellation")]
    assert activities(runtime, "shopper_request") == []


async def test_no_number_phrase_read_as_a_request_goes_to_the_no_number_path(stores, runtime):
    tracker = make_tracker(stores["A"], "i don't know the order number", "cancel_order", active_loop="order_lookup_form",
                           slots={"requested_slot": "order_number"})
    messages, events = await run(ActionOrderRequest(), tracker)
    assert messages == []
    assert events == [SlotSet("pending_request", None), SlotSet("order_number_unknown", True),
                      {"event": "followup", "timestamp": None, "name": "order_lookup_form"}]
    assert activities(runtime, "shopper_request") == []


async def test_returns_question_without_an_order_does_not_start_a_lookup(stores):
    messages, events = await run(ActionOrderRequest(), make_tracker(stores["A"], "how do refunds work", "return_refund"))
    assert messages[1]["buttons"][0] == {"title": "Find my order", "payload": "/track_order"}
    assert events == [SlotSet("pending_request", None)]


def _request_then_lookup(extra_actions=()):
    events = [{"event": "user", "text": "cancel my order", "parse_data": {"intent": {"name": "cancel_order"}}},
              {"event": "action", "name": "action_order_request"},
              {"event": "slot", "name": "pending_request", "value": "cancellation"},
              {"event": "action", "name": "order_lookup_form"}]
    events += [{"event": "action", "name": name} for name in extra_actions]
    return events + [{"event": "user", "text": "chris.park@example.com", "parse_data": {"intent": {"name": "inform"}}},
                     {"event": "action", "name": "order_lookup_form"}]


async def test_verified_lookup_passes_the_waiting_cancellation_on(stores, runtime):
    tracker = make_tracker(stores["A"], "chris.park@example.com", events=_request_then_lookup(),
                           slots={"order_number": "1008", "email": "chris.park@example.com", "pending_request": "cancellation"})
    messages, events = await run(ActionLookupOrder(), tracker)
    assert messages[0]["custom"]["order"]["number"] == "1008"
    assert messages[1]["text"] == ("I've passed your cancellation request for order #1008 to the store's team. "
                                   "They'll get back to you by email.")
    assert events[-1] == SlotSet("pending_request", None)
    [entry] = activities(runtime, "shopper_request")
    assert entry.details == {"kind": "cancellation", "order_number": "1008", "conversation_id": "conv-1"}


async def test_abandoned_lookup_drops_the_waiting_request(stores, runtime):
    tracker = make_tracker(stores["A"], "where is 1008", events=_request_then_lookup(["action_deactivate_loop"]),
                           slots={"order_number": "1008", "email": "chris.park@example.com", "pending_request": "cancellation"})
    assert pending_request(tracker) is None
    messages, events = await run(ActionLookupOrder(), tracker)
    assert len(messages) == 1 and events[-1] == SlotSet("pending_request", None)
    assert activities(runtime, "shopper_request") == []


async def test_failed_verification_keeps_the_request_waiting(stores, runtime):
    tracker = make_tracker(stores["A"], "wrong@example.com", events=_request_then_lookup(),
                           slots={"order_number": "1008", "email": "wrong@example.com", "pending_request": "cancellation"})
    messages, events = await run(ActionLookupOrder(), tracker)
    assert messages[0]["text"].startswith("I couldn't find an order")
    assert "pending_request" not in slots_of(events)
    assert activities(runtime, "shopper_request") == []


# --- when will it arrive? ----------------------------------------------------------------------------

async def test_when_will_it_arrive_after_the_card_answers_instead_of_repeating_it(stores, runtime):
    tracker = make_tracker(stores["A"], "when will it get here?", "track_order",
                           slots={"order_number": "1003", "verified_order": "1003"})
    messages, _ = await run(ActionLookupOrder(), tracker)
    assert len(messages) == 1 and not messages[0].get("custom")
    assert messages[0]["text"].startswith("Your order #1003 is on its way")
    assert "the carrier hasn't given a delivery date. The store hasn't told me its delivery times." in messages[0]["text"]
    set_policies(runtime, stores["A"], shipping="Delivery takes 2-4 business days.")
    messages, _ = await run(ActionLookupOrder(), tracker)
    assert "the carrier hasn't given a delivery date. About delivery: Delivery takes 2-4 business days." in messages[0]["text"]


async def test_a_plain_follow_up_still_shows_the_card(stores):
    tracker = make_tracker(stores["A"], "has it shipped?", "track_order", slots={"order_number": "1003", "verified_order": "1003"})
    messages, _ = await run(ActionLookupOrder(), tracker)
    assert messages[0]["custom"]["order"]["number"] == "1003"


async def test_delivery_question_about_the_verified_order(stores, runtime):
    set_policies(runtime, stores["A"], shipping="We ship from Berlin in 2 days.")
    tracker = make_tracker(stores["A"], "how long does delivery take", "delivery_info", slots={"verified_order": "1001"})
    messages, _ = await run(ActionPolicyAnswer(), tracker)
    assert messages[0]["text"] == "Your order #1001 hasn't shipped yet. About delivery: We ship from Berlin in 2 days."
    general, _ = await run(ActionPolicyAnswer(), make_tracker(stores["A"], "how long does delivery take", "delivery_info"))
    assert general[0]["text"] == "About delivery: We ship from Berlin in 2 days."


async def test_delivery_question_keeps_a_typed_order_number(stores):
    tracker = make_tracker(stores["A"], "how long will order 1002 take", "delivery_info", entities=[ent("order_number", "#1002")])
    _, events = await run(ActionPolicyAnswer(), tracker)
    assert events == [SlotSet("order_number", "1002")]


async def test_carrier_estimate_is_the_answer_when_the_platform_gives_one(stores, runtime):
    store = await resolve_store(runtime, make_tracker(stores["A"]))
    order = Order(platform="shopify", number="1004", platform_id="1", status=OrderStatus.SHIPPED, status_label="Fulfilled",
                  shipments=[Shipment(carrier="FedEx", status=ShipmentStatus.IN_TRANSIT,
                                      estimated_delivery_at=datetime(2030, 12, 5, tzinfo=timezone.utc))])
    assert arrival_text(runtime, store, order) == "Your order #1004 should arrive by 5 December 2030 (FedEx's estimate)."
    order.status = OrderStatus.DELIVERED
    order.shipments[0].status = ShipmentStatus.DELIVERED
    assert arrival_text(runtime, store, order) == "Your order #1004 has already been delivered."


# --- handoff --------------------------------------------------------------------------------------------

async def test_complaint_is_apologised_for_and_logged_as_such(stores, runtime):
    messages, _ = await run(ActionComplaint(), make_tracker(stores["A"], "i was charged twice", "complaint"))
    assert messages[0]["text"].startswith("I'm sorry about that.")
    events = [{"event": "user", "text": "i was charged twice", "parse_data": {"intent": {"name": "complaint"}}},
              {"event": "user", "text": "hello?", "parse_data": {"intent": {"name": "greet"}}}]
    messages, _ = await run(ActionHumanHandoff(), make_tracker(stores["A"], "a@b.co", events=events,
                                                               slots={"verified_order": "1002"}))
    assert messages[0]["custom"] == {"type": "handoff", "reason": "asked", "order_number": "1002"}
    [entry] = activities(runtime, "human_handoff")
    assert entry.title == "Shopper reported a problem"
    assert entry.details == {"conversation_id": "conv-1", "reason": "complaint", "order_number": "1002"}


# --- store facts and invoices ------------------------------------------------------------------------

async def test_store_fact_the_merchant_filled_in(stores, runtime):
    set_policies(runtime, stores["A"], hours="Mon-Fri 9:00-17:00", payment="Cards, PayPal and Klarna.")
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "what are your opening hours?", "store_info"))
    assert messages[0]["text"] == "Our opening hours: Mon-Fri 9:00-17:00"
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "do you take paypal", "store_info"))
    assert messages[0]["text"] == "About payment: Cards, PayPal and Klarna."
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "tell me about the shop", "store_info"))
    assert messages[0]["text"] == "Opening hours: Mon-Fri 9:00-17:00\nPayment: Cards, PayPal and Klarna."


async def test_store_fact_not_filled_in_is_an_honest_dont_know(stores, runtime):
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "what are your opening hours?", "store_info"))
    assert messages[0]["text"] == ("Sorry, I don't know the store's opening hours. The store's team can tell you: "
                                   "shall I pass your question to a person?")
    assert messages[0]["buttons"] == [{"title": "Talk to a person", "payload": "/human_handoff"}]
    set_policies(runtime, stores["A"], contact="hello@shop-a.example")
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "when are you open", "store_info"))
    assert messages[0]["text"] == "Sorry, I don't know the store's opening hours. The store's team can tell you: hello@shop-a.example."


async def test_shipping_regions_come_from_the_shipping_policy(stores, runtime):
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "do you ship to canada", "store_info"))
    assert messages[0]["text"] == ("Sorry, I don't know where the store ships. The store's team can tell you: "
                                   "shall I pass your question to a person?")
    set_policies(runtime, stores["A"], shipping="We ship to the US and Canada.")
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "do you ship to canada", "store_info"))
    assert messages[0]["text"] == "About delivery: We ship to the US and Canada."


async def test_cancellation_fee_question_gets_the_merchants_terms_or_an_honest_dont_know(stores, runtime):
    set_policies(runtime, stores["A"], cancellation="Free cancellation until the order ships; no fees.")
    messages, events = await run(ActionStoreInfo(), make_tracker(stores["A"], "is there a fee to cancel my order?", "store_info"))
    assert [m["text"] for m in messages] == ["About cancellations: Free cancellation until the order ships; no fees."]
    assert not any(getattr(event, "key", None) == "pending_request" for event in events)
    set_policies(runtime, stores["A"], cancellation="")
    messages, _ = await run(ActionStoreInfo(), make_tracker(stores["A"], "any early termination charges", "store_info"))
    assert [m["text"] for m in messages] == [
        "Sorry, I don't know the store's cancellation terms (including any fee for cancelling). "
        "The store's team can tell you: shall I pass your question to a person?"]
    assert messages[0]["buttons"] == [{"title": "Talk to a person", "payload": "/human_handoff"}]


async def test_invoice_answer_and_a_person_on_offer(stores, runtime):
    messages, events = await run(ActionInvoice(), make_tracker(stores["A"], "invoice for 1001 please", "invoice",
                                                               entities=[ent("order_number", "1001")]))
    assert messages[0]["text"].startswith("I can't send invoices from this chat, but the store's team can.")
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff"
    assert events == [SlotSet("order_number", "1001")]
    set_policies(runtime, stores["A"], invoice="Your invoice is attached to the shipping confirmation email.")
    messages, _ = await run(ActionInvoice(), make_tracker(stores["A"], "invoice?", "invoice"))
    assert messages[0]["text"] == ("About invoices: Your invoice is attached to the shipping confirmation email. "
                                   "Would you like me to pass this to a person?")
