"""Headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) for widget tests."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import pytest

CHROMIUM = os.environ.get("TRULYBOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Playwright's sync API keeps an event loop running in this
    thread while it is open, so it must be closed before any asyncio test runs (see the root
    conftest, which also orders browser tests last)."""
    if not os.path.exists(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + ", and CI=true requires it")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def checked_page(browser, width: int = 1100, height: int = 800, bypass_csp: bool = False) -> Iterator[object]:
    """A page in a fresh context; fails the test if the page raised a JavaScript error.
    ``bypass_csp`` lets a test inject axe-core (:mod:`tests.browser.axe`) without loosening the page's CSP."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser):
    with checked_page(browser) as page:
        yield page
