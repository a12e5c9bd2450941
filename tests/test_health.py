"""GET /health (contract C3) against real and missing components."""
from __future__ import annotations

import pytest
from aiohttp import web

from bot.app import create_app
from bot.core.settings import load_settings
from tests.support.ports import free_port


async def _fake_component(aiohttp_server, path: str, status: int = 200):
    app = web.Application()
    app.router.add_get(path, lambda request: web.json_response({"status": "ok"}, status=status))
    return await aiohttp_server(app)


def _settings(tmp_path, rasa_port: int, actions_port: int):
    return load_settings({
        "TRULYBOT_DATA_DIR": str(tmp_path),
        "TRULYBOT_RASA_PORT": str(rasa_port),
        "TRULYBOT_ACTIONS_PORT": str(actions_port),
    })


async def test_health_ok_when_every_component_answers(aiohttp_client, aiohttp_server, tmp_path):
    rasa = await _fake_component(aiohttp_server, "/webhooks/trulybot/health")
    actions = await _fake_component(aiohttp_server, "/health")
    client = await aiohttp_client(create_app(_settings(tmp_path, rasa.port, actions.port)))
    resp = await client.get("/health")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "rasa", "action_server"}
    assert all(c["status"] == "ok" for c in body["components"].values())


async def test_health_503_names_missing_components(aiohttp_client, aiohttp_server, tmp_path):
    actions = await _fake_component(aiohttp_server, "/health")
    client = await aiohttp_client(create_app(_settings(tmp_path, free_port(), actions.port)))
    resp = await client.get("/health")
    body = await resp.json()
    assert resp.status == 503
    assert body["failing"] == ["rasa"]
    assert body["components"]["rasa"]["status"] == "error"
    assert body["components"]["action_server"]["status"] == "ok"


async def test_health_503_when_rasa_is_still_loading(aiohttp_client, aiohttp_server, tmp_path):
    rasa = await _fake_component(aiohttp_server, "/webhooks/trulybot/health", status=503)
    client = await aiohttp_client(create_app(_settings(tmp_path, rasa.port, free_port())))
    body = await (await client.get("/health")).json()
    assert body["failing"] == ["rasa", "action_server"]


async def test_health_503_when_database_is_unreachable(aiohttp_client, aiohttp_server, tmp_path):
    rasa = await _fake_component(aiohttp_server, "/webhooks/trulybot/health")
    actions = await _fake_component(aiohttp_server, "/health")
    settings = load_settings({
        "TRULYBOT_DATA_DIR": str(tmp_path),
        "TRULYBOT_RASA_PORT": str(rasa.port),
        "TRULYBOT_ACTIONS_PORT": str(actions.port),
        "TRULYBOT_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
    })
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/health")
    body = await resp.json()
    assert resp.status == 503 and body["failing"] == ["database"]
    assert "Traceback" not in await resp.text()


async def test_favicon_is_served_for_every_page(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(_settings(tmp_path, free_port(), free_port())))
    resp = await client.get("/favicon.ico")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert (await resp.text()).lstrip().startswith("<svg")
    demo = await client.get("/demo")
    assert demo.status == 200 and 'rel="icon" href="/favicon.ico"' in await demo.text()
