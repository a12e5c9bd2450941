"""Fixtures for the plugin tests: fast HTTP clients and in-process emulators."""
from __future__ import annotations

from typing import AsyncIterator

import pytest

from plugins.http import StoreHttpClient
from plugins.manager import reset_plugin_manager
from plugins.testing import RunningEmulator, running_emulator
from tests.plugins.factories import FAST

@pytest.fixture(autouse=True)
def _fresh_plugin_manager(monkeypatch: pytest.MonkeyPatch):
    """Each test sees the default plugin selection and a freshly built manager."""
    monkeypatch.delenv("TRULYBOT_PLUGINS", raising=False)
    monkeypatch.delenv("TRULYBOT_DISABLED_PLUGINS", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture
async def http() -> AsyncIterator[StoreHttpClient]:
    client = StoreHttpClient(**FAST)
    yield client
    await client.close()


@pytest.fixture
async def woo() -> AsyncIterator[RunningEmulator]:
    async with running_emulator("woocommerce") as emulator:
        yield emulator


@pytest.fixture
async def shopify() -> AsyncIterator[RunningEmulator]:
    async with running_emulator("shopify") as emulator:
        yield emulator
