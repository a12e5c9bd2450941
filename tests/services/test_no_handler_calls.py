"""The dashboard and the API meet in the service layer: nothing in bot/ calls a request handler
through ``__wrapped__`` (bypassing its decorators with a made-up request)."""
from __future__ import annotations

from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"


def offenders(root: Path = BOT) -> list:
    return sorted(f"{path.relative_to(root.parent)}:{number}"
                  for path in root.rglob("*.py")
                  for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                  if "__wrapped__" in line)


def test_nothing_in_bot_calls_a_handler_through_wrapped():
    assert offenders() == []


def test_the_check_finds_a_wrapped_call(tmp_path):
    package = tmp_path / "bot"
    package.mkdir()
    (package / "pages.py").write_text("resp = await handler.__wrapped__(request, me)\n", encoding="utf-8")
    assert offenders(package) == ["bot/pages.py:1"]


def test_the_dashboard_reaches_the_api_only_for_sign_in():
    """Pages call bot.services; from bot.api they use only the token check (bot.api.auth)."""
    import ast

    used = set()
    for path in (BOT / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.api"):
                used.add(node.module)
            elif isinstance(node, ast.Import):
                used.update(a.name for a in node.names if a.name.startswith("bot.api"))
    assert used <= {"bot.api.auth"}, used
