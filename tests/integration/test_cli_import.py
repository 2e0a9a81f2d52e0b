"""``moment-tui import`` end to end: into the console's own sandbox when no key is set."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
from io import StringIO
from pathlib import Path

import httpx
import pytest

from moment_tui import cli
from moment_tui.api.client import MomentClient
from moment_tui.commands import bulk as bulk_command
from moment_tui.commands.base import Io
from moment_tui.config import Settings, load_settings
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


def test_dry_run_sends_nothing_and_a_broken_file_exits_1(tmp_path: Path) -> None:
    code, out, err = run("import", str(GOOD_AND_BAD), "--dry-run")
    assert code == 1
    summary = "9 rows: 6 valid, 3 with errors (dry run: nothing sent)"
    assert out.strip().splitlines()[-1] == summary
    # The rows are the data (stdout); the reason for exit 1 is one line on stderr.
    assert err.splitlines() == [f"moment-tui: import: {summary}"]
    settings = load_settings(env={})
    assert not (settings.data_dir / "sandbox.sqlite3").exists()

    # The file's contents are at fault, not the command line: 1, not 2.
    code, out, err = run("import", str(FIXTURES / "missing_columns.csv"))
    assert (code, out) == (1, "")
    assert len(err.strip().splitlines()) == 1
    assert "required column is missing" in err

    code, out, err = run("import", str(tmp_path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"moment-tui: import: {tmp_path}: is a directory, not a file"]


def test_conflicting_customer_details_are_noted_in_text_and_json(tmp_path: Path) -> None:
    """Two rows with one SA ID number and other details: both bills imported on the
    first row's customer, the second row's note says what was not applied, and the
    ID number is shown nowhere."""
    sa_id = "8001015009087"
    path = tmp_path / "za_acme_moment_all-customers_2026-12-01.csv"
    path.write_text(
        "first_name,last_name,passport_number,sa_identification_number,mobile_phone_number,"
        "email,due_date,amount_due,ref\n"
        f"Thandi,Nkosi,,{sa_id},,thandi@example.co.za,2027-01-15,240.00,P-1\n"
        f"Same,Person,,{sa_id},,other@example.com,2027-01-15,50.00,P-3\n"
        f"Bad,Row,,{sa_id},,,2027-01-15,,P-4\n",
        encoding="utf-8",
    )
    note = (
        'customer details differ from Moment\'s copy (name: file "Same Person", Moment '
        '"Thandi Nkosi"; email: file other@example.com, Moment thandi@example.co.za); the bill '
        "was added to the customer created from line 2, which was not changed"
    )
    code, out, err = run("import", str(path))
    assert code == 1  # line 4 has no amount
    assert out.splitlines() == [
        "line 4, amount_due: required",
        f"line 3: {note}",
        "3 rows: 2 imported, 0 already imported, 1 with errors",
    ]
    assert sa_id not in out + err

    code, out, err = run("import", str(path), "--json")
    assert code == 1
    report = json.loads(out)
    rows = {row["line"]: row for row in report["results"]}
    assert [rows[line]["status"] for line in (2, 3, 4)] == [
        "already_imported",
        "already_imported",
        "error",
    ]
    assert rows[2]["note"] is None
    assert rows[2]["customer_differences"] == []
    assert rows[3]["note"] == note.replace(
        "the bill was added to the customer created from line 2",
        "the bill belongs to the existing customer",
    )
    assert rows[3]["customer_differences"] == [
        {"field": "name", "file": "Same Person", "kept": "Thandi Nkosi"},
        {"field": "email", "file": "other@example.com", "kept": "thandi@example.co.za"},
    ]
    assert sa_id not in out + err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "nope.csv"], "no such file"),
        (["import", ""], "argument FILE: expected a value, not an empty string"),  # not "."
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


# --- top-level flags, read-only, and LIVE confirmation ------------------------------------

TEST_KEY = "sk_test_importFlags4eC39HqLyjWD"
LIVE_KEY = "sk_importLive4eC39HqLyjWDarjt"
LIVE_URL = "https://live.moment.example"


class TtyStringIO(StringIO):
    def isatty(self) -> bool:
        return True


def run_io(
    *argv: str, env: dict[str, str], stdin: str = "", tty: bool = False
) -> tuple[int, str, str]:
    """Like :func:`run`, with an environment and (optionally) a terminal."""
    stream = TtyStringIO if tty else StringIO
    out, err = stream(), stream()
    io = Io(stdout=out, stderr=err, stdin=stream(stdin), env=env)
    try:
        code = cli.main(list(argv), io=io)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Every request ``import`` sends through the configured API (answered 401, which
    stops an import at once), instead of reaching a real Moment."""
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(401, json={"title": "Unauthorized", "detail": "recorded"})

    def api_client(settings: Settings) -> MomentClient | None:
        if settings.mode == "sandbox" or settings.api_key is None:
            return None  # as the real one: import then uses the console's own sandbox
        return MomentClient(
            settings.api_key.reveal(),
            base_url=settings.api_url,
            read_only=settings.read_only,
            transport=httpx.MockTransport(refuse),
        )

    monkeypatch.setattr(bulk_command, "api_client", api_client)
    return sent


def test_top_level_api_url_reaches_import(sandbox_url: str) -> None:
    # MOMENT_API_URL names a port nothing listens on; --api-url, typed before the
    # subcommand, must win and send the import to the sandbox.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    env = {"MOMENT_API_KEY": TEST_KEY, "MOMENT_API_URL": nowhere}
    code, out, err = run_io(
        "--api-url", sandbox_url, "import", str(GOOD_AND_BAD), "--json", env=env
    )
    report = json.loads(out)
    assert code == 1  # the three bad rows
    assert report["stopped"] is None
    assert report["created"] + report["already_imported"] == 6
    assert "Type yes" not in err  # test mode never asks
    assert TEST_KEY not in out + err


def test_read_only_import_refuses_up_front_and_sends_nothing(
    recorded: list[httpx.Request],
) -> None:
    code, out, err = run_io("--read-only", "import", str(GOOD_AND_BAD), env={})
    assert (code, out) == (1, "")
    assert err == (
        "moment-tui: import: read-only is set (--read-only): refusing to write; nothing was "
        "sent (--dry-run only validates)\n"
    )
    settings = load_settings(env={})
    assert not (settings.data_dir / "sandbox.sqlite3").exists()  # no sandbox was started

    code, out, err = run_io(
        "--read-only", "import", str(GOOD_AND_BAD), env={"MOMENT_API_KEY": TEST_KEY}
    )
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1
    assert recorded == []


def test_read_only_from_the_config_file_is_named(
    recorded: list[httpx.Request], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("read_only = true\n", encoding="utf-8")
    env = {"MOMENT_API_KEY": LIVE_KEY, "MOMENT_CONFIG": str(config)}
    code, _, err = run_io("import", str(GOOD_AND_BAD), "--yes", env=env)
    assert code == 1
    assert err == (
        f"moment-tui: import: read-only is set ({config}): refusing to write; nothing was "
        "sent (--dry-run only validates)\n"
    )
    assert recorded == []


def test_on_a_terminal_the_summary_of_a_failed_import_shows_once() -> None:
    summary = "9 rows: 6 valid, 3 with errors (dry run: nothing sent)"
    code, out, err = run_io("import", str(GOOD_AND_BAD), "--dry-run", env={}, tty=True)
    assert code == 1
    assert out.splitlines()[-1] == summary
    assert err == ""  # stdout and stderr are one screen: not a second copy
    # stdout on the terminal, stderr to a log: the log still gets the one-line reason.
    out_tty, err_log = TtyStringIO(), StringIO()
    io = Io(stdout=out_tty, stderr=err_log, stdin=TtyStringIO(), env={})
    assert cli.main(["import", str(GOOD_AND_BAD), "--dry-run"], io=io) == 1
    assert out_tty.getvalue().splitlines()[-1] == summary
    assert err_log.getvalue() == f"moment-tui: import: {summary}\n"
    # --json on a terminal: the report is data, the reason for exit 1 a message.
    code, out, err = run_io("import", str(GOOD_AND_BAD), "--dry-run", "--json", env={}, tty=True)
    assert (code, json.loads(out)["summary"]) == (1, summary)
    assert err == f"moment-tui: import: {summary}\n"


def test_read_only_still_allows_a_dry_run() -> None:
    code, out, _ = run_io("--read-only", "import", str(GOOD_AND_BAD), "--dry-run", env={})
    assert code == 1  # rows with errors
    assert out.strip().splitlines()[-1] == "9 rows: 6 valid, 3 with errors (dry run: nothing sent)"


def live_env() -> dict[str, str]:
    return {"MOMENT_API_KEY": LIVE_KEY, "MOMENT_API_URL": LIVE_URL}


def test_live_import_without_a_terminal_needs_yes(recorded: list[httpx.Request]) -> None:
    code, out, err = run_io("import", str(GOOD_AND_BAD), env=live_env())
    assert (code, out) == (2, "")
    assert err == (
        f"moment-tui: import: this writes 6 bills to LIVE Moment at {LIVE_URL}; without a "
        "terminal to ask on, pass --yes to confirm\n"
    )
    assert recorded == []


def test_live_import_with_yes_sends(recorded: list[httpx.Request]) -> None:
    code, out, err = run_io("import", str(GOOD_AND_BAD), "--yes", env=live_env())
    assert code == 1  # the recorder answers 401, which stops the import
    assert "Type yes" not in err
    assert recorded
    assert {str(r.url).split("/billing")[0] for r in recorded} == {LIVE_URL}
    assert "stopped" in out.splitlines()[-1]
    assert LIVE_KEY not in out + err


@pytest.mark.parametrize("answer", ["no\n", "\n", "", "YES\n", "y\n"])
def test_live_import_on_a_terminal_aborts_unless_the_answer_is_yes(
    recorded: list[httpx.Request], answer: str
) -> None:
    code, out, err = run_io("import", str(GOOD_AND_BAD), env=live_env(), stdin=answer, tty=True)
    assert (code, out) == (1, "")
    assert err == (
        f"This writes 6 bills to LIVE Moment at {LIVE_URL}. Type yes to continue: "
        "moment-tui: import: not confirmed; nothing was sent\n"
    )
    assert recorded == []


def test_live_import_on_a_terminal_goes_ahead_after_yes(recorded: list[httpx.Request]) -> None:
    code, out, err = run_io("import", str(GOOD_AND_BAD), env=live_env(), stdin=" yes \n", tty=True)
    assert code == 1  # stopped by the recorder's 401
    assert err.startswith(
        f"This writes 6 bills to LIVE Moment at {LIVE_URL}. Type yes to continue: "
    )
    assert recorded
    assert "stopped" in out.splitlines()[-1]


def test_sandbox_flag_with_a_live_key_never_asks(recorded: list[httpx.Request]) -> None:
    env = live_env()
    code, out, err = run_io("--sandbox", "import", str(GOOD_AND_BAD), "--json", env=env)
    assert code == 1
    assert recorded == []  # nothing went to the LIVE API
    assert json.loads(out)["created"] + json.loads(out)["already_imported"] == 6
    assert "LIVE" not in err
    assert "importing into the sandbox" in err


def test_a_workspace_that_fails_under_the_writes_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It opened (the damage is in pages the open does not read), then a write failed
    inside the import's task group: one line, not "unexpected error (ExceptionGroup)"."""

    async def damaged(self: Workspace, *args: object, **kwargs: object) -> int:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Workspace, "remember", damaged)
    code, out, err = run("import", str(GOOD_AND_BAD))
    settings = load_settings(env={})
    path = workspace_path(settings.data_dir, "sandbox", settings.api_url)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"moment-tui: cannot write the workspace {path}: database disk image is malformed; "
        "what was created so far is kept, and importing again skips it"
    )
    assert "unexpected error" not in err
