"""The listener end to end over real HTTP: every verdict, durability, duplicates, restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moment_tui.api.models import Bill, BillStatus
from moment_tui.store import applications, catalogue, eventlog
from moment_tui.store.eventlog import Delivery
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.listener import STORED_BODY_LIMIT, Listener, ListenerConfig
from moment_tui.webhooks.outbound import amount_applied_event, send
from moment_tui.webhooks.signing import new_message_id, sign, signed_headers
from moment_tui.webhooks.trigger import fire
from moment_tui.webhooks.verify import Verifier

from .pipeline_helpers import (
    B_BODY,
    B_ID,
    B_LABEL,
    B_SECRET,
    B_SIG,
    B_TAMPERED_BODY,
    B_TS,
    REF_BAD_SIG,
    REF_BODY,
    REF_ID,
    REF_LABEL,
    REF_SECRET,
    REF_SIG,
    REF_TS,
    ROT_LABEL,
    ROT_SECRET,
    LoopThread,
    Pipeline,
    b_headers,
    eventually,
    open_pipeline,
    raw_post,
)

Start = Callable[..., Awaitable[Pipeline]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """``await start(**open_pipeline options)``, on the clock of example B unless told
    otherwise; everything started is closed afterwards."""
    async with AsyncExitStack() as stack:

        async def go(**options: Any) -> Pipeline:
            options.setdefault("clock", lambda: float(B_TS))
            path = options.pop("path", tmp_path / "workspace.sqlite3")
            return await stack.enter_async_context(open_pipeline(path, **options))

        yield go


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15.0) as client:
        yield client


def stored(pipe: Pipeline) -> list[sqlite3.Row]:
    return pipe.rows("SELECT * FROM deliveries ORDER BY seq")


def answer(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def signed(
    body: bytes, *, msg_id: str = B_ID, ts: int = B_TS, secrets: tuple[str, ...] = (B_SECRET,)
) -> dict[str, str]:
    return signed_headers(list(secrets), msg_id, body, timestamp=ts)


# --- every rejection, end to end ------------------------------------------------------------

REJECTIONS = [
    # (case, headers, body, status, reason, message)
    (
        "missing signature header",
        {"webhook-id": B_ID, "webhook-timestamp": str(B_TS)},
        B_BODY,
        400,
        "missing_header",
        "missing header webhook-signature",
    ),
    (
        "no headers at all",
        {},
        B_BODY,
        400,
        "missing_header",
        "missing headers webhook-id, webhook-timestamp, webhook-signature",
    ),
    (
        "empty id",
        b_headers(msg_id=""),
        B_BODY,
        400,
        "missing_header",
        "empty header webhook-id",
    ),
    (
        "id with a dot",
        b_headers(msg_id="msg.1"),
        B_BODY,
        400,
        "malformed_id",
        "webhook-id 'msg.1' contains '.', which would make signatures ambiguous",
    ),
    (
        "timestamp in milliseconds",
        b_headers(ts=B_TS * 1000),
        B_BODY,
        400,
        "malformed_timestamp",
        "webhook-timestamp '1750236300000' has 13 digits: it must be Unix time in seconds "
        "(milliseconds?)",
    ),
    (
        "timestamp not digits",
        b_headers(ts="2025-06-18T08:45:00Z"),
        B_BODY,
        400,
        "malformed_timestamp",
        "webhook-timestamp '2025-06-18T08:45:00Z' is not Unix time in whole seconds (digits only)",
    ),
    (
        "signature not base64",
        b_headers(sig="v1,not*base64"),
        B_BODY,
        400,
        "malformed_signature",
        "the v1 signature in webhook-signature is not base64 (v1,not*base64)",
    ),
    (
        "no v1 signature",
        b_headers(sig="v1a,abcd v2,abcd"),
        B_BODY,
        400,
        "malformed_signature",
        "no v1 signature in webhook-signature (only v1a, v2)",
    ),
    (
        "signature without a version",
        b_headers(sig="Qa3exPFRonIhe2nvvqWn7g0NldpTlFIDqs1JtGxcqc0="),
        B_BODY,
        400,
        "malformed_signature",
        "webhook-signature has no '<version>,<signature>' entry "
        "(got 'Qa3exPFRonIhe2nvvqWn7g0NldpTlFIDqs1JtGxc…')",
    ),
    (
        "tampered body",
        b_headers(),
        B_TAMPERED_BODY,
        401,
        "no_matching_signature",
        "no v1 signature in webhook-signature matches the 1 configured secret",
    ),
    (
        "too old",
        signed(B_BODY, ts=B_TS - 181),
        B_BODY,
        401,
        "timestamp_too_old",
        "webhook-timestamp is 181 s old; tolerance is 180 s",
    ),
    (
        "too new",
        signed(B_BODY, ts=B_TS + 181),
        B_BODY,
        401,
        "timestamp_too_new",
        "webhook-timestamp is 181 s in the future; tolerance is 180 s",
    ),
    (
        "not JSON",
        signed(b"amount=1500&currency=ZAR"),
        b"amount=1500&currency=ZAR",
        400,
        "body_not_json",
        "the body is not JSON: Expecting value at offset 0",
    ),
    (
        "not an event",
        signed(b'{"id":"evt_1","data":{}}'),
        b'{"id":"evt_1","data":{}}',
        400,
        "not_an_event",
        "the event has no type field",
    ),
    (
        "amount_applied without an amount",
        signed(
            b'{"id":"evt_1","type":"obligation.amount_applied","data":{"id":"ob_1","currency":"ZAR"}}'
        ),
        b'{"id":"evt_1","type":"obligation.amount_applied","data":{"id":"ob_1","currency":"ZAR"}}',
        400,
        "not_an_event",
        "the event has no data.amount field",
    ),
]


@pytest.mark.parametrize(
    ("headers", "body", "status", "reason", "message"),
    [case[1:] for case in REJECTIONS],
    ids=[case[0] for case in REJECTIONS],
)
async def test_each_rejection_is_answered_and_kept(
    start: Start,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    body: bytes,
    status: int,
    reason: str,
    message: str,
) -> None:
    pipe = await start()
    response = await http.post(pipe.url, content=body, headers=headers)
    assert response.status_code == status
    webhook_id = headers.get("webhook-id")
    got = answer(response)
    assert got == {
        "verdict": "rejected",
        "webhook_id": got["webhook_id"],
        "reason": reason,
        "message": message,
    }
    assert got["webhook_id"] == webhook_id
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["status"], row["message"]) == (
        "rejected",
        reason,
        status,
        message,
    )
    assert bytes(row["body"]) == body
    assert row["body_size"] == len(body)
    assert pipe.listener.received == 1
    await eventually(lambda: len(pipe.announced) == 1)
    assert pipe.announced[0].verdict == "rejected"
    assert pipe.announced[0].reason == reason


async def test_no_secret_configured_is_401(start: Start, http: httpx.AsyncClient) -> None:
    pipe = await start(secrets=())
    response = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    assert response.status_code == 401
    assert answer(response) == {
        "verdict": "rejected",
        "webhook_id": B_ID,
        "reason": "no_secret_configured",
        "message": "no webhook signing secret is configured: set MOMENT_WEBHOOK_SECRET or run "
        "`moment-tui login`",
    }
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["webhook_id"]) == (
        "rejected",
        "no_secret_configured",
        B_ID,
    )


async def test_an_oversize_body_is_413_and_only_its_head_is_kept(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start()
    body = b'{"id":"evt_big","pad":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await http.post(pipe.url, content=body, headers=signed(body))
    assert response.status_code == 413
    assert answer(response) == {
        "verdict": "rejected",
        "webhook_id": B_ID,
        "reason": "body_too_large",
        "message": f"the body is {len(body)} bytes; the limit is 1048576 bytes",
    }
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["status"], row["body_size"]) == (
        "rejected",
        "body_too_large",
        413,
        len(body),
    )
    assert bytes(row["body"]) == body[:STORED_BODY_LIMIT]
    assert STORED_BODY_LIMIT == 64 * 1024
    # The listener is still fine afterwards.
    ok = await http.post(pipe.url, content=B_BODY, headers=b_headers(msg_id="msg_after"))
    assert ok.status_code == 401  # signed for B_ID, sent as msg_after


async def test_an_oversize_chunked_body_is_413_without_a_known_size(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start(max_body_bytes=100_000)
    body = b"y" * 300_000

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 10_000):
            yield body[i : i + 10_000]

    response = await http.post(pipe.url, content=chunks(), headers=signed(body))
    assert response.status_code == 413
    assert answer(response)["message"] == "the body is larger than the limit of 100000 bytes"
    [row] = stored(pipe)
    assert (row["reason"], row["status"]) == ("body_too_large", 413)
    assert 100_000 < row["body_size"] < 300_000
    assert bytes(row["body"]) == body[:STORED_BODY_LIMIT]


async def test_a_body_at_the_limit_is_judged_normally(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start(max_body_bytes=len(B_BODY))
    response = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    assert (response.status_code, answer(response)["verdict"]) == (200, "verified")
    bigger = B_BODY + b" "
    response = await http.post(pipe.url, content=bigger, headers=signed(bigger, msg_id="msg_x"))
    assert response.status_code == 413
    assert answer(response)["message"] == (
        f"the body is {len(bigger)} bytes; the limit is {len(B_BODY)} bytes"
    )


# --- the reference's examples over HTTP ------------------------------------------------------


async def test_worked_example_b_is_verified_and_stored(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start()
    response = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    assert response.status_code == 200
    assert answer(response) == {"verdict": "verified", "webhook_id": B_ID}
    [row] = stored(pipe)
    assert dict(row) | {"received_at": None, "remote": None, "headers": None} == {
        "seq": 1,
        "webhook_id": B_ID,
        "received_at": None,
        "verdict": "verified",
        "reason": None,
        "message": f"verified with secret {B_LABEL}",
        "status": 200,
        "remote": None,
        "headers": None,
        "body": B_BODY,
        "body_size": 393,
        "event_id": "evt_2341234567890abcdefgh",
        "event_type": "obligation.amount_applied",
        "amount": 1500,
        "currency": "ZAR",
        "customer_id": "bcus_H4jp6KnU5cPw263v1jyz4",
        "account_id": "bacc_H4jp6KnU5cPw263v1jyz4",
        "bill_id": "bill_H4jp6KnU5cPw263v1jyz4",
        "matched_secret": B_LABEL,
        "diagnosis": None,
        "duplicate_of": None,
    }
    assert row["remote"] == "127.0.0.1"
    headers = json.loads(row["headers"])
    lowered = {k.lower(): v for k, v in headers.items()}
    assert {k: lowered[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")} == {
        "webhook-id": B_ID,
        "webhook-timestamp": str(B_TS),
        "webhook-signature": B_SIG,
    }
    await eventually(lambda: pipe.announced)
    assert pipe.announced[0].amount == 1500
    assert pipe.announced[0].target() == ("bill", "bill_H4jp6KnU5cPw263v1jyz4")


async def test_worked_example_b_tampered_or_keyed_wrongly_is_diagnosed(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start()
    wrong_key = "v1,aoH3oFYV+6K3EWqZ3FYMiZChoRwmaJSd53ob//NqlJE="
    response = await http.post(pipe.url, content=B_BODY, headers=b_headers(sig=wrong_key))
    assert response.status_code == 401
    assert answer(response)["reason"] == "no_matching_signature"
    [row] = stored(pipe)
    diagnosis = json.loads(row["diagnosis"])
    text = json.dumps(diagnosis)
    assert B_SIG.removeprefix("v1,") in text  # the expected signature is shown
    assert "whole secret text" in text  # and the classic mistake is named
    assert B_SECRET.removeprefix("whsec_") not in text


async def test_standard_webhooks_vector_verifies_but_is_not_a_moment_event(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start(secrets=(REF_SECRET,), clock=lambda: float(REF_TS))
    headers = {"webhook-id": REF_ID, "webhook-timestamp": str(REF_TS), "webhook-signature": REF_SIG}
    response = await http.post(pipe.url, content=REF_BODY, headers=headers)
    # The signature matched (the secret is recorded); the body is no {id, type, data} event.
    assert response.status_code == 400
    assert answer(response) == {
        "verdict": "rejected",
        "webhook_id": REF_ID,
        "reason": "not_an_event",
        "message": "the event has no id field",
    }
    negative = dict(headers, **{"webhook-signature": REF_BAD_SIG})
    response = await http.post(pipe.url, content=REF_BODY, headers=negative)
    assert (response.status_code, answer(response)["reason"]) == (401, "no_matching_signature")
    mixed = dict(headers, **{"webhook-signature": f"v2,{REF_SIG[3:]} {REF_BAD_SIG} {REF_SIG}"})
    response = await http.post(pipe.url, content=REF_BODY, headers=mixed)
    assert (response.status_code, answer(response)["reason"]) == (400, "not_an_event")
    rows = stored(pipe)
    assert [(r["reason"], r["matched_secret"]) for r in rows] == [
        ("not_an_event", REF_LABEL),
        ("no_matching_signature", None),
        ("not_an_event", REF_LABEL),
    ]
    assert [bytes(r["body"]) for r in rows] == [REF_BODY] * 3


# --- key rotation ----------------------------------------------------------------------------


async def test_rotation_accepts_either_secret_and_records_which(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start(secrets=(B_SECRET, ROT_SECRET))

    def body(n: int) -> bytes:  # a distinct event each time (one event is applied once)
        return B_BODY.replace(b'"id":"evt_', f'"id":"evt_{n}'.encode(), 1)

    by_new = await http.post(
        pipe.url, content=body(1), headers=signed(body(1), msg_id="msg_new", secrets=(ROT_SECRET,))
    )
    by_both = await http.post(
        pipe.url,
        content=body(2),
        headers=signed(body(2), msg_id="msg_both", secrets=(ROT_SECRET, B_SECRET)),
    )
    other = "whsec_" + "b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVkLWhlcmUh"
    by_other = await http.post(
        pipe.url, content=body(3), headers=signed(body(3), msg_id="msg_other", secrets=(other,))
    )
    assert [r.status_code for r in (by_new, by_both, by_other)] == [200, 200, 401]
    rows = stored(pipe)
    assert [(r["webhook_id"], r["verdict"], r["matched_secret"], r["message"]) for r in rows] == [
        ("msg_new", "verified", ROT_LABEL, f"verified with secret {ROT_LABEL}"),
        ("msg_both", "verified", B_LABEL, f"verified with secret {B_LABEL}"),
        (
            "msg_other",
            "rejected",
            None,
            "no v1 signature in webhook-signature matches the 2 configured secrets",
        ),
    ]


# --- duplicates, replays, restarts -------------------------------------------------------------


def bill_for_b() -> Bill:
    return Bill(
        id="bill_H4jp6KnU5cPw263v1jyz4",
        external_reference="INV-B",
        customer_id="bcus_H4jp6KnU5cPw263v1jyz4",
        account_id="bacc_H4jp6KnU5cPw263v1jyz4",
        status=BillStatus.UNPAID,
        currency="ZAR",
        amount_due=5000,
        amount_paid=0,
        amount_remaining=5000,
    )


async def test_a_duplicate_is_acknowledged_and_applied_once(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start(reconcile=True)
    await pipe.workspace.remember([bill_for_b()], "listed")
    first = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    second = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    assert (first.status_code, second.status_code) == (200, 200)
    assert answer(first) == {"verdict": "verified", "webhook_id": B_ID}
    rows = stored(pipe)
    assert answer(second) == {
        "verdict": "duplicate",
        "webhook_id": B_ID,
        "reason": "duplicate",
        "message": f"already received at {rows[0]['received_at']} (#1); acknowledged, "
        "not applied again",
    }
    assert [(r["verdict"], r["duplicate_of"]) for r in rows] == [
        ("verified", None),
        ("duplicate", 1),
    ]
    assert pipe.reconciler is not None
    await eventually(lambda: len(pipe.announced) == 2)
    await asyncio.wait_for(pipe.reconciler.idle(), 10)
    apps = pipe.rows("SELECT webhook_id, delivery_seq, state FROM applications")
    assert [tuple(a) for a in apps] == [(B_ID, 1, "unconfirmed")]
    # No API to confirm against: settled at once, and it says why.
    app = await pipe.workspace.read(lambda c: applications.get(c, B_ID))
    assert app is not None
    assert (app.outcome, app.note, app.checked_at) == (
        "applied",
        "no API to confirm against",
        app.applied_at,
    )
    entry = await pipe.workspace.read(
        lambda c: catalogue.get(c, "bill", "bill_H4jp6KnU5cPw263v1jyz4")
    )
    assert entry is not None
    assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (1500, 3500)
    books = await pipe.workspace.read(eventlog.books)
    assert (books.stored, books.verified, books.duplicate, books.acknowledged, books.applied) == (
        2,
        1,
        1,
        2,
        1,
    )


async def test_one_event_under_two_webhook_ids_is_applied_once(
    start: Start, http: httpx.AsyncClient
) -> None:
    """Moment's docs: de-duplicate on webhook-id and/or the body id. A resend under a
    new webhook-id (say, from a dashboard) is the same payment."""
    pipe = await start(reconcile=True)
    await pipe.workspace.remember([bill_for_b()], "listed")
    first = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    again = await http.post(pipe.url, content=B_BODY, headers=signed(B_BODY, msg_id="msg_again"))
    rows = stored(pipe)
    assert (first.status_code, again.status_code) == (200, 200)
    assert answer(again) == {
        "verdict": "duplicate",
        "webhook_id": "msg_again",
        "reason": "duplicate",
        "message": f"the same event evt_2341234567890abcdefgh already arrived at"
        f" {rows[0]['received_at']} (#1) as {B_ID}; acknowledged, not applied again",
    }
    assert [(r["webhook_id"], r["verdict"], r["duplicate_of"]) for r in rows] == [
        (B_ID, "verified", None),
        ("msg_again", "duplicate", 1),
    ]
    # A retry of the second id is a duplicate too, of the same first delivery.
    retry = await http.post(pipe.url, content=B_BODY, headers=signed(B_BODY, msg_id="msg_again"))
    assert answer(retry)["verdict"] == "duplicate"
    assert stored(pipe)[2]["duplicate_of"] == 1
    assert pipe.reconciler is not None
    await eventually(lambda: len(pipe.announced) == 3)
    await asyncio.wait_for(pipe.reconciler.idle(), 10)
    apps = pipe.rows("SELECT webhook_id FROM applications")
    assert [a[0] for a in apps] == [B_ID]
    entry = await pipe.workspace.read(
        lambda c: catalogue.get(c, "bill", "bill_H4jp6KnU5cPw263v1jyz4")
    )
    assert entry is not None
    assert entry.obj.amount_paid == 1500


async def test_a_replay_through_trigger_keeps_its_id_and_is_a_duplicate(
    start: Start,
) -> None:
    pipe = await start(clock=None)  # the real clock: fire() signs with the current time
    body = amount_applied_event(2000, "ZAR", bill_id="bill_replay")
    [original] = await fire(pipe.url, lambda: body, [B_SECRET])
    assert original.status == 200
    delivery = await pipe.workspace.read(lambda c: eventlog.find(c, "1"))
    assert delivery is not None
    raw = await pipe.workspace.read(lambda c: eventlog.raw(c, delivery.seq))
    assert raw is not None
    [replayed] = await fire(pipe.url, lambda: raw[1], [B_SECRET], webhook_id=delivery.webhook_id)
    assert replayed.webhook_id == original.webhook_id
    assert replayed.status == 200
    assert json.loads(replayed.response or "")["verdict"] == "duplicate"
    rows = stored(pipe)
    assert [(r["webhook_id"], r["verdict"]) for r in rows] == [
        (original.webhook_id, "verified"),
        (original.webhook_id, "duplicate"),
    ]
    assert bytes(rows[1]["body"]) == body


async def test_restart_between_two_deliveries_of_one_id(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    path = tmp_path / "restart.sqlite3"
    clock = lambda: float(B_TS)  # noqa: E731
    async with open_pipeline(path, clock=clock) as before:
        first = await http.post(before.url, content=B_BODY, headers=b_headers())
    assert answer(first)["verdict"] == "verified"
    async with open_pipeline(path, clock=clock) as after:
        second = await http.post(after.url, content=B_BODY, headers=b_headers())
        assert second.status_code == 200
        got = answer(second)
        assert (got["verdict"], got["reason"]) == ("duplicate", "duplicate")
        assert got["message"].endswith("(#1); acknowledged, not applied again")
        rows = stored(after)
    assert [(r["seq"], r["verdict"], r["duplicate_of"]) for r in rows] == [
        (1, "verified", None),
        (2, "duplicate", 1),
    ]


# --- not webhooks ----------------------------------------------------------------------------


async def test_wrong_path_and_wrong_method(start: Start, http: httpx.AsyncClient) -> None:
    pipe = await start()
    base = pipe.url.removesuffix("/webhooks/moment")
    wrong_path = await http.post(base + "/webhooks/other", content=B_BODY, headers=b_headers())
    assert wrong_path.status_code == 404
    assert answer(wrong_path) == {"error": "webhooks are received at /webhooks/moment"}
    root = await http.get(base + "/")
    assert (root.status_code, answer(root)) == (
        404,
        {"error": "webhooks are received at /webhooks/moment"},
    )
    get = await http.get(pipe.url)
    assert get.status_code == 405
    assert get.headers["allow"] == "POST"
    assert answer(get) == {"error": "GET is not accepted here; Moment POSTs webhooks"}
    put = await http.put(pipe.url, content=B_BODY, headers=b_headers())
    assert (put.status_code, answer(put)["error"]) == (
        405,
        "PUT is not accepted here; Moment POSTs webhooks",
    )
    assert stored(pipe) == []
    assert pipe.listener.received == 0


async def test_a_store_failure_is_503_and_nothing_is_acknowledged(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    path = tmp_path / "broken.sqlite3"
    workspace = Workspace(path)
    try:
        workspace.writer.close()  # writes now fail
        async with open_pipeline(path, workspace=workspace, clock=lambda: float(B_TS)) as pipe:
            response = await http.post(pipe.url, content=B_BODY, headers=b_headers())
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert answer(response) == {
                "verdict": "error",
                "message": "the delivery could not be stored; retry",
            }
            assert pipe.listener.received == 0
            await asyncio.sleep(0)  # an announcement would have been scheduled by now
            assert pipe.announced == []
    finally:
        await asyncio.to_thread(workspace.close)
    reopened = Workspace(path)
    try:
        assert reopened.query(eventlog.books).stored == 0
    finally:
        reopened.close()


async def _store_failing(
    pipe: Pipeline,
    error: sqlite3.Error,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> tuple[httpx.Response, logging.LogRecord]:
    """POST a signed delivery while storing it raises ``error``: the answer and the
    one log record about it."""

    async def failing(*args: object) -> None:
        raise error

    monkeypatch.setattr(pipe.workspace, "record", failing)
    with caplog.at_level(logging.INFO, logger="moment_tui.webhooks.listener"):
        response = await http.post(pipe.url, content=B_BODY, headers=b_headers())
    [record] = [r for r in caplog.records if "could not store" in r.getMessage()]
    return response, record


async def test_a_locked_workspace_is_one_log_line_not_a_traceback(
    tmp_path: Path,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SQLite refusing the write (locked past its busy timeout, a full disk) is the
    machine's state, not a bug: a 503 the sender retries and one line saying why."""
    async with open_pipeline(tmp_path / "ws.sqlite3", clock=lambda: float(B_TS)) as pipe:
        locked = sqlite3.OperationalError("database is locked")
        response, record = await _store_failing(pipe, locked, http, monkeypatch, caplog)
        assert (response.status_code, response.headers["retry-after"]) == (503, "5")
        assert record.getMessage() == (
            "could not store a delivery (answered 503): database is locked"
        )
        assert record.exc_info is None
        monkeypatch.undo()  # unlocked: the sender's retry is stored
        again = await http.post(pipe.url, content=B_BODY, headers=b_headers())
        assert again.status_code == 200
        assert [row["verdict"] for row in stored(pipe)] == ["verified"]


async def test_a_bug_in_storing_keeps_its_traceback(
    tmp_path: Path,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the machine's state (OperationalError: locked, full) is one line; a
    ProgrammingError is our bug, and its report needs the traceback."""
    async with open_pipeline(tmp_path / "ws.sqlite3", clock=lambda: float(B_TS)) as pipe:
        bug = sqlite3.ProgrammingError("Incorrect number of bindings supplied")
        response, record = await _store_failing(pipe, bug, http, monkeypatch, caplog)
        assert response.status_code == 503
        assert record.exc_info is not None


async def test_on_delivery_gets_the_stored_delivery_after_it_is_on_disk(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    path = tmp_path / "announce.sqlite3"
    workspace = Workspace(path)
    seen: list[tuple[Delivery, tuple[Any, ...] | None]] = []

    def on_delivery(delivery: Delivery) -> None:
        conn = sqlite3.connect(path)  # an independent reader: is it committed?
        try:
            row = conn.execute(
                "SELECT seq, webhook_id, verdict FROM deliveries WHERE seq = ?", (delivery.seq,)
            ).fetchone()
        finally:
            conn.close()
        seen.append((delivery, tuple(row) if row else None))

    listener = Listener(
        ListenerConfig(port=0),
        Verifier([B_SECRET], clock=lambda: float(B_TS)),
        workspace,
        on_delivery,
    )
    url = await listener.start()
    try:
        await http.post(url, content=B_BODY, headers=b_headers())
        await http.post(url, content=B_BODY, headers=b_headers())
        await http.post(url, content=B_TAMPERED_BODY, headers=b_headers(msg_id="msg_t"))
        await eventually(lambda: len(seen) == 3)
    finally:
        await listener.close()
        await asyncio.to_thread(workspace.close)
    assert [(d.seq, d.webhook_id, d.verdict) for d, _ in seen] == [
        (1, B_ID, "verified"),
        (2, B_ID, "duplicate"),
        (3, "msg_t", "rejected"),
    ]
    assert [row for _, row in seen] == [
        (1, B_ID, "verified"),
        (2, B_ID, "duplicate"),
        (3, "msg_t", "rejected"),
    ]
    first = seen[0][0]
    assert (first.amount, first.currency, first.matched_secret) == (1500, "ZAR", B_LABEL)
    assert seen[1][0].duplicate_of == 1


async def test_on_delivery_runs_only_once_the_answer_is_out(tmp_path: Path) -> None:
    """on_delivery blocks the loop until the client holds its answer: that can only
    work if the answer was written before on_delivery was called."""
    answered = threading.Event()
    order: list[tuple[str, object]] = []

    def on_delivery(delivery: Delivery) -> None:
        order.append(("announced", answered.wait(5)))

    workspace = Workspace(tmp_path / "order.sqlite3")
    verifier = Verifier([B_SECRET], clock=lambda: float(B_TS))
    listener = Listener(ListenerConfig(port=0), verifier, workspace, on_delivery)
    url = await listener.start()

    def client() -> None:
        status, _, _ = raw_post(url, list(b_headers().items()), B_BODY)
        order.append(("answered", status))
        answered.set()

    try:
        await asyncio.to_thread(client)
        await eventually(lambda: len(order) == 2)
    finally:
        await listener.close()
        await asyncio.to_thread(workspace.close)
    assert order == [("answered", 200), ("announced", True)]


async def test_a_webhook_id_that_is_not_utf8_is_rejected_and_kept(
    start: Start,
) -> None:
    pipe = await start()
    headers = list(b_headers(msg_id="msg_\xff\xfe").items())  # sent as two raw bytes
    status, _, payload = await asyncio.to_thread(raw_post, pipe.url, headers, B_BODY)
    assert status == 400
    assert json.loads(payload) == {
        "verdict": "rejected",
        "webhook_id": "msg_\\udcff\\udcfe",
        "reason": "malformed_id",
        "message": "webhook-id 'msg_\\udcff\\udcfe' contains whitespace or control characters",
    }
    [row] = stored(pipe)
    assert (row["webhook_id"], row["reason"]) == ("msg_\\udcff\\udcfe", "malformed_id")


async def test_concurrent_copies_of_one_id_yield_exactly_one_verified(
    start: Start, http: httpx.AsyncClient
) -> None:
    pipe = await start(reconcile=True)
    await pipe.workspace.remember([bill_for_b()], "listed")
    responses = await asyncio.gather(
        *(http.post(pipe.url, content=B_BODY, headers=b_headers()) for _ in range(20))
    )
    verdicts = sorted(answer(r)["verdict"] for r in responses)
    assert [r.status_code for r in responses] == [200] * 20
    assert verdicts == ["duplicate"] * 19 + ["verified"]
    assert pipe.reconciler is not None
    await eventually(lambda: len(pipe.announced) == 20)
    await asyncio.wait_for(pipe.reconciler.idle(), 10)
    app = await pipe.workspace.read(lambda c: applications.get(c, B_ID))
    assert app is not None
    assert [(c.field, c.before, c.after) for c in app.changes] == [
        ("amount_paid", 0, 1500),
        ("amount_remaining", 5000, 3500),
    ]


async def test_send_helper_reports_a_refused_connection(start: Start) -> None:
    pipe = await start()
    url = pipe.url
    await pipe.listener.close()
    async with httpx.AsyncClient(timeout=5.0) as client:
        result = await send(client, url, B_BODY, [B_SECRET], new_message_id())
    assert result.status is None
    assert result.accepted is False
    assert result.error is not None
    assert result.error.startswith("ConnectError")


# --- fuzzing the headers over HTTP -------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
signature_entries = st.lists(
    st.tuples(st.sampled_from(["v1", "v1a", "v2", "", "V1", "v1 "]), printable),
    max_size=4,
).map(lambda entries: " ".join(f"{v},{s}" for v, s in entries))


@pytest.fixture(scope="module")
def threaded_listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    loop = LoopThread()
    workspace = Workspace(tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3", durable=False)
    listener = Listener(
        ListenerConfig(port=0), Verifier([B_SECRET], clock=lambda: float(B_TS)), workspace
    )
    url = loop.run(listener.start())
    try:
        yield url, workspace
    finally:
        loop.run(listener.close())
        loop.close()
        workspace.close()


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    msg_id=st.one_of(st.none(), printable),
    timestamp=st.one_of(st.none(), printable, st.integers(0, 10**13).map(str)),
    signature=st.one_of(st.none(), printable, signature_entries),
    body=st.one_of(st.just(B_BODY), st.binary(max_size=200)),
)
def test_fuzzed_headers_never_cause_a_server_error(
    threaded_listener: tuple[str, Workspace],
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
) -> None:
    url, workspace = threaded_listener
    headers = {
        name: value
        for name, value in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        )
        if value is not None
    }
    before = workspace.query(eventlog.books).stored
    status, answer_headers, payload = raw_post(url, list(headers.items()), body)
    assert status in {200, 400, 401}, payload
    assert answer_headers["content-type"].startswith("application/json")
    got = json.loads(payload)
    assert got["verdict"] in {"verified", "rejected", "duplicate"}
    assert workspace.query(eventlog.books).stored == before + 1
    if status != 200:
        assert got["reason"] in REASONS


latin = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msg_id=latin, timestamp=latin, signature=latin)
def test_fuzzed_non_ascii_header_bytes_never_cause_a_server_error(
    threaded_listener: tuple[str, Workspace], msg_id: str, timestamp: str, signature: str
) -> None:
    url, workspace = threaded_listener
    headers = [
        ("webhook-id", msg_id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ]
    before = workspace.query(eventlog.books).stored
    status, _, payload = raw_post(url, headers, B_BODY)
    assert status in {200, 400, 401}, payload
    assert json.loads(payload)["verdict"] in {"verified", "rejected", "duplicate"}
    assert workspace.query(eventlog.books).stored == before + 1


REASONS = {
    "missing_header",
    "malformed_id",
    "malformed_timestamp",
    "malformed_signature",
    "timestamp_too_old",
    "timestamp_too_new",
    "no_matching_signature",
}


async def test_an_amount_too_large_for_any_ledger_is_rejected_and_kept(
    start: Start, http: httpx.AsyncClient
) -> None:
    """Signed correctly, but 10**20 minor units fits no ledger (nor SQLite's integers):
    a 400 with a reason, stored, not a 503 the sender would retry forever."""
    pipe = await start()
    body = B_BODY.replace(b'"amount":1500', b'"amount":100000000000000000000')
    signature = sign(B_SECRET, B_ID, B_TS, body)
    response = await http.post(pipe.url, content=body, headers=b_headers(signature))
    assert response.status_code == 400
    got = answer(response)
    assert (got["verdict"], got["reason"]) == ("rejected", "not_an_event")
    assert "data.amount" in got["message"]
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["amount"]) == ("rejected", "not_an_event", None)
