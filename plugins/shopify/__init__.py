"""Built-in Shopify platform plugin (Admin GraphQL API) with its store emulator."""
from __future__ import annotations

from typing import Any, Callable, Union

from plugins.hookspecs import hookimpl
from plugins.shopify.demo import SEED_FILE, load_seed_orders

__all__ = ["load_seed_orders", "register_platforms", "register_emulators", "SEED_FILE"]


def _demo_connection(base_url: str, store_id: Union[int, str] = "demo-shopify") -> Any:
    from plugins.model import StoreConnection
    from plugins.shopify.client import DEFAULT_API_VERSION
    from plugins.shopify.demo import DEMO_ACCESS_TOKEN, DEMO_SHOP_DOMAIN

    return StoreConnection(
        store_id=store_id,
        platform="shopify",
        base_url=base_url,
        shop_domain=DEMO_SHOP_DOMAIN,
        credentials={"access_token": DEMO_ACCESS_TOKEN},
        api_version=DEFAULT_API_VERSION,
    )


@hookimpl
def register_platforms(register: Callable[[Any], None]) -> None:
    from plugins.shopify.client import ShopifyPlatform

    register(ShopifyPlatform)


@hookimpl
def register_emulators(register: Callable[[Any], None]) -> None:
    from plugins.emulation.spec import EmulatorSpec

    register(
        EmulatorSpec(
            name="shopify",
            module="plugins.shopify.emulator",
            default_port=8102,
            demo_connection=_demo_connection,
            orders_env="TRULYBOT_DEMO_SHOPIFY_ORDERS",
            demo_widget_id="demo-shopify",
            demo_display_name="Demo Supply Co. (Shopify)",
        )
    )
