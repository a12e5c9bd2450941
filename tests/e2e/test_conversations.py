"""Whole conversations through the real stack (widget socket → bot service → Rasa → actions →
store emulators): the no-number path, values kept across answers, requests passed on after
verification, a question about the cancellation window, store facts (also a cancellation-fee
question), complaints, "when will it arrive?" and
clarifying buttons.

The literal messages rely on the NLU model reading them as the comments say; button presses send
the offered payloads, as the widget does.
"""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from tests.e2e.test_order_tracking import card_of, shopper, text_of, turn

pytestmark = pytest.mark.slow


def buttons_of(messages: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for m in messages for b in m.get("buttons") or []]


def no_card(messages: List[Dict[str, Any]]) -> bool:
    return not any((m.get("custom") or {}).get("type") == "order" for m in messages)


async def test_no_number_then_postcode_then_email_lists_the_orders(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        assert "order number" in text_of(await turn(sock, "where's my stuff"))
        asked = text_of(await turn(sock, "i don't know the order number"))
        assert "email address and the billing postcode" in asked and "cancel" not in asked.lower()
        asked = text_of(await turn(sock, "94103"))
        assert "email address on the order" in asked and "couldn't find" not in asked
        listed = await turn(sock, "jane.doe@example.com")
        payloads = [b["payload"] for b in buttons_of(listed)]
        assert '/inform{"order_number":"1001"}' in payloads and '/inform{"order_number":"1002"}' in payloads
        chosen = buttons_of(listed)[0]
        assert card_of(await turn(sock, chosen["title"], chosen["payload"]))["number"] in chosen["payload"]


async def test_email_instead_of_the_number_asks_for_the_postcode_and_lists(demo_stack):
    async with shopper(demo_stack, "demo-shopify") as sock:
        assert "order number" in text_of(await turn(sock, "where is my order"))
        asked = text_of(await turn(sock, "olivia.chen@example.com"))
        assert "billing postcode" in asked and "What's your order number" not in asked
        listed = await turn(sock, "10118")
        assert len(buttons_of(listed)) >= 2, listed


async def test_order_number_given_with_a_change_request_is_kept_and_the_request_passed_on(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        first = text_of(await turn(sock, "can I change the shipping address on order 1001?"))
        assert "Changes work like cancellations" in first
        assert "email address on order #1001" in first
        messages = await turn(sock, "jane.doe@example.com")
        assert card_of(messages)["number"] == "1001"
        assert "I've passed your change request for order #1001 to the store's team" in text_of(messages)


async def test_cancel_flow_says_the_request_was_passed_on(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        first = text_of(await turn(sock, "cancel my order"))
        assert "Here's how cancellations work" in first and "What's your order number" in first
        assert "email" in text_of(await turn(sock, "1008"))
        messages = await turn(sock, "chris.park@example.com")
        assert card_of(messages)["number"] == "1008"
        assert "I've passed your cancellation request for order #1008 to the store's team" in text_of(messages)


async def test_a_cancellation_fee_question_gets_the_cancellation_terms_not_a_request(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        answer = text_of(await turn(sock, "is there a fee to cancel my order?"))
        assert answer.startswith("About cancellations: Orders can be cancelled until they ship."), answer
        assert "order number" not in answer and "Here's how cancellations work" not in answer


async def test_a_question_about_the_cancellation_window_offers_the_request_and_the_button_makes_it(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        messages = await turn(sock, "how long do i have to cancel")  # cancel_order, a question about the terms
        answer = text_of(messages)
        assert "Here's how cancellations work" in answer and "What's your order number" not in answer, answer
        offered = buttons_of(messages)[0]
        assert offered == {"title": "Cancel my order", "payload": "/cancel_order"}
        assert "What's your order number" in text_of(await turn(sock, offered["title"], offered["payload"]))
        assert "email" in text_of(await turn(sock, "1008"))
        messages = await turn(sock, "chris.park@example.com")
        assert "I've passed your cancellation request for order #1008 to the store's team" in text_of(messages)


async def test_opening_hours_the_store_did_not_fill_in_get_an_honest_answer(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        messages = await turn(sock, "what are your opening hours?")  # store_info
    assert text_of(messages).startswith("Sorry, I don't know the store's opening hours")
    assert {"title": "Talk to a person", "payload": "/human_handoff"} in buttons_of(messages)


async def test_when_will_it_arrive_uses_the_carrier_estimate(demo_stack):
    async with shopper(demo_stack, "demo-shopify") as sock:
        card_of(await turn(sock, "where is order #1004? email noah.wilson@example.com"))
        messages = await turn(sock, "when will it get here?")
    assert no_card(messages)
    text = text_of(messages)
    assert text.startswith("Your order #1004 should arrive by 24 November") and "(FedEx's estimate)" in text


async def test_when_will_it_arrive_without_an_estimate_uses_the_delivery_policy(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        card_of(await turn(sock, "where is order 1003 sam.lee@example.com"))
        messages = await turn(sock, "when will it get here?")
    assert no_card(messages)
    text = text_of(messages)
    assert text.startswith("Your order #1003 is on its way") and "About delivery:" in text


async def test_corrected_order_number_while_the_email_is_asked(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        assert "email" in text_of(await turn(sock, "where is order #1002"))
        assert "order #1003" in text_of(await turn(sock, "oops I mean 1003"))
        assert card_of(await turn(sock, "sam.lee@example.com"))["number"] == "1003"


async def test_unsure_message_naming_an_order_offers_choices_that_keep_the_number(demo_stack):
    async with shopper(demo_stack, "demo-woocommerce") as sock:
        asked = await turn(sock, "can you do something with 1001")  # out_of_scope with an order number
        assert "what would you like to do with order #1001?" in text_of(asked)
        choices = {b["title"]: b["payload"] for b in buttons_of(asked)}
        assert choices["Track order #1001"] == '/track_order{"order_number":"1001"}'
        assert choices["Something else"] == "/help"
        # which request buttons come first follows the model's ranking; press the first one
        title, payload = next((t, p) for t, p in choices.items() if p.startswith(("/cancel_order", "/change_order")))
        kind = "cancellation" if payload.startswith("/cancel_order") else "change"
        first = text_of(await turn(sock, title, payload))
        assert "once I've found order #1001" in first and "email address on order #1001" in first
        messages = await turn(sock, "jane.doe@example.com")
        assert card_of(messages)["number"] == "1001"
        assert f"I've passed your {kind} request for order #1001" in text_of(messages)


async def test_complaint_is_apologised_for_and_handed_to_a_person(demo_stack):
    async with shopper(demo_stack, "demo-shopify") as sock:
        text = text_of(await turn(sock, "i was charged twice"))  # complaint
    assert text.startswith("I'm sorry about that.") and "passing you to" in text
