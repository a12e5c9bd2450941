"""Policy answers, requests, handoff and fallback actions."""
from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.fallback import ActionFallback
from actions.handoff import ActionHumanHandoff
from actions.order_actions import ActionPolicyAnswer
from actions.order_requests import ActionOrderRequest
from bot.core.db import UserActivity
from tests.actions.conftest import make_tracker, set_policies


async def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def kinds(runtime):
    with runtime.sessions() as session:
        return [a.activity_type for a in session.execute(select(UserActivity)).scalars()]


async def test_delivery_answer_without_a_shipping_policy_says_so_instead_of_inventing_one(stores, runtime):
    messages, _ = await run(ActionPolicyAnswer(), make_tracker(stores["A"], "how long is shipping", "delivery_info"))
    assert messages[0]["text"] == ("Sorry, I don't know the store's delivery times. The store's team can tell you: "
                                   "shall I pass your question to a person?")
    assert messages[0]["buttons"] == [{"title": "Talk to a person", "payload": "/human_handoff"}]
    set_policies(runtime, stores["A"], contact="help@shop-a.example")
    messages, _ = await run(ActionPolicyAnswer(), make_tracker(stores["A"], "how long is shipping", "delivery_info"))
    assert messages[0]["text"].endswith("The store's team can tell you: help@shop-a.example.")


async def test_delivery_answer_uses_the_merchants_shipping_policy(stores, runtime):
    set_policies(runtime, stores["A"], shipping="Orders ship the same day.")
    messages, _ = await run(ActionPolicyAnswer(), make_tracker(stores["A"], "how long is shipping", "delivery_info"))
    assert messages[0]["text"] == "About delivery: Orders ship the same day."


async def test_cancel_of_a_verified_order_is_recorded(stores, runtime):
    tracker = make_tracker(stores["A"], "cancel it", "cancel_order", slots={"verified_order": "1001"})
    messages, _ = await run(ActionOrderRequest(), tracker)
    assert messages[0]["text"] == "Here's how cancellations work: Shop A cancels until shipping."
    assert messages[1]["text"].startswith("I've passed your cancellation request for order #1001")
    assert kinds(runtime) == ["shopper_request"]


async def test_request_without_verification_is_not_recorded_but_waits(stores, runtime):
    tracker = make_tracker(stores["A"], "cancel 1003", "cancel_order", entities=[{"entity": "order_number", "value": "1003"}],
                           slots={"verified_order": "1001"})
    messages, events = await run(ActionOrderRequest(), tracker)
    assert "once I've found order #1003" in messages[1]["text"]
    assert kinds(runtime) == []
    assert {"event": "slot", "timestamp": None, "name": "pending_request", "value": "cancellation"} in events
    assert {"event": "slot", "timestamp": None, "name": "order_number", "value": "1003"} in events


async def test_return_uses_the_returns_policy(stores, runtime):
    set_policies(runtime, stores["A"], returns="Returns within 14 days.")
    messages, _ = await run(ActionOrderRequest(), make_tracker(stores["A"], "refund?", "return_refund"))
    assert messages[0]["text"] == "Here's the returns and refunds policy: Returns within 14 days."


async def test_request_without_a_policy_says_the_team_will_confirm_and_still_finds_the_order(stores, runtime):
    tracker = make_tracker(stores["S"], "cancel order 1001", "cancel_order", entities=[{"entity": "order_number", "value": "1001"}])
    messages, events = await run(ActionOrderRequest(), tracker)
    assert messages[0]["text"] == ("I don't have the store's cancellation terms, so the store's team will confirm "
                                   "what applies to your order.")
    assert "once I've found order #1001" in messages[1]["text"]
    assert {"event": "slot", "timestamp": None, "name": "pending_request", "value": "cancellation"} in events


async def test_handoff_is_logged_for_the_merchant(stores, runtime):
    messages, _ = await run(ActionHumanHandoff(), make_tracker(stores["A"], "human please", "human_handoff"))
    assert messages[0]["text"].startswith("I'm passing you to Shop A's team")
    assert messages[0]["custom"] == {"type": "handoff", "reason": "asked"}  # the bot service opens a live handoff
    assert kinds(runtime) == ["human_handoff"]


def _fallback_events(*texts):
    return [{"event": "user", "text": t, "parse_data": {"intent": {"name": i}}} for t, i in texts]


async def test_second_fallback_in_a_row_offers_a_person(stores):
    first, _ = await run(ActionFallback(), make_tracker(stores["A"], "blorp", "nlu_fallback",
                                                        events=_fallback_events(("hi", "greet"), ("blorp", "nlu_fallback"))))
    assert first[0]["text"].startswith("Sorry, I didn't catch that") and not first[0].get("buttons")
    second, _ = await run(ActionFallback(), make_tracker(stores["A"], "zzz", "nlu_fallback",
                                                         events=_fallback_events(("blorp", "nlu_fallback"), ("zzz", "nlu_fallback"))))
    assert second[0]["text"].startswith("I'm still not getting it")
    assert second[0]["buttons"][0]["payload"] == "/human_handoff"


async def test_unsure_message_that_is_clearly_a_lookup_goes_to_the_lookup(stores):
    tracker = make_tracker(stores["A"], "status 1006 emma@x.com", "nlu_fallback",
                           entities=[{"entity": "order_number", "value": "1006"}, {"entity": "email", "value": "emma@x.com"}],
                           ranking=[("nlu_fallback", 0.5), ("track_order", 0.45), ("out_of_scope", 0.2)])
    messages, events = await run(ActionFallback(), tracker)
    assert messages == []
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "order_lookup_form"}
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"order_number": "1006", "email": "emma@x.com"}


async def test_a_question_about_the_cancellation_terms_offers_the_request_without_starting_it(stores, runtime):
    messages, events = await run(ActionOrderRequest(), make_tracker(stores["A"], "how long do i have to cancel?", "cancel_order"))
    assert messages[0]["text"] == "Here's how cancellations work: Shop A cancels until shipping."
    assert messages[1]["text"] == "Shall I pass a cancellation request to the store's team?"
    assert messages[1]["buttons"] == [{"title": "Cancel my order", "payload": "/cancel_order"},
                                      {"title": "No thanks", "payload": "/deny"}]
    assert {"event": "slot", "timestamp": None, "name": "pending_request", "value": None} in events
    assert kinds(runtime) == []


async def test_a_terms_question_after_a_verified_order_records_nothing_until_the_shopper_asks(stores, runtime):
    tracker = make_tracker(stores["A"], "is it too late to cancel", "cancel_order", slots={"verified_order": "1001"})
    messages, _ = await run(ActionOrderRequest(), tracker)
    assert messages[1]["text"] == "Shall I pass a cancellation request for order #1001 to the store's team?"
    assert kinds(runtime) == []
    tracker = make_tracker(stores["A"], "/cancel_order", "cancel_order", slots={"verified_order": "1001"})
    messages, _ = await run(ActionOrderRequest(), tracker)
    assert messages[1]["text"].startswith("I've passed your cancellation request for order #1001")
    assert kinds(runtime) == ["shopper_request"]


async def test_a_terms_question_naming_an_order_still_finds_it(stores, runtime):
    tracker = make_tracker(stores["A"], "is it too late to cancel 1003", "cancel_order",
                           entities=[{"entity": "order_number", "value": "1003"}])
    messages, events = await run(ActionOrderRequest(), tracker)
    assert "once I've found order #1003" in messages[1]["text"]
    assert {"event": "slot", "timestamp": None, "name": "pending_request", "value": "cancellation"} in events
