"""TrulyBot platform plugins: hook specs, plugin manager, normalized order model, built-in
WooCommerce and Shopify platforms with their store emulators.

This package imports nothing from ``bot`` or ``actions``. See ``docs/plugins.md``.
"""
from __future__ import annotations

from plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
