"""A BigCommerce store end to end through the merchant API: connect (hooks registered at the emulated
store with the store's secret header), a status change pushed into a chat that looked the order up,
a forged delivery refused, disconnect deleting the hooks."""
from __future__ import annotations

import json

import aiohttp
import pytest
from sqlalchemy import select

from bot.core.db.models import StoreIntegration
from tests.api.test_webhooks import api_with_push, drain, lookup

bigcommerce = pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
from trulybot_bigcommerce import emulator  # noqa: E402
from trulybot_bigcommerce.webhooks import SCOPES, SECRET_HEADER  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def bc(aiohttp_server):
    server = await aiohttp_server(emulator.create_app())
    server.url = str(server.make_url("")).rstrip("/")
    server.hooks = server.app[emulator.STATE_KEY].hooks
    return server


async def admin(bc, path, **body):
    async with aiohttp.ClientSession() as session:
        async with session.post(bc.url + path, json=body) as resp:
            return await resp.json()


async def connected(env, make_api, bc):
    client, pushes = await api_with_push(make_api, app_settings={"bigcommerce": {"api_url": bc.url}})
    merchant = env.merchant()
    resp = await client.post("/api/integrations/bigcommerce/connect", headers=merchant.headers, json={
        "store_hash": "https://api.bigcommerce.com/stores/demo1bc/v3/", "access_token": emulator.DEMO_ACCESS_TOKEN})
    assert resp.status in (200, 201), await resp.text()
    store = await resp.json()
    return client, pushes, merchant, store


async def test_connect_registers_hooks_and_a_status_update_reaches_the_open_chat(env, make_api, bc):
    client, pushes, merchant, store = await connected(env, make_api, bc)
    row = env.query(lambda s: s.execute(select(StoreIntegration)).scalar_one())
    assert (row.platform, row.shop_domain, row.store_url) == ("bigcommerce", "demo1bc", bc.url)
    destination = f"/api/webhooks/bigcommerce/{row.widget_id}"
    assert sorted(h["scope"] for h in bc.hooks) == sorted(SCOPES)
    assert all(h["destination"].endswith(destination) and len(h["headers"][SECRET_HEADER]) >= 32 for h in bc.hooks)
    assert len({h["headers"][SECRET_HEADER] for h in bc.hooks}) == 1

    lookup(env, merchant.id, row.id, "120", "conv-a")
    lookup(env, merchant.id, row.id, "120", "conv-b", outcome="mismatch")  # failed verification: no push
    answer = await admin(bc, "/__emulator/orders/120/status", status_id=2)
    assert [d["status"] for d in answer["deliveries"]] == [200]
    await drain(env)
    assert [p[0] for p in pushes] == ["conv-a"] and pushes[0][2] == row.id
    assert "120" in pushes[0][1][0]["text"]

    # a forged delivery (wrong secret header) is refused, nothing is pushed
    forged = await admin(bc, "/__emulator/orders/120/status", status_id=10, headers={SECRET_HEADER: "forged"})
    assert [d["status"] for d in forged["deliveries"]] == [401]
    body = json.dumps({"scope": "store/order/statusUpdated", "producer": "stores/demo1bc", "hash": "h", "created_at": 1,
                       "data": {"type": "order", "id": 120}}).encode()
    resp = await client.post(destination, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 401
    # another store's callback with this store's secret is refused too
    secret = bc.hooks[0]["headers"][SECRET_HEADER]
    other = body.replace(b"stores/demo1bc", b"stores/other1")
    resp = await client.post(destination, data=other, headers={"Content-Type": "application/json", SECRET_HEADER: secret})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "shop_mismatch"
    await drain(env)
    assert len(pushes) == 1

    # disconnect deletes the hooks at the store
    resp = await client.post("/api/integrations/bigcommerce/disconnect", headers=merchant.headers, json={"id": row.id})
    assert resp.status == 200, await resp.text()
    assert bc.hooks == []


async def test_connect_refuses_bad_input_and_stores_nothing(env, make_api, bc):
    client, _, merchant, _ = await connected(env, make_api, bc)
    before = env.query(lambda s: len(s.execute(select(StoreIntegration)).scalars().all()))
    for body, field in (({"access_token": emulator.DEMO_ACCESS_TOKEN}, "store_hash"),
                        ({"store_hash": "bad hash!", "access_token": emulator.DEMO_ACCESS_TOKEN}, "store_hash"),
                        ({"store_hash": "demo1bc"}, "access_token"),
                        ({"store_hash": "demo1bc", "access_token": "short"}, "access_token")):
        resp = await client.post("/api/integrations/bigcommerce/connect", headers=merchant.headers, json=body)
        assert resp.status == 422 and field in json.dumps(await resp.json())
    resp = await client.post("/api/integrations/bigcommerce/connect", headers=merchant.headers,
                             json={"store_hash": "demo1bc", "access_token": "wrongtokenwrongtoken"})
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "store_auth"
    resp = await client.post("/api/integrations/bigcommerce/connect", headers=merchant.headers,
                             json={"store_hash": "nothere", "access_token": emulator.DEMO_ACCESS_TOKEN})
    assert resp.status == 422 and "store hash" in (await resp.json())["error"]["message"]
    assert env.query(lambda s: len(s.execute(select(StoreIntegration)).scalars().all())) == before


async def test_unreachable_store_is_a_502_naming_the_reason(env, make_api):
    from tests.support.ports import free_port

    client, _ = await api_with_push(make_api, app_settings={"bigcommerce": {"api_url": f"http://127.0.0.1:{free_port()}"}})
    merchant = env.merchant()
    resp = await client.post("/api/integrations/bigcommerce/connect", headers=merchant.headers,
                             json={"store_hash": "demo1bc", "access_token": emulator.DEMO_ACCESS_TOKEN})
    body = await resp.json()
    assert resp.status == 502 and body["error"]["code"] == "store_unreachable" and "could not connect" in body["error"]["message"]
    assert env.query(lambda s: s.execute(select(StoreIntegration)).scalars().all()) == []


async def test_status_update_arrives_in_the_shoppers_open_socket(env, make_api, bc):
    """No push stub: the delivery goes through the webhook worker and the gateway into a live widget socket."""
    from bot.core.db.models import WidgetConfig
    from tests.gateway.helpers import WidgetSocket

    client = await make_api(app_settings={"bigcommerce": {"api_url": bc.url}})
    merchant = env.merchant()
    resp = await client.post("/api/integrations/bigcommerce/connect", headers=merchant.headers, json={
        "store_hash": "demo1bc", "access_token": emulator.DEMO_ACCESS_TOKEN, "storefront_url": "https://shop.example"})
    assert resp.status in (200, 201), await resp.text()
    row = env.query(lambda s: s.execute(select(StoreIntegration)).scalar_one())
    origins = env.query(lambda s: s.execute(select(WidgetConfig.allowed_origins).where(WidgetConfig.store_id == row.id)).scalar_one())
    assert origins == ["https://shop.example"]  # the storefront address is the widget's allowed origin
    sock = await WidgetSocket.connect(client, origin="https://shop.example")
    welcome = await sock.hello(row.widget_id)
    assert welcome["type"] == "welcome", welcome
    lookup(env, merchant.id, row.id, "122", welcome["conversation_id"])  # what the lookup action records
    answer = await admin(bc, "/__emulator/orders/122/shipments", tracking_number="1Z999AA10123456784", shipping_provider="ups")
    assert [d["status"] for d in answer["deliveries"]] == [200]
    await drain(env)
    frame = await sock.recv_type("bot")
    assert "reply_to" not in frame
    [message] = frame["messages"]
    assert message["text"].startswith("Update on order #122")
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in message["text"]
    await sock.ws.close()
