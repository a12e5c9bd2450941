"""BigCommerce webhooks: v3 hook registration at the emulator, verification, reading, order events."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from plugins.errors import MalformedResponse
from plugins.integration import OrderEventKind, WebhookDelivery, WebhookRegistration, WebhookTarget
from plugins.model import OrderStatus
from plugins.testing import running_emulator

bigcommerce = pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
from trulybot_bigcommerce.client import BigCommercePlatform  # noqa: E402
from trulybot_bigcommerce.emulator import STATE_KEY  # noqa: E402
from trulybot_bigcommerce.webhooks import SCOPES, SECRET_HEADER  # noqa: E402

pytestmark = pytest.mark.timeout(60)
SECRET = "s3cr3t-" + "x" * 40
DESTINATION = "http://127.0.0.1:9/api/webhooks/bigcommerce/w1"


@pytest.fixture
async def bc():
    async with running_emulator("bigcommerce") as emulator:
        yield emulator


@pytest.fixture
async def receiver():
    """A loopback endpoint that records every delivery (headers and raw body)."""
    got: List[Dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        got.append({"headers": dict(request.headers), "body": await request.read(), "path": request.path})
        return web.json_response({"status": "accepted"})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    server.deliveries = got  # type: ignore[attr-defined]
    yield server
    await server.close()


def hooks(emu) -> List[Dict[str, Any]]:
    return emu.app[STATE_KEY].hooks


def callback(scope: str = "store/order/statusUpdated", **data: Any) -> bytes:
    body = {"scope": scope, "store_id": "1025646", "producer": "stores/demo1bc", "hash": "abc123", "created_at": 1764400000,
            "data": data or {"type": "order", "id": 122, "status": {"previous_status_id": 11, "new_status_id": 2}}}
    return json.dumps(body).encode()


# -- registration ---------------------------------------------------------------------------------------
async def test_register_creates_one_hook_per_scope_with_the_secret_header(bc, http):
    registration = await bc.platform(http).register_webhooks(WebhookTarget(DESTINATION, SECRET))
    assert registration.error is None
    assert registration.topics == ["order/status_updated", "shipment/created", "shipment/updated"]
    assert [h["scope"] for h in hooks(bc)] == list(SCOPES)
    assert all(h["destination"] == DESTINATION and h["headers"] == {SECRET_HEADER: SECRET} and h["is_active"] for h in hooks(bc))
    assert registration.remote_ids == [str(h["id"]) for h in hooks(bc)]


async def test_registering_again_updates_instead_of_duplicating(bc, http):
    first = await bc.platform(http).register_webhooks(WebhookTarget(DESTINATION, SECRET))
    hooks(bc)[0]["is_active"] = False
    second = await bc.platform(http).register_webhooks(WebhookTarget(DESTINATION, "new-secret-value"))
    assert second.remote_ids == first.remote_ids and len(hooks(bc)) == 3
    assert all(h["headers"] == {SECRET_HEADER: "new-secret-value"} and h["is_active"] for h in hooks(bc))


async def test_deregister_deletes_the_hooks_and_tolerates_missing_ones(bc, http):
    platform = bc.platform(http)
    other = await platform.register_webhooks(WebhookTarget("http://127.0.0.1:9/other", SECRET))
    registration = await platform.register_webhooks(WebhookTarget(DESTINATION, SECRET))
    hooks(bc)[:] = [h for h in hooks(bc) if str(h["id"]) != registration.remote_ids[0]]  # already gone at the store
    await platform.deregister_webhooks(WebhookRegistration.from_dict({**registration.to_dict(), "remote_ids": registration.remote_ids + ["x"]}))
    assert [str(h["id"]) for h in hooks(bc)] == other.remote_ids


async def test_refused_registration_is_reported_not_raised(bc, http):
    bad_token = await bc.platform(http, credentials={"access_token": "wrong"}).register_webhooks(WebhookTarget(DESTINATION, SECRET))
    assert bad_token.topics == [] and bad_token.error.startswith("store_auth:")
    no_secret = await bc.platform(http).register_webhooks(WebhookTarget(DESTINATION, None))
    assert no_secret.error == "a per-store webhook secret is required"
    not_https = await bc.platform(http).register_webhooks(WebhookTarget("http://bot.example.com/hook", SECRET))
    assert "HTTPS" in not_https.error and hooks(bc) == []


async def test_emulator_validates_hooks(bc, http):
    platform = bc.platform(http)
    for body, status in (({"scope": "store/order/created"}, 422), ({"scope": "x", "destination": "ftp://x"}, 422),
                         ({"scope": "x", "destination": "https://x", "headers": {"a": 1}}, 422)):
        response = await http.request("POST", platform.base_url("v3") + "/hooks", store_key="t", json=body, headers=platform.headers())
        assert response.status == status
    assert (await http.request("DELETE", platform.base_url("v3") + "/hooks/77", store_key="t", headers=platform.headers())).status == 404


# -- verification and reading ---------------------------------------------------------------------------
def test_verify_compares_the_secret_header():
    verify = BigCommercePlatform.verify_webhook
    assert verify(b"{}", {SECRET_HEADER: SECRET}, SECRET)
    assert verify(b"{}", {SECRET_HEADER.lower(): SECRET}, SECRET)  # header names are case-insensitive
    assert not verify(b"{}", {SECRET_HEADER: SECRET + "x"}, SECRET)
    assert not verify(b"{}", {SECRET_HEADER: SECRET[:-1]}, SECRET)
    assert not verify(b"{}", {}, SECRET)
    assert not verify(b"{}", {SECRET_HEADER: ""}, "")
    assert not verify(b"{}", {SECRET_HEADER: "x" * 5000}, SECRET)
    assert not verify(b"{}", {SECRET_HEADER: "sécret"}, SECRET)


def test_read_delivery_of_each_scope():
    status = BigCommercePlatform.read_delivery(callback(), {})
    assert (status.topic, status.shop_domain, status.event_id) == ("order/status_updated", "demo1bc", "abc123:1764400000")
    assert status.triggered_at.isoformat() == "2025-11-29T07:06:40+00:00"
    assert status.payload == {"order_id": 122, "shipment_id": None, "previous_status_id": 11, "new_status_id": 2}
    shipment = BigCommercePlatform.read_delivery(callback("store/shipment/updated", type="shipment", id=7, orderId=121), {})
    assert shipment.topic == "shipment/updated" and shipment.payload["order_id"] == 121 and shipment.payload["shipment_id"] == 7


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b'{"scope": "store/order/statusUpdated"}', callback("store/order/created", type="order", id=1),
    callback(type="order", id="abc"), callback(type="order", id=-5), callback("store/shipment/created", type="shipment", id=3),
    b'{"scope": "store/order/statusUpdated", "data": {"id": 1}, "pad": "' + b"x" * 70000 + b'"}', b"\xff\xfe",
])
def test_unreadable_deliveries_are_malformed(raw):
    with pytest.raises(MalformedResponse):
        BigCommercePlatform.read_delivery(raw, {})


def test_missing_producer_and_time_are_left_empty():
    raw = json.dumps({"scope": "store/order/statusUpdated", "data": {"type": "order", "id": 120}, "created_at": True}).encode()
    delivery = BigCommercePlatform.read_delivery(raw, {})
    assert delivery.shop_domain is None and delivery.triggered_at is None and delivery.event_id is None


# -- order events ---------------------------------------------------------------------------------------
async def test_status_updated_fetches_the_order(bc, http):
    platform = bc.platform(http)
    outcome = await platform.parse_webhook(BigCommercePlatform.read_delivery(callback(), {}))
    [event] = outcome.events
    assert (event.kind, event.order_number, event.status, event.status_label) == (OrderEventKind.STATUS_CHANGED, "122", OrderStatus.SHIPPED, "Shipped")
    assert [s.tracking_number for s in event.shipments] == ["9400111899223344556677"]
    assert event.version == "2026-11-24T12:00:00+00:00" and event.occurred_at.year == 2025
    assert bc.stats.by_path["/stores/demo1bc/v2/orders/122"] == 1


@pytest.mark.parametrize("status_id, kind", [(5, OrderEventKind.CANCELLED), (4, OrderEventKind.REFUNDED), (9, OrderEventKind.STATUS_CHANGED)])
async def test_cancelled_and_refunded_are_their_own_kinds(bc, http, status_id, kind):
    bc.app[STATE_KEY].by_id[120]["status_id"] = status_id
    outcome = await bc.platform(http).parse_webhook(BigCommercePlatform.read_delivery(callback(type="order", id=120), {}))
    assert outcome.events[0].kind is kind


async def test_shipment_events_carry_the_named_parcel(bc, http):
    state = bc.app[STATE_KEY]
    state.sub[121]["shipments"].append({"id": 99, "order_id": 121, "tracking_number": "TRACK99", "shipping_provider": "fedex",
                                        "items": [], "date_created": "Tue, 24 Nov 2026 10:00:00 +0000"})
    platform = bc.platform(http)
    for scope, kind in (("store/shipment/created", OrderEventKind.SHIPMENT_CREATED), ("store/shipment/updated", OrderEventKind.SHIPMENT_UPDATED)):
        outcome = await platform.parse_webhook(BigCommercePlatform.read_delivery(callback(scope, type="shipment", id=99, orderId=121), {}))
        [event] = outcome.events
        assert event.kind is kind and [s.tracking_number for s in event.shipments] == ["TRACK99"]
        assert event.shipments[0].tracking_url == "https://www.fedex.com/fedextrack/?trknbr=TRACK99"
    unknown = await platform.parse_webhook(BigCommercePlatform.read_delivery(callback("store/shipment/created", type="shipment", id=5, orderId=121), {}))
    assert len(unknown.events[0].shipments) == 2  # the parcel is not among them: all of them


async def test_deleted_order_and_foreign_topics_are_ignored(bc, http):
    platform = bc.platform(http)
    assert (await platform.parse_webhook(BigCommercePlatform.read_delivery(callback(type="order", id=4242), {}))).ignored
    assert (await platform.parse_webhook(WebhookDelivery(topic="orders/updated", payload={"order_id": 120}))).ignored
    assert (await platform.parse_webhook(WebhookDelivery(topic="order/status_updated", payload="nope"))).ignored


# -- the emulator fires callbacks -----------------------------------------------------------------------
async def test_emulator_delivers_status_changes_to_registered_hooks(bc, http, receiver):
    url = str(receiver.make_url("/api/webhooks/bigcommerce/w1"))
    platform = bc.platform(http)
    await platform.register_webhooks(WebhookTarget(url, SECRET))
    admin = f"{bc.base_url}/__emulator/orders/120/status"
    answer = (await http.request("POST", admin, store_key="admin", json={"status_id": 2})).json()
    assert answer["deliveries"] == [{"url": url, "status": 200}]
    [got] = receiver.deliveries
    assert BigCommercePlatform.verify_webhook(got["body"], got["headers"], SECRET)
    delivery = BigCommercePlatform.read_delivery(got["body"], got["headers"])
    assert delivery.payload["new_status_id"] == 2 and delivery.payload["previous_status_id"] == 11
    event = (await platform.parse_webhook(delivery)).events[0]
    assert event.status is OrderStatus.SHIPPED and event.order_number == "120"

    shipment = {"tracking_number": "1Z999AA10123456784", "shipping_provider": "ups", "headers": {SECRET_HEADER: "forged"}}
    answer = (await http.request("POST", f"{bc.base_url}/__emulator/orders/120/shipments", store_key="admin", json=shipment)).json()
    assert answer["deliveries"][0]["status"] == 200 and answer["shipment"]["id"]
    forged = receiver.deliveries[-1]
    assert not BigCommercePlatform.verify_webhook(forged["body"], forged["headers"], SECRET)
    assert BigCommercePlatform.read_delivery(forged["body"], {}).topic == "shipment/created"
    fired = (await http.request("POST", f"{bc.base_url}/__emulator/webhooks/fire", store_key="admin",
                                json={"scope": "store/shipment/updated", "order_id": 120})).json()
    assert fired["deliveries"][0]["status"] == 200
    assert BigCommercePlatform.read_delivery(receiver.deliveries[-1]["body"], {}).payload["shipment_id"] == answer["shipment"]["id"]
