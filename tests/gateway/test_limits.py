"""Per-address connection cap, trusted proxies, idle and hello timeouts, plain HTTP on /ws."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging

from bot.gateway import GatewayLimits
from bot.gateway.addresses import FORWARDING, startup_warning
from tests.gateway.conftest import SESSION_SECRET
from tests.gateway.helpers import WidgetSocket


async def test_connection_cap_per_address(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(connections_per_address=2)))
    first = await WidgetSocket.connect(client)
    second = await WidgetSocket.connect(client)
    third = await WidgetSocket.connect(client)
    frame = await third.recv()
    assert frame["type"] == "error" and frame["code"] == "too_many_connections"
    assert await third.closed() == 1013
    await first.ws.close()
    await asyncio.sleep(0.05)
    fourth = await WidgetSocket.connect(client)
    assert (await fourth.hello())["type"] == "welcome"
    assert (await second.hello())["type"] == "welcome"


async def test_forwarded_for_is_believed_only_from_trusted_proxies(aiohttp_client, make_app, fake_rasa):
    limits = GatewayLimits(connections_per_address=1)
    trusted = await aiohttp_client(make_app(limits, TRULYBOT_TRUSTED_PROXIES="127.0.0.0/8"))
    socks = []
    for n in range(3):  # three shoppers behind the proxy, one connection each
        sock = await WidgetSocket.connect(trusted, headers={"X-Forwarded-For": f"198.51.100.7, 203.0.113.{n}"})
        await sock.hello()
        await sock.ask("hi")
        socks.append(sock)
    clients = [c["metadata"]["client"] for c in fake_rasa.calls]
    assert clients == [hmac.new(SESSION_SECRET.encode(), f"203.0.113.{n}".encode(), hashlib.sha256).hexdigest() for n in range(3)]
    spoof = await WidgetSocket.connect(trusted, headers={"X-Forwarded-For": "203.0.113.0"})
    assert (await spoof.recv())["code"] == "too_many_connections"


async def test_forwarded_for_is_ignored_from_untrusted_peers(aiohttp_client, make_app, fake_rasa):
    client = await aiohttp_client(make_app(TRULYBOT_TRUSTED_PROXIES="10.0.0.0/8"))
    sock = await WidgetSocket.connect(client, headers={"X-Forwarded-For": "203.0.113.9"})
    await sock.hello()
    await sock.ask("hi")
    expected = hmac.new(SESSION_SECRET.encode(), b"127.0.0.1", hashlib.sha256).hexdigest()
    assert fake_rasa.calls[-1]["metadata"]["client"] == expected


async def test_ipv6_clients_count_by_their_64_network(aiohttp_client, make_app, fake_rasa):
    trusted = await aiohttp_client(make_app(TRULYBOT_TRUSTED_PROXIES="127.0.0.0/8"))
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:3::1", "::ffff:203.0.113.5"):
        sock = await WidgetSocket.connect(trusted, headers={"X-Forwarded-For": address})
        await sock.hello()
        await sock.ask("hi")
    clients = [c["metadata"]["client"] for c in fake_rasa.calls]
    expected = [hmac.new(SESSION_SECRET.encode(), group.encode(), hashlib.sha256).hexdigest()
                for group in ("2001:db8:1:2::/64", "2001:db8:1:2::/64", "2001:db8:1:3::/64", "203.0.113.5")]
    assert clients == expected


async def test_untrusted_forwarded_for_is_reported_in_health_without_failing(aiohttp_client, make_app, fake_rasa, caplog):
    client = await aiohttp_client(make_app())
    watch = client.app[FORWARDING]
    plain = await WidgetSocket.connect(client)
    await plain.hello()
    assert watch.warning is None  # no header, nothing to say
    with caplog.at_level(logging.ERROR, logger="bot.gateway.addresses"):
        for n in range(2):
            sock = await WidgetSocket.connect(client, headers={"X-Forwarded-For": f"203.0.113.{n}"})
            await sock.hello()
    assert [r.levelno for r in caplog.records if "X-Forwarded-For" in r.getMessage()] == [logging.ERROR]  # once, loudly
    assert watch.warning.startswith("2 request(s) carried X-Forwarded-For")
    resp = await client.get("/health")
    body = await resp.json()
    assert body["warnings"] == [watch.warning]


def test_startup_warning_when_listening_publicly_without_trusted_proxies():
    assert startup_warning("127.0.0.1", ()) is None
    assert "TRULYBOT_TRUSTED_PROXIES" in startup_warning("0.0.0.0", ())
    assert startup_warning("0.0.0.0", (ipaddress.ip_network("10.0.0.0/8"),)) is None


async def test_idle_socket_is_closed(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(idle_timeout_seconds=0.3, hello_timeout_seconds=0.3)))
    sock = await WidgetSocket.connect(client)
    await sock.hello()
    assert await sock.closed() == 4000
    assert sock.frames[-1]["code"] == "idle_timeout"
    silent = await WidgetSocket.connect(client)
    assert await silent.closed() == 1008


async def test_ping_frame_is_answered(client):
    sock = await WidgetSocket.connect(client)
    await sock.send({"type": "ping"})
    assert await sock.recv() == {"type": "pong"}


async def test_plain_http_get_on_ws_is_a_400(client):
    resp = await client.get("/ws")
    assert resp.status == 400
    assert (await resp.json())["error"] == "bad_request"


async def test_database_down_gives_unavailable_not_a_crash(aiohttp_client, make_app, tmp_path):
    from tests.support.ports import free_port

    client = await aiohttp_client(make_app(TRULYBOT_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none"))
    sock = await WidgetSocket.connect(client)
    frame = await sock.hello()
    assert frame["type"] == "error" and frame["code"] == "unavailable"
    assert await sock.closed() == 1011
    resp = await client.get("/api/widget/config/w-a")
    assert resp.status == 503 and (await resp.json())["error"] == "unavailable"
