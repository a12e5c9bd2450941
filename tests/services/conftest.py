"""Fixtures of the service-layer tests: the API test environment (migrated SQLite, the bot service app,
store emulators) whose application the service functions are called on directly."""
from __future__ import annotations

from tests.api.conftest import Env, Merchant, env, make_api, woo  # noqa: F401 - fixtures
