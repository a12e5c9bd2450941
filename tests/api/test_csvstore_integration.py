"""The drop-in example plugin (examples/trulybot-csvstore, installed by `make setup`) end to end on the
demo stack: a merchant connects a CSV store through the generic ``POST /api/integrations/csvstore/connect``
(nothing in TrulyBot names the platform), and a shopper gets its order card with tracking through the
widget socket (bot service → Rasa → action server → the plugin)."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from typing import Any, Dict, Tuple

import aiohttp
import pytest

from tests.gateway.helpers import WidgetSocket
from tests.support.stack import PROJECT, TRULYBOT, Stack

pytest.importorskip("trulybot_csvstore", reason="examples/trulybot-csvstore is installed by `make setup`")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _token(stack: Stack) -> str:
    done = subprocess.run(TRULYBOT + ["merchants", "create", "--name", "CSV Shop"], cwd=PROJECT, env=stack.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return re.search(r"(tb_[A-Za-z0-9_\-]+)", done.stdout).group(1)


def _api(stack: Stack, method: str, path: str, token: str, body: Any = None) -> Tuple[int, Dict[str, Any]]:
    request = urllib.request.Request(stack.base_url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_csvstore_connects_through_the_api_and_answers_a_shopper(demo_stack):
    token = _token(demo_stack)
    status, platforms = _api(demo_stack, "GET", "/api/platforms", token)
    assert status == 200 and "csvstore" in [p["name"] for p in platforms["items"]]
    status, body = _api(demo_stack, "POST", "/api/integrations/csvstore/connect", token, {"nope": "x"})
    assert status == 422 and body["error"]["details"][0]["field"] == "nope"  # unknown fields are named, nothing stored
    status, store = _api(demo_stack, "POST", "/api/integrations/csvstore/connect", token, {"display_name": "CSV Shop"})
    assert status == 201, store
    assert store["platform"] == "csvstore" and store["status"] == "active" and store["health"]["credentials_valid"]
    status, listed = _api(demo_stack, "GET", "/api/integrations", token)
    assert [s["id"] for s in listed["items"]] == [store["id"]]

    async with aiohttp.ClientSession() as http:
        sock = await WidgetSocket.connect(http, origin=demo_stack.base_url, url=demo_stack.ws_url,
                                          headers={"X-Forwarded-For": "203.0.113.201"})
        try:
            welcome = await sock.hello(store["widget_id"])
            assert welcome["type"] == "welcome", welcome
            frame = await sock.ask("where is my order CSV-1001? my email is robin@example.com")
            assert frame["type"] == "bot", frame
            cards = [m["custom"]["order"] for m in frame["messages"] if (m.get("custom") or {}).get("type") == "order"]
            assert len(cards) == 1, frame["messages"]
            card = cards[0]
            assert card["platform"] == "csvstore" and card["number"] == "CSV-1001" and card["status"] == "shipped"
            [parcel] = card["shipments"]
            assert parcel["tracking_url"] == "https://speedy-local.example/track/SL-0001"  # the plugin's own carrier
            assert "robin" not in json.dumps(frame["messages"]).lower()
        finally:
            await sock.ws.close()
