"""Demo mode registers every demo store's webhooks at its emulator once the stack is up (through each
platform's own ``register_webhooks``), so a status change made at the BigCommerce emulator reaches the
open chat of a shopper on ``demo-bigcommerce`` who looked the order up."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.request

import pytest

from tests.e2e.test_order_tracking import card_of, shopper, turn
from tests.support.stack import PROJECT, TRULYBOT

pytestmark = pytest.mark.slow


def _demo_merchant_token(stack) -> str:
    listing = subprocess.run(TRULYBOT + ["merchants", "list"], cwd=PROJECT, env=stack.env, capture_output=True,
                             text=True, timeout=60).stdout
    merchant_id = listing.strip().splitlines()[0].split("\t")[0]
    out = subprocess.run(TRULYBOT + ["merchants", "token", "create", "--merchant", merchant_id, "--name", "hooks-test"],
                         cwd=PROJECT, env=stack.env, capture_output=True, text=True, timeout=60).stdout
    return re.search(r"(tb_[A-Za-z0-9_\-]+)", out).group(1)


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as resp:
        return json.loads(resp.read())


def test_every_demo_store_with_webhooks_has_them_registered(demo_stack):
    from plugins.manager import get_platforms

    token = _demo_merchant_token(demo_stack)
    request = urllib.request.Request(demo_stack.base_url + "/api/integrations", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=20) as resp:
        stores = {s["widget_id"]: s for s in json.loads(resp.read())["items"]}
    platforms = get_platforms()
    demo = {w: s for w, s in stores.items() if w.startswith("demo-") and platforms[s["platform"]].webhooks is not None}
    assert {"demo-woocommerce", "demo-shopify"} <= set(demo)
    for widget_id, store in demo.items():
        assert store["webhooks"]["error"] is None and store["webhooks"]["topics"], (widget_id, store["webhooks"])


async def test_a_status_change_at_the_bigcommerce_emulator_reaches_the_open_chat(demo_stack):
    pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
    from trulybot_bigcommerce.webhooks import SECRET_HEADER

    emulator = f"http://127.0.0.1:{demo_stack.env['TRULYBOT_BIGCOMMERCE_EMULATOR_PORT']}"
    async with shopper(demo_stack, "demo-bigcommerce") as sock:
        card = card_of(await turn(sock, "where is my order #129? my email is chloe.nguyen@example.com"))
        assert card["number"] == "129"
        answer = _post(f"{emulator}/__emulator/orders/129/status", {"status_id": 2})
        assert [d["status"] for d in answer["deliveries"]] == [200], answer
        frame = await sock.recv_type("bot", timeout=30)
        assert "reply_to" not in frame
        assert frame["messages"][0]["text"].startswith("Update on order #129")
        forged = _post(f"{emulator}/__emulator/webhooks/fire", {"scope": "store/order/statusUpdated", "order_id": 129,
                                                                  "headers": {SECRET_HEADER: "forged"}})
        assert [d["status"] for d in forged["deliveries"]] == [401], forged
