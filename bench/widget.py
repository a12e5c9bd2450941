"""Widget script size (raw, gzip -9 as the bot service serves it) and time to first render in headless
Chromium: a fresh browser context (cold cache) loads the stack's /demo page; "first render" is the moment
the widget's launcher button exists in its shadow root, in ms since navigation start
(``performance.now()`` inside the page, polled every animation frame from an init script).

Run in its own process (``python -m bench.widget URL [RUNS]``; Playwright's sync API) and prints JSON.
"""
from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any, Dict

PROJECT = Path(__file__).resolve().parents[1]
WIDGET = PROJECT / "bot" / "widget" / "widget.js"
CHROMIUM = os.environ.get("TRULYBOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

PROBE = """
(() => {
  const t = () => {
    const host = document.querySelector('[data-trulybot]');
    const launch = host && host.shadowRoot && host.shadowRoot.querySelector('.launch');
    if (launch) { window.__tbRendered = performance.now(); return; }
    requestAnimationFrame(t);
  };
  requestAnimationFrame(t);
})();
"""


def sizes(path: Path = WIDGET) -> Dict[str, int]:
    body = path.read_bytes()
    return {"raw_bytes": len(body), "gzip_bytes": len(gzip.compress(body, 9, mtime=0))}


def first_render(url: str, runs: int = 5) -> Dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    times, dcl = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(runs):
                # bypass_csp: the demo page's CSP forbids eval, which Playwright's wait_for_function needs; the
                # widget itself runs the same either way.
                context = browser.new_context(viewport={"width": 1100, "height": 800}, bypass_csp=True)
                context.add_init_script(PROBE)
                page = context.new_page()
                page.goto(url, wait_until="domcontentloaded", timeout=20_000)
                page.wait_for_function("window.__tbRendered !== undefined", timeout=20_000, polling=50)
                times.append(page.evaluate("window.__tbRendered"))
                dcl.append(page.evaluate(
                    "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
                context.close()
        finally:
            browser.close()
    return {"runs": runs, "first_render_ms_median": round(statistics.median(times), 1),
            "first_render_ms_all": [round(t, 1) for t in times],
            "dom_content_loaded_ms_median": round(statistics.median(dcl), 1)}


if __name__ == "__main__":
    result: Dict[str, Any] = {"script": str(WIDGET.relative_to(PROJECT)), **sizes()}
    if len(sys.argv) > 1:
        result.update(first_render(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5))
    print(json.dumps(result))
