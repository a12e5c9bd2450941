"""The BigCommerce platform package (packages/trulybot-bigcommerce) against its emulator."""
from __future__ import annotations

import asyncio
import copy
from decimal import Decimal

import pytest

from plugins.errors import (
    MalformedResponse,
    OrderNotFound,
    PlatformError,
    RateLimited,
    StoreAuthError,
    StoreConfigError,
    StoreUnreachable,
)
from plugins.http import StoreHttpClient
from plugins.manager import get_emulators, get_platform
from plugins.model import OrderStatus, ShipmentStatus
from plugins.testing import running_emulator
from tests.plugins.factories import FAST

bigcommerce = pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
from trulybot_bigcommerce import load_seed_orders  # noqa: E402
from trulybot_bigcommerce.client import BigCommercePlatform, parse_store_hash  # noqa: E402
from trulybot_bigcommerce.normalize import (  # noqa: E402
    STATUS_MAP,
    map_status,
    order_from_payload,
    parse_rfc2822,
    to_order_id,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def bc():
    async with running_emulator("bigcommerce") as emulator:
        yield emulator


def seed(order_id: int) -> dict:
    return copy.deepcopy(next(o for o in load_seed_orders() if o["id"] == order_id))


# -- registration ---------------------------------------------------------------------------------------
def test_registered_through_the_entry_point():
    assert get_platform("bigcommerce") is BigCommercePlatform
    spec = get_emulators()["bigcommerce"]
    assert (spec.module, spec.default_port, spec.orders_env, spec.demo_widget_id) == (
        "trulybot_bigcommerce.emulator", 8103, "TRULYBOT_DEMO_BIGCOMMERCE_ORDERS", "demo-bigcommerce")
    conn = spec.demo_connection("http://127.0.0.1:8103", "demo-bigcommerce")
    assert set(conn.credentials) == set(BigCommercePlatform.credential_fields) == {"access_token"}
    assert conn.shop_domain == "demo1bc" and spec.demo_display_name == "Demo Trading Post (BigCommerce)"


# -- orders ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["122", "#122", " # 122 ", "0122", "１２２"])
async def test_get_order_in_every_written_form(bc, http, typed):
    order = await bc.platform(http).get_order(typed)
    assert (order.number, order.platform, order.status) == ("122", "bigcommerce", OrderStatus.SHIPPED)


@pytest.mark.parametrize("typed", ["999", "0", "BC-122", "#", "", "<script>", "1" * 40, None, "99999999999999"])
async def test_unknown_or_invalid_numbers_are_not_found(bc, http, typed):
    with pytest.raises(OrderNotFound):
        await bc.platform(http).get_order(typed)


async def test_non_numeric_number_does_not_reach_the_store(bc, http):
    with pytest.raises(OrderNotFound):
        await bc.platform(http).get_order("BC-122")
    assert bc.stats.hits == 0


async def test_shipped_order_has_items_and_tracked_parcels(bc, http):
    order = await bc.platform(http).get_order("121")
    assert order.status is OrderStatus.PARTIALLY_SHIPPED and order.status_label == "Partially Shipped"
    assert [(i.name, i.quantity, i.variant) for i in order.items] == [
        ("Wool Picnic Blanket", 1, "Color: Red plaid"), ("Folding Pocket Knife", 1, "Handle: Walnut")]
    [parcel] = order.shipments
    assert (parcel.carrier, parcel.carrier_code, parcel.tracking_number) == ("UPS", "ups", "1Z999AA10123456784")
    assert parcel.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"  # generated_tracking_link
    assert [i.name for i in parcel.items] == ["Wool Picnic Blanket"]
    assert parcel.shipped_at.isoformat() == "2026-11-23T17:05:00+00:00"
    assert order.currency == "USD" and order.total == Decimal("112.3200") and order.subtotal == Decimal("97.5000")
    assert bc.stats.by_path[f"/stores/demo1bc/v2/orders/121/shipments"] == 1


async def test_custom_tracking_link_wins_and_carrier_comes_from_tracking_carrier(bc, http):
    order = await bc.platform(http).get_order("123")
    assert order.status is OrderStatus.DELIVERED and order.status_label == "Completed"
    [parcel] = order.shipments
    assert (parcel.carrier, parcel.tracking_url, parcel.status) == (
        "FedEx", "https://www.fedex.com/fedextrack/?trknbr=612999AA10NT", ShipmentStatus.DELIVERED)


async def test_unshipped_order_does_not_fetch_shipments(bc, http):
    order = await bc.platform(http).get_order("120")
    assert order.status is OrderStatus.PROCESSING and order.shipments == []
    assert not any(path.endswith("/shipments") for path in bc.stats.by_path)
    assert await bc.platform(http).get_shipments(order) == []  # 204 No Content


async def test_get_shipments_fetches_when_the_order_has_none(bc, http):
    platform = bc.platform(http)
    order = await platform.fetch_order(122, with_shipments=False)
    assert order.shipments == []
    [parcel] = await platform.get_shipments(order)
    assert parcel.tracking_url == "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223344556677"


async def test_custom_status_label_and_items_shipped_upgrade(http):
    order = seed(129)
    order["items_shipped"] = 1
    async with running_emulator("bigcommerce", orders=[order]) as emu:
        got = await emu.platform(http).get_order("129")
    assert got.status is OrderStatus.PARTIALLY_SHIPPED and got.status_label == "Packed, waiting for the carrier"


async def test_find_orders_by_email_newest_first(bc, http):
    orders = await bc.platform(http).find_orders("Ava.Martin@Example.com")
    assert [o.number for o in orders] == ["121", "120", "124"]
    assert all(o.matches_email("ava.martin@example.com") for o in orders)
    assert await bc.platform(http).find_orders("nobody@example.com") == []  # 204 No Content
    assert await bc.platform(http).find_orders("not an email") == []


async def test_find_orders_respects_limit(bc, http):
    assert [o.number for o in await bc.platform(http).find_orders("ava.martin@example.com", limit=2)] == ["121", "120"]


@pytest.mark.parametrize("status_id", sorted(STATUS_MAP))
async def test_every_status_id_is_mapped(http, status_id):
    order = seed(120)
    order.update(status_id=status_id, status=STATUS_MAP[status_id][1], custom_status="")
    async with running_emulator("bigcommerce", orders=[order]) as emu:
        got = await emu.platform(http).get_order("120")
    assert (got.status, got.status_label) == STATUS_MAP[status_id]


def test_status_mapping_rules():
    assert map_status(11, items_shipped=3, items_total=3) == (OrderStatus.SHIPPED, "Awaiting Fulfillment")
    assert map_status(9, items_shipped=1, items_total=3)[0] is OrderStatus.PARTIALLY_SHIPPED
    assert map_status(5, items_shipped=3, items_total=3)[0] is OrderStatus.CANCELLED  # closed statuses stay
    assert map_status(42) == (OrderStatus.PROCESSING, "Unknown")
    assert map_status("abc")[0] is OrderStatus.PROCESSING
    assert map_status(10, options={"status_map": {"10": "shipped"}})[0] is OrderStatus.SHIPPED
    assert map_status(10, options={"status_map": {"10": "nonsense"}})[0] is OrderStatus.DELIVERED
    assert map_status(2, label="On its way \u202e")[1] == "On its way"


async def test_verification_fields_stay_private(bc, http):
    order = await bc.platform(http).get_order("126")
    assert order.status is OrderStatus.ON_HOLD
    assert order.matches_email("CHLOE.NGUYEN@example.com") and order.matches_postcode("97205")
    assert not order.matches_email("ava.martin@example.com")
    public = order.to_public_dict()
    assert "chloe" not in str(public).lower() and "97205" not in str(public)
    assert order.matches_second_fact("nguyen") and order.matches_second_fact("0133") and not order.matches_second_fact("Martin")
    assert order.verification_methods[0] == "email"


async def test_check_connection(bc, http):
    info = await bc.platform(http).check_connection()
    assert info == {"platform": "bigcommerce", "name": "Demo Trading Post", "version": "v2", "store_hash": "demo1bc",
                    "storefront_url": "https://demo-trading-post.example", "currency": "USD", "status": "live"}


async def test_storefront_address_is_read_once_per_store_unless_configured(bc, http):
    platform = bc.platform(http)
    for number in ("120", "122"):
        order = await platform.get_order(number)
        assert order.status_page_url == f"https://demo-trading-post.example/account.php?action=view_order&order_id={number}"
    assert bc.stats.by_path["/stores/demo1bc/v2/store"] == 1
    explicit = bc.platform(http, store_id="other", options={"storefront_url": "https://shop.example"})
    assert (await explicit.get_order("120")).status_page_url.startswith("https://shop.example/account.php")
    assert bc.stats.by_path["/stores/demo1bc/v2/store"] == 1


async def test_unusable_storefront_address_gives_no_link(bc, http):
    bc.app[bigcommerce.emulator.STATE_KEY].secure_url = "not a url"
    order = await bc.platform(http).get_order("120")
    assert order.status_page_url is None and order.number == "120"


async def test_failing_store_information_does_not_fail_the_order(bc, http, monkeypatch):
    async def unreachable(self):
        raise StoreUnreachable("store timed out", platform="bigcommerce")

    monkeypatch.setattr(BigCommercePlatform, "check_connection", unreachable)
    platform = bc.platform(http)
    order = await platform.get_order("120")
    assert order.number == "120" and order.status_page_url is None
    assert platform.http.state_for(platform.store.key).memo["storefront_checked"] is True  # not retried per lookup


# -- errors ---------------------------------------------------------------------------------------------
async def test_wrong_token_is_auth_error(bc, http):
    platform = bc.platform(http, credentials={"access_token": "wrong"})
    with pytest.raises(StoreAuthError):
        await platform.check_connection()
    with pytest.raises(StoreAuthError):
        await platform.get_order("120")


async def test_403_is_auth_error(bc, http):
    bc.set_faults(burst_count=1, burst_status=403)
    with pytest.raises(StoreAuthError):
        await bc.platform(http).get_order("120")


async def test_unknown_store_hash_is_config_error(bc, http):
    with pytest.raises(StoreConfigError, match="store hash"):
        await bc.platform(http, shop_domain="nothere").check_connection()


@pytest.mark.parametrize("changes", [{"credentials": {}}, {"credentials": {"access_token": " "}}, {"shop_domain": None},
                                     {"shop_domain": "bad hash!"}, {"shop_domain": "x" * 40}])
async def test_missing_or_malformed_credentials(bc, http, changes):
    with pytest.raises(StoreConfigError):
        await bc.platform(http, **changes).get_order("120")
    assert bc.stats.hits == 0


@pytest.mark.parametrize("spelling", ["demo1bc", "stores/DEMO1BC", "https://api.bigcommerce.com/stores/demo1bc/v3/", " demo1bc/v2 "])
async def test_store_hash_in_every_spelling(bc, http, spelling):
    assert parse_store_hash(spelling) == "demo1bc"
    assert (await bc.platform(http, shop_domain=spelling).get_order("120")).number == "120"


async def test_plain_http_is_refused_for_real_hosts(http):
    platform = BigCommercePlatform(get_emulators()["bigcommerce"].demo_connection("http://api.example.com", 1), http)
    with pytest.raises(StoreConfigError, match="HTTPS"):
        await platform.get_order("120")
    assert BigCommercePlatform(get_emulators()["bigcommerce"].demo_connection("", 1), http).base_url() == \
        "https://api.bigcommerce.com/stores/demo1bc/v2"


async def test_429_within_retries_succeeds_and_beyond_is_rate_limited(bc, http):
    bc.set_faults(burst_count=2, burst_status=429, retry_after=0.01)
    assert (await bc.platform(http).get_order("120")).number == "120"
    bc.set_faults(reset=True, burst_count=10, burst_status=429, retry_after=0.01)
    with pytest.raises(RateLimited) as info:
        await bc.platform(http).get_order("120")
    assert info.value.retry_after == pytest.approx(0.01)


@pytest.mark.parametrize("status", [502, 503, 504, 500])
async def test_5xx_is_unreachable(bc, http, status):
    bc.set_faults(error_rate=1.0, error_status=status)
    with pytest.raises(StoreUnreachable):
        await bc.platform(http).get_order("120")


@pytest.mark.parametrize("status", [400, 418])
async def test_other_4xx_are_platform_errors(bc, http, status):
    bc.set_faults(burst_count=1, burst_status=status)
    with pytest.raises(PlatformError) as info:
        await bc.platform(http).get_order("120")
    assert not isinstance(info.value, (StoreUnreachable, RateLimited, StoreAuthError))


async def test_timeouts_and_drops_are_unreachable(bc):
    bc.set_faults(latency_ms=400)
    async with StoreHttpClient(**{**FAST, "total_timeout": 0.1}) as client:
        with pytest.raises(StoreUnreachable):
            await bc.platform(client).get_order("120")
    await asyncio.sleep(0.45)
    bc.set_faults(reset=True, drop_count=10)
    async with StoreHttpClient(**FAST) as client:
        with pytest.raises(StoreUnreachable):
            await bc.platform(client).get_order("120")


async def test_malformed_json_is_malformed_response(bc, http):
    bc.set_faults(malformed_count=1)
    with pytest.raises(MalformedResponse):
        await bc.platform(http).get_order("120")


async def test_answer_for_another_order_is_malformed(http):
    order = seed(120)
    async with running_emulator("bigcommerce", orders=[order]) as emu:
        emu.app[bigcommerce.emulator.STATE_KEY].by_id[121] = order  # the store answers 121 with order 120
        with pytest.raises(MalformedResponse):
            await emu.platform(http).get_order("121")


# -- normalizer -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [None, [], "x", {}, {"id": "abc"}, {"id": -1}])
def test_unusable_payloads_are_malformed(payload):
    with pytest.raises(MalformedResponse):
        order_from_payload(payload)


def test_hostile_fields_are_cleaned():
    order = seed(121)
    order.update(custom_status=None, status="Shipped\x00", date_created="not a date", total_inc_tax="NaN", currency_code="U$D",
                 default_currency_code=None, billing_address="nope")
    order["products"][0].update(name_customer="<b>Blanket</b>\u200b" + "x" * 500, quantity="lots", product_options="bad")
    order["shipments"][0].update(tracking_number="１Z 999", generated_tracking_link="javascript:alert(1)", shipping_provider="", items="bad",
                                 shipping_provider_display_name="")
    order["shipments"].append("garbage")
    got = order_from_payload(order)
    assert got.status_label == "Shipped" and got.created_at is None and got.total is None and got.currency is None
    assert got.email is None and len(got.items[0].name) <= 200 and got.items[0].quantity == 1
    [parcel] = got.shipments
    assert parcel.tracking_number == "1Z999" and parcel.tracking_url is None and parcel.items == []


def test_embedded_resource_links_mean_no_items():
    order = seed(120)
    order["products"] = {"url": "https://api.bigcommerce.com/stores/x/v2/orders/120/products", "resource": "/orders/120/products"}
    assert order_from_payload(order).items == []


def test_dates_and_ids():
    assert parse_rfc2822("Tue, 05 Mar 2019 21:40:11 +0000").isoformat() == "2019-03-05T21:40:11+00:00"
    assert parse_rfc2822("2019-03-05T21:40:11Z").isoformat() == "2019-03-05T21:40:11+00:00"
    assert parse_rfc2822("") is None and parse_rfc2822(None) is None and parse_rfc2822("soon") is None
    assert [to_order_id(v) for v in ("0122", 122, "12a", True, "0", 2**40, "")] == [122, 122, None, None, None, None, None]


async def test_seed_has_the_promised_variety(bc, http):
    platform = bc.platform(http)
    statuses = {o["id"]: (await platform.get_order(str(o["id"]))).status for o in load_seed_orders()}
    assert set(statuses.values()) == set(OrderStatus)
    assert statuses[121] is OrderStatus.PARTIALLY_SHIPPED and statuses[122] is OrderStatus.SHIPPED


async def test_emulator_renders_resource_links_and_204(bc, http):
    platform = bc.platform(http)
    response = await platform.call("GET", "/orders/120")
    body = response.json()
    assert body["products"] == {"url": f"{bc.base_url}/stores/demo1bc/v2/orders/120/products", "resource": "/orders/120/products"}
    assert "shipments" not in body
    assert (await platform.call("GET", "/orders", params={"email": "nobody@example.com"})).status == 204
    assert (await platform.call("GET", "/orders/120/shipments")).status == 204


# -- connecting -----------------------------------------------------------------------------------------
def test_connection_schema_cleans_and_refuses():
    from plugins.integration import FieldError

    schema = BigCommercePlatform.connection_schema
    token = "a" * 31
    assert schema.validate({"store_hash": " ABC123 ", "access_token": token}) == {"store_hash": "ABC123", "access_token": token}
    assert schema.validate({"store_hash": "https://api.bigcommerce.com/stores/abc123/v3/", "access_token": token})["store_hash"]
    for values, field in (({"access_token": token}, "store_hash"), ({"store_hash": "abc/123", "access_token": token}, "store_hash"),
                          ({"store_hash": "abc123"}, "access_token"), ({"store_hash": "abc123", "access_token": "has spaces in it!"}, "access_token"),
                          ({"store_hash": "abc123", "access_token": token, "storefront_url": "shop.example"}, "storefront_url"),
                          ({"store_hash": "abc123", "access_token": token, "api_key": "x"}, "api_key")):
        with pytest.raises(FieldError) as info:
            schema.validate(values)
        assert info.value.field == field
    assert {f.name: f.is_secret for f in schema.fields} == {"store_hash": False, "access_token": True, "storefront_url": False}


def test_connection_from_fields():
    from plugins.integration import ConnectContext

    values = {"store_hash": "https://api.bigcommerce.com/stores/ABC123/v3/", "access_token": "t" * 20, "storefront_url": "https://shop.example"}
    conn = BigCommercePlatform.connection_from_fields(values, ConnectContext("https://bot.example"))
    assert (conn.platform, conn.shop_domain, conn.base_url) == ("bigcommerce", "abc123", "https://api.bigcommerce.com")
    assert conn.credentials == {"access_token": "t" * 20} and conn.options == {"storefront_url": "https://shop.example"}
    assert BigCommercePlatform.store_key_of(conn) == "abc123"
    assert BigCommercePlatform.storefront_origins(conn) == ["https://shop.example"]
    emulated = BigCommercePlatform.connection_from_fields(values, ConnectContext("https://bot.example", base_url_override="http://127.0.0.1:9/"))
    assert emulated.base_url == "http://127.0.0.1:9"
    for setting, demo, expected in (("http://127.0.0.1:8103", False, "http://127.0.0.1:8103"),
                                    ("https://proxy.example/bc/", False, "https://proxy.example/bc"),
                                    ("http://proxy.example", False, "https://api.bigcommerce.com"),
                                    ("http://proxy.example", True, "http://proxy.example"),
                                    ("not a url", False, "https://api.bigcommerce.com")):
        context = ConnectContext("https://bot.example", settings={"api_url": setting}, demo=demo)
        assert BigCommercePlatform.connection_from_fields(values, context).base_url == expected
    assert BigCommercePlatform.storefront_origins(BigCommercePlatform.connection_from_fields(
        {**values, "storefront_url": "http://shop.example"}, ConnectContext("https://bot.example"))) == []


# -- demo seed from TRULYBOT_DEMO_BIGCOMMERCE_ORDERS (contract C4) ----------------------------------------
def test_demo_orders_variable_reaches_the_emulator_command_line(tmp_path, monkeypatch):
    from bot.core.settings import load_settings
    from bot.process.supervisor import build_children

    orders = tmp_path / "orders.json"
    orders.write_text("[]")
    monkeypatch.setenv("TRULYBOT_DEMO_BIGCOMMERCE_ORDERS", str(orders))
    monkeypatch.setenv("TRULYBOT_BIGCOMMERCE_EMULATOR_PORT", "18103")
    children = build_children(load_settings({"TRULYBOT_DATA_DIR": str(tmp_path)}), tmp_path / "model.tar.gz", tmp_path, True)
    [child] = [c for c in children if c.name == "bigcommerce-emulator"]
    assert child.argv[1:] == ["-m", "trulybot_bigcommerce.emulator", "--host", "127.0.0.1", "--port", "18103", "--orders", str(orders)]
    assert child.port == 18103 and child.port_variable == "TRULYBOT_BIGCOMMERCE_EMULATOR_PORT"


@pytest.mark.timeout(90)
async def test_emulator_process_serves_an_orders_file_in_the_seed_shape(tmp_path, http):
    """Products and shipments as lists, or left as resource links (then the order has no items)."""
    import json
    import subprocess
    import sys

    from tests.support.ports import free_port

    embedded = seed(121)
    linked = seed(122)
    linked["products"] = {"url": "https://api.bigcommerce.com/stores/x/v2/orders/122/products", "resource": "/orders/122/products"}
    del linked["shipments"]
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps([embedded, linked]))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "trulybot_bigcommerce.emulator", "--port", str(port), "--orders", str(orders)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                health = await http.request("GET", base + "/__emulator/health", store_key="health", max_retries=0)
                break
            except StoreUnreachable:
                await asyncio.sleep(0.05)
        assert health.json() == {"status": "ok", "platform": "bigcommerce", "orders": 2}
        platform = BigCommercePlatform(get_emulators()["bigcommerce"].demo_connection(base, "file"), http)
        first = await platform.get_order("121")
        assert [i.name for i in first.items] == ["Wool Picnic Blanket", "Folding Pocket Knife"] and first.shipments
        second = await platform.get_order("122")
        assert second.items == [] and second.shipments == [] and second.status is OrderStatus.SHIPPED
        with pytest.raises(OrderNotFound):
            await platform.get_order("120")
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_emulator_refuses_a_bad_orders_file(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "orders.json"
    bad.write_text('{"not": "a list"}')
    done = subprocess.run([sys.executable, "-m", "trulybot_bigcommerce.emulator", "--port", "1", "--orders", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "JSON list of order objects" in done.stderr
