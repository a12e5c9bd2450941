"""The WooCommerce platform against its emulator."""
from __future__ import annotations

import asyncio

import pytest

from plugins.errors import (
    CircuitOpen,
    MalformedResponse,
    OrderNotFound,
    PlatformError,
    RateLimited,
    StoreAuthError,
    StoreConfigError,
    StoreUnreachable,
)
from plugins.http import StoreHttpClient
from plugins.model import OrderStatus, ShipmentStatus, StoreConnection
from plugins.testing import running_emulator
from plugins.woocommerce import load_seed_orders
from plugins.woocommerce.client import WooCommercePlatform
from tests.plugins.factories import FAST, woo_order, woo_tracking

pytestmark = pytest.mark.timeout(60)

ORDERS_PATH = "/wp-json/wc/v3/orders"


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("1001", "1001"),
        ("#1001", "1001"),
        (" # 1001 ", "1001"),
        ("01001", "1001"),
        ("#0001001", "1001"),
        ("１００１", "1001"),  # full-width digits
        ("WC-5521", "WC-5521"),
        ("wc-5521", "WC-5521"),
        ("#WC-5521", "WC-5521"),
        ("wc5521", "WC-5521"),
        ("5521", "WC-5521"),
        ("005521", "WC-5521"),
        ("00123842", "00123842"),
        ("123842", "00123842"),
        ("#00123842", "00123842"),
    ],
)
async def test_get_order_every_written_form(woo, http, typed, expected):
    order = await woo.platform(http).get_order(typed)
    assert order.number == expected
    assert order.platform == "woocommerce"


@pytest.mark.parametrize("typed", ["9999", "WC-9999", "#", "", "   ", "<script>", "1" * 60, "10 01 x!", None, "1001-A"])
async def test_unknown_or_invalid_numbers_are_not_found(woo, http, typed):
    with pytest.raises(OrderNotFound):
        await woo.platform(http).get_order(typed)


async def test_invalid_number_does_not_reach_the_store(woo, http):
    with pytest.raises(OrderNotFound):
        await woo.platform(http).get_order("'; DROP TABLE")
    assert woo.stats.hits == 0


async def test_id_that_belongs_to_another_number_is_not_returned(http):
    """With a sequential-numbers plugin, order id 1001 may be displayed as another number."""
    orders = [woo_order(1001, number="WC-0990"), woo_order(2000, number="1001", email="right@example.com")]
    async with running_emulator("woocommerce", orders) as emu:
        order = await emu.platform(http).get_order("#1001")
    assert order.platform_id == "2000"
    assert order.matches_email("right@example.com")


async def test_find_orders_by_email_newest_first(woo, http):
    orders = await woo.platform(http).find_orders("  Jane.Doe@EXAMPLE.com ")
    assert [o.number for o in orders] == ["1001", "1002", "1005"]
    assert all(o.matches_email("jane.doe@example.com") for o in orders)
    assert [o.number for o in await woo.platform(http).find_orders("jane.doe@example.com", limit=2)] == ["1001", "1002"]


@pytest.mark.parametrize("email", ["nobody@example.com", "not-an-email", "", "a@b", None, "x" * 300 + "@example.com"])
async def test_find_orders_unknown_or_invalid_email(woo, http, email):
    assert await woo.platform(http).find_orders(email) == []


async def test_find_orders_follows_pagination_and_filters_partial_matches(http):
    """``search`` is a substring search: the first page may be all other customers."""
    others = [woo_order(100 + i, email="jean@example.com", created=f"2026-11-{20 - i // 2:02d}T10:00:00") for i in range(12)]
    mine = [woo_order(200 + i, email="an@example.com", created=f"2026-10-0{i + 1}T10:00:00") for i in range(3)]
    async with running_emulator("woocommerce", others + mine) as emu:
        found = await emu.platform(http).find_orders("an@example.com", limit=5)
        assert [o.platform_id for o in found] == ["202", "201", "200"]
        assert emu.stats.by_path[ORDERS_PATH] == 2  # followed the Link/X-WP-TotalPages to page 2


async def test_list_headers_from_emulator(woo, http):
    platform = woo.platform(http)
    response = await platform._get(ORDERS_PATH, {"per_page": 4, "page": 1})
    assert response.headers["X-WP-Total"] == "11"
    assert response.headers["X-WP-TotalPages"] == "3"
    assert 'rel="next"' in response.headers["Link"] and "consumer_" not in response.headers["Link"]


async def test_tracking_from_meta(woo, http):
    order = await woo.platform(http).get_order("1002")
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    assert [(s.carrier, s.tracking_number) for s in order.shipments] == [
        ("UPS", "1Z999AA10123456784"),
        ("USPS", "9400100000000000000000"),  # spaces removed
    ]
    assert order.shipments[0].tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert order.shipments[0].shipped_at is not None and order.shipments[0].shipped_at.tzinfo is not None
    assert await woo.platform(http).get_shipments(order) == order.shipments
    assert woo.stats.hits == 1  # meta was enough


async def test_tracking_from_extension_endpoint(http):
    async with running_emulator("woocommerce", hide_tracking_meta=True) as emu:
        platform = emu.platform(http)
        order = await platform.get_order("1002")
        assert order.shipments == []
        shipments = await platform.get_shipments(order)
        assert [s.tracking_number for s in shipments] == ["1Z999AA10123456784", "9400100000000000000000"]
        assert shipments[0].carrier == "UPS" and shipments[0].shipped_at is not None
        assert emu.stats.by_path["/wp-json/wc-shipment-tracking/v3/orders/1002/shipment-trackings"] == 1


async def test_custom_provider_and_link(http):
    item = woo_tracking("", "ZX-42", custom_tracking_provider="Speedy Couriers", custom_tracking_link="https://speedy.example/t/ZX-42")
    async with running_emulator("woocommerce", [woo_order(7, "completed", tracking=[item])]) as emu:
        order = await emu.platform(http).get_order("7")
    assert order.shipments[0].carrier == "Speedy Couriers"
    assert order.shipments[0].tracking_url == "https://speedy.example/t/ZX-42"


async def test_missing_tracking_extension_is_remembered(http):
    async with running_emulator("woocommerce", hide_tracking_meta=True, shipment_tracking=False) as emu:
        platform = emu.platform(http)
        order = await platform.get_order("1003")
        assert await platform.get_shipments(order) == []
        assert await platform.get_shipments(order) == []
        assert emu.stats.by_path["/wp-json/wc-shipment-tracking/v3/orders/1003/shipment-trackings"] == 1


@pytest.mark.parametrize(
    "status, tracked, expected, label",
    [
        ("pending", False, OrderStatus.PENDING, "Pending payment"),
        ("processing", False, OrderStatus.PROCESSING, "Processing"),
        ("processing", True, OrderStatus.PARTIALLY_SHIPPED, "Processing"),
        ("on-hold", False, OrderStatus.ON_HOLD, "On hold"),
        ("completed", True, OrderStatus.SHIPPED, "Completed"),
        ("completed", False, OrderStatus.SHIPPED, "Completed"),
        ("cancelled", False, OrderStatus.CANCELLED, "Cancelled"),
        ("refunded", False, OrderStatus.REFUNDED, "Refunded"),
        ("failed", False, OrderStatus.FAILED, "Failed"),
        ("trash", False, OrderStatus.CANCELLED, "Deleted"),
        ("checkout-draft", False, OrderStatus.PENDING, "Draft"),
        ("partial-shipped", True, OrderStatus.PARTIALLY_SHIPPED, "Partially shipped"),
        ("shipped", True, OrderStatus.SHIPPED, "Shipped"),
        ("delivered", True, OrderStatus.DELIVERED, "Delivered"),
        ("awaiting-pickup", False, OrderStatus.PROCESSING, "Awaiting pickup"),
    ],
)
async def test_every_status_is_mapped(http, status, tracked, expected, label):
    order_data = woo_order(42, status, tracking=[woo_tracking()] if tracked else None)
    async with running_emulator("woocommerce", [order_data]) as emu:
        order = await emu.platform(http).get_order("42")
    assert (order.status, order.status_label) == (expected, label)
    if expected is OrderStatus.DELIVERED:
        assert order.shipments[0].status is ShipmentStatus.DELIVERED


async def test_status_options(http):
    async with running_emulator("woocommerce", [woo_order(1, "completed"), woo_order(2, "ready-to-ship")]) as emu:
        platform = emu.platform(http, options={"completed_means_delivered": True, "status_map": {"ready-to-ship": "on_hold"}})
        assert (await platform.get_order("1")).status is OrderStatus.DELIVERED
        assert (await platform.get_order("2")).status is OrderStatus.ON_HOLD


async def test_seed_has_the_promised_variety(woo, http):
    platform = woo.platform(http)
    statuses = {(await platform.get_order(str(o["number"]))).status for o in load_seed_orders()}
    assert {
        OrderStatus.PROCESSING, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED,
        OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.ON_HOLD, OrderStatus.PENDING, OrderStatus.FAILED,
    } <= statuses


async def test_verification_fields_and_public_dict(woo, http):
    order = await woo.platform(http).get_order("1003")
    assert order.matches_email("SAM.LEE@example.com") and not order.matches_email("jane.doe@example.com")
    assert order.matches_postcode("sw1a-1aa") and not order.matches_postcode("SW1A 2AA")
    public = order.to_public_dict()
    assert "email" not in public and "billing_postcode" not in public
    assert "sam.lee" not in repr(public).lower() and "SW1A" not in repr(public)


async def test_check_connection(woo, http):
    info = await woo.platform(http).check_connection()
    assert info["platform"] == "woocommerce" and info["version"] and info["shipment_tracking"] is True


# -- auth ------------------------------------------------------------------------------------------
async def test_wrong_key_is_auth_error(woo, http):
    conn = woo.connection(credentials={"consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"})
    with pytest.raises(StoreAuthError):
        await WooCommercePlatform(conn, http).check_connection()
    with pytest.raises(StoreAuthError):
        await WooCommercePlatform(conn, http).get_order("1001")


async def test_wrong_secret_is_auth_error(woo, http):
    conn = woo.connection()
    conn.credentials = {**conn.credentials, "consumer_secret": "cs_wrong"}
    with pytest.raises(StoreAuthError):
        await WooCommercePlatform(conn, http).find_orders("jane.doe@example.com")


async def test_emulator_answers_woocommerce_401_bodies(woo, http):
    session = http._get_session()
    async with session.get(woo.base_url + ORDERS_PATH) as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "woocommerce_rest_cannot_view"
    async with session.get(woo.base_url + ORDERS_PATH, params={"consumer_key": "ck_x", "consumer_secret": "cs_x"}) as resp:
        body = await resp.json()
        assert resp.status == 401 and body["code"] == "woocommerce_rest_authentication_error"
        assert body["data"] == {"status": 401}


async def test_query_string_auth(woo, http):
    platform = woo.platform(http, options={"auth": "query"})
    assert (await platform.get_order("1001")).number == "1001"


async def test_falls_back_to_query_string_auth_when_header_is_stripped(woo, http):
    woo.set_faults(strip_authorization=True)
    platform = woo.platform(http)
    assert (await platform.get_order("1001")).number == "1001"
    assert woo.stats.hits == 2  # basic auth (401), then query string
    assert (await platform.get_order("1003")).number == "1003"
    assert woo.stats.hits == 3  # remembered
    with pytest.raises(StoreAuthError):
        await woo.platform(http, store_id="other", options={"auth": "basic"}).get_order("1001")


async def test_plain_http_is_refused_for_real_stores(http):
    conn = StoreConnection("s1", "woocommerce", "http://shop.example.com", credentials={"consumer_key": "k", "consumer_secret": "s"})
    with pytest.raises(StoreConfigError):
        await WooCommercePlatform(conn, http).check_connection()


async def test_missing_credentials(woo, http):
    with pytest.raises(StoreConfigError):
        await WooCommercePlatform(woo.connection(credentials={}), http).get_order("1001")
    assert woo.stats.hits == 0


async def test_wrong_base_path_is_config_error(woo, http):
    conn = woo.connection(base_url=woo.base_url + "/shop")
    with pytest.raises(PlatformError):
        await WooCommercePlatform(conn, http).check_connection()


# -- HTTP failures ---------------------------------------------------------------------------------
async def test_404_order_is_not_found(woo, http):
    with pytest.raises(OrderNotFound):
        await woo.platform(http).get_order("424242")


async def test_429_burst_within_retries_succeeds(woo, http):
    woo.set_faults(burst_count=2, burst_status=429, retry_after=0.01)
    assert (await woo.platform(http).get_order("1001")).number == "1001"
    assert woo.stats.hits == 3


async def test_429_beyond_retries_is_rate_limited(woo, http):
    woo.set_faults(burst_count=10, burst_status=429, retry_after=0.01)
    with pytest.raises(RateLimited) as info:
        await woo.platform(http).get_order("1001")
    assert info.value.retry_after == pytest.approx(0.01)
    assert woo.stats.hits == FAST["max_retries"] + 1


async def test_long_retry_after_is_not_waited_for(woo, http):
    woo.set_faults(burst_count=1, burst_status=429, retry_after=30)
    with pytest.raises(RateLimited) as info:
        await woo.platform(http).get_order("1001")
    assert info.value.retry_after == 30
    assert woo.stats.hits == 1


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_are_retried_and_bounded(woo, http, status):
    woo.set_faults(error_rate=1.0, error_status=status)
    with pytest.raises(StoreUnreachable):
        await woo.platform(http).get_order("1001")
    assert woo.stats.hits == FAST["max_retries"] + 1


async def test_500_is_not_retried(woo, http):
    woo.set_faults(error_rate=1.0, error_status=500)
    with pytest.raises(StoreUnreachable):
        await woo.platform(http).get_order("1001")
    assert woo.stats.hits == 1


@pytest.mark.parametrize("status", [400, 403, 418])
async def test_other_4xx_are_not_retried(woo, http, status):
    woo.set_faults(burst_count=5, burst_status=status)
    with pytest.raises(PlatformError) as info:
        await woo.platform(http).get_order("1001")
    assert not isinstance(info.value, (StoreUnreachable, RateLimited))
    assert woo.stats.hits == 1


async def test_transient_503_then_success(woo, http):
    woo.set_faults(burst_count=1, burst_status=503)
    assert (await woo.platform(http).get_order("1001")).number == "1001"
    assert woo.stats.hits == 2


async def test_timeouts_are_unreachable_and_bounded(woo):
    woo.set_faults(latency_ms=400)
    async with StoreHttpClient(**{**FAST, "total_timeout": 0.1}) as client:
        with pytest.raises(StoreUnreachable):
            await woo.platform(client).get_order("1001")
    await asyncio.sleep(0.45)
    assert woo.stats.hits == FAST["max_retries"] + 1


async def test_dropped_connections_are_unreachable_and_bounded(woo, http):
    woo.set_faults(drop_count=10)
    with pytest.raises(StoreUnreachable):
        await woo.platform(http).get_order("1001")
    assert woo.stats.hits == FAST["max_retries"] + 1


async def test_dropped_connection_once_then_success(woo, http):
    woo.set_faults(drop_count=1)
    assert (await woo.platform(http).get_order("1001")).number == "1001"


async def test_malformed_json_is_malformed_response(woo, http):
    woo.set_faults(malformed_count=1)
    with pytest.raises(MalformedResponse):
        await woo.platform(http).get_order("1001")
    assert woo.stats.hits == 1


async def test_huge_body_is_capped(woo):
    woo.set_faults(oversize_count=1, oversize_bytes=300_000)
    async with StoreHttpClient(**{**FAST, "max_body_bytes": 100_000}) as client:
        with pytest.raises(MalformedResponse):
            await woo.platform(client).get_order("1001")


async def test_unreachable_port(http):
    conn = StoreConnection("gone", "woocommerce", "http://127.0.0.1:9", credentials={"consumer_key": "k", "consumer_secret": "s"})
    with pytest.raises(StoreUnreachable):
        await WooCommercePlatform(conn, http).check_connection()


async def test_circuit_breaker_opens_and_recovers(woo, http):
    platform = woo.platform(http)
    woo.set_faults(error_rate=1.0, error_status=500)
    for _ in range(FAST["breaker_threshold"]):
        with pytest.raises(StoreUnreachable):
            await platform.get_order("1001")
    hits = woo.stats.hits
    with pytest.raises(CircuitOpen):
        await platform.get_order("1001")
    assert woo.stats.hits == hits  # refused without calling the store
    other = woo.platform(http, store_id="another-store")
    woo.set_faults(reset=True)
    assert (await other.get_order("1001")).number == "1001"  # per store
    await asyncio.sleep(FAST["breaker_reset_timeout"] + 0.05)
    assert (await platform.get_order("1001")).number == "1001"  # half-open trial succeeds
    assert http.state_for(platform.store.key).breaker.state == "closed"


async def test_circuit_breaker_reopens_after_failed_trial(woo, http):
    platform = woo.platform(http)
    woo.set_faults(error_rate=1.0, error_status=500)
    for _ in range(FAST["breaker_threshold"]):
        with pytest.raises(StoreUnreachable):
            await platform.get_order("1001")
    await asyncio.sleep(FAST["breaker_reset_timeout"] + 0.05)
    with pytest.raises(StoreUnreachable):
        await platform.get_order("1001")
    with pytest.raises(CircuitOpen):
        await platform.get_order("1001")


# -- bad store data --------------------------------------------------------------------------------
BAD_ORDERS = [
    woo_order(301, line_items="not a list", billing=None, meta_data={"x": 1}, total={"a": 1}, currency=5),
    woo_order(302, status=None, date_created_gmt="yesterday", date_created=12, number=None),
    woo_order(303, tracking=[woo_tracking("ups", "１Z\u200b999\x00AA\n10<script>123"), "junk", {"tracking_number": None}, woo_tracking("ups", "\u202e\u0000")]),
    woo_order(304, line_items=[{"name": "<b>Big</b> &amp; bold " + "x" * 5000, "quantity": "3", "price": "NaN"}, None, {"quantity": -4}]),
    woo_order(305, tracking=[woo_tracking("fedex", "12345", custom_tracking_link="javascript:alert(1)")]),
]


@pytest.mark.parametrize("order_id", [301, 302, 303, 304, 305])
async def test_bad_fields_are_cleaned_not_crashing(http, order_id):
    async with running_emulator("woocommerce", BAD_ORDERS) as emu:
        order = await emu.platform(http).get_order(str(order_id))
        assert order.platform_id == str(order_id)
        public = order.to_public_dict()
    import json

    json.dumps(public)
    if order_id == 303:
        assert [s.tracking_number for s in order.shipments] == ["1Z999AA10script123"]
    if order_id == 304:
        assert order.items[0].name.startswith("Big & bold") and len(order.items[0].name) <= 200
        assert order.items[0].quantity == 3 and order.items[0].unit_price is None
    if order_id == 305:
        assert order.shipments[0].tracking_url.startswith("https://www.fedex.com/")


async def test_payload_of_wrong_type_is_malformed(http):
    async with running_emulator("woocommerce", [woo_order(1)]) as emu:
        emu.app.router  # noqa: B018
        platform = emu.platform(http)
        emu.app[__import__("plugins.woocommerce.emulator", fromlist=["STATE_KEY"]).STATE_KEY].by_id[9] = ["not", "an", "object"]
        with pytest.raises(MalformedResponse):
            await platform.get_order("9")


async def test_orders_without_id_are_skipped_in_lists(http):
    async with running_emulator("woocommerce", [woo_order(1), {"number": "77", "billing": {"email": "pat@example.com"}}]) as emu:
        found = await emu.platform(http).find_orders("pat@example.com")
    assert [o.number for o in found] == ["1"]


# -- permalinks --------------------------------------------------------------------------------------
async def test_check_connection_reads_the_rest_index(woo, http):
    info = await woo.platform(http).check_connection()
    assert info["name"] == "Demo Outfitters" and info["permalinks"] == "pretty"


async def test_plain_permalinks_are_detected_and_used(http):
    async with running_emulator("woocommerce", plain_permalinks=True) as emu:
        platform = emu.platform(http)
        assert (await platform.get_order("1001")).number == "1001"  # /wp-json/ 404 page → detected, retried
        assert emu.stats.by_path["/wp-json/wc/v3/orders/1001"] == 1 and emu.stats.by_path["/wp-json/"] == 1
        info = await platform.check_connection()
        assert info["permalinks"] == "plain" and info["version"]
        order = await platform.get_order("WC-5521")  # id lookup, then search, all via ?rest_route=
        assert order.number == "WC-5521"
        assert [o.number for o in await platform.find_orders("jane.doe@example.com")] == ["1001", "1002", "1005"]
        assert emu.stats.by_path["/"] >= 4
        assert emu.stats.by_path["/wp-json/wc/v3/orders/1001"] == 1  # never tried the pretty form again


async def test_plain_permalinks_option_and_pagination(http):
    orders = [woo_order(100 + i, email="jean@example.com", created=f"2026-11-{20 - i // 2:02d}T10:00:00") for i in range(12)]
    orders += [woo_order(200, email="an@example.com", created="2026-10-01T10:00:00")]
    async with running_emulator("woocommerce", orders, plain_permalinks=True) as emu:
        platform = emu.platform(http, options={"permalinks": "plain"})
        assert [o.platform_id for o in await platform.find_orders("an@example.com")] == ["200"]
        response = await platform._get(ORDERS_PATH, {"per_page": 5})
        assert "rest_route=%2Fwc%2Fv3%2Forders" in response.headers["Link"] and "page=2" in response.headers["Link"]


async def test_site_without_woocommerce(http):
    async with running_emulator("woocommerce", plain_permalinks=True) as emu:
        from plugins.woocommerce.emulator import STATE_KEY

        conn = emu.connection(base_url=emu.base_url + "/nothing-here")
        with pytest.raises(StoreConfigError):
            await WooCommercePlatform(conn, http).check_connection()
