"""The Shopify platform against its emulator (GraphQL validated with graphql-core)."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from graphql import parse, validate

from plugins.errors import (
    CircuitOpen,
    MalformedResponse,
    OrderNotFound,
    OrderNotVisible,
    PlatformError,
    RateLimited,
    StoreAuthError,
    StoreConfigError,
    StoreUnreachable,
)
from plugins.http import StoreHttpClient
from plugins.model import OrderStatus, ShipmentStatus, StoreConnection
from plugins.shopify import queries
from plugins.shopify.client import DEFAULT_API_VERSION, ShopifyPlatform
from plugins.shopify.emulator import DEMO_ACCESS_TOKEN, DEMO_API_KEY, DEMO_API_SECRET, search_matches
from plugins.shopify.normalize import map_status
from plugins.shopify.schema import get_schema
from plugins.testing import running_emulator
from tests.plugins.factories import FAST, shopify_fulfillment, shopify_order

pytestmark = pytest.mark.timeout(60)

GRAPHQL = f"/admin/api/{DEFAULT_API_VERSION}/graphql.json"


def _old(days: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).replace(microsecond=0).isoformat()


# -- GraphQL documents -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(queries.ALL_QUERIES))
def test_queries_validate_against_schema(name):
    assert validate(get_schema(), parse(queries.ALL_QUERIES[name])) == []


def test_every_query_in_the_module_is_validated():
    documents = {k for k, v in vars(queries).items() if isinstance(v, str) and "query TrulyBot" in v}
    assert {k for k in documents} <= {k for k, v in vars(queries).items() if v in queries.ALL_QUERIES.values()}


def test_a_field_typo_fails_validation():
    broken = queries.FIND_ORDERS.replace("displayFulfillmentStatus", "displayFulfilmentStatus")
    errors = validate(get_schema(), parse(broken))
    assert errors and "displayFulfilmentStatus" in errors[0].message


async def test_emulator_rejects_invalid_queries(shopify, http):
    platform = shopify.platform(http)
    with pytest.raises(PlatformError):
        await platform._graphql("Broken", "query Broken { shop { nmae } }")


# -- lookups ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["#1001", "1001", " # 1001 ", "01001", "#0001001", "１００１"])
async def test_get_order_every_written_form(shopify, http, typed):
    order = await shopify.platform(http).get_order(typed)
    assert order.number == "1001" and order.platform == "shopify"
    assert order.status_page_url.startswith("https://trulybot-demo.myshopify.com/")


async def test_custom_name_format(http):
    orders = [shopify_order(1, "TB1001-A"), shopify_order(2, "#1001")]
    async with running_emulator("shopify", orders) as emu:
        assert (await emu.platform(http).get_order("tb1001-a")).platform_id == "1"
        assert (await emu.platform(http).get_order("1001")).platform_id == "2"


@pytest.mark.parametrize("typed", ["9999", "#", "", "x" * 80, "<b>", None, "1001-B"])
async def test_unknown_or_invalid_numbers(shopify, http, typed):
    with pytest.raises(OrderNotFound):
        await shopify.platform(http).get_order(typed)


async def test_sixty_day_rule(http):
    orders = [shopify_order(1, "#1001", created_at=_old(3)), shopify_order(2, "#900", created_at=_old(90))]
    async with running_emulator("shopify", orders, read_all_orders=False) as emu:
        platform = emu.platform(http)
        assert (await platform.get_order("1001")).platform_id == "1"
        with pytest.raises(OrderNotVisible):
            await platform.get_order("900")  # exists, but is older than the app may read
        with pytest.raises(OrderNotVisible):
            await platform.get_order("12345")  # cannot tell "missing" from "too old"
        assert not issubclass(OrderNotVisible, OrderNotFound)
    async with running_emulator("shopify", orders, read_all_orders=True) as emu:
        assert (await emu.platform(http).get_order("900")).platform_id == "2"
        with pytest.raises(OrderNotFound):
            await emu.platform(http).get_order("12345")


async def test_read_all_orders_option_overrides_scopes(http):
    async with running_emulator("shopify", [shopify_order(1)], read_all_orders=False) as emu:
        with pytest.raises(OrderNotFound) as info:
            await emu.platform(http, options={"read_all_orders": True}).get_order("4242")
        assert type(info.value) is OrderNotFound


async def test_find_orders_by_email(shopify, http):
    orders = await shopify.platform(http).find_orders("Olivia.Chen@EXAMPLE.com ")
    assert [o.number for o in orders] == ["1001", "1002", "1005"]
    assert [o.number for o in await shopify.platform(http).find_orders("olivia.chen@example.com", limit=1)] == ["1001"]
    assert await shopify.platform(http).find_orders("nobody@example.com") == []
    assert len(await shopify.platform(http).find_orders("olivia.chen@example.com", limit=50)) == 3  # stays under the cost cap
    assert await shopify.platform(http).find_orders("not an email") == []


async def test_find_orders_sixty_day_rule(http):
    orders = [shopify_order(1, "#1001", email="a@example.com", created_at=_old(2)),
              shopify_order(2, "#900", email="a@example.com", created_at=_old(80)),
              shopify_order(3, "#901", email="old@example.com", created_at=_old(80))]
    async with running_emulator("shopify", orders, read_all_orders=False) as emu:
        platform = emu.platform(http)
        assert [o.number for o in await platform.find_orders("a@example.com")] == ["1001"]
        with pytest.raises(OrderNotVisible):
            await platform.find_orders("old@example.com")


@pytest.mark.parametrize("mode", ["null", "error"])
async def test_redacted_email_falls_back_to_postcode(http, mode):
    orders = [shopify_order(1, "#1001", email="pat@example.com", zip_code="SW1A 1AA")]
    async with running_emulator("shopify", orders, redact_email=mode) as emu:
        order = await emu.platform(http).get_order("1001")
        assert order.email is None and order.customer_data_redacted
        assert order.verification_methods[0] == "postcode"
        assert order.matches_postcode("sw1a1aa") and not order.matches_email("pat@example.com")
        assert not order.verify(email="pat@example.com") and not order.verify(postcode="sw1a1aa")
        with pytest.raises(OrderNotFound) as missing:
            await emu.platform(http).get_order("4242")
        assert missing.value.customer_data_hidden  # known from the probe, though no order has that number
        found = await emu.platform(http).find_orders("pat@example.com")
        assert [o.number for o in found] == ["1001"]


# -- fulfillments and statuses ---------------------------------------------------------------------
async def test_tracking_extraction(shopify, http):
    platform = shopify.platform(http)
    order = await platform.get_order("1002")
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    shipments = await platform.get_shipments(order)
    assert [(s.carrier, s.tracking_number, s.status) for s in shipments] == [
        ("UPS", "1Z999AA10123456784", ShipmentStatus.IN_TRANSIT),
        ("USPS", "9400111899223197428490", ShipmentStatus.OUT_FOR_DELIVERY),
    ]
    assert shipments[0].tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert shipments[1].tracking_url.startswith("https://tools.usps.com/")  # built from the carrier
    assert [i.name for i in shipments[0].items] == ["Burr Coffee Grinder"]


async def test_tracking_edge_cases(http):
    fulfillments = [
        shopify_fulfillment(1, company="DHL Express", number="ＪＤ\u200b0146\x0700062", url="javascript:alert(1)"),
        shopify_fulfillment(2, status="cancelled"),
        shopify_fulfillment(3, company=None, number=None, shipment_status=None),
        shopify_fulfillment(4, company="Speedy Local", number="S-1", url="https://speedy.example/S-1", shipment_status="delivered"),
    ]
    async with running_emulator("shopify", [shopify_order(1, fulfillment_status="fulfilled", fulfillments=fulfillments)]) as emu:
        order = await emu.platform(http).get_order("1001")
    assert [(s.carrier, s.tracking_number) for s in order.shipments] == [("DHL Express", "JD014600062"), (None, None), ("Speedy Local", "S-1")]
    assert order.shipments[0].tracking_url.startswith("https://www.dhl.com/")
    assert order.shipments[2].status is ShipmentStatus.DELIVERED and order.shipments[2].delivered_at is not None
    assert [s.tracking_number for s in order.tracked_shipments] == ["JD014600062", "S-1"]
    assert order.status is OrderStatus.SHIPPED  # not every parcel delivered


@pytest.mark.parametrize(
    "financial, fulfillment, extra, expected",
    [
        ("paid", None, {}, OrderStatus.PROCESSING),
        ("authorized", None, {}, OrderStatus.PROCESSING),
        ("partially_paid", None, {}, OrderStatus.PROCESSING),
        ("pending", None, {}, OrderStatus.PENDING),
        ("paid", "partial", {}, OrderStatus.PARTIALLY_SHIPPED),
        ("paid", "fulfilled", {}, OrderStatus.SHIPPED),
        ("paid", "fulfilled", {"delivered": True}, OrderStatus.DELIVERED),
        ("partially_refunded", "fulfilled", {}, OrderStatus.SHIPPED),
        ("refunded", None, {}, OrderStatus.REFUNDED),
        ("voided", None, {}, OrderStatus.CANCELLED),
        ("paid", None, {"cancelled": True}, OrderStatus.CANCELLED),
        ("refunded", None, {"cancelled": True}, OrderStatus.REFUNDED),
        ("expired", None, {}, OrderStatus.FAILED),
        ("paid", "restocked", {}, OrderStatus.CANCELLED),
        ("paid", None, {"on_hold": True}, OrderStatus.ON_HOLD),
    ],
)
async def test_status_mapping_through_the_emulator(http, financial, fulfillment, extra, expected):
    fulfillments = [shopify_fulfillment(1, shipment_status="delivered" if extra.get("delivered") else "in_transit")] if fulfillment else []
    record = shopify_order(
        1, financial_status=financial, fulfillment_status=fulfillment, fulfillments=fulfillments,
        cancelled_at=_old(1) if extra.get("cancelled") else None,
        fulfillment_orders=[{"status": "on_hold"}] if extra.get("on_hold") else [],
    )
    async with running_emulator("shopify", [record]) as emu:
        order = await emu.platform(http).get_order("1001")
    assert order.status is expected
    assert order.status_label and order.status_label != "Unknown"


@pytest.mark.parametrize(
    "display, expected",
    [("PENDING_FULFILLMENT", OrderStatus.PROCESSING), ("OPEN", OrderStatus.PROCESSING), ("IN_PROGRESS", OrderStatus.PROCESSING),
     ("SCHEDULED", OrderStatus.PROCESSING), ("REQUEST_DECLINED", OrderStatus.PROCESSING), ("ON_HOLD", OrderStatus.ON_HOLD),
     ("UNFULFILLED", OrderStatus.PROCESSING), (None, OrderStatus.PROCESSING), ("SOMETHING_NEW", OrderStatus.PROCESSING)],
)
def test_every_display_fulfillment_status_is_mapped(display, expected):
    assert map_status("PAID", display)[0] is expected


def test_every_schema_enum_value_has_a_label():
    from plugins.shopify.normalize import FINANCIAL_LABELS, FULFILLMENT_LABELS, SHIPMENT_STATUS

    schema = get_schema()
    assert set(schema.get_type("OrderDisplayFinancialStatus").values) == set(FINANCIAL_LABELS)
    assert set(schema.get_type("OrderDisplayFulfillmentStatus").values) == set(FULFILLMENT_LABELS)
    assert set(schema.get_type("FulfillmentDisplayStatus").values) == set(SHIPMENT_STATUS)


async def test_seed_has_the_promised_variety(shopify, http):
    platform = shopify.platform(http)
    statuses = {(await platform.get_order(str(n))).status for n in (1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 988)}
    assert {OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED,
            OrderStatus.REFUNDED, OrderStatus.ON_HOLD, OrderStatus.PENDING} <= statuses


def test_search_syntax():
    order = {"name": "#1001", "email": "a@example.com", "created_at": "2026-11-01T10:00:00Z"}
    assert search_matches(order, 'name:"#1001"') and search_matches(order, "name:1001")
    assert search_matches(order, 'name:"#9" OR name:"#1001"')
    assert not search_matches(order, 'name:"#1001" email:"b@example.com"')
    assert search_matches(order, 'created_at:>=2026-10-01') and not search_matches(order, "created_at:<2026-10-01")
    assert search_matches(order, "-name:1002")


# -- connection, auth, config ----------------------------------------------------------------------
async def test_check_connection(shopify, http):
    info = await shopify.platform(http).check_connection()
    assert info["name"] == "Demo Supply Co." and info["read_all_orders"] is True
    assert info["api_version"] == DEFAULT_API_VERSION and "read_orders" in info["scopes"]


async def test_wrong_token(shopify, http):
    platform = shopify.platform(http, credentials={"access_token": "shpat_wrong"})
    with pytest.raises(StoreAuthError):
        await platform.check_connection()
    async with http._get_session().post(shopify.base_url + GRAPHQL, json={"query": "{ shop { name } }"}) as resp:
        assert resp.status == 401
        assert "Invalid API key or access token" in (await resp.json())["errors"]


async def test_missing_scope_is_auth_error(http):
    async with running_emulator("shopify", scopes=["read_products"]) as emu:
        with pytest.raises(StoreAuthError):
            await emu.platform(http).check_connection()
        with pytest.raises(StoreAuthError):
            await emu.platform(http).get_order("1001")


async def test_api_version_is_configurable(shopify, http):
    platform = shopify.platform(http, api_version="2025-10")
    assert (await platform.get_order("1001")).number == "1001"
    assert shopify.stats.by_path["/admin/api/2025-10/graphql.json"] == 1
    with pytest.raises(StoreConfigError):
        await shopify.platform(http, api_version="2025-13").get_order("1001")
    async with http._get_session().post(shopify.base_url + "/admin/api/v1/graphql.json", headers={"X-Shopify-Access-Token": DEMO_ACCESS_TOKEN}, json={}) as resp:
        assert resp.status == 404


@pytest.mark.parametrize(
    "base_url, domain",
    [("", "evil.example.com"), ("", "shop.myshopify.com.evil.com"), ("http://shop.example.com", None), ("ftp://x", None), ("", None)],
)
async def test_shop_address_validation(http, base_url, domain):
    conn = StoreConnection("s", "shopify", base_url, shop_domain=domain, credentials={"access_token": "t"})
    with pytest.raises(StoreConfigError):
        await ShopifyPlatform(conn, http).check_connection()


def test_endpoint_from_shop_domain():
    conn = StoreConnection("s", "shopify", "", shop_domain="My-Shop.myshopify.com", credentials={"access_token": "t"})
    assert ShopifyPlatform(conn, StoreHttpClient()).endpoint == f"https://my-shop.myshopify.com/admin/api/{DEFAULT_API_VERSION}/graphql.json"


async def test_oauth_flow(shopify, http):
    session = http._get_session()
    params = {"client_id": DEMO_API_KEY, "scope": "read_orders", "redirect_uri": "https://app.example/cb", "state": "nonce-1"}
    async with session.get(shopify.base_url + "/admin/oauth/authorize", params=params, allow_redirects=False) as resp:
        assert resp.status == 302
        query = dict(parse_qsl(urlsplit(resp.headers["Location"]).query))
    assert query["state"] == "nonce-1" and query["shop"] == "trulybot-demo.myshopify.com"
    message = "&".join(f"{k}={v}" for k, v in sorted(query.items()) if k != "hmac")
    assert hmac.compare_digest(query["hmac"], hmac.new(DEMO_API_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest())
    body = {"client_id": DEMO_API_KEY, "client_secret": DEMO_API_SECRET, "code": query["code"]}
    async with session.post(shopify.base_url + "/admin/oauth/access_token", json=body) as resp:
        token = (await resp.json())["access_token"]
    async with session.post(shopify.base_url + "/admin/oauth/access_token", json=body) as resp:
        assert resp.status == 400  # codes are single-use
    info = await shopify.platform(http, credentials={"access_token": token}).check_connection()
    assert info["scopes"] == ["read_orders"] and info["read_all_orders"] is False


# -- throttling and HTTP failures ------------------------------------------------------------------
async def test_cost_extension_is_tracked(shopify, http):
    platform = shopify.platform(http)
    await platform.get_order("1001")
    memo = http.state_for(platform.store.key).memo
    assert memo["cost:TrulyBotGetOrder"] > 0 and memo["bucket"]["maximum"] == 20000


def _set_bucket(emu, level: float) -> None:
    """Put the emulator's bucket for the demo token at ``level`` points, now."""
    from plugins.shopify.emulator import STATE_KEY

    emu.app[STATE_KEY].buckets[DEMO_ACCESS_TOKEN] = (level, time.monotonic())


async def test_throttled_beyond_patience_is_rate_limited(http):
    async with running_emulator("shopify", bucket_size=2000, restore_rate=1) as emu:
        platform = emu.platform(http)
        await platform.get_order("1001")
        cost = http.state_for(platform.store.key).memo["cost:TrulyBotGetOrder"]
        _set_bucket(emu, cost - 50)
        with pytest.raises(RateLimited) as info:
            await platform.get_order("1002")  # fresh memo: asks, gets THROTTLED, 50 s is too long to wait
        assert info.value.retry_after > 1
        assert emu.stats.hits == 2
        with pytest.raises(RateLimited):
            await platform.get_order("1002")  # now the client knows the bucket and does not even ask
        assert emu.stats.hits == 2


async def test_throttled_response_is_retried_after_refill(http):
    async with running_emulator("shopify", bucket_size=2000, restore_rate=200) as emu:
        first = emu.platform(http, store_id="drainer")
        await first.get_order("1001")
        cost = http.state_for(first.store.key).memo["cost:TrulyBotGetOrder"]
        _set_bucket(emu, cost - 20)  # 0.1 s short
        fresh = emu.platform(http, store_id="fresh")  # knows nothing about the bucket yet
        assert (await fresh.get_order("1002")).number == "1002"
        assert emu.stats.hits == 3  # ok, THROTTLED, ok after waiting


async def test_client_waits_for_bucket_instead_of_failing(http):
    async with running_emulator("shopify", bucket_size=2000, restore_rate=200) as emu:
        platform = emu.platform(http)
        await platform.get_order("1001")
        cost = http.state_for(platform.store.key).memo["cost:TrulyBotGetOrder"]
        _set_bucket(emu, cost - 20)
        http.state_for(platform.store.key).memo["bucket"].update(available=cost - 20, at=time.monotonic())
        assert (await platform.get_order("1002")).number == "1002"
        assert emu.stats.hits == 2  # waited ~0.1 s before asking: no THROTTLED answer


async def test_http_429_with_retry_after(shopify, http):
    shopify.set_faults(burst_count=1, burst_status=429, retry_after=0.01)
    assert (await shopify.platform(http).get_order("1001")).number == "1001"
    shopify.set_faults(burst_count=10, burst_status=429, retry_after=0.01)
    with pytest.raises(RateLimited):
        await shopify.platform(http).get_order("1001")
    assert shopify.stats.hits == 2 + FAST["max_retries"] + 1


@pytest.mark.parametrize(
    "faults, error, hits",
    [
        ({"error_rate": 1.0, "error_status": 503}, StoreUnreachable, FAST["max_retries"] + 1),
        ({"error_rate": 1.0, "error_status": 500}, StoreUnreachable, 1),
        ({"burst_count": 1, "burst_status": 404}, StoreConfigError, 1),
        ({"burst_count": 1, "burst_status": 402}, StoreUnreachable, 1),
        ({"burst_count": 1, "burst_status": 400}, PlatformError, 1),
        ({"malformed_count": 1}, MalformedResponse, 1),
        ({"oversize_count": 1, "oversize_bytes": 5 * 1024 * 1024}, MalformedResponse, 1),
        ({"drop_count": 10}, StoreUnreachable, FAST["max_retries"] + 1),
    ],
)
async def test_failures_map_to_typed_errors(shopify, http, faults, error, hits):
    shopify.set_faults(**faults)
    with pytest.raises(error):
        await shopify.platform(http).get_order("1001")
    assert shopify.stats.hits == hits


async def test_timeout(shopify):
    shopify.set_faults(latency_ms=300)
    async with StoreHttpClient(**{**FAST, "total_timeout": 0.05, "max_retries": 0}) as client:
        with pytest.raises(StoreUnreachable):
            await shopify.platform(client).get_order("1001")


async def test_circuit_breaker(shopify, http):
    platform = shopify.platform(http)
    shopify.set_faults(error_rate=1.0, error_status=500)
    for _ in range(FAST["breaker_threshold"]):
        with pytest.raises(StoreUnreachable):
            await platform.check_connection()
    with pytest.raises(CircuitOpen):
        await platform.check_connection()
    shopify.set_faults(reset=True)
    await asyncio.sleep(FAST["breaker_reset_timeout"] + 0.05)
    assert (await platform.check_connection())["name"]


# -- bad store data --------------------------------------------------------------------------------
async def test_bad_records_do_not_crash(http):
    records = [
        shopify_order(1, "#1001", currency="XXX", financial_status="weird", line_items=[{"title": None, "quantity": "x"}, "junk"],
                      fulfillments=[{"id": 5, "status": "bogus", "tracking_numbers": "nope", "line_items": ["x"]}, "junk"],
                      billing_address="nowhere", total_price={"x": 1}),
        shopify_order(2, "#1002", email=12345, created_at="not a date", updated_at=None),
    ]
    async with running_emulator("shopify", records) as emu:
        platform = emu.platform(http)
        first = await platform.get_order("1001")
        assert first.currency == "USD" and first.billing_postcode == "90210"  # shipping zip used
        second = await platform.get_order("1002")
        assert second.email is None
        import json

        json.dumps(first.to_public_dict()), json.dumps(second.to_public_dict())


async def test_unusable_graphql_payloads(shopify, http):
    platform = shopify.platform(http)
    with pytest.raises(MalformedResponse):
        platform._orders({"orders": None}, False)
    with pytest.raises(MalformedResponse):
        platform._orders({"orders": {"nodes": "x"}}, False)
    assert platform._orders({"orders": {"nodes": [None, {"id": 1}, {"name": "#1"}]}}, False) == []
