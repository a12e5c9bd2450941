"""No Python module of ``bot/`` or ``actions/`` names a platform: everything platform-specific
comes from the plugins (``plugins.base.Platform``, the hooks). Templates, static files and docs
are not checked; module paths and source text are, case-insensitively.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "actions")
PLATFORM_NAMES = re.compile(r"shopify|woocommerce|bigcommerce|wc[-_ ]?auth", re.IGNORECASE)

# Modules allowed to name a platform while another change rewrites them (only such modules; the
# set is empty once that change is merged).
ALLOWLIST: Set[str] = set()


def mentions(text: str) -> List[str]:
    """The platform names ``text`` contains (as written)."""
    return PLATFORM_NAMES.findall(text)


def offenders(root: Path) -> Dict[str, List[str]]:
    """``{module path: ["line: text", ...]}`` for every module under ``root``'s packages naming a platform."""
    found: Dict[str, List[str]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            hits = [f"path: {relative}"] if mentions(relative) else []
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if mentions(line):
                    hits.append(f"{number}: {line.strip()[:120]}")
            if hits:
                found[relative] = hits
    return found


def test_the_pattern_finds_every_spelling():
    for text in ("Shopify", "WOOCOMMERCE", "bigcommerce", "wc-auth", "wc_auth", "WcAuthStart", "plugins.shopify.client",
                 "tb_shopify_oauth", "/api/widget/woocommerce.js"):
        assert mentions(text), text
    for text in ("shop_domain", "commerce", "store", "auth", "wc"):
        assert not mentions(text), text


def test_the_checker_reports_paths_and_lines(tmp_path):
    (tmp_path / "bot" / "api").mkdir(parents=True)
    (tmp_path / "actions").mkdir()
    (tmp_path / "bot" / "api" / "shopify_thing.py").write_text("x = 1\n")
    (tmp_path / "bot" / "api" / "neutral.py").write_text('"""Generic."""\nNAME = "WooCommerce"\n')
    (tmp_path / "actions" / "clean.py").write_text("y = 2\n")
    assert offenders(tmp_path) == {"bot/api/neutral.py": ['2: NAME = "WooCommerce"'],
                                   "bot/api/shopify_thing.py": ["path: bot/api/shopify_thing.py"]}


def test_no_module_of_bot_or_actions_names_a_platform():
    found = {path: hits for path, hits in offenders(ROOT).items() if path not in ALLOWLIST}
    assert found == {}, "platform names outside the plugins: " + repr(found)


def test_the_allowlist_holds_only_modules_that_still_name_a_platform():
    """An entry that no longer names a platform must leave the list (it is meant to shrink to nothing)."""
    still = offenders(ROOT)
    assert sorted(path for path in ALLOWLIST if path not in still) == []
    assert all(path.startswith("bot/dashboard/") or path == "bot/api/integrations.py" for path in ALLOWLIST)
