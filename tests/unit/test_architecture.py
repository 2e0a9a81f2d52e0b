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


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(package: str, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import …`` written in ``package``."""
    parts = package.split(".")
    if level - 1 >= len(parts):
        raise ValueError(f"{'.' * level}{module or ''} goes above the top of {package}")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


def _imports(path: Path, package: Path = PACKAGE) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports too),
    relative imports (``from ..ui import app``) resolved to absolute names."""
    name = _module_name(path, package)
    # The package a relative import starts from: the module's own, or itself for __init__.
    home = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(home, node.level, node.module) if node.level else node.module
            assert module is not None  # "from import x" is not Python
            found.add(module)
            # "from moment_tui.api import models" may name a submodule.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _all_modules(package: Path = PACKAGE) -> dict[str, set[str]]:
    return {_module_name(p, package): _imports(p, package) for p in package.rglob("*.py")}


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


def _offenders(module: str, graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        m
        for m in _closure(module, graph)
        if m == "textual" or m.startswith(("textual.", "moment_tui.ui"))
    )


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_never_reaches_textual(module: str) -> None:
    offenders = _offenders(module, _all_modules())
    assert offenders == [], f"{module} reaches {offenders}"


def test_the_check_would_catch_a_textual_import(tmp_path: Path) -> None:
    graph = {
        "moment_tui.money": {"moment_tui.helpers"},
        "moment_tui.helpers": {"textual.app"},
    }
    assert "textual.app" in _closure("moment_tui.money", graph)


def _package(root: Path, files: dict[str, str]) -> Path:
    """A synthetic ``moment_tui`` package under ``root``: {relative path: source}."""
    package = root / "moment_tui"
    for relative, source in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return package


def test_the_walker_resolves_relative_imports_of_the_ui_and_of_textual(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "ui/__init__.py": "",
            "ui/app.py": "import textual.app\n",
            "api/__init__.py": "from . import client\n",
            "api/models.py": "def lazy() -> None:\n    from ..ui import app\n",
            "api/client.py": "from .shim import App\n",
            "api/shim.py": "from textual.app import App\n",
            "money.py": "from .api.errors import Oops\n",
            "api/errors.py": "Oops = ValueError\n",
        },
    )
    graph = _all_modules(package)
    assert graph["moment_tui.api.models"] == {"moment_tui.ui", "moment_tui.ui.app"}
    assert graph["moment_tui.api.client"] == {"moment_tui.api.shim", "moment_tui.api.shim.App"}
    assert graph["moment_tui.api"] == {"moment_tui.api", "moment_tui.api.client"}
    assert graph["moment_tui.money"] == {"moment_tui.api.errors", "moment_tui.api.errors.Oops"}
    assert _offenders("moment_tui.api.models", graph) == [
        "moment_tui.ui",
        "moment_tui.ui.app",
        "textual.app",
    ]
    assert _offenders("moment_tui.api.client", graph) == ["textual.app", "textual.app.App"]
    # money imports api.errors, which runs the package api/__init__: client, shim, textual.
    assert _offenders("moment_tui.money", graph) == ["textual.app", "textual.app.App"]


def test_a_relative_import_above_the_top_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path, {"__init__.py": "", "money.py": "from ... import x\n"})
    with pytest.raises(ValueError, match=r"\.\.\. goes above the top of moment_tui"):
        _all_modules(package)


# The workspace's storage (catalogue, event log) sits below the client and the
# servers: it keeps what they learn, it does not talk to them. (bulk_import drives the
# API client on purpose: importing a file is creating through the API.)
STORAGE = [
    "moment_tui.store.schema",
    "moment_tui.store.writer",
    "moment_tui.store.catalogue",
    "moment_tui.store.applications",
    "moment_tui.store.eventlog",
    "moment_tui.store.workspace",
]
NOT_BELOW_STORAGE = ("httpx", "aiohttp", "moment_tui.api.client", "moment_tui.webhooks")


@pytest.mark.parametrize("module", STORAGE)
def test_storage_never_reaches_the_network_layers(module: str) -> None:
    reached = _closure(module, _all_modules())
    bad = sorted(
        name
        for name in reached
        if any(name == top or name.startswith(f"{top}.") for top in NOT_BELOW_STORAGE)
    )
    assert bad == [], f"{module} reaches {bad}"
