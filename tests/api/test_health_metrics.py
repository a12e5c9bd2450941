"""Per-store health checks with backoff, Prometheus metrics, database outages."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.services import activity
from bot.core.db.models import StoreIntegration, UserActivity
from bot.services.store_health import backoff_seconds, run_health_checks_once


async def connect(client, merchant, woo):
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})
    assert resp.status == 201
    return await resp.json()


def test_backoff_grows_and_is_capped():
    assert backoff_seconds(60, 0, 3600) == 60
    assert [backoff_seconds(60, n, 3600) for n in (1, 2, 3, 6, 50)] == [120, 240, 480, 3600, 3600]


async def test_health_checks_record_success_failure_backoff_and_recovery(env, make_api, woo):
    from plugins.woocommerce.emulator import STATE_KEY

    client = await make_api(health_check_interval=60)
    merchant = env.merchant()
    store = await connect(client, merchant, woo)
    result = await run_health_checks_once(env.app)
    assert result == {"checked": 1, "ok": 1, "failed": 0}
    assert (await run_health_checks_once(env.app))["checked"] == 0  # not due again yet
    # the merchant revokes the keys in WooCommerce
    state = woo.app[STATE_KEY]
    state.consumer_secret = "cs_rotated_by_the_merchant_000000"

    def make_due(session):
        row = session.get(StoreIntegration, store["id"])
        row.config = {**row.config, "health": {**row.config["health"], "next_check_at": None}}

    env.query(make_due)
    assert (await run_health_checks_once(env.app))["failed"] == 1
    listed = (await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"][0]
    health = listed["health"]
    assert listed["status"] == "error" and health["credentials_valid"] is False
    assert health["last_error_code"] == "store_auth" and health["consecutive_failures"] == 1
    assert health["last_error"] == "credentials rejected by the store"
    first_next = datetime.fromisoformat(health["next_check_at"])
    assert (first_next - datetime.fromisoformat(health["last_checked_at"])).total_seconds() == pytest.approx(120, abs=2)
    env.query(make_due)
    await run_health_checks_once(env.app)
    health = (await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"][0]["health"]
    assert health["consecutive_failures"] == 2
    assert (datetime.fromisoformat(health["next_check_at"]) - datetime.fromisoformat(health["last_checked_at"])).total_seconds() \
        == pytest.approx(240, abs=2)
    errors = env.query(lambda s: [a.title for a in s.execute(select(UserActivity).where(
        UserActivity.activity_type == activity.STORE_ERROR)).scalars()])
    assert errors == ["Store rejected TrulyBot's credentials"]  # once, on the transition
    state.consumer_secret = woo.secret
    env.query(make_due)
    assert (await run_health_checks_once(env.app))["ok"] == 1
    listed = (await (await client.get("/api/integrations", headers=merchant.headers)).json())["items"][0]
    assert listed["status"] == "active" and listed["health"]["credentials_valid"] is True
    assert listed["health"]["consecutive_failures"] == 0


async def test_background_checker_runs_as_cleanup_context(env, make_api, woo):
    import asyncio

    from bot.services.keys import HEALTH_CHECKER

    client = await make_api(health_check_enabled=True, health_check_interval=0.05)
    checker = env.app[HEALTH_CHECKER]
    assert checker.task is not None
    for _ in range(100):
        if checker.runs >= 2:
            break
        await asyncio.sleep(0.05)
    assert checker.runs >= 2


async def test_metrics(env, make_api, woo):
    client = await make_api(metrics_refresh_seconds=0)
    merchant = env.merchant()
    store = await connect(client, merchant, woo)
    await client.get("/api/integrations", headers=merchant.headers)
    await client.get("/api/integrations")
    env.query(lambda s: activity.record_activity(s, merchant.id, activity.LOOKUP, "x", store["id"], {"outcome": "shown"}))
    first = await (await client.get("/metrics")).text()  # starts the activity cursor
    env.query(lambda s: activity.record_activity(s, merchant.id, activity.LOOKUP, "x", store["id"], {"outcome": "not_found"}))
    env.query(lambda s: activity.record_activity(s, merchant.id, activity.LOCKOUT, "x", store["id"], {"outcome": "lockout"}))
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert 'trulybot_http_requests_total{method="GET",route="/api/integrations",status="200"}' in text
    assert 'trulybot_http_requests_total{method="GET",route="/api/integrations",status="401"}' in text
    assert 'trulybot_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/api/integrations"}' in text
    assert 'trulybot_connected_stores{platform="woocommerce",status="active"} 1.0' in text
    assert 'trulybot_store_call_duration_seconds_count{operation="check_connection",platform="woocommerce"}' in text
    assert 'trulybot_store_connection_checks_total{kind="connect",outcome="ok",platform="woocommerce"}' in text
    assert "trulybot_ws_sessions_open" in text and "trulybot_turns_total" in text
    assert 'trulybot_order_lookups_total{outcome="not_found"}' in text and 'trulybot_order_lookups_total{outcome="lockout"}' in text
    assert "/api/integrations/1" not in text  # routes are templates, never raw paths
    assert first


async def test_database_outage_is_503_with_retry_after_and_leaves_nothing_half_written(env, make_api, woo, monkeypatch):
    client = await make_api()
    merchant = env.merchant()
    # an outage in the middle of the connect transaction (after the store row was flushed)
    from sqlalchemy.exc import OperationalError

    import bot.services.connecting as integrations

    real = integrations.default_widget

    def broken(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(integrations, "default_widget", broken)
    resp = await client.post("/api/integrations/woocommerce/connect", headers=merchant.headers, json={
        "store_url": woo.url, "consumer_key": woo.key, "consumer_secret": woo.secret})
    body = await resp.json()
    assert resp.status == 503 and body["error"]["code"] == "database_unavailable"
    assert int(resp.headers["Retry-After"]) > 0
    assert env.query(lambda s: s.execute(select(StoreIntegration)).all()) == []
    monkeypatch.setattr(integrations, "default_widget", real)
    # the whole database gone: every route answers 503 JSON, /metrics still answers
    from bot import appkeys
    from bot.core.db import make_engine, make_sessionmaker

    from tests.support.ports import free_port

    missing = make_sessionmaker(make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/test",
                                            connect_args={"connect_timeout": 2}))
    monkeypatch.setitem(env.app._state, appkeys.DB_SESSIONS, missing)
    for method, path in [("GET", "/api/integrations"), ("GET", "/api/activities"), ("GET", "/api/integrations/1/widget")]:
        resp = await client.request(method, path, headers=merchant.headers)
        assert resp.status == 503, path
        assert resp.headers["Retry-After"] == "5"
        assert (await resp.json())["error"]["code"] == "database_unavailable"
    assert (await client.get("/metrics")).status == 200
