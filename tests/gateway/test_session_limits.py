"""New conversations are rate-limited per address group and per store; limiter memory is pruned."""
from __future__ import annotations

import secrets

import pytest

from bot.gateway import GatewayLimits
from bot.gateway.addresses import address_group
from bot.gateway.ratelimit import MessageRateLimiter, NewSessionLimiter, SlidingWindow
from tests.gateway.conftest import ORIGIN_B
from tests.gateway.helpers import WidgetSocket
from tests.support.servers import require_redis


async def _new_chat(client, forwarded=None, session=None):
    sock = await WidgetSocket.connect(client, headers={"X-Forwarded-For": forwarded} if forwarded else None)
    return sock, await sock.hello(session=session)


async def test_new_sessions_per_address_are_limited_and_resumes_are_not(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(new_sessions_per_address=3)))
    tokens = []
    for _ in range(3):
        sock, frame = await _new_chat(client)
        assert frame["type"] == "welcome"
        tokens.append(frame["session"])
        await sock.ws.close()
    sock, frame = await _new_chat(client)
    assert frame["type"] == "error" and frame["code"] == "rate_limited" and "your address" in frame["message"]
    assert await sock.closed() == 1013
    sock, frame = await _new_chat(client, session=tokens[0])  # resuming writes nothing: not limited
    assert frame["type"] == "welcome" and frame["resumed"] is True


async def test_each_address_behind_a_trusted_proxy_has_its_own_budget(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(new_sessions_per_address=1), TRULYBOT_TRUSTED_PROXIES="127.0.0.0/8"))
    assert (await _new_chat(client, "203.0.113.1"))[1]["type"] == "welcome"
    assert (await _new_chat(client, "203.0.113.2"))[1]["type"] == "welcome"
    assert (await _new_chat(client, "203.0.113.1"))[1]["code"] == "rate_limited"
    # IPv6: one /64 is one subscriber
    assert (await _new_chat(client, "2001:db8:1:2::1"))[1]["type"] == "welcome"
    assert (await _new_chat(client, "2001:db8:1:2:ffff::9"))[1]["code"] == "rate_limited"
    assert (await _new_chat(client, "2001:db8:1:3::1"))[1]["type"] == "welcome"


async def test_a_store_wide_budget_caps_new_sessions_from_many_addresses(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(GatewayLimits(new_sessions_per_address=100, new_sessions_per_store=3),
                                           TRULYBOT_TRUSTED_PROXIES="127.0.0.0/8"))
    for n in range(3):
        assert (await _new_chat(client, f"198.51.100.{n}"))[1]["type"] == "welcome"
    sock, frame = await _new_chat(client, "198.51.100.99")
    assert frame["code"] == "rate_limited" and "this store" in frame["message"]
    other = await WidgetSocket.connect(client, origin=ORIGIN_B, headers={"X-Forwarded-For": "198.51.100.98"})
    assert (await other.hello(widget_id="w-b"))["type"] == "welcome"  # another store keeps its budget


@pytest.mark.parametrize("address, group", [
    ("203.0.113.5", "203.0.113.5"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.5", "203.0.113.5"), ("unknown", "unknown"),
])
def test_address_groups(address, group):
    assert address_group(address) == group


def test_the_sliding_window_forgets_quiet_keys():
    window = SlidingWindow(limit=5, window=10.0)
    for n in range(1000):
        assert window.allow(f"conversation-{n}", now=1000.0)
    assert len(window) == 1000
    window.allow("late", now=1011.0)  # a whole window later: the quiet keys go
    assert len(window) == 1


async def test_the_message_limiter_does_not_grow_without_bound():
    limiter = MessageRateLimiter(limit=20, window=0.05)
    for n in range(500):
        assert await limiter.allow(f"c_{n}")
    import asyncio

    await asyncio.sleep(0.06)
    assert await limiter.allow("c_new")
    assert len(limiter.local) == 1


async def test_new_session_budgets_are_shared_through_redis():
    import redis.asyncio as aioredis

    url = require_redis()
    redis = aioredis.from_url(url)
    prefix = f"trulybot-test:{secrets.token_hex(6)}:"
    try:
        first = NewSessionLimiter(2, 100, 60.0, redis, prefix)
        second = NewSessionLimiter(2, 100, 60.0, redis, prefix)  # another replica
        assert await first.allow("203.0.113.1", 1) is None
        assert await second.allow("203.0.113.1", 1) is None
        assert await first.allow("203.0.113.1", 1) == "address"
        assert await second.allow("203.0.113.2", 1) is None
    finally:
        await redis.close()


async def test_the_shared_message_window_slides_across_second_boundaries():
    """Two messages just before a whole second and one just after stay in one window: a fixed
    per-bucket counter would reset at the boundary and let the third through."""
    import asyncio
    import time

    import redis.asyncio as aioredis

    url = require_redis()
    redis = aioredis.from_url(url)
    prefix = f"trulybot-test:{secrets.token_hex(6)}:"
    try:
        limiter = MessageRateLimiter(limit=2, window=1.0, redis=redis, prefix=prefix)
        server_seconds, micros = await redis.time()
        await asyncio.sleep((1_000_000 - micros) / 1e6 + 0.6)  # 0.6 s into a second, by the server's clock
        assert await limiter.allow("c")
        assert await limiter.allow("c")
        await asyncio.sleep(0.5)  # the next second has begun; 0.5 s since the first message
        assert not await limiter.allow("c")
        await asyncio.sleep(0.6)  # now the first two are older than the window
        assert await limiter.allow("c")
        assert len(limiter.local) == 0  # counted in Redis, not in the process
    finally:
        await redis.close()
