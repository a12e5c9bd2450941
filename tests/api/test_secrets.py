"""After full connect flows no plaintext secret, token or email is in the database files or logs."""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit

from bot.services.keys import WEBHOOK_WORKER
from plugins.shopify.emulator import STATE_KEY as SHOP_STATE
from plugins.woocommerce.emulator import STATE_KEY as WOO_STATE
from plugins.woocommerce.emulator_auth import WEBHOOKS_KEY
from tests.api.conftest import SHOPIFY_SECRET
from tests.api.test_shopify_oauth import authorize, path_of, start
from tests.api.test_wc_auth import browser_get


async def test_no_plaintext_secret_in_database_or_logs(env, make_api, woo, shop, caplog):
    caplog.set_level(logging.DEBUG)
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant(email="owner@merchant.example")
    secrets = {merchant.token, woo.key, woo.secret, SHOPIFY_SECRET}
    # WooCommerce with keys
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status == 201
    # WooCommerce through wc-auth (new keys minted by the emulator)
    started = await (await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers,
                                       json={"store_url": woo.url, "method": "wc_auth"})).json()
    status, location, _ = await browser_get(started["authorize_url"])
    assert status == 302 and "success=1" in location
    assert (await client.get(path_of(location))).status == 200
    secrets |= {woo.app[WOO_STATE].consumer_key, woo.app[WOO_STATE].consumer_secret}
    secrets |= {h["secret"] for h in woo.app[WEBHOOKS_KEY]}
    secrets.add(dict(parse_qsl(urlsplit(started["authorize_url"]).query))["user_id"].split(".", 1)[1])
    # Shopify OAuth
    callback = await authorize(await start(client, merchant, shop.domain))
    secrets.add(dict(parse_qsl(urlsplit(callback).query))["code"])
    assert (await client.get(path_of(callback))).status == 200
    secrets |= set(shop.app[SHOP_STATE].tokens)
    # an order lookup and a search by email
    resp = await client.post("/api/integrations/orders/search", json={"email": "olivia.chen@example.com"}, headers=merchant.headers)
    assert resp.status == 200
    await env.app[WEBHOOK_WORKER].drain()
    env.engine.dispose()
    blobs = b"".join(p.read_bytes() for p in env.tmp_path.glob("trulybot.db*"))
    # Our logs: everything but the test servers' access logs (the bot service runs with access_log=None,
    # see bot.process.cli.cmd_serve) and the emulators' own request logs (they play the store).
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                      if r.name != "aiohttp.access" and not r.name.startswith("plugins.emulator"))
    assert "bot." in logs or "plugins." in logs
    assert len(secrets) >= 8
    for secret in secrets:
        assert secret.encode() not in blobs, f"secret {secret[:6]}… found in the database"
        assert secret not in logs, f"secret {secret[:6]}… found in the logs"
    for email in ("olivia.chen@example.com", "owner@merchant.example"):
        assert email not in logs
