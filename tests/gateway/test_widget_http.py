"""Widget config API, widget script URLs (caching, ETag, gzip) and the demo page."""
from __future__ import annotations

import base64
import gzip
import os

import pytest

from tests.gateway.conftest import ORIGIN_A

SCRIPTS = ["/widget.js", "/api/widget/woocommerce.js", "/api/widget/shopify.js"]


async def test_widget_config_has_only_what_the_widget_needs(client):
    resp = await client.get("/api/widget/config/w-a")
    assert resp.status == 200
    body = await resp.json()
    assert body == {
        "widget_id": "w-a", "store_name": "Store w-a", "platform": "woocommerce", "title": "Help w-a",
        "greeting": "Hi there!", "primary_color": "#4f46e5", "text_color": "#ffffff", "position": "right",
        "avatar_url": None, "quick_replies": [{"title": "Track my order", "payload": "/track_order"}],
        "locale": "en", "socket_url": body["socket_url"],
    }
    assert body["socket_url"].startswith("ws://") and body["socket_url"].endswith("/ws")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in resp.headers["Cache-Control"]
    etag = resp.headers["ETag"]
    again = await client.get("/api/widget/config/w-a", headers={"If-None-Match": etag})
    assert again.status == 304


async def test_widget_config_socket_url_follows_the_public_url(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(TRULYBOT_PUBLIC_URL="https://chat.example.com"))
    assert (await (await client.get("/api/widget/config/w-a")).json())["socket_url"] == "wss://chat.example.com/ws"


@pytest.mark.parametrize("widget_id", ["nope", "w-off", "w-hidden", "x" * 100])
async def test_widget_config_of_unknown_widgets_is_404(client, widget_id):
    resp = await client.get(f"/api/widget/config/{widget_id}")
    assert resp.status == 404 and (await resp.json())["error"] == "unknown_widget"


async def test_widget_script_urls_are_cached_with_etags(client):
    etags = set()
    for path in SCRIPTS:
        resp = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/javascript")
        assert "max-age=86400" in resp.headers["Cache-Control"]
        etags.add(resp.headers["ETag"])
        assert (await client.get(path, headers={"If-None-Match": resp.headers["ETag"]})).status == 304
    assert len(etags) == 1
    plain = await (await client.get("/widget.js", headers={"Accept-Encoding": "identity"})).read()
    resp = await client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert resp.headers.get("Content-Encoding") == "gzip"
    assert await resp.read() == plain  # the client decompressed it


async def test_versioned_widget_script_is_immutable(client):
    page = await (await client.get("/demo")).text()
    src = page.split('src="')[1].split('"')[0]
    assert "?v=" in src
    resp = await client.get(src)
    assert "immutable" in resp.headers["Cache-Control"] and "31536000" in resp.headers["Cache-Control"]


async def test_demo_page_embeds_one_demo_widget(client):
    resp = await client.get("/demo")
    assert resp.status == 200
    page = await resp.text()
    assert 'data-widget-id="demo-woocommerce"' in page
    page = await (await client.get("/demo?store=demo-shopify")).text()
    assert 'data-widget-id="demo-shopify"' in page
    page = await (await client.get('/demo?store="><script>alert(1)</script>')).text()
    assert "alert(1)" not in page and 'data-widget-id="demo-woocommerce"' in page


async def test_demo_page_only_in_demo_mode(aiohttp_client, make_app):
    key = base64.b64encode(os.urandom(32)).decode()
    client = await aiohttp_client(make_app(TRULYBOT_MODE="production", TRULYBOT_ENCRYPTION_KEYS=f"k1:{key}"))
    assert (await client.get("/demo")).status == 404
