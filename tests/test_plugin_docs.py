"""Every member of the platform contract is documented and tested (datasette's
``test_plugin_hooks_are_documented`` / ``test_plugin_hooks_have_tests`` are the model).

The contract is every hook specification in :mod:`plugins.hookspecs` and every public member of
:class:`plugins.base.Platform` (the four abstract reading methods, the class attributes that
describe the integration and the overridable methods). Each needs a heading in
``docs/plugins.md`` naming it in backticks (```### `install_url(values, context, state)` ```) and
a test function ``test_hook_<member>`` somewhere under ``tests/``.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import List, Set

from plugins import hookspecs
from plugins.base import Platform

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"


def hook_names() -> List[str]:
    """The hook specifications of the ``trulybot`` project."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return sorted(name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, marker))


def platform_members() -> List[str]:
    """The public members of :class:`Platform` a plugin may set or override."""
    return sorted(name for name in vars(Platform) if not name.startswith("_"))


def contract() -> List[str]:
    return hook_names() + platform_members()


def documented_names(text: str) -> Set[str]:
    """Names in backticks on the Markdown headings of ``text`` (``name`` or ``name(args)``)."""
    names: Set[str] = set()
    for line in text.splitlines():
        if line.startswith("#"):
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)(?:\([^`]*\))?`", line))
    return names


def _test_function_names(root: Path) -> Set[str]:
    """Every test function name under ``root``."""
    names: Set[str] = set()
    for path in root.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_the_contract_is_what_plugins_implement():
    assert hook_names() == ["register_carriers", "register_emulators", "register_platforms"]
    members = platform_members()
    for expected in ("check_connection", "get_order", "install_url", "complete_install", "read_install_callback",
                     "connection_schema", "app_settings", "webhooks", "parse_webhook", "display_name"):
        assert expected in members


def test_documented_names_reads_headings_only():
    text = "# Title\n### `install_url(values, context, state)`\ntext `not_a_heading`\n### `name`, `display_name`\n"
    assert documented_names(text) == {"install_url", "name", "display_name"}


def test_plugin_hooks_are_documented():
    missing = [name for name in contract() if name not in documented_names(DOCS.read_text(encoding="utf-8"))]
    assert missing == [], f"docs/plugins.md has no heading for {missing}"


def test_plugin_hooks_have_tests():
    names = _test_function_names(ROOT / "tests")
    missing = [name for name in contract() if not any(n == f"test_hook_{name}" or n.startswith(f"test_hook_{name}_")
                                                     for n in names)]
    assert missing == [], f"no test_hook_<member> test for {missing}"
