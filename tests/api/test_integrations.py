"""Merchant auth, WooCommerce key connect, list, disconnect, delete, orders (against the emulator)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.db.models import MerchantToken, StoreIntegration, UserActivity, WidgetConfig


async def connect_woo(client, merchant, woo, **extra):
    body = {"store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret, **extra}
    return await client.post("/api/integrations/woocommerce/connect", json=body, headers=merchant.headers)


# --- auth -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer tb_wrong"}, {"Authorization": "Bearer " + "x" * 500}])
async def test_every_merchant_route_needs_a_valid_token(make_api, headers):
    client = await make_api()
    for method, path in [("GET", "/api/integrations"), ("DELETE", "/api/integrations?id=1"), ("GET", "/api/activities"),
                         ("POST", "/api/integrations/woocommerce/connect"), ("POST", "/api/integrations/shopify/connect"),
                         ("POST", "/api/integrations/woocommerce/disconnect"), ("GET", "/api/integrations/1/widget"),
                         ("PUT", "/api/integrations/1/widget"), ("POST", "/api/integrations/woocommerce/orders"),
                         ("POST", "/api/integrations/orders/search")]:
        resp = await client.request(method, path, headers=headers, json={})
        body = await resp.json()
        assert resp.status == 401, (method, path)
        assert body["error"]["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_revoked_token_is_refused_and_token_is_stored_hashed(env, make_api):
    from bot.api.auth import revoke_token

    client = await make_api()
    merchant = env.merchant()
    assert (await client.get("/api/integrations", headers=merchant.headers)).status == 200
    rows = env.query(lambda s: [(t.token_hash, t.prefix) for t in s.execute(select(MerchantToken)).scalars()])
    assert all(merchant.token not in h and len(h) == 64 for h, _ in rows)
    assert rows[0][1] == merchant.token[:10]
    env.query(lambda s: revoke_token(s, prefix=merchant.token[:10]))
    assert (await client.get("/api/integrations", headers=merchant.headers)).status == 401


# --- WooCommerce keys ---------------------------------------------------------------------------------

async def test_connect_woocommerce_with_keys_lists_the_store_with_health(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    resp = await connect_woo(client, merchant, woo, display_name="My Woo")
    store = await resp.json()
    assert resp.status == 201, store
    assert store["platform"] == "woocommerce" and store["status"] == "active" and store["display_name"] == "My Woo"
    assert store["health"]["credentials_valid"] is True and store["health"]["last_success_at"]
    assert store["webhooks"]["topics"] == ["order.updated"] and store["webhooks"]["error"] is None
    assert "consumer_key" not in str(store) and woo.secret not in str(store)
    listed = await (await client.get("/api/integrations", headers=merchant.headers)).json()
    assert [s["id"] for s in listed["items"]] == [store["id"]]
    row = env.query(lambda s: s.get(StoreIntegration, store["id"]))
    assert set(row.credentials_encrypted) == {"consumer_key", "consumer_secret"}
    assert row.credentials_encrypted["consumer_key"].startswith("tb2:") and woo.key not in str(row.credentials_encrypted)
    kinds = env.query(lambda s: [a.activity_type for a in s.execute(select(UserActivity)).scalars()])
    assert kinds == ["store_connected"]


async def test_connect_woocommerce_rejects_wrong_keys_and_saves_nothing(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": "ck_" + "0" * 40, "consumer_secret": "cs_" + "0" * 40})
    body = await resp.json()
    assert resp.status == 422 and body["error"]["code"] == "store_auth"
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


async def test_connect_woocommerce_unreachable_store(env, make_api):
    from tests.support.ports import free_port

    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": f"http://127.0.0.1:{free_port()}", "consumer_key": "ck_" + "1" * 40, "consumer_secret": "cs_" + "1" * 40})
    assert resp.status == 502
    error = (await resp.json())["error"]
    assert error["code"] == "store_unreachable" and "did not answer (" in error["message"]
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


async def test_connect_unknown_platform_is_404_listing_the_installed_ones(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/nosuchplatform/connect", headers=merchant.headers, json={})
    assert resp.status == 404
    error = (await resp.json())["error"]
    assert error["code"] == "unknown_platform" and "woocommerce" in error["message"] and "shopify" in error["message"]


async def test_connect_missing_field_is_422_naming_it_and_stores_nothing(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": "https://shop.example", "consumer_key": "ck_" + "1" * 40})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["details"][0]["field"] == "consumer_secret"
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": "https://shop.example", "consumer_key": "ck_" + "1" * 40, "consumer_secret": "cs_1", "extra": "x"})
    assert resp.status == 422 and (await resp.json())["error"]["details"][0]["field"] == "extra"
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


@pytest.mark.parametrize("body,field", [
    ({"store_url": "http://shop.example", "consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"}, "store_url"),
    ({"store_url": "ftp://shop.example", "consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"}, "store_url"),
    ({"store_url": "https://user:pw@shop.example", "consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"}, "store_url"),
    ({"store_url": "https://10.0.0.5", "consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"}, "store_url"),
    ({"store_url": "https://shop.example", "consumer_key": "nope", "consumer_secret": "cs_12345678"}, "consumer_key"),
    ({"store_url": "https://shop.example"}, "consumer_key"),
    ({"store_url": 5}, "store_url"),
    ({"consumer_key": "ck_12345678"}, None),
    ({"store_url": "https://shop.example", "extra": 1}, None),
    ({"store_url": "https://shop.example", "method": "magic"}, "method"),
    ({"store_url": "https://" + "a" * 600 + ".example"}, "store_url"),
])
async def test_connect_woocommerce_validation(env, make_api, body, field):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", json=body, headers=merchant.headers)
    err = (await resp.json())["error"]
    assert resp.status == 422, err
    assert err["code"] == "validation_error"
    if field:
        assert any(d["field"] == field for d in err["details"]), err


@pytest.mark.parametrize("raw,ctype,status,code", [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"", "application/json", 400, "invalid_json"),
    (b"\xff\xfe", "application/json", 400, "invalid_json"),
    (b"[1,2]", "application/json", 422, "validation_error"),
    (b"store_url=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"{" + b'"a":' * 1 + b'"' + b"x" * 70000 + b'"}', "application/json", 413, "too_large"),
])
async def test_malformed_bodies_get_json_errors(env, make_api, raw, ctype, status, code):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", data=raw,
                             headers={**merchant.headers, "Content-Type": ctype})
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_unknown_api_route_and_method_are_json(make_api):
    client = await make_api()
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await client.patch("/api/integrations")
    assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"


# --- ownership, disconnect, delete -----------------------------------------------------------------------

async def test_other_merchants_store_is_404_everywhere(env, make_api, woo):
    client = await make_api()
    owner, other = env.merchant("Owner"), env.merchant("Other")
    store = await (await connect_woo(client, owner, woo)).json()
    sid = store["id"]
    checks = [
        await client.delete(f"/api/integrations?id={sid}", headers=other.headers),
        await client.post("/api/integrations/woocommerce/disconnect", json={"id": sid}, headers=other.headers),
        await client.get(f"/api/integrations/{sid}/widget", headers=other.headers),
        await client.put(f"/api/integrations/{sid}/widget", json={"title": "Hi"}, headers=other.headers),
        await client.post("/api/integrations/woocommerce/orders", json={"store_id": sid, "order_number": "1001"}, headers=other.headers),
        await client.post("/api/integrations/orders/search", json={"email": "a@b.co", "store_id": sid}, headers=other.headers),
        await client.get(f"/api/activities?store_id={sid}", headers=other.headers),
        await client.delete("/api/integrations?id=999999", headers=owner.headers),
    ]
    for resp in checks:
        assert resp.status == 404, resp.url
        assert (await resp.json())["error"]["code"] == "not_found"
    assert (await (await client.get("/api/integrations", headers=other.headers)).json())["items"] == []
    assert env.query(lambda s: s.get(StoreIntegration, sid)).status == "active"


async def test_disconnect_drops_credentials_and_delete_removes_rows(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    store = await (await connect_woo(client, merchant, woo)).json()
    resp = await client.post("/api/integrations/shopify/disconnect", json={"id": store["id"]}, headers=merchant.headers)
    assert resp.status == 404  # wrong platform
    resp = await client.post("/api/integrations/woocommerce/disconnect", json={"id": store["id"]}, headers=merchant.headers)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "disabled" and body["health"]["credentials_valid"] is False
    row = env.query(lambda s: s.get(StoreIntegration, store["id"]))
    assert row.credentials_encrypted == {}
    assert "secret_encrypted" not in row.config["webhooks"]
    resp = await client.post("/api/integrations/woocommerce/disconnect", json={"id": "1"}, headers=merchant.headers)
    assert resp.status == 422
    resp = await client.delete(f"/api/integrations?id={store['id']}", headers=merchant.headers)
    assert resp.status == 200 and (await resp.json())["deleted"] == store["id"]
    assert env.query(lambda s: s.get(StoreIntegration, store["id"])) is None
    assert env.query(lambda s: s.execute(select(WidgetConfig)).all()) == []
    for bad in ("", "?id=", "?id=abc", "?id=-1", "?id=0", "?id=99999999999"):
        resp = await client.delete(f"/api/integrations{bad}", headers=merchant.headers)
        assert resp.status == 422, bad


# --- orders ---------------------------------------------------------------------------------------------------

async def test_order_lookup_and_search_against_the_emulator(env, make_api, woo):
    from plugins.woocommerce import load_seed_orders

    seed = load_seed_orders()[0]
    client = await make_api()
    merchant = env.merchant()
    store = await (await connect_woo(client, merchant, woo)).json()
    resp = await client.post("/api/integrations/woocommerce/orders", headers=merchant.headers,
                             json={"store_id": store["id"], "order_number": str(seed["number"])})
    body = await resp.json()
    assert resp.status == 200, body
    assert body["order"]["number"] == str(seed["number"])
    assert "email" not in body["order"]
    resp = await client.post("/api/integrations/woocommerce/orders", headers=merchant.headers,
                             json={"store_id": store["id"], "order_number": "999999"})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "order_not_found"
    resp = await client.post("/api/integrations/shopify/orders", headers=merchant.headers,
                             json={"store_id": store["id"], "order_number": "1"})
    assert resp.status == 404
    resp = await client.post("/api/integrations/magento/orders", headers=merchant.headers,
                             json={"store_id": store["id"], "order_number": "1"})
    assert resp.status == 404
    email = seed["billing"]["email"]
    resp = await client.post("/api/integrations/orders/search", json={"email": email}, headers=merchant.headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["results"][0]["store_id"] == store["id"]
    assert str(seed["number"]) in [o["number"] for o in body["results"][0]["orders"]]
    for params in ({}, {"email": "not-an-email"}, {"email": email, "store_id": "x"}, {"email": email, "limit": 50},
                   {"email": email, "extra": 1}):
        resp = await client.post("/api/integrations/orders/search", json=params, headers=merchant.headers)
        assert resp.status == 422, params
    resp = await client.get("/api/integrations/orders/search", params={"email": email}, headers=merchant.headers)
    assert resp.status == 405  # the email never travels in a URL
    for body in ({"store_id": store["id"]}, {"store_id": store["id"], "order_number": "a b"},
                 {"store_id": "1", "order_number": "1"}, {"store_id": store["id"], "order_number": "1" * 50}):
        resp = await client.post("/api/integrations/woocommerce/orders", json=body, headers=merchant.headers)
        assert resp.status == 422, body


async def test_orders_on_a_down_store_is_502_with_json(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    store = await (await connect_woo(client, merchant, woo)).json()
    await woo.close()
    resp = await client.post("/api/integrations/woocommerce/orders", headers=merchant.headers,
                             json={"store_id": store["id"], "order_number": "1001"})
    assert resp.status == 502 and (await resp.json())["error"]["code"] == "store_unreachable"


def test_api_config_from_settings(tmp_path):
    import pytest

    from bot.services.config import load_api_config
    from bot.core.settings import SettingsError, load_settings

    demo = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_SHOPIFY_API_BASE_URL": "http://127.0.0.1:8102/"})
    config = load_api_config(demo)
    shop = config.app_settings["shopify"]  # the plugin's app settings, read from TRULYBOT_SHOPIFY_*
    assert shop["api_key"] and shop["api_secret"] and shop["api_base_url"] == "http://127.0.0.1:8102/"
    assert config.allow_http_loopback is True
    production = {"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_MODE": "production",
                  "TRULYBOT_CHANNEL_SECRET": "c" * 40, "TRULYBOT_SESSION_SECRET": "s" * 40}
    config = load_api_config(load_settings({**production, "TRULYBOT_SHOPIFY_API_BASE_URL": "https://evil.example"}))
    shop = config.app_settings["shopify"]
    assert not shop["api_key"] and not shop["api_secret"] and config.allow_http_loopback is False
    from plugins.shopify.oauth import usable_api_base_url

    assert usable_api_base_url(shop["api_base_url"], demo=False) is None  # not a loopback emulator: ignored
    assert config.health_check_interval == 300
    with pytest.raises(SettingsError, match="TRULYBOT_HEALTH_CHECK_INTERVAL"):
        load_settings({**production, "TRULYBOT_HEALTH_CHECK_INTERVAL": "nonsense"})
    config = load_api_config(load_settings({**production, "TRULYBOT_SHOPIFY_API_KEY": "k", "TRULYBOT_SHOPIFY_API_SECRET": "s",
                                            "TRULYBOT_HEALTH_CHECK_INTERVAL": "5"}))
    assert config.app_settings["shopify"]["api_key"] == "k" and config.app_settings["shopify"]["api_secret"] == "s"
    assert config.health_check_interval == 5


async def test_production_refuses_plain_http_and_loopback_stores(env, make_api):
    client = await make_api(allow_http_loopback=False)
    merchant = env.merchant()
    for url in ("http://127.0.0.1:8101", "https://127.0.0.1", "https://localhost", "https://shop.local", "https://[::1]"):
        resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
            "store_url": url, "consumer_key": "ck_12345678", "consumer_secret": "cs_12345678"})
        assert resp.status == 422, url


async def test_connecting_the_same_store_again_updates_its_keys(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    first = await (await connect_woo(client, merchant, woo)).json()
    await client.post("/api/integrations/woocommerce/disconnect", json={"id": first["id"]}, headers=merchant.headers)
    resp = await connect_woo(client, merchant, woo, display_name="Renamed")
    again = await resp.json()
    assert resp.status == 200 and again["id"] == first["id"] and again["widget_id"] == first["widget_id"]
    assert again["status"] == "active" and again["display_name"] == "Renamed" and again["health"]["credentials_valid"]
    assert len((await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"]) == 1
    other = env.merchant("Other")
    resp = await connect_woo(client, other, woo)
    assert resp.status == 201 and (await resp.json())["id"] != first["id"]
