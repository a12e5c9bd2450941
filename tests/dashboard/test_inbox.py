"""The inbox over HTTP: listing, live events, CSRF, replies and their refusals, other merchants."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import pytest
from aiohttp import web

from bot import appkeys
from bot.core.db.models import StoreIntegration, WidgetConfig
from bot.rasa.client import RasaClient
from bot.services import handoff as service
from tests.dashboard.conftest import Dash

JSON = {"Accept": "application/json"}


class Recorder:
    """Stands in for Rasa's signed channel: keeps what ``/record`` received."""

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []

    async def record(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.events.extend(body["events"])
        return web.json_response({"recorded": len(body["events"])})


@pytest.fixture
async def inbox(env, make_api, aiohttp_server):
    return await make_inbox(env, make_api, aiohttp_server)


async def make_inbox(env, make_api, aiohttp_server):
    """Alice's and Bob's stores with one waiting conversation each; Alice signed in; Rasa's
    ``/record`` answered by a :class:`Recorder`."""
    recorder = Recorder()
    server_app = web.Application()
    server_app.router.add_post("/webhooks/trulybot/record", recorder.record)
    server = await aiohttp_server(server_app)

    def use_recorder(app: web.Application) -> None:
        async def swap(app: web.Application) -> None:  # runs after the HTTP session exists
            app[appkeys.RASA] = RasaClient(f"http://127.0.0.1:{server.port}", "x" * 40, app[appkeys.HTTP])
        app.on_startup.append(swap)

    client = await make_api(use_recorder)
    alice = env.merchant("Alice's Shop")
    bob = env.merchant("Bob's Shop")

    def seed(session) -> Dict[str, int]:
        ids = {}
        for name, merchant in (("alice", alice), ("bob", bob)):
            store = StoreIntegration(user_id=merchant.id, platform="woocommerce", display_name=f"{name} store", config={})
            store.widget = WidgetConfig()
            session.add(store)
            session.flush()
            ids[name] = service.request(session, store.id, f"c_{name}", {"locale": "en"})["id"]
        return ids

    ids = env.query(seed)
    dash = Dash(client, alice)
    await dash.sign_in()
    return dash, ids, recorder, env


async def test_inbox_lists_only_the_merchants_conversations(inbox):
    dash, ids, _, _ = inbox
    html = await dash.page("/dashboard/inbox")
    assert f'href="/dashboard/inbox/{ids["alice"]}"' in html and "alice store" in html
    assert f'/dashboard/inbox/{ids["bob"]}' not in html
    resp = await dash.get(f"/dashboard/inbox/{ids['bob']}")
    assert resp.status == 404
    resp = await dash.get(f"/dashboard/inbox/{ids['bob']}/data")
    assert resp.status == 404 and (await resp.json())["error"] == "not_found"


async def test_reply_needs_csrf_is_limited_in_size_and_refused_once_closed(inbox):
    dash, ids, recorder, _ = inbox
    path = f"/dashboard/inbox/{ids['alice']}/reply"
    resp = await dash.client.post(path, data={"text": "hi"}, headers=JSON)
    assert resp.status == 403
    resp = await dash.client.post(path, data={"csrf": dash.csrf, "text": "x" * 2001}, headers=JSON)
    assert resp.status == 413 and "2000" in (await resp.json())["message"]
    resp = await dash.client.post(path, data={"csrf": dash.csrf, "text": "<script>alert(1)</script>"}, headers=JSON)
    assert resp.status == 200, await resp.text()
    assert recorder.events[-1] == {"kind": "agent", "text": "<script>alert(1)</script>", "name": "Alice's Shop"}
    resp = await dash.client.post(f"/dashboard/inbox/{ids['bob']}/reply", data={"csrf": dash.csrf, "text": "hi"},
                                  headers=JSON)
    assert resp.status == 404
    resp = await dash.client.post(f"/dashboard/inbox/{ids['alice']}/close", data={"csrf": dash.csrf}, headers=JSON)
    assert resp.status == 200 and (await resp.json())["handoff"]["state"] == "closed"
    assert recorder.events[-1] == {"kind": "resume"}
    resp = await dash.client.post(path, data={"csrf": dash.csrf, "text": "still there?"}, headers=JSON)
    assert resp.status == 409 and "closed" in (await resp.json())["message"]
    # A plain form post (no JavaScript) gets a page, not JSON.
    resp = await dash.post(path, {"text": "again"})
    assert resp.status == 409 and "text/html" in resp.headers["Content-Type"]


async def test_events_stream_the_merchants_changes(inbox):
    dash, ids, _, _ = inbox
    resp = await dash.client.get("/dashboard/inbox/events")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    assert b"event: ready" in first
    claim = await dash.client.post(f"/dashboard/inbox/{ids['alice']}/claim", data={"csrf": dash.csrf}, headers=JSON)
    assert claim.status == 200
    chunk = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    kind, data = chunk.decode().strip().split("\n", 1)
    assert kind == "event: changed"
    event = json.loads(data.removeprefix("data: "))
    assert event["handoff"]["state"] == "active" and event["handoff"]["agent"]["name"] == "Alice's Shop"
    assert "frame" not in event
    resp.close()


async def test_the_inbox_page_escapes_what_the_shopper_typed(inbox):
    dash, ids, _, env = inbox

    def ticket(session) -> None:
        row = session.get(service.Handoff, ids["alice"])
        row.question = '<img src=x onerror="alert(1)">'
    env.query(ticket)
    html = await dash.page(f"/dashboard/inbox/{ids['alice']}")
    assert '<img src=x onerror' not in html and "&lt;img src=x onerror=" in html
