"""Every hook of the ``trulybot`` spec has a test here, named ``test_hook_<name>`` (as datasette does)."""
from __future__ import annotations

from typing import List

import pluggy
import pytest

from plugins import hookimpl, hookspecs
from plugins.base import Platform
from plugins.carriers import Carrier, find_carrier, tracking_url
from plugins.emulation.spec import EmulatorSpec
from plugins.manager import build_plugin_manager, get_carriers, get_emulators, get_platforms
from plugins.model import StoreConnection
from plugins.shopify.client import ShopifyPlatform
from plugins.woocommerce.client import WooCommercePlatform


def _hook_names() -> List[str]:
    return sorted(
        name for name in dir(hookspecs)
        if callable(getattr(hookspecs, name)) and hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT_NAME}_spec")
    )


def test_hookspecs_are_found():
    assert {"register_platforms", "register_emulators", "register_carriers"} <= set(_hook_names())


@pytest.mark.parametrize("hook", _hook_names())
def test_plugin_hooks_have_tests(hook):
    """Fails when a hook spec is added without a ``test_hook_<name>`` test in this module."""
    tests = [name for name in globals() if name.startswith("test_hook_")]
    assert any(test == f"test_hook_{hook}" or test.startswith(f"test_hook_{hook}_") for test in tests), (
        f"hook {hook!r} has no test_hook_{hook} test"
    )


def _manager_with(*plugins: object) -> pluggy.PluginManager:
    pm = build_plugin_manager(env={}, entry_points=[])
    for index, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-plugin-{index}")
    pm.check_pending()
    return pm


class _Dummy(Platform):
    name = "dummy"
    display_name = "Dummy"
    credential_fields = ("api_key",)

    async def check_connection(self):
        return {"platform": "dummy", "name": "d"}

    async def get_order(self, number):
        raise NotImplementedError

    async def find_orders(self, email, limit=5):
        return []

    async def get_shipments(self, order):
        return []


class _WooOverride(_Dummy):
    name = "woocommerce"


def test_hook_register_platforms():
    assert get_platforms(_manager_with()) == {"woocommerce": WooCommercePlatform, "shopify": ShopifyPlatform}  # built-ins
    for cls in (WooCommercePlatform, ShopifyPlatform):
        assert cls.display_name and cls.credential_fields

    class Plugin:
        @staticmethod
        @hookimpl
        def register_platforms(register):
            register(_Dummy)

    platforms = get_platforms(_manager_with(Plugin()))
    assert platforms["dummy"] is _Dummy and "woocommerce" in platforms


def test_hook_register_platforms_third_party_overrides_builtin():
    class Plugin:
        @staticmethod
        @hookimpl
        def register_platforms(register):
            register(_WooOverride)

    assert get_platforms(_manager_with(Plugin()))["woocommerce"] is _WooOverride


def test_hook_register_platforms_rejects_non_platforms():
    class Plugin:
        @staticmethod
        @hookimpl
        def register_platforms(register):
            register(dict)

    with pytest.raises(TypeError):
        get_platforms(_manager_with(Plugin()))


def test_hook_register_emulators():
    emulators = get_emulators(_manager_with())
    assert set(emulators) == {"woocommerce", "shopify"}  # built-ins
    woo, shop = emulators["woocommerce"], emulators["shopify"]
    assert (woo.module, woo.default_port, woo.orders_env, woo.demo_widget_id) == (
        "plugins.woocommerce.emulator", 8101, "TRULYBOT_DEMO_WOOCOMMERCE_ORDERS", "demo-woocommerce")
    assert (shop.module, shop.default_port, shop.orders_env, shop.demo_widget_id) == (
        "plugins.shopify.emulator", 8102, "TRULYBOT_DEMO_SHOPIFY_ORDERS", "demo-shopify")
    assert woo.argv("py", port=9000, orders="o.json", latency_ms=5) == [
        "py", "-m", "plugins.woocommerce.emulator", "--host", "127.0.0.1", "--port", "9000", "--orders", "o.json", "--latency-ms", "5"]
    conn = shop.demo_connection("http://127.0.0.1:8102", 7)
    assert isinstance(conn, StoreConnection) and conn.platform == "shopify" and conn.credentials["access_token"]
    assert conn.shop_domain == "trulybot-demo.myshopify.com" and conn.store_id == 7
    assert set(woo.demo_connection("http://x", 1).credentials) == set(WooCommercePlatform.credential_fields)

    class Plugin:
        @staticmethod
        @hookimpl
        def register_emulators(register):
            register(EmulatorSpec("dummy", "dummy.emulator", 8999, demo_connection=lambda url, sid: StoreConnection(sid, "dummy", url)))

    assert get_emulators(_manager_with(Plugin()))["dummy"].default_port == 8999


def test_hook_register_carriers():
    assert find_carrier("UPS").code == "ups" and find_carrier("royal_mail").name == "Royal Mail"
    assert find_carrier("Hermes").code == "evri" and find_carrier("nope") is None and find_carrier(None) is None
    assert tracking_url("usps", "9400 1") == "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%201"

    class Plugin:
        @staticmethod
        @hookimpl
        def register_carriers(register):
            register(Carrier("ups", "UPS (override)", "https://ups.example/{number}"))
            register(Carrier("speedy", "Speedy", "https://speedy.example/t/{number}", ("speedy couriers",)))

    pm = _manager_with(Plugin())
    carriers = get_carriers(pm)
    assert carriers["ups"].name == "UPS (override)" and "fedex" in carriers
    assert find_carrier("Speedy Couriers", pm).tracking_url("A/1") == "https://speedy.example/t/A%2F1"

    class Bad:
        @staticmethod
        @hookimpl
        def register_carriers(register):
            register("ups")

    with pytest.raises(TypeError):
        get_carriers(_manager_with(Bad()))
