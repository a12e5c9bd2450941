"""One test per member of the platform contract (``plugins.hookspecs``, ``plugins.base.Platform``).

Each ``test_hook_<member>`` exercises the member on the built-in platforms (against their
emulators where the member does I/O) and, where the base class has a default, on a minimal
platform. ``tests/test_plugin_docs.py`` checks that every member has such a test and a section
in ``docs/plugins.md``.
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, List
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from plugins import hookimpl
from plugins.base import Platform
from plugins.carriers import Carrier, find_carrier
from plugins.emulation.spec import EmulatorSpec
from plugins.integration import (
    AppSetting,
    ConnectContext,
    ConnectFlow,
    FieldRole,
    InstallRefused,
    OrderEventKind,
    WebhookRegistration,
    WebhookSecret,
    WebhookTarget,
)
from plugins.manager import build_plugin_manager, get_carriers, get_emulators, get_platform, get_platforms
from plugins.model import Order, OrderStatus, StoreConnection
from plugins.shopify.client import ShopifyPlatform
from plugins.shopify.demo import DEMO_API_KEY, DEMO_API_SECRET, DEMO_SHOP_DOMAIN
from plugins.shopify.oauth import query_hmac
from plugins.woocommerce import webhooks as woo_webhooks
from plugins.woocommerce.client import WooCommercePlatform
from plugins.woocommerce.emulator_auth import WEBHOOKS_KEY
from tests.plugins.factories import woo_order

BUILT_IN = (WooCommercePlatform, ShopifyPlatform)
SHOP_SETTINGS = {"api_key": DEMO_API_KEY, "api_secret": DEMO_API_SECRET, "scopes": "read_orders,read_fulfillments"}


class Minimal(Platform):
    """A read-only platform that overrides nothing but the four reading methods."""

    name = "minimal"

    async def check_connection(self) -> Dict[str, Any]:
        return {"platform": self.name}

    async def get_order(self, number: str) -> Order:
        raise NotImplementedError

    async def find_orders(self, email: str, limit: int = 5) -> List[Order]:
        return []

    async def get_shipments(self, order: Order) -> List[Any]:
        return []


def _minimal(http: Any = None) -> Minimal:
    return Minimal(StoreConnection(store_id=1, platform="minimal", base_url="https://m.example"), http)


def _manager_with(*plugins: Any) -> Any:
    pm = build_plugin_manager(env={"TRULYBOT_PLUGINS": ""}, entry_points=[])
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-plugin-{i}")
    return pm


# --- hooks ----------------------------------------------------------------------------------------

def test_hook_register_platforms():
    class Override(WooCommercePlatform):
        display_name = "Woo (patched)"

    class Plugin:
        @hookimpl
        def register_platforms(self, register):
            register(Minimal)
            register(Override)

    pm = build_plugin_manager(env={}, entry_points=[])
    pm.register(Plugin(), name="test-plugin")
    platforms = get_platforms(pm)
    assert platforms["minimal"] is Minimal
    assert platforms["woocommerce"] is Override  # a later plugin overrides a built-in of the same name
    assert platforms["shopify"] is ShopifyPlatform


def test_hook_register_emulators():
    spec = EmulatorSpec(name="minimal", module="tests.nowhere", default_port=8199,
                        demo_connection=lambda url, store_id: StoreConnection(store_id, "minimal", url),
                        demo_widget_id="demo-minimal")

    class Plugin:
        @hookimpl
        def register_emulators(self, register):
            register(spec)

    emulators = get_emulators(_manager_with(Plugin()))
    assert emulators["minimal"] is spec and spec.port_env == "TRULYBOT_MINIMAL_EMULATOR_PORT"
    built_in = get_emulators()
    assert list(built_in)[:2] == ["woocommerce", "shopify"]  # registration order: the built-ins first
    assert built_in["shopify"].demo_widget_id == "demo-shopify"


def test_hook_register_carriers():
    class Plugin:
        @hookimpl
        def register_carriers(self, register):
            register(Carrier("poste-minimal", "Poste Minimal", "https://track.example/{number}", ("pm",)))
            register(Carrier("ups", "UPS (patched)"))

    pm = _manager_with(Plugin())
    carriers = get_carriers(pm)
    assert carriers["ups"].name == "UPS (patched)"
    assert find_carrier("PM", pm).tracking_url("A B") == "https://track.example/A%20B"


# --- describing the platform ------------------------------------------------------------------------

def test_hook_name():
    for name, cls in get_platforms().items():
        assert cls.name == name and name == name.lower() and name.isidentifier()
    assert get_platform("woocommerce") is WooCommercePlatform


def test_hook_display_name():
    assert {cls.display_name for cls in BUILT_IN} == {"WooCommerce", "Shopify"}
    assert all(cls.display_name for cls in get_platforms().values())
    assert Minimal.display_name == ""  # the default: a plugin must set it to be shown


def test_hook_credential_fields():
    for cls in BUILT_IN:
        credentials = {f.name for f in cls.connection_schema.fields if f.role is FieldRole.CREDENTIAL}
        assert credentials <= set(cls.credential_fields)
    assert ShopifyPlatform.credential_fields == ("access_token",)  # granted by the install, not typed in


def test_hook_connection_schema():
    woo = WooCommercePlatform.connection_schema
    assert woo.flows[0] is ConnectFlow.API_KEYS and ConnectFlow.AUTHORIZATION_CALLBACK in woo.flows
    assert [f.name for f in woo.fields_for(ConnectFlow.AUTHORIZATION_CALLBACK)] == ["store_url"]
    with pytest.raises(ValueError, match="consumer_secret"):
        woo.validate({"store_url": "https://shop.example", "consumer_key": "ck_" + "a" * 20})
    shop = ShopifyPlatform.connection_schema
    assert shop.flows == (ConnectFlow.INSTALL_REDIRECT,)
    assert shop.validate({"shop": "My-Shop.MyShopify.com"}) == {"shop": "my-shop.myshopify.com"}
    assert Minimal.connection_schema.flows == (ConnectFlow.API_KEYS,) and Minimal.connection_schema.fields == ()


def test_hook_app_settings(monkeypatch):
    from bot.services.config import read_app_settings

    required = {s.name for s in ShopifyPlatform.app_settings if s.required}
    assert required == {"api_key", "api_secret"}
    assert AppSetting("api_key", "").env_name("shopify") == "TRULYBOT_SHOPIFY_API_KEY"
    production = read_app_settings({"TRULYBOT_SHOPIFY_API_KEY": " k ", "TRULYBOT_SHOPIFY_SCOPES": ""}, demo=False)
    assert production["shopify"]["api_key"] == "k" and production["shopify"]["api_secret"] is None
    assert production["shopify"]["scopes"] == "read_orders,read_fulfillments"  # the declared default
    demo = read_app_settings({}, demo=True)
    assert demo["shopify"]["api_secret"] == DEMO_API_SECRET  # the emulator's demo app
    assert Minimal.app_settings == ()


def test_hook_webhooks():
    assert WooCommercePlatform.webhooks.secret is WebhookSecret.PER_STORE
    shop = ShopifyPlatform.webhooks
    assert shop.secret is WebhookSecret.APP and shop.app_secret_setting == "api_secret" and shop.app_endpoint
    assert "orders/updated" in shop.topics
    assert Minimal.webhooks is None


# --- reading orders -----------------------------------------------------------------------------------

async def test_hook_check_connection(woo, http):
    info = await woo.platform(http).check_connection()
    assert info["platform"] == "woocommerce" and info["name"]
    from plugins.errors import StoreAuthError

    with pytest.raises(StoreAuthError):
        await woo.platform(http, credentials={"consumer_key": "ck_wrong000", "consumer_secret": "cs_wrong000"}).check_connection()


async def test_hook_get_order(http):
    from plugins.errors import OrderNotFound
    from plugins.testing import running_emulator

    async with running_emulator("woocommerce", [woo_order(1001, "completed", number="1001")]) as emulator:
        platform = emulator.platform(http)
        order = await platform.get_order("#01001")
        assert order.number == "1001" and order.status in (OrderStatus.DELIVERED, OrderStatus.SHIPPED)
        with pytest.raises(OrderNotFound):
            await platform.get_order("9999")


async def test_hook_find_orders(http):
    from plugins.testing import running_emulator

    orders = [woo_order(1, email="pat@example.com", created="2026-11-01T10:00:00"),
              woo_order(2, email="pat@example.com", created="2026-11-03T10:00:00"),
              woo_order(3, email="sam@example.com")]
    async with running_emulator("woocommerce", orders) as emulator:
        found = await emulator.platform(http).find_orders("PAT@example.com")
        assert [o.number for o in found] == ["2", "1"]  # most recent first
        assert await emulator.platform(http).find_orders("nobody@example.com") == []


async def test_hook_get_shipments(http):
    from plugins.testing import running_emulator
    from tests.plugins.factories import woo_tracking

    async with running_emulator("woocommerce", [woo_order(7, "completed", tracking=[woo_tracking("ups", "1Z999AA10123456784")])]) as emulator:
        platform = emulator.platform(http)
        [shipment] = await platform.get_shipments(await platform.get_order("7"))
        assert shipment.tracking_number == "1Z999AA10123456784" and "ups.com" in (shipment.tracking_url or "")


# --- connecting -----------------------------------------------------------------------------------------

def test_hook_connection_from_fields():
    context = ConnectContext("https://bot.example")
    woo = WooCommercePlatform.connection_from_fields(
        {"store_url": "https://shop.example/", "consumer_key": "ck_1", "consumer_secret": "cs_1"}, context)
    assert woo.base_url == "https://shop.example" and woo.credentials == {"consumer_key": "ck_1", "consumer_secret": "cs_1"}
    shop = ShopifyPlatform.connection_from_fields({"shop": DEMO_SHOP_DOMAIN},
                                                  ConnectContext("https://bot.example", base_url_override="http://127.0.0.1:9/"))
    assert shop.shop_domain == DEMO_SHOP_DOMAIN and shop.base_url == "http://127.0.0.1:9" and shop.credentials == {}


def test_hook_store_key_of():
    assert ShopifyPlatform.store_key_of(StoreConnection(1, "shopify", "http://emulator", shop_domain="A.myshopify.com")) == "a.myshopify.com"
    assert WooCommercePlatform.store_key_of(StoreConnection(1, "woocommerce", "https://Shop.Example")) == "https://shop.example"


def test_hook_install_url():
    context = ConnectContext("https://bot.example", settings=SHOP_SETTINGS)
    url = ShopifyPlatform.install_url({"shop": "a.myshopify.com"}, context, "nonce-123")
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://a.myshopify.com/admin/oauth/authorize"
    assert query == {"client_id": DEMO_API_KEY, "scope": "read_orders,read_fulfillments", "state": "nonce-123",
                     "redirect_uri": "https://bot.example/api/integrations/shopify/callback"}
    woo = dict(parse_qsl(urlsplit(WooCommercePlatform.install_url({"store_url": "https://shop.example"},
                                                                  ConnectContext("https://bot.example"), "7.abc")).query))
    assert woo["user_id"] == "7.abc" and woo["scope"] == "read_write"
    assert woo["callback_url"] == "https://bot.example/api/integrations/woocommerce/callback"
    assert woo["return_url"] == "https://bot.example/api/integrations/woocommerce/return"
    with pytest.raises(NotImplementedError):
        Minimal.install_url({}, ConnectContext("https://bot.example"), "s")


def _signed_callback(secret: str = DEMO_API_SECRET, **changes: str) -> Dict[str, str]:
    params = {"code": "c0de", "shop": "a.myshopify.com", "state": "nonce-123", "timestamp": str(int(time.time())), **changes}
    return {**params, "hmac": query_hmac(secret, params)}


def test_hook_read_install_callback():
    context = ConnectContext("https://bot.example", settings=SHOP_SETTINGS)
    found = ShopifyPlatform.read_install_callback(_signed_callback(), context)
    assert (found.state, found.shop_domain) == ("nonce-123", "a.myshopify.com")
    with pytest.raises(InstallRefused) as forged:
        ShopifyPlatform.read_install_callback(_signed_callback(secret="not-the-app-secret"), context)
    assert forged.value.authentic is False
    with pytest.raises(InstallRefused) as stale:
        ShopifyPlatform.read_install_callback(_signed_callback(timestamp=str(int(time.time()) - 3600)), context)
    assert stale.value.authentic and "expired" in stale.value.message
    with pytest.raises(InstallRefused):
        ShopifyPlatform.read_install_callback(_signed_callback(shop="evil.example"), context)
    body = {"user_id": "7.abc", "consumer_key": "ck_" + "a" * 20, "consumer_secret": "cs_" + "b" * 20}
    assert WooCommercePlatform.read_install_callback(body, context).state == "7.abc"
    with pytest.raises(InstallRefused, match="consumer_secret"):
        WooCommercePlatform.read_install_callback({**body, "consumer_secret": 5}, context)
    assert Minimal.read_install_callback({"state": "s"}, context).state == "s"
    with pytest.raises(InstallRefused):
        Minimal.read_install_callback({}, context)


def test_hook_read_install_return():
    assert WooCommercePlatform.read_install_return({"success": "0", "user_id": "7.abc"}).denied is True
    approved = WooCommercePlatform.read_install_return({"success": "1", "user_id": "7.abc"})
    assert (approved.state, approved.denied) == ("7.abc", False)
    with pytest.raises(InstallRefused):
        WooCommercePlatform.read_install_return({"success": "1"})
    assert Minimal.read_install_return({"state": "s", "denied": "1"}).denied is True


async def test_hook_complete_install(shopify, http):
    context = ConnectContext("https://bot.example", settings={**SHOP_SETTINGS, "api_base_url": shopify.base_url})
    url = ShopifyPlatform.install_url({"shop": DEMO_SHOP_DOMAIN}, context, "nonce-123")
    async with aiohttp.ClientSession() as session:  # the merchant approves at the (emulated) shop
        async with session.get(url, allow_redirects=False) as resp:
            callback = dict(parse_qsl(urlsplit(resp.headers["Location"]).query))
    assert ShopifyPlatform.read_install_callback(callback, context).state == "nonce-123"
    grant = await ShopifyPlatform.complete_install(callback, context, http)
    assert grant.credentials["access_token"].startswith("shpat_") and grant.shop_domain == DEMO_SHOP_DOMAIN
    assert grant.base_url == shopify.base_url and "read_orders" in grant.granted_scopes
    with pytest.raises(InstallRefused, match="refused"):  # a code is good once
        await ShopifyPlatform.complete_install(callback, context, http)
    woo = await WooCommercePlatform.complete_install(
        {"user_id": "7.abc", "consumer_key": "ck_" + "a" * 20, "consumer_secret": "cs_" + "b" * 20}, context, http)
    assert woo.state == "7.abc" and woo.credentials == {"consumer_key": "ck_" + "a" * 20, "consumer_secret": "cs_" + "b" * 20}


# --- storefront -------------------------------------------------------------------------------------------

def test_hook_storefront_origins():
    assert WooCommercePlatform.storefront_origins(StoreConnection(1, "woocommerce", "https://shop.example:8443/wp")) == \
        ["https://shop.example:8443"]
    assert WooCommercePlatform.storefront_origins(StoreConnection(1, "woocommerce", "http://shop.example")) == []
    assert Minimal.storefront_origins(StoreConnection(1, "minimal", "https://m.example")) == []


def test_hook_storefront_snippet():
    from bot.gateway.widget_routes import SCRIPT_PATHS

    for cls in BUILT_IN:
        snippet = cls.storefront_snippet("https://bot.example/widget.js", "w_abc")
        assert f'src="https://bot.example/api/widget/{cls.name}.js"' in snippet and 'data-widget-id="w_abc"' in snippet
    assert "/api/widget/{platform}.js" in SCRIPT_PATHS  # the bot serves every platform's loader
    assert Minimal.storefront_snippet("https://bot.example/widget.js", "w_abc") is None


# --- webhooks -----------------------------------------------------------------------------------------------

async def test_hook_register_webhooks(woo, http):
    platform = woo.platform(http)
    result = await platform.register_webhooks(WebhookTarget("https://bot.example/api/webhooks/woocommerce/w_1", "s" * 32))
    assert result.topics == ["order.updated"] and len(result.remote_ids) == 1 and result.error is None
    [hook] = woo.app[WEBHOOKS_KEY]
    assert hook["delivery_url"].endswith("/w_1") and hook["secret"] == "s" * 32
    refused = await platform.register_webhooks(WebhookTarget("https://bot.example/x", None))
    assert refused.error and not refused.topics
    assert (await _minimal(http).register_webhooks(WebhookTarget("https://bot.example/x"))).error


async def test_hook_deregister_webhooks(woo, http):
    platform = woo.platform(http)
    result = await platform.register_webhooks(WebhookTarget("https://bot.example/api/webhooks/woocommerce/w_1", "s" * 32))
    await platform.deregister_webhooks(WebhookRegistration.from_dict(result.to_dict()))
    assert woo.app[WEBHOOKS_KEY] == []
    await _minimal(http).deregister_webhooks(result)  # the default does nothing


def test_hook_verify_webhook():
    body = b'{"id": 1}'
    good = {"X-WC-Webhook-Signature": woo_webhooks.signature("s" * 32, body)}
    assert WooCommercePlatform.verify_webhook(body, good, "s" * 32)
    assert not WooCommercePlatform.verify_webhook(body + b" ", good, "s" * 32)
    assert not WooCommercePlatform.verify_webhook(body, good, "")
    from plugins.shopify.oauth import webhook_hmac

    assert ShopifyPlatform.verify_webhook(body, {"x-shopify-hmac-sha256": webhook_hmac("k" * 32, body)}, "k" * 32)
    assert not Minimal.verify_webhook(body, good, "s" * 32)


def test_hook_is_ping():
    assert WooCommercePlatform.is_ping(b"webhook_id=12", {})
    assert not WooCommercePlatform.is_ping(b"webhook_id=12", {"X-WC-Webhook-Signature": "x"})
    assert not WooCommercePlatform.is_ping(b'{"id": 1}', {})
    assert not Minimal.is_ping(b"webhook_id=12", {})


def _woo_delivery(payload: Dict[str, Any]) -> Any:
    headers = {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Delivery-ID": "d-1", "X-WC-Webhook-ID": "5"}
    return WooCommercePlatform.read_delivery(json.dumps(payload).encode(), headers)


def test_hook_read_delivery():
    delivery = _woo_delivery(woo_order(1001, "completed", number="1001"))
    assert delivery.topic == "order.updated" and delivery.event_id == "5:d-1" and delivery.payload["id"] == 1001
    from plugins.errors import MalformedResponse

    with pytest.raises(MalformedResponse):
        WooCommercePlatform.read_delivery(b"{", {"X-WC-Webhook-Topic": "order.updated"})
    with pytest.raises(NotImplementedError):
        Minimal.read_delivery(b"{}", {})


async def test_hook_parse_webhook(http):
    platform = WooCommercePlatform(StoreConnection(1, "woocommerce", "https://shop.example"), http)
    outcome = await platform.parse_webhook(_woo_delivery(woo_order(1001, "cancelled", number="1001")))
    [event] = outcome.events
    assert event.kind is OrderEventKind.CANCELLED and event.order_number == "1001" and event.status is OrderStatus.CANCELLED
    assert (await _minimal(http).parse_webhook(_woo_delivery({}))).ignored
