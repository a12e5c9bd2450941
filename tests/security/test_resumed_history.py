"""A resumed conversation's history leaves out typed emails, postcodes and order details."""
from __future__ import annotations

import json

from bot.gateway.config import GatewayLimits
from bot.gateway.tokens import TokenError, TokenSigner
from bot.rasa.channel import history_from_events

ORDER = {"number": "1001", "status": "shipped", "items": [{"name": "Blue Mug", "quantity": 2}], "total": "42.00",
         "shipping_address": {"city": "Leeds"}, "shipments": [{"tracking_number": "1Z999AA10123456784"}],
         "status_url": "https://shop.example/orders/abc"}


def _user(text, ts, entities=(), metadata=None):
    return {"event": "user", "text": text, "timestamp": ts, "metadata": metadata or {},
            "parse_data": {"intent": {"name": "inform"}, "entities": list(entities)}}


def _bot(text, ts, **data):
    return {"event": "bot", "text": text, "timestamp": ts, "data": data}


def _slot(name, value, ts):
    return {"event": "slot", "name": name, "value": value, "timestamp": ts}


def _conversation():
    return [
        _user("where is my order 1001", 1, [{"entity": "order_number", "start": 18, "end": 22, "value": "1001"}]),
        _slot("order_number", "1001", 1.1),
        _slot("requested_slot", "email", 1.2),
        _bot("What's the email on the order?", 2),
        _user("it's olivia.chen@example.com thanks", 3, [{"entity": "email", "start": 5, "end": 28, "value": "olivia.chen@example.com"}]),
        _slot("email", "olivia.chen@example.com", 3.1),
        _slot("requested_slot", "postcode", 3.2),
        _bot("And the billing postcode?", 4),
        _user("ls1 4ap", 5),  # not recognised as an entity: hidden because it answers the postcode question
        _slot("postcode", "LS1 4AP", 5.1),
        _slot("requested_slot", None, 5.2),
        _bot("Your order #1001 shipped with UPS, tracking 1Z999AA10123456784.", 6,
             custom={"type": "order", "order": ORDER}),
        _user("did LS14AP get it? mail me at o.chen@example.org", 7),
        _bot("I found 2 recent orders for those details. Which one do you mean?", 8,
             buttons=[{"title": "#1001 · Shipped", "payload": '/inform{"order_number":"1001"}'},
                      {"title": "#1002 · Processing", "payload": '/inform{"order_number":"1002"}'}]),
        _bot("Anything else?", 9, buttons=[{"title": "Track another order", "payload": "/track_order"}]),
        _slot("email", None, 9.5),  # slots cleared: the events keep the values, history must not
    ]


def test_typed_emails_and_postcodes_are_left_out():
    history = history_from_events(_conversation(), 30)
    dumped = json.dumps(history).lower()
    for secret in ("olivia.chen@example.com", "o.chen@example.org", "ls1 4ap", "ls14ap", "olivia"):
        assert secret not in dumped, secret
    users = [h["text"] for h in history if h["role"] == "user"]
    assert users[0] == "where is my order 1001"
    assert users[1] == "it's [email hidden] thanks"
    assert users[2] == "[hidden]"
    assert "[email hidden]" in users[3] and "[hidden]" in users[3]


def test_an_order_card_becomes_one_line():
    history = history_from_events(_conversation(), 30)
    card = [h for h in history if h["role"] == "bot" and "1001" in h["text"]]
    assert card == [{"text": "Order #1001 (verified earlier)", "role": "bot", "timestamp": 6}]
    dumped = json.dumps(history)
    for detail in ("Blue Mug", "42.00", "Leeds", "1Z999AA10123456784", "status_url", "custom", "UPS"):
        assert detail not in dumped, detail


def test_buttons_naming_orders_are_dropped_and_others_kept():
    history = history_from_events(_conversation(), 30)
    listing = next(h for h in history if h["text"].startswith("I found 2"))
    assert "buttons" not in listing
    assert next(h for h in history if h["text"] == "Anything else?")["buttons"] == [{"title": "Track another order", "payload": "/track_order"}]
    assert "#1002" not in json.dumps(history)


def test_a_pressed_button_title_is_scrubbed_too():
    events = [_slot("email", "ann@example.com", 0), _user('/inform{"order_number":"1"}', 1, metadata={"display_text": "ann@example.com"})]
    assert history_from_events(events, 5)[0]["text"] == "[email hidden]"


def test_sessions_are_short_lived():
    limits = GatewayLimits()
    assert limits.session_max_age_seconds <= 24 * 3600 and limits.session_ttl_seconds <= 2 * 3600
    signer = TokenSigner("s" * 40, limits.session_ttl_seconds, limits.session_max_age_seconds)
    now = 1_700_000_000
    token = signer.issue(1, "w", "c_x", issued_at=now - 25 * 3600, now=now - 60)  # renewed a minute ago
    try:
        signer.verify(token, 1, "w", now=now)
        raise AssertionError("a day-old conversation was resumed")
    except TokenError as exc:
        assert exc.reason == "expired"
    fresh = signer.issue(1, "w", "c_y", now=now)
    assert signer.verify(fresh, 1, "w", now=now + 2 * 3600 - 1).conversation_id == "c_y"
    try:
        signer.verify(fresh, 1, "w", now=now + 2 * 3600 + 1)
        raise AssertionError("an idle token outlived its two hours")
    except TokenError as exc:
        assert exc.reason == "expired"
