"""The event log on a real SQLite file: verdicts, duplicates, redaction, trim, queries."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moment_tui.cli import main
from moment_tui.commands.base import Io
from moment_tui.config import default_data_dir
from moment_tui.store import applications, eventlog
from moment_tui.store import workspace as workspace_module
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Books, Delivery, Incoming
from moment_tui.store.workspace import Workspace, workspace_path

AMOUNT_APPLIED = "obligation.amount_applied"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "events.sqlite3")
    yield workspace
    workspace.close()


def incoming(
    webhook_id: str | None = "msg_1",
    *,
    verified: bool = True,
    reason: str | None = None,
    status: int = 200,
    at: str = "2025-06-18T08:45:00.000Z",
    headers: dict[str, str] | None = None,
    body: bytes = b'{"id":"evt_1"}',
    event_type: str | None = AMOUNT_APPLIED,
    amount: int | None = 1500,
    bill_id: str | None = "bill_1",
    event_id: str | None = None,
    **extra: Any,
) -> Incoming:
    """A delivery; its event id follows its webhook-id unless given (one event each)."""
    return Incoming(
        received_at=at,
        remote="127.0.0.1",
        headers=headers if headers is not None else {"webhook-id": webhook_id or ""},
        body=body,
        body_size=len(body),
        verified=verified,
        reason=reason,
        message="verified with secret whsec_…SE=" if verified else f"rejected: {reason}",
        status=status,
        webhook_id=webhook_id,
        event_id=(event_id or f"evt_{webhook_id}") if verified else None,
        event_type=event_type if verified else None,
        amount=amount if verified else None,
        currency="ZAR" if verified else None,
        bill_id=bill_id if verified else None,
        **extra,
    )


def rejected(webhook_id: str | None = "msg_1", reason: str = "no_matching_signature") -> Incoming:
    return incoming(webhook_id, verified=False, reason=reason, status=401)


def record(ws: Workspace, item: Incoming) -> Delivery:
    return ws.record_sync(item)


def test_a_verified_delivery_is_stored_with_everything(ws: Workspace) -> None:
    item = incoming(
        "msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh",
        customer_id="bcus_1",
        account_id="bacc_1",
        matched_secret="whsec_…SE=",
        headers={"webhook-id": "msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh", "webhook-timestamp": "1"},
        event_id="evt_1",
    )
    stored = record(ws, item)
    assert stored == Delivery(
        seq=1,
        webhook_id="msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh",
        received_at="2025-06-18T08:45:00.000Z",
        verdict="verified",
        reason=None,
        message="verified with secret whsec_…SE=",
        status=200,
        event_id="evt_1",
        event_type=AMOUNT_APPLIED,
        amount=1500,
        currency="ZAR",
        customer_id="bcus_1",
        account_id="bacc_1",
        bill_id="bill_1",
        matched_secret="whsec_…SE=",
    )
    assert ws.query(lambda c: eventlog.find(c, "1")) == stored
    assert ws.query(lambda c: eventlog.find(c, "msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh")) == stored
    assert stored.target() == ("bill", "bill_1")


def test_a_second_verified_copy_is_a_duplicate_of_the_first(ws: Workspace) -> None:
    first = record(ws, incoming("msg_dup", at="2025-06-18T08:45:00.000Z"))
    second = record(ws, incoming("msg_dup", at="2025-06-18T08:46:00.000Z"))
    third = record(ws, incoming("msg_dup", at="2025-06-18T08:47:00.000Z"))
    assert (first.verdict, first.duplicate_of) == ("verified", None)
    for copy, seq in ((second, 2), (third, 3)):
        assert copy.seq == seq
        assert copy.verdict == "duplicate"
        assert copy.reason == "duplicate"
        assert copy.duplicate_of == first.seq
        assert copy.status == 200
        assert copy.message == (
            "already received at 2025-06-18T08:45:00.000Z (#1); acknowledged, not applied again"
        )
    assert ws.query(lambda c: eventlog.find(c, "2")) == second
    # By webhook-id the verified copy comes first.
    assert ws.query(lambda c: eventlog.find(c, "msg_dup")) == first
    assert ws.query(eventlog.books).duplicate == 2


def test_rejected_rows_do_not_block_a_later_valid_delivery(ws: Workspace) -> None:
    bad = record(ws, rejected("msg_retry"))
    also_bad = record(ws, rejected("msg_retry", "timestamp_too_old"))
    good = record(ws, incoming("msg_retry"))
    bad_again = record(ws, rejected("msg_retry"))
    assert [d.verdict for d in (bad, also_bad, good, bad_again)] == [
        "rejected",
        "rejected",
        "verified",
        "rejected",
    ]
    assert bad_again.duplicate_of is None
    assert ws.query(lambda c: eventlog.find(c, "msg_retry")) == good
    assert (also_bad.reason, also_bad.status) == ("timestamp_too_old", 401)


def test_credentials_in_headers_are_redacted(ws: Workspace) -> None:
    headers = {
        "Authorization": "Bearer sk_test_secret",
        "Cookie": "session=abc",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        "Set-Cookie": "x=y",
        "X-API-Key": "key",
        "X-Webhook-Secret": "whsec_leakedbyaproxy",  # by name: anything naming a credential
        "X-Auth-Token": "t0k3n",
        "webhook-id": "msg_h",
        "webhook-signature": "v1,abc=",
        "webhook-timestamp": "1700000000",
        "User-Agent": "Svix-Webhooks/1.0",
    }
    stored = record(ws, incoming("msg_h", headers=headers, body=b'{"exact": "bytes" }\n'))
    raw = ws.query(lambda c: eventlog.raw(c, stored.seq))
    assert raw == (
        {
            "Authorization": "(redacted)",
            "Cookie": "(redacted)",
            "proxy-authorization": "(redacted)",
            "Set-Cookie": "(redacted)",
            "X-API-Key": "(redacted)",
            "X-Webhook-Secret": "(redacted)",
            "X-Auth-Token": "(redacted)",
            "webhook-id": "msg_h",
            "webhook-signature": "v1,abc=",  # what verification and replay need is kept
            "webhook-timestamp": "1700000000",
            "User-Agent": "Svix-Webhooks/1.0",
        },
        b'{"exact": "bytes" }\n',
    )
    text = (Path(ws.path)).read_bytes() + Path(f"{ws.path}-wal").read_bytes()
    assert b"sk_test_secret" not in text
    assert b"session=abc" not in text
    assert b"whsec_leakedbyaproxy" not in text


def test_raw_keeps_non_utf8_bodies_byte_for_byte(ws: Workspace) -> None:
    body = bytes(range(256))
    stored = record(ws, incoming("msg_bin", body=body))
    assert ws.query(lambda c: eventlog.raw(c, stored.seq)) == ({"webhook-id": "msg_bin"}, body)
    assert ws.query(lambda c: eventlog.raw(c, 999)) is None


def test_trim_keeps_the_newest_non_verified(ws: Workspace) -> None:
    kinds = []
    for i in range(12):
        if i % 3 == 0:
            record(ws, incoming(f"msg_v{i}"))
            kinds.append("verified")
        elif i % 3 == 1:
            record(ws, rejected(f"msg_r{i}"))
            kinds.append("rejected")
        else:
            record(ws, incoming(f"msg_v{i - 2}"))  # a duplicate of the verified one
            kinds.append("duplicate")
    assert kinds.count("verified") == 4
    assert ws.writer.call(lambda c: eventlog.trim(c, 3)) == 5
    left = ws.query(lambda c: eventlog.latest(c, limit=100))
    assert [(d.seq, d.verdict) for d in reversed(left)] == [
        (1, "verified"),
        (4, "verified"),
        (7, "verified"),
        (9, "duplicate"),
        (10, "verified"),
        (11, "rejected"),
        (12, "duplicate"),
    ]
    assert ws.writer.call(lambda c: eventlog.trim(c, 3)) == 0
    assert ws.writer.call(lambda c: eventlog.trim(c, 0)) == 3
    assert {d.verdict for d in ws.query(lambda c: eventlog.latest(c))} == {"verified"}


async def test_recording_trims_to_the_retention_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_module, "TRIM_EVERY", 10)
    workspace = Workspace(tmp_path / "retention.sqlite3", retention=4)
    try:
        await workspace.record(incoming("msg_keep"))
        for i in range(10):
            await workspace.record(rejected(f"msg_r{i}"))
        await workspace.writer.submit(lambda conn: None)  # after the trim queued behind it
        left = await workspace.read(lambda c: eventlog.latest(c, limit=100))
        assert [d.webhook_id for d in reversed(left)] == [
            "msg_keep",
            "msg_r6",
            "msg_r7",
            "msg_r8",
            "msg_r9",
        ]
    finally:
        await asyncio.to_thread(workspace.close)


def test_the_bound_holds_across_short_runs(tmp_path: Path) -> None:
    """Runs that each store fewer than TRIM_EVERY rejections: opening trims."""
    path = tmp_path / "runs.sqlite3"
    for run in range(3):
        workspace = Workspace(path, retention=4)
        try:
            for i in range(3):
                workspace.record_sync(rejected(f"msg_run{run}_{i}"))
        finally:
            workspace.close()
    workspace = Workspace(path, retention=4)
    try:
        left = workspace.query(lambda c: eventlog.latest(c, limit=100))
        assert [d.webhook_id for d in reversed(left)] == [
            "msg_run1_2",
            "msg_run2_0",
            "msg_run2_1",
            "msg_run2_2",
        ]
    finally:
        workspace.close()


def test_record_sync_trims_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workspace_module, "TRIM_EVERY", 5)
    workspace = Workspace(tmp_path / "sync.sqlite3", retention=2)
    try:
        workspace.record_sync(incoming("msg_keep"))
        for i in range(5):
            workspace.record_sync(rejected(f"msg_s{i}"))
        left = workspace.query(lambda c: eventlog.latest(c, limit=100))
        assert [d.webhook_id for d in reversed(left)] == ["msg_keep", "msg_s3", "msg_s4"]
    finally:
        workspace.close()


def test_books_count_every_verdict_and_application(ws: Workspace) -> None:
    first = record(ws, incoming("msg_a"))
    second = record(ws, incoming("msg_b"))
    record(ws, incoming("msg_c"))
    record(ws, incoming("msg_a"))
    record(ws, rejected("msg_x"))
    record(ws, incoming("msg_y", verified=False, reason="body_too_large", status=413))

    def apply(conn: sqlite3.Connection, delivery: Delivery, state: str) -> None:
        assert delivery.webhook_id is not None
        applications.insert(
            conn,
            Application(
                delivery_seq=delivery.seq,
                webhook_id=delivery.webhook_id,
                applied_at="2025-06-18T08:45:01.000Z",
                outcome="applied",
                target_kind="bill",
                target_id="bill_1",
                state=state,  # type: ignore[arg-type]
            ),
        )

    ws.writer.call(lambda c: apply(c, first, "confirmed"))
    ws.writer.call(lambda c: apply(c, second, "drift"))
    assert ws.query(eventlog.books) == Books(
        stored=6,
        verified=3,
        duplicate=1,
        rejected=2,
        acknowledged=4,
        applied=2,
        confirmed=1,
        drift=1,
        unconfirmed=0,
    )
    assert ws.query(lambda c: eventlog.find(c, "1")).application == "confirmed"  # type: ignore[union-attr]


def test_find_latest_and_paging(ws: Workspace) -> None:
    for i in range(1, 8):
        if i % 2:
            record(ws, incoming(f"msg_{i}"))
        else:
            record(ws, rejected(f"msg_{i}"))
    assert ws.query(lambda c: eventlog.find(c, "99")) is None
    assert ws.query(lambda c: eventlog.find(c, "msg_unknown")) is None
    newest = ws.query(lambda c: eventlog.latest(c, limit=3))
    assert [d.seq for d in newest] == [7, 6, 5]
    older = ws.query(lambda c: eventlog.latest(c, limit=3, before=newest[-1].seq))
    assert [d.seq for d in older] == [4, 3, 2]
    only_rejected = ws.query(lambda c: eventlog.latest(c, verdict="rejected"))
    assert [d.seq for d in only_rejected] == [6, 4, 2]
    assert ws.query(lambda c: eventlog.find(c, "msg_4")).verdict == "rejected"  # type: ignore[union-attr]


def test_by_webhook_id_the_verified_copy_comes_first_then_the_oldest_other(
    tmp_path: Path,
) -> None:
    """Each lookup on its partial index — also in a workspace made before they existed."""
    path = tmp_path / "old.sqlite3"
    Workspace(path).close()
    old = sqlite3.connect(path)  # as an earlier version left it: one index for all copies
    old.execute("DROP INDEX deliveries_others_by_webhook_id")
    old.execute("CREATE INDEX deliveries_by_webhook_id ON deliveries(webhook_id)")
    old.commit()
    old.close()
    ws = Workspace(path)
    try:
        first_try = record(ws, rejected("msg_x"))
        record(ws, rejected("msg_x"))
        assert ws.query(lambda c: eventlog.find(c, "msg_x")) == first_try
        good = record(ws, incoming("msg_x"))
        record(ws, incoming("msg_x"))  # a duplicate
        assert ws.query(lambda c: eventlog.find(c, "msg_x")) == good
        indexes = {
            row[0]
            for row in ws.query(
                lambda c: c.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index'"
                ).fetchall()
            )
        }
        assert "deliveries_by_webhook_id" not in indexes
        assert {"deliveries_verified_once", "deliveries_others_by_webhook_id"} <= indexes
    finally:
        ws.close()


def test_unapplied_lists_verified_amount_applied_events_without_an_application(
    ws: Workspace,
) -> None:
    one = record(ws, incoming("msg_1"))
    record(ws, incoming("msg_1"))  # duplicate
    record(ws, rejected("msg_2"))
    record(ws, incoming("msg_3", event_type="payment.succeeded"))
    four = record(ws, incoming("msg_4"))
    five = record(ws, incoming("msg_5"))
    ws.writer.call(
        lambda c: applications.insert(
            c,
            Application(
                delivery_seq=four.seq,
                webhook_id="msg_4",
                applied_at="2025-06-18T08:45:01.000Z",
                outcome="applied",
                target_kind="bill",
                target_id="bill_1",
            ),
        )
    )
    pending = ws.query(eventlog.unapplied)
    assert [(d.seq, d.webhook_id) for d in pending] == [(one.seq, "msg_1"), (five.seq, "msg_5")]
    assert all(d.application is None for d in pending)
    assert [d.seq for d in ws.query(lambda c: eventlog.unapplied(c, limit=1))] == [one.seq]


def test_diagnosis_round_trips_as_json(ws: Workspace) -> None:
    diagnosis = {"expected": ["v1,abc="], "received": ["v1,def="], "skew_seconds": -3}
    stored = record(
        ws,
        Incoming(
            received_at="2025-06-18T08:45:00.000Z",
            remote=None,
            headers={},
            body=b"",
            body_size=0,
            verified=False,
            reason="no_matching_signature",
            message="no v1 signature matches",
            status=401,
            webhook_id=None,
            diagnosis=diagnosis,
        ),
    )
    assert stored.diagnosis == diagnosis
    found = ws.query(lambda c: eventlog.find(c, str(stored.seq)))
    assert found is not None
    assert (found.diagnosis, found.webhook_id) == (diagnosis, None)
    row = ws.query(lambda c: c.execute("SELECT diagnosis FROM deliveries").fetchone())
    assert json.loads(row[0]) == diagnosis


def test_commands_keep_the_configured_number_of_rejections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """event_retention in the config file bounds the log a command opens."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = workspace_path(default_data_dir(), "sandbox", "")
    seeded = Workspace(path)
    try:
        for i in range(150):
            seeded.record_sync(rejected(f"msg_many{i}"))
    finally:
        seeded.close()
    config = tmp_path / "config.toml"
    config.write_text("event_retention = 100\n")
    out, err = io.StringIO(), io.StringIO()
    env = {"MOMENT_CONFIG": str(config), "XDG_DATA_HOME": str(tmp_path / "data")}
    assert main(["events", "--limit", "1000", "--json"], Io(stdout=out, stderr=err, env=env)) == 0
    ids = [json.loads(line)["webhook_id"] for line in out.getvalue().splitlines()]
    assert ids == [f"msg_many{i}" for i in range(50, 150)]
