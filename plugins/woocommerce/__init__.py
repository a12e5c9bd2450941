"""Built-in WooCommerce platform plugin (REST API v3) with its store emulator."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from plugins.hookspecs import hookimpl

__all__ = ["load_seed_orders", "register_platforms", "register_emulators", "SEED_FILE"]

SEED_FILE = Path(__file__).with_name("seed_orders.json")


def load_seed_orders(path: Optional[Union[str, Path]] = None) -> List[Dict[str, Any]]:
    """WooCommerce v3 order objects from ``path`` (default: the built-in demo seed)."""
    from plugins.seeds import load_orders_json

    return load_orders_json(path or SEED_FILE)


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
