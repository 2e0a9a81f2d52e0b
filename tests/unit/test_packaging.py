"""The wheel carries the styles, and the app finds them installed and from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from moment_tui.ui.styles import styles_dir, stylesheets

REPO = Path(__file__).resolve().parents[2]

PRINT_STYLES = (
    "import moment_tui, moment_tui.ui.styles as s; "
    "print(moment_tui.__file__); print(s.styles_dir()); print(s.stylesheets()[0])"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once, offline, with the hatchling the test extras install."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [built] = out.glob("moment_tui-*.whl")
    return built


def test_the_wheel_carries_styles_and_py_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        app_tcss = archive.read("moment_tui/styles/app.tcss").decode("utf-8")
        entry_points = archive.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode("utf-8")
    assert "moment_tui/styles/app.tcss" in names
    assert "moment_tui/py.typed" in names
    assert "moment_tui/ui/app.py" in names
    assert app_tcss == (REPO / "styles" / "app.tcss").read_text(encoding="utf-8")
    # Every stylesheet in the checkout is in the wheel.
    for sheet in (REPO / "styles").glob("*.tcss"):
        assert f"moment_tui/styles/{sheet.name}" in names
    assert "moment-tui = moment_tui.cli:main" in entry_points
    # Nothing from outside the package slips in (tests, bench, top-level styles/).
    assert not [n for n in names if n.startswith(("tests/", "bench/", "styles/"))]


def test_the_installed_wheel_finds_its_own_styles(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    # cwd outside the checkout, so the source tree cannot shadow the installed copy.
    done = subprocess.run(
        [sys.executable, "-c", PRINT_STYLES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    package_file, folder, first = done.stdout.splitlines()
    assert Path(package_file) == target / "moment_tui" / "__init__.py"
    assert Path(folder) == target / "moment_tui" / "styles"
    assert Path(first) == target / "moment_tui" / "styles" / "app.tcss"


def test_the_source_checkout_finds_the_top_level_styles() -> None:
    assert styles_dir() == REPO / "styles"
    sheets = stylesheets()
    assert sheets[0] == REPO / "styles" / "app.tcss"
    assert {Path(p).name for p in sheets} == {p.name for p in (REPO / "styles").glob("*.tcss")}


def test_the_checkout_in_a_fresh_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", PRINT_STYLES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    package_file, folder, _ = done.stdout.splitlines()
    assert Path(package_file) == REPO / "moment_tui" / "__init__.py"
    assert Path(folder) == REPO / "styles"
