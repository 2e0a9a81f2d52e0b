"""The command line never shows a traceback: top-level flags reach every subcommand,
and a workspace or sandbox database that cannot be opened is one line and exit 1."""

from __future__ import annotations

import argparse
import socket
import sqlite3
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from moment_tui import cli
from moment_tui.commands import base
from moment_tui.commands.webhooks import answer_text
from moment_tui.config import Settings, default_config_dir, default_data_dir
from moment_tui.secrets import Secret, SecretStore
from moment_tui.store.schema import VERSION
from moment_tui.webhooks.outbound import SendResult
from tests.conftest import NoKeyring

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bulk"
CSV = FIXTURES / "za_acme_moment_all-customers_2024-06-01.csv"
AMOUNT_APPLIED = "obligation.amount_applied"


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``moment-tui ARGV`` in-process, no keyring: (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    io = cli.Io(stdout=out, stderr=err, stdin=StringIO(), env=env or {})
    io.store = SecretStore(default_config_dir(), backend=NoKeyring())
    try:
        code = cli.main(list(argv), io=io)
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def other_taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def sandbox_workspace() -> Path:
    return default_data_dir() / "workspaces" / "sandbox.sqlite3"


# --- top-level flags reach listen and events ---------------------------------------------


def test_top_level_listen_reaches_listen(taken_port: int, other_taken_port: int) -> None:
    env = {"MOMENT_LISTEN": f"127.0.0.1:{other_taken_port}"}
    code, out, err = run(
        "--listen", f"127.0.0.1:{taken_port}", "listen", "--secret", SECRET, env=env
    )
    assert (code, out) == (1, "")
    assert one_line(err).startswith(
        f"moment-tui: listen: cannot listen on 127.0.0.1:{taken_port}: "
    )


def test_listens_own_port_wins_over_the_top_level_flag(
    taken_port: int, other_taken_port: int
) -> None:
    code, _, err = run(
        "--listen", f"127.0.0.1:{other_taken_port}",
        "listen", "--secret", SECRET, "--port", str(taken_port),
    )  # fmt: skip
    assert code == 1
    assert one_line(err).startswith(
        f"moment-tui: listen: cannot listen on 127.0.0.1:{taken_port}: "
    )


def test_top_level_sandbox_and_api_url_choose_the_events_workspace() -> None:
    env = {"MOMENT_API_KEY": KEY}
    code, out, err = run("--sandbox", "events", env=env)
    assert (code, out) == (0, "")
    assert err == f"No deliveries yet in {sandbox_workspace()}\n"

    code, _, err = run("--api-url", "https://staging.example", "events", env=env)
    assert code == 0
    shown = Path(one_line(err).removeprefix("No deliveries yet in "))
    assert shown.parent == sandbox_workspace().parent
    assert shown.name.startswith("test-staging.example-")
    assert KEY not in err


# --- a workspace that cannot be opened -------------------------------------------------------


def _directory(path: Path) -> str:
    path.mkdir(parents=True)
    return "unable to open database file"


def _garbage(path: Path) -> str:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just some bytes " * 50)
    return "file is not a database"


def _newer(path: Path) -> str:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA user_version = {VERSION + 1}")
        conn.commit()
    finally:
        conn.close()
    return f"this workspace was written by a newer moment-tui (schema {VERSION + 1} > {VERSION})"


BREAKAGES = {"directory": _directory, "garbage": _garbage, "newer schema": _newer}
COMMANDS = {
    "events": ["events"],
    "events replay": ["events", "replay", "1"],
    "listen": ["listen", "--port", "0", "--secret", SECRET],
    "trigger": [
        "trigger",
        AMOUNT_APPLIED,
        "--to",
        "http://127.0.0.1:9/hooks",
        "--secret",
        SECRET,
        "--amount",
        "1",
        "--bill",
        "bill_x",
    ],
    "import": ["import", str(CSV), "--dry-run"],
}


@pytest.mark.parametrize("breakage", BREAKAGES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_broken_workspace_is_one_line_and_exit_1(breakage: str, command: str) -> None:
    path = sandbox_workspace()
    reason = BREAKAGES[breakage](path)
    code, out, err = run(*COMMANDS[command], env={"MOMENT_WEBHOOK_SECRET": SECRET})
    assert (code, out) == (1, "")
    assert one_line(err) == f"moment-tui: cannot open the workspace {path}: {reason}"


@pytest.mark.parametrize("command", ["events", "listen", "import"])
def test_a_workspace_without_permission_is_one_line_and_exit_1(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, where chmod cannot take a permission away: fake the refusal.
    def refuse(path: Path, **_options: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    if command == "events":  # a read opens only a workspace that exists
        sandbox_workspace().parent.mkdir(parents=True)
        sandbox_workspace().touch()
    monkeypatch.setattr(base, "Workspace", refuse)
    code, out, err = run(*COMMANDS[command])
    assert (code, out) == (1, "")
    assert one_line(err) == (
        f"moment-tui: cannot open the workspace {sandbox_workspace()}: Permission denied"
    )


def test_a_readable_database_of_another_shape_is_one_line_and_exit_1() -> None:
    path = sandbox_workspace()
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    try:  # a "deliveries" table, but not ours: opening works, reading fails
        conn.execute("CREATE TABLE deliveries (x)")
        conn.commit()
    finally:
        conn.close()
    code, out, err = run("events")
    assert (code, out) == (1, "")
    assert one_line(err).startswith(f"moment-tui: cannot open the workspace {path}: ")


# --- the sandbox's own database --------------------------------------------------------------


def test_import_with_a_broken_sandbox_database_is_one_line_and_exit_1() -> None:
    db = default_data_dir() / "sandbox.sqlite3"
    db.mkdir(parents=True)
    code, out, err = run("import", str(CSV))
    assert (code, out) == (1, "")
    assert one_line(err) == (
        f"moment-tui: cannot open the sandbox database {db}: unable to open database file"
    )


@pytest.mark.parametrize("breakage", ["directory", "garbage"])
def test_sandbox_with_a_broken_db_is_not_a_listen_error(tmp_path: Path, breakage: str) -> None:
    db = tmp_path / "box" / "sandbox.sqlite3"
    reason = BREAKAGES[breakage](db)
    code, out, err = run("sandbox", "--db", str(db))
    assert (code, out) == (1, "")
    assert one_line(err) == f"moment-tui: cannot open the sandbox database {db}: {reason}"


def test_sandbox_db_under_a_file_is_not_a_listen_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a directory", encoding="utf-8")
    db = tmp_path / "plain" / "sandbox.sqlite3"
    code, out, err = run("sandbox", "--db", str(db))
    assert (code, out) == (1, "")
    line = one_line(err)
    assert line.startswith(f"moment-tui: cannot open the sandbox database {db}: ")
    assert "listen" not in line


def test_sandbox_on_a_taken_port_still_says_cannot_listen(taken_port: int) -> None:
    code, out, err = run("sandbox", "--port", str(taken_port))
    assert (code, out) == (1, "")
    line = one_line(err)
    assert line.startswith(f"moment-tui: sandbox: cannot listen on 127.0.0.1:{taken_port}: ")
    assert line.lower().endswith("address already in use")


# --- digits that are not ASCII, and ports out of range ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["events", "replay", "²"],
            "moment-tui: replay: '²' is not a delivery number or a webhook-id "
            "(see moment-tui events)",
        ),
        (
            ["events", "replay", "1²"],
            "moment-tui: replay: '1²' is not a delivery number or a webhook-id "
            "(see moment-tui events)",
        ),
        (
            [
                "trigger",
                AMOUNT_APPLIED,
                "--to",
                "http://127.0.0.1:99999/x",
                "--secret",
                SECRET,
                "--amount",
                "1",
                "--bill",
                "bill_x",
            ],
            "moment-tui: --to: the port in 'http://127.0.0.1:99999/x' is not a number 0-65535",
        ),
        (
            ["events", "replay", "1", "--to", "http://127.0.0.1:²/x"],
            "moment-tui: --to: the port in 'http://127.0.0.1:²/x' is not a number 0-65535",
        ),
        (
            ["listen", "--secret", SECRET, "--forward-to", "http://h:70000", "--port", "{taken}"],
            "moment-tui: --forward-to: the port in 'http://h:70000' is not a number 0-65535",
        ),
        (
            ["listen", "--port", "²"],
            "moment-tui listen: argument --port: a port is 0-65535, not '²' "
            "(see moment-tui listen --help)",
        ),
        (
            ["events", "--limit", "٣"],
            "moment-tui events: argument --limit: expected a whole number from 1 to 1,000,000, "
            "not '٣' (see moment-tui events --help)",
        ),
        (
            ["events", "--limit", "99999999999999999999"],
            "moment-tui events: argument --limit: expected a whole number from 1 to 1,000,000, "
            "not '99999999999999999999' (see moment-tui events --help)",
        ),
        (
            [
                "sandbox",
                "--webhook-url",
                "http://127.0.0.1:65536/x",
                "--webhook-secret",
                SECRET,
                "--port",
                "{taken}",
            ],
            "moment-tui: --webhook-url: the port in 'http://127.0.0.1:65536/x' is not a number "
            "0-65535",
        ),
    ],
)
def test_bad_numbers_are_usage_not_tracebacks(argv: list[str], line: str, taken_port: int) -> None:
    # Commands that would serve are given a taken port: if a bad URL ever slipped
    # through, they fail at once instead of serving forever.
    argv = [arg.replace("{taken}", str(taken_port)) for arg in argv]
    code, out, err = run(*argv, env={"MOMENT_WEBHOOK_SECRET": SECRET})
    assert (code, out) == (2, "")
    assert one_line(err) == line


# --- small pieces ----------------------------------------------------------------------------


def test_the_streams_object_never_shows_the_environment() -> None:
    io = base.Io(env={"MOMENT_API_KEY": KEY, "MOMENT_WEBHOOK_SECRET": SECRET})
    assert KEY not in repr(io)
    assert SECRET not in repr(io)


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "1e999", "x"])
def test_seconds_must_be_positive_and_finite(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="positive number of seconds"):
        base.positive_float(text)
    assert base.positive_float("0.5") == 0.5


def test_api_client_carries_read_only() -> None:
    settings = Settings(api_key=Secret(KEY), read_only=True)
    client = base.api_client(settings)
    assert client is not None
    assert client.read_only is True
    writable = base.api_client(Settings(api_key=Secret(KEY)))
    assert writable is not None
    assert writable.read_only is False
    assert base.api_client(Settings(read_only=True)) is None  # no key: sandbox mode


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (SendResult("msg_1", 200, 3.0, response='  {"verdict": "verified"}\n'), "200 "
         '{"verdict": "verified"}'),
        (SendResult("msg_2", None, 3.0, error="connection refused"), "connection refused"),
        (SendResult("msg_3", 500, 3.0, response="x" * 300), "500 " + "x" * 200),
        (SendResult("msg_4", 204, 3.0), "204 "),
    ],
)  # fmt: skip
def test_answer_text(result: SendResult, text: str) -> None:
    assert answer_text(result) == text


def test_an_unexpected_error_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: Any, io: Any) -> int:
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(cli, "cmd_auth_status", broken)
    code, out, err = run("auth", "status")
    assert (code, out) == (1, "")
    assert one_line(err).startswith("moment-tui: unexpected error (RuntimeError: something")
    assert "MOMENT_DEBUG=1" in err

    with pytest.raises(RuntimeError, match="nobody foresaw"):
        run("auth", "status", env={"MOMENT_DEBUG": "1"})
