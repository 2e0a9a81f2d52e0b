"""``listen``, ``trigger`` and ``events``: a real headless listener in a subprocess, driven
by the other commands run in-process through :func:`moment_tui.cli.main`."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from moment_tui.api.models import (
    DEFAULT_BASE_URL,
    AccountCreate,
    Bill,
    BillCreate,
    BillStatus,
    CustomerCreate,
)
from moment_tui.cli import main
from moment_tui.commands.base import Io
from moment_tui.config import default_data_dir
from moment_tui.secrets import mask
from moment_tui.store.eventlog import Incoming
from moment_tui.store.workspace import Workspace, workspace_path
from moment_tui.webhooks.outbound import amount_applied_event
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret

from .conftest import API_KEY, make_client, ref
from .pipeline_helpers import (
    REPO,
    ListenProcess,
    cli_env,
    listen_process,
    raw_post,
    run_cli,
    signed_headers,
    wait_until,
)

SECRET = new_webhook_secret()
KEY_TEXT = SECRET.removeprefix("whsec_")
AMOUNT_APPLIED = "obligation.amount_applied"
LISTEN_FIELDS = (
    "webhook_id",
    "verdict",
    "reason",
    "status",
    "type",
    "amount",
    "currency",
    "customer_id",
    "account_id",
    "bill_id",
)

PATH_RULE = (
    "a webhook path starts with / and has no spaces, ? or #, and no %-escapes but %2F and %25"
)


@pytest.fixture(scope="module")
def listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ListenProcess]:
    root = tmp_path_factory.mktemp("listen")
    process_iter = listen_process(["--port", "0", "--json", "--secret", SECRET], cli_env(root))
    process = next(process_iter)
    yield process
    with pytest.raises(StopIteration):
        next(process_iter)
    assert process.proc.returncode == 0  # SIGTERM is a clean stop
    assert KEY_TEXT not in process.output()


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    streams = Io(stdout=out, stderr=err, env=dict(os.environ) if env is None else env)
    try:
        code = main(list(args), streams)
    except SystemExit as exit_:  # argparse's own usage errors end this way
        code = int(exit_.code or 0)
    stdout, stderr = out.getvalue(), err.getvalue()
    assert KEY_TEXT not in stdout + stderr, "the secret leaked into the output"
    return code, stdout, stderr


def trigger(listener: ListenProcess, *args: str) -> tuple[int, str, str]:
    return cli("trigger", AMOUNT_APPLIED, "--to", listener.url, "--secret", SECRET, "--json", *args)


def sent_ids(stdout: str) -> list[str]:
    return [json.loads(line)["webhook_id"] for line in stdout.splitlines()]


def remember(*bills: Bill) -> None:
    """Put bills in the catalogue ``trigger`` reads (this test's sandbox workspace)."""
    workspace = Workspace(workspace_path(default_data_dir(), "sandbox", DEFAULT_BASE_URL))
    try:
        workspace.remember_sync(bills, "looked_up")
    finally:
        workspace.close()


def bill(bill_id: str, reference: str, currency: str = "ZAR") -> Bill:
    return Bill(
        id=bill_id,
        external_reference=reference,
        customer_id="bcus_cli",
        account_id="bacc_cli",
        status=BillStatus.UNPAID,
        currency=currency,
        amount_due=10_000,
        amount_remaining=10_000,
    )


def use_listener_data(listener: ListenProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process's platform dirs at the listener's data (for ``events``)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(listener.data_dir))


# --- listen ----------------------------------------------------------------------------------


def test_listen_announces_its_address_first(listener: ListenProcess) -> None:
    port = int(listener.url.split(":")[2].split("/")[0])
    assert 0 < port < 65536
    assert listener.first_line == f"Listening on http://127.0.0.1:{port}/webhooks/moment"
    assert listener.stdout[0] == listener.first_line
    assert listener.stderr == []


def test_listen_goes_on_when_its_stdout_is_closed(tmp_path: Path) -> None:
    """`moment-tui listen | head -1` (a script that wants only the address): the
    listener keeps receiving and storing, says once that output stopped, never a
    traceback, and stops cleanly."""
    env = cli_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moment_tui", "listen", "--port", "0", "--secret", SECRET],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        proc.stdout.close()  # as `head -1` does once it has its line
        for _ in range(3):
            code, _, _ = cli("trigger", AMOUNT_APPLIED, "--to", url, "--secret", SECRET,
                             "--amount", "1.00", "--currency", "ZAR", "--bill", "bill_x",
                             env=env)  # fmt: skip
            assert code == 0
        assert proc.poll() is None  # still listening
        events = run_cli(["events", "--json"], env)  # the listener's own workspace
        assert events.returncode == 0
        verdicts = [json.loads(line)["verdict"] for line in events.stdout.splitlines()]
        assert verdicts == ["verified"] * 3
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0
    note = (
        "moment-tui: standard output was closed; still listening, deliveries are kept"
        " (see moment-tui events)"
    )
    assert stderr.splitlines().count(note) == 1
    assert "Traceback" not in stderr
    assert "Error" not in stderr  # no BrokenPipeError, not even at exit


def test_listen_on_a_taken_port_fails_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stdout, stderr = cli("listen", "--port", str(port), "--secret", SECRET)
    assert (code, stdout) == (1, "")
    [line] = stderr.splitlines()
    assert line.startswith(f"moment-tui: listen: cannot listen on 127.0.0.1:{port}: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--port", "70000"],
            "moment-tui listen: argument --port: a port is 0-65535, not '70000' "
            "(see moment-tui listen --help)",
        ),
        (
            ["--path", "webhooks"],
            f"moment-tui: --path: {PATH_RULE}, got 'webhooks'",
        ),
        (
            ["--path", "/x?y=1"],
            f"moment-tui: --path: {PATH_RULE}, got '/x?y=1'",
        ),
        (
            ["--path", "/a b"],
            f"moment-tui: --path: {PATH_RULE}, got '/a b'",
        ),
        (["--secret", "whsec_?"], "moment-tui: --secret: the part after whsec_ must be base64"),
        # All-digit labels read as an address, and this one is none: bad usage, not a
        # failure to bind (exit 1) after trying to resolve it as a name.
        (["--host", "999.1.1.1"], "moment-tui: --host: '999.1.1.1' is not a host name or address"),
        (["--host", "a b"], "moment-tui: --host: 'a b' is not a host name or address"),
    ],
)
def test_listen_bad_usage(args: list[str], message: str) -> None:
    code, stdout, stderr = cli("listen", *args)
    assert (code, stdout) == (2, "")
    assert stderr.splitlines() == [message]


def test_listen_notes_a_secret_too_short_to_be_whole(tmp_path: Path) -> None:
    """As login does: a 3-byte secret is most likely one not copied whole."""
    short = "whsec_Zm9v"
    listening = listen_process(["--port", "0", "--secret", short], cli_env(tmp_path))
    process = next(listening)
    with pytest.raises(StopIteration):
        next(listening)
    assert process.stderr == [
        "Note: whsec_… decodes to 3 bytes, and Standard Webhooks secrets are 24 to 64: "
        "check that it was copied whole."
    ]


@pytest.mark.parametrize("target", ["--bill", "--account", "--customer"])
def test_trigger_with_an_empty_id_is_bad_usage(target: str) -> None:
    """``--bill ''`` read as no bill crashed; ``--customer ''`` sent an empty id."""
    code, stdout, stderr = cli(
        "trigger", AMOUNT_APPLIED, "--to", "http://127.0.0.1:9/x", "--secret", SECRET,
        "--amount", "1", target, " ",
    )  # fmt: skip
    assert (code, stdout) == (2, "")
    assert stderr.splitlines() == [
        f"moment-tui trigger: argument {target}: expected a value, not an empty string "
        "(see moment-tui trigger --help)"
    ]


def test_trigger_sends_a_verified_event_the_listener_logs(listener: ListenProcess) -> None:
    remember(bill("bill_cli1", "INV-CLI-1"))
    code, stdout, stderr = trigger(
        listener, "--amount", "20.00", "--currency", "ZAR", "--bill", "bill_cli1"
    )
    assert code == 0, stderr
    [result] = [json.loads(line) for line in stdout.splitlines()]
    assert (result["status"], result["accepted"], result["error"]) == (200, True, None)
    assert json.loads(result["response"]) == {
        "verdict": "verified",
        "webhook_id": result["webhook_id"],
    }
    assert stderr == "bill bill_cli1: ids from the workspace catalogue\n"
    [logged] = listener.json_lines(result["webhook_id"], 1)
    assert {name: logged[name] for name in LISTEN_FIELDS} == {
        "webhook_id": result["webhook_id"],
        "verdict": "verified",
        "reason": None,
        "status": 200,
        "type": AMOUNT_APPLIED,
        "amount": 2000,
        "currency": "ZAR",
        "customer_id": "bcus_cli",
        "account_id": "bacc_cli",
        "bill_id": "bill_cli1",
    }
    assert logged["matched_secret"] == mask(SECRET)
    assert logged["seq"] >= 1


def test_trigger_by_reference_and_without_a_catalogue_entry(listener: ListenProcess) -> None:
    remember(bill("bill_cli2", "INV-CLI-2"))
    code, stdout, _ = trigger(listener, "--amount", "1", "--bill", "INV-CLI-2")
    assert code == 0
    [by_reference] = listener.json_lines(sent_ids(stdout)[0], 1)
    assert (by_reference["bill_id"], by_reference["amount"]) == ("bill_cli2", 100)
    code, stdout, stderr = trigger(listener, "--amount", "0.05", "--account", "bacc_unknown")
    assert code == 0
    assert stderr == "account bacc_unknown: ids as given (no catalogue entry, no API key)\n"
    [as_given] = listener.json_lines(sent_ids(stdout)[0], 1)
    assert (as_given["account_id"], as_given["customer_id"], as_given["bill_id"]) == (
        "bacc_unknown",
        None,
        None,
    )
    assert as_given["amount"] == 5


def test_repeat_with_the_same_id_drills_idempotency(listener: ListenProcess) -> None:
    code, stdout, stderr = trigger(
        listener, "--amount", "20.00", "--bill", "bill_cli3", "--repeat", "3", "--same-id"
    )
    assert code == 0, stderr
    ids = sent_ids(stdout)
    assert len(ids) == 3
    assert len(set(ids)) == 1
    logged = listener.json_lines(ids[0], 3)
    assert [(line["verdict"], line["reason"], line["status"]) for line in logged] == [
        ("verified", None, 200),
        ("duplicate", "duplicate", 200),
        ("duplicate", "duplicate", 200),
    ]
    assert {line["amount"] for line in logged} == {2000}


def test_repeat_without_same_id_sends_distinct_events(listener: ListenProcess) -> None:
    code, stdout, _ = trigger(
        listener, "--amount", "3.00", "--customer", "bcus_cli", "--repeat", "2"
    )
    assert code == 0
    ids = sent_ids(stdout)
    assert len(set(ids)) == 2
    for webhook_id in ids:
        [line] = listener.json_lines(webhook_id, 1)
        assert (line["verdict"], line["customer_id"], line["amount"]) == (
            "verified",
            "bcus_cli",
            300,
        )


@pytest.mark.parametrize(
    ("flag", "status", "reason"),
    [("--tamper", 401, "no_matching_signature"), ("--stale", 401, "timestamp_too_old")],
)
def test_deliberately_bad_deliveries_are_rejected(
    listener: ListenProcess, flag: str, status: int, reason: str
) -> None:
    code, stdout, stderr = trigger(listener, "--amount", "20.00", "--bill", "bill_cli4", flag)
    assert code == 1
    [result] = [json.loads(line) for line in stdout.splitlines()]
    assert (result["status"], result["accepted"]) == (status, False)
    assert json.loads(result["response"])["reason"] == reason
    assert stderr.splitlines()[-1] == "1 of 1 deliveries were not accepted"
    [logged] = listener.json_lines(result["webhook_id"], 1)
    assert (logged["verdict"], logged["reason"], logged["status"]) == ("rejected", reason, status)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--secret", SECRET, "--amount", "20.00"],
            "moment-tui trigger: one of the arguments --bill --account --customer is required "
            "(see moment-tui trigger --help)",
        ),
        (
            ["--secret", SECRET, "--amount", "20.001", "--bill", "bill_x"],
            "moment-tui: --amount/--currency: '20.001' has too many decimals: ZAR takes at most "
            "2 decimal places",
        ),
        (
            ["--secret", SECRET, "--amount", "abc", "--bill", "bill_x"],
            "moment-tui: --amount/--currency: 'abc' is not an amount",
        ),
        (
            ["--secret", "whsec_!!!!", "--amount", "20.00", "--bill", "bill_x"],
            "moment-tui: --secret: the part after whsec_ must be base64",
        ),
        (
            ["--secret", KEY_TEXT, "--amount", "20.00", "--bill", "bill_x"],
            "moment-tui: --secret: a webhook signing secret starts with whsec_",
        ),
        (
            ["--amount", "20.00", "--bill", "bill_x"],
            "moment-tui: trigger needs a signing secret: --secret whsec_… or MOMENT_WEBHOOK_SECRET",
        ),
        (
            ["--secret", SECRET, "--amount", "20.00", "--bill", "bill_x", "--repeat", "0"],
            "moment-tui trigger: argument --repeat: expected a whole number from 1 to 1,000,000, "
            "not '0' (see moment-tui trigger --help)",
        ),
        (
            ["--secret", SECRET, "--amount", "1", "--bill", "bill_x", "--repeat", "1000001"],
            "moment-tui trigger: argument --repeat: expected a whole number from 1 to 1,000,000, "
            "not '1000001' (see moment-tui trigger --help)",
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    listener: ListenProcess, args: list[str], message: str
) -> None:
    code, stdout, stderr = cli("trigger", AMOUNT_APPLIED, "--to", listener.url, *args)
    assert (code, stdout) == (2, "")
    assert stderr.splitlines() == [message]


def test_a_bad_url_or_event_type_is_usage_too(listener: ListenProcess) -> None:
    code, _, stderr = cli(
        "trigger", AMOUNT_APPLIED, "--to", "ftp://example", "--secret", SECRET,
        "--amount", "1", "--bill", "bill_x",
    )  # fmt: skip
    assert code == 2
    assert stderr.splitlines() == [
        "moment-tui: --to: a webhook destination must be an http(s)://HOST[:PORT]/PATH URL,"
        " got 'ftp://example'"
    ]
    code, _, stderr = cli(
        "trigger", "bill.created", "--to", listener.url, "--secret", SECRET,
        "--amount", "1", "--bill", "bill_x",
    )  # fmt: skip
    assert code == 2
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("moment-tui trigger: argument obligation.amount_applied: invalid")


def test_a_currency_that_does_not_match_the_object_is_refused(listener: ListenProcess) -> None:
    remember(bill("bill_usd", "INV-USD", currency="USD"))
    code, stdout, stderr = trigger(listener, "--amount", "1.00", "--bill", "bill_usd")
    assert (code, stdout) == (1, "")
    assert stderr == (
        "moment-tui: trigger: bill bill_usd is in USD, not ZAR; pass --currency to match\n"
    )


# --- events ----------------------------------------------------------------------------------


def stored_tail(listener: ListenProcess, count: int) -> list[tuple[int, str, str]]:
    path = listener.data_dir / "moment-tui" / "workspaces" / "sandbox.sqlite3"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, webhook_id, verdict FROM deliveries ORDER BY seq DESC LIMIT ?", (count,)
        ).fetchall()
    finally:
        conn.close()
    return [tuple(row) for row in reversed(rows)]


def test_events_lists_the_newest_deliveries(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stdout, _ = trigger(listener, "--amount", "7.00", "--bill", "bill_cli5", "--repeat", "2")
    assert code == 0
    last = sent_ids(stdout)[-1]
    listener.json_lines(last, 1)
    use_listener_data(listener, monkeypatch)
    code, stdout, stderr = cli("events", "--limit", "3", "--json")
    assert (code, stderr) == (0, "")
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [(d["seq"], d["webhook_id"], d["verdict"]) for d in lines] == stored_tail(listener, 3)
    assert lines[-1]["webhook_id"] == last
    assert set(LISTEN_FIELDS) <= set(lines[-1])
    assert (lines[-1]["amount"], lines[-1]["reason"]) == (700, None)
    code, stdout, _ = cli("events", "--limit", "1")
    assert code == 0
    [line] = stdout.splitlines()
    seq = stored_tail(listener, 1)[0][0]
    assert line.startswith(f"#{seq:<6} ")
    assert "verified" in line
    assert "obligation.amount_applied" in line
    assert "bill bill_cli5" in line


def test_events_json_says_what_each_event_did(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before/after values of what an event changed, beside the delivery."""
    known = bill("bill_cli9", "INV-CLI-9")
    theirs = Workspace(workspace_path(listener.data_dir / "moment-tui", "sandbox", ""))
    try:
        theirs.remember_sync([known], "looked_up")  # the listener's own catalogue
    finally:
        theirs.close()
    code, stdout, _ = trigger(listener, "--amount", "5.00", "--bill", "bill_cli9")
    assert code == 0
    [webhook_id] = sent_ids(stdout)
    use_listener_data(listener, monkeypatch)

    def applied() -> dict[str, Any] | None:
        _, out, _ = cli("events", "--limit", "1", "--json")
        [line] = [json.loads(x) for x in out.splitlines()]
        assert line["webhook_id"] == webhook_id
        result: dict[str, Any] | None = line["applied"]
        return result

    result = wait_until(applied)
    assert (result["outcome"], result["state"]) == ("applied", "unconfirmed")
    assert result["target"] == {"kind": "bill", "id": "bill_cli9"}
    changes = {c["field"]: (c["before"], c["after"]) for c in result["changes"]}
    assert changes["amount_paid"] == (known.amount_paid, known.amount_paid + 500)
    assert changes["amount_remaining"] == (known.amount_remaining, known.amount_remaining - 500)
    assert result["drift"] == []


def test_events_replay_keeps_the_webhook_id(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stdout, _ = trigger(listener, "--amount", "9.99", "--bill", "bill_cli6")
    assert code == 0
    [webhook_id] = sent_ids(stdout)
    [original] = listener.json_lines(webhook_id, 1)
    use_listener_data(listener, monkeypatch)
    env = dict(os.environ, MOMENT_WEBHOOK_SECRET=SECRET)
    code, stdout, stderr = cli(
        "events", "replay", str(original["seq"]), "--to", listener.url, "--json", env=env
    )
    assert (code, stderr) == (0, "")
    [result] = [json.loads(line) for line in stdout.splitlines()]
    assert (result["webhook_id"], result["status"]) == (webhook_id, 200)
    assert json.loads(result["response"])["verdict"] == "duplicate"
    # By webhook-id too, in the plain format.
    code, stdout, _ = cli("events", "replay", webhook_id, "--to", listener.url, env=env)
    assert code == 0
    assert stdout.startswith(f"replayed #{original['seq']} ({webhook_id}) → 200 ")
    logged = listener.json_lines(webhook_id, 3)
    assert [line["verdict"] for line in logged] == ["verified", "duplicate", "duplicate"]
    assert [line["seq"] > original["seq"] for line in logged[1:]] == [True, True]
    assert {line["amount"] for line in logged} == {999}


def test_events_replay_of_something_unknown_is_usage(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One delivery of its own, so "1" below exists whichever tests ran before.
    code, stdout, _ = trigger(listener, "--amount", "1.00", "--bill", "bill_usage")
    assert code == 0
    [sent] = sent_ids(stdout)
    [logged] = listener.json_lines(sent, 1)
    use_listener_data(listener, monkeypatch)
    env = dict(os.environ, MOMENT_WEBHOOK_SECRET=SECRET)
    code, stdout, stderr = cli("events", "replay", "msg_never", "--to", listener.url, env=env)
    assert (code, stdout) == (2, "")
    assert stderr == (
        "moment-tui: no delivery 'msg_never' in the event log (see moment-tui events)\n"
    )
    # A seq far past SQLite's integers is simply no delivery (it overflowed before).
    huge = "9" * 30
    code, stdout, stderr = cli("events", "replay", huge, "--to", listener.url, env=env)
    assert (code, stdout) == (2, "")
    assert stderr == f"moment-tui: no delivery '{huge}' in the event log (see moment-tui events)\n"
    code, _, stderr = cli("events", "replay", str(logged["seq"]), "--to", listener.url)
    assert code == 2
    assert stderr == (
        "moment-tui: replay signs afresh and needs MOMENT_WEBHOOK_SECRET (or login)\n"
    )


def test_events_on_an_empty_log() -> None:
    code, stdout, stderr = cli("events", "--json")
    assert (code, stdout, stderr) == (0, "", "")
    code, stdout, stderr = cli("events")
    assert (code, stdout) == (0, "")
    assert stderr.startswith("No deliveries yet in ")


def log_rejected(count: int) -> None:
    """Put ``count`` rejected deliveries in this test's own (sandbox) event log."""
    workspace = Workspace(workspace_path(default_data_dir(), "sandbox", DEFAULT_BASE_URL))
    try:
        for i in range(count):
            workspace.record_sync(
                Incoming(
                    received_at="2025-06-18T08:45:00.000Z",
                    remote="127.0.0.1",
                    headers={"webhook-id": f"msg_more{i}"},
                    body=b"{}",
                    body_size=2,
                    verified=False,
                    reason="no_matching_signature",
                    message="rejected: no_matching_signature",
                    status=401,
                    webhook_id=f"msg_more{i}",
                )
            )
    finally:
        workspace.close()


def test_events_says_when_it_shows_only_the_newest() -> None:
    log_rejected(21)
    code, stdout, stderr = cli("events")
    assert code == 0
    assert len(stdout.splitlines()) == 20  # the stated default
    assert stdout.splitlines()[-1].startswith("#21 ")
    assert stderr == "Showing the last 20 of 21 deliveries (--limit N for more).\n"
    code, stdout, stderr = cli("events", "--limit", "2")
    assert (code, len(stdout.splitlines())) == (0, 2)
    assert stderr == "Showing the last 2 of 21 deliveries (--limit N for more).\n"
    # Everything shown: nothing to say.
    code, stdout, stderr = cli("events", "--limit", "21")
    assert (code, len(stdout.splitlines()), stderr) == (0, 21, "")
    # --json: stdout is only the data, and stderr stays quiet for the script.
    code, stdout, stderr = cli("events", "--limit", "2", "--json")
    assert (code, stderr) == (0, "")
    assert [json.loads(line)["webhook_id"] for line in stdout.splitlines()] == [
        "msg_more19",
        "msg_more20",
    ]


def test_reading_the_log_of_a_fresh_machine_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = cli_env(tmp_path, MOMENT_WEBHOOK_SECRET=SECRET)
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])  # platformdirs reads these
    monkeypatch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    code, stdout, stderr = cli("events", env=env)
    assert (code, stdout) == (0, "")
    path = tmp_path / "data" / "moment-tui" / "workspaces" / "sandbox.sqlite3"
    assert stderr == f"No deliveries yet in {path}\n"
    code, _, stderr = cli("events", "replay", "1", "--to", "http://127.0.0.1:9/x", env=env)
    assert code == 2
    assert stderr == "moment-tui: no delivery '1' in the event log (see moment-tui events)\n"
    assert not (tmp_path / "data").exists()  # no workspace, no directories


# --- top-level flags ---------------------------------------------------------------------------


def test_top_level_sandbox_flag_reaches_trigger(listener: ListenProcess) -> None:
    remember(bill("bill_cliflag", "INV-CLI-FLAG"))
    with socket.socket() as closed:  # the API a key would send trigger to: nothing listens
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    env = dict(os.environ, MOMENT_API_KEY="sk_test_triggerFlag4eC39Hq", MOMENT_API_URL=nowhere)
    code, stdout, stderr = cli(
        "--sandbox", "trigger", AMOUNT_APPLIED, "--to", listener.url, "--secret", SECRET,
        "--json", "--amount", "1.50", "--bill", "bill_cliflag", env=env,
    )  # fmt: skip
    assert code == 0, stderr
    assert stderr == "bill bill_cliflag: ids from the workspace catalogue\n"
    [logged] = listener.json_lines(sent_ids(stdout)[0], 1)
    assert (logged["bill_id"], logged["account_id"], logged["amount"]) == (
        "bill_cliflag",
        "bacc_cli",
        150,
    )


def test_replay_prints_the_handlers_answer(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stdout, _ = trigger(listener, "--amount", "2.00", "--bill", "bill_cli7")
    assert code == 0
    [webhook_id] = sent_ids(stdout)
    [original] = listener.json_lines(webhook_id, 1)
    use_listener_data(listener, monkeypatch)
    env = dict(os.environ, MOMENT_WEBHOOK_SECRET=SECRET)
    code, stdout, _ = cli("events", "replay", str(original["seq"]), "--to", listener.url, env=env)
    assert code == 0
    [line] = stdout.splitlines()
    prefix = f"replayed #{original['seq']} ({webhook_id}) → 200 "
    assert line.startswith(prefix)
    answer = json.loads(line.removeprefix(prefix))
    assert (answer["verdict"], answer["webhook_id"]) == ("duplicate", webhook_id)


def test_replaying_a_rejected_delivery_sends_it_as_received(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forged delivery replayed is still a forgery: never signed afresh here."""
    code, stdout, _ = trigger(listener, "--amount", "20.00", "--bill", "bill_cli8", "--tamper")
    assert code == 1
    [webhook_id] = sent_ids(stdout)
    [original] = listener.json_lines(webhook_id, 1)
    assert (original["verdict"], original["reason"]) == ("rejected", "no_matching_signature")
    use_listener_data(listener, monkeypatch)
    env = dict(os.environ, MOMENT_WEBHOOK_SECRET=SECRET)
    code, stdout, stderr = cli(
        "events", "replay", str(original["seq"]), "--to", listener.url, "--json", env=env
    )
    assert code == 1  # the target rejected it again
    [result] = [json.loads(line) for line in stdout.splitlines()]
    assert (result["webhook_id"], result["status"], result["as_received"]) == (
        webhook_id,
        401,
        True,
    )
    assert json.loads(result["response"])["reason"] == "no_matching_signature"
    logged = listener.json_lines(webhook_id, 2)
    assert [(line["verdict"], line["amount"]) for line in logged] == [
        ("rejected", None),
        ("rejected", None),
    ]
    # The plain format says how it went out; no secret is needed to send it as it was.
    code, stdout, stderr = cli("events", "replay", str(original["seq"]), "--to", listener.url)
    assert (code, stderr) == (1, "")
    assert stdout.startswith(
        f"replayed #{original['seq']} ({webhook_id}) as received "
        "(rejected: no_matching_signature) → 401 "
    )


def test_replaying_a_gzip_delivery_meets_the_same_refusal(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored still compressed, so it goes out with its Content-Encoding: the handler
    meets 415 again, not a body that looks like junk."""
    body = gzip.compress(amount_applied_event(100, "ZAR", bill_id="bill_gz"))
    webhook_id = new_message_id()
    headers = {**signed_headers([SECRET], webhook_id, body), "content-encoding": "gzip"}
    status, _, _ = raw_post(listener.url, list(headers.items()), body)
    assert status == 415
    [original] = listener.json_lines(webhook_id, 1)
    use_listener_data(listener, monkeypatch)
    code, stdout, _ = cli("events", "replay", str(original["seq"]), "--to", listener.url, "--json")
    assert code == 1
    [result] = [json.loads(line) for line in stdout.splitlines()]
    assert (result["status"], result["as_received"]) == (415, True)
    assert json.loads(result["response"])["reason"] == "unsupported_encoding"
    logged = listener.json_lines(webhook_id, 2)
    assert [line["reason"] for line in logged] == ["unsupported_encoding"] * 2


def test_an_over_size_delivery_cannot_be_replayed(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    status, _, _ = raw_post(
        listener.url, [("webhook-id", "msg_cli_big"), ("content-type", "application/json")], body
    )
    assert status == 413
    [original] = listener.json_lines("msg_cli_big", 1)
    use_listener_data(listener, monkeypatch)
    code, stdout, stderr = cli("events", "replay", "msg_cli_big", "--to", listener.url)
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"moment-tui: replay: #{original['seq']} was over the size limit and only the head of "
        "its body was kept; it cannot be sent again\n"
    )
    # Nothing was sent: replay returns only after the target answered, so a second
    # copy would already be in the log.
    assert [row[1:] for row in stored_tail(listener, 1)] == [("msg_cli_big", "rejected")]


def test_a_delivery_whose_body_did_not_arrive_whole_cannot_be_replayed(
    listener: ListenProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = listener.url.split("/")[2].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sender:
        sender.sendall(
            b"POST /webhooks/moment HTTP/1.1\r\nHost: x\r\nwebhook-id: msg_cli_cut\r\n"
            b"content-type: application/json\r\ncontent-length: 100\r\n\r\n" + b'{"id":'
        )  # and hangs up
    [original] = listener.json_lines("msg_cli_cut", 1)
    assert original["reason"] == "body_unreadable"
    use_listener_data(listener, monkeypatch)
    code, stdout, stderr = cli("events", "replay", "msg_cli_cut", "--to", listener.url)
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"moment-tui: replay: #{original['seq']}'s body did not arrive whole (only what did"
        " is kept); it cannot be sent again as it arrived\n"
    )
    assert [row[1:] for row in stored_tail(listener, 1)] == [("msg_cli_cut", "rejected")]


def test_trigger_to_a_handler_url_with_a_query_and_its_own_trailing_slash(
    tmp_path: Path,
) -> None:
    """Sent exactly where it was told: the query and the trailing / are the handler's."""
    seen: list[str] = []

    async def scenario() -> tuple[int, str, str]:
        async def handler(request: web.Request) -> web.Response:
            seen.append(str(request.rel_url))
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/hooks/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await asyncio.to_thread(
                cli, "trigger", AMOUNT_APPLIED, "--to", f" http://127.0.0.1:{port}/hooks/?token=abc",
                "--secret", SECRET, "--amount", "1.00", "--currency", "ZAR", "--bill", "bill_q",
            )  # fmt: skip
        finally:
            await runner.cleanup()

    code, _, stderr = asyncio.run(scenario())
    assert code == 0, stderr
    assert seen == ["/hooks/?token=abc"]


def test_trigger_looks_an_unknown_object_up_through_the_api(
    listener: ListenProcess,
    sandbox_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No catalogue entry, but a key: the ids come from the API, and the copy is kept."""

    async def create() -> Bill:
        async with make_client(sandbox_url) as client:
            customer = await client.create_customer(CustomerCreate(external_reference=ref("tc")))
            account = await client.create_account(
                AccountCreate(customer=customer.id, external_reference=ref("ta"))
            )
            return await client.create_bill(
                BillCreate(
                    external_reference=ref("tb"),
                    currency="ZAR",
                    amount_due=5000,
                    account=account.id,
                )
            )

    made = asyncio.run(create())
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # an empty catalogue
    env = dict(os.environ, MOMENT_API_KEY=API_KEY, MOMENT_API_URL=sandbox_url)
    code, stdout, stderr = trigger_with(
        listener, env, "--amount", "12.34", "--bill", made.external_reference
    )
    assert (code, stderr) == (0, f"bill {made.id}: ids from {sandbox_url}\n")
    [logged] = listener.json_lines(sent_ids(stdout)[0], 1)
    assert (logged["bill_id"], logged["account_id"], logged["customer_id"], logged["amount"]) == (
        made.id,
        made.account_id,
        made.customer_id,
        1234,
    )
    # Looked up once: the next trigger finds it in the catalogue.
    code, _, stderr = trigger_with(listener, env, "--amount", "1.00", "--bill", made.id)
    assert (code, stderr) == (0, f"bill {made.id}: ids from the workspace catalogue\n")
    # An object the API does not have is a failure the user can act on.
    code, stdout, stderr = trigger_with(listener, env, "--amount", "1.00", "--bill", "bill_nope")
    assert (code, stdout) == (1, "")
    assert stderr == (f"moment-tui: trigger: bill 'bill_nope' does not exist at {sandbox_url}\n")
    assert API_KEY not in stdout + stderr


def trigger_with(listener: ListenProcess, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return cli(
        "trigger", AMOUNT_APPLIED, "--to", listener.url, "--secret", SECRET, "--json", *args,
        env=env,
    )  # fmt: skip
