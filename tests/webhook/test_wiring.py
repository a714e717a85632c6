"""The webhook is wired one way: the app factory imports and registers the blueprints,
which import neither it nor each other (Flask's app-factory pattern), so no import loop."""

from __future__ import annotations

import ast
from pathlib import Path

import gate

PACKAGES = ("gate.webhook", "gate.api")


def imports_of(path: Path) -> set[str]:
    """Every gate module ``path`` imports, at any level (TYPE_CHECKING and functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gate"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gate"))
    return found


def graph() -> dict[str, set[str]]:
    root = Path(gate.__file__).parent
    modules = {
        ".".join(("gate", *path.relative_to(root).with_suffix("").parts)): path
        for package in PACKAGES
        for path in (root / package.split(".")[1]).glob("*.py")
        if path.name != "__init__.py"
    }
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def cycle_from(start: str, edges: dict[str, set[str]]) -> list[str]:
    """A path start → … → start, or [] when there is none."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in edges[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []


def test_no_module_of_the_webhook_or_the_api_imports_itself_back() -> None:
    edges = graph()
    assert "gate.webhook.admission" in edges and "gate.webhook.app" in edges
    loops = [loop for name in sorted(edges) if (loop := cycle_from(name, edges))]
    assert loops == [], " ; ".join(" -> ".join(loop) for loop in loops)


def test_only_the_factory_and_the_server_import_the_app() -> None:
    importers = {name for name, targets in graph().items() if "gate.webhook.app" in targets}
    assert importers <= {"gate.webhook.serve"}, importers
