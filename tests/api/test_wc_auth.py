"""WooCommerce app authorization (/wc-auth/v1/authorize) against the emulator."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from sqlalchemy import select

from bot.core.db.models import StoreIntegration, utcnow


async def start(client, merchant, woo):
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers,
                             json={"store_url": woo.url, "method": "wc_auth", "display_name": "Woo via app auth"})
    body = await resp.json()
    assert resp.status == 202, body
    return body


async def browser_get(url, **params):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params=params or None, allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location"), await resp.text()


def path_of(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_full_wc_auth_flow(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    started = await start(client, merchant, woo)
    url = started["authorize_url"]
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(woo.url + "/wc-auth/v1/authorize?")
    assert query["scope"] == "read_write" and query["callback_url"].endswith("/api/integrations/woocommerce/callback")
    assert started["store"]["status"] == "pending"
    status, location, _ = await browser_get(url)
    assert status == 302, location
    assert dict(parse_qsl(urlsplit(location).query))["success"] == "1"
    from plugins.woocommerce.emulator_auth import LAST_AUTH_KEY, WEBHOOKS_KEY

    assert woo.app[LAST_AUTH_KEY]["callback_status"] == 200
    page = await client.get(path_of(location))
    assert page.status == 200 and "connected" in await page.text()
    store = (await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"][0]
    assert store["status"] == "active" and store["display_name"] == "Woo via app auth"
    assert store["webhooks"]["topics"] == ["order.updated"]
    assert woo.app[WEBHOOKS_KEY][0]["delivery_url"].endswith(f"/api/webhooks/woocommerce/{store['widget_id']}")
    row = env.query(lambda s: s.get(StoreIntegration, store["id"]))
    from plugins.woocommerce.emulator import STATE_KEY

    new_key = woo.app[STATE_KEY].consumer_key
    stored = row.credentials_encrypted.get("consumer_key") or ""
    assert new_key not in str(row.credentials_encrypted) and stored.startswith("tb2:")
    # the callback cannot be replayed with other keys
    resp = await client.post("/api/integrations/woocommerce/callback", json={
        "key_id": 9, "user_id": query["user_id"], "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "a" * 40,
        "key_permissions": "read_write"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_state"


@pytest.mark.parametrize("user_id", ["1.forgedforgedforgedforgedforged", "999.abcdefghijklmnopqrstuvwxyz", "abc", 42, "", None])
async def test_callback_with_forged_state_is_refused(env, make_api, woo, user_id):
    client = await make_api()
    merchant = env.merchant()
    await start(client, merchant, woo)
    resp = await client.post("/api/integrations/woocommerce/callback", json={
        "user_id": user_id, "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status in (403, 422)
    assert env.query(lambda s: s.execute(select(StoreIntegration)).scalar_one()).status == "pending"


async def test_callback_with_expired_state_is_refused(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    started = await start(client, merchant, woo)
    state = dict(parse_qsl(urlsplit(started["authorize_url"]).query))["user_id"]

    def expire(session):
        store = session.get(StoreIntegration, started["store"]["id"])
        store.config = {**store.config, "install": {**store.config["install"], "expires_at": (utcnow() - timedelta(seconds=1)).isoformat()}}

    env.query(expire)
    resp = await client.post("/api/integrations/woocommerce/callback", json={
        "user_id": state, "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status == 403
    from bot.services.store_health import run_health_checks_once

    await run_health_checks_once(env.app)  # expired pending stores are removed
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


async def test_callback_keys_must_work_on_the_intended_store(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    started = await start(client, merchant, woo)
    state = dict(parse_qsl(urlsplit(started["authorize_url"]).query))["user_id"]
    resp = await client.post("/api/integrations/woocommerce/callback", json={
        "user_id": state, "consumer_key": "ck_" + "b" * 40, "consumer_secret": "cs_" + "b" * 40})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "keys_rejected"
    row = env.query(lambda s: s.get(StoreIntegration, started["store"]["id"]))
    assert row.status == "error" and row.credentials_encrypted == {}
    # the state was single-use: even good keys are refused now
    resp = await client.post("/api/integrations/woocommerce/callback", json={
        "user_id": state, "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status == 403
    status, _, _ = await browser_get(str(client.make_url("/api/integrations/woocommerce/return")), success="1", user_id=state)
    assert status == 200


async def test_owner_denies(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    started = await start(client, merchant, woo)
    status, location, _ = await browser_get(started["authorize_url"] + "&_emulator_action=deny")
    assert status == 302
    page = await client.get(path_of(location))
    assert page.status == 200 and "cancelled" in (await page.text()).lower()
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []
    page = await client.get("/api/integrations/woocommerce/return?success=1&user_id=<script>")
    assert page.status == 400 and "<script>" not in await page.text()


@pytest.mark.parametrize("raw,status", [(b"{", 400), (b"[]", 422), (b'{"user_id": "1.x"}', 422),
                                        (b'{"user_id": "1.x", "consumer_key": 5, "consumer_secret": "cs_12345678"}', 422)])
async def test_callback_body_validation(make_api, raw, status):
    client = await make_api()
    resp = await client.post("/api/integrations/woocommerce/callback", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == status
    assert "error" in await resp.json()


async def test_wc_auth_rejects_keys_in_body(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "method": "wc_auth", "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status == 422


async def test_wc_auth_started_from_the_dashboard_returns_there(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers,
                             json={"store_url": woo.url, "method": "wc_auth", "return_to": "/dashboard/stores"})
    assert resp.status == 202
    status, location, _ = await browser_get((await resp.json())["authorize_url"])
    assert status == 302
    back = await client.get(path_of(location), allow_redirects=False)
    assert back.status == 302 and back.headers["Location"] == "/dashboard/stores?done=connected"
    bad = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers,
                            json={"store_url": woo.url, "method": "wc_auth", "return_to": "https://evil.example/"})
    assert bad.status == 422
