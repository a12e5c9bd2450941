"""`trulybot up`: the real process tree on free ports — health, a turn, supervision, clean stop."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.rasa.client import RasaClient
from bot.core.settings import load_settings
from bot.core.shared_secrets import with_secrets
from tests.support.stack import PROJECT, TRULYBOT, Stack, pid_alive, stack_env

pytestmark = pytest.mark.slow


def _wait_health(stack: Stack, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = stack.get("/health")
        if status == 200 or time.monotonic() > deadline:
            return {"status_code": status, **json.loads(body or b"{}")}
        time.sleep(0.5)


def _child_named(stack: Stack, fragment: str) -> int:
    for pid in stack.children():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if fragment in cmdline:
            return pid
    raise AssertionError(f"no child running {fragment!r}: {stack.children()}")


async def _turn(env: dict, text: str, metadata: dict) -> list:
    settings = with_secrets(load_settings(env))
    async with aiohttp.ClientSession() as session:
        return await RasaClient(settings.rasa_url, settings.channel_secret, session).send("stack-test", text, metadata)


async def _widget_turn(stack: Stack, widget_id: str, text: str) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(stack.ws_url, headers={"Origin": stack.base_url}) as ws:
            await ws.send_json({"type": "hello", "widget_id": widget_id, "session": None, "locale": "en"})
            welcome = await ws.receive_json(timeout=10)
            assert welcome["type"] == "welcome", welcome
            await ws.send_json({"type": "message", "id": "w1", "text": text})
            while True:
                frame = await ws.receive_json(timeout=30)
                if frame["type"] != "typing":
                    return frame


def test_up_serves_supervises_and_stops_cleanly(rasa_model_path, tmp_path):
    stack = Stack(stack_env(tmp_path, TRULYBOT_RESTART_LIMIT="2"))
    try:
        banner = stack.wait_ready()
        assert stack.base_url in banner and "/health" in banner
        health = _wait_health(stack)
        assert health["status_code"] == 200, health
        assert set(health["components"]) == {"database", "rasa", "action_server"}

        # A first turn through the signed channel reaches the action server (store name from metadata).
        replies = asyncio.run(_turn(stack.env, "hello", {"store_name": "Stack Test Store"}))
        assert any("Stack Test Store" in r["text"] for r in replies), replies

        # And the same as a shopper: a first websocket turn on a demo widget.
        frame = asyncio.run(_widget_turn(stack, "demo-woocommerce", "hello"))
        assert frame["type"] == "bot" and frame["reply_to"] == "w1", frame
        assert "Demo Outfitters" in frame["messages"][0]["text"], frame

        # An unsigned request is refused by Rasa's channel.
        import urllib.request, urllib.error
        request = urllib.request.Request(stack.rasa_url + "/webhooks/trulybot/webhook", data=b'{"sender":"x","message":"hi"}',
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401

        # A crashed child is reported with its last lines and restarted.
        actions_pid = _child_named(stack, "actions.server")
        os.kill(actions_pid, signal.SIGKILL)
        stack.wait_for_line("actions died unexpectedly (signal 9)", timeout=20)
        stack.wait_for_line("actions is healthy again", timeout=60)
        assert _wait_health(stack)["status_code"] == 200

        children = stack.children()
        emulators = banner.count("-emulator http")
        assert len(children) == 3 + emulators, stack.tail()
    finally:
        started = time.monotonic()
        code = stack.stop()
        elapsed = time.monotonic() - started
    assert code == 0, stack.tail()
    assert elapsed < 10.5, f"stopping took {elapsed:.1f} s"
    time.sleep(0.2)
    assert [pid for pid in children if pid_alive(pid)] == []
    assert "all processes stopped" in stack.output


def test_child_past_restart_limit_stops_the_whole_stack(rasa_model_path, tmp_path):
    stack = Stack(stack_env(tmp_path, TRULYBOT_RESTART_LIMIT="0"))
    try:
        stack.wait_ready()
        children = stack.children()
        os.kill(_child_named(stack, "bot.process.cli serve"), signal.SIGKILL)
        code = stack.process.wait(20)
    finally:
        if stack.process.poll() is None:
            stack.stop()
    assert code == 1
    assert "restart limit (0) reached" in stack.output
    time.sleep(0.2)
    assert [pid for pid in children if pid_alive(pid)] == []


def _run_up(env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(TRULYBOT + ["up"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout)


def test_occupied_port_stops_with_one_clear_line(rasa_model_path, tmp_path):
    env = stack_env(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", int(env["TRULYBOT_PORT"])))
        sock.listen()
        result = _run_up(env)
    assert result.returncode != 0
    assert f"port {env['TRULYBOT_PORT']} (TRULYBOT_PORT)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_production_without_key_stops(rasa_model_path, tmp_path):
    env = stack_env(tmp_path, TRULYBOT_MODE="production", TRULYBOT_CHANNEL_SECRET="c" * 40, TRULYBOT_SESSION_SECRET="s" * 40)
    result = _run_up(env)
    assert result.returncode != 0
    assert "no encryption key" in result.stderr and "TRULYBOT_ENCRYPTION_KEYS" in result.stderr
    assert not (tmp_path / "keys.json").exists()
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_database_url_stops(rasa_model_path, tmp_path):
    result = _run_up(stack_env(tmp_path, TRULYBOT_DATABASE_URL="postgres:/://nope"))
    assert result.returncode != 0
    assert "TRULYBOT_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_that_does_not_answer_stops(rasa_model_path, tmp_path):
    result = _run_up(stack_env(tmp_path, TRULYBOT_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"))
    assert result.returncode != 0
    assert "cannot migrate the database at TRULYBOT_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_model_stops(rasa_model_path, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "trulybot-0000.tar.gz").write_bytes(b"\x1f\x8b garbage")
    result = _run_up(stack_env(tmp_path, TRULYBOT_MODEL_DIR=str(models)))
    assert result.returncode != 0
    assert "corrupt" in result.stderr and "make train" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_python_is_refused(tmp_path):
    import shutil

    python311 = shutil.which("python3.11") or "/usr/bin/python3"
    if not os.path.exists(python311):
        pytest.skip("no other Python to try")
    result = subprocess.run(["make", "-s", "setup", f"VENV={tmp_path}/venv"], cwd=PROJECT, capture_output=True, text=True,
                            env={**os.environ, "PYTHON310": python311, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "needs Python 3.10" in result.stderr


def test_stack_on_postgresql_and_redis(rasa_model_path, tmp_path):
    """The scale-out configuration: app database and tracker store on PostgreSQL, locks on Redis."""
    from sqlalchemy import create_engine, text

    from tests.support.servers import require_postgres, require_redis

    base, redis_url = require_postgres(), require_redis()
    name = "tb_stack_" + os.urandom(4).hex()
    admin = create_engine(base, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    stack = Stack(stack_env(tmp_path, TRULYBOT_DATABASE_URL=url, TRULYBOT_TRACKER_STORE_URL=url, TRULYBOT_REDIS_URL=redis_url))
    try:
        stack.wait_ready()
        assert _wait_health(stack)["status_code"] == 200
        frame = asyncio.run(_widget_turn(stack, "demo-shopify", "where is order 1003 noah.wilson@example.com"))
        cards = [m for m in frame["messages"] if (m.get("custom") or {}).get("type") == "order"]
        assert cards and cards[0]["custom"]["order"]["number"] == "1003", frame
        check = create_engine(url, future=True)
        with check.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM events")).scalar_one() > 0  # Rasa's tracker events
            assert connection.execute(text("SELECT count(*) FROM user_activities")).scalar_one() > 0
        check.dispose()
    finally:
        assert stack.stop() == 0, stack.tail()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
