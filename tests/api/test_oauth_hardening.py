"""OAuth details a broken check would slip through: short state lifetime, empty secrets, the stored nonce."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

from bot.services.config import ApiConfig
from bot.services.install_state import cookie_name
from bot.services.keys import API_CONFIG
from plugins.shopify.oauth import TIMESTAMP_WINDOW, query_hmac, verify_query_hmac, verify_webhook_hmac, webhook_hmac
from tests.api.conftest import SHOPIFY_SECRET
from tests.api.test_shopify_oauth import authorize, path_of, resign, start
from tests.api.test_webhooks import shopify_headers

COOKIE_NAME = cookie_name("shopify")


def test_the_install_state_lives_five_minutes_at_most():
    config = ApiConfig(public_url="https://bot.example", demo=False)
    assert config.state_ttl_seconds <= 300 and TIMESTAMP_WINDOW <= 300


async def test_the_state_cookie_carries_the_short_lifetime(env, make_api, shop):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    resp = await client.post("/api/integrations/shopify/connect", json={"shop": shop.domain}, headers=merchant.headers)
    body = await resp.json()
    morsel = resp.cookies[COOKIE_NAME]
    assert int(morsel["max-age"]) == 300 and morsel["httponly"]
    assert body["expires_at"] - time.time() <= 300


def test_an_empty_secret_verifies_nothing():
    params = {"shop": "a.myshopify.com", "timestamp": "1", "code": "x"}
    signed = {**params, "hmac": query_hmac("", params)}  # "signed" with the empty key
    assert not verify_query_hmac("", signed)
    body = b'{"id": 1}'
    assert not verify_webhook_hmac("", body, webhook_hmac("", body))
    assert verify_webhook_hmac("k" * 32, body, webhook_hmac("k" * 32, body))
    assert verify_query_hmac("k" * 32, {**params, "hmac": query_hmac("k" * 32, params)})


async def test_a_used_state_is_refused_by_another_replica(env, make_api, shop):
    """The consumed nonce is kept in the database: a second app on the same database (another
    replica, or a restart) refuses the replay too."""
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    install_url = await start(client, merchant, shop.domain)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/api/integrations/shopify/callback"))[COOKIE_NAME].value
    callback = await authorize(install_url)
    assert (await client.get(path_of(callback))).status == 200
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})  # another replica
    params = resign({**dict(parse_qsl(urlsplit(callback).query)), "timestamp": str(int(time.time()))})
    resp = await client.get("/api/integrations/shopify/callback", params=params, cookies={COOKIE_NAME: cookie})
    assert resp.status == 403 and "already used" in await resp.text()


async def test_a_callback_with_a_non_ascii_hmac_is_refused_not_crashed(env, make_api, shop):
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    callback = await authorize(await start(client, merchant, shop.domain))
    params = dict(parse_qsl(urlsplit(callback).query))
    for forged in ("é" * 64, params["hmac"][:-1] + "é", "٣" * 64):
        resp = await client.get("/api/integrations/shopify/callback", params={**params, "hmac": forged})
        assert resp.status == 401, forged


async def test_a_shopify_webhook_signed_with_an_empty_secret_is_refused(env, make_api, shop):
    """An app configured without a secret verifies nothing: a delivery "signed" with the empty key is refused."""
    def no_secret(app):
        config = app[API_CONFIG]
        config.app_settings.setdefault("shopify", {}).update(api_secret="")

    client = await make_api(app_setup=no_secret, app_settings={"shopify": {"api_base_url": shop.url}})
    body = b'{"shop_domain": "trulybot-demo.myshopify.com", "customer": {"email": "a@b.example"}}'
    for signer in ("", SHOPIFY_SECRET):
        resp = await client.post("/api/webhooks/shopify", data=body, headers=shopify_headers(body, topic="customers/redact",
                                                                                              secret=signer))
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_signature", signer


async def test_a_fresh_state_reinstalls_a_connected_shop(env, make_api, shop):
    """Only the used nonce is refused: installing the same shop again with a new state works."""
    client = await make_api(app_settings={"shopify": {"api_base_url": shop.url}})
    merchant = env.merchant()
    for _ in range(2):
        callback = await authorize(await start(client, merchant, shop.domain))
        resp = await client.get(path_of(callback))
        assert resp.status == 200, await resp.text()
