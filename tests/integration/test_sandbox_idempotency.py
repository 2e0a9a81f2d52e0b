"""Idempotency-Key on every POST, and the sandbox's authentication."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import BadRequest, Conflict, Unprocessable
from moment_tui.sandbox.db import Database
from moment_tui.sandbox.idempotency import EXPIRE_EVERY, TTL_SECONDS, Keys
from moment_tui.sandbox.server import Sandbox
from tests.integration.conftest import (
    API_KEY,
    OTHER_API_KEY,
    StartSandbox,
    eventually,
    failure,
    fields,
    hold_first_answer,
    make_client,
    new_key,
    post,
    ref,
)

CUSTOMERS = "/billing/customers"


async def test_repeat_replays_status_and_body_with_header(client: MomentClient) -> None:
    key, reference = new_key(), ref("idem")
    first = await post(client, CUSTOMERS, {"external_reference": reference}, key=key)
    second = await post(client, CUSTOMERS, {"external_reference": reference}, key=key)
    assert (first.status, second.status) == (201, 201)
    assert second.body == first.body
    assert not first.replayed
    assert "idempotent-replayed" not in first.headers
    assert second.replayed
    assert second.headers["idempotent-replayed"] == "true"
    # Exactly one customer exists with that reference.
    listing = await client.list_page("customer", filters={"external_reference_prefix": reference})
    assert [c.id for c in listing.items] == [first.body["id"]]


async def test_equivalent_json_is_the_same_request(http: httpx.AsyncClient) -> None:
    key, reference = new_key(), ref("idem")
    compact = json.dumps({"external_reference": reference, "name": "A"}).encode()
    spaced = b'{\n  "name" :  "A",\n  "external_reference": "' + reference.encode() + b'"\n}'
    first = await http.post(CUSTOMERS, content=compact, headers={"Idempotency-Key": key})
    second = await http.post(CUSTOMERS, content=spaced, headers={"Idempotency-Key": key})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content == first.content


async def test_same_key_different_body_is_422(client: MomentClient) -> None:
    key = new_key()
    created = await post(client, CUSTOMERS, {"external_reference": ref("idem")}, key=key)
    error = await failure(
        post(client, CUSTOMERS, {"external_reference": ref("idem")}, key=key), Unprocessable
    )
    assert error.problem.type == "urn:moment-sandbox:problem:idempotency-key-reused"
    # Same body on another path is a different request too.
    other_path = await failure(
        post(client, "/billing/accounts", {"external_reference": ref("idem")}, key=key),
        Unprocessable,
    )
    assert other_path.problem.type == error.problem.type
    # The original is still replayable.
    again = await post(
        client, CUSTOMERS, {"external_reference": created.body["external_reference"]}, key=key
    )
    assert again.replayed
    assert again.body == created.body


async def test_an_error_is_replayed_too(client: MomentClient, http: httpx.AsyncClient) -> None:
    taken = ref("idem")
    await post(client, CUSTOMERS, {"external_reference": taken})
    key = new_key()
    first = await http.post(
        CUSTOMERS, json={"external_reference": taken}, headers={"Idempotency-Key": key}
    )
    second = await http.post(
        CUSTOMERS, json={"external_reference": taken}, headers={"Idempotency-Key": key}
    )
    assert (first.status_code, second.status_code) == (409, 409)
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.content == first.content
    # A validation error is stored the same way.
    bad = {"external_reference": "bad ref"}
    key = new_key()
    one = await http.post(CUSTOMERS, json=bad, headers={"Idempotency-Key": key})
    two = await http.post(CUSTOMERS, json=bad, headers={"Idempotency-Key": key})
    assert (one.status_code, two.status_code) == (400, 400)
    assert two.headers["Idempotent-Replayed"] == "true"
    assert two.content == one.content


async def test_replay_does_not_redo_the_work(client: MomentClient) -> None:
    """A replayed void answers 200 voided again, where a fresh void would be 422."""
    created = await post(
        client,
        "/billing/bills",
        {
            "external_reference": ref("bill"),
            "currency": "ZAR",
            "amount_due": 100,
            "customer": {"external_reference": ref("cus")},
        },
    )
    bill_id = created.body["id"]
    key = new_key()
    first = await client.request("POST", f"/billing/bills/{bill_id}/void", idempotency_key=key)
    replay = await client.request("POST", f"/billing/bills/{bill_id}/void", idempotency_key=key)
    assert (first.status, replay.status, replay.replayed) == (200, 200, True)
    await failure(client.void_bill(bill_id), Unprocessable)  # a new key: really voided already


async def test_a_void_replays_whatever_body_it_is_sent(http: httpx.AsyncClient) -> None:
    """Void takes no body and ignores one; so the body is no part of the request its
    key stands for: a retry that adds ``{}`` is the same void, not a reused key."""
    created = await http.post(
        "/billing/bills",
        json={
            "external_reference": ref("bill"),
            "currency": "ZAR",
            "amount_due": 100,
            "customer": {"external_reference": ref("cus")},
        },
        headers={"Idempotency-Key": new_key()},
    )
    path, key = f"/billing/bills/{created.json()['id']}/void", new_key()
    first = await http.post(path, headers={"Idempotency-Key": key})
    again = await http.post(path, content=b"{}", headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["status"] == "voided"


async def test_missing_or_malformed_key_is_400(http: httpx.AsyncClient) -> None:
    body = {"external_reference": ref("idem")}
    missing = await http.post(CUSTOMERS, json=body)
    assert missing.status_code == 400
    problem = missing.json()
    assert problem["errors"] == [{"field": "Idempotency-Key", "message": problem["detail"]}]
    assert "required" in problem["detail"]
    for bad in ("", "has space", "under_score", "k.ey", "k" * 256):
        response = await http.post(CUSTOMERS, json=body, headers={"Idempotency-Key": bad})
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    # Nothing was created by any of them.
    lookup = await http.get(f"{CUSTOMERS}/{body['external_reference']}")
    assert lookup.status_code == 404
    # Keys are letters, digits and hyphens, up to 255: not only uuids.
    ok = await http.post(CUSTOMERS, json=body, headers={"Idempotency-Key": "K" * 255})
    assert ok.status_code == 201
    for path in ("/billing/accounts", "/billing/bills", "/sandbox/payments"):
        assert (await http.post(path, json={})).status_code == 400
    void = await http.post(f"/billing/bills/{ref('x')}/void")
    assert void.status_code == 400  # the key is checked before the bill is looked up


async def test_keys_are_scoped_per_api_key(sandbox_url: str) -> None:
    key = new_key()
    async with (
        make_client(sandbox_url, API_KEY) as one,
        make_client(sandbox_url, OTHER_API_KEY) as two,
    ):
        a = await post(one, CUSTOMERS, {"external_reference": ref("scope")}, key=key)
        b = await post(two, CUSTOMERS, {"external_reference": ref("scope")}, key=key)
    assert (a.status, b.status) == (201, 201)
    assert not b.replayed
    assert a.body["id"] != b.body["id"]


def _key_state(sandbox: Sandbox, key: str) -> str | None:
    row = sandbox.db.one("SELECT state FROM idempotency WHERE key = ?", (key,))
    return None if row is None else str(row["state"])


async def test_key_in_flight_is_409(start_sandbox: StartSandbox) -> None:
    sandbox = await start_sandbox()
    gate = hold_first_answer(sandbox)  # whichever request claims the key waits here
    body = {"external_reference": ref("slow")}
    key = new_key()
    async with make_client(sandbox.url) as client:
        both = [
            asyncio.create_task(post(client, CUSTOMERS, body, key=key)),
            asyncio.create_task(post(client, CUSTOMERS, body, key=key)),
        ]
        # The one that lost the race is answered while the other holds the key.
        await eventually(lambda: any(task.done() for task in both))
        assert _key_state(sandbox, key) == "in_flight"
        gate.set()
        results = await asyncio.gather(*both, return_exceptions=True)
        successes = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(successes) == 1, results
        assert len(conflicts) == 1, results
        assert successes[0].status == 201
        assert conflicts[0].problem.type == "urn:moment-sandbox:problem:idempotency-key-in-flight"
        # Once the first has finished, the key replays it.
        later = await post(client, CUSTOMERS, body, key=key)
        assert later.replayed
        assert later.body == successes[0].body


async def test_in_flight_409_carries_retry_after(start_sandbox: StartSandbox) -> None:
    sandbox = await start_sandbox()
    gate = hold_first_answer(sandbox)
    key = new_key()
    body = {"external_reference": ref("slow")}
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": key}
    async with httpx.AsyncClient(base_url=sandbox.url, headers=headers) as http:
        first = asyncio.create_task(http.post(CUSTOMERS, json=body))
        # The first has claimed the key (and now waits at the gate).
        await eventually(lambda: _key_state(sandbox, key) == "in_flight")
        second = await http.post(CUSTOMERS, json=body)
        assert second.status_code == 409
        assert second.headers["Retry-After"] == "1"
        assert second.json()["type"] == "urn:moment-sandbox:problem:idempotency-key-in-flight"
        assert not first.done()
        gate.set()
        answer = await first
        assert answer.status_code == 201
        assert _key_state(sandbox, key) == "done"


def test_keys_expire_after_24_hours() -> None:
    now = [1_000_000.0]
    db = Database(":memory:")
    try:
        keys = Keys(db, clock=lambda: now[0])
        assert keys.begin("scope", "k", "print-1") is None
        with db.transaction():
            keys.finish("scope", "k", 201, b"{}")
        replay = keys.begin("scope", "k", "print-1")
        assert replay is not None
        assert (replay.status, replay.body) == (201, b"{}")
        now[0] += TTL_SECONDS + 1
        # After 24 hours the key is new again, even for a different request.
        assert keys.begin("scope", "k", "print-2") is None
        assert keys.expire() == 0
        now[0] += TTL_SECONDS + 1
        assert keys.expire() == 1
    finally:
        db.close()


def _stored_keys(db: Database) -> list[str]:
    return [row["key"] for row in db.all("SELECT key FROM idempotency ORDER BY key")]


def _claim(keys: Keys, key: str) -> None:
    assert keys.begin("scope", key, "print") is None
    with keys.db.transaction():
        keys.finish("scope", key, 201, b"{}")


def test_expired_keys_are_deleted_when_keys_start(tmp_path: Path) -> None:
    now = [1_000_000.0]
    db = Database(tmp_path / "sandbox.db")
    try:
        keys = Keys(db, clock=lambda: now[0])
        _claim(keys, "old")
        now[0] += TTL_SECONDS / 2
        _claim(keys, "young")
        now[0] += TTL_SECONDS / 2 + 1  # "old" is now past its 24 hours, "young" is not
        assert _stored_keys(db) == ["old", "young"]
        Keys(db, clock=lambda: now[0])  # a sandbox starting on this database
        assert _stored_keys(db) == ["young"]
    finally:
        db.close()


async def test_a_starting_sandbox_deletes_expired_keys(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "sandbox.db"
    db = Database(path)
    try:
        stale = time.time() - TTL_SECONDS - 60
        fresh = time.time() - 60
        for key, created in (("stale", stale), ("fresh", fresh)):
            db.conn.execute(
                "INSERT INTO idempotency (scope, key, fingerprint, state, status, body,"
                " created_at) VALUES ('scope', ?, 'print', 'done', 201, x'7b7d', ?)",
                (key, created),
            )
    finally:
        db.close()
    sandbox = await start_sandbox(db_path=str(path))
    assert _stored_keys(sandbox.db) == ["fresh"]


def test_expired_keys_are_deleted_every_thousand_claims() -> None:
    now = [1_000_000.0]
    db = Database(":memory:")
    try:
        keys = Keys(db, clock=lambda: now[0])
        assert keys.expire_every == EXPIRE_EVERY == 1000
        _claim(keys, "old")  # claim 1
        now[0] += TTL_SECONDS + 1
        for n in range(2, EXPIRE_EVERY):  # claims 2 … 999
            assert keys.begin("scope", f"k{n}", "print") is None
        assert "old" in _stored_keys(db)  # swept every 1,000 claims, not on each
        assert keys.begin("scope", "last", "print") is None  # claim 1,000
        stored = _stored_keys(db)
        assert "old" not in stored
        assert len(stored) == EXPIRE_EVERY - 1  # every other key is younger than a day
    finally:
        db.close()


# --- authentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("", 401),
        ("Bearer", 401),
        ("Basic c2tfdGVzdF94eXo6", 401),
        ("Bearer garbage", 401),
        ("Bearer pk_test_4eC39HqLyjWDarjtT1zdp7dc", 401),
        ("Bearer sk_test_", 401),
        ("Bearer sk_test_a b c", 401),  # one token: a key has no spaces
        ("Bearer sk_4eC39HqLyjWDarjtT1zdp7dc", 403),
        ("Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc", 403),
    ],
)
async def test_auth_failures(sandbox_url: str, authorization: str | None, status: int) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient(base_url=sandbox_url, headers=headers) as http:
        for response in (
            await http.get(f"{CUSTOMERS}/anything"),
            await http.get(CUSTOMERS),
            await http.post(CUSTOMERS, json={}, headers={"Idempotency-Key": new_key()}),
            await http.get("/sandbox/events"),
        ):
            assert response.status_code == status
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["status"] == status
            assert problem["title"] == ("Unauthorized" if status == 401 else "Forbidden")
            if status == 403:
                assert "sk_test_" in problem["detail"]
                assert "live" in problem["detail"]
                assert "www-authenticate" not in response.headers  # a 403 challenges no one
            else:  # RFC 9110 §11.6.1: a 401 says which scheme to authenticate with
                challenge = response.headers["www-authenticate"]
                assert challenge.startswith('Bearer realm="moment-sandbox"')
                # RFC 6750 §3.1: an error code only when a token was sent and refused.
                sent = authorization is not None and authorization.lower().startswith("bearer ")
                assert challenge.endswith(', error="invalid_token"') == sent


async def test_any_test_key_is_accepted_and_bearer_is_case_insensitive(sandbox_url: str) -> None:
    for authorization in ("Bearer sk_test_x", "bearer sk_test_abcdefghijklmnop"):
        async with httpx.AsyncClient(
            base_url=sandbox_url, headers={"Authorization": authorization}
        ) as http:
            response = await http.get(CUSTOMERS, params={"limit": "1"})
            assert response.status_code == 200
            assert isinstance(response.json()["data"], list)


async def test_client_raises_typed_auth_errors(sandbox_url: str) -> None:
    async with make_client(sandbox_url, "sk_4eC39HqLyjWDarjtT1zdp7dc") as live:
        probe = await live.probe()
        assert not probe.ok
        assert "live" in probe.summary
    async with make_client(sandbox_url) as good:
        probe = await good.probe()
        assert probe.ok
        assert probe.summary == "connected"


async def test_pay_pages_need_no_key(sandbox_url: str) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        response = await http.get(f"/pay/{ref('nobill')}")
    assert response.status_code == 404  # not 401: the bill page is public
    assert "No such bill" in response.text


def test_fields_helper_reads_errors() -> None:
    """The helper the tests rely on reads the problem's errors list exactly."""
    from moment_tui.api.errors import Problem

    problem = Problem(400, "Bad", extensions={"errors": [{"field": "a.b", "message": "m"}]})
    assert fields(BadRequest("POST", "/x", problem)) == {"a.b": "m"}
