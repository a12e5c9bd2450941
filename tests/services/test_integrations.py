"""The service layer called directly (no HTTP request): connect, list, get, disconnect, delete, widget
configuration, the activity log and the installed platforms, with their typed errors."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.db.models import StoreIntegration, UserActivity
from bot.services import activity, connecting, integrations as svc, widget_config
from bot.services.errors import FieldInvalid, NotFound, StoreCallFailed, UnknownPlatform
from bot.services.platforms import describe_platforms


@pytest.fixture
async def app(env, make_api):
    await make_api()
    return env.app


def _keys(woo, **extra):
    return {"store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret, **extra}


async def test_connect_keys_flow_then_reconnect(app, env, woo):
    merchant = env.merchant()
    first = await svc.connect_store(app, merchant.id, "woocommerce", _keys(woo, display_name="Corner"))
    assert first.created and not first.needs_approval
    assert first.store["status"] == "active" and first.store["display_name"] == "Corner"
    assert first.store["webhooks"]["topics"]  # registered at the emulated store
    again = await svc.connect_store(app, merchant.id, "woocommerce", _keys(woo, method="keys"))
    assert not again.created and again.store["id"] == first.store["id"]
    listed = await svc.list_stores(app, merchant.id)
    assert [s["id"] for s in listed] == [first.store["id"]]
    assert (await svc.get_store(app, merchant.id, first.store["id"]))["platform"] == "woocommerce"
    kinds = env.query(lambda s: [a.activity_type for a in s.execute(select(UserActivity)).scalars()])
    assert kinds == [activity.CONNECT, activity.CONNECT]


@pytest.mark.parametrize("body,field", [
    ({"consumer_key": "ck_abcdefgh12", "consumer_secret": "cs_abcdefgh12"}, "store_url"),
    ({"store_url": "https://shop.example", "consumer_key": "nope", "consumer_secret": "cs_abcdefgh12"}, "consumer_key"),
    ({"store_url": "http://10.0.0.1", "consumer_key": "ck_abcdefgh12", "consumer_secret": "cs_abcdefgh12"}, "store_url"),
    ({"store_url": "https://shop.example", "api_key": "x"}, "api_key"),
    ({"store_url": "https://shop.example", "method": "carrier_pigeon"}, "method"),
])
async def test_bad_fields_name_the_field_and_store_nothing(app, env, body, field):
    merchant = env.merchant()
    with pytest.raises(FieldInvalid) as caught:
        await svc.connect_store(app, merchant.id, "woocommerce", body)
    assert caught.value.status == 422 and caught.value.field == field
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


async def test_unknown_platform_lists_the_installed_ones(app, env):
    with pytest.raises(UnknownPlatform) as caught:
        await svc.connect_store(app, env.merchant().id, "magento", {})
    assert caught.value.status == 404 and {"woocommerce", "shopify"} <= set(caught.value.installed)


async def test_refused_and_unreachable_stores_are_typed_store_errors(app, env, woo):
    from tests.support.ports import free_port

    merchant = env.merchant()
    with pytest.raises(StoreCallFailed) as refused:
        await svc.connect_store(app, merchant.id, "woocommerce", _keys(woo, consumer_key="ck_" + "a" * 40))
    assert (refused.value.status, refused.value.code) == (422, "store_auth")
    with pytest.raises(StoreCallFailed) as down:
        await svc.connect_store(app, merchant.id, "woocommerce", _keys(woo, store_url=f"http://127.0.0.1:{free_port()}"))
    assert (down.value.status, down.value.code) == (502, "store_unreachable")
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []


async def test_authorization_flow_returns_the_approval_url_and_a_pending_store(app, env, woo):
    result = await svc.connect_store(app, env.merchant().id, "woocommerce",
                                     {"store_url": woo.url, "method": "authorization_callback", "return_to": "/dashboard/stores"})
    assert result.needs_approval and result.redirect_url.startswith(woo.url + "/wc-auth/v1/authorize?")
    assert result.store["status"] == "pending"


async def test_disconnect_removes_webhooks_and_is_idempotent_on_request(app, env, woo):
    from plugins.woocommerce.emulator_auth import WEBHOOKS_KEY

    merchant = env.merchant()
    store = (await svc.connect_store(app, merchant.id, "woocommerce", _keys(woo))).store
    assert [h for h in woo.app[WEBHOOKS_KEY] if h.get("status", "active") == "active"]
    shown = await svc.disconnect_store(app, merchant.id, store["id"])
    assert shown["status"] == "disabled" and shown["webhooks"]["topics"] == []
    assert woo.app[WEBHOOKS_KEY] == []  # deregistered at the store
    assert await svc.disconnect_store(app, merchant.id, store["id"], only_if_connected=True) is None
    with pytest.raises(NotFound):
        await svc.disconnect_store(app, merchant.id, store["id"], "shopify")  # not a store of that platform


async def test_another_merchants_store_is_not_found(app, env, woo):
    owner, other = env.merchant(), env.merchant("Other")
    store = (await svc.connect_store(app, owner.id, "woocommerce", _keys(woo))).store
    for call in (svc.get_store(app, other.id, store["id"]), svc.delete_store(app, other.id, store["id"]),
                 svc.disconnect_store(app, other.id, store["id"]),
                 widget_config.get_widget_config(app, other.id, store["id"])):
        with pytest.raises(NotFound):
            await call
    assert (await svc.delete_store(app, owner.id, store["id"]))["id"] == store["id"]
    assert await svc.list_stores(app, owner.id) == []


async def test_widget_config_update_validates_every_field_and_saves_nothing_on_error(app, env, woo):
    merchant = env.merchant()
    store = (await svc.connect_store(app, merchant.id, "woocommerce", _keys(woo))).store
    with pytest.raises(FieldInvalid) as caught:
        await widget_config.update_widget_config(app, merchant.id, store["id"],
                                                 {"title": "New", "allowed_origins": ["https://ok.example", "nope"]})
    assert caught.value.field == "allowed_origins/1"
    assert (await widget_config.get_widget_config(app, merchant.id, store["id"]))["title"] != "New"
    saved = await widget_config.update_widget_config(app, merchant.id, store["id"],
                                                     {"title": " New ", "primary_color": "#ABCDEF"})
    assert (saved["title"], saved["primary_color"]) == ("New", "#abcdef")
    page = await activity.activity_page(app, merchant.id, {"types": [activity.CONFIG_CHANGE]})
    assert page["total"] == 1 and page["items"][0]["details"]["fields"] == ["primary_color", "title"]
    with pytest.raises(NotFound):
        await activity.activity_page(app, merchant.id, {"store_id": store["id"] + 1})


async def test_installed_platforms_describe_their_connection(app):
    described = {p["name"]: p for p in describe_platforms(app)}
    woo = described["woocommerce"]
    assert woo["display_name"] == "WooCommerce" and woo["webhooks"] is True
    assert woo["connection"]["flows"] == ["api_keys", "authorization_callback"]
    secret = {f["name"]: f["secret"] for f in woo["connection"]["fields"]}
    assert secret == {"store_url": False, "consumer_key": True, "consumer_secret": True}


async def test_demo_mode_sends_unconfigured_emulated_platforms_to_their_emulator(app):
    from bot.services.keys import API_CONFIG
    from bot.services.platforms import platform_class

    pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
    config = app[API_CONFIG]
    bigcommerce, woo = platform_class(app, "bigcommerce"), platform_class(app, "woocommerce")
    config.demo = True
    config.app_settings["bigcommerce"] = {"api_url": None}
    assert connecting.demo_emulator_url(app, bigcommerce) == "http://127.0.0.1:8103"  # its register_emulators port
    assert connecting.context(app, bigcommerce).base_url_override == "http://127.0.0.1:8103"
    assert connecting.demo_emulator_url(app, woo) is None  # the merchant types the store's address
    config.app_settings["bigcommerce"] = {"api_url": "https://api.example"}
    assert connecting.demo_emulator_url(app, bigcommerce) is None  # what the operator configured wins
    config.demo = False
    config.app_settings["bigcommerce"] = {"api_url": None}
    assert connecting.demo_emulator_url(app, bigcommerce) is None
