"""Merchant-scoped access to stores and their JSON representation (re-exported from
:mod:`bot.services.stores`, where the API and the dashboard share them)."""
from __future__ import annotations

from bot.services.stores import default_widget, invalidate_widget_cache, iso, owned_store, store_dict

__all__ = ["default_widget", "invalidate_widget_cache", "iso", "owned_store", "store_dict"]
