"""A merchant connects a BigCommerce store (the installed packages/trulybot-bigcommerce) in headless
Chromium through the dashboard's connect form, which is rendered from the plugin's connection schema,
against the BigCommerce emulator of the demo stack: a refused value is shown next to its field with the
other values kept and the secret not echoed, then the store connects, shows as healthy with its webhooks
registered at the emulated store, and disconnecting removes them there."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import checked_page
from tests.support.stack import PROJECT, TRULYBOT, Stack

pytest.importorskip("trulybot_bigcommerce", reason="packages/trulybot-bigcommerce is installed by `make setup`")
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _new_merchant_token(stack: Stack) -> str:
    """A merchant of its own (the demo merchant already owns the emulator's store as demo-bigcommerce)."""
    done = subprocess.run(TRULYBOT + ["merchants", "create", "--name", "BigCommerce Browser Shop"], cwd=PROJECT,
                          env=stack.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return re.search(r"(tb_[A-Za-z0-9_\-]+)", done.stdout).group(1)


def _hooks(stack: Stack, store_hash: str, token: str) -> list:
    """The webhooks the emulated BigCommerce store has, as its v3 API lists them."""
    port = stack.env["TRULYBOT_BIGCOMMERCE_EMULATOR_PORT"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/stores/{store_hash}/v3/hooks",
                                     headers={"X-Auth-Token": token, "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read() or b"{}").get("data") or []


def test_merchant_connects_a_bigcommerce_store_through_the_schema_form(browser, demo_stack):
    from trulybot_bigcommerce.emulator import DEMO_ACCESS_TOKEN, DEMO_STORE_HASH

    stack = demo_stack
    token = _new_merchant_token(stack)
    with checked_page(browser, 1280, 900) as page:
        page.goto(f"{stack.base_url}/dashboard/signin")
        page.get_by_label("Merchant token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Stores", exact=True)).to_be_visible()

        # The form is the plugin's schema: its labels, help, a password input for the secret field.
        card = page.locator("#connect-bigcommerce")
        expect(card.get_by_role("heading")).to_have_text("Connect a BigCommerce store")
        form = card.locator("form")
        expect(form.get_by_label("Store hash")).to_have_attribute("placeholder", "abc123")
        expect(form.get_by_label("Access token")).to_have_attribute("type", "password")
        expect(form.locator("#bigcommerce-access_token-hint")).to_contain_text("Store-level API accounts")
        expect(form.get_by_label("Storefront address (optional)")).to_have_attribute("type", "url")

        # A malformed token: the plugin's words next to the field, the store hash kept, the secret not echoed.
        form.get_by_label("Store hash").fill(DEMO_STORE_HASH)
        form.get_by_label("Access token").fill("short!")
        form.get_by_role("button", name="Connect", exact=True).click()
        form = page.locator("#connect-bigcommerce form")
        expect(form.locator("#bigcommerce-access_token-error")).to_contain_text("16 to 128 letters and digits")
        expect(form.get_by_label("Store hash")).to_have_value(DEMO_STORE_HASH)
        expect(form.get_by_label("Access token")).to_have_value("")
        assert "short!" not in page.content()

        # A token the store refuses: said next to the credential field, nothing stored.
        form.get_by_label("Access token").fill("wrongtokenwrongtoken")
        form.get_by_role("button", name="Connect", exact=True).click()
        expect(page.locator("#bigcommerce-access_token-error")).to_contain_text("BigCommerce rejected these credentials")
        expect(page.locator("li.store")).to_have_count(0)

        # The real token connects; the store is healthy and its webhooks are registered at the store.
        form = page.locator("#connect-bigcommerce form")
        form.get_by_label("Access token").fill(DEMO_ACCESS_TOKEN)
        form.get_by_label("Name shown in the dashboard (optional)").fill("Browser BigCommerce Store")
        form.get_by_role("button", name="Connect", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Store connected")
        store = page.locator("li.store", has_text="Browser BigCommerce Store")
        expect(store.locator(".badge.platform")).to_have_text("BigCommerce")
        expect(store).to_contain_text("Connected")
        expect(store.locator(".health")).to_contain_text("Working — last successful contact")
        widget_id = store.locator("code").first.inner_text()
        mine = [h for h in _hooks(stack, DEMO_STORE_HASH, DEMO_ACCESS_TOKEN) if h["destination"].endswith("/" + widget_id)]
        assert sorted(h["scope"] for h in mine) == ["store/order/statusUpdated", "store/shipment/created",
                                                     "store/shipment/updated"]

        # Disconnect through the dashboard: the hooks are removed at the emulated store.
        store.get_by_role("link", name="Disconnect").click()
        page.get_by_label("Yes, disconnect Browser BigCommerce Store").check()
        page.get_by_role("button", name="Disconnect", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Store disconnected")
        assert [h for h in _hooks(stack, DEMO_STORE_HASH, DEMO_ACCESS_TOKEN) if h["destination"].endswith("/" + widget_id)] == []
