"""The generic install routes with a drop-in platform the bot has never heard of.

``acme`` connects with an install redirect against a small fake platform server; nothing in
``bot/`` knows it. The built-in WooCommerce authorization callback is driven through the generic
``/install`` start as well.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Dict, List, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.core.db.models import InstallNonce, StoreIntegration
from bot.services.keys import PLATFORM_FACTORY
from plugins.base import Platform
from plugins.errors import OrderNotFound, StoreAuthError
from plugins.integration import (
    AppSetting,
    ConnectContext,
    ConnectFlow,
    ConnectionSchema,
    Field,
    FieldRole,
    FieldType,
    InstallCallback,
    InstallGrant,
    InstallRefused,
)
from plugins.manager import get_platform
from tests.api.test_wc_auth import browser_get, path_of

SECRET = "acme-app-secret-0123456789"


def _sign(code: str, shop: str, state: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{code}|{shop}|{state}".encode(), hashlib.sha256).hexdigest()


class AcmePlatform(Platform):
    """A platform whose stores connect by an install redirect: code, signature, token exchange."""

    name = "acme"
    display_name = "Acme Commerce"
    credential_fields = ("token",)
    connection_schema = ConnectionSchema(
        fields=(Field("shop", "Shop", FieldType.DOMAIN, FieldRole.SHOP_DOMAIN, pattern=r"[a-z0-9-]+\.acme\.test"),),
        flows=(ConnectFlow.INSTALL_REDIRECT,))
    app_settings = (AppSetting("secret", "signs the callback", secret=True, required=True),
                    AppSetting("server", "the platform's address"))

    async def check_connection(self) -> Dict[str, Any]:
        resp = await self.http.request("GET", f"{self.store.base_url}/me", store_key=self.store.key, platform=self.name,
                                       headers={"Authorization": self.store.credentials.get("token", "")})
        if resp.status != 200:
            raise StoreAuthError("token refused", platform=self.name)
        return {"platform": self.name, "name": "Acme shop"}

    async def get_order(self, number: str) -> Any:
        raise OrderNotFound("none", platform=self.name)

    async def find_orders(self, email: str, limit: int = 5) -> List[Any]:
        return []

    async def get_shipments(self, order: Any) -> List[Any]:
        return []

    @classmethod
    def install_url(cls, values: Mapping[str, str], context: ConnectContext, state: str) -> str:
        return f"{context.settings['server']}/authorize?" + urlencode(
            {"shop": values["shop"], "state": state, "redirect": context.callback_url(cls.name)})

    @classmethod
    def read_install_callback(cls, params: Mapping[str, Any], context: ConnectContext) -> InstallCallback:
        code, shop, state = (str(params.get(k, "")) for k in ("code", "shop", "state"))
        if not hmac.compare_digest(_sign(code, shop, state, context.settings["secret"]), str(params.get("sig", ""))):
            raise InstallRefused("bad signature", "The request did not come from Acme.", authentic=False)
        return InstallCallback(state=state, shop_domain=shop)

    @classmethod
    async def complete_install(cls, params: Mapping[str, Any], context: ConnectContext, http: Any) -> InstallGrant:
        server = context.settings["server"]
        resp = await http.request("POST", f"{server}/token", store_key="acme-install", platform=cls.name,
                                  json={"code": params["code"]})
        body = resp.json_or_none()
        if resp.status != 200 or not isinstance(body, dict):
            raise InstallRefused("code refused", "Acme refused the authorization. Please start again.")
        return InstallGrant(state=str(params["state"]), credentials={"token": body["token"]},
                            shop_domain=str(params["shop"]), base_url=server)


@pytest.fixture
async def acme(aiohttp_server):
    """The fake platform: approves at once, exchanges each code once, knows its tokens."""
    codes: Dict[str, str] = {}
    tokens: set = set()

    async def authorize(request: web.Request) -> web.Response:
        code = secrets.token_hex(8)
        codes[code] = "tok-" + secrets.token_hex(8)
        q = request.query
        params = {"code": code, "shop": q["shop"], "state": q["state"], "sig": _sign(code, q["shop"], q["state"])}
        raise web.HTTPFound(f"{q['redirect']}?{urlencode(params)}")

    async def token(request: web.Request) -> web.Response:
        value = codes.pop((await request.json()).get("code"), None)
        if value is None:
            return web.json_response({"error": "bad code"}, status=400)
        tokens.add(value)
        return web.json_response({"token": value})

    async def me(request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, status=200 if request.headers.get("Authorization") in tokens else 401)

    app = web.Application()
    app.router.add_get("/authorize", authorize)
    app.router.add_post("/token", token)
    app.router.add_get("/me", me)
    server = await aiohttp_server(app)
    server.url = str(server.make_url("")).rstrip("/")
    server.tokens = tokens
    return server


def _with_acme(app: web.Application) -> None:
    app[PLATFORM_FACTORY] = lambda name: AcmePlatform if name == "acme" else get_platform(name)


async def _api(make_api, acme, **settings: str):
    return await make_api(_with_acme, app_settings={"acme": {"secret": SECRET, "server": acme.url, **settings}})


async def _follow(url: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
            return resp.headers["Location"]


async def test_a_drop_in_platform_installs_through_the_generic_routes(env, make_api, acme):
    client = await _api(make_api, acme)
    merchant = env.merchant()
    resp = await client.post("/api/integrations/acme/install", json={"shop": "Corner.acme.test"}, headers=merchant.headers)
    body = await resp.json()
    assert resp.status == 200 and body["shop"] == "corner.acme.test" and body["install_url"].startswith(acme.url)
    cookie = resp.cookies["tb_acme_oauth"]
    assert cookie["httponly"] and cookie["path"] == "/api/integrations/acme" and cookie["samesite"] == "Lax"
    callback = await _follow(body["install_url"])
    assert urlsplit(callback).path == "/api/integrations/acme/callback"
    page = await client.get(path_of(callback))
    assert page.status == 200 and "Your Acme Commerce store is connected" in await page.text()
    [store] = (await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"]
    assert store["platform"] == "acme" and store["status"] == "active"
    row = env.query(lambda s: s.get(StoreIntegration, store["id"]))
    assert row.shop_domain == "corner.acme.test" and row.credentials_encrypted["token"].startswith("tb2:")
    assert not any(token in str(row.credentials_encrypted) for token in acme.tokens)
    again = await client.get(path_of(callback), cookies={"tb_acme_oauth": cookie.value})  # replayed with its cookie
    assert again.status == 403 and "already used" in await again.text()
    assert env.query(lambda s: s.execute(select(InstallNonce)).scalars().one().platform) == "acme"


async def test_the_platform_refuses_a_forged_callback_before_the_state_is_looked_at(env, make_api, acme):
    client = await _api(make_api, acme)
    merchant = env.merchant()
    body = await (await client.post("/api/integrations/acme/install", json={"shop": "a.acme.test"},
                                    headers=merchant.headers)).json()
    cookies = {"tb_acme_oauth": client.session.cookie_jar.filter_cookies(
        client.make_url("/api/integrations/acme/callback"))["tb_acme_oauth"].value}
    params = dict(parse_qsl(urlsplit(await _follow(body["install_url"])).query))
    resp = await client.get("/api/integrations/acme/callback", params={**params, "sig": "0" * 64}, cookies=cookies)
    assert resp.status == 401 and "did not come from Acme" in await resp.text()
    resp = await client.get("/api/integrations/acme/callback", cookies=cookies,
                            params={**params, "shop": "b.acme.test", "sig": _sign(params["code"], "b.acme.test", params["state"])})
    assert resp.status == 403 and "does not match" in await resp.text()  # another shop than the one asked for
    client.session.cookie_jar.clear()
    resp = await client.get("/api/integrations/acme/callback", params=params)
    assert resp.status == 403 and "another browser" in await resp.text()


async def test_connect_and_get_install_start_the_same_flow(env, make_api, acme):
    client = await _api(make_api, acme)
    merchant = env.merchant()
    resp = await client.post("/api/integrations/acme/connect", json={"shop": "a.acme.test"}, headers=merchant.headers)
    assert resp.status == 200 and "install_url" in await resp.json() and "tb_acme_oauth" in resp.cookies
    resp = await client.get("/api/integrations/acme/install", params={"shop": "a.acme.test", "return_to": "/dashboard/stores"},
                            headers=merchant.headers, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith(acme.url + "/authorize?")
    callback = await _follow(resp.headers["Location"])
    back = await client.get(path_of(callback), allow_redirects=False)
    assert back.status == 302 and back.headers["Location"] == "/dashboard/stores?done=connected"


async def test_an_unconfigured_app_and_bad_fields_are_refused(env, make_api, acme):
    client = await _api(make_api, acme, secret="")
    merchant = env.merchant()
    resp = await client.post("/api/integrations/acme/install", json={"shop": "not a shop"}, headers=merchant.headers)
    assert resp.status == 422 and (await resp.json())["error"]["details"][0]["field"] == "shop"
    resp = await client.post("/api/integrations/acme/install", json={"shop": "a.acme.test"}, headers=merchant.headers)
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "not_configured" and "TRULYBOT_ACME_SECRET" in error["message"]
    assert (await client.get("/api/integrations/acme/callback?state=x")).status == 400


async def test_flows_a_platform_does_not_have_are_404(env, make_api, acme):
    client = await _api(make_api, acme)
    merchant = env.merchant()
    assert (await client.get("/api/integrations/woocommerce/callback?state=x")).status == 404  # no install redirect
    resp = await client.post("/api/integrations/acme/callback", json={"state": "1." + "a" * 30})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "no_install_flow"
    resp = await client.post("/api/integrations/nowhere/install", json={}, headers=merchant.headers)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "unknown_platform"


async def test_an_authorization_callback_through_the_generic_start(env, make_api, woo):
    client = await make_api()
    merchant = env.merchant()
    resp = await client.post("/api/integrations/woocommerce/install", json={"store_url": woo.url}, headers=merchant.headers)
    started = await resp.json()
    assert resp.status == 202 and started["store"]["status"] == "pending"
    status, location, _ = await browser_get(started["authorize_url"])
    assert status == 302
    page = await client.get(path_of(location))
    assert page.status == 200 and "Your WooCommerce store is connected" in await page.text()
    row = env.query(lambda s: s.get(StoreIntegration, started["store"]["id"]))
    assert row.status == "active" and row.config["install"]["used"] and row.config["install"]["result"] == "ok"


async def test_a_pending_install_kept_under_another_key_is_still_completed(env, make_api, woo):
    """A pending store started by the older connect handler keeps its state under its own key."""
    client = await make_api()
    merchant = env.merchant()
    started = await (await client.post("/api/integrations/woocommerce/install", json={"store_url": woo.url},
                                       headers=merchant.headers)).json()

    def move(session):
        store = session.get(StoreIntegration, started["store"]["id"])
        config = dict(store.config)
        config["older"] = config.pop("install")
        store.config = config

    env.query(move)
    status, location, _ = await browser_get(started["authorize_url"])
    assert status == 302
    row = env.query(lambda s: s.get(StoreIntegration, started["store"]["id"]))
    assert row.status == "active" and row.config["older"]["used"]


async def test_in_demo_mode_the_demo_shop_is_reached_at_its_emulator(env, make_api):
    from bot import appkeys
    from bot.services.platforms import connect_context
    from plugins.shopify.demo import DEMO_SHOP_DOMAIN

    client = await make_api()
    app = client.app
    shopify = get_platform("shopify")
    settings = app[appkeys.SETTINGS]
    assert settings.demo
    emulator = settings.emulator_url("shopify", 8102)
    assert connect_context(app, shopify, {"shop": DEMO_SHOP_DOMAIN}).base_url_override == emulator
    assert connect_context(app, shopify, {"shop": "someone.myshopify.com"}).base_url_override is None
    assert connect_context(app, shopify).base_url_override is None
    url = shopify.install_url({"shop": DEMO_SHOP_DOMAIN}, connect_context(app, shopify, {"shop": DEMO_SHOP_DOMAIN}), "n")
    assert url.startswith(emulator + "/admin/oauth/authorize?") and f"shop={DEMO_SHOP_DOMAIN}" in url
    from bot.services.keys import API_CONFIG

    app[API_CONFIG].demo = False
    assert connect_context(app, shopify, {"shop": DEMO_SHOP_DOMAIN}).base_url_override is None
