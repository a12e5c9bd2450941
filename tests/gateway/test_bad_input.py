"""Bad input on the widget socket: error frames or a clean close with a code, never a crash or a leak."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.gateway import GatewayLimits
from tests.gateway.helpers import WidgetSocket


@pytest.mark.parametrize("raw", [
    "not json", "", "{", "[]", "42", "null", '"hello"', "[" * 5000 + "]" * 5000,
    json.dumps({"type": "nonsense"}), json.dumps({"no": "type"}), json.dumps({"type": 7}),
])
async def test_garbage_gets_bad_frame_and_the_socket_stays_usable(client, raw):
    sock = await WidgetSocket.connect(client)
    await sock.send(raw)
    frame = await sock.recv()
    assert frame["type"] == "error" and frame["code"] in ("bad_frame", "too_large"), frame
    assert (await sock.hello())["type"] == "welcome"
    assert (await sock.ask("ok"))["type"] == "bot"


async def test_binary_frames_are_refused(client):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    await sock.ws.send_bytes(b'{"type":"message","id":"b","text":"hi"}')
    frame = await sock.recv()
    assert frame["type"] == "error" and frame["code"] == "bad_frame"
    assert (await sock.ask("ok"))["type"] == "bot"


@pytest.mark.parametrize("hello", [
    {"type": "hello"},
    {"type": "hello", "widget_id": 5},
    {"type": "hello", "widget_id": ""},
    {"type": "hello", "widget_id": "w-a", "session": 12},
    {"type": "hello", "widget_id": "w-a", "session": {"c": "c_x"}},
])
async def test_hello_with_missing_or_wrong_fields(client, hello):
    sock = await WidgetSocket.connect(client)
    await sock.send(hello)
    frame = await sock.recv()
    assert frame["type"] == "error" and frame["code"] == "bad_frame"
    assert (await sock.hello())["type"] == "welcome"


async def test_bad_locale_falls_back_to_the_store_locale(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello(locale="<script>")
    await sock.ask("hi")
    assert fake_rasa.calls[-1]["metadata"]["locale"] == "en"


@pytest.mark.parametrize("message,code", [
    ({"type": "message", "text": "no id"}, "bad_frame"),
    ({"type": "message", "id": 5, "text": "numeric id"}, "bad_frame"),
    ({"type": "message", "id": "x" * 65, "text": "long id"}, "bad_frame"),
    ({"type": "message", "id": "m"}, "bad_frame"),
    ({"type": "message", "id": "m", "text": "   "}, "bad_frame"),
    ({"type": "message", "id": "m", "text": ["a"]}, "bad_frame"),
    ({"type": "message", "id": "m", "text": "hi", "payload": {"x": 1}}, "bad_frame"),
])
async def test_messages_with_missing_or_wrong_fields(client, fake_rasa, message, code):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    await sock.send(message)
    frame = await sock.recv()
    assert frame["type"] == "error" and frame["code"] == code
    if isinstance(message.get("id"), str) and len(message["id"]) <= 64:
        assert frame["reply_to"] == message["id"]
    assert fake_rasa.calls == []
    assert (await sock.ask("ok"))["type"] == "bot"


async def test_message_before_hello(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    client_id = await sock.say("hi")
    frame = await sock.recv()
    assert frame == {"type": "error", "code": "bad_frame", "message": frame["message"], "reply_to": client_id}
    assert fake_rasa.calls == []
    assert (await sock.hello())["type"] == "welcome"


async def test_hello_twice(client):
    sock = await WidgetSocket.connect(client)
    welcome = await sock.hello()
    again = await sock.hello("w-b")
    assert again["type"] == "error" and again["code"] == "bad_frame"
    await sock.ask("hi")  # still the first conversation
    assert (await sock.ask("hi"))["type"] == "bot"
    assert welcome["type"] == "welcome"


async def test_flood_of_frames_closes_only_that_socket(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(frames_per_window=30, messages_per_minute=10)))
    other = await WidgetSocket.connect(client)
    await other.hello()
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    for i in range(40):  # 10 over the frame limit; stop there so the close frame is not lost in a reset
        if sock.ws.closed:
            break
        try:
            await sock.say(f"flood {i}")
        except (ConnectionError, RuntimeError):
            break
    assert await sock.closed(timeout=30) == 1008, sock.frames
    codes = {f.get("code") for f in sock.frames if f["type"] == "error"}
    assert "rate_limited" in codes
    assert (await other.ask("still fine"))["type"] == "bot"


async def test_socket_closed_mid_turn_does_not_disturb_others(client, fake_rasa):
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    await sock.say("sleep 0.3")
    await sock.say("queued behind")
    await asyncio.wait_for(fake_rasa.started.wait(), 5)
    await sock.ws.close()
    other = await WidgetSocket.connect(client)
    await other.hello()
    assert (await other.ask("hello"))["type"] == "bot"
    await asyncio.sleep(0.4)
    # The in-flight turn finished; the queued one was dropped with its socket.
    assert [c["message"] for c in fake_rasa.calls] == ["sleep 0.3", "hello"]


async def test_nothing_leaks_between_conversations(client, fake_rasa):
    a = await WidgetSocket.connect(client)
    wa = await a.hello()
    b = await WidgetSocket.connect(client)
    wb = await b.hello()
    assert wa["conversation_id"] != wb["conversation_id"] and wa["session"] != wb["session"]
    await a.ask("secret of a")
    await b.ask("from b")
    assert all("secret of a" not in json.dumps(f) for f in b.frames)
    b2 = await WidgetSocket.connect(client)
    resumed = await b2.hello(session=wb["session"])
    assert all("secret of a" not in json.dumps(h) for h in resumed["history"])
