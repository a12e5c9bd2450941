"""Live handoff in two browser pages at once: a shopper on the demo store and a person in the inbox."""
from __future__ import annotations

import re
import subprocess
import time

import pytest
from playwright.sync_api import expect

from tests.browser.axe import audit
from tests.browser.conftest import checked_page
from tests.browser.test_dashboard import _demo_merchant_token
from tests.support.ports import free_ports
from tests.support.servers import require_redis
from tests.support.stack import PROJECT, TRULYBOT, Stack, stack_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = PROJECT / "docs"


def _say(page, text: str) -> None:
    box = page.locator("#tb-in")
    box.fill(text)
    box.press("Enter")


def _sign_in(page, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/dashboard/inbox")
    expect(page).to_have_url(re.compile(r"/dashboard/signin"))
    page.get_by_label("Merchant token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


WIDGET = "[data-trulybot]"


def _handoff_round_trip(shopper, agent, shop_url: str, inbox_url: str, token: str, screenshots: bool,
                        audits: "dict | None" = None) -> None:
    """The whole round trip; with ``audits`` (a dict) the widget in each agent state and the inbox
    pages are audited with axe-core on the way, and their serious/critical violations collected."""

    def check(name: str, page, within: "str | None" = None) -> None:
        if audits is not None:
            audits[name] = audit(page, within)

    _sign_in(agent, inbox_url, token)
    expect(agent.locator("#live-status")).to_have_text("Updates live.")
    before = agent.locator(".conv.state-waiting").count()

    shopper.goto(f"{shop_url}/demo?store=demo-woocommerce")
    shopper.locator(".launch").click()
    _say(shopper, "I want to talk to a person")
    expect(shopper.locator(".who")).to_have_text("Waiting for the team\u2026", timeout=30_000)
    expect(shopper.locator(".m.bot", has_text="join this chat shortly")).to_be_visible()
    # The inbox shows the new conversation within a second, without a reload.
    expect(agent.locator(".conv.state-waiting")).to_have_count(before + 1, timeout=1_000)
    if screenshots:
        agent.screenshot(path=str(DOCS / "inbox-waiting.png"))
    check("widget waiting", shopper, WIDGET)
    check("inbox list", agent)

    agent.locator(".conv.state-waiting a").last.click()
    expect(agent.locator("#transcript .msg.role-user", has_text="I want to talk to a person")).to_be_visible()
    agent.get_by_role("button", name="Claim").click()
    expect(agent.locator("#conv-state")).to_have_text("active")
    expect(shopper.locator(".m.sys", has_text="joined the chat")).to_be_visible(timeout=5_000)
    expect(shopper.locator(".who")).to_contain_text("from the team")

    agent.get_by_label("Reply to the shopper").fill("Hi, I'm with the team. Which order is it?")
    agent.get_by_role("button", name="Send").click()
    expect(shopper.locator(".m.bot.agent", has_text="Which order is it?")).to_be_visible(timeout=5_000)
    check("widget with a person", shopper, WIDGET)

    _say(shopper, "It is order 1002, thanks")
    expect(shopper.locator(".m.u.wait")).to_have_count(0, timeout=10_000)  # acknowledged
    expect(agent.locator("#transcript .msg.role-user", has_text="It is order 1002")).to_be_visible(timeout=5_000)
    expect(agent.locator("#transcript .msg.role-agent", has_text="Which order is it?")).to_be_visible()
    if screenshots:
        agent.screenshot(path=str(DOCS / "inbox-conversation.png"))
    check("inbox conversation", agent)

    agent.get_by_role("button", name="Hand back to the bot").click()
    expect(shopper.locator(".m.sys", has_text="back with the assistant")).to_be_visible(timeout=5_000)
    expect(shopper.locator(".who")).to_have_text("")
    check("widget back with the assistant", shopper, WIDGET)

    answered = shopper.locator(".m.bot:not(.greet):not(.agent)").count()
    _say(shopper, "where is my order 1002")
    expect(shopper.locator(".m.bot:not(.greet):not(.agent)")).to_have_count(answered + 1, timeout=30_000)
    expect(shopper.locator(".m.bot.agent")).to_have_count(1)


def test_shopper_and_agent_in_two_pages(browser, demo_stack):
    token = _demo_merchant_token(demo_stack)
    audits: dict = {}
    with checked_page(browser, 1280, 900, bypass_csp=True) as agent, checked_page(browser, bypass_csp=True) as shopper:
        _handoff_round_trip(shopper, agent, demo_stack.base_url, demo_stack.base_url, token, screenshots=True,
                            audits=audits)
    # axe-core: no serious or critical violation in the widget (every agent state) or the inbox.
    assert set(audits) == {"widget waiting", "inbox list", "widget with a person", "inbox conversation",
                           "widget back with the assistant"}
    assert {name: found for name, found in audits.items() if found} == {}


@pytest.mark.redis
def test_shopper_and_agent_on_two_bot_services_sharing_redis(browser, tmp_path):
    redis_url = require_redis()
    stack = Stack(stack_env(tmp_path / "stack", TRULYBOT_REDIS_URL=redis_url))
    second = None
    try:
        stack.wait_ready()
        (port,) = free_ports(1)
        env = dict(stack.env, TRULYBOT_PORT=str(port))
        second = subprocess.Popen(TRULYBOT + ["serve"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        other = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        import urllib.request

        while True:
            try:
                with urllib.request.urlopen(other + "/health/live", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or second.poll() is not None:
                    raise AssertionError("the second bot service did not start")
                time.sleep(0.5)
        token = _demo_merchant_token(stack)
        with checked_page(browser, 1280, 900) as agent, checked_page(browser) as shopper:
            _handoff_round_trip(shopper, agent, stack.base_url, other, token, screenshots=False)
    finally:
        if second is not None:
            second.terminate()
            second.wait(15)
        stack.stop()
