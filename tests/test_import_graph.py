"""The import graph of ``bot/``, ``actions/`` and ``plugins/`` has no cycles and follows the layering.

Read statically from the sources (every ``import``, also inside functions; ``if TYPE_CHECKING:``
blocks aside), so a lazy import cannot hide a loop.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "actions", "plugins")


def _modules() -> Dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name[: -len(".__init__")] if name.endswith(".__init__") else name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> Set[str]:
    targets: Set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(_resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in MODULES else _resolve(base))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {t for t in targets if t and t != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _room(module: str) -> str:
    """``bot.api.integrations`` -> ``bot.api``; top-level modules (``bot.app``) are rooms of their own."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 1 else parts[0]


def test_checker_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_bot_or_actions_imports_itself_back():
    ours = {m: {t for t in ts if t.split(".")[0] in ("bot", "actions")}
            for m, ts in GRAPH.items() if m.split(".")[0] in ("bot", "actions")}
    assert _cycles(ours) == []


def test_no_module_of_plugins_imports_itself_back():
    """Also inside a platform package: its ``__init__``, client, emulator and add-ons import downwards only."""
    ours = {m: {t for t in ts if t.split(".")[0] == "plugins"} for m, ts in GRAPH.items() if m.split(".")[0] == "plugins"}
    assert _cycles(ours) == []


def test_no_cycles_in_the_whole_graph():
    assert _cycles(GRAPH) == []


def test_no_cycles_among_rooms_of_bot():
    rooms: Dict[str, Set[str]] = {}
    for module, targets in GRAPH.items():
        for target in targets:
            if _room(module) != _room(target):
                rooms.setdefault(_room(module), set()).add(_room(target))
    assert _cycles(rooms) == [], {room: sorted(t) for room, t in rooms.items() if room.startswith("bot")}


def test_layering():
    def importers(target_prefix: str, source_prefix: str) -> List[str]:
        return sorted(f"{m} -> {t}" for m, ts in GRAPH.items() for t in ts
                      if m.startswith(source_prefix) and (t == target_prefix or t.startswith(target_prefix + ".")))

    assert importers("bot", "plugins") == [] and importers("actions", "plugins") == []
    assert importers("actions", "bot") == []  # the service never imports the action server
    for low in ("bot.core", "bot.services", "bot.rasa"):  # lower rooms never reach the web layers
        for high in ("bot.api", "bot.gateway", "bot.dashboard", "bot.app", "bot.process"):
            assert importers(high, low) == []
    for sibling in ("bot.api", "bot.gateway"):  # the API and the gateway meet through bot.appkeys
        other = "bot.gateway" if sibling == "bot.api" else "bot.api"
        assert importers(other, sibling) == []


def test_no_guarded_imports_of_own_modules():
    """``try: import bot.x except ImportError`` hides a dependency between rooms of the service."""
    offenders = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            guarded = any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                          for h in node.handlers)
            imports = [n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))]
            names = [getattr(n, "module", None) or n.names[0].name for n in imports]
            if guarded and any((name or "").split(".")[0] == "bot" for name in names):
                offenders.append(module)
    assert offenders == []
