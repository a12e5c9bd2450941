"""Shipping carriers: clean display names and tracking-URL templates.

Stores often give only a carrier name or slug and a tracking number (WooCommerce Shipment
Tracking stores ``tracking_provider`` slugs). :func:`tracking_url` builds the carrier's public
tracking URL from a template. Plugins add or override carriers with the ``register_carriers`` hook.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Dict, Optional

from plugins.carrier_table import BUILTIN_CARRIERS, Carrier, carrier_key
from plugins.manager import get_carriers, get_plugin_manager

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

__all__ = ["BUILTIN_CARRIERS", "Carrier", "carrier_key", "find_carrier", "tracking_url"]


@functools.lru_cache(maxsize=4)
def _index(pm: "pluggy.PluginManager") -> Dict[str, Carrier]:
    index: Dict[str, Carrier] = {}
    for carrier in get_carriers(pm).values():
        for spelling in (carrier.code, carrier.name) + tuple(carrier.aliases):
            index.setdefault(carrier_key(spelling), carrier)
    return index


def find_carrier(name_or_code: Optional[str], pm: "Optional[pluggy.PluginManager]" = None) -> Optional[Carrier]:
    """The carrier known under this code, name or alias (case and punctuation ignored)."""
    if not name_or_code:
        return None
    if pm is None:
        pm = get_plugin_manager()
    return _index(pm).get(carrier_key(name_or_code))


def tracking_url(name_or_code: Optional[str], number: Optional[str]) -> Optional[str]:
    """Public tracking URL for ``number`` at this carrier, or ``None`` when unknown."""
    carrier = find_carrier(name_or_code)
    return carrier.tracking_url(number) if carrier and number else None
