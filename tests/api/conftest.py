"""Fixtures of the merchant API tests: a migrated SQLite database, the bot service app with the API,
the store emulators (with the wc-auth / OAuth add-ons) on aiohttp test servers, merchants."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Dict, Optional

import pytest
from aiohttp import web

from bot.api.auth import create_merchant
from bot.services.keys import API_CONFIG, STORE_HTTP
from bot.app import create_app
from bot.core.db import make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from bot.core.settings import load_settings

SHOPIFY_KEY = "test-shopify-app"
SHOPIFY_SECRET = "test-shopify-secret-0123456789abcdef"


@dataclasses.dataclass
class Merchant:
    id: int
    token: str

    @property
    def headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Env:
    """One test's database, settings and helpers."""

    def __init__(self, tmp_path: Any, db_url: Optional[str] = None) -> None:
        self.tmp_path = tmp_path
        self.db_url = db_url or f"sqlite:///{tmp_path}/trulybot.db"
        upgrade(self.db_url)
        self.settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_DATABASE_URL": self.db_url,
                                       "TRULYBOT_PUBLIC_URL": "http://127.0.0.1:9"})
        self.engine = make_engine(self.db_url)
        self.sessions = make_sessionmaker(self.engine)
        self.app: Optional[web.Application] = None

    def merchant(self, name: str = "Shop Owner", email: Optional[str] = None) -> Merchant:
        with self.sessions.begin() as session:
            merchant, token = create_merchant(session, name, email)
            return Merchant(merchant.id, token)

    def query(self, fn: Callable[[Any], Any]) -> Any:
        with self.sessions.begin() as session:
            return fn(session)


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.engine.dispose()


@pytest.fixture
def pg_env(tmp_path):
    """Like ``env`` on a fresh PostgreSQL database (created and dropped around the test)."""
    import uuid

    from sqlalchemy import create_engine, text

    from tests.support.servers import require_postgres

    base = require_postgres()
    name = "trulybot_api_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    e = Env(tmp_path, base.rsplit("/", 1)[0] + "/" + name)
    try:
        yield e
    finally:
        e.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def make_api(request, aiohttp_client):
    """Build the bot service with the API and return a test client; ``public`` is filled in."""

    env = request.getfixturevalue("pg_env" if "pg_env" in request.fixturenames else "env")

    async def build(app_setup: Optional[Callable[[web.Application], None]] = None, **config_overrides: Any):
        from plugins.http import StoreHttpClient
        from plugins.netguard import AddressPolicy

        app = create_app(env.settings)
        app[STORE_HTTP] = StoreHttpClient(max_retries=0, jitter=False, total_timeout=5, connect_timeout=2,
                                          policy=AddressPolicy.for_tests())
        config = app[API_CONFIG]
        config.health_check_enabled = False
        config.app_settings.setdefault("shopify", {}).update(api_key=SHOPIFY_KEY, api_secret=SHOPIFY_SECRET)
        for platform, values in config_overrides.pop("app_settings", {}).items():  # merged per platform
            config.app_settings.setdefault(platform, {}).update(values)
        for key, value in config_overrides.items():
            setattr(config, key, value)
        if app_setup is not None:
            app_setup(app)
        client = await aiohttp_client(app)
        config.public_url = str(client.make_url("")).rstrip("/")
        env.app = app
        return client

    return build


@pytest.fixture
async def woo(aiohttp_server):
    """The WooCommerce emulator with the wc-auth / webhooks add-on."""
    from plugins.woocommerce import emulator
    from plugins.woocommerce.emulator_auth import install

    server = await aiohttp_server(install(emulator.create_app()))
    server.url = str(server.make_url("")).rstrip("/")
    server.key = emulator.DEMO_CONSUMER_KEY
    server.secret = emulator.DEMO_CONSUMER_SECRET
    return server


@pytest.fixture
def log_records(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
async def shop(aiohttp_server):
    """The Shopify emulator (OAuth built in) with the webhook-subscription add-on, using the test app."""
    from plugins.shopify import emulator
    from plugins.shopify.emulator_webhooks import install

    server = await aiohttp_server(install(emulator.create_app(api_key=SHOPIFY_KEY, api_secret=SHOPIFY_SECRET)))
    server.url = str(server.make_url("")).rstrip("/")
    server.domain = emulator.DEMO_SHOP_DOMAIN
    return server
