"""Shopify install: the whole OAuth flow against the emulator, and every way to break it."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from sqlalchemy import select

from bot.core.db.models import StoreIntegration
from bot.services import install_state
from plugins.shopify.oauth import query_hmac
from tests.api.conftest import SHOPIFY_SECRET

COOKIE_NAME = install_state.cookie_name("shopify")


def sign_state(secret, payload):
    return install_state.sign_state(secret, "shopify", payload)


async def start(client, merchant, shop_domain):
    resp = await client.post("/api/integrations/shopify/connect", json={"shop": shop_domain}, headers=merchant.headers)
    body = await resp.json()
    assert resp.status == 200, body
    return body["install_url"]


async def authorize(install_url):
    """What the merchant's browser does at Shopify: approve, get redirected back (Location)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(install_url, allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
            return resp.headers["Location"]


def path_of(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def resign(params, secret=SHOPIFY_SECRET):
    params = {k: v for k, v in params.items() if k != "hmac"}
    params["hmac"] = query_hmac(secret, params)
    return params


async def test_full_oauth_flow_stores_token_encrypted_and_registers_webhooks(env, make_api, shop):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    install_url = await start(client, merchant, shop.domain)
    query = dict(parse_qsl(urlsplit(install_url).query))
    assert query["client_id"] == "test-shopify-app" and "read_orders" in query["scope"]
    assert query["redirect_uri"].endswith("/api/integrations/shopify/callback") and len(query["state"]) >= 20
    callback = await authorize(install_url)
    resp = await client.get(path_of(callback))
    text = await resp.text()
    assert resp.status == 200, text
    assert "connected" in text
    assert COOKIE_NAME in resp.headers.get("Set-Cookie", "")  # cleared
    listed = (await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"]
    assert len(listed) == 1 and listed[0]["platform"] == "shopify" and listed[0]["shop_domain"] == shop.domain
    assert listed[0]["status"] == "active" and listed[0]["health"]["credentials_valid"] is True
    assert sorted(listed[0]["webhooks"]["topics"]) == sorted(["ORDERS_UPDATED", "FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE", "APP_UNINSTALLED"])
    from plugins.shopify.emulator_webhooks import SUBSCRIPTIONS_KEY

    assert all(s["callbackUrl"].endswith(f"/api/webhooks/shopify/{listed[0]['widget_id']}") for s in shop.app[SUBSCRIPTIONS_KEY])
    row = env.query(lambda s: s.execute(select(StoreIntegration)).scalar_one())
    assert list(row.credentials_encrypted) == ["access_token"]
    assert row.credentials_encrypted["access_token"].startswith("tb2:") and "shpat_" not in str(row.credentials_encrypted)
    # the merchant can look orders up through the stored token
    resp = await client.post("/api/integrations/shopify/orders", headers=merchant.headers,
                             json={"store_id": row.id, "order_number": "#1001"})
    body = await resp.json()
    assert resp.status == 200, body
    assert body["order"]["number"] == "1001" and "email" not in body["order"]
    # replaying the same callback (same cookie, same state) is refused
    client.session.cookie_jar.update_cookies({})
    replay = await client.get(path_of(callback))
    assert replay.status == 403


async def test_replayed_state_with_a_fresh_cookie_is_refused(env, make_api, shop):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    install_url = await start(client, merchant, shop.domain)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/api/integrations/shopify/callback"))[COOKIE_NAME].value
    callback = await authorize(install_url)
    assert (await client.get(path_of(callback))).status == 200
    client.session.cookie_jar.update_cookies({COOKIE_NAME: cookie})
    params = resign({**dict(parse_qsl(urlsplit(callback).query)), "timestamp": str(int(time.time()))})
    resp = await client.get("/api/integrations/shopify/callback", params=params, cookies={COOKIE_NAME: cookie})
    assert resp.status == 403 and "already used" in await resp.text()


@pytest.mark.parametrize("case", ["bad_hmac", "no_hmac", "stale", "future", "no_timestamp", "forged_state", "no_cookie",
                                  "forged_cookie", "expired_cookie", "foreign_shop", "invalid_shop", "bad_code", "duplicate_param"])
async def test_callback_refusals(env, make_api, shop, case):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    install_url = await start(client, merchant, shop.domain)
    callback = await authorize(install_url)
    params = dict(parse_qsl(urlsplit(callback).query))
    cookies = None
    expected = 403
    if case == "bad_hmac":
        params["hmac"] = "0" * 64
        expected = 401
    elif case == "no_hmac":
        params.pop("hmac")
        expected = 401
    elif case == "stale":
        params = resign({**params, "timestamp": str(int(time.time()) - 3600)})
        expected = 400
    elif case == "future":
        params = resign({**params, "timestamp": str(int(time.time()) + 3600)})
        expected = 400
    elif case == "no_timestamp":
        params.pop("timestamp")
        params = resign(params)
        expected = 400
    elif case == "forged_state":
        params = resign({**params, "state": "attacker-chosen-state-value-123"})
    elif case == "no_cookie":
        client.session.cookie_jar.clear()
    elif case == "forged_cookie":
        cookies = {COOKIE_NAME: sign_state("not-the-session-secret-" * 2, {"n": params["state"], "shop": shop.domain,
                                                                          "m": merchant.id, "exp": time.time() + 60})}
        client.session.cookie_jar.clear()
    elif case == "expired_cookie":
        cookies = {COOKIE_NAME: sign_state(_secret(env),
                                           {"n": params["state"], "shop": shop.domain, "m": merchant.id, "exp": time.time() - 1})}
        client.session.cookie_jar.clear()
    elif case == "foreign_shop":
        params = resign({**params, "shop": "someone-else.myshopify.com"})
    elif case == "invalid_shop":
        params = resign({**params, "shop": "evil.example.com"})
        expected = 400
    elif case == "bad_code":
        params = resign({**params, "code": "f" * 32})
        expected = 400
    elif case == "duplicate_param":
        query = "&".join(f"{k}={v}" for k, v in params.items()) + "&shop=other.myshopify.com"
        resp = await client.get("/api/integrations/shopify/callback?" + query)
        assert resp.status == 400
        return
    resp = await client.get("/api/integrations/shopify/callback", params=params, cookies=cookies)
    assert resp.status == expected, (case, await resp.text())
    assert resp.content_type == "text/html"
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


def _secret(env):
    from bot import appkeys

    return env.app[appkeys.SETTINGS].session_secret


@pytest.mark.parametrize("shop_domain", ["evil.example.com", "-bad.myshopify.com", "a.myshopify.com.evil.com",
                                         "shop.myshopify.com/x", "", "x" * 300 + ".myshopify.com", "sh op.myshopify.com"])
async def test_connect_rejects_bad_shop_domains(env, make_api, shop_domain):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/shopify/connect", json={"shop": shop_domain}, headers=merchant.headers)
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "validation_error"


async def test_shop_of_another_merchant_cannot_be_taken(env, make_api, shop):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    owner, other = env.merchant("Owner"), env.merchant("Other")
    callback = await authorize(await start(client, owner, shop.domain))
    assert (await client.get(path_of(callback))).status == 200
    resp = await client.post("/api/integrations/shopify/connect", json={"shop": shop.domain}, headers=other.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "shop_taken"


async def test_install_started_from_the_dashboard_returns_there(env, make_api, shop):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    resp = await client.post("/api/integrations/shopify/connect", headers=merchant.headers,
                             json={"shop": shop.domain, "return_to": "/dashboard/stores"})
    assert resp.status == 200, await resp.text()
    callback = await authorize((await resp.json())["install_url"])
    back = await client.get(path_of(callback), allow_redirects=False)
    assert back.status == 302 and back.headers["Location"] == "/dashboard/stores?done=connected"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/api/integrations", "/dashboard/../x"])
async def test_return_to_only_accepts_dashboard_pages(env, make_api, shop, target):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    resp = await client.post("/api/integrations/shopify/connect", headers=env.merchant().headers,
                             json={"shop": shop.domain, "return_to": target})
    assert resp.status == 422
