"""Settings: defaults need no server; every invalid value names its variable."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.settings import VARIABLES, Settings, SettingsError, load_settings
from bot.core.shared_secrets import with_secrets


def test_defaults_need_no_server():
    settings = load_settings({})
    assert settings.mode == "demo" and settings.demo
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite:///var/trulybot.db"
    assert settings.tracker_store_url == "sqlite:///var/rasa-tracker.db"
    assert settings.redis_url is None and settings.lock_store_url is None
    assert settings.action_endpoint_url == "http://127.0.0.1:5055/webhook"
    assert settings.public_url == "http://127.0.0.1:8000"


def test_values_are_read_and_derived():
    settings = load_settings({
        "TRULYBOT_PORT": "9000", "TRULYBOT_HOST": "0.0.0.0", "TRULYBOT_DATA_DIR": "/tmp/tb",
        "TRULYBOT_REDIS_URL": "redis://localhost:6379/2", "TRULYBOT_ACTIONS_PORT": "6000",
        "TRULYBOT_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
    })
    assert settings.port == 9000
    assert settings.public_url == "http://127.0.0.1:9000"
    assert settings.database_url == "sqlite:////tmp/tb/trulybot.db"
    assert settings.key_file == Path("/tmp/tb/keys.json")
    assert settings.lock_store_url == "redis://localhost:6379/2"
    assert settings.action_endpoint_url == "http://127.0.0.1:6000/webhook"
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.168.1.1/32"]


@pytest.mark.parametrize(
    "name, value, expects",
    [
        ("TRULYBOT_PORT", "eighty", "integer from 1 to 65535"),
        ("TRULYBOT_PORT", "70000", "integer from 1 to 65535"),
        ("TRULYBOT_MODE", "staging", "one of demo, production"),
        ("TRULYBOT_DATABASE_URL", "mysql://x@y/z", "sqlite:/// or postgresql://"),
        ("TRULYBOT_DATABASE_URL", "not a url", "sqlite:/// or postgresql://"),
        ("TRULYBOT_REDIS_URL", "http://localhost", "redis://"),
        ("TRULYBOT_CHANNEL_SECRET", "short", "at least 32 characters"),
        ("TRULYBOT_TRUSTED_PROXIES", "10.0.0.0/33", "CIDR"),
        ("TRULYBOT_PUBLIC_URL", "ftp://example.com", "http:// or https://"),
        ("TRULYBOT_LOG_LEVEL", "LOUD", "DEBUG"),
        ("TRULYBOT_DEMO_SHOPIFY_ORDERS", "/nonexistent/orders.json", "existing, readable JSON file"),
    ],
)
def test_invalid_values_name_the_variable(name, value, expects):
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert name in str(info.value)
    assert expects in str(info.value)


def test_all_problems_are_reported_at_once():
    with pytest.raises(SettingsError) as info:
        load_settings({"TRULYBOT_PORT": "x", "TRULYBOT_RASA_PORT": "0"})
    assert "TRULYBOT_PORT" in str(info.value) and "TRULYBOT_RASA_PORT" in str(info.value)


def test_secret_values_are_not_echoed():
    with pytest.raises(SettingsError) as info:
        load_settings({"TRULYBOT_CHANNEL_SECRET": "hunter2"})
    assert "hunter2" not in str(info.value)


def test_every_variable_is_documented_and_read():
    source = Path("bot/core/settings.py").read_text()
    documented = {v.name for v in VARIABLES}
    import re

    read = set(re.findall(r'read\.\w+\("(TRULYBOT_[A-Z_]+)"', source))
    assert read <= documented, read - documented
    readme = Path("README.md").read_text()
    missing = [name for name in documented if name not in readme]
    assert not missing, f"README configuration reference lacks {missing}"


def test_settings_round_trip_through_the_environment():
    settings = load_settings({"TRULYBOT_PORT": "8123", "TRULYBOT_TRUSTED_PROXIES": "10.1.0.0/16"})
    assert load_settings(settings.to_env()) == settings


def test_demo_secrets_are_generated_once(tmp_path):
    settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path)})
    first = with_secrets(settings)
    second = with_secrets(settings)
    assert first.channel_secret and len(first.channel_secret) >= 32
    assert first.channel_secret == second.channel_secret
    assert first.session_secret != first.channel_secret
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_production_requires_secrets(tmp_path):
    settings = load_settings({"TRULYBOT_MODE": "production", "TRULYBOT_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="TRULYBOT_CHANNEL_SECRET"):
        with_secrets(settings)
    assert not (tmp_path / "secrets.json").exists()


def test_settings_is_immutable():
    with pytest.raises(Exception):
        Settings().port = 1  # type: ignore[misc]


def test_new_session_budgets_reach_the_gateway(tmp_path):
    from bot.app import create_app
    from bot.gateway.config import LIMITS

    settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_NEW_SESSIONS_PER_STORE": "12345",
                              "TRULYBOT_NEW_SESSIONS_PER_ADDRESS": "7"})
    limits = create_app(settings)[LIMITS]
    assert (limits.new_sessions_per_store, limits.new_sessions_per_address) == (12345, 7)
    with pytest.raises(SettingsError):
        load_settings({"TRULYBOT_NEW_SESSIONS_PER_STORE": "0"})
