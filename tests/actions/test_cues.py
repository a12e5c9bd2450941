"""The word cues the actions read beyond the intent."""
from __future__ import annotations

import pytest

from actions.cues import asks_until_when, asks_when_it_arrives, says_no_order_number, store_fact_topic

TERMS_QUESTIONS = [
    "how long do i have to cancel", "How late can I change my order?", "until when can I cancel my order",
    "is it too late to cancel", "is it still possible to change the address", "can orders be cancelled after payment",
    "what's the cancellation window", "is there a deadline to cancel", "how much time do i have to modify an order",
    "cancellation time limit?", "till when can i cancel",
]
REQUESTS = [
    "cancel my order", "i want to cancel order 1001", "can i cancel?", "can i still cancel?", "change the address on 1001",
    "how do i cancel an order", "cancel it please, it's too late anyway", "/cancel_order",
    "how long does shipping take", "is it too late to return it", "how long will my refund take",
]


@pytest.mark.parametrize("text", TERMS_QUESTIONS)
def test_questions_about_the_cancellation_terms_are_recognised(text):
    assert asks_until_when(text)


@pytest.mark.parametrize("text", REQUESTS)
def test_requests_and_other_questions_are_not_terms_questions(text):
    assert not asks_until_when(text)


@pytest.mark.parametrize("text, expected", [
    ("i don't have the order number", True), ("lost my order number", True), ("no order number", True),
    ("order number 1001", False), ("i have my number here", False),
])
def test_says_no_order_number(text, expected):
    assert says_no_order_number(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("when will it get here?", True), ("ETA?", True), ("how long until it arrives", True), ("track 1001", False),
])
def test_asks_when_it_arrives(text, expected):
    assert asks_when_it_arrives(text) is expected


@pytest.mark.parametrize("text, topic", [
    ("is there a cancellation fee", "cancellation"), ("do you take paypal", "payment"),
    ("what are your opening hours", "hours"), ("what's your phone number", "contact"), ("hello", None),
])
def test_store_fact_topic(text, topic):
    assert store_fact_topic(text) == topic
