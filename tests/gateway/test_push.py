"""Proactive messages: the signed internal push API, in one process and across two via Redis."""
from __future__ import annotations

import json
import secrets

import pytest

from bot.gateway import GatewayLimits
from bot.core.signing import sign
from tests.gateway.conftest import CHANNEL_SECRET
from tests.gateway.helpers import WidgetSocket
from tests.support.servers import require_redis


async def _push(client, body, secret: str = CHANNEL_SECRET, headers=None):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    hdrs = {"Content-Type": "application/json", **(sign(secret, raw) if secret else {}), **(headers or {})}
    return await client.post("/internal/push", data=raw, headers=hdrs)


async def test_push_reaches_the_live_conversation_only(client, store_ids):
    a = await WidgetSocket.connect(client)
    wa = await a.hello()
    b = await WidgetSocket.connect(client)
    await b.hello()
    resp = await _push(client, {"conversation_id": wa["conversation_id"],
                                "messages": [{"text": "Your order shipped!", "buttons": [{"title": "Track", "payload": "/track_order"}]}]})
    assert resp.status == 200 and await resp.json() == {"published": False, "delivered": 1}
    frame = await a.recv()
    assert frame == {"type": "bot", "messages": [{"text": "Your order shipped!", "buttons": [{"title": "Track", "payload": "/track_order"}]}]}
    assert "reply_to" not in frame
    await b.quiet(0.2)


async def test_pushed_buttons_count_as_offered(client, fake_rasa):
    a = await WidgetSocket.connect(client)
    wa = await a.hello()
    await _push(client, {"conversation_id": wa["conversation_id"], "messages": [{"text": "Rate us", "buttons": [{"title": "Great", "payload": "/thank"}]}]})
    await a.recv()
    await a.ask("Great", payload="/thank")
    assert fake_rasa.calls[-1]["message"] == "/thank"


async def test_push_store_filter_and_missing_conversation(client, store_ids):
    a = await WidgetSocket.connect(client)
    wa = await a.hello()
    resp = await _push(client, {"conversation_id": wa["conversation_id"], "store_id": store_ids["w-b"], "text": "wrong store"})
    assert (await resp.json())["delivered"] == 0
    resp = await _push(client, {"conversation_id": "c_nobody", "text": "hello?"})
    assert resp.status == 200 and (await resp.json())["delivered"] == 0
    resp = await _push(client, {"conversation_id": wa["conversation_id"], "store_id": store_ids["w-a"], "text": "right store"})
    assert (await resp.json())["delivered"] == 1
    assert (await a.recv())["messages"] == [{"text": "right store"}]


@pytest.mark.parametrize("body,status", [
    ({"conversation_id": "c_x", "messages": []}, 400),
    ({"conversation_id": "c_x", "messages": [{"nothing": 1}]}, 400),
    ({"conversation_id": 5, "text": "hi"}, 400),
    ({"text": "hi"}, 400),
    ({"conversation_id": "c_x", "text": "hi", "store_id": "1"}, 400),
    (b"not json", 400),
    (b"[1]", 400),
    (b"x" * 40000, 413),
])
async def test_push_rejects_bad_bodies(client, body, status):
    resp = await _push(client, body)
    assert resp.status == status
    assert (await resp.json())["error"] in ("bad_request", "too_large")


async def test_push_requires_a_valid_signature(client):
    body = {"conversation_id": "c_x", "text": "hi"}
    assert (await _push(client, body, secret="")).status == 401
    assert (await _push(client, body, secret="w" * 40)).status == 401
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign(CHANNEL_SECRET, raw)}
    assert (await client.post("/internal/push", data=raw, headers=headers)).status == 200
    replay = await client.post("/internal/push", data=raw, headers=headers)
    assert replay.status == 401 and "replay" in (await replay.json())["message"]


@pytest.mark.redis
async def test_push_crosses_replicas_through_redis(aiohttp_client, make_app, fake_rasa):
    redis_url = require_redis()
    limits = GatewayLimits(redis_channel=f"trulybot-test:{secrets.token_hex(6)}:push",
                           redis_prefix=f"trulybot-test:{secrets.token_hex(6)}:", messages_per_minute=2)
    one = await aiohttp_client(make_app(limits, TRULYBOT_REDIS_URL=redis_url))
    two = await aiohttp_client(make_app(limits, TRULYBOT_REDIS_URL=redis_url))
    sock = await WidgetSocket.connect(one)
    welcome = await sock.hello()
    resp = await _push(two, {"conversation_id": welcome["conversation_id"], "text": "From the other replica"})
    assert resp.status == 202
    assert (await resp.json())["replicas"] >= 2
    frame = await sock.recv()
    assert frame == {"type": "bot", "messages": [{"text": "From the other replica"}]}

    # The rate limit is counted in Redis, so a conversation cannot reset it by switching replicas.
    await sock.ask("one")
    other = await WidgetSocket.connect(two)
    await other.hello(session=welcome["session"])
    assert (await other.ask("two"))["type"] == "bot"
    assert (await other.ask("three"))["code"] == "rate_limited"
