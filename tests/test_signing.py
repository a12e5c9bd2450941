"""Signing between the bot service and Rasa's channel, and the channel's pure helpers."""
from __future__ import annotations

import pytest

from bot.rasa.channel import history_from_events, reply_to_dict
from bot.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, SignatureVerifier, sign

SECRET = "s" * 40


def test_signed_body_verifies_once():
    verifier = SignatureVerifier(SECRET)
    headers = sign(SECRET, b'{"a":1}')
    verifier.verify(b'{"a":1}', headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    with pytest.raises(SignatureError, match="replayed"):
        verifier.verify(b'{"a":1}', headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])


@pytest.mark.parametrize(
    "body, secret, skew, match",
    [
        (b'{"a":2}', SECRET, 0, "bad signature"),
        (b'{"a":1}', "t" * 40, 0, "bad signature"),
        (b'{"a":1}', SECRET, 3600, "stale"),
        (b'{"a":1}', SECRET, -3600, "stale"),
    ],
)
def test_wrong_body_secret_or_time_fails(body, secret, skew, match):
    import time

    headers = sign(secret, b'{"a":1}', timestamp=int(time.time()) - skew)
    with pytest.raises(SignatureError, match=match):
        SignatureVerifier(SECRET).verify(body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])


@pytest.mark.parametrize("ts, sig", [(None, "v1=x"), ("1", None), ("abc", "v1=x")])
def test_missing_or_malformed_headers_fail(ts, sig):
    with pytest.raises(SignatureError):
        SignatureVerifier(SECRET).verify(b"{}", ts, sig)


def test_reply_to_dict_keeps_only_widget_fields():
    out = reply_to_dict({"recipient_id": "x", "text": "hi", "buttons": [{"title": "A", "payload": "/a", "type": "postback"}, "junk"],
                         "custom": {"type": "order"}})
    assert out == {"text": "hi", "buttons": [{"title": "A", "payload": "/a"}], "custom": {"type": "order"}}


def test_history_skips_button_payloads_and_limits():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "hello", "timestamp": 1},
        {"event": "bot", "text": "Hi!", "data": {"buttons": [{"title": "Track", "payload": "/track_order"}]}, "timestamp": 2},
        {"event": "user", "text": "/track_order", "timestamp": 3},
        {"event": "user", "text": "/human_handoff", "metadata": {"display_text": "Talk to a person"}, "timestamp": 3.5},
        {"event": "bot", "text": "Order number?", "data": {}, "timestamp": 4},
    ]
    history = history_from_events(events, 10)
    assert [h["role"] for h in history] == ["user", "bot", "user", "bot"]
    assert history[2]["text"] == "Talk to a person"
    assert history[1]["buttons"] == [{"title": "Track", "payload": "/track_order"}]
    assert history_from_events(events, 1) == [{"text": "Order number?", "role": "bot", "timestamp": 4}]
