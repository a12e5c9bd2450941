"""Emulator admin routes, seeds and command lines."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from plugins.emulation import Faults
from plugins.shopify import load_seed_orders as shopify_seed
from plugins.woocommerce import load_seed_orders as woo_seed

ROOT = Path(__file__).resolve().parents[2]


async def test_admin_routes(woo, http):
    session = http._get_session()
    async with session.get(woo.base_url + "/__emulator/health") as resp:
        assert resp.status == 200 and (await resp.json()) == {"status": "ok", "platform": "woocommerce", "orders": 11}
    async with session.post(woo.base_url + "/__emulator/faults", json={"latency_ms": 1, "burst_count": 1, "retry_after": 2}) as resp:
        assert (await resp.json())["burst_count"] == 1
    async with session.post(woo.base_url + "/__emulator/faults", json={"nope": 1}) as resp:
        assert resp.status == 400
    async with session.post(woo.base_url + "/__emulator/faults", data="not json") as resp:
        assert resp.status == 400
    async with session.post(woo.base_url + "/__emulator/faults", json={"error_rate": "lots"}) as resp:
        assert resp.status == 400
    async with session.get(woo.base_url + "/wp-json/wc/v3/orders") as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "2"
    async with session.get(woo.base_url + "/__emulator/stats") as resp:
        stats = await resp.json()
        assert stats["hits"] == 1 and stats["faults"] == {"status_429": 1}
    async with session.post(woo.base_url + "/__emulator/faults", json={"reset": True}) as resp:
        assert (await resp.json()) == Faults().as_dict()
    async with session.post(woo.base_url + "/__emulator/stats/reset") as resp:
        assert (await resp.json())["hits"] == 0
    async with session.put(woo.base_url + "/__emulator/orders", json=[{"id": 5, "number": "5", "status": "processing"}]) as resp:
        assert (await resp.json()) == {"orders": 1}
    async with session.put(woo.base_url + "/__emulator/orders", json={"x": 1}) as resp:
        assert resp.status == 400
    assert (await woo.platform(http).get_order("5")).number == "5"


async def test_shopify_admin_routes(shopify, http):
    async with http._get_session().get(shopify.base_url + "/__emulator/health") as resp:
        assert (await resp.json())["platform"] == "shopify"


def test_seeds_are_platform_shaped_and_varied():
    woo = woo_seed()
    assert all({"id", "number", "status", "billing", "line_items", "meta_data", "date_created_gmt"} <= set(o) for o in woo)
    assert {"processing", "partial-shipped", "completed", "delivered", "cancelled", "refunded", "on-hold", "pending", "failed"} <= {o["status"] for o in woo}
    assert any(o["number"] == "WC-5521" for o in woo) and any(o["number"].startswith("00") for o in woo)
    shop = shopify_seed()
    assert all({"id", "name", "email", "financial_status", "fulfillment_status", "fulfillments", "line_items"} <= set(o) for o in shop)
    partial = next(o for o in shop if o["fulfillment_status"] == "partial")
    assert len(partial["fulfillments"]) == 2
    for seed in (woo, shop):
        emails = [o.get("email") or o["billing"]["email"] for o in seed]
        assert max(emails.count(e) for e in emails) >= 3  # several orders for one email


def test_seed_loader_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(ValueError, match="JSON list"):
        woo_seed(bad)
    bad.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        shopify_seed(bad)
    with pytest.raises(ValueError, match="cannot read"):
        woo_seed(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"orders": [{"id": 1}]}))
    assert woo_seed(good) == [{"id": 1}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_health(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"emulator exited early: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return json.loads(resp.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("emulator did not become healthy")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("platform", ["woocommerce", "shopify"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_quietly_and_exits_cleanly(platform, sig, tmp_path):
    orders = tmp_path / "orders.json"
    records = (woo_seed() if platform == "woocommerce" else shopify_seed())[:2]
    orders.write_text(json.dumps(records))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"plugins.{platform}.emulator", "--host", "127.0.0.1", "--port", str(port),
         "--orders", str(orders), "--latency-ms", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        health = _wait_health(f"http://127.0.0.1:{port}/__emulator/health", proc)
        assert health == {"status": "ok", "platform": platform, "orders": 2}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__emulator/faults", timeout=2) as resp:
            assert json.loads(resp.read())["latency_ms"] == 1
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert out == "" and err == ""


def test_cli_rejects_a_bad_orders_file(tmp_path):
    bad = tmp_path / "orders.json"
    bad.write_text("[1, 2]")
    proc = subprocess.run(
        [sys.executable, "-m", "plugins.woocommerce.emulator", "--port", str(_free_port()), "--orders", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 2 and "JSON list" in proc.stderr and "Traceback" not in proc.stderr
