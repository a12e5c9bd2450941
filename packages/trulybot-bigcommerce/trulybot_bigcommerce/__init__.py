"""TrulyBot platform plugin for BigCommerce (V2 Orders API, v3 webhooks) with its store emulator.

Installed as its own package; the ``trulybot`` entry point in ``pyproject.toml`` makes the plugin
manager import this module and call its hooks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from plugins.hookspecs import hookimpl

__all__ = ["load_seed_orders", "register_platforms", "register_emulators", "SEED_FILE", "ORDERS_ENV", "DEMO_WIDGET_ID"]

SEED_FILE = Path(__file__).with_name("seed_orders.json")
#: contract C4: a JSON list of V2 order objects seeding the demo store
ORDERS_ENV = "TRULYBOT_DEMO_BIGCOMMERCE_ORDERS"
DEMO_WIDGET_ID = "demo-bigcommerce"


def load_seed_orders(path: Optional[Union[str, Path]] = None) -> List[Dict[str, Any]]:
    """V2 order objects (``products`` / ``shipments`` as lists) from ``path`` (default: the demo seed)."""
    from plugins.seeds import load_orders_json

    return load_orders_json(path or SEED_FILE)


def _demo_connection(base_url: str, store_id: Union[int, str] = DEMO_WIDGET_ID) -> Any:
    from plugins.model import StoreConnection

    from trulybot_bigcommerce.emulator import DEMO_ACCESS_TOKEN, DEMO_STORE_HASH

    return StoreConnection(
        store_id=store_id,
        platform="bigcommerce",
        base_url=base_url,
        shop_domain=DEMO_STORE_HASH,
        credentials={"access_token": DEMO_ACCESS_TOKEN},
    )


@hookimpl
def register_platforms(register: Callable[[Any], None]) -> None:
    from trulybot_bigcommerce.client import BigCommercePlatform

    register(BigCommercePlatform)


@hookimpl
def register_emulators(register: Callable[[Any], None]) -> None:
    from plugins.emulation.spec import EmulatorSpec

    register(
        EmulatorSpec(
            name="bigcommerce",
            module="trulybot_bigcommerce.emulator",
            default_port=8103,
            demo_connection=_demo_connection,
            orders_env=ORDERS_ENV,
            demo_widget_id=DEMO_WIDGET_ID,
            demo_display_name="Demo Trading Post (BigCommerce)",
        )
    )
