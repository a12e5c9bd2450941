"""Store URLs: refused at validation when they name a non-public or oddly spelled numeric host."""
from __future__ import annotations

import pytest

from bot.api.errors import ApiError
from bot.api.validation import store_base_url

REFUSED_NUMERIC = ["https://2130706433", "https://127.1", "https://0x7f000001", "https://10.1", "https://0",
                   "https://0177.0.0.1", "https://1.2.3.04", "https://0x7f.1"]
REFUSED_PRIVATE = ["https://100.64.0.1", "https://10.0.0.1", "https://192.168.1.1", "https://169.254.169.254",
                   "https://0.0.0.0", "https://224.0.0.1", "https://[fd00::1]", "https://[fe80::1]",
                   "https://[::ffff:10.0.0.1]", "https://[64:ff9b::a00:1]", "https://shop.local", "https://db.internal",
                   "https://nas.lan", "https://printer.home.arpa", "https://box.localdomain"]
REFUSED_LOOPBACK = ["https://127.0.0.1", "https://localhost", "https://[::1]", "https://[::ffff:127.0.0.1]", "http://127.0.0.1:8101"]


def _error(url, allow):
    with pytest.raises(ApiError) as caught:
        store_base_url(url, "store_url", allow_http_loopback=allow)
    return caught.value


@pytest.mark.parametrize("url", REFUSED_NUMERIC)
def test_numeric_hosts_in_unusual_forms_are_refused_even_in_demo_mode(url):
    for allow in (True, False):
        err = _error(url, allow)
        assert err.status == 422 and err.code == "validation_error" and "numeric host" in err.message


@pytest.mark.parametrize("url", REFUSED_PRIVATE)
def test_private_hosts_are_refused(url):
    for allow in (True, False):
        err = _error(url, allow)
        assert err.code == "validation_error" and err.message == "must be a public store address", url


@pytest.mark.parametrize("url", REFUSED_LOOPBACK)
def test_loopback_is_refused_outside_demo_mode(url):
    err = _error(url, False)
    assert err.code == "validation_error"
    assert err.message in ("must be a public store address", "must use https:// (plain http is only accepted for local emulators in demo mode)")


def test_public_and_demo_loopback_urls_pass():
    assert store_base_url("https://Shop.Example/", "store_url", allow_http_loopback=False) == "https://shop.example"
    assert store_base_url("https://93.184.216.34", "store_url", allow_http_loopback=False) == "https://93.184.216.34"
    assert store_base_url("http://127.0.0.1:8101", "store_url", allow_http_loopback=True) == "http://127.0.0.1:8101"


async def test_connecting_a_store_whose_name_resolves_privately_is_refused(env, make_api):
    """The connection check goes through the guarded resolver: a stub answers 10.x for the name."""
    import socket

    from aiohttp.abc import AbstractResolver

    from bot.services.keys import STORE_HTTP
    from plugins.http import StoreHttpClient

    class Private(AbstractResolver):
        async def resolve(self, host, port=0, family=socket.AF_INET):
            return [{"hostname": host, "host": "10.20.30.40", "port": port, "family": socket.AF_INET, "proto": 0,
                     "flags": socket.AI_NUMERICHOST}]

        async def close(self):
            pass

    def strict(app):
        app[STORE_HTTP] = StoreHttpClient(max_retries=0, resolver=Private())

    client = await make_api(app_setup=strict, allow_http_loopback=False)
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": "https://shop.example", "consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"})
    body = await resp.json()
    assert resp.status == 422 and body["error"]["code"] == "store_address_refused", body


NUMERIC_MESSAGE = "has a numeric host in an unusual form; write an IPv4 address as four decimal numbers"
HTTPS_MESSAGE = "must use https:// (plain http is only accepted for local emulators in demo mode)"


@pytest.mark.parametrize("url,allow,message", [
    ("https://", False, "must contain a host name"),
    ("https:///orders", True, "must contain a host name"),
    ("https://127.1", True, NUMERIC_MESSAGE),
    ("https://" + "ä" * 64 + ".example", False, "has an invalid host name"),  # IDNA label too long
    ("https://shop_name.example", False, "has an invalid host name"),
    ("https://shop.example:99999", False, "is not a valid URL"),
    ("ftp://shop.example", True, "must be an https:// URL"),
    ("https://user@shop.example", False, "must not contain credentials"),
    ("https://:secret@shop.example", False, "must not contain credentials"),
    ("https://shop.example/?page=1", False, "must not contain a query string or fragment"),
    ("https://shop.example/#top", False, "must not contain a query string or fragment"),
    ("http://shop.example", True, HTTPS_MESSAGE),  # http only for loopback, even in demo mode
    ("http://127.0.0.1:8101", False, HTTPS_MESSAGE),  # and only in demo mode
    ("https://127.0.0.1", False, "must be a public store address"),
    ("https://10.0.0.1", True, "must be a public store address"),
])
def test_each_refusal_says_exactly_why(url, allow, message):
    err = _error(url, allow)
    assert (err.status, err.code, err.message) == (422, "validation_error", message)
    assert err.details == [{"field": "store_url", "message": message}]


def test_https_loopback_passes_in_demo_mode_and_keeps_the_port_and_path():
    assert store_base_url("https://[::1]:8443/shop/", "store_url", allow_http_loopback=True) == "https://[::1]:8443/shop"
    assert store_base_url("https://SHOP.example:8443/a/b/", "store_url", allow_http_loopback=False) == "https://shop.example:8443/a/b"
    assert store_base_url("https://shop.example/shopX//", "store_url", allow_http_loopback=False) == "https://shop.example/shopX"
