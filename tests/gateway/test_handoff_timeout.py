"""A waiting conversation nobody claims within the store's claim timeout becomes a ticket: the
shopper is told when the team will answer and leaves an email and question; with two replicas
exactly one of them does it (the database row decides)."""
from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web

from bot import appkeys
from bot.core.db.models import Handoff, StoreIntegration
from bot.gateway import GatewayLimits
from bot.services import handoff as service
from bot.services import handoff_timeout
from bot.services.handoff_hours import ASK_QUESTION, HandoffSettings
from tests.gateway.helpers import WidgetSocket
from tests.gateway.test_handoff import _ask_for_person, _merchant_of, _open_handoff, fake_rasa  # noqa: F401
from tests.support.servers import require_redis


def _configure(app: web.Application, store_id: int, timeout: int) -> None:
    with app[appkeys.DB_SESSIONS].begin() as session:
        session.get(StoreIntegration, store_id).config = {"handoff": {"claim_timeout_minutes": timeout}}


def _age(app: web.Application, handoff_id: int, minutes: int) -> None:
    with app[appkeys.DB_SESSIONS].begin() as session:
        row = session.get(Handoff, handoff_id)
        row.requested_at = datetime.now(timezone.utc) - timedelta(minutes=minutes)


async def test_an_unclaimed_conversation_becomes_a_ticket_after_the_timeout(client, fake_rasa, store_ids):
    app = client.server.app
    _configure(app, store_ids["w-a"], 5)
    shopper = await WidgetSocket.connect(client)
    await shopper.hello()
    await _ask_for_person(shopper)
    merchant_id = _merchant_of(app, store_ids["w-a"])
    handoff = await _open_handoff(app, merchant_id)

    assert await handoff_timeout.sweep(app) == 0  # not overdue yet: nothing happens
    _age(app, handoff["id"], 4)
    assert await handoff_timeout.sweep(app) == 0
    _age(app, handoff["id"], 6)
    assert await handoff_timeout.sweep(app) == 1
    assert (await shopper.recv_type("handoff"))["state"] == "ticket"
    told = await shopper.recv_type("bot")
    assert "Nobody from the team could join" in told["messages"][0]["text"] and "email" in told["messages"][0]["text"]
    assert fake_rasa.recorded[-1]["kind"] == "bot" and fake_rasa.recorded[-1]["text"] == told["messages"][0]["text"]
    assert await handoff_timeout.sweep(app) == 0  # done once

    assert (await shopper.ask("jo@example.com"))["messages"] == [{"text": ASK_QUESTION}]
    done = await shopper.ask("Where is the parcel for order 1001?")
    assert "jo@example.com" in done["messages"][0]["text"]
    ticket = await _open_handoff(app, merchant_id)
    assert ticket["state"] == "ticket" and ticket["email"] == "jo@example.com"
    assert ticket["question"] == "Where is the parcel for order 1001?" and ticket["context"]["timed_out"] is True


async def test_stores_without_a_timeout_and_claimed_conversations_are_left_alone(client, fake_rasa, store_ids):
    app = client.server.app
    shopper = await WidgetSocket.connect(client)
    await shopper.hello()
    await _ask_for_person(shopper)
    merchant_id = _merchant_of(app, store_ids["w-a"])
    handoff = await _open_handoff(app, merchant_id)
    _age(app, handoff["id"], 600)
    assert await handoff_timeout.sweep(app) == 0  # no claim_timeout_minutes configured
    _configure(app, store_ids["w-a"], 1)
    from bot.services import handoff_agent
    await handoff_agent.act(app, service.Actor(merchant_id, "Sam"), handoff["id"], "claim")
    assert await handoff_timeout.sweep(app) == 0  # someone has it


def test_the_conditional_update_converts_once(tmp_path):
    from bot.core.db import make_engine, make_sessionmaker
    from bot.core.db.migrate import upgrade
    from bot.core.db.models import Merchant, WidgetConfig

    url = f"sqlite:///{tmp_path}/t.db"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions.begin() as session:
        merchant = Merchant(name="M")
        session.add(merchant)
        session.flush()
        store = StoreIntegration(user_id=merchant.id, platform="woocommerce", config={"handoff": {"claim_timeout_minutes": 2}})
        store.widget = WidgetConfig()
        session.add(store)
        session.flush()
        handoff_id = service.request(session, store.id, "c1", {})["id"]
    later = datetime.now(timezone.utc) + timedelta(minutes=3)
    with sessions.begin() as session:
        assert handoff_timeout.overdue(session, later) == [handoff_id]
        assert handoff_timeout.overdue(session, later - timedelta(minutes=2)) == []
        first = handoff_timeout.to_ticket(session, handoff_id)
        assert first is not None and first["state"] == "ticket" and "Nobody from the team" in first["message"]
    with sessions.begin() as session:
        assert handoff_timeout.to_ticket(session, handoff_id) is None
        assert handoff_timeout.overdue(session, later) == []


def test_the_timeout_message_says_when_the_team_answers():
    berlin = HandoffSettings.from_store({"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}})
    monday_noon = datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc)  # 12:00 in Berlin
    assert "before 17:00 (Europe/Berlin)" in berlin.timeout_message(monday_noon)
    monday_night = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)
    assert "back Monday 09:00 (Europe/Berlin)" in berlin.timeout_message(monday_night)
    assert "Nobody from the team" in HandoffSettings.from_store({}).timeout_message()


@pytest.mark.redis
async def test_two_replicas_sweeping_at_once_convert_it_once(aiohttp_client, make_app, fake_rasa, store_ids):
    redis_url = require_redis()
    limits = GatewayLimits(redis_channel=f"trulybot-test:{secrets.token_hex(6)}:push",
                           redis_prefix=f"trulybot-test:{secrets.token_hex(6)}:")
    one = await aiohttp_client(make_app(limits, TRULYBOT_REDIS_URL=redis_url))
    two = await aiohttp_client(make_app(limits, TRULYBOT_REDIS_URL=redis_url))
    app_one, app_two = one.server.app, two.server.app
    _configure(app_one, store_ids["w-a"], 1)
    shopper = await WidgetSocket.connect(one)
    await shopper.hello()
    await _ask_for_person(shopper)
    handoff = await _open_handoff(app_two, _merchant_of(app_two, store_ids["w-a"]))
    _age(app_one, handoff["id"], 2)
    recorded_before = len(fake_rasa.recorded)
    results: Any = await asyncio.gather(*(handoff_timeout.sweep(a) for a in (app_one, app_two, app_two, app_one)))
    assert sum(results) == 1
    assert (await shopper.recv_type("handoff"))["state"] == "ticket"
    assert "Nobody from the team" in (await shopper.recv_type("bot"))["messages"][0]["text"]
    await shopper.quiet(0.3)  # told once, not once per replica
    assert len(fake_rasa.recorded) == recorded_before + 1  # one line in the transcript, not two
