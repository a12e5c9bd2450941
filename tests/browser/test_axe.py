"""The accessibility audit can fail: a page with known serious violations is caught, shadow DOM included."""
from __future__ import annotations

import pytest

from tests.browser.axe import audit
from tests.browser.conftest import checked_page

pytestmark = [pytest.mark.browser]

BAD = """<!doctype html><html lang="en"><head><title>t</title>
<meta http-equiv="Content-Security-Policy" content="script-src 'none'"></head><body><main>
<button></button><div id="host"></div></main></body></html>"""


def test_the_audit_reports_serious_violations_inside_shadow_dom(browser):
    with checked_page(browser, bypass_csp=True) as page:
        page.set_content(BAD)
        page.evaluate("""() => {
            const root = document.getElementById('host').attachShadow({mode: 'open'});
            root.innerHTML = '<ul><div>not a list item</div></ul><input type="text">';
        }""")
        found = {v["id"] for v in audit(page)}
        assert "button-name" in found  # critical: a button without a name
        inside = {v["id"] for v in audit(page, "#host")}
        assert "list" in inside and "label" in inside and "button-name" not in inside
