"""Demo mode listens on loopback unless told explicitly to listen further, and says it is demo mode."""
from __future__ import annotations

import pytest

from bot.core.settings import SettingsError, demo_exposure_problem, demo_notice, load_settings
from bot.process import cli


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "shop-host", "10.0.0.2"])
def test_demo_mode_refuses_a_non_loopback_interface(tmp_path, host):
    settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_HOST": host})
    problem = demo_exposure_problem(settings)
    assert problem and "TRULYBOT_DEMO_PUBLIC_BIND=1" in problem and "TRULYBOT_MODE=production" in problem


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_demo_mode_on_loopback_starts(tmp_path, host):
    assert demo_exposure_problem(load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_HOST": host})) is None


def test_the_explicit_flag_and_production_mode_allow_any_interface(tmp_path):
    base = {"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_HOST": "0.0.0.0"}
    flagged = load_settings({**base, "TRULYBOT_DEMO_PUBLIC_BIND": "1"})
    assert demo_exposure_problem(flagged) is None and "0.0.0.0" in demo_notice(flagged)
    production = load_settings({**base, "TRULYBOT_MODE": "production", "TRULYBOT_CHANNEL_SECRET": "c" * 40,
                                "TRULYBOT_SESSION_SECRET": "s" * 40})
    assert demo_exposure_problem(production) is None and demo_notice(production) is None
    assert flagged.to_env()["TRULYBOT_DEMO_PUBLIC_BIND"] == "1"
    with pytest.raises(SettingsError, match="TRULYBOT_DEMO_PUBLIC_BIND"):
        load_settings({**base, "TRULYBOT_DEMO_PUBLIC_BIND": "maybe"})


@pytest.mark.parametrize("command", ["serve", "up"])
def test_the_cli_stops_before_binding(tmp_path, monkeypatch, capsys, command):
    for name in list(__import__("os").environ):
        if name.startswith("TRULYBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRULYBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRULYBOT_HOST", "0.0.0.0")
    assert cli.main([command]) == 1
    err = capsys.readouterr().err
    assert "demo mode refuses to listen on TRULYBOT_HOST=0.0.0.0" in err
    assert not (tmp_path / "trulybot.db").exists()  # stopped before touching anything


def test_up_says_it_is_demo_mode(tmp_path, monkeypatch, capsys):
    """The notice comes before anything else ``up`` does (here it then stops: no model in the data dir)."""
    for name in list(__import__("os").environ):
        if name.startswith("TRULYBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRULYBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRULYBOT_MODEL_DIR", str(tmp_path / "no-models"))
    cli.main(["up"])
    assert "DEMO MODE on loopback only" in capsys.readouterr().out
