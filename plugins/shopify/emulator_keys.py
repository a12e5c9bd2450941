"""What the Shopify emulator and its webhook add-on share: the state's app key and the 401 body."""
from __future__ import annotations

from aiohttp import web

INVALID_TOKEN_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
STATE_KEY = web.AppKey("shopify_state", object)
