"""The widget socket (contract C5) over real websockets, against a fake Rasa."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import pytest

from bot.gateway import GatewayLimits
from bot.gateway.tokens import TokenSigner
from tests.gateway.conftest import ORIGIN_A, ORIGIN_B, SESSION_SECRET
from tests.gateway.helpers import WidgetSocket


async def test_hello_welcome_and_a_turn_with_the_metadata_contract(client, fake_rasa, store_ids):
    sock = await WidgetSocket.connect(client)
    welcome = await sock.hello(locale="de")
    assert welcome["type"] == "welcome"
    assert welcome["conversation_id"].startswith("c_") and len(welcome["conversation_id"]) > 16
    assert welcome["history"] == [] and welcome["resumed"] is False
    assert isinstance(welcome["session"], str)

    client_id = await sock.say("where is my order")
    assert await sock.recv() == {"type": "typing"}
    bot = await sock.recv()
    assert bot == {"type": "bot", "reply_to": client_id, "messages": [{"text": "echo: where is my order"}]}

    call = fake_rasa.calls[-1]
    assert call["sender"] == welcome["conversation_id"]
    meta = call["metadata"]
    assert set(meta) == {"store_id", "widget_id", "platform", "store_name", "locale", "client", "session"}
    assert meta["store_id"] == store_ids["w-a"] and meta["widget_id"] == "w-a"
    assert meta["platform"] == "woocommerce" and meta["store_name"] == "Store w-a" and meta["locale"] == "de"
    assert meta["client"] == hmac.new(SESSION_SECRET.encode(), b"127.0.0.1", hashlib.sha256).hexdigest()
    assert meta["session"]["resumed"] is False and abs(meta["session"]["issued_at"] - time.time()) < 30


async def test_identical_turns_in_one_second_are_not_replays(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    assert [(await sock.ask("yes"))["type"] for _ in range(3)] == ["bot"] * 3
    assert len({c["nonce"] for c in fake_rasa.calls}) == 3  # RasaClient makes every signed body unique


async def test_bot_messages_keep_buttons_and_custom_payloads(client):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    bot = await sock.ask("buttons")
    assert bot["messages"][0]["buttons"] == [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    bot = await sock.ask("order")
    assert bot["messages"][0]["custom"] == {"type": "order", "order": {"number": "1001", "status": "shipped"}}


@pytest.mark.parametrize("origin", ["https://evil.example", ORIGIN_A + ":8443", "http://shop-a.example", None, "null"])
async def test_origin_not_in_the_allow_list_is_rejected(client, fake_rasa, origin):
    sock = await WidgetSocket.connect(client, origin=origin)
    frame = await sock.hello()
    assert frame["type"] == "error" and frame["code"] == "origin_not_allowed"
    assert await sock.closed() == 1008
    assert fake_rasa.calls == []


@pytest.mark.parametrize("widget_id", ["nope", "w-off", "w-hidden", "x" * 65])
async def test_unknown_or_inactive_widget_is_rejected(client, widget_id):
    sock = await WidgetSocket.connect(client)
    frame = await sock.hello(widget_id)
    assert frame["type"] == "error" and frame["code"] == "unknown_widget"
    assert await sock.closed() == 1008


async def test_each_store_accepts_only_its_own_origin(client):
    sock = await WidgetSocket.connect(client, origin=ORIGIN_B)
    assert (await sock.hello("w-a"))["code"] == "origin_not_allowed"
    sock = await WidgetSocket.connect(client, origin=ORIGIN_B)
    assert (await sock.hello("w-b"))["type"] == "welcome"


async def test_resumed_session_keeps_the_conversation_and_gets_history(client, fake_rasa):
    first = await WidgetSocket.connect(client)
    welcome = await first.hello()
    await first.ask("hi there")
    await first.ws.close()

    second = await WidgetSocket.connect(client)
    again = await second.hello(session=welcome["session"])
    assert again["type"] == "welcome" and again["resumed"] is True
    assert again["conversation_id"] == welcome["conversation_id"]
    assert [(h["role"], h["text"]) for h in again["history"]] == [("user", "hi there"), ("bot", "echo: hi there")]
    assert again["history_complete"] is True
    await second.ask("again")
    assert fake_rasa.calls[-1]["sender"] == welcome["conversation_id"]
    for _ in range(2):  # back-to-back resumes sign identical history requests but for a nonce
        third = await WidgetSocket.connect(client)
        assert len((await third.hello(session=welcome["session"]))["history"]) == 4
    assert fake_rasa.refused == 0
    assert fake_rasa.calls[-1]["metadata"]["session"] == {"issued_at": fake_rasa.calls[0]["metadata"]["session"]["issued_at"], "resumed": True}


async def test_resume_works_when_history_is_unavailable(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    welcome = await sock.hello()
    fake_rasa.down = True
    sock = await WidgetSocket.connect(client)
    again = await sock.hello(session=welcome["session"])
    assert again["type"] == "welcome" and again["history"] == [] and again["resumed"] is True
    # an empty list would read as "nothing was said": the frame says the history is missing
    assert again["history_complete"] is False
    fake_rasa.down = False
    sock = await WidgetSocket.connect(client)
    assert (await sock.hello(session=welcome["session"]))["history_complete"] is True


def _forge(token: str) -> str:
    prefix, body, mac = token.split(".")
    return f"{prefix}.{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


async def test_forged_expired_and_cross_store_tokens_are_rejected(client, store_ids):
    sock = await WidgetSocket.connect(client)
    welcome = await sock.hello()
    token = welcome["session"]
    signer = TokenSigner(SESSION_SECRET, 3600, 86400)
    other_secret = TokenSigner("x" * 40, 3600, 86400)
    bad_tokens = {
        "forged mac": _forge(token),
        "other key": other_secret.issue(store_ids["w-a"], "w-a", welcome["conversation_id"]),
        "expired": signer.issue(store_ids["w-a"], "w-a", welcome["conversation_id"], now=time.time() - 7200),
        "too old": signer.issue(store_ids["w-a"], "w-a", "c_old", issued_at=int(time.time()) - 90000),
        "garbage": "not a token",
        "other store": signer.issue(store_ids["w-b"], "w-b", welcome["conversation_id"]),
    }
    for name, bad in bad_tokens.items():
        sock = await WidgetSocket.connect(client)
        frame = await sock.hello(session=bad)
        assert frame["type"] == "error" and frame["code"] == "session_expired", (name, frame)
        # The socket stays open: a fresh hello starts a new conversation.
        fresh = await sock.hello()
        assert fresh["type"] == "welcome" and fresh["conversation_id"] != welcome["conversation_id"], name

    # A token issued for store A is refused by store B even from B's origin.
    sock = await WidgetSocket.connect(client, origin=ORIGIN_B)
    assert (await sock.hello("w-b", session=token))["code"] == "session_expired"


async def test_only_offered_button_payloads_reach_rasa(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    await sock.ask("Yes", payload="/affirm")  # not offered yet
    assert fake_rasa.calls[-1]["message"] == "Yes"
    await sock.ask("buttons")
    await sock.ask("Yes", payload="/affirm")
    assert fake_rasa.calls[-1]["message"] == "/affirm"
    await sock.ask("Evil", payload='/inform{"order_number":"1"}')
    assert fake_rasa.calls[-1]["message"] == "Evil"
    await sock.ask('/inform{"email":"x@y.z"}')  # typed intent syntax is not an intent
    assert not fake_rasa.calls[-1]["message"].startswith("/")
    await sock.ask("Track my order", payload="/track_order")  # quick reply from the widget config
    assert fake_rasa.calls[-1]["message"] == "/track_order"


async def test_offered_payloads_are_not_shared_between_conversations(client, fake_rasa):
    a = await WidgetSocket.connect(client)
    await a.hello()
    await a.ask("buttons")
    b = await WidgetSocket.connect(client)
    await b.hello()
    await b.ask("No", payload="/deny")
    assert fake_rasa.calls[-1]["message"] == "No"


async def test_offered_payloads_survive_a_resume_through_history(client, fake_rasa):
    a = await WidgetSocket.connect(client)
    welcome = await a.hello()
    await a.ask("buttons")
    await a.ws.close()
    await asyncio.sleep(0.05)
    b = await WidgetSocket.connect(client)
    await b.hello(session=welcome["session"])
    await b.ask("No", payload="/deny")
    assert fake_rasa.calls[-1]["message"] == "/deny"


async def test_rate_limit_per_session_and_the_socket_stays_usable(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(messages_per_minute=3, rate_window_seconds=1.0)))
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    ids = [await sock.say(f"n{i}") for i in range(5)]
    answers = {}
    for _ in range(5):
        frame = await sock.recv_type("bot", "error")
        answers[frame["reply_to"]] = frame
    assert [answers[i]["type"] for i in ids] == ["bot", "bot", "bot", "error", "error"]
    assert {answers[i]["code"] for i in ids[3:]} == {"rate_limited"}
    await asyncio.sleep(1.1)
    assert (await sock.ask("later"))["type"] == "bot"


async def test_text_and_frame_size_limits(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    too_long = await sock.ask("x" * 2001)
    assert too_long["type"] == "error" and too_long["code"] == "too_large"
    assert (await sock.ask("é" * 2000))["type"] == "bot"  # 2,000 characters are fine (4 KB of UTF-8)
    await sock.send({"type": "message", "id": "big", "text": "hi", "pad": "y" * 9000})
    frame = await sock.recv()
    assert frame == {"type": "error", "code": "too_large", "message": frame["message"], "reply_to": "big"}
    assert (await sock.ask("still here"))["type"] == "bot"
    assert all(len(c["message"]) <= 2000 for c in fake_rasa.calls)


async def test_one_megabyte_frame_closes_with_1009_and_others_are_unaffected(client):
    other = await WidgetSocket.connect(client)
    await other.hello()
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    await sock.send(json.dumps({"type": "message", "id": "huge", "text": "z" * (1024 * 1024)}))
    assert await sock.closed() == 1009
    assert (await other.ask("fine?"))["type"] == "bot"


async def test_rasa_down_gets_an_apology_not_silence(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    fake_rasa.down = True
    frame = await sock.ask("hello?")
    assert frame["type"] == "error" and frame["code"] == "unavailable" and "try again" in frame["message"].lower()
    fake_rasa.down = False
    fake_rasa.empty = True  # e.g. the action server failed and Rasa said nothing
    frame = await sock.ask("hello?")
    assert frame["type"] == "error" and frame["code"] == "unavailable"
    fake_rasa.empty = False
    assert (await sock.ask("back"))["type"] == "bot"


async def test_rasa_not_listening_at_all(aiohttp_client, make_app, fake_rasa):
    await fake_rasa.server.close()
    client = await aiohttp_client(make_app())
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    frame = await sock.ask("anyone?")
    assert frame["code"] == "unavailable"


async def test_messages_are_processed_in_order_under_concurrent_sends(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    texts = [f"sleep {0.05 if i % 2 else 0.0} #{i}" for i in range(12)]
    ids = [await sock.say(t) for t in texts]
    replies = []
    while len(replies) < len(ids):
        frame = await sock.recv_type("bot", "error")
        replies.append(frame["reply_to"])
    assert replies == ids
    assert [c["message"] for c in fake_rasa.calls] == texts


async def test_two_sockets_of_one_conversation_take_turns(client, fake_rasa):
    a = await WidgetSocket.connect(client)
    welcome = await a.hello()
    b = await WidgetSocket.connect(client)
    await b.hello(session=welcome["session"])
    fake_rasa.delay = 0.05
    for i in range(4):
        await a.say(f"a{i}")
        await b.say(f"b{i}")
    got = 0
    while got < 8:
        for s in (a, b):
            try:
                frame = await s.recv_type("bot", "error", timeout=0.05)
                assert frame["type"] == "bot"
                got += 1
            except asyncio.TimeoutError:
                pass
    assert {c["sender"] for c in fake_rasa.calls} == {welcome["conversation_id"]}
    assert fake_rasa.max_active == 1  # one turn at a time per conversation


async def test_different_conversations_run_concurrently(client, fake_rasa):
    socks = [await WidgetSocket.connect(client) for _ in range(3)]
    for s in socks:
        await s.hello()
    fake_rasa.delay = 0.2
    for s in socks:
        await s.say("hi")
    for s in socks:
        assert (await s.recv_type("bot"))["type"] == "bot"
    assert fake_rasa.max_active == 3  # measured in the fake Rasa: the three turns overlapped


async def test_exactly_one_answer_per_message(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    sent = [await sock.say(t) for t in ("a", "b", "x" * 3000, "c")]
    await sock.send({"type": "message", "id": "no-text"})
    sent.append("no-text")
    answers = []
    while len(answers) < len(sent):
        frame = await sock.recv_type("bot", "error")
        answers.append(frame["reply_to"])
    assert sorted(answers) == sorted(sent)
    await sock.quiet(0.3)
