"""Webhook deliveries are bound to the store whose secret verified them: the shop they name must be
that store's, duplicates are recognised per store, stale deliveries are refused, and disconnecting
removes the subscriptions at the store."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from plugins.shopify.emulator_webhooks import SUBSCRIPTIONS_KEY
from tests.api.test_webhooks import api_with_push, drain, installed, shopify_headers


def _at(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) - delta).isoformat()


async def test_store_endpoint_refuses_a_delivery_naming_another_shop(env, make_api, shop):
    client, pushes = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    _, store = await installed(env, client, shop)
    body = b'{"name": "#1001", "updated_at": "2030-01-01T00:00:00Z"}'
    url = f"/api/webhooks/shopify/{store.widget_id}"
    resp = await client.post(url, data=body, headers=shopify_headers(body, shop="other-shop.myshopify.com", webhook_id="b1"))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "shop_mismatch"
    resp = await client.post(url, data=body, headers=shopify_headers(body, webhook_id="b2"))
    assert resp.status == 200 and (await resp.json())["status"] == "accepted"


async def test_body_shop_must_agree_with_the_header(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    await installed(env, client, shop)
    body = json.dumps({"shop_domain": "victim.myshopify.com", "customer": {"email": "a@b.example"}}).encode()
    resp = await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, topic="customers/redact"))
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_delivery"


async def test_stale_deliveries_are_refused_fresh_ones_accepted(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    _, store = await installed(env, client, shop)
    body = b'{"name": "#1001"}'
    url = f"/api/webhooks/shopify/{store.widget_id}"
    old = {**shopify_headers(body, webhook_id="s1"), "X-Shopify-Triggered-At": _at(timedelta(days=2))}
    resp = await client.post(url, data=body, headers=old)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "stale_delivery"
    fresh = {**shopify_headers(body, webhook_id="s2"), "X-Shopify-Triggered-At": _at(timedelta(minutes=1))}
    assert (await (await client.post(url, data=body, headers=fresh)).json())["status"] == "accepted"


async def test_duplicates_are_recognised_per_store_and_across_endpoints(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    _, store = await installed(env, client, shop)
    body = b'{"name": "#1001"}'
    headers = shopify_headers(body, webhook_id="same-id")
    first = await client.post(f"/api/webhooks/shopify/{store.widget_id}", data=body, headers=headers)
    again = await client.post("/api/webhooks/shopify", data=body, headers=headers)
    assert (await first.json())["status"] == "accepted" and (await again.json())["status"] == "duplicate"


async def test_disconnect_deregisters_the_webhooks_at_the_store(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    assert len(shop.app[SUBSCRIPTIONS_KEY]) == 4
    resp = await client.post("/api/integrations/shopify/disconnect", headers=merchant.headers, json={"id": store.id})
    assert resp.status == 200
    assert shop.app[SUBSCRIPTIONS_KEY] == []
    await drain(env)


async def test_woocommerce_disconnect_deregisters_the_webhook(env, make_api, woo):
    from plugins.woocommerce.emulator_auth import WEBHOOKS_KEY

    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert len(woo.app[WEBHOOKS_KEY]) == 1 and created["webhooks"]["error"] is None
    resp = await client.post("/api/integrations/woocommerce/disconnect", headers=merchant.headers, json={"id": created["id"]})
    assert resp.status == 200
    assert woo.app[WEBHOOKS_KEY] == []
