"""The axe-core accessibility audit inside the browser tests.

axe-core comes from the npm registry (``make axe`` installs the pinned version into the gitignored
``var/node``). It is injected as a script tag into a page of a context opened with
``bypass_csp=True``: the page's own Content-Security-Policy stays as strict as it is in production.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import pytest

from tests.support.stack import PROJECT

AXE_JS = PROJECT / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    """The axe-core script; skips the test (fails it under CI) when ``make axe`` has not run."""
    if not AXE_JS.exists():
        reason = f"axe-core is not installed at {AXE_JS.relative_to(PROJECT)} (run `make axe`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + ", and CI=true requires it")
        pytest.skip(reason)
    return AXE_JS.read_text(encoding="utf-8")


def audit(page: Any, within: Optional[str] = None) -> List[Dict[str, Any]]:
    """Run axe-core on the page (or the element ``within`` selects, shadow DOM included) and return
    the serious and critical violations as ``{"id", "impact", "help", "nodes": [html, ...]}``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    result = page.evaluate(
        """async (within) => {
            const context = within ? {include: [[within]]} : document;
            return await axe.run(context, {resultTypes: ['violations']});
        }""", within)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n.get("html", "")[:200] for n in v["nodes"][:5]]}
            for v in result["violations"] if v.get("impact") in BLOCKING]
