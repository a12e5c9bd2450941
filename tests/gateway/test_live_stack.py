"""The gateway inside the real demo stack (`trulybot up`): demo widget, real Rasa, real actions."""
from __future__ import annotations

import json
import time

import aiohttp
import pytest

pytestmark = pytest.mark.slow


async def test_demo_widget_talks_to_the_real_bot(demo_stack):
    status, body = demo_stack.get("/api/widget/config/demo-woocommerce")
    assert status == 200, body
    config = json.loads(body)
    assert config["socket_url"] == demo_stack.ws_url
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(demo_stack.ws_url, headers={"Origin": demo_stack.base_url}) as ws:
            await ws.send_json({"type": "hello", "widget_id": "demo-woocommerce", "session": None, "locale": "en"})
            welcome = await ws.receive_json(timeout=10)
            assert welcome["type"] == "welcome", welcome
            await ws.send_json({"type": "message", "id": "m1", "text": "hello"})
            frames = []
            while not frames or frames[-1]["type"] == "typing":
                frames.append(await ws.receive_json(timeout=30))
            bot = frames[-1]
            assert bot["type"] == "bot" and bot["reply_to"] == "m1", frames
            assert bot["messages"] and all(isinstance(m["text"], str) for m in bot["messages"])

        # Resume: same conversation, and the first turn is in the history.
        async with http.ws_connect(demo_stack.ws_url, headers={"Origin": demo_stack.base_url}) as ws:
            await ws.send_json({"type": "hello", "widget_id": "demo-woocommerce", "session": welcome["session"]})
            again = await ws.receive_json(timeout=10)
            assert again["conversation_id"] == welcome["conversation_id"]
            assert any(h["role"] == "user" and h["text"] == "hello" for h in again["history"]), again

        # Another origin is refused by the real store's allow-list.
        async with http.ws_connect(demo_stack.ws_url, headers={"Origin": "https://evil.example"}) as ws:
            await ws.send_json({"type": "hello", "widget_id": "demo-shopify", "session": None})
            assert (await ws.receive_json(timeout=10))["code"] == "origin_not_allowed"
