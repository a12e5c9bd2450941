"""Store calls connect to public addresses only, checked on the resolved address.

Every connection these tests make goes to loopback; names are answered by a stub resolver, so no
test ever resolves or reaches a private or public address.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Dict, List

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from plugins.errors import StoreAddressRefused
from plugins.http import StoreHttpClient
from plugins.netguard import (
    AddressPolicy, AddressRefused, GuardedResolver, canonical_ip, is_numeric_host, is_public_address,
)

FAST = dict(max_retries=0, connect_timeout=1.0, total_timeout=2.0, jitter=False)


class StubResolver(AbstractResolver):
    """Answers from a table; records every name asked for."""

    def __init__(self, table: Dict[str, List[str]]) -> None:
        self.table = table
        self.asked: List[str] = []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        self.asked.append(host)
        return [{"hostname": host, "host": ip, "port": port, "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for ip in self.table.get(host, [])]

    async def close(self) -> None:
        pass


@pytest.fixture
async def loopback_store(aiohttp_server):
    hits: List[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    server.hits = hits
    return server


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "100.127.255.254", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "192.0.2.1", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:c0a8:101::1", "2001:db8::1",
])
def test_non_public_addresses_are_refused(address):
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    assert not AddressPolicy().permits(ip, 443)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "64:ff9b::5db8:d822"])
def test_public_addresses_are_permitted(address):
    assert AddressPolicy().permits(ipaddress.ip_address(address), 443)


def test_the_loopback_allowance_is_per_port_and_loopback_only():
    policy = AddressPolicy.with_loopback_ports([8101])
    assert policy.permits(ipaddress.ip_address("127.0.0.1"), 8101)
    assert policy.permits(ipaddress.ip_address("::1"), 8101)
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"), 5005)
    assert not policy.permits(ipaddress.ip_address("10.0.0.1"), 8101)
    assert not policy.permits(ipaddress.ip_address("169.254.169.254"), 8101)
    assert not AddressPolicy.for_tests().permits(ipaddress.ip_address("192.168.0.1"), 80)


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f000001", "10.1", "0", "0177.0.0.1", "1.2.3.04", "0x7f.1", "127.0.0.1."])
def test_numeric_hosts_in_unusual_forms_are_not_canonical(host):
    assert is_numeric_host(host)
    assert canonical_ip(host) is None


@pytest.mark.parametrize("host", ["shop.example", "my-shop.myshopify.com", "1shop.example", "shop.x0", "xn--80ak6aa92e.com"])
def test_names_are_not_numeric(host):
    assert not is_numeric_host(host)


async def test_a_name_resolving_to_a_private_address_is_refused_without_connecting():
    stub = StubResolver({"shop.example": ["10.1.2.3", "192.168.0.7"]})
    client = StoreHttpClient(**FAST, resolver=stub)
    try:
        with pytest.raises(StoreAddressRefused):
            await client.request("GET", "https://shop.example/wp-json/wc/v3/orders", store_key="s1")
    finally:
        await client.close()
    assert stub.asked == ["shop.example"]


async def test_only_permitted_answers_are_used(loopback_store):
    stub = StubResolver({"shop.example": ["10.9.9.9", "127.0.0.1"]})
    client = StoreHttpClient(**FAST, resolver=stub, policy=AddressPolicy.with_loopback_ports([loopback_store.port]))
    try:
        resp = await client.request("GET", f"http://shop.example:{loopback_store.port}/x", store_key="s1")
    finally:
        await client.close()
    assert resp.status == 200 and loopback_store.hits == ["/x"]


async def test_a_name_rebinding_to_a_private_address_is_refused_on_the_next_connection(loopback_store):
    stub = StubResolver({"shop.example": ["127.0.0.1"]})
    policy = AddressPolicy.with_loopback_ports([loopback_store.port])
    client = StoreHttpClient(**FAST, resolver=stub, policy=policy)
    try:
        assert (await client.request("GET", f"http://shop.example:{loopback_store.port}/a", store_key="s1")).status == 200
        await client.close()  # a new connection, a new lookup
        stub.table["shop.example"] = ["10.0.0.1"]  # the name now points inside the network
        with pytest.raises(StoreAddressRefused):
            await client.request("GET", f"http://shop.example:{loopback_store.port}/b", store_key="s2")
    finally:
        await client.close()
    assert loopback_store.hits == ["/a"] and stub.asked == ["shop.example", "shop.example"]


@pytest.mark.parametrize("spelling", [
    "127.0.0.1", "2130706433", "127.1", "0x7f000001", "0177.0.0.1", "0", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "localhost",
])
async def test_loopback_in_any_spelling_is_refused_at_connect_time(loopback_store, spelling):
    client = StoreHttpClient(**FAST)
    try:
        with pytest.raises(StoreAddressRefused):
            await client.request("GET", f"http://{spelling}:{loopback_store.port}/orders", store_key="s1")
    finally:
        await client.close()
    assert loopback_store.hits == []


async def test_the_guarded_resolver_raises_when_nothing_is_left():
    resolver = GuardedResolver(AddressPolicy(), StubResolver({"a.example": ["127.0.0.1", "fe80::1%eth0"]}))
    with pytest.raises(AddressRefused):
        await resolver.resolve("a.example", 443)
    with pytest.raises(AddressRefused):
        await resolver.resolve("unknown.example", 443)
