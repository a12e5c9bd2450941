"""Stores written by the three-column schema survive the move to one credential map.

A database is migrated to the revision before the map, stores are written with ``tb1`` values
exactly as the earlier code wrote them, then the database is upgraded and read back; rotation
moves them to the current format, and downgrading works while values are still ``tb1``.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, select, text

from bot.core.crypto import KeyRing
from bot.core.db import StoreIntegration, make_engine, make_sessionmaker
from bot.core.db.migrate import upgrade
from bot.services.credentials import get_credentials, reencrypt_all, set_credentials
from bot.services.key_usage import usage
from tests.support.legacy_crypto import legacy_encrypt
from tests.support.servers import require_postgres

BEFORE_MAP = "0005"
OLD_STORES = [
    ("w_woo", "woocommerce", {"consumer_key_encrypted": "ck_live_1", "consumer_secret_encrypted": "cs_live_1"}),
    ("w_shop", "shopify", {"access_token_encrypted": "shpat_live_2"}),
    ("w_empty", "woocommerce", {}),
]


def _old_database(url: str, ring: KeyRing) -> None:
    upgrade(url, BEFORE_MAP)
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO merchants (id, name, created_at) VALUES (1, 'm', CURRENT_TIMESTAMP)"))
        for i, (widget_id, platform, columns) in enumerate(OLD_STORES, start=1):
            values = {c: legacy_encrypt(ring, plain, widget_id, c) for c, plain in columns.items()}
            names = ", ".join(["id", "user_id", "widget_id", "platform", "display_name", "config", "status",
                               "created_at", "updated_at", *values])
            params = ", ".join([":id", "1", ":wid", ":platform", "'old'", "'{}'", "'active'",
                                "CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP", *(f":{c}" for c in values)])
            connection.execute(text(f"INSERT INTO store_integrations ({names}) VALUES ({params})"),
                               {"id": i, "wid": widget_id, "platform": platform, **values})
        connection.execute(text("UPDATE store_integrations SET last_error = 'store_auth: credentials rejected by the store' "
                                "WHERE widget_id = 'w_woo'"))
        connection.execute(text("UPDATE store_integrations SET last_error = 'something odd' WHERE widget_id = 'w_shop'"))
    engine.dispose()


def _plain(columns):
    return {c.replace("_encrypted", ""): v for c, v in columns.items()}


def _check(url: str) -> None:
    ring = KeyRing.generate()
    _old_database(url, ring)
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as session:
        stores = {s.widget_id: s for s in session.execute(select(StoreIntegration)).scalars()}
        for widget_id, _, columns in OLD_STORES:
            assert get_credentials(stores[widget_id], ring) == _plain(columns)
            assert all(v.startswith("tb1:") for v in stores[widget_id].credentials_encrypted.values())
        assert usage(session) == {ring.current: 3}  # the values still stored, counted at migration
        assert (stores["w_woo"].last_error_code, stores["w_woo"].last_error) == ("store_auth", "credentials rejected by the store")
        assert (stores["w_shop"].last_error_code, stores["w_shop"].last_error) == ("store_error", "something odd")
        assert stores["w_empty"].last_error_code is None
    new = ring.with_new_key()
    assert reencrypt_all(sessions, new) == 3
    only_new = KeyRing(keys={new.current: new.keys[new.current]}, current=new.current)
    with sessions() as session:
        for store in session.execute(select(StoreIntegration)).scalars():
            columns = dict(OLD_STORES[[w for w, _, _ in OLD_STORES].index(store.widget_id)][2])
            assert get_credentials(store, only_new) == _plain(columns)
            assert all(v.startswith(f"tb2:{new.current}:") for v in store.credentials_encrypted.values())
    sessions.kw["bind"].dispose()


def test_old_sqlite_database_keeps_every_store_readable(tmp_path):
    _check(f"sqlite:///{tmp_path}/old.db")


def test_old_postgresql_database_keeps_every_store_readable():
    base_url = require_postgres()
    name = "tb_credmap_" + uuid.uuid4().hex[:8]
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check(base_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_downgrade_restores_columns_and_refuses_newer_values(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    ring = KeyRing.generate()
    _old_database(url, ring)
    upgrade(url)
    from alembic import command
    from bot.core.db.migrate import alembic_config

    command.downgrade(alembic_config(url), BEFORE_MAP)
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT consumer_key_encrypted, access_token_encrypted FROM store_integrations WHERE widget_id='w_woo'")).one()
    assert row[0].startswith("tb1:") and row[1] is None
    engine.dispose()
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions.begin() as session:
        store = session.execute(select(StoreIntegration).where(StoreIntegration.widget_id == "w_empty")).scalar_one()
        set_credentials(store, ring, {"api_key": "new-style"})
    sessions.kw["bind"].dispose()
    with pytest.raises(RuntimeError, match="downgrade refused"):
        command.downgrade(alembic_config(url), BEFORE_MAP)


def test_cli_rotate_reencrypts_migrated_stores_and_reports_counts(tmp_path, monkeypatch, capsys):
    """``trulybot keys rotate`` on a migrated database, then ``keys status`` shows both keys' counts."""
    from bot.process.cli import main

    url = f"sqlite:///{tmp_path}/trulybot.db"
    ring = KeyRing.generate()
    ring.save(tmp_path / "keys.json")
    _old_database(url, ring)
    monkeypatch.setenv("TRULYBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRULYBOT_DATABASE_URL", url)
    monkeypatch.delenv("TRULYBOT_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("TRULYBOT_KEY_FILE", str(tmp_path / "keys.json"))
    assert main(["keys", "rotate"]) == 0
    assert "re-encrypted 3 value(s)" in capsys.readouterr().out
    rotated = KeyRing.from_file(tmp_path / "keys.json")
    assert rotated.current != ring.current and ring.current in rotated.keys
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert f"{ring.current}\t3 of {2 ** 32} encryptions" in out
    assert f"{rotated.current}\t3 of {2 ** 32} encryptions\t(current)" in out
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as session:
        for store in session.execute(select(StoreIntegration)).scalars():
            assert all(v.startswith(f"tb2:{rotated.current}:") for v in store.credentials_encrypted.values())
    sessions.kw["bind"].dispose()
