"""The main flows on PostgreSQL (JSON columns, timezone-aware timestamps, cascades)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.core.db.models import StoreIntegration, UserActivity
from tests.api.test_webhooks import api_with_push, drain, fire_shopify, installed, lookup

pytestmark = pytest.mark.postgres


async def test_woocommerce_connect_widget_activities_health_on_postgres(pg_env, make_api, woo):
    env = pg_env
    client = await make_api()
    merchant = env.merchant()
    store = await (await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})).json()
    assert store["status"] == "active" and store["created_at"].endswith("+00:00")
    resp = await client.put(f"/api/integrations/{store['id']}/widget", headers=merchant.headers,
                            json={"allowed_origins": ["https://shop.example"], "quick_replies": ["Track"]})
    assert resp.status == 200
    acts = await (await client.get("/api/activities", params={"since": "2000-01-01T00:00:00Z", "type": "config_changed"},
                                   headers=merchant.headers)).json()
    assert acts["total"] == 1
    from bot.services.store_health import run_health_checks_once

    def make_due(session):
        row = session.get(StoreIntegration, store["id"])
        row.config = {**row.config, "health": {"next_check_at": None}}

    env.query(make_due)
    assert (await run_health_checks_once(env.app))["ok"] == 1
    resp = await client.delete(f"/api/integrations?id={store['id']}", headers=merchant.headers)
    assert resp.status == 200


async def test_shopify_install_and_shop_redact_on_postgres(pg_env, make_api, shop):
    env = pg_env
    client, pushes = await api_with_push(make_api, app_settings={"shopify": {"api_base_url": shop.url}})
    merchant, store = await installed(env, client, shop)
    lookup(env, merchant.id, store.id, "1001", "conv-a")
    await fire_shopify(shop, topic="orders/updated", order_id="1001", webhook_id="pg-1")
    await drain(env)
    assert [p[0] for p in pushes] == ["conv-a"]
    await fire_shopify(shop, topic="shop/redact", callback_url=str(client.make_url("/api/webhooks/shopify")),
                       payload={"shop_domain": shop.domain}, webhook_id="pg-2")
    await drain(env)
    assert env.query(lambda s: s.execute(select(func.count()).select_from(StoreIntegration)).scalar()) == 0
    assert env.query(lambda s: s.execute(select(func.count()).select_from(UserActivity).where(
        UserActivity.store_id == store.id)).scalar()) == 0


def test_handoff_analytics_and_the_claim_timeout_arbiter_on_postgres(pg_env):
    from datetime import datetime, timedelta, timezone

    from bot.core.db.models import Handoff
    from bot.dashboard.queries import handoff_stats
    from bot.services import handoff_timeout

    env = pg_env
    merchant = env.merchant("Pat")
    now = datetime.now(timezone.utc)

    def seed(session) -> "tuple[int, int]":
        store = StoreIntegration(user_id=merchant.id, platform="woocommerce", config={"handoff": {"claim_timeout_minutes": 1}})
        session.add(store)
        session.flush()
        session.add(Handoff(store_id=store.id, conversation_id="a", state="closed", context={}, requested_at=now,
                            first_reply_at=now + timedelta(seconds=30), resolution="person"))
        waiting = Handoff(store_id=store.id, conversation_id="b", state="waiting", context={},
                          requested_at=now - timedelta(minutes=2))
        session.add(waiting)
        session.flush()
        return store.id, waiting.id
    store_id, waiting_id = env.query(seed)
    stats = env.query(lambda s: handoff_stats(s, [store_id], now - timedelta(days=1), now + timedelta(days=1)))
    assert stats["handoffs_requested"] == 2 and stats["first_replies"] == 1
    assert abs(stats["first_reply_seconds"] - 30.0) < 0.01 and stats["closed_by"] == {"person": 1, "bot": 0}
    assert env.query(handoff_timeout.overdue) == [waiting_id]
    assert env.query(lambda s: handoff_timeout.to_ticket(s, waiting_id))["state"] == "ticket"
    assert env.query(lambda s: handoff_timeout.to_ticket(s, waiting_id)) is None
