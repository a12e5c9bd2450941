"""Built-in WooCommerce platform plugin (REST API v3) with its store emulator."""
from __future__ import annotations

from typing import Any, Callable, Union

from plugins.hookspecs import hookimpl
from plugins.woocommerce.demo import SEED_FILE, load_seed_orders

__all__ = ["load_seed_orders", "register_platforms", "register_emulators", "SEED_FILE"]


def _demo_connection(base_url: str, store_id: Union[int, str] = "demo-woocommerce") -> Any:
    from plugins.model import StoreConnection
    from plugins.woocommerce.emulator import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    return StoreConnection(
        store_id=store_id,
        platform="woocommerce",
        base_url=base_url,
        credentials={"consumer_key": DEMO_CONSUMER_KEY, "consumer_secret": DEMO_CONSUMER_SECRET},
    )


@hookimpl
def register_platforms(register: Callable[[Any], None]) -> None:
    from plugins.woocommerce.client import WooCommercePlatform

    register(WooCommercePlatform)


@hookimpl
def register_emulators(register: Callable[[Any], None]) -> None:
    from plugins.emulation.spec import EmulatorSpec

    register(
        EmulatorSpec(
            name="woocommerce",
            module="plugins.woocommerce.emulator",
            default_port=8101,
            demo_connection=_demo_connection,
            orders_env="TRULYBOT_DEMO_WOOCOMMERCE_ORDERS",
            demo_widget_id="demo-woocommerce",
            demo_display_name="Demo Outfitters (WooCommerce)",
        )
    )
