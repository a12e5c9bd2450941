"""Live handoff through the real gateway and inbox with a scripted Rasa: states, routing, frames,
transcript recording, resume, bad input, and two replicas sharing Redis."""
from __future__ import annotations

import asyncio
import secrets
from typing import Any, Dict, List

import pytest
from aiohttp import web

from bot.gateway import GatewayLimits
from bot.gateway.handoff import QUEUED
from bot.services import handoff as service
from bot.services import handoff_agent
from bot.services.handoff import Actor, HandoffError
from tests.gateway.conftest import FakeRasa
from tests.gateway.helpers import WidgetSocket
from tests.support.servers import require_redis

MARKER = {"type": "handoff", "reason": "asked"}


class HandoffRasa(FakeRasa):
    """The fake channel plus ``/record``; the text "human" makes the bot ask for a person."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded: List[Dict[str, Any]] = []

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/webhooks/trulybot/record", self.record_route)
        return app

    async def _answer(self, data: Dict[str, Any]) -> web.Response:
        if data["message"] == "human":
            self.history.setdefault(data["sender"], []).append({"role": "user", "text": "human", "timestamp": 1.0})
            return web.json_response({"messages": [{"text": "I'm passing you to the team.", "custom": MARKER}]})
        return await super()._answer(data)

    async def record_route(self, request: web.Request) -> web.Response:
        if not self._verified(await request.read(), request):
            return web.json_response({"error": "unauthorized"}, status=401)
        data = await request.json()
        log = self.history.setdefault(data["sender"], [])
        for event in data["events"]:
            self.recorded.append({"sender": data["sender"], **event})
            if event["kind"] == "user":
                log.append({"role": "user", "text": event["text"], "timestamp": 3.0})
            elif event["kind"] == "agent":
                log.append({"role": "agent", "text": event["text"], "agent": {"name": event["name"]}, "timestamp": 4.0})
            elif event["kind"] == "bot":
                log.append({"role": "bot", "text": event["text"], "timestamp": 4.0})
        return web.json_response({"recorded": len(data["events"])})


@pytest.fixture
async def fake_rasa(aiohttp_server):  # overrides the gateway conftest's fixture for this module
    fake = HandoffRasa()
    fake.server = await aiohttp_server(fake.app())
    fake.port = fake.server.port
    return fake


def _merchant_of(app: web.Application, store_id: int) -> int:
    from bot.services.db import run_in_session

    return run_in_session(app, service.merchant_of_store, store_id)


async def _ask_for_person(shopper: WidgetSocket) -> Dict[str, Any]:
    frame = await shopper.ask("human")
    assert frame["type"] == "bot"
    texts = [m["text"] for m in frame["messages"]]
    assert texts[0] == "I'm passing you to the team." and "join this chat" in texts[1]
    assert all("custom" not in m for m in frame["messages"])  # the marker never reaches the widget
    state = await shopper.recv_type("handoff")
    assert state["state"] == "waiting"
    return frame


async def _open_handoff(app: web.Application, merchant_id: int) -> Dict[str, Any]:
    from bot.services.db import in_db

    items = await in_db(app, service.inbox, merchant_id, 0)
    assert len(items) == 1, items
    return items[0]


async def test_handoff_routes_the_shopper_to_a_person_and_back(client, fake_rasa, store_ids):
    app = client.server.app
    shopper = await WidgetSocket.connect(client)
    welcome = await shopper.hello()
    conversation_id = welcome["conversation_id"]
    await _ask_for_person(shopper)
    # The pause and the gateway's own line are in the transcript, as the assistant's turn.
    assert fake_rasa.recorded == [{"sender": conversation_id, "kind": "pause"},
                                  {"sender": conversation_id, "kind": "bot", "text": QUEUED}]
    merchant_id = _merchant_of(app, store_ids["w-a"])
    handoff = await _open_handoff(app, merchant_id)
    assert handoff["state"] == "waiting" and handoff["conversation_id"] == conversation_id

    # While the team has it, the shopper's messages are recorded, not answered by the bot:
    # exactly one (empty) bot frame per message.
    webhook_calls = len(fake_rasa.calls)
    ack = await shopper.ask("is anyone there?")
    assert ack["type"] == "bot" and ack["messages"] == []
    assert len(fake_rasa.calls) == webhook_calls
    assert fake_rasa.recorded[-1]["kind"] == "user" and fake_rasa.recorded[-1]["text"] == "is anyone there?"

    sam = Actor(merchant_id, "Sam")
    await handoff_agent.act(app, sam, handoff["id"], "claim")
    joined = await shopper.recv_type("handoff")
    assert joined == {"type": "handoff", "state": "active", "agent": {"name": "Sam"}, "text": "Sam joined the chat."}
    await handoff_agent.typing(app, sam, handoff["id"])
    assert await shopper.recv_type("agent_typing") == {"type": "agent_typing", "agent": {"name": "Sam"}}
    await handoff_agent.reply(app, sam, handoff["id"], "Hi, I'm Sam. Let me check <b>that</b>.")
    message = await shopper.recv_type("bot")
    assert message == {"type": "bot", "from": "agent", "agent": {"name": "Sam"},
                       "messages": [{"text": "Hi, I'm Sam. Let me check <b>that</b>."}]}
    assert fake_rasa.recorded[-1] == {"sender": conversation_id, "kind": "agent", "name": "Sam",
                                      "text": "Hi, I'm Sam. Let me check <b>that</b>."}

    with pytest.raises(HandoffError) as too_big:
        await handoff_agent.reply(app, sam, handoff["id"], "x" * (handoff_agent.MAX_REPLY_CHARS + 1))
    assert too_big.value.status == 413
    with pytest.raises(HandoffError) as foreign:
        await handoff_agent.reply(app, Actor(merchant_id + 999, "Eve"), handoff["id"], "hello")
    assert foreign.value.status == 404

    await handoff_agent.act(app, sam, handoff["id"], "hand_back")
    back = await shopper.recv_type("handoff")
    assert back["state"] == "closed" and "back with the assistant" in back["text"]
    assert fake_rasa.recorded[-1]["kind"] == "resume"

    answer = await shopper.ask("thanks")
    assert answer["messages"] == [{"text": "echo: thanks"}]  # the bot answers again
    with pytest.raises(HandoffError) as closed:
        await handoff_agent.reply(app, sam, handoff["id"], "one more thing")
    assert closed.value.status == 409 and "closed" in closed.value.message
    from bot.services.db import in_db

    row = await in_db(app, service.get, handoff["id"], sam)
    assert row["resolution"] == "person" and row["first_reply_at"] and row["closed_at"]


async def test_a_reply_sent_while_the_shopper_is_away_is_seen_on_resume(client, fake_rasa, store_ids):
    app = client.server.app
    shopper = await WidgetSocket.connect(client)
    welcome = await shopper.hello()
    await _ask_for_person(shopper)
    await shopper.ws.close()
    merchant_id = _merchant_of(app, store_ids["w-a"])
    handoff = await _open_handoff(app, merchant_id)
    await handoff_agent.reply(app, Actor(merchant_id, "Sam"), handoff["id"], "Your parcel left today.")

    back = await WidgetSocket.connect(client)
    resumed = await back.hello(session=welcome["session"])
    assert resumed["type"] == "welcome" and resumed["resumed"] is True
    assert resumed["handoff"] == {"type": "handoff", "state": "active", "agent": {"name": "Sam"}}
    assert resumed["history"][-1] == {"role": "agent", "text": "Your parcel left today.", "agent": {"name": "Sam"},
                                      "timestamp": 4.0}
    ack = await back.ask("great, thanks")
    assert ack["messages"] == []  # still with Sam after the reconnect


async def test_state_machine_refuses_what_makes_no_sense():
    assert service.next_state("claim", "waiting") == "active"
    assert service.next_state("hand_back", "active") == "closed"
    for action, state, status in (("release", "waiting", 409), ("claim", "closed", 409), ("reply", "ticket", 409),
                                  ("hand_back", "ticket", 409)):
        with pytest.raises(HandoffError) as err:
            service.next_state(action, state)
        assert err.value.status == status


@pytest.mark.redis
async def test_handoff_across_two_replicas_sharing_redis(aiohttp_client, make_app, fake_rasa, store_ids):
    redis_url = require_redis()
    limits = GatewayLimits(redis_channel=f"trulybot-test:{secrets.token_hex(6)}:push",
                           redis_prefix=f"trulybot-test:{secrets.token_hex(6)}:")
    one = await aiohttp_client(make_app(limits, TRULYBOT_REDIS_URL=redis_url))
    two = await aiohttp_client(make_app(limits, TRULYBOT_REDIS_URL=redis_url))
    shopper = await WidgetSocket.connect(one)
    await shopper.hello()
    await _ask_for_person(shopper)
    app_two = two.server.app
    merchant_id = _merchant_of(app_two, store_ids["w-a"])
    handoff = await _open_handoff(app_two, merchant_id)
    # The person works on replica two; the shopper's socket is on replica one.
    await handoff_agent.act(app_two, Actor(merchant_id, "Kim"), handoff["id"], "claim")
    assert (await shopper.recv_type("handoff"))["state"] == "active"
    await handoff_agent.reply(app_two, Actor(merchant_id, "Kim"), handoff["id"], "Hello from replica two")
    assert (await shopper.recv_type("bot"))["messages"] == [{"text": "Hello from replica two"}]
    assert (await shopper.ask("ok"))["messages"] == []  # replica one knows the conversation is with Kim
    await handoff_agent.act(app_two, Actor(merchant_id, "Kim"), handoff["id"], "close")
    assert (await shopper.recv_type("handoff"))["state"] == "closed"
    await asyncio.sleep(0)
    assert (await shopper.ask("bye"))["messages"] == [{"text": "echo: bye"}]


async def test_outside_opening_hours_the_shopper_leaves_an_email_and_a_question(client, fake_rasa, store_ids):
    from bot import appkeys
    from bot.core.db.models import StoreIntegration
    from bot.services.handoff_hours import ASK_QUESTION, BAD_EMAIL

    app = client.server.app
    with app[appkeys.DB_SESSIONS].begin() as session:  # a team that is never in
        session.get(StoreIntegration, store_ids["w-a"]).config = {"handoff": {"timezone": "UTC", "hours": {}}}
    shopper = await WidgetSocket.connect(client)
    await shopper.hello()
    frame = await shopper.ask("human")
    assert "not available right now" in frame["messages"][-1]["text"]
    assert (await shopper.recv_type("handoff"))["state"] == "ticket"
    assert (await shopper.ask("my email is nope"))["messages"] == [{"text": BAD_EMAIL}]
    assert (await shopper.ask("Jane@Example.com"))["messages"] == [{"text": ASK_QUESTION}]
    done = await shopper.ask("Can I change the size of my shirt?")
    assert "jane@example.com" in done["messages"][0]["text"]
    merchant_id = _merchant_of(app, store_ids["w-a"])
    ticket = await _open_handoff(app, merchant_id)
    assert ticket["state"] == "ticket" and ticket["email"] == "jane@example.com"
    assert ticket["question"] == "Can I change the size of my shirt?"
    # The transcript has the offline message and the ticket's questions as the assistant's turns.
    said = [(e["kind"], e.get("text", "")) for e in fake_rasa.recorded if e["kind"] in ("bot", "agent")]
    assert said[0][0] == "bot" and "not available right now" in said[0][1]
    assert [kind for kind, _ in said] == ["bot"] * 4
    assert [text for _, text in said[1:3]] == [BAD_EMAIL, ASK_QUESTION]
    with pytest.raises(HandoffError) as by_chat:
        await handoff_agent.reply(app, Actor(merchant_id, "Sam"), ticket["id"], "hi")
    assert by_chat.value.status == 409


def test_record_route_turns_items_into_rasa_events():
    from rasa.shared.core.events import BotUttered, ConversationPaused, UserUttered

    from bot.rasa.channel import history_from_events, recorded_events

    events = recorded_events([{"kind": "pause"}, {"kind": "bot", "text": QUEUED}, {"kind": "user", "text": "hi"},
                              {"kind": "agent", "text": "Hello", "name": "Sam"}])
    assert [type(e) for e in events] == [ConversationPaused, BotUttered, UserUttered, BotUttered]
    history = history_from_events([e.as_dict() for e in events], 10)
    # The gateway's own line is the assistant's turn; the person's reply carries their name.
    assert [(h["role"], h["text"]) for h in history] == [("bot", QUEUED), ("user", "hi"), ("agent", "Hello")]
    for bad in ([{"kind": "bot"}], [{"kind": "shout", "text": "x"}], []):
        with pytest.raises(ValueError):
            recorded_events(bad)
