"""The Shopify demo shop and app the emulator serves (demo mode, tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

DEMO_SHOP_DOMAIN = "trulybot-demo.myshopify.com"
DEMO_ACCESS_TOKEN = "shpat_demo_5e0c1f7a2b9d4e8f8a6c3b1d0e9f7a2c"
DEMO_API_KEY = "demo-trulybot-api-key"
DEMO_API_SECRET = "demo-trulybot-api-secret-7f3a9c"

SEED_FILE = Path(__file__).with_name("seed_orders.json")


def load_seed_orders(path: Optional[Union[str, Path]] = None) -> List[Dict[str, Any]]:
    """Shopify Admin REST order objects (with ``fulfillments``) from ``path`` (default: demo seed)."""
    from plugins.seeds import load_orders_json

    return load_orders_json(path or SEED_FILE)
