"""Fixtures for gateway tests: a migrated app database with three stores, a fake Rasa, app factory."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from aiohttp import web

from bot.app import create_app
from bot.gateway import LIMITS, GatewayLimits
from bot.core.settings import load_settings

ORIGIN_A = "https://shop-a.example"
ORIGIN_B = "https://shop-b.example"
CHANNEL_SECRET = "c" * 40
SESSION_SECRET = "s" * 40


def _seed(url: str) -> Dict[str, int]:
    from bot.core.db import Merchant, StoreIntegration, WidgetConfig, make_engine, make_sessionmaker
    from bot.core.db.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    ids: Dict[str, int] = {}
    with make_sessionmaker(engine).begin() as session:
        merchant = Merchant(name="Test Merchant", email="m@example.invalid")
        session.add(merchant)
        session.flush()
        for widget_id, platform, origin, status, enabled in (
            ("w-a", "woocommerce", ORIGIN_A, "active", True),
            ("w-b", "shopify", ORIGIN_B, "active", True),
            ("w-off", "woocommerce", ORIGIN_A, "disabled", True),
            ("w-hidden", "shopify", ORIGIN_A, "active", False),
        ):
            store = StoreIntegration(widget_id=widget_id, user_id=merchant.id, platform=platform,
                                     display_name=f"Store {widget_id}", config={}, status=status)
            store.widget = WidgetConfig(title=f"Help {widget_id}", greeting="Hi there!", allowed_origins=[origin],
                                        quick_replies=[{"title": "Track my order", "payload": "/track_order"}],
                                        locale="en", enabled=enabled)
            session.add(store)
            session.flush()
            ids[widget_id] = store.id
    engine.dispose()
    return ids


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("gwdb") / "template.db"
    ids = _seed(f"sqlite:///{path}")
    return path, ids


@pytest.fixture
def store_ids(template_db) -> Dict[str, int]:
    return template_db[1]


class FakeRasa:
    """The signed channel's two routes, scripted: echo, buttons, slow turns, outages."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.down = False
        self.empty = False
        self.delay = 0.0
        self.history: Dict[str, List[Dict[str, Any]]] = {}
        self.started = asyncio.Event()
        self.active = 0
        self.refused = 0
        from bot.core.signing import SignatureVerifier

        self.verifier = SignatureVerifier(CHANNEL_SECRET)
        self.max_active = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/trulybot/webhook", self.webhook)
        app.router.add_post("/webhooks/trulybot/history", self.history_route)
        app.router.add_get("/webhooks/trulybot/health", lambda r: web.json_response({"status": "ok"}))
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        if not self._verified(await request.read(), request):
            return web.json_response({"error": "unauthorized"}, status=401)
        data = await request.json()
        self.calls.append(data)
        self.started.set()
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await self._answer(data)
        finally:
            self.active -= 1

    async def _answer(self, data: Dict[str, Any]) -> web.Response:
        if self.down:
            return web.json_response({"error": "boom"}, status=500)
        text = data["message"]
        delay = self.delay
        if text.startswith("sleep "):
            delay = float(text.split()[1])
        if delay:
            await asyncio.sleep(delay)
        if self.empty:
            return web.json_response({"messages": []})
        if text == "buttons":
            messages = [{"text": "Pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]
        elif text == "order":
            messages = [{"text": "Here it is", "custom": {"type": "order", "order": {"number": "1001", "status": "shipped"}}}]
        else:
            messages = [{"text": f"echo: {text}"}]
        log = self.history.setdefault(data["sender"], [])
        log.append({"role": "user", "text": text, "timestamp": 1.0})
        log.extend({"role": "bot", **m, "timestamp": 2.0} for m in messages)
        return web.json_response({"messages": messages})

    def _verified(self, body: bytes, request: web.Request) -> bool:
        from bot.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError

        try:  # one verifier for both routes, like the real channel: replays are refused
            self.verifier.verify(body, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
            return True
        except SignatureError:
            self.refused += 1
            return False

    async def history_route(self, request: web.Request) -> web.Response:
        if not self._verified(await request.read(), request):
            return web.json_response({"error": "unauthorized"}, status=401)
        data = await request.json()
        if self.down:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"events": self.history.get(data["sender"], [])[-data["limit"]:]})


@pytest.fixture
async def fake_rasa(aiohttp_server):
    fake = FakeRasa()
    fake.server = await aiohttp_server(fake.app())
    fake.port = fake.server.port
    return fake


def gateway_settings(tmp_path: Path, template: Path, rasa_port: int, **env: str):
    db = tmp_path / "trulybot.db"
    if not db.exists():
        shutil.copy(template, db)
    return load_settings({
        "TRULYBOT_DATA_DIR": str(tmp_path),
        "TRULYBOT_DATABASE_URL": f"sqlite:///{db}",
        "TRULYBOT_RASA_PORT": str(rasa_port),
        "TRULYBOT_CHANNEL_SECRET": CHANNEL_SECRET,
        "TRULYBOT_SESSION_SECRET": SESSION_SECRET,
        **env,
    })


@pytest.fixture
def make_app(tmp_path, template_db, fake_rasa) -> Callable[..., web.Application]:
    def factory(limits: Optional[GatewayLimits] = None, **env: str) -> web.Application:
        app = create_app(gateway_settings(tmp_path, template_db[0], fake_rasa.port, **env))
        if limits is not None:
            app[LIMITS] = limits
        return app

    return factory


@pytest.fixture
async def client(aiohttp_client, make_app):
    return await aiohttp_client(make_app())
