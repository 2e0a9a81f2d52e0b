"""An API that fails for a while must not cost an event its application.

Against a real sandbox and a real listener; faults (timeouts, refused connections, 5xx,
429) are injected by a transport in front of the sandbox, which otherwise passes every
request through. Only a 404 is an answer about the object itself; anything else leaves
the event unapplied — no application row — so that the idle retry or the next start's
catch-up applies it, exactly once, when the API answers again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import moment_tui.webhooks.reconcile as reconcile
from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.api.models import AccountCreate, Bill, BillCreate, BillStatus, CustomerCreate
from moment_tui.sandbox.server import Sandbox, SandboxConfig, SandboxThread
from moment_tui.store import applications, catalogue, eventlog
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.outbound import amount_applied_event
from moment_tui.webhooks.reconcile import Reconciler
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, signed_headers
from moment_tui.webhooks.trigger import fire

from .pipeline_helpers import (
    ListenProcess,
    Pipeline,
    cli_env,
    eventually,
    open_pipeline,
    run_cli,
    store_signed,
    wait_until,
)

API_KEY = "sk_test_retryPk4eC39HqLyjWD00"
DONE = ("confirmed", "drift", "unconfirmed")

Fault = Callable[[httpx.Request], httpx.Response]


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def unavailable(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})


def rate_limited(_request: httpx.Request) -> httpx.Response:
    body = {"title": "Too Many Requests", "status": 429}
    return httpx.Response(429, headers={"Retry-After": "0"}, json=body)


FAULTS: dict[str, tuple[Fault, str]] = {
    # fault, and a piece of the error text the log and the reason must show
    "timeout": (timeout, "no answer in time"),
    "refused": (refused, "refused"),
    "503": (unavailable, "503"),
    "429": (rate_limited, "429"),
}


class Flaky(httpx.AsyncBaseTransport):
    """Passes every request to the real sandbox, except GETs ``only`` picks while a
    ``fault`` is set: those get the fault instead."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fault: Fault | None = None
        self.only: Callable[[str], bool] = lambda _path: True
        self.gets: list[str] = []
        self.faulted: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            self.gets.append(path)
            if self.fault is not None and self.only(path):
                self.faulted.append(path)
                return self.fault(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class World:
    pipe: Pipeline
    sandbox: Sandbox
    client: MomentClient
    flaky: Flaky
    secret: str
    clock: list[float] = field(default_factory=lambda: [0.0])

    @property
    def workspace(self) -> Workspace:
        return self.pipe.workspace

    @property
    def reconciler(self) -> Reconciler:
        assert self.pipe.reconciler is not None
        return self.pipe.reconciler

    async def read(self, fn: Callable[..., Any]) -> Any:
        return await self.workspace.read(fn)

    async def pay(self, **target: Any) -> dict[str, Any]:
        response = await self.client.request("POST", "/sandbox/payments", json=target)
        assert response.status == 201
        body: dict[str, Any] = response.body
        return body

    async def bill(self, amount_due: int, *, account: str | None = None) -> Bill:
        if account is None:
            customer = await self.client.create_customer(
                CustomerCreate(external_reference=ref("cust"), currency="ZAR")
            )
            account = (
                await self.client.create_account(
                    AccountCreate(
                        external_reference=ref("acc"), customer=customer.id, currency="ZAR"
                    )
                )
            ).id
        return await self.client.create_bill(
            BillCreate(
                external_reference=ref("inv"),
                currency="ZAR",
                amount_due=amount_due,
                account=account,
                bill_date=dt.date(2025, 1, 1),
            )
        )

    async def send(self, body: bytes) -> str:
        [sent] = await fire(self.pipe.url, lambda: body, [self.secret])
        assert sent.status == 200
        return sent.webhook_id

    async def application(self, webhook_id: str) -> Application | None:
        app: Application | None = await self.read(lambda c: applications.get(c, webhook_id))
        return app

    async def settled(self, webhook_id: str) -> Application:
        async def look() -> Application | None:
            app = await self.application(webhook_id)
            return app if app is not None and app.state in DONE else None

        found: Application = await eventually(look)
        return found

    async def unapplied(self) -> list[str]:
        pending: list[Delivery] = await self.read(eventlog.unapplied)
        return [d.webhook_id or "" for d in pending]

    async def quiet(self) -> None:
        """Until what was submitted so far has been tried (call once it is under way)."""
        await asyncio.wait_for(self.reconciler.idle(), 10)


Make = Callable[..., Awaitable[World]]


def ref(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def make_world(tmp_path: Path) -> AsyncIterator[Make]:
    """Listener + workspace + sandbox (no webhooks of its own) + reconciler, whose API
    client goes through a :class:`Flaky` transport."""
    async with AsyncExitStack() as stack:

        async def make(*, attach: bool = True) -> World:
            secret = new_webhook_secret()
            path = tmp_path / f"ws-{uuid.uuid4().hex[:8]}.sqlite3"
            pipe = await stack.enter_async_context(open_pipeline(path, (secret,)))
            sandbox = Sandbox(SandboxConfig())
            await sandbox.start()
            stack.push_async_callback(sandbox.close)
            flaky = Flaky()
            client = MomentClient(
                API_KEY,
                base_url=sandbox.url,
                transport=flaky,
                retry=RetryPolicy(max_attempts=1),
                timeout=10.0,
            )
            stack.push_async_callback(client.aclose)
            world = World(pipe, sandbox, client, flaky, secret)
            if attach:
                await pipe.attach(Reconciler(pipe.workspace, client))
            return world

        yield make


@pytest.fixture
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The idle retry after 0.2 s instead of 30, and no pause after a failure."""
    monkeypatch.setattr(reconcile, "RETRY_SECONDS", 0.2)
    monkeypatch.setattr(reconcile, "API_PAUSE", 0.0)


# --- a transient failure leaves the event unapplied, then it is applied once ----------------


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_transient_failure_leaves_the_event_for_a_later_retry(
    make_world: Make, quick_retry: None, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_world()
    b = await world.bill(6_000)  # the catalogue has never seen it
    await world.pay(bill=b.id, amount=1_000)
    inject, shown = FAULTS[fault]
    world.flaky.fault = inject
    with caplog.at_level(logging.WARNING, logger="moment_tui.webhooks.reconcile"):
        webhook_id = await world.send(amount_applied_event(1_000, "ZAR", bill_id=b.id))
        await eventually(lambda: world.flaky.faulted)
        await world.quiet()
    # Not recorded as unknown: no application at all, so a retry will pick it up.
    assert await world.application(webhook_id) is None
    assert await world.unapplied() == [webhook_id]
    assert await world.read(lambda c: catalogue.get(c, "bill", b.id)) is None
    reason = world.reconciler.pending[webhook_id]
    assert shown in reason
    [warning] = [r.getMessage() for r in caplog.records if webhook_id in r.getMessage()]
    assert b.id in warning
    assert shown in warning
    assert API_KEY not in caplog.text

    # The API answers again: the idle retry applies it from the server's copy.
    world.flaky.fault = None
    app = await world.settled(webhook_id)
    assert (app.outcome, app.state, app.changes) == ("fetched", "confirmed", ())
    entry = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (1_000, 5_000)
    # The note goes just after the commit the read above saw.
    await eventually(lambda: webhook_id not in world.reconciler.pending)

    # Exactly once: a second retry, or the event offered again, changes nothing.
    assert await world.reconciler.catch_up() == 0
    delivery = await world.read(lambda c: eventlog.find(c, webhook_id))
    assert await world.reconciler.process([delivery]) == []
    rows = world.pipe.rows("SELECT webhook_id FROM applications")
    assert [r[0] for r in rows] == [webhook_id]
    entry = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (1_000, 5_000)


async def test_the_next_start_applies_what_a_failure_left(make_world: Make) -> None:
    world = await make_world()
    b = await world.bill(4_000)
    await world.pay(bill=b.id, amount=4_000)
    world.flaky.fault = unavailable
    webhook_id = await world.send(amount_applied_event(4_000, "ZAR", bill_id=b.id))
    await eventually(lambda: world.flaky.faulted)
    await world.quiet()
    assert await world.unapplied() == [webhook_id]
    first = world.reconciler
    assert list(first.pending) == [webhook_id]
    await first.close()
    world.pipe.reconciler = None

    world.flaky.fault = None
    fresh = Reconciler(world.workspace, world.client)
    try:
        assert await fresh.catch_up() == 1
        fresh.start()
        app = await world.settled(webhook_id)
        await fresh.idle()
    finally:
        await fresh.close()
    assert (app.outcome, app.state) == ("fetched", "confirmed")
    entry = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert entry.obj.status is BillStatus.PAID
    again = Reconciler(world.workspace, world.client)
    assert await again.catch_up() == 0
    # The first reconciler's note of it goes once it finds the event applied.
    assert await first.catch_up() == 0
    assert first.pending == {}


async def test_a_404_is_an_answer_the_event_is_recorded_as_unknown(make_world: Make) -> None:
    world = await make_world()
    webhook_id = await world.send(amount_applied_event(100, "ZAR", bill_id="bill_neverWas"))
    app = await world.settled(webhook_id)
    assert (app.outcome, app.state, app.note) == (
        "unknown_target",
        "unconfirmed",
        "not in the catalogue, and the API answered 404: it has no such bill",
    )
    assert world.flaky.gets == ["/billing/bills/bill_neverWas"]
    assert webhook_id not in world.reconciler.pending


# --- a failing API is asked once, not once per event ----------------------------------------


async def test_one_failure_spares_the_api_the_rest_of_the_batch(
    make_world: Make, quick_retry: None
) -> None:
    world = await make_world(attach=False)
    reconciler = Reconciler(world.workspace, world.client)
    bills = [await world.bill(1_000) for _ in range(2)]
    stored = [
        await store_signed(
            world.workspace, world.secret, amount_applied_event(100, "ZAR", bill_id=b.id)
        )
        for b in bills
    ]
    world.flaky.fault = timeout
    assert await reconciler.process(stored) == []
    assert len(world.flaky.faulted) == 1  # not asked for the second bill: API_PAUSE is 0
    assert set(reconciler.pending) == {d.webhook_id for d in stored}
    world.flaky.fault = None
    assert [a.outcome for a in await reconciler.process(stored)] == ["fetched"] * 2


async def test_after_a_failure_the_api_is_left_alone_for_a_pause(make_world: Make) -> None:
    world = await make_world(attach=False)
    reconciler = Reconciler(world.workspace, world.client, clock=lambda: world.clock[0])
    bills = [await world.bill(1_000) for _ in range(3)]
    for b in bills:
        await world.pay(bill=b.id, amount=100)
    stored = [
        await store_signed(
            world.workspace, world.secret, amount_applied_event(100, "ZAR", bill_id=b.id)
        )
        for b in bills
    ]
    world.flaky.fault = unavailable
    assert await reconciler.process(stored[:2]) == []
    assert len(world.flaky.faulted) == 1  # the second bill was not asked for
    world.flaky.fault = None
    world.clock[0] += reconcile.API_PAUSE / 2
    assert await reconciler.process(stored[2:]) == []  # still pausing: nothing asked
    assert len(world.flaky.gets) == 1
    assert set(reconciler.pending) == {d.webhook_id for d in stored}
    assert "503" in reconciler.pending[stored[2].webhook_id or ""]
    world.clock[0] += reconcile.API_PAUSE
    applied = await reconciler.process(stored)
    assert [a.outcome for a in applied] == ["fetched"] * 3
    assert reconciler.pending == {}
    assert await world.unapplied() == []


async def test_an_unknown_account_whose_bills_cannot_be_refreshed_waits(
    make_world: Make, quick_retry: None
) -> None:
    """Its known bills were settled by the server first; applying the account without
    their fresh copies would leave them stale, so the whole event waits."""
    world = await make_world()
    customer = await world.client.create_customer(
        CustomerCreate(external_reference=ref("cust"), currency="ZAR")
    )
    account = await world.client.create_account(
        AccountCreate(external_reference=ref("acc"), customer=customer.id, currency="ZAR")
    )
    b = await world.bill(3_000, account=account.id)
    await world.workspace.remember([b], "looked_up")  # the bill, not the account
    await world.pay(account=account.id, amount=1_000)
    world.flaky.fault = unavailable
    world.flaky.only = lambda path: path.startswith("/billing/bills/")
    webhook_id = await world.send(amount_applied_event(1_000, "ZAR", account_id=account.id))
    await eventually(lambda: world.flaky.faulted)
    await world.quiet()
    assert await world.application(webhook_id) is None
    assert await world.read(lambda c: catalogue.get(c, "account", account.id)) is None
    ours = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert ours.obj.amount_paid == 0

    world.flaky.fault = None
    app = await world.settled(webhook_id)
    assert (app.outcome, app.state) == ("fetched", "confirmed")
    ours = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert (ours.obj.amount_paid, ours.obj.amount_remaining) == (1_000, 2_000)


# --- without an API -------------------------------------------------------------------------


async def test_without_an_api_an_unknown_target_waits_for_the_catalogue(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing to fetch it from: left unapplied (not "unknown" for good), so it is applied
    once the catalogue learns the bill — by this process's retry, or the console's."""
    async with open_pipeline(tmp_path / "no-api.sqlite3") as pipe:
        secret = new_webhook_secret()
        body = amount_applied_event(2_500, "ZAR", bill_id="bill_noApi1")
        delivery = await store_signed(pipe.workspace, secret, body)
        reconciler = Reconciler(pipe.workspace, None)
        with caplog.at_level(logging.WARNING, logger="moment_tui.webhooks.reconcile"):
            assert await reconciler.process([delivery]) == []
            assert await reconciler.process([delivery]) == []  # retried: warned once
        assert await pipe.workspace.read(eventlog.unapplied) == [delivery]
        assert reconciler.pending == {
            delivery.webhook_id: "not in the catalogue, and there is no API to fetch it from"
        }
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "bill_noApi1" in warnings[0]

        bill = Bill(
            id="bill_noApi1",
            external_reference="no-api-1",
            customer_id="bcus_noApi",
            status=BillStatus.UNPAID,
            currency="ZAR",
            amount_due=10_000,
            amount_remaining=10_000,
        )
        await pipe.workspace.remember([bill], "looked_up")
        [app] = await reconciler.process([delivery])
        assert (app.outcome, app.state) == ("applied", "unconfirmed")
        assert reconciler.pending == {}
        assert await reconciler.process([delivery]) == []
        entry = await pipe.workspace.read(lambda c: catalogue.get(c, "bill", bill.id))
        assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (2_500, 7_500)


@pytest.mark.parametrize("learned", ["after the payment", "before the payment"])
async def test_a_waiting_event_takes_the_servers_copy_over_one_learned_meanwhile(
    make_world: Make, monkeypatch: pytest.MonkeyPatch, learned: str
) -> None:
    """While an event waits for the API, the catalogue learns its bill elsewhere (the
    console lists it). Whether that copy includes the payment cannot be told, so the
    retry fetches the bill and keeps the server's copy: never counted twice, nor lost."""
    monkeypatch.setattr(reconcile, "API_PAUSE", 0.0)
    world = await make_world()
    b = await world.bill(6_000)
    before = await world.client.get_bill(b.id)
    await world.pay(bill=b.id, amount=1_000)
    world.flaky.fault = unavailable
    webhook_id = await world.send(amount_applied_event(1_000, "ZAR", bill_id=b.id))
    await eventually(lambda: webhook_id in world.reconciler.pending)
    world.flaky.fault = None
    copy = await world.client.get_bill(b.id) if learned == "after the payment" else before
    await world.workspace.remember([copy], "listed")
    assert await world.reconciler.catch_up() == 1
    app = await world.settled(webhook_id)
    assert (app.outcome, app.state, app.changes) == ("fetched", "confirmed", ())
    entry = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (1_000, 5_000)


async def test_a_waiting_event_after_a_restart_still_takes_the_servers_copy(
    make_world: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mark "this event waited" is not kept across a restart; the catalogue's copy
    having come from the API after the event arrived is reason enough to fetch it."""
    monkeypatch.setattr(reconcile, "API_PAUSE", 0.0)
    world = await make_world()
    b = await world.bill(6_000)
    await world.pay(bill=b.id, amount=1_000)
    world.flaky.fault = unavailable
    webhook_id = await world.send(amount_applied_event(1_000, "ZAR", bill_id=b.id))
    await eventually(lambda: webhook_id in world.reconciler.pending)
    world.flaky.fault = None
    await world.workspace.remember([await world.client.get_bill(b.id)], "listed")
    await world.reconciler.close()  # stopped; another process (the console) starts
    world.pipe.reconciler = None
    await world.pipe.attach(Reconciler(world.workspace, world.client))
    app = await world.settled(webhook_id)
    assert (app.outcome, app.state) == ("fetched", "confirmed")
    entry = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert entry.obj.amount_paid == 1_000  # not 2,000


async def test_a_bill_fetched_for_its_unknown_account_is_stored_whatever_the_account_event(
    make_world: Make,
) -> None:
    """One batch: an event on an unknown account (amount 0: skipped) and one on a known
    bill of that account. The bill's copy was fetched for the account; it is stored by
    the bill's own event, not left to the account's (which stores nothing)."""
    world = await make_world(attach=False)
    b = await world.bill(3_000)
    await world.workspace.remember([b], "listed")  # the bill is known, its account not
    await world.pay(bill=b.id, amount=1_000)
    zero = await store_signed(
        world.workspace, world.secret, amount_applied_event(0, "ZAR", account_id=b.account_id)
    )
    paid = await store_signed(
        world.workspace, world.secret, amount_applied_event(1_000, "ZAR", bill_id=b.id)
    )
    reconciler = Reconciler(world.workspace, world.client)
    apps = {a.webhook_id: a for a in await reconciler.process([zero, paid])}
    assert apps[zero.webhook_id].outcome == "skipped"
    assert (apps[paid.webhook_id].outcome, apps[paid.webhook_id].state) == ("fetched", "confirmed")
    entry = await world.read(lambda c: catalogue.get(c, "bill", b.id))
    assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (1_000, 2_000)


async def test_an_event_a_write_error_dropped_is_retried_under_steady_traffic(
    make_world: Make, quick_retry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only events that waited for the API: one whose batch failed to write (a
    locked database, say) is picked up on the deadline too, traffic or not."""
    world = await make_world()
    busy = await world.bill(10**7)
    target = await world.bill(5_000)
    await world.workspace.remember([busy, target], "listed")
    real_insert = applications.insert
    armed = [True]

    def insert(conn: sqlite3.Connection, app: Application) -> None:
        if armed[0] and app.target_id == target.id:
            armed[0] = False
            raise sqlite3.OperationalError("database is locked")
        real_insert(conn, app)

    monkeypatch.setattr(applications, "insert", insert)
    webhook_id = await world.send(amount_applied_event(100, "ZAR", bill_id=target.id))
    sent = 0
    while await world.application(webhook_id) is None:
        assert sent < 100, "the dropped event was never retried under traffic"
        await world.send(amount_applied_event(1, "ZAR", bill_id=busy.id))
        sent += 1
        await asyncio.sleep(0.05)  # the steady traffic itself, not a wait for a result
    assert not armed[0]
    entry = await world.read(lambda c: catalogue.get(c, "bill", target.id))
    assert entry.obj.amount_paid == 100


async def test_under_steady_traffic_a_waiting_event_is_still_retried(
    make_world: Make, quick_retry: None
) -> None:
    """The idle retry needs a quiet spell; deliveries every 50 ms never give one, so
    the waiting event is retried on a deadline the traffic does not move."""
    world = await make_world()
    waiting = await world.bill(6_000)  # unknown to the catalogue
    await world.pay(bill=waiting.id, amount=1_000)
    world.flaky.fault = unavailable
    first = await world.send(amount_applied_event(1_000, "ZAR", bill_id=waiting.id))
    await eventually(lambda: world.flaky.faulted)
    await eventually(lambda: first in world.reconciler.pending)
    world.flaky.fault = None
    busy = await world.bill(10**7)
    await world.workspace.remember([busy], "listed")
    sent = 0
    while await world.application(first) is None:
        assert sent < 100, "the waiting event was never retried under traffic"
        await world.send(amount_applied_event(1, "ZAR", bill_id=busy.id))
        sent += 1
        await asyncio.sleep(0.05)  # the steady traffic itself, not a wait for a result
    app = await world.settled(first)
    assert (app.outcome, app.state) == ("fetched", "confirmed")
    await eventually(lambda: first not in world.reconciler.pending)


# --- the re-check after applying: a failure is tried again, not taken for an answer ---------


async def test_a_re_fetch_that_fails_once_is_confirmed_on_the_next_try(make_world: Make) -> None:
    world = await make_world()
    b = await world.bill(8_000)
    await world.workspace.remember([b], "listed")
    await world.pay(bill=b.id, amount=3_000)
    world.flaky.fault = unavailable
    webhook_id = await world.send(amount_applied_event(3_000, "ZAR", bill_id=b.id))
    await eventually(lambda: world.flaky.faulted)
    world.flaky.fault = None
    app = await world.settled(webhook_id)  # after the first backoff (1.5 s)
    assert (app.outcome, app.state, app.drift) == ("applied", "confirmed", ())
    assert world.flaky.gets == [f"/billing/bills/{b.id}"] * 2


async def test_an_application_left_unchecked_by_a_stop_is_checked_at_the_next_start(
    make_world: Make,
) -> None:
    world = await make_world()
    b = await world.bill(8_000)
    await world.workspace.remember([b], "listed")
    await world.pay(bill=b.id, amount=2_000)
    world.flaky.fault = unavailable
    webhook_id = await world.send(amount_applied_event(2_000, "ZAR", bill_id=b.id))
    await eventually(lambda: world.flaky.faulted)
    await world.reconciler.close()  # stopped during the backoff
    world.pipe.reconciler = None
    app = await world.application(webhook_id)
    assert app is not None
    assert app.state == "applied"  # not checked: neither confirmed nor given up on

    world.flaky.fault = None
    fresh = Reconciler(world.workspace, world.client)
    try:
        assert await fresh.catch_up() == 0  # no event to apply, one to check
        fresh.start()
        await asyncio.wait_for(fresh.idle(), 10)
    finally:
        await fresh.close()
    app = await world.application(webhook_id)
    assert app is not None
    assert (app.state, app.changes[0].after) == ("confirmed", 2_000)


# --- the command line: `listen` while the API is down, then after it is back ---------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rows(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    [path] = data_dir.rglob("workspaces/*.sqlite3")
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def listen(env: dict[str, str], secret: str) -> ListenProcess:
    process = ListenProcess(["--port", "0", "--json", "--secret", secret], env)
    process.wait_started()
    return process


def test_listen_applies_an_event_the_down_api_left_at_its_next_start(tmp_path: Path) -> None:
    """The audit's repro: ``listen`` with an API that refuses connections, a signed event
    for a bill the catalogue does not know. It must not become "unknown" for good."""
    port = free_port()
    env = cli_env(tmp_path, MOMENT_API_KEY=API_KEY, MOMENT_API_URL=f"http://127.0.0.1:{port}")
    data = Path(env["XDG_DATA_HOME"])
    secret = new_webhook_secret()
    reference = ref("inv")  # the event names the bill by its reference
    body = amount_applied_event(1_500, "ZAR", bill_id=reference)
    webhook_id = new_message_id()

    first = listen(env, secret)
    try:
        answer = httpx.post(
            first.url, content=body, headers=signed_headers([secret], webhook_id, body)
        )
        assert answer.status_code == 200
        first.json_lines(webhook_id, 1)
        warning = wait_until(lambda: [line for line in first.stderr if webhook_id in line])
    finally:
        assert first.terminate() == 0
    assert reference in warning[0]
    assert "could not be asked" in warning[0]
    assert API_KEY not in first.output()
    assert rows(data, "SELECT count(*) FROM applications") == [(0,)]
    events = run_cli(["events", "--json"], env)
    assert events.returncode == 0, events.stderr
    [listed] = [json.loads(line) for line in events.stdout.splitlines()]
    assert (listed["webhook_id"], listed["verdict"], listed["application"]) == (
        webhook_id,
        "verified",
        None,
    )
    text = run_cli(["events"], env)
    assert text.stdout.rstrip().endswith("· not applied yet"), text.stdout

    # The API is back (same address, so the same workspace): the bill was paid there.
    sandbox = SandboxThread(SandboxConfig(port=port))
    sandbox.start()
    try:

        async def pay() -> Bill:
            async with MomentClient(API_KEY, base_url=sandbox.url) as client:
                customer = await client.create_customer(
                    CustomerCreate(external_reference=ref("cust"), currency="ZAR")
                )
                bill = await client.create_bill(
                    BillCreate(
                        external_reference=reference,
                        currency="ZAR",
                        amount_due=5_000,
                        customer=customer.id,
                    )
                )
                paid = await client.request(
                    "POST", "/sandbox/payments", json={"bill": bill.id, "amount": 1_500}
                )
                assert paid.status == 201
                return bill

        bill = asyncio.run(pay())
        for _ in range(2):  # the second start finds nothing left to apply
            again = listen(env, secret)
            try:
                wait_until(lambda: rows(data, "SELECT state FROM applications") == [("confirmed",)])
            finally:
                assert again.terminate() == 0
            assert webhook_id not in "\n".join(again.stderr)
    finally:
        sandbox.stop()
    assert rows(data, "SELECT webhook_id, outcome, state FROM applications") == [
        (webhook_id, "fetched", "confirmed")
    ]
    assert rows(data, "SELECT amount_paid FROM bills WHERE id = ?", (bill.id,)) == [(1_500,)]
