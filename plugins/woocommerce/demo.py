"""The WooCommerce demo store's seed orders (demo mode, tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

SEED_FILE = Path(__file__).with_name("seed_orders.json")


def load_seed_orders(path: Optional[Union[str, Path]] = None) -> List[Dict[str, Any]]:
    """WooCommerce v3 order objects from ``path`` (default: the built-in demo seed)."""
    from plugins.seeds import load_orders_json

    return load_orders_json(path or SEED_FILE)
