"""``/metrics``: bearer token or direct loopback only; database gauges cached between scrapes."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

import bot.services.metrics as metrics
from bot import appkeys

TOKEN = "m" * 40


def _with_token(token):
    def setup(app):
        app[appkeys.SETTINGS] = dataclasses.replace(app[appkeys.SETTINGS], metrics_token=token)
    return setup


async def test_without_a_token_only_direct_loopback_peers_may_scrape(make_api):
    client = await make_api()
    assert (await client.get("/metrics")).status == 200  # the test client connects over loopback
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
        resp = await client.get("/metrics", headers=header)  # relayed by a proxy: a public request
        assert resp.status == 401, header
        assert "trulybot_" not in await resp.text()


async def test_with_a_token_the_bearer_is_required(make_api):
    client = await make_api(app_setup=_with_token(TOKEN))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Bearer " + TOKEN[:-1]},
                    {"Authorization": "Bearer " + TOKEN + "x"}, {"Authorization": "Bearer é" + TOKEN}):
        resp = await client.get("/metrics", headers=headers)
        assert resp.status == 401, headers
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "trulybot_" not in await resp.text()
    resp = await client.get("/metrics", headers={"Authorization": "Bearer " + TOKEN, "X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 200 and "trulybot_http_requests_total" in await resp.text()


async def test_database_gauges_are_read_once_per_refresh_interval(make_api, monkeypatch):
    calls = []
    real = metrics.update_store_gauges

    def counted(session):
        calls.append(1)
        real(session)

    monkeypatch.setattr(metrics, "update_store_gauges", counted)
    client = await make_api(metrics_refresh_seconds=3600)
    statuses = await asyncio.gather(*(client.get("/metrics") for _ in range(5)))
    assert [r.status for r in statuses] == [200] * 5
    assert (await client.get("/metrics")).status == 200
    assert len(calls) == 1


async def test_a_zero_interval_reads_every_scrape(make_api, monkeypatch):
    calls = []
    monkeypatch.setattr(metrics, "update_store_gauges", lambda session: calls.append(1))
    client = await make_api(metrics_refresh_seconds=0)
    for _ in range(3):
        assert (await client.get("/metrics")).status == 200
    assert len(calls) == 3


def test_the_token_setting_needs_32_characters(tmp_path):
    from bot.core.settings import SettingsError, load_settings

    assert load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_METRICS_TOKEN": TOKEN}).metrics_token == TOKEN
    with pytest.raises(SettingsError, match="TRULYBOT_METRICS_TOKEN"):
        load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_METRICS_TOKEN": "short"})
