"""Plain ``rasa run`` and ``rasa run actions`` from the repository root, with no TRULYBOT_* variable
(endpoints.yml needs none), and ``rasa shell`` messages answered as the demo WooCommerce store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support.ports import free_port
from tests.support.stack import PROJECT

pytestmark = pytest.mark.slow


def _clean_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRULYBOT_")}
    # only the data directory moves, so the test does not write into the repository's var/
    env.update(TRULYBOT_DATA_DIR=str(data_dir), RASA_TELEMETRY_ENABLED="false", PYTHONUNBUFFERED="1")
    return env


def _wait(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}:\n{process.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def _start(argv, env) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_rasa_run_actions_answers_shell_messages_as_the_demo_store(tmp_path):
    env = _clean_env(tmp_path)
    seeded = subprocess.run([sys.executable, "-m", "bot.process.cli", "demo", "seed"], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    actions = _start([sys.executable, "-m", "rasa", "run", "actions", "--port", str(port)], env)
    try:
        _wait(f"http://127.0.0.1:{port}/health", actions, 120)
        call = {
            "next_action": "action_greet",
            "sender_id": "shell-user",
            "tracker": {"sender_id": "shell-user", "slots": {}, "latest_message": {"text": "hi", "intent": {"name": "greet"}},
                        "events": [{"event": "user", "text": "hi", "input_channel": "cmdline", "parse_data": {}}],
                        "paused": False, "latest_event_time": None, "followup_action": None,
                        "active_loop": {}, "latest_action_name": None},
            "domain": {},
        }
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=json.dumps(call).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            body = json.loads(resp.read())
        assert "Demo Outfitters" in body["responses"][0]["text"], body
    finally:
        _stop(actions)


def test_rasa_run_starts_from_the_repository_root_with_defaults(rasa_model_path, tmp_path):
    port = free_port()
    rasa = _start([sys.executable, "-m", "rasa", "run", "--port", str(port), "--model", str(rasa_model_path)],
                  _clean_env(tmp_path))
    try:
        _wait(f"http://127.0.0.1:{port}/webhooks/trulybot/health", rasa, 400)
    finally:
        _stop(rasa)
