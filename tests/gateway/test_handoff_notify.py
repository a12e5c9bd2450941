"""Handoff notifications for real: email through a local SMTP server (aiosmtpd) and the signed
Slack-compatible webhook to a local HTTP server; a slow or failing SMTP server never holds up or
breaks the shopper's handoff."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any, Dict, List

import pytest
from aiohttp import web

from bot import appkeys
from bot.services.metrics import NOTIFICATIONS
from bot.core.db.models import StoreIntegration
from bot.services import handoff as service
from bot.services.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_secret
from tests.gateway.helpers import WidgetSocket
from tests.gateway.test_handoff import _ask_for_person, fake_rasa  # noqa: F401 - fixture
from tests.support.ports import free_port
from tests.support.smtp import smtp, smtp_env  # noqa: F401 - fixture

def _smtp_env(port: int) -> Dict[str, str]:
    return {**smtp_env(port), "TRULYBOT_PUBLIC_URL": "https://bot.shop.example"}


def _set_store_config(app: web.Application, store_id: int, handoff: Dict[str, Any]) -> None:
    from bot.services.db import run_in_session

    def update(session: Any) -> None:
        store = session.get(StoreIntegration, store_id)
        store.config = {**(store.config or {}), "handoff": handoff}
    run_in_session(app, update)


def _count(channel: str, outcome: str) -> float:
    return NOTIFICATIONS.labels(channel, "handoff", outcome)._value.get()


async def test_email_and_signed_webhook_arrive_with_a_link_to_the_conversation(
        aiohttp_client, aiohttp_server, make_app, store_ids, smtp):
    box, port = smtp()
    received: List[Dict[str, Any]] = []
    got_hook = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append({"body": await request.read(), "headers": dict(request.headers)})
        got_hook.set()
        return web.json_response({"ok": True})

    hook_app = web.Application()
    hook_app.router.add_post("/slack", hook)
    hook_server = await aiohttp_server(hook_app)
    # the webhook goes through the guarded store client: loopback only at an allowed port
    client = await aiohttp_client(make_app(**_smtp_env(port), TRULYBOT_STORE_LOOPBACK_PORTS=str(hook_server.port)))
    app = client.server.app
    _set_store_config(app, store_ids["w-a"], {"notify_emails": ["team@shop.example"],
                                             "webhook_url": f"http://127.0.0.1:{hook_server.port}/slack"})
    sent_before = _count("email", "sent")

    shopper = await WidgetSocket.connect(client)
    welcome = await shopper.hello()
    await _ask_for_person(shopper)
    assert await box.wait(), "no email arrived"
    await asyncio.wait_for(got_hook.wait(), 10)

    from bot.services.db import in_db
    [handoff] = await in_db(app, lambda s: [h for h in service.inbox(s, service.merchant_of_store(s, store_ids["w-a"]))
                                            if h["conversation_id"] == welcome["conversation_id"]])
    link = f"https://bot.shop.example/dashboard/inbox/{handoff['id']}"
    [mail] = box.messages
    assert mail["from"] == "bot@shop.example" and mail["to"] == ["team@shop.example"]
    assert "Store w-a" in mail["subject"] and link in mail["body"]
    assert _count("email", "sent") == sent_before + 1

    [call] = received
    timestamp = call["headers"][TIMESTAMP_HEADER]
    secret = webhook_secret(app[appkeys.SETTINGS], store_ids["w-a"])
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + call["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call["headers"][SIGNATURE_HEADER], expected)
    payload = json.loads(call["body"])
    assert link in payload["text"] and payload["handoff"]["url"] == link and payload["handoff"]["state"] == "waiting"
    # A signature made with another store's secret does not verify.
    other = webhook_secret(app[appkeys.SETTINGS], store_ids["w-b"])
    assert "sha256=" + hmac.new(other.encode(), timestamp.encode() + b"." + call["body"], hashlib.sha256).hexdigest() != expected


async def test_a_slow_smtp_server_does_not_hold_up_the_chat(aiohttp_client, make_app, store_ids, smtp):
    box, port = smtp()
    box.hold.clear()  # the server takes the message only when the test says so
    client = await aiohttp_client(make_app(**_smtp_env(port)))
    shopper = await WidgetSocket.connect(client)
    await shopper.hello()
    await _ask_for_person(shopper)
    # While the SMTP server sits on the email, the shopper's messages are still answered.
    for text in ("hello?", "anyone?"):
        ack = await shopper.ask(text)
        assert ack["type"] == "bot" and ack["messages"] == []
    assert not box.messages
    box.hold.set()
    assert await box.wait()
    assert len(box.messages) == 1


async def test_a_failing_smtp_server_does_not_break_the_handoff(aiohttp_client, make_app, store_ids, smtp, caplog):
    box, port = smtp(reject=True)
    failed_before = _count("email", "failed")
    client = await aiohttp_client(make_app(**_smtp_env(port)))
    shopper = await WidgetSocket.connect(client)
    await shopper.hello()
    await _ask_for_person(shopper)  # the shopper is told someone joins shortly, as always
    for _ in range(100):
        if _count("email", "failed") > failed_before:
            break
        await asyncio.sleep(0.05)
    assert _count("email", "failed") == failed_before + 1
    assert any("email not sent" in r.getMessage() and "SMTP" in r.getMessage() for r in caplog.records)
    ack = await shopper.ask("still waiting")
    assert ack["type"] == "bot" and ack["messages"] == []


async def test_no_smtp_server_listening_is_logged_and_counted(aiohttp_client, make_app, store_ids):
    failed_before = _count("email", "failed")
    client = await aiohttp_client(make_app(**_smtp_env(free_port())))
    shopper = await WidgetSocket.connect(client)
    await shopper.hello()
    await _ask_for_person(shopper)
    for _ in range(100):
        if _count("email", "failed") > failed_before:
            break
        await asyncio.sleep(0.05)
    assert _count("email", "failed") == failed_before + 1
