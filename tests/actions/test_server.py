"""The action server process: rasa_sdk's endpoints plus /metrics, bound to the configured interface."""
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


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_health_webhook_and_metrics(tmp_path):
    port = free_port()
    env = {**os.environ, "TRULYBOT_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "actions.server", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(base + "/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and process.poll() is None, "action server did not start"
                time.sleep(0.3)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        status, body = _get(base + "/metrics")
        assert status == 200 and "trulybot_actions_order_lookups_total" in body
        request = urllib.request.Request(base + "/webhook", data=json.dumps({"next_action": "action_greet", "tracker": {
            "sender_id": "x", "slots": {}, "latest_message": {"metadata": {"store_name": "Metrics Shop"}},
            "events": [], "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": None},
            "domain": {}}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            reply = json.loads(resp.read())
        assert "Metrics Shop" in reply["responses"][0]["text"]
    finally:
        process.terminate()
        assert process.wait(10) is not None
