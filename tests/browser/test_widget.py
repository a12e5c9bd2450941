"""The widget in headless Chromium against the real demo stack (`trulybot up`)."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.stack import PROJECT, Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = PROJECT / "docs" / "widget.png"


def _config(stack: Stack, widget_id: str = "demo-woocommerce") -> dict:
    status, body = stack.get(f"/api/widget/config/{widget_id}")
    assert status == 200, body
    return json.loads(body)


def _open(page, stack: Stack, store: str = "demo-woocommerce"):
    page.goto(f"{stack.base_url}/demo?store={store}")
    launcher = page.locator(".launch")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(page.locator(".panel")).to_be_visible()
    return launcher


def _say(page, text: str) -> None:
    box = page.locator("#tb-in")
    box.fill(text)
    box.press("Enter")


def _bot_replies(page):
    return page.locator(".m.bot:not(.greet)")


def test_greeting_quick_replies_a_turn_and_history_after_reload(page, demo_stack):
    config = _config(demo_stack)
    _open(page, demo_stack)
    log = page.locator(".log")
    expect(log).to_have_attribute("role", "log")
    expect(page.locator(".m.greet .b")).to_have_text(config["greeting"])
    quick = page.locator(".m.greet .btns button")
    expect(quick).to_have_count(len(config["quick_replies"]))
    expect(quick.first).to_have_text(config["quick_replies"][0]["title"])

    _say(page, "hello")
    expect(page.locator(".m.u .b").first).to_have_text("hello")
    expect(_bot_replies(page).first).to_be_visible(timeout=30_000)
    expect(page.locator(".m.u.wait")).to_have_count(0)

    quick.first.click()  # a quick-start button sends its title
    expect(page.locator(".m.u .b").nth(1)).to_have_text(config["quick_replies"][0]["title"])
    expect(page.locator(".m.u.wait")).to_have_count(0, timeout=30_000)
    page.screenshot(path=str(SCREENSHOT))
    replies = _bot_replies(page).count()
    assert replies >= 2

    stored = page.evaluate("JSON.parse(localStorage.getItem('trulybot:demo-woocommerce'))")
    assert stored["session"] and stored["conversation"].startswith("c_") and stored["open"] is True

    page.reload()
    expect(page.locator(".panel")).to_be_visible()  # stays open across navigation
    expect(page.locator(".m.u .b")).to_have_text(["hello", config["quick_replies"][0]["title"]])
    expect(_bot_replies(page)).to_have_count(replies)
    expect(page.locator(".m.greet")).to_have_count(1)


def test_reconnects_after_the_bot_service_restarts_and_sends_offline_messages_once(page, demo_stack):
    _open(page, demo_stack, "demo-shopify")
    _say(page, "hi")
    expect(_bot_replies(page).first).to_be_visible(timeout=30_000)

    serve = [pid for pid in demo_stack.children()
             if b"bot.process.cli\0serve" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(serve) == 1, demo_stack.children()
    os.kill(serve[0], signal.SIGKILL)
    banner = page.locator(".banner")
    expect(banner).to_have_text("Reconnecting\u2026", timeout=10_000)

    before = _bot_replies(page).count()
    _say(page, "are you back?")
    _say(page, "thanks")
    expect(page.locator(".m.u.wait")).to_have_count(2)
    demo_stack.wait_for_line("bot is healthy again", timeout=90)
    expect(banner).to_be_hidden(timeout=30_000)
    expect(page.locator(".m.u.wait")).to_have_count(0, timeout=30_000)
    assert _bot_replies(page).count() >= before + 2

    page.reload()
    users = page.locator(".m.u .b")
    expect(users).to_have_text(["hi", "are you back?", "thanks"])  # in order, once each


def test_order_card_renderer(page, demo_stack):
    _open(page, demo_stack)
    order = {
        "number": "1001", "status": "partially_shipped", "status_label": "Partially shipped",
        "items": [{"name": "Trail jacket", "quantity": 1, "variant": "Blue / M"}, {"name": "<img src=x onerror=alert(1)>", "quantity": 2}],
        "shipments": [
            {"carrier": "UPS", "status": "in_transit", "tracking_number": "1Z999AA10123456784",
             "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
            {"carrier": "Evil", "tracking_number": "X1", "tracking_url": "javascript:alert(1)"},
        ],
        "status_page_url": "https://shop.example/orders/1001",
    }
    frame = {"type": "bot", "messages": [{"text": "Here is order #1001 <b>bold?</b>", "custom": {"type": "order", "order": order}}]}
    page.evaluate("f => window.__trulybot['demo-woocommerce'].frame(f)", frame)
    card = page.locator(".card")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("aria-label", "Order 1001")
    expect(card.locator(".badge")).to_have_text("Partially shipped")
    expect(card.locator(".badge")).to_have_class("badge s-partially_shipped")
    expect(card.locator(".items li")).to_have_text(["1 \u00d7 Trail jacket (Blue / M)", "2 \u00d7 <img src=x onerror=alert(1)>"])
    track = card.locator("a.track")
    expect(track).to_have_count(1)  # the javascript: URL is not a link
    expect(track).to_have_attribute("href", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    expect(track).to_have_attribute("target", "_blank")
    expect(track).to_have_attribute("rel", "noopener noreferrer")
    expect(card.locator(".ship").nth(1)).to_contain_text("X1")
    expect(card.locator("a.status")).to_have_attribute("href", "https://shop.example/orders/1001")
    expect(page.locator(".m.bot .b").last).to_have_text("Here is order #1001 <b>bold?</b>")
    assert page.locator(".card img, .b b").count() == 0


def test_keyboard_focus_aria_and_store_css_isolation(page, demo_stack):
    config = _config(demo_stack)
    page.goto(f"{demo_stack.base_url}/demo")
    launcher = page.locator(".launch")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_have_attribute("aria-label", f"Open chat: {config['title']}")
    # The demo page's hostile `button { background: hotpink !important }` does not reach the widget.
    color = launcher.evaluate("b => getComputedStyle(b).backgroundColor")
    assert color == "rgb(79, 70, 229)", color
    launcher.focus()
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    focused = page.evaluate("document.querySelector('[data-trulybot]').shadowRoot.activeElement.id")
    assert focused == "tb-in"
    expect(page.locator(".panel")).to_have_attribute("role", "dialog")
    page.keyboard.press("Escape")
    expect(page.locator(".panel")).to_be_hidden()
    assert page.evaluate("document.querySelector('[data-trulybot]').shadowRoot.activeElement.className") == "launch"


def test_full_screen_on_a_narrow_phone(browser, demo_stack):
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        _open(page, demo_stack)
        box = page.locator(".panel").bounding_box()
        assert box and box["x"] == 0 and box["y"] == 0 and box["width"] == 360 and box["height"] == 640, box
    finally:
        context.close()


def test_reduced_motion_disables_animation(browser, demo_stack):
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    try:
        _open(page, demo_stack)
        duration = page.locator(".panel").evaluate("p => getComputedStyle(p).transitionDuration")
        assert duration in ("0s", "0s, 0s"), duration
    finally:
        context.close()


def test_a_real_order_lookup_shows_the_card_with_tracking_links(page, demo_stack):
    """Shopper flow against the real stack: ask, give the number, answer the email question."""
    _open(page, demo_stack, "demo-woocommerce")
    _say(page, "where is my order")
    expect(_bot_replies(page).last).to_contain_text("order number", timeout=30_000)
    _say(page, "#1002")
    expect(_bot_replies(page).last).to_contain_text("email", timeout=30_000)
    _say(page, "Jane.Doe@example.com")
    card = page.locator(".card")
    expect(card).to_have_count(1, timeout=30_000)
    expect(card).to_have_attribute("aria-label", "Order 1002")
    expect(card.locator(".badge")).to_have_class("badge s-partially_shipped")
    tracks = card.locator("a.track")
    expect(tracks).to_have_count(2)
    assert all(tracks.nth(i).get_attribute("href").startswith("https://") for i in range(2))
    expect(tracks.first).to_have_attribute("target", "_blank")
    assert "jane" not in card.inner_text().lower()  # verification fields are never shown
    page.screenshot(path=str(PROJECT / "docs" / "widget-order.png"))
