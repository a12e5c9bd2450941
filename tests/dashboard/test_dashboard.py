"""Dashboard server tests: sign-in and sessions, CSRF, auth on every page, merchant isolation,
stores (connect/disconnect), the widget editor's validation and double submits, activity, analytics."""
from __future__ import annotations

import html
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from sqlalchemy import select

from bot.services import activity
from bot.api.auth import revoke_token
from bot.dashboard import session as sess
from bot.dashboard.words import store_health
from bot.core.db.models import StoreIntegration, UserActivity, WidgetConfig
from tests.dashboard.conftest import Dash, csrf_of, form_id_of

PAGES = ["/dashboard/stores", "/dashboard/activity", "/dashboard/analytics", "/dashboard/analytics.csv",
         "/dashboard/stores/{sid}/widget", "/dashboard/stores/{sid}/preview", "/dashboard/stores/{sid}/disconnect"]
ACTIONS = ["/dashboard/stores/woocommerce", "/dashboard/stores/shopify", "/dashboard/stores/{sid}/widget",
           "/dashboard/stores/{sid}/disconnect", "/dashboard/signout"]


def add_store(env, merchant_id, name="Store", platform="woocommerce", url="https://shop.example", **fields):
    def make(session):
        store = StoreIntegration(user_id=merchant_id, platform=platform, display_name=name, store_url=url, config={},
                                 status=fields.pop("status", "active"), **fields)
        store.widget = WidgetConfig(allowed_origins=["https://shop.example"])
        session.add(store)
        session.flush()
        return store.id

    return env.query(make)


def add_activity(env, merchant_id, store_id, activity_type, when, **details):
    env.query(lambda s: s.add(UserActivity(user_id=merchant_id, store_id=store_id, activity_type=activity_type,
                                           title=details.pop("title", activity_type), details=details, created_at=when)))


# --- sign in, sessions ----------------------------------------------------------------------------

async def test_every_page_and_action_needs_a_session(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    sid = add_store(env, merchant.id)
    for path in PAGES:
        resp = await client.get(path.format(sid=sid), allow_redirects=False)
        assert resp.status == 303, path
        assert resp.headers["Location"].startswith("/dashboard/signin?next=%2Fdashboard"), path
    for path in ACTIONS:
        resp = await client.post(path.format(sid=sid), data={"csrf": "x"}, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/dashboard/signin"), path
    resp = await client.get("/dashboard", allow_redirects=False)
    assert resp.status == 303


async def test_sign_in_sets_a_hardened_cookie_and_sign_out_clears_it(env, make_api):
    client = await make_api()
    merchant = env.merchant("Alice")
    resp = await client.get("/dashboard/signin")
    page = await resp.text()
    assert resp.status == 200 and "Merchant token" in page
    assert "frame-ancestors 'self'" in resp.headers["Content-Security-Policy"] and resp.headers["Cache-Control"] == "no-store"
    csrf = csrf_of(page)
    bad = await client.post("/dashboard/signin", data={"csrf": csrf, "token": "tb_nope"})
    assert bad.status == 422 and "not valid" in await bad.text()
    empty = await client.post("/dashboard/signin", data={"csrf": csrf, "token": " "})
    assert empty.status == 422 and "Paste your merchant API token" in await empty.text()
    ok = await client.post("/dashboard/signin", data={"csrf": csrf, "token": merchant.token,
                                                      "next": "/dashboard/analytics"}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/dashboard/analytics"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # loopback public URL in tests
    stores = await client.get("/dashboard/stores")
    text = await stores.text()
    assert stores.status == 200 and "Alice" in text
    assert csrf_of(text) != csrf  # a new session nonce after sign-in (no fixation)
    out = await client.post("/dashboard/signout", data={"csrf": csrf_of(text)}, allow_redirects=False)
    assert out.status == 303 and "tb_dash=" in out.headers["Set-Cookie"]
    after = await client.get("/dashboard/stores", allow_redirects=False)
    assert after.status == 303


async def test_open_redirects_are_refused(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    csrf = csrf_of(await (await client.get("/dashboard/signin")).text())
    for target in ("https://evil.example/", "//evil.example", "/dashboard//evil.example", "/api/integrations"):
        client.session.cookie_jar.clear()
        csrf = csrf_of(await (await client.get("/dashboard/signin")).text())
        resp = await client.post("/dashboard/signin", data={"csrf": csrf, "token": merchant.token, "next": target},
                                 allow_redirects=False)
        assert resp.headers["Location"] == "/dashboard/stores", target


def test_cookie_is_secure_outside_loopback():
    from types import SimpleNamespace

    from bot import appkeys

    for url, secure in (("http://127.0.0.1:8000", False), ("http://localhost:8000", False),
                        ("https://bot.example", True), ("http://bot.example", True)):
        app = {appkeys.SETTINGS: SimpleNamespace(public_url=url, session_secret="s" * 40)}
        assert sess.secure_cookie(app) is secure, url


async def test_expired_or_forged_session_goes_back_to_sign_in_with_a_message(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    sid = add_store(env, merchant.id)
    d = Dash(client, merchant)
    await d.sign_in()
    app = env.app
    expired = sess.encode(app, {"n": "abc", "m": merchant.id, "t": 1, "exp": int(time.time()) - 5})
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({sess.COOKIE: expired})
    resp = await d.get("/dashboard/stores")
    assert resp.status == 303 and "expired=1" in resp.headers["Location"]
    page = await (await client.get(resp.headers["Location"])).text()
    assert "Your session expired" in page
    # a POST with an expired session saves nothing and asks to sign in again
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({sess.COOKIE: expired})
    resp = await d.post(f"/dashboard/stores/{sid}/widget", {"title": "Changed"})
    assert resp.status == 303 and "expired=1" in resp.headers["Location"]
    assert env.query(lambda s: s.get(StoreIntegration, sid).widget.title) != "Changed"
    forged = expired.split(".")[0] + ".AAAA"
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({sess.COOKIE: forged})
    resp = await d.get("/dashboard/stores")
    assert resp.status == 303 and "expired" not in resp.headers["Location"]


async def test_revoking_the_token_ends_the_session(dash, env):
    assert (await dash.get("/dashboard/stores")).status == 200
    env.query(lambda s: revoke_token(s, merchant_id=dash.merchant.id))
    assert (await dash.get("/dashboard/stores")).status == 303


# --- CSRF ----------------------------------------------------------------------------------------

async def test_csrf_missing_or_wrong_is_403_and_changes_nothing(dash, env):
    sid = add_store(env, dash.merchant.id)
    for path in ACTIONS:
        path = path.format(sid=sid)
        for csrf in (None, "", "wrong-token", dash.csrf[:-2] + "xx"):
            resp = await dash.post(path, {"title": "Hacked", "confirm": "yes", "shop": "a.myshopify.com"}, csrf=csrf)
            assert resp.status == 403, (path, csrf)
            assert "security token" in await resp.text()
    assert env.query(lambda s: (s.get(StoreIntegration, sid).status, s.get(StoreIntegration, sid).widget.title)) == ("active", "Order help")
    assert (await dash.get("/dashboard/stores")).status == 200  # still signed in (sign-out needed CSRF too)


async def test_sign_in_form_needs_its_csrf_token(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    await client.get("/dashboard/signin")
    resp = await client.post("/dashboard/signin", data={"token": merchant.token}, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post("/dashboard/signin", data={"token": merchant.token, "csrf": "forged"}, allow_redirects=False)
    assert resp.status == 403


async def test_another_sessions_csrf_token_does_not_work(env, make_api, aiohttp_client):
    client = await make_api()
    alice, bob = env.merchant("Alice"), env.merchant("Bob")
    a = Dash(client, alice)
    await a.sign_in()
    other = await aiohttp_client(env.app)
    b = Dash(other, bob)
    await b.sign_in()
    resp = await a.post("/dashboard/signout", {}, csrf=b.csrf)
    assert resp.status == 403


# --- isolation -----------------------------------------------------------------------------------

async def test_one_merchant_never_sees_anothers_data(env, make_api):
    client = await make_api()
    alice, bob = env.merchant("Alice"), env.merchant("Bob")
    secret_store = add_store(env, alice.id, name="Alice Secret Store")
    add_activity(env, alice.id, secret_store, activity.LOOKUP, datetime.now(timezone.utc), outcome="shown",
                 order_number="777123", conversation_id="c_alice", title="Order #777123 shown to a shopper")
    add_activity(env, alice.id, secret_store, activity.CONVERSATION, datetime.now(timezone.utc), conversation_id="c_alice")
    d = Dash(client, bob)
    await d.sign_in()
    for path in ("/dashboard/stores", "/dashboard/activity", "/dashboard/analytics", "/dashboard/analytics.csv"):
        text = await d.page(path)
        assert "Alice Secret Store" not in text and "777123" not in text, path
    assert 'id="kpi-conversations">0<' in await d.page("/dashboard/analytics")
    for path in ("/dashboard/stores/{sid}/widget", "/dashboard/stores/{sid}/preview", "/dashboard/stores/{sid}/disconnect",
                 "/dashboard/analytics?store={sid}", "/dashboard/analytics.csv?store={sid}"):
        resp = await d.get(path.format(sid=secret_store))
        assert resp.status == 404, path
        assert "Alice" not in await resp.text()
    page = await d.page(f"/dashboard/activity?store={secret_store}")
    assert "777123" not in page and "Unknown store" in page
    for path, data in ((f"/dashboard/stores/{secret_store}/widget", {"title": "Bob was here"}),
                       (f"/dashboard/stores/{secret_store}/disconnect", {"confirm": "yes"})):
        resp = await d.post(path, data)
        assert resp.status == 404
    store = env.query(lambda s: (s.get(StoreIntegration, secret_store).status, s.get(StoreIntegration, secret_store).widget.title))
    assert store == ("active", "Order help")


# --- widget editor -------------------------------------------------------------------------------

def widget_form(**overrides):
    form = {"title": "Help", "greeting": "Hi there", "primary_color": "#112233", "text_color": "#ffffff",
            "position": "left", "quick_replies": "Where is my order?\nReturns | /return_refund",
            "allowed_origins": "https://shop.example\nhttp://localhost:3000",
            "policy_shipping": "3-5 days", "policy_returns": "", "policy_cancellation": ""}
    form.update(overrides)
    return form


async def editor(dash, sid):
    page = await dash.page(f"/dashboard/stores/{sid}/widget")
    return form_id_of(page)


async def test_widget_editor_saves_every_field(dash, env):
    sid = add_store(env, dash.merchant.id)
    resp = await dash.post(f"/dashboard/stores/{sid}/widget", widget_form(policy_hours="Mon-Fri 9-17"), form_id=await editor(dash, sid))
    assert resp.status == 303 and resp.headers["Location"].endswith("?saved=1")
    w = env.query(lambda s: s.get(StoreIntegration, sid).widget)
    assert (w.title, w.greeting, w.primary_color, w.position) == ("Help", "Hi there", "#112233", "left")
    assert w.allowed_origins == ["https://shop.example", "http://localhost:3000"]
    assert w.quick_replies == [{"title": "Where is my order?", "payload": "Where is my order?"},
                               {"title": "Returns", "payload": "/return_refund"}]
    assert w.policies == {"shipping": "3-5 days", "hours": "Mon-Fri 9-17"}
    page = await dash.page(f"/dashboard/stores/{sid}/widget?saved=1")
    assert "Saved." in page and "Returns | /return_refund" in page


@pytest.mark.parametrize("field,value,message", [
    ("primary_color", "red", "Use a hex color like #4f46e5."),
    ("text_color", "#12345", "Use a hex color like #4f46e5."),
    ("primary_color", "#fff;background:url(x)", "Use a hex color like #4f46e5."),
    ("allowed_origins", "https://shop.example\nhttps://a.example/path", "Line 2:"),
    ("allowed_origins", "javascript:alert(1)", "Line 1:"),
    ("title", "x" * 81, "at most 80 characters"),
    ("title", "   ", "This must not be empty."),
    ("greeting", "x" * 501, "at most 500 characters"),
    ("policy_returns", "x" * 2001, "at most 2000 characters"),
    ("quick_replies", "\n".join(f"b{i}" for i in range(7)), "At most 6 buttons."),
    ("quick_replies", "x" * 61, "Line 1:"),
    ("position", "top", "Choose left or right."),
])
async def test_invalid_widget_input_gets_a_message_next_to_the_field_and_saves_nothing(dash, env, field, value, message):
    sid = add_store(env, dash.merchant.id)
    before = env.query(lambda s: {c: getattr(s.get(StoreIntegration, sid).widget, c) for c in ("title", "greeting", "primary_color", "allowed_origins", "policies")})
    resp = await dash.post(f"/dashboard/stores/{sid}/widget", widget_form(**{field: value}), form_id=await editor(dash, sid))
    page = await resp.text()
    assert resp.status == 422
    assert f'id="{field}-error"' in page and message in html.unescape(page), page[page.find("field-error") - 300:][:800]
    assert ('aria-invalid="true"' in page or field == "position") and "Nothing was saved" in page
    assert html.escape(value, quote=True)[:50] in page or field == "position"  # the merchant's input is kept, escaped
    after = env.query(lambda s: {c: getattr(s.get(StoreIntegration, sid).widget, c) for c in ("title", "greeting", "primary_color", "allowed_origins", "policies")})
    assert after == before


async def test_script_tags_are_kept_as_text_and_escaped_everywhere(dash, env, make_api):
    sid = add_store(env, dash.merchant.id, name="<script>alert('store')</script>")
    evil = "<script>alert(1)</script>"
    form = widget_form(title=evil[:80], greeting=f"Hi {evil}", quick_replies=f"{evil}", policy_shipping=evil)
    resp = await dash.post(f"/dashboard/stores/{sid}/widget", form, form_id=await editor(dash, sid))
    assert resp.status == 303
    add_activity(env, dash.merchant.id, sid, activity.LOOKUP, datetime.now(timezone.utc), outcome=evil,
                 order_number=evil, title=evil)
    for path in (f"/dashboard/stores/{sid}/widget", "/dashboard/stores", "/dashboard/activity", "/dashboard/analytics",
                 f"/dashboard/stores/{sid}/preview", f"/dashboard/stores/{sid}/disconnect"):
        page = await dash.page(path)
        assert "<script>alert" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in await dash.page(f"/dashboard/stores/{sid}/widget")
    # the widget gets the text as data (it inserts it with textContent)
    widget_id = env.query(lambda s: s.get(StoreIntegration, sid).widget_id)
    public = await (await dash.client.get(f"/api/widget/config/{widget_id}")).json()
    assert public["greeting"] == f"Hi {evil}"
    csv_text = await dash.page("/dashboard/analytics.csv")
    assert "<script>" in csv_text or "alert" not in csv_text  # CSV is not HTML; served as an attachment
    resp = await dash.get("/dashboard/analytics.csv")
    assert resp.headers["Content-Disposition"].startswith("attachment") and resp.content_type == "text/csv"


async def test_double_submitted_widget_form_is_refused_the_second_time(dash, env):
    sid = add_store(env, dash.merchant.id)
    form_id = await editor(dash, sid)
    first = await dash.post(f"/dashboard/stores/{sid}/widget", widget_form(title="First"), form_id=form_id)
    assert first.status == 303
    second = await dash.post(f"/dashboard/stores/{sid}/widget", widget_form(title="Second"), form_id=form_id)
    page = await second.text()
    assert second.status == 409 and "already saved" in page
    assert env.query(lambda s: s.get(StoreIntegration, sid).widget.title) == "First"
    changes = env.query(lambda s: s.execute(select(UserActivity).where(UserActivity.activity_type == activity.CONFIG_CHANGE)).scalars().all())
    assert len(changes) == 1
    # a failed submit can be corrected and sent again with the same form
    form_id = await editor(dash, sid)
    bad = await dash.post(f"/dashboard/stores/{sid}/widget", widget_form(primary_color="nope"), form_id=form_id)
    assert bad.status == 422
    good = await dash.post(f"/dashboard/stores/{sid}/widget", widget_form(title="Third"), form_id=form_id_of(await bad.text()))
    assert good.status == 303


async def test_widget_page_shows_snippets_preview_and_whether_the_widget_was_seen(dash, env):
    sid = add_store(env, dash.merchant.id)
    widget_id = env.query(lambda s: s.get(StoreIntegration, sid).widget_id)
    page = await dash.page(f"/dashboard/stores/{sid}/widget")
    assert f'data-widget-id=&#34;{widget_id}&#34;' in page or f'data-widget-id="{widget_id}"' in html.unescape(page)
    assert "/api/widget/shopify.js" in page and "Bot service URL" in page
    assert f'src="/dashboard/stores/{sid}/preview"' in page
    assert "Not seen on your store" in page
    # the widget loading on the store's (allowed) origin is recorded by the gateway, at most hourly
    for _ in range(3):
        resp = await dash.client.get(f"/api/widget/config/{widget_id}", headers={"Origin": "https://shop.example"})
        assert resp.status == 200
    await dash.client.get(f"/api/widget/config/{widget_id}", headers={"Origin": "https://evil.example"})
    for _ in range(50):
        seen = env.query(lambda s: s.execute(select(UserActivity.details).where(UserActivity.activity_type == activity.WIDGET_SEEN)).scalars().all())
        if seen:
            break
        time.sleep(0.05)
    assert seen == [{"origin": "https://shop.example"}]
    page = await dash.page(f"/dashboard/stores/{sid}/widget")
    assert "Seen loading on https://shop.example" in page
    preview = await dash.get(f"/dashboard/stores/{sid}/preview")
    text = await preview.text()
    assert f'data-widget-id="{widget_id}"' in text and "/widget.js?v=" in text and "preview.js" in text
    assert "connect-src 'self' ws: wss:" in preview.headers["Content-Security-Policy"]


# --- stores --------------------------------------------------------------------------------------

async def test_connect_woocommerce_with_keys_then_reconnect(dash, env, woo):
    page = await dash.page("/dashboard/stores")
    assert "No store yet" in page
    form = {"store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret, "method": "keys"}
    resp = await dash.post("/dashboard/stores/woocommerce", form, form_id=form_id_of(page))
    assert resp.status == 303 and resp.headers["Location"].endswith("done=connected"), await resp.text()
    page = await dash.page(resp.headers["Location"])
    assert "Store connected." in page and "WooCommerce" in page and "Working — last successful contact" in page
    # the same form again is refused; a new one reconnects (keys rotated)
    again = await dash.post("/dashboard/stores/woocommerce", form, form_id=form_id_of(page))
    again2 = await dash.post("/dashboard/stores/woocommerce", form, form_id=form_id_of(page))
    assert again.headers["Location"].endswith("done=reconnected") and again2.headers["Location"].endswith("done=already")
    assert env.query(lambda s: len(s.execute(select(StoreIntegration)).scalars().all())) == 1


@pytest.mark.parametrize("form,field,text", [
    ({"store_url": "", "consumer_key": "ck_x", "consumer_secret": "cs_x"}, "store_url", "Enter your store"),
    ({"store_url": "ftp://shop.example", "consumer_key": "ck_abcdefgh12", "consumer_secret": "cs_abcdefgh12"}, "store_url", "https://"),
    ({"store_url": "https://shop.example", "consumer_key": "nope", "consumer_secret": "cs_abcdefgh12"}, "consumer_key", "start with ck_"),
    ({"store_url": "https://shop.example", "consumer_key": "", "consumer_secret": ""}, "consumer_key", "Paste your consumer key"),
])
async def test_woocommerce_form_errors_are_next_to_the_field(dash, env, form, field, text):
    resp = await dash.post("/dashboard/stores/woocommerce", {**form, "method": "keys"}, form_id="f1")
    page = await resp.text()
    assert resp.status == 422 and f'id="woocommerce-{field}-error"' in page and text in page
    assert form["consumer_secret"] not in page or not form["consumer_secret"]  # secrets are never echoed back
    assert env.query(lambda s: s.execute(select(StoreIntegration)).scalars().all()) == []


async def test_rejected_woocommerce_keys_say_so(dash, env, woo):
    form = {"store_url": woo.url, "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40, "method": "keys"}
    resp = await dash.post("/dashboard/stores/woocommerce", form, form_id="f2")
    page = await resp.text()
    assert resp.status == 422 and 'id="woocommerce-consumer_key-error"' in page and "WooCommerce rejected these credentials" in page
    assert env.query(lambda s: s.execute(select(StoreIntegration)).scalars().all()) == []


async def test_wc_auth_button_redirects_to_the_store_approval(dash, env, woo):
    resp = await dash.post("/dashboard/stores/woocommerce", {"store_url": woo.url, "method": "wc_auth"}, form_id="f3")
    assert resp.status == 303 and resp.headers["Location"].startswith(woo.url + "/wc-auth/v1/authorize?")
    page = await dash.page("/dashboard/stores")
    assert "Waiting for approval" in page


async def test_shopify_install_button_runs_the_apis_oauth_flow(dash, env, make_api, shop):
    env.app[__import__("bot.services.keys", fromlist=["API_CONFIG"]).API_CONFIG].app_settings["shopify"]["api_base_url"] = shop.url
    resp = await dash.post("/dashboard/stores/shopify", {"shop": shop.domain}, form_id="s1")
    assert resp.status == 303, await resp.text()
    install = resp.headers["Location"]
    assert "/admin/oauth/authorize?" in install and "tb_shopify_oauth=" in resp.headers["Set-Cookie"]
    async with aiohttp.ClientSession() as http:
        async with http.get(install, allow_redirects=False) as approved:
            callback = approved.headers["Location"]
    parts = urlsplit(callback)
    done = await dash.client.get(f"{parts.path}?{parts.query}")
    assert done.status == 200 and "connected" in await done.text()
    page = await dash.page("/dashboard/stores")
    assert shop.domain in page and "Shopify" in page and "Connected" in page
    bad = await dash.post("/dashboard/stores/shopify", {"shop": "not a shop"}, form_id="s2")
    assert bad.status == 422 and "myshopify.com" in await bad.text()


async def test_disconnect_needs_confirmation_and_is_idempotent(dash, env):
    sid = add_store(env, dash.merchant.id, name="Corner Shop")
    page = await dash.page(f"/dashboard/stores/{sid}/disconnect")
    assert "Disconnect Corner Shop?" in page
    form_id = form_id_of(page)
    resp = await dash.post(f"/dashboard/stores/{sid}/disconnect", {}, form_id=form_id)
    assert resp.status == 422 and "Tick the box" in await resp.text()
    assert env.query(lambda s: s.get(StoreIntegration, sid).status) == "active"
    resp = await dash.post(f"/dashboard/stores/{sid}/disconnect", {"confirm": "yes"}, form_id=form_id)
    assert resp.headers["Location"].endswith("done=disconnected")
    resp = await dash.post(f"/dashboard/stores/{sid}/disconnect", {"confirm": "yes"}, form_id=form_id)
    assert resp.headers["Location"].endswith("done=already")
    assert env.query(lambda s: s.get(StoreIntegration, sid).status) == "disabled"
    page = await dash.page("/dashboard/stores?done=disconnected")
    assert "Disconnected: the bot does not answer" in page and f"reconnect={sid}" in page
    page = await dash.page(f"/dashboard/stores?reconnect={sid}")
    assert "Reconnect Corner Shop" in page and 'value="https://shop.example"' in page


def test_store_health_in_plain_words():
    may3 = datetime.now(timezone.utc).replace(month=5, day=3, hour=10)
    base = {"platform": "woocommerce", "status": "error",
            "health": {"last_error_code": "store_auth", "last_error": "credentials rejected by the store",
                       "last_error_at": may3.isoformat(),
                       "last_success_at": (may3 - timedelta(days=2)).isoformat(), "credentials_valid": False}}
    assert store_health(base) == {"level": "bad", "text": "WooCommerce rejected TrulyBot's credentials on 3 May — reconnect"}
    shopify = {**base, "platform": "shopify"}
    assert store_health(shopify)["text"] == "Shopify rejected TrulyBot's credentials on 3 May — reconnect"
    # the words come from the code alone: a detail that reads like another error changes nothing
    misleading = {**base, "health": {**base["health"], "last_error_code": "store_unreachable",
                                     "last_error": "credentials rejected"}, "status": "active"}
    assert store_health(misleading)["text"].startswith("WooCommerce did not answer on 3 May")
    odd = {**base, "health": {**base["health"], "last_error_code": "weird_code", "last_error": "something new"}}
    assert store_health(odd)["text"].startswith("WooCommerce reported a problem (something new)")
    down = {"platform": "woocommerce", "status": "active",
            "health": {"last_error_code": "store_unreachable", "last_error": "store did not answer",
                       "last_error_at": may3.isoformat()}}
    assert store_health(down) == {"level": "warn", "text": "WooCommerce did not answer on 3 May; TrulyBot keeps checking"}
    fine = {"platform": "shopify", "status": "active", "health": {"last_success_at": datetime.now(timezone.utc).isoformat()}}
    assert store_health(fine)["level"] == "ok"
    assert store_health({"platform": "shopify", "status": "pending", "health": {}})["level"] == "warn"
    assert store_health({"platform": "shopify", "status": "disabled", "health": {}})["level"] == "off"


async def test_unhealthy_store_is_explained_on_the_stores_page(dash, env):
    add_store(env, dash.merchant.id, status="error", last_error_code="store_auth", last_error="credentials rejected by the store",
              last_error_at=datetime(2024, 5, 3, 9, 0, tzinfo=timezone.utc),
              last_success_at=datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc))
    page = await dash.page("/dashboard/stores")
    assert "WooCommerce rejected TrulyBot's credentials on 3 May 2024 — reconnect" in html.unescape(page)


# --- activity ------------------------------------------------------------------------------------

async def test_activity_filters_and_paging(dash, env):
    a = add_store(env, dash.merchant.id, name="Store A")
    b = add_store(env, dash.merchant.id, name="Store B")
    start = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    for i in range(30):
        add_activity(env, dash.merchant.id, a, activity.LOOKUP, start + timedelta(days=i), outcome="shown",
                     order_number=str(1000 + i), title=f"Order #{1000 + i} shown to a shopper")
    add_activity(env, dash.merchant.id, b, activity.HANDOFF, start, title="Shopper asked for a person")
    page = await dash.page("/dashboard/activity")
    assert "31 entries" in page and "page 1 of 2" in page and "Order #1029" in page and 'rel="next"' in page
    page2 = await dash.page("/dashboard/activity?page=2")
    assert "Order #1004" in page2 and "Order #1029" not in page2
    only_b = await dash.page(f"/dashboard/activity?store={b}")
    assert "1 entry" in only_b and "Shopper asked for a person" in only_b
    handoffs = await dash.page("/dashboard/activity?type=human_handoff")
    assert "1 entry" in handoffs
    dated = await dash.page("/dashboard/activity?from=2024-03-05&to=2024-03-06")
    assert "2 entries" in dated and "Order #1004" in dated and "Order #1005" in dated
    bad = await dash.page("/dashboard/activity?from=2024-13-45&to=yesterday&type=bogus&store=abc")
    assert 'id="from-error"' in bad and 'id="to-error"' in bad and 'id="type-error"' in bad and "31 entries" in bad
    backwards = await dash.page("/dashboard/activity?from=2024-03-10&to=2024-03-01")
    assert "The end date is before the start date." in backwards


# --- analytics -----------------------------------------------------------------------------------

async def _tracker_messages(env, monkeypatch, intents_by_conversation):
    """Shopper messages in the app's Rasa tracker store, as Rasa would have saved them."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import appkeys
    from bot.rasa.stores import SettingsSQLTrackerStore

    monkeypatch.setenv("TRULYBOT_TRACKER_STORE_URL", env.app[appkeys.SETTINGS].tracker_store_url)
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    for conversation, intents in intents_by_conversation.items():
        tracker = DialogueStateTracker(conversation, [])
        for intent in intents:
            tracker.update(UserUttered("...", {"name": intent, "confidence": 0.9}))
        await store.save(tracker)


async def test_analytics_numbers_charts_and_csv(dash, env, monkeypatch):
    sid = add_store(env, dash.merchant.id)
    await _tracker_messages(env, monkeypatch, {"c_0": ["greet", "track_order", "inform"], "c_1": ["track_order"],
                                               "old": ["cancel_order"], "other-store": ["human_handoff"]})
    now = datetime.now(timezone.utc).replace(hour=14, minute=0)
    convs = [f"c_{i}" for i in range(10)]
    for i, conv in enumerate(convs):
        add_activity(env, dash.merchant.id, sid, activity.CONVERSATION, now - timedelta(days=i % 3), conversation_id=conv)
    for conv in convs[:5]:
        add_activity(env, dash.merchant.id, sid, activity.LOOKUP, now, outcome="shown", conversation_id=conv, order_number="1")
    add_activity(env, dash.merchant.id, sid, activity.LOOKUP, now, outcome="mismatch", conversation_id=convs[5])
    add_activity(env, dash.merchant.id, sid, activity.LOCKOUT, now, outcome="lockout", conversation_id=convs[5])
    add_activity(env, dash.merchant.id, sid, activity.STORE_ERROR, now, outcome="store_error", conversation_id=convs[6])
    add_activity(env, dash.merchant.id, sid, activity.STORE_ERROR, now, title="Store connection recovered")  # health check, no outcome
    add_activity(env, dash.merchant.id, sid, activity.REQUEST, now, kind="return", conversation_id=convs[7])
    add_activity(env, dash.merchant.id, sid, activity.HANDOFF, now, conversation_id=convs[0])  # shown, then handoff
    add_activity(env, dash.merchant.id, sid, activity.HANDOFF, now, conversation_id=convs[6])
    add_activity(env, dash.merchant.id, sid, activity.CONVERSATION, now - timedelta(days=60), conversation_id="old")
    page = await dash.page("/dashboard/analytics")
    assert 'id="kpi-conversations">10<' in page
    assert 'id="kpi-lookups">8<' in page
    assert 'id="kpi-resolution">50%<' in page  # c_1..c_4 shown + c_7 request = 5 of 10 (c_0 handed off)
    assert 'id="kpi-handoff">20%<' in page
    assert page.count("<svg") >= 4 and "return request" in page
    assert "Most common intents" in page and "track_order" in page
    assert "cancel_order" not in page and "human_handoff" not in page  # outside the period / another store
    year = await dash.page("/dashboard/analytics?days=365")
    assert 'id="kpi-conversations">11<' in year
    csv_text = await dash.page("/dashboard/analytics.csv?days=30")
    rows = [line.split(",") for line in csv_text.strip().splitlines()]
    assert rows[0] == ["metric", "key", "value"]
    table = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert table[("summary", "conversations")] == "10" and table[("summary", "resolution_rate")] == "0.5000"
    assert table[("lookups_by_outcome", "shown")] == "5" and table[("lookups_by_outcome", "lockout")] == "1"
    assert table[("conversations_by_hour_utc", "14")] == "10"
    assert table[("intents", "track_order")] == "2" and table[("intents", "greet")] == "1"
    assert sum(int(v) for (m, _), v in table.items() if m == "conversations_per_day") == 10
    assert len([1 for (m, _) in table if m == "conversations_per_day"]) == 30
    assert (await dash.get("/dashboard/analytics?store=99999")).status == 404


async def test_analytics_of_handoffs_per_day_first_reply_and_who_resolved(dash, env):
    from bot.core.db.models import Handoff

    sid = add_store(env, dash.merchant.id)
    other = env.merchant("Bob")
    bobs = add_store(env, other.id, name="Bob's")
    now = datetime.now(timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0)
    for i in range(10):
        add_activity(env, dash.merchant.id, sid, activity.CONVERSATION, now, conversation_id=f"c_{i}")
    for i in range(4):  # the assistant answered c_0..c_3 on its own
        add_activity(env, dash.merchant.id, sid, activity.LOOKUP, now, outcome="shown", conversation_id=f"c_{i}", order_number="1")

    def seed(session) -> None:
        rows = [  # (store, requested, first reply after, state, resolution)
            (sid, now, timedelta(seconds=60), "closed", "person"),
            (sid, now, timedelta(seconds=180), "closed", "person"),
            (sid, now - timedelta(days=1), None, "closed", "bot"),
            (sid, now - timedelta(days=1), None, "waiting", None),
            (sid, now - timedelta(days=90), timedelta(seconds=5), "closed", "person"),  # outside 30 days
            (bobs, now, timedelta(seconds=1), "closed", "person"),  # another merchant
        ]
        for n, (store, requested, reply, state, resolution) in enumerate(rows):
            session.add(Handoff(store_id=store, conversation_id=f"h_{n}", state=state, context={}, requested_at=requested,
                                first_reply_at=requested + reply if reply else None, resolution=resolution,
                                closed_at=requested + timedelta(minutes=10) if state == "closed" else None))
    env.query(seed)
    page = await dash.page("/dashboard/analytics")
    assert 'id="kpi-first-reply">2 min<' in page  # (60 s + 180 s) / 2
    assert "2 of 4 handoffs answered in the chat" in page
    assert 'id="kpi-resolved-by">40% / 20%<' in page  # 4 of 10 by the assistant, 2 of 10 by a person
    assert "Handoffs per day" in page
    csv_text = await dash.page("/dashboard/analytics.csv?days=30")
    table = {(r[0], r[1]): r[2] for r in (line.split(",") for line in csv_text.strip().splitlines()[1:])}
    assert table[("summary", "handoffs_requested")] == "4"
    assert table[("summary", "first_human_reply_avg_seconds")] == "120.0"
    assert table[("summary", "resolved_by_bot_share")] == "0.4000"
    assert table[("summary", "resolved_by_person_share")] == "0.2000"
    assert table[("summary", "handoffs_closed_without_a_person")] == "1"
    assert table[("handoffs_per_day", now.date().isoformat())] == "2"
    assert table[("handoffs_per_day", (now - timedelta(days=1)).date().isoformat())] == "2"
    assert sum(int(v) for (m, _), v in table.items() if m == "handoffs_per_day") == 4
    year = await dash.page("/dashboard/analytics.csv?days=365")
    assert "summary,handoffs_requested,5" in year


async def test_new_conversations_are_counted_by_the_gateway(dash, env):
    sid = add_store(env, dash.merchant.id)
    widget_id = env.query(lambda s: s.get(StoreIntegration, sid).widget_id)
    async with dash.client.ws_connect("/ws", headers={"Origin": "https://shop.example"}) as ws:
        await ws.send_json({"type": "hello", "widget_id": widget_id, "session": None})
        welcome = await ws.receive_json(timeout=5)
        assert welcome["type"] == "welcome"
    async with dash.client.ws_connect("/ws", headers={"Origin": "https://shop.example"}) as ws:  # resumed: not new
        await ws.send_json({"type": "hello", "widget_id": widget_id, "session": welcome["session"]})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    for _ in range(50):
        rows = env.query(lambda s: s.execute(select(UserActivity.user_id, UserActivity.store_id, UserActivity.details)
                                             .where(UserActivity.activity_type == activity.CONVERSATION)).all())
        if rows:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    rows = env.query(lambda s: s.execute(select(UserActivity.user_id, UserActivity.store_id, UserActivity.details)
                                         .where(UserActivity.activity_type == activity.CONVERSATION)).all())
    assert [(r[0], r[1], r[2]["conversation_id"]) for r in rows] == [(dash.merchant.id, sid, welcome["conversation_id"])]
    assert 'id="kpi-conversations">1<' in await dash.page("/dashboard/analytics")


async def test_the_bots_own_origin_may_open_any_active_widget_for_the_preview(dash, env):
    sid = add_store(env, dash.merchant.id)
    widget_id = env.query(lambda s: s.get(StoreIntegration, sid).widget_id)
    own = env.settings.public_url.rstrip("/")  # the preview page is served from the bot's own origin
    async with dash.client.ws_connect("/ws", headers={"Origin": own}) as ws:
        await ws.send_json({"type": "hello", "widget_id": widget_id, "session": None})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    async with dash.client.ws_connect("/ws", headers={"Origin": "https://evil.example"}) as ws:
        await ws.send_json({"type": "hello", "widget_id": widget_id, "session": None})
        assert (await ws.receive_json(timeout=5))["code"] == "origin_not_allowed"
