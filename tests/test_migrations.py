"""Alembic migrations bring an empty SQLite or PostgreSQL database to head, matching the models."""
from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from bot.core.db.migrate import alembic_config, current_revision, upgrade
from bot.core.db.models import Base
from tests.support.servers import require_postgres

TABLES = {"merchants", "merchant_tokens", "store_integrations", "widget_configs", "user_activities", "lookup_attempts",
          "encryption_key_usage"}


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _assert_at_head_and_matches_models(url: str) -> None:
    assert current_revision(url) == _head()
    engine = create_engine(url, future=True)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        columns = {c["name"] for c in inspect(engine).get_columns("store_integrations")}
        assert {"user_id", "platform", "status", "shop_domain", "store_url", "credentials_encrypted",
                "config", "created_at", "updated_at"} <= columns
        assert not {"consumer_key_encrypted", "consumer_secret_encrypted", "access_token_encrypted"} & columns
    finally:
        engine.dispose()


def test_upgrade_empty_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    upgrade(url)
    _assert_at_head_and_matches_models(url)
    upgrade(url)  # a second run is a no-op
    assert current_revision(url) == _head()


def test_upgrade_empty_postgresql():
    base_url = require_postgres()
    name = "tb_migr_" + uuid.uuid4().hex[:8]
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base_url.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        _assert_at_head_and_matches_models(url)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
