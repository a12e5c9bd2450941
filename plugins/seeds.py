"""Loading demo order seeds (JSON lists of orders in a platform's REST shape, contract C4)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Union


def load_orders_json(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """A JSON list of order objects (a ``{"orders": [...]}`` wrapper is accepted).

    Raises ``ValueError`` with a readable message for unreadable files or wrong shapes.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {file}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"{file} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        data = data["orders"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError(f"{file} must contain a JSON list of order objects")
    return data


def seed_path(package_file: str, path: Optional[Union[str, Path]]) -> Path:
    return Path(path) if path is not None else Path(package_file).with_name("seed_orders.json")
