"""The merchant dashboard in headless Chromium against the real demo stack (`trulybot up`): sign in,
connect a WooCommerce emulator store with keys, install on the Shopify emulator through OAuth, edit
the widget and watch the live preview, chat in the preview, find the lookup in activity and analytics,
sign out. Saves docs/dashboard-*.png."""
from __future__ import annotations

import re
import subprocess
import time

import pytest
from playwright.sync_api import expect

from tests.support.stack import PROJECT, TRULYBOT, Stack
from tests.browser.conftest import checked_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = PROJECT / "docs"


def _cli(stack: Stack, *args: str) -> str:
    done = subprocess.run(TRULYBOT + list(args), cwd=PROJECT, env=stack.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _demo_merchant_token(stack: Stack) -> str:
    """A new API token for the demo merchant (it owns the Shopify emulator's shop)."""
    listing = _cli(stack, "merchants", "list")
    merchant_id = listing.strip().splitlines()[0].split("\t")[0]
    out = _cli(stack, "merchants", "token", "create", "--merchant", merchant_id, "--name", "browser-test")
    return re.search(r"(tb_[A-Za-z0-9_\-]+)", out).group(1)


@pytest.fixture
def wide(browser):
    with checked_page(browser, 1280, 900) as page:
        yield page


def test_merchant_connects_configures_previews_chats_and_reads_the_numbers(wide, demo_stack):
    page, stack = wide, demo_stack
    from plugins.shopify.emulator import DEMO_SHOP_DOMAIN
    from plugins.woocommerce.emulator import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    token = _demo_merchant_token(stack)

    # Sign in (a bad token first: the message is next to the field).
    page.goto(f"{stack.base_url}/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/signin"))
    page.get_by_label("Merchant token").fill("tb_wrong")
    page.keyboard.press("Enter")
    expect(page.locator("#token-error")).to_contain_text("not valid")
    page.get_by_label("Merchant token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Stores", exact=True)).to_be_visible()

    # Connect a WooCommerce store with keys (the emulator under another address than the demo store's).
    woo_url = f"http://localhost:{stack.env['TRULYBOT_WOOCOMMERCE_EMULATOR_PORT']}"
    form = page.locator("#connect-woocommerce form")
    form.get_by_label("Store address").fill(woo_url)
    form.get_by_label("Consumer key").fill(DEMO_CONSUMER_KEY)
    form.get_by_label("Consumer secret").fill(DEMO_CONSUMER_SECRET)
    form.get_by_label("Name shown in the dashboard (optional)").fill("Browser Woo Store")
    form.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Store connected")
    card = page.locator("li.store", has_text="Browser Woo Store")
    expect(card).to_contain_text("Working — last successful contact")
    store_id = card.get_attribute("data-store-id")

    # Install on the Shopify emulator's shop: OAuth approval, back to TrulyBot's callback.
    shop_form = page.locator("#connect-shopify form")
    shop_form.get_by_label("Shop address").fill(DEMO_SHOP_DOMAIN)
    shop_form.get_by_role("button", name="Install on Shopify").click()
    expect(page).to_have_url(re.compile(r"/dashboard/stores\?done=connected$"))  # back in the dashboard
    expect(page.get_by_role("status")).to_contain_text("Store connected")
    expect(page.locator("li.store", has_text=DEMO_SHOP_DOMAIN)).to_contain_text("Connected")
    page.screenshot(path=str(DOCS / "dashboard-stores.png"), full_page=True)

    # Widget editor: a bad color is refused next to the field, nothing saved.
    page.goto(f"{stack.base_url}/dashboard/stores/{store_id}/widget")
    page.locator("#primary_color").fill("red")
    page.get_by_role("button", name="Save widget").click()
    expect(page.locator("#primary_color-error")).to_have_text(re.compile("hex color"))

    # Change color and greeting: the preview (the real widget in an iframe) follows before saving.
    page.goto(f"{stack.base_url}/dashboard/stores/{store_id}/widget")
    page.locator("#greeting").fill("Howdy from the browser test <b>not bold</b>")
    page.locator("#primary_color").fill("#0f766e")
    page.locator("#primary_color").dispatch_event("input")
    page.locator("#greeting").dispatch_event("input")
    page.wait_for_function("""() => { const f = document.getElementById('preview');
        try { return f.contentWindow.location.hash.includes('Howdy') && f.contentDocument.readyState === 'complete'; }
        catch (e) { return false; } }""")
    frame = page.frame_locator("#preview")
    expect(frame.locator(".launch")).to_be_visible()
    frame.locator(".launch").click()
    expect(frame.locator(".m.greet .b")).to_have_text("Howdy from the browser test <b>not bold</b>", timeout=15_000)
    color = frame.locator(".launch").evaluate("el => getComputedStyle(el).backgroundColor")
    assert color == "rgb(15, 118, 110)", color
    page.get_by_role("button", name="Save widget").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#greeting")).to_have_value("Howdy from the browser test <b>not bold</b>")

    # Chat in the preview: a real lookup against the emulator.
    frame = page.frame_locator("#preview")
    expect(frame.locator(".launch")).to_be_visible()
    if not frame.locator(".panel").is_visible():
        frame.locator(".launch").click()
    expect(frame.locator(".m.greet .b")).to_have_text("Howdy from the browser test <b>not bold</b>")
    box = frame.locator("#tb-in")
    box.fill("Where is my order 1003? My email is sam.lee@example.com")
    box.press("Enter")
    expect(frame.locator(".m.bot:not(.greet)").last).to_contain_text("1003", timeout=45_000)
    page.screenshot(path=str(DOCS / "dashboard-widget.png"), full_page=True)

    # The lookup shows up in the activity log (filtered by store and type) and in analytics.
    for _ in range(20):
        page.goto(f"{stack.base_url}/dashboard/activity?store={store_id}&type=order_lookup")
        if page.locator("table.log").count():
            break
        time.sleep(0.5)
    expect(page.locator("table.log")).to_contain_text("Order #1003 shown to a shopper")
    page.get_by_label("Type").select_option("conversation_started")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.log")).to_contain_text("Conversation started")
    page.goto(f"{stack.base_url}/dashboard/analytics?store={store_id}&days=30")
    expect(page.locator("#kpi-lookups")).not_to_have_text("0")
    expect(page.locator("#kpi-conversations")).not_to_have_text("0")
    expect(page.locator("#lookup-table")).to_contain_text("Shown (verified)")
    assert int(page.locator("#lookup-table tr", has_text="Shown (verified)").locator("td").inner_text()) >= 1
    page.screenshot(path=str(DOCS / "dashboard-analytics.png"), full_page=True)

    # Keyboard: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()

    # Phone-sized: the pages still work (no horizontal scrolling of the whole page).
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{stack.base_url}/dashboard/stores")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # Sign out: the pages ask to sign in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    page.goto(f"{stack.base_url}/dashboard/analytics")
    expect(page).to_have_url(re.compile(r"/dashboard/signin"))
