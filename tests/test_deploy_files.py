"""The deployment files stay in lock-step with the code: compose.yaml, Dockerfile, deploy/haproxy.cfg
(the balancer config the replica tests run) and the Prometheus rules (rules/trulybot.yml)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Set

import pytest
import yaml

from bot.core.settings import VARIABLES, load_settings
from bot.process.cli import build_parser
from bot.process.supervisor import BALANCER_CONFIG, build_children

PROJECT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((PROJECT / "compose.yaml").read_text())
HAPROXY_CFG = (PROJECT / BALANCER_CONFIG).read_text()
CFG_VARIABLES = set(re.findall(r"\$\{(\w+)\}", HAPROXY_CFG))
SETTINGS_VARIABLES = {v.name for v in VARIABLES}
RASA_VARIABLES = {"TICKET_LOCK_LIFETIME"}  # read by Rasa's lock store


def _env(service: str) -> Dict[str, str]:
    return {k: str(v) for k, v in (COMPOSE["services"][service].get("environment") or {}).items()}


def _required(tool: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{tool} is not installed, and CI=true requires it (.ci/run installs it)")
    pytest.skip(f"{tool} is not installed (Debian package: {'haproxy' if tool == 'haproxy' else 'prometheus'})")


def test_compose_has_the_tested_topology():
    services = set(COMPOSE["services"])
    assert services == {"postgres", "redis", "migrate", "actions", "rasa-1", "rasa-2", "bot-1", "bot-2", "balancer"}
    balancer = COMPOSE["services"]["balancer"]
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]


def test_every_trulybot_variable_in_compose_exists_in_settings():
    for name, service in COMPOSE["services"].items():
        if name == "balancer":
            continue
        for variable in service.get("environment") or {}:
            if variable.startswith("TRULYBOT_"):
                assert variable in SETTINGS_VARIABLES, f"{name}: {variable} is not in bot/core/settings.py"
            elif name not in ("postgres",):
                assert variable in RASA_VARIABLES, f"{name}: unexpected variable {variable}"


def test_compose_settings_load_and_ports_match_the_balancer():
    env = {k: v for k, v in _env("bot-1").items()}
    env = {k: re.sub(r"\$\{[^}]+\}", "x" * 40, v) for k, v in env.items()}
    env["TRULYBOT_ENCRYPTION_KEYS"] = "k1:" + "A" * 43 + "="
    env["TRULYBOT_PUBLIC_URL"] = "https://chat.example.com"
    env["TRULYBOT_TRUSTED_PROXIES"] = "172.16.0.0/12"
    settings = load_settings(env)
    balancer = _env("balancer")
    assert set(balancer) == CFG_VARIABLES, "balancer environment and deploy/haproxy.cfg variables differ"
    # the bot services reach Rasa through the balancer's Rasa frontend
    assert f"{settings.rasa_host}" == "balancer" and balancer["TRULYBOT_LB_RASA"].endswith(f":{settings.rasa_port}")
    assert balancer["TRULYBOT_LB_PUBLIC"].endswith(f":{settings.port}")
    for index in (1, 2):
        bot_host, bot_port = balancer[f"TRULYBOT_BOT_{index}"].split(":")
        assert bot_host == f"bot-{index}" and bot_port == _env(f"bot-{index}")["TRULYBOT_PORT"]
        rasa_host, rasa_port = balancer[f"TRULYBOT_RASA_{index}"].split(":")
        command = COMPOSE["services"][rasa_host]["command"]
        assert command[command.index("--port") + 1] == rasa_port
    actions = COMPOSE["services"]["actions"]["command"]
    assert actions[actions.index("--port") + 1] == str(settings.actions_port)
    assert settings.action_endpoint_url == f"http://{settings.actions_host}:{settings.actions_port}/webhook"


def test_compose_commands_exist():
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        if not command or service.get("image", "").startswith(("postgres", "redis", "haproxy")):
            continue
        if command[0] == "trulybot":
            assert command[1] in subcommands, f"{name}: trulybot {command[1]} does not exist"
        else:
            assert command[:2] == ["python", "-m"], command
            module = PROJECT / (command[2].replace(".", "/") + ".py")
            assert module.is_file(), f"{name}: {command[2]} does not exist"
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert "trulybot train" in dockerfile and 'CMD ["trulybot", "serve"]' in dockerfile


def test_supervisor_replicas_fill_every_balancer_variable(tmp_path):
    settings = load_settings({"TRULYBOT_DATA_DIR": str(tmp_path), "TRULYBOT_REDIS_URL": "redis://127.0.0.1:6379/0"})
    specs = build_children(settings, tmp_path / "model.tar.gz", PROJECT, emulators=False, replicas=2)
    names = [s.name for s in specs]
    assert names == ["actions", "rasa-1", "bot-1", "rasa-2", "bot-2", "balancer"]
    balancer = specs[-1]
    assert set(balancer.env) == CFG_VARIABLES
    assert str(PROJECT / BALANCER_CONFIG) in balancer.argv


def test_haproxy_accepts_the_balancer_config():
    haproxy = _required("haproxy")
    env = {**os.environ, **{name: "127.0.0.1:1" for name in CFG_VARIABLES}}
    env.update(TRULYBOT_LB_PUBLIC="127.0.0.1:2", TRULYBOT_LB_RASA="127.0.0.1:3")
    result = subprocess.run([haproxy, "-c", "-f", str(PROJECT / BALANCER_CONFIG)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules():
    promtool = _required("promtool")
    result = subprocess.run([promtool, "check", "rules", str(PROJECT / "rules" / "trulybot.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _exported_names() -> Set[str]:
    """Metric names the bot service's and the action server's /metrics expose."""
    from prometheus_client import REGISTRY, generate_latest

    import bot.services.metrics  # noqa: F401 - registers the bot service's metrics
    from actions.metrics import REGISTRY as ACTIONS_REGISTRY

    text = generate_latest(REGISTRY).decode() + generate_latest(ACTIONS_REGISTRY).decode()
    return set(re.findall(r"^# TYPE (\w+) ", text, re.M))


def test_alert_rules_use_only_exported_metrics():
    rules = yaml.safe_load((PROJECT / "rules" / "trulybot.yml").read_text())
    exported = _exported_names()
    used = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            used |= set(re.findall(r"\b(trulybot_\w+)", rule["expr"]))
    assert used
    for name in used:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in exported or base in exported or base.removesuffix("_total") in exported, f"{name} is not exported"
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    for needed in ("TrulyBotDown", "TrulyBotStoreErrors", "TrulyBotLookupFailures", "TrulyBotLockouts", "TrulyBotRasaSlow"):
        assert needed in alerts
