"""The OAuth install start of :mod:`bot.api.shopify_oauth` as the service layer's install starter
(``app[INSTALL_STARTERS]``), so the dashboard's install button starts the same flow as
``POST /api/integrations/shopify/connect``: a signed state cookie and the install URL. The callback
stays with that module. (Transitional: the install flow moves into the platform plugin.)
"""
from __future__ import annotations

import secrets
import time
from typing import Dict, Optional
from urllib.parse import urlencode

from aiohttp import web

from bot.api import shopify_oauth as oauth
from bot.api.validation import shop_domain
from bot.services.db import in_db
from bot.services.errors import Conflict
from bot.services.connecting import ConnectResult, Cookie
from bot.services.keys import API_CONFIG, INSTALL_STARTERS
from bot.services.platforms import shopify_base_url

PLATFORM = "shopify"


async def start_install(app: web.Application, merchant_id: int, values: Dict[str, str], display_name: Optional[str],
                        return_to: Optional[str]) -> ConnectResult:
    """The install URL for the shop in ``values`` and the signed state cookie to set with it."""
    config = app[API_CONFIG]
    shop = shop_domain(values.get("shop", ""))
    if not config.shopify_configured:
        raise Conflict("not_configured", "the Shopify app is not configured (TRULYBOT_SHOPIFY_API_KEY/SECRET)")
    owner = await in_db(app, oauth._shop_owner, shop)
    if owner is not None and owner != merchant_id:
        raise Conflict("shop_taken", "this shop is connected to another TrulyBot account")
    nonce = secrets.token_urlsafe(24)
    expires = int(time.time()) + config.state_ttl_seconds
    payload = {"n": nonce, "shop": shop, "m": merchant_id, "exp": expires}
    if display_name:
        payload["name"] = display_name
    if return_to:
        payload["r"] = return_to
    query = urlencode({"client_id": config.shopify_api_key, "scope": ",".join(config.shopify_scopes),
                       "redirect_uri": f"{config.public_url}/api/integrations/{PLATFORM}/callback", "state": nonce})
    install_url = f"{shopify_base_url(app, shop)}/admin/oauth/authorize?{query}"
    if config.shopify_api_base_url:
        install_url += "&" + urlencode({"shop": shop})
    cookie = Cookie(oauth.COOKIE_NAME, oauth.sign_state(oauth._session_secret(app), payload),
                    max_age=config.state_ttl_seconds, path=oauth.COOKIE_PATH,
                    secure=config.public_url.startswith("https://"))
    return ConnectResult(store=None, redirect_url=install_url, expires_at=expires, cookies=[cookie], extra={"shop": shop})


def register(app: web.Application) -> None:
    """Make this the install starter of the platform."""
    app.setdefault(INSTALL_STARTERS, {})[PLATFORM] = start_install
