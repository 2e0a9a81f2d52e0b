"""The core packages never import Textual, directly or through each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "moment_tui"
CORE = [
    "api",
    "sandbox",
    "webhooks",
    "store",
    "commands",
    "money.py",
    "billing.py",
    "config.py",
    "secrets.py",
    "runtime.py",
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from moment_tui.api import models" may name a submodule.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _all_modules() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _closure(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in graph.get(name, set()):
            if imported in graph:
                todo.append(imported)
                # Importing a.b.c also runs the packages a and a.b.
                parts = imported.split(".")
                todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
            elif not imported.startswith("moment_tui"):
                seen.add(imported)
    return seen


def _core_modules() -> list[str]:
    modules = []
    for entry in CORE:
        target = PACKAGE / entry
        files = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
        modules.extend(_module_name(f) for f in files)
    return modules


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_never_reaches_textual(module: str) -> None:
    reached = _closure(module, _all_modules())
    offenders = sorted(
        m for m in reached if m == "textual" or m.startswith(("textual.", "moment_tui.ui"))
    )
    assert offenders == [], f"{module} reaches {offenders}"


def test_the_check_would_catch_a_textual_import(tmp_path: Path) -> None:
    graph = {
        "moment_tui.money": {"moment_tui.helpers"},
        "moment_tui.helpers": {"textual.app"},
    }
    assert "textual.app" in _closure("moment_tui.money", graph)
