"""Kill the headless listener right after its 2xx: the delivery must already be on disk."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from moment_tui.api.models import Bill, BillStatus
from moment_tui.store import catalogue, eventlog
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.outbound import amount_applied_event
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, signed_headers

from .pipeline_helpers import ListenProcess, cli_env, run_cli


def test_a_delivery_acknowledged_then_killed_is_kept(tmp_path: Path) -> None:
    secret = new_webhook_secret()
    env = cli_env(tmp_path)
    webhook_id = new_message_id()
    body = amount_applied_event(4_321, "ZAR", bill_id="bill_crash", customer_id="bcus_crash")
    # The catalogue knows the bill: with no API key, an unknown one would wait, unapplied.
    data = tmp_path / "data" / "moment-tui" / "workspaces" / "sandbox.sqlite3"
    seed = Workspace(data)
    try:
        seed.remember_sync([CRASH_BILL], "looked_up")
    finally:
        seed.close()

    listener = ListenProcess(["--port", "0", "--json", "--secret", secret], env)
    try:
        listener.wait_started()
        with httpx.Client(timeout=10.0) as http:
            response = http.post(
                listener.url, content=body, headers=signed_headers([secret], webhook_id, body)
            )
            # SIGKILL the moment the 2xx is in: no shutdown, no flushing, nothing.
            assert listener.kill() == -9
        assert response.status_code == 200
        assert response.json() == {"verdict": "verified", "webhook_id": webhook_id}
    finally:
        if listener.proc.poll() is None:
            listener.kill()

    events = run_cli(["events", "--json"], env)
    assert events.returncode == 0, events.stderr
    [line] = events.stdout.splitlines()
    logged = json.loads(line)
    assert {k: logged[k] for k in ("seq", "webhook_id", "verdict", "reason", "status")} == {
        "seq": 1,
        "webhook_id": webhook_id,
        "verdict": "verified",
        "reason": None,
        "status": 200,
    }
    assert (logged["amount"], logged["currency"], logged["bill_id"]) == (4_321, "ZAR", "bill_crash")
    assert events.stderr == ""

    # Restarted on the same data directory, the same webhook-id is a duplicate.
    again = ListenProcess(["--port", "0", "--json", "--secret", secret], env)
    try:
        again.wait_started()
        with httpx.Client(timeout=10.0) as http:
            response = http.post(
                again.url, content=body, headers=signed_headers([secret], webhook_id, body)
            )
        assert response.status_code == 200
        answer = response.json()
        assert (answer["verdict"], answer["reason"]) == ("duplicate", "duplicate")
        [printed] = again.json_lines(webhook_id, 1)
        assert (printed["verdict"], printed["status"]) == ("duplicate", 200)
    finally:
        assert again.terminate() == 0
    assert secret not in listener.output() + again.output() + events.stdout + events.stderr

    # Applied exactly once: before the kill, or by the restarted listener's catch-up.
    workspace = Workspace(data)
    try:
        books = workspace.query(eventlog.books)
        found = workspace.query(lambda c: eventlog.find(c, webhook_id))
    finally:
        workspace.close()
    assert (books.stored, books.verified, books.duplicate, books.applied) == (2, 1, 1, 1)
    assert found is not None
    assert (found.seq, found.verdict, found.application) == (1, "verified", "unconfirmed")
    bill = workspace_bill(data)
    assert (bill.amount_paid, bill.amount_remaining) == (4_321, 5_679)


CRASH_BILL = Bill(
    id="bill_crash",
    external_reference="crash-1",
    customer_id="bcus_crash",
    status=BillStatus.UNPAID,
    currency="ZAR",
    amount_due=10_000,
    amount_remaining=10_000,
)


def workspace_bill(path: Path) -> Bill:
    workspace = Workspace(path)
    try:
        entry = workspace.query(lambda c: catalogue.get(c, "bill", "bill_crash"))
    finally:
        workspace.close()
    assert entry is not None
    bill: Bill = entry.obj
    return bill
