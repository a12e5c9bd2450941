"""Webhooks: Shopify (orders, fulfillments, app/uninstalled, privacy topics) and WooCommerce order.updated."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import func, select

from bot.services import activity
from bot.services.keys import PUSH, REDACTORS, WEBHOOK_WORKER
from bot.core.db.models import LookupAttempt, StoreIntegration, UserActivity, WidgetConfig
from tests.api.conftest import SHOPIFY_SECRET
from tests.api.test_shopify_oauth import authorize, path_of, start


class Pushes(list):
    async def __call__(self, conversation_id, messages, store_id):
        self.append((conversation_id, messages, store_id))


async def api_with_push(make_api, **config):
    pushes = Pushes()
    client = await make_api(app_setup=lambda app: app.__setitem__(PUSH, pushes), **config)
    return client, pushes


def lookup(env, merchant_id, store_id, number, conversation, outcome="shown"):
    env.query(lambda s: activity.record_activity(s, merchant_id, activity.LOOKUP, f"Order #{number} shown", store_id,
                                                 {"outcome": outcome, "order_number": number, "conversation_id": conversation}))


async def drain(env):
    await env.app[WEBHOOK_WORKER].drain()


def shopify_headers(body: bytes, topic="orders/updated", shop="trulybot-demo.myshopify.com", webhook_id="w1", secret=SHOPIFY_SECRET):
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Hmac-Sha256": digest, "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": webhook_id, "Content-Type": "application/json"}


async def installed(env, client, shop):
    merchant = env.merchant()
    callback = await authorize(await start(client, merchant, shop.domain))
    assert (await client.get(path_of(callback))).status == 200
    store = env.query(lambda s: s.execute(select(StoreIntegration)).scalar_one())
    return merchant, store


async def fire_shopify(shop, **body):
    async with aiohttp.ClientSession() as session:
        async with session.post(shop.url + "/__emulator/webhooks/fire", json=body) as resp:
            return (await resp.json())["deliveries"]


# --- Shopify ------------------------------------------------------------------------------------------

async def test_shopify_order_update_is_pushed_to_conversations_that_looked_it_up(env, make_api, shop):
    client, pushes = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    lookup(env, merchant.id, store.id, "1001", "conv-a")
    lookup(env, merchant.id, store.id, "1001", "conv-b", outcome="mismatch")  # failed verification: no push
    lookup(env, merchant.id, store.id, "1002", "conv-c")
    deliveries = await fire_shopify(shop, topic="orders/updated", order_id="1001", webhook_id="evt-1")
    assert [d["status"] for d in deliveries] == [200]
    await drain(env)
    assert [p[0] for p in pushes] == ["conv-a"]
    message = pushes[0][1][0]
    assert message["text"].startswith("Update on order #1001") and pushes[0][2] == store.id
    hooks = env.query(lambda s: [a.details for a in s.execute(select(UserActivity).where(
        UserActivity.activity_type == activity.WEBHOOK)).scalars()])
    assert hooks[-1]["topic"] == "orders/updated" and hooks[-1]["pushed_conversations"] == 1
    # the same delivery again (Shopify retry) is acknowledged and ignored
    deliveries = await fire_shopify(shop, topic="orders/updated", order_id="1001", webhook_id="evt-1", event_id="e")
    await drain(env)
    assert len(pushes) == 1


async def test_shopify_webhook_forged_and_malformed(env, make_api, shop):
    client, pushes = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    deliveries = await fire_shopify(shop, topic="orders/updated", order_id="1001", hmac="AAAA" + "=" * 40)
    assert [d["status"] for d in deliveries] == [401]
    body = b'{"name": "#1001"}'
    resp = await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, secret="wrong"))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_signature"
    headers = shopify_headers(body)
    headers.pop("X-Shopify-Hmac-Sha256")
    assert (await client.post("/api/webhooks/shopify", data=body, headers=headers)).status == 401
    # signature over the raw bytes: the same JSON re-serialised does not verify
    reformatted = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert (await client.post("/api/webhooks/shopify", data=reformatted, headers=shopify_headers(body))).status == 401
    bad = b"{not json"
    assert (await client.post("/api/webhooks/shopify", data=bad, headers=shopify_headers(bad))).status == 400
    assert (await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, topic="nonsense"))).status == 400
    assert (await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, shop="evil.com"))).status == 400
    resp = await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, topic="products/update"))
    assert (await resp.json())["status"] == "ignored"
    big = b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    assert (await client.post("/api/webhooks/shopify", data=big, headers=shopify_headers(big))).status == 413
    await drain(env)
    assert pushes == []


async def test_shopify_out_of_order_updates_are_not_pushed_twice(env, make_api, shop):
    client, pushes = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    lookup(env, merchant.id, store.id, "1001", "conv-a")
    newer = {"name": "#1001", "updated_at": "2026-11-24T10:00:00Z", "fulfillment_status": "fulfilled",
             "fulfillments": [{"tracking_company": "UPS", "tracking_numbers": ["1Z999"], "tracking_urls": ["https://ups.example/1Z999"]}]}
    older = {"name": "#1001", "updated_at": "2026-11-24T09:00:00Z", "fulfillment_status": None}
    await fire_shopify(shop, topic="orders/updated", payload=newer, webhook_id="n")
    await fire_shopify(shop, topic="orders/updated", payload=older, webhook_id="o")
    await drain(env)
    assert len(pushes) == 1
    assert "shipped" in pushes[0][1][0]["text"] and "https://ups.example/1Z999" in pushes[0][1][0]["text"]
    fulfillment = {"name": "#1001.1", "order_id": 1, "status": "success", "shipment_status": "in_transit",
                   "updated_at": "2026-11-24T11:00:00Z", "tracking_number": "1Z999", "tracking_url": "https://ups.example/1Z999"}
    await fire_shopify(shop, topic="fulfillments/update", payload=fulfillment, webhook_id="f")
    await drain(env)
    assert len(pushes) == 2 and "in transit" in pushes[1][1][0]["text"]


async def test_app_uninstalled_disables_the_store_and_drops_the_token(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    await fire_shopify(shop, topic="app/uninstalled", payload={"id": 1, "domain": shop.domain}, webhook_id="u")
    await drain(env)
    row = env.query(lambda s: s.get(StoreIntegration, store.id))
    assert row.status == "disabled" and row.credentials_encrypted == {}


async def test_privacy_webhooks(env, make_api, shop):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    url = str(client.make_url("/api/webhooks/shopify"))
    lookup(env, merchant.id, store.id, "450789469", "conv-x")
    lookup(env, merchant.id, store.id, "1002", "conv-y")
    redacted = []

    async def redactor(app, store_id, conversations):
        redacted.append((store_id, conversations))

    env.app[REDACTORS].append(redactor)
    await fire_shopify(shop, topic="customers/data_request", callback_url=url, webhook_id="d",
                       payload={"shop_domain": shop.domain, "customer": {"id": 1, "email": "x@example.com"},
                                "orders_requested": [450789469], "data_request": {"id": 9999}})
    await fire_shopify(shop, topic="customers/redact", callback_url=url, webhook_id="r",
                       payload={"shop_domain": shop.domain, "customer": {"id": 1, "email": "x@example.com"},
                                "orders_to_redact": [450789469]})
    await drain(env)
    entries = env.query(lambda s: [(a.title, a.details) for a in s.execute(select(UserActivity).order_by(UserActivity.id)).scalars()])
    titles = [t for t, _ in entries]
    assert "Customer data request received" in titles and "Customer data redacted" in titles
    assert not any(d.get("order_number") == "450789469" for _, d in entries)
    assert any(d.get("order_number") == "1002" for _, d in entries)
    assert redacted == [(store.id, ["conv-x"])]
    assert "x@example.com" not in json.dumps(entries)
    request = next(d for t, d in entries if t == "Customer data request received")
    assert request["activity_entries_held"] == 1 and request["data_request_id"] == "9999"
    export = json.loads(open(request["export_file"], encoding="utf-8").read())
    assert [a["details"]["order_number"] for a in export["activity_entries"]] == ["450789469"]
    assert "conv-x" in export["transcripts"] and "x@example.com" not in json.dumps(export)


async def test_shop_redact_leaves_no_row_of_that_shop(env, make_api, shop, woo):
    client, _ = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    woo_store = await (await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})).json()
    lookup(env, merchant.id, store.id, "1001", "conv-a")
    env.query(lambda s: s.add(LookupAttempt(store_id=store.id, scope="conversation", subject="conv-a")))
    url = str(client.make_url("/api/webhooks/shopify"))
    await fire_shopify(shop, topic="shop/redact", callback_url=url, webhook_id="s",
                       payload={"shop_id": 1, "shop_domain": shop.domain})
    await drain(env)

    def remaining(session):
        return {
            "stores": session.execute(select(func.count()).select_from(StoreIntegration).where(StoreIntegration.id == store.id)).scalar(),
            "widgets": session.execute(select(func.count()).select_from(WidgetConfig).where(WidgetConfig.store_id == store.id)).scalar(),
            "activities": session.execute(select(func.count()).select_from(UserActivity).where(UserActivity.store_id == store.id)).scalar(),
            "attempts": session.execute(select(func.count()).select_from(LookupAttempt).where(LookupAttempt.store_id == store.id)).scalar(),
            "shop_mentions": sum(1 for a in session.execute(select(UserActivity)).scalars()
                                 if shop.domain in json.dumps(a.details) or "conv-a" in json.dumps(a.details)),
        }

    assert env.query(remaining) == {"stores": 0, "widgets": 0, "activities": 0, "attempts": 0, "shop_mentions": 0}
    assert env.query(lambda s: s.get(StoreIntegration, woo_store["id"])) is not None
    # a redacted shop can still send (and we still answer) the webhook again
    body = json.dumps({"shop_domain": shop.domain}).encode()
    resp = await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, topic="shop/redact", webhook_id="s2"))
    assert resp.status == 200


# --- WooCommerce -----------------------------------------------------------------------------------------

async def fire_woo(woo, **body):
    async with aiohttp.ClientSession() as session:
        async with session.post(woo.url + "/__emulator/webhooks/fire", json=body) as resp:
            return (await resp.json())["deliveries"]


async def test_woocommerce_order_updated(env, make_api, woo):
    from plugins.woocommerce import load_seed_orders
    from plugins.woocommerce.emulator_auth import WEBHOOKS_KEY, signature

    order = load_seed_orders()[0]
    client, pushes = await api_with_push(make_api)
    merchant = env.merchant()
    store = await (await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})).json()
    lookup(env, merchant.id, store["id"], str(order["number"]), "conv-w")
    deliveries = await fire_woo(woo, topic="order.updated", order_id=order["id"], delivery_id="d1")
    assert [d["status"] for d in deliveries] == [200]
    await drain(env)
    assert [p[0] for p in pushes] == ["conv-w"]
    # duplicate delivery
    await fire_woo(woo, topic="order.updated", order_id=order["id"], delivery_id="d1")
    await drain(env)
    assert len(pushes) == 1
    # forged signature / unknown store / ping
    path = urlsplit(woo.app[WEBHOOKS_KEY][0]["delivery_url"]).path
    body = json.dumps({"id": order["id"], "number": str(order["number"])}).encode()
    headers = {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": signature("wrong", body),
               "X-WC-Webhook-Delivery-ID": "d9", "Content-Type": "application/json"}
    assert (await client.post(path, data=body, headers=headers)).status == 401
    assert (await client.post(path, data=body, headers={k: v for k, v in headers.items() if "Signature" not in k})).status == 401
    assert (await client.post("/api/webhooks/woocommerce/w_nope", data=body, headers=headers)).status == 404
    assert (await client.post("/api/webhooks/woocommerce/bad$id", data=body, headers=headers)).status == 404
    ping = await client.post(path, data=b"webhook_id=12", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ping.status == 200
    # out of order: an older modification date is acknowledged but not pushed
    secret = woo.app[WEBHOOKS_KEY][0]["secret"]
    old = json.dumps({**order, "date_modified_gmt": "2000-01-01T00:00:00"}).encode()
    headers = {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": signature(secret, old),
               "X-WC-Webhook-Delivery-ID": "d-old", "Content-Type": "application/json"}
    resp = await client.post(path, data=old, headers=headers)
    assert resp.status == 200 and (await resp.json())["status"] == "accepted"
    await drain(env)
    assert len(pushes) == 1
    bad = b"{"
    headers = {**headers, "X-WC-Webhook-Signature": signature(secret, bad), "X-WC-Webhook-Delivery-ID": "d-bad"}
    assert (await client.post(path, data=bad, headers=headers)).status == 400
