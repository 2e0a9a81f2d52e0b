"""``moment-tui import`` end to end: into the console's own sandbox when no key is set."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest

from moment_tui import cli
from moment_tui.commands.base import Io
from moment_tui.config import load_settings
from moment_tui.store import catalogue
from moment_tui.store.workspace import Workspace, workspace_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bulk"
GOOD_AND_BAD = FIXTURES / "za_acme_moment_all-customers_2024-06-01.csv"


def run(*argv: str) -> tuple[int, str, str]:
    """``moment-tui ARGV`` in-process: (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        code = cli.main(list(argv), io=Io(stdout=out, stderr=err, stdin=StringIO(), env={}))
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_import_creates_good_rows_reports_bad_ones_and_exits_1(tmp_path: Path) -> None:
    code, out, err = run("import", str(GOOD_AND_BAD), "--json")

    assert code == 1  # some rows had errors: something the user can act on
    report = json.loads(out)
    assert report["created"] + report["already_imported"] == 6
    statuses = {row["line"]: row["status"] for row in report["results"]}
    assert statuses[2] == "created"
    assert statuses[5] == "error"
    line5 = next(row for row in report["results"] if row["line"] == 5)
    assert {e["field"] for e in line5["errors"]} >= {"first_name", "email", "amount_due"}
    assert "importing into the sandbox" in err

    # The catalogue of the sandbox workspace now knows the imported objects.
    settings = load_settings(env={})
    workspace = Workspace(workspace_path(settings.data_dir, "sandbox", settings.api_url))
    try:
        counts = workspace.query(catalogue.counts)
    finally:
        workspace.close()
    assert (counts["customer"], counts["bill"]) == (4, 6)

    # Again: nothing new is created, the rows are "already imported".
    code, out, _ = run("import", str(GOOD_AND_BAD), "--json")
    again = json.loads(out)
    assert (code, again["created"], again["already_imported"]) == (1, 0, 6)


def test_dry_run_sends_nothing_and_a_broken_file_exits_2(tmp_path: Path) -> None:
    code, out, _ = run("import", str(GOOD_AND_BAD), "--dry-run")
    assert code == 1
    assert out.strip().splitlines()[-1] == "9 rows: 6 valid, 3 with errors (dry run: nothing sent)"
    settings = load_settings(env={})
    assert not (settings.data_dir / "sandbox.sqlite3").exists()

    code, out, err = run("import", str(FIXTURES / "missing_columns.csv"))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert "required column is missing" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "nope.csv"], "no such file"),
        (["import", str(GOOD_AND_BAD), "--currency", "ZZZ"], "ISO 4217"),
        (["import", str(GOOD_AND_BAD), "--date", "2024-13-01"], "YYYY-MM-DD"),
    ],
)
def test_bad_usage_exits_2_with_one_line(argv: list[str], message: str) -> None:
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_a_copied_file_name_without_a_date_is_still_imported(tmp_path: Path) -> None:
    plain = tmp_path / "customers.csv"
    shutil.copy(GOOD_AND_BAD, plain)
    code, out, _ = run("import", str(plain), "--date", "2024-06-01", "--json")
    assert code == 1
    assert json.loads(out)["file_date"] == "2024-06-01"
