"""Widget configuration GET/PUT and the activity log."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.services import activity
from bot.core.db.models import StoreIntegration, WidgetConfig


def add_store(env, merchant_id, platform="woocommerce", name="Store"):
    def make(session):
        store = StoreIntegration(user_id=merchant_id, platform=platform, display_name=name,
                                 store_url="https://shop.example", config={})
        store.widget = WidgetConfig()
        session.add(store)
        session.flush()
        return store.id

    return env.query(make)


async def test_widget_get_and_put(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    sid = add_store(env, merchant.id)
    resp = await client.get(f"/api/integrations/{sid}/widget", headers=merchant.headers)
    cfg = await resp.json()
    assert resp.status == 200 and cfg["position"] == "right" and cfg["title"]
    change = {"title": "  Help  ", "primary_color": "#ABC", "text_color": "#ffffff", "position": "left",
              "allowed_origins": ["https://shop.example", "https://shop.example:443", "http://localhost:3000"],
              "quick_replies": ["Where is my order?", {"title": "Returns", "payload": "/return_refund"}, "Returns"],
              "locale": "de-DE",
              "policies": {"shipping": "3-5 days", "returns": None, "hours": "Mon-Fri 9-17"}, "avatar_url": "https://cdn.example/a.png"}
    resp = await client.put(f"/api/integrations/{sid}/widget", json=change, headers=merchant.headers)
    cfg = await resp.json()
    assert resp.status == 200, cfg
    assert cfg["title"] == "Help" and cfg["primary_color"] == "#abc" and cfg["position"] == "left"
    assert cfg["allowed_origins"] == ["https://shop.example", "http://localhost:3000"]
    assert cfg["policies"] == {"shipping": "3-5 days", "returns": None, "cancellation": None, "hours": "Mon-Fri 9-17",
                               "contact": None, "payment": None, "invoice": None}
    again = await (await client.get(f"/api/integrations/{sid}/widget", headers=merchant.headers)).json()
    assert again["quick_replies"] == [{"title": "Where is my order?", "payload": "Where is my order?"},
                                      {"title": "Returns", "payload": "/return_refund"}]
    assert again["locale"] == "de-DE"
    # what the gateway serves to the widget is what the merchant set
    public = await (await client.get(f"/api/widget/config/{cfg['widget_id']}")).json()
    assert public["quick_replies"] == again["quick_replies"] and public["title"] == "Help"
    assert public["primary_color"] == "#abc" and public["position"] == "left"
    acts = await (await client.get("/api/activities?type=config_changed", headers=merchant.headers)).json()
    assert acts["total"] == 1 and "allowed_origins" in acts["items"][0]["details"]["fields"]


@pytest.mark.parametrize("body", [
    {}, [], {"title": ""}, {"title": "   "}, {"title": "x" * 81}, {"greeting": "x" * 501},
    {"primary_color": "red"}, {"primary_color": "#12345"}, {"primary_color": "#gggggg"}, {"text_color": 123},
    {"position": "top"}, {"allowed_origins": "https://a.example"},
    {"allowed_origins": ["https://a.example/"]}, {"allowed_origins": ["https://a.example/path"]},
    {"allowed_origins": ["https://a.example?x=1"]}, {"allowed_origins": ["ftp://a.example"]},
    {"allowed_origins": ["https://user@a.example"]}, {"allowed_origins": ["https://a.example:99999"]},
    {"allowed_origins": ["https://bad_host.example"]}, {"allowed_origins": ["https://*.example.com"]},
    {"allowed_origins": ["https://a.example"] * 21}, {"quick_replies": ["a"] * 7}, {"quick_replies": [""]},
    {"quick_replies": [" "]}, {"quick_replies": [1]}, {"quick_replies": [{"payload": "x"}]},
    {"quick_replies": [{"title": "a", "payload": ""}]}, {"quick_replies": [{"title": "a", "extra": 1}]},
    {"quick_replies": [{"title": " ", "payload": "x"}]}, {"policies": {"privacy": "x"}}, {"policies": {"shipping": "x" * 2001}},
    {"locale": "english"}, {"enabled": "yes"}, {"avatar_url": "http://cdn.example/a.png"}, {"avatar_url": "javascript:alert(1)"},
    {"unknown": 1},
])
async def test_widget_put_validation(env, make_api, body):
    client = await make_api()
    merchant = env.merchant()
    sid = add_store(env, merchant.id)
    resp = await client.put(f"/api/integrations/{sid}/widget", json=body, headers=merchant.headers)
    err = await resp.json()
    assert resp.status == 422, (body, err)
    assert err["error"]["code"] == "validation_error"


async def test_widget_path_ids(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    for path in ("/api/integrations/0/widget", "/api/integrations/99999999999/widget", "/api/integrations/123/widget"):
        resp = await client.get(path, headers=merchant.headers)
        assert resp.status == 404, path


async def test_activities_paging_and_filters(env, make_api):
    client = await make_api()
    merchant, other = env.merchant("A"), env.merchant("B")
    s1, s2 = add_store(env, merchant.id), add_store(env, merchant.id, "shopify")
    s3 = add_store(env, other.id)
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def fill(session):
        for i in range(25):
            entry = activity.record_activity(session, merchant.id, activity.LOOKUP if i % 2 else activity.CONNECT,
                                             f"entry {i}", s1 if i < 20 else s2, {"i": i})
            entry.created_at = base + timedelta(hours=i)
        activity.record_activity(session, other.id, activity.LOOKUP, "other", s3)

    env.query(fill)
    h = merchant.headers
    page1 = await (await client.get("/api/activities?per_page=10", headers=h)).json()
    assert page1["total"] == 25 and len(page1["items"]) == 10 and page1["has_more"] is True
    assert page1["items"][0]["title"] == "entry 24"
    page3 = await (await client.get("/api/activities?per_page=10&page=3", headers=h)).json()
    assert len(page3["items"]) == 5 and page3["has_more"] is False
    lookups = await (await client.get("/api/activities?type=order_lookup&per_page=100", headers=h)).json()
    assert lookups["total"] == 12 and all(i["type"] == "order_lookup" for i in lookups["items"])
    both = await (await client.get("/api/activities?type=order_lookup,store_connected", headers=h)).json()
    assert both["total"] == 25
    store2 = await (await client.get(f"/api/activities?store_id={s2}", headers=h)).json()
    assert store2["total"] == 5
    window = await (await client.get("/api/activities", params={"since": "2026-01-01T05:00:00Z",
                                                                "until": "2026-01-01T10:00:00+00:00"}, headers=h)).json()
    assert [i["title"] for i in window["items"]] == [f"entry {i}" for i in range(9, 4, -1)]
    dated = await (await client.get("/api/activities?since=2026-01-02", headers=h)).json()
    assert dated["total"] == 1
    for bad in ("page=0", "page=x", "per_page=101", "per_page=-1", "type=DROP%20TABLE", "type=a;b", "store_id=abc",
                "since=yesterday", "since=2026-01-02&until=2026-01-01", "until=2026-13-01"):
        resp = await client.get(f"/api/activities?{bad}", headers=h)
        assert resp.status == 422, bad
        assert (await resp.json())["error"]["code"] == "validation_error"
    assert (await client.get(f"/api/activities?store_id={s3}", headers=h)).status == 404
    other_view = await (await client.get("/api/activities", headers=other.headers)).json()
    assert other_view["total"] == 1


async def test_widget_changes_reach_the_gateway_at_once(env, make_api):
    client = await make_api()
    merchant = env.merchant()
    sid = add_store(env, merchant.id)
    cfg = await (await client.get(f"/api/integrations/{sid}/widget", headers=merchant.headers)).json()
    before = await (await client.get(f"/api/widget/config/{cfg['widget_id']}")).json()
    assert before["title"] == "Order help"
    assert (await client.put(f"/api/integrations/{sid}/widget", json={"title": "New"}, headers=merchant.headers)).status == 200
    after = await (await client.get(f"/api/widget/config/{cfg['widget_id']}")).json()
    assert after["title"] == "New"
    assert (await client.delete(f"/api/integrations?id={sid}", headers=merchant.headers)).status == 200
    assert (await client.get(f"/api/widget/config/{cfg['widget_id']}")).status == 404
