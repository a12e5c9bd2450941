"""The merchant's handoff webhook cannot reach the internal network: the URL is refused when it is
saved (the same host check as store URLs) and the address actually connected to is checked by the
store HTTP client's guarded resolver. Only loopback is ever connected to here: names are answered
by a stub resolver with loopback spellings, and the allowance is a loopback port."""
from __future__ import annotations

import socket
from typing import Any, Dict, List

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from bot import appkeys
from bot.core.settings import load_settings
from bot.services.handoff_hours import validate, webhook_url
from bot.services.keys import STORE_HTTP
from bot.services.metrics import NOTIFICATIONS
from bot.services.notify import post_webhook
from plugins.http import StoreHttpClient
from plugins.netguard import AddressPolicy

REFUSED_URLS = [
    "https://127.0.0.1/hook", "https://127.1/hook", "https://2130706433/hook", "https://0x7f000001/hook",
    "https://0177.0.0.1/hook", "https://0/hook", "https://10.1/hook", "https://10.0.0.5/hook",
    "https://192.168.1.10/hook", "https://172.16.0.1/hook", "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hook", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://[fd00::1]/hook",
    "https://[fe80::1]/hook", "https://localhost/hook", "https://api.localhost/hook", "https://printer.local/hook",
    "https://nas.internal/hook", "https://router.lan/hook", "https://box.home.arpa/hook", "https://x.localdomain/hook",
    "https://0.0.0.0/hook", "https://224.0.0.1/hook",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_a_webhook_to_a_private_or_loopback_host_is_refused_when_saved(url):
    with pytest.raises(ValueError, match="webhook_url"):
        validate({"webhook_url": url})


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x",  # plain http outside demo mode
    "https://user:secret@hooks.example.com/x",
    "https://hooks.example.com:99999/x",
    "ftp://hooks.example.com/x",
])
def test_a_webhook_must_be_plain_https(url):
    with pytest.raises(ValueError, match="webhook_url"):
        validate({"webhook_url": url})


def test_public_webhooks_are_kept_and_demo_mode_allows_a_local_listener():
    assert validate({"webhook_url": "https://hooks.slack.com/services/T0/B0/x"}) == {
        "webhook_url": "https://hooks.slack.com/services/T0/B0/x"}
    assert webhook_url("https://8.8.8.8/hook") == "https://8.8.8.8/hook"
    assert webhook_url("http://127.0.0.1:9000/hook", allow_loopback=True) == "http://127.0.0.1:9000/hook"
    assert webhook_url("http://localhost:9000/hook", allow_loopback=True)
    # the allowance is loopback only: private and link-local stay refused in demo mode
    for url in ("https://10.0.0.5/hook", "https://169.254.169.254/", "https://10.1/", "https://printer.local/"):
        with pytest.raises(ValueError):
            webhook_url(url, allow_loopback=True)


class LoopbackResolver(AbstractResolver):
    """Answers every name with loopback spellings only; records the names asked for."""

    def __init__(self, addresses: List[str]) -> None:
        self.addresses = addresses
        self.asked: List[str] = []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> List[Dict[str, Any]]:
        self.asked.append(host)
        return [{"hostname": host, "host": ip, "port": port, "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for ip in self.addresses]

    async def close(self) -> None:
        pass


@pytest.fixture()
async def hook(aiohttp_server):
    """A local webhook receiver; ``hits`` lists the bodies it got."""
    hits: List[bytes] = []

    async def receive(request: web.Request) -> web.Response:
        hits.append(await request.read())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = await aiohttp_server(app)
    server.hits = hits
    return server


def _app(policy: AddressPolicy, resolver: AbstractResolver) -> web.Application:
    app = web.Application()
    app[appkeys.SETTINGS] = load_settings({"TRULYBOT_SESSION_SECRET": "s" * 32})
    app[STORE_HTTP] = StoreHttpClient(max_retries=0, policy=policy, resolver=resolver)
    return app


HANDOFF = {"id": 1, "store_id": 7, "state": "waiting", "requested_at": None}


def _refused() -> float:
    return NOTIFICATIONS.labels("webhook", "handoff", "refused")._value.get()


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["::ffff:127.0.0.1", "127.0.0.2"]])
async def test_a_name_that_resolves_to_loopback_is_refused_at_connect_time(hook, answers):
    resolver = LoopbackResolver(answers)
    app = _app(AddressPolicy(), resolver)  # production: no loopback allowance
    before = _refused()
    try:
        sent = await post_webhook(app, f"http://hooks.example.com:{hook.port}/hook", HANDOFF, "waiting", "https://x")
    finally:
        await app[STORE_HTTP].close()
    assert sent is False and hook.hits == []
    assert resolver.asked == ["hooks.example.com"] and _refused() == before + 1


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]"])
async def test_a_loopback_literal_is_refused_without_asking_the_resolver(hook, host):
    resolver = LoopbackResolver(["127.0.0.1"])
    app = _app(AddressPolicy.with_loopback_ports([hook.port + 1 if hook.port < 65535 else 1]), resolver)
    try:
        sent = await post_webhook(app, f"http://{host}:{hook.port}/hook", HANDOFF, "waiting", "https://x")
    finally:
        await app[STORE_HTTP].close()
    assert sent is False and hook.hits == [] and resolver.asked == []


async def test_the_demo_allowance_reaches_a_loopback_listener_at_its_port(hook):
    resolver = LoopbackResolver(["127.0.0.1"])
    app = _app(AddressPolicy.with_loopback_ports([hook.port]), resolver)
    try:
        sent = await post_webhook(app, f"http://hooks.example.com:{hook.port}/hook", HANDOFF, "waiting", "https://x")
    finally:
        await app[STORE_HTTP].close()
    assert sent is True and len(hook.hits) == 1
