"""What the WooCommerce emulator and its wc-auth/webhooks add-on share: the state's app key."""
from __future__ import annotations

from aiohttp import web

STATE_KEY = web.AppKey("woo_state", object)
