"""Where the app's .tcss files are: in the installed package, or the source checkout."""

from __future__ import annotations

from pathlib import Path, PurePath

_PACKAGE = Path(__file__).resolve().parent.parent


def styles_dir() -> Path:
    """``moment_tui/styles`` in a wheel (hatch force-include), else ``<repo>/styles``."""
    for candidate in (_PACKAGE / "styles", _PACKAGE.parent / "styles"):
        if (candidate / "app.tcss").is_file():
            return candidate
    raise FileNotFoundError(
        f"moment-tui styles not found beside {_PACKAGE}; the installation is incomplete"
    )


def stylesheets() -> list[str | PurePath]:
    """Every .tcss file, in a stable order (``app.tcss`` first)."""
    folder = styles_dir()
    rest = sorted(p for p in folder.glob("*.tcss") if p.name != "app.tcss")
    return [folder / "app.tcss", *rest]
