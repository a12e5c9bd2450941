"""An emulator started as ``python -m <module>`` (how the supervisor starts it) serves its add-ons too:
the Shopify emulator's webhook subscriptions work when the module runs as ``__main__``."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from plugins.emulation.runner import importable_factory
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_a_factory_defined_elsewhere_is_kept():
    from plugins.shopify.emulator import create_app

    assert importable_factory(create_app) is create_app


@pytest.mark.timeout(60)
def test_shopify_emulator_run_as_a_module_accepts_webhook_subscriptions():
    from plugins.shopify.emulator import DEMO_ACCESS_TOKEN
    from plugins.shopify.webhooks import CREATE_MUTATION

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "plugins.shopify.emulator", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/__emulator/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        body = {"query": CREATE_MUTATION, "variables": {"topic": "ORDERS_UPDATED", "webhookSubscription": {
            "callbackUrl": "http://127.0.0.1:9/api/webhooks/shopify/w", "format": "JSON"}}}
        request = urllib.request.Request(base + "/admin/api/2025-07/graphql.json", data=json.dumps(body).encode(),
                                         headers={"X-Shopify-Access-Token": DEMO_ACCESS_TOKEN,
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            answer = json.loads(resp.read())
        assert answer["data"]["webhookSubscriptionCreate"]["userErrors"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
