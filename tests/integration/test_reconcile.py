"""Reconciliation against a real sandbox: payments become signed events, the listener
stores them, the reconciler applies them to the catalogue and checks with the API."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.api.models import (
    Account,
    AccountCreate,
    Bill,
    BillCreate,
    BillStatus,
    BillUpdate,
    CustomerCreate,
    ObjectKind,
)
from moment_tui.sandbox.server import Sandbox, SandboxConfig
from moment_tui.store import applications, catalogue, eventlog
from moment_tui.store.applications import Application, Change, Drift
from moment_tui.store.catalogue import now_iso
from moment_tui.store.eventlog import Delivery
from moment_tui.webhooks.listener import incoming_from
from moment_tui.webhooks.outbound import amount_applied_event, send
from moment_tui.webhooks.reconcile import Reconciler
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, signed_headers
from moment_tui.webhooks.trigger import fire
from moment_tui.webhooks.verify import Verifier

from .pipeline_helpers import Pipeline, eventually, open_pipeline, store_signed

API_KEY = "sk_test_reconcile4eC39HqLyjWD"
DONE = ("confirmed", "drift", "unconfirmed")


@dataclass
class World:
    pipe: Pipeline
    sandbox: Sandbox
    client: MomentClient
    secret: str

    @property
    def reconciler(self) -> Reconciler:
        assert self.pipe.reconciler is not None
        return self.pipe.reconciler

    async def read(self, fn: Callable[..., Any]) -> Any:
        return await self.pipe.workspace.read(fn)

    async def sync(self) -> int:
        """Fill the catalogue by listing the sandbox, as the console does."""
        total = 0
        kinds: tuple[ObjectKind, ...] = ("customer", "account", "bill")
        for kind in kinds:
            batch = [obj async for obj in self.client.iterate(kind)]
            total += await self.pipe.workspace.remember(batch, "listed")
        return total

    async def pay(self, **target: Any) -> dict[str, Any]:
        response = await self.client.request("POST", "/sandbox/payments", json=target)
        assert response.status == 201
        body: dict[str, Any] = response.body
        return body

    async def settled(self, event_id: str, within: float = 10.0) -> tuple[Delivery, Application]:
        """The delivery of a sandbox event and its application, once checked."""

        def look(conn: Any) -> tuple[Delivery, Application] | None:
            row = conn.execute(
                "SELECT seq FROM deliveries WHERE event_id = ? AND verdict = 'verified'",
                (event_id,),
            ).fetchone()
            if row is None:
                return None
            delivery = eventlog.find(conn, str(row[0]))
            app = applications.for_delivery(conn, row[0])
            if delivery is None or app is None or app.state not in DONE:
                return None
            return delivery, app

        found: tuple[Delivery, Application] = await eventually(
            lambda: self.read(look), within=within
        )
        return found

    async def application(self, webhook_id: str) -> Application:
        async def look() -> Application | None:
            app: Application | None = await self.read(
                lambda conn: applications.get(conn, webhook_id)
            )
            return app if app is not None and app.state in DONE else None

        found: Application | None = await eventually(look)
        assert found is not None
        return found

    async def store_unapplied(self, body: bytes) -> Delivery:
        """A verified delivery in the event log that no reconciler was told about."""
        return await store_signed(self.pipe.workspace, self.secret, body)

    async def catch_up_afresh(self) -> None:
        """A fresh reconciler (as after a restart) finds exactly one event to apply."""
        fresh = Reconciler(self.pipe.workspace, self.client)
        try:
            assert await fresh.catch_up() == 1
            fresh.start()
            await asyncio.wait_for(fresh.idle(), 10)
        finally:
            await fresh.close()

    async def ours(self, kind: ObjectKind, object_id: str) -> Any:
        entry = await self.read(lambda conn: catalogue.get(conn, kind, object_id))
        assert entry is not None
        return entry


Make = Callable[..., Awaitable[World]]


@pytest.fixture
async def make_world(tmp_path: Path) -> AsyncIterator[Make]:
    """``await make_world(deliver=True)``: listener + workspace + sandbox + reconciler."""
    async with AsyncExitStack() as stack:

        async def make(*, deliver: bool = True) -> World:
            secret = new_webhook_secret()
            path = tmp_path / f"ws-{secret[-8:].replace('/', '_')}.sqlite3"
            pipe = await stack.enter_async_context(open_pipeline(path, (secret,)))
            sandbox = Sandbox(
                SandboxConfig(
                    webhook_url=pipe.url if deliver else None,
                    webhook_secrets=(secret,),
                    retry_schedule=(0.0, 0.2, 0.5, 1.0),
                )
            )
            await sandbox.start()
            stack.push_async_callback(sandbox.close)
            client = MomentClient(
                API_KEY, base_url=sandbox.url, retry=RetryPolicy(max_attempts=1), timeout=10.0
            )
            stack.push_async_callback(client.aclose)
            await pipe.attach(Reconciler(pipe.workspace, client))
            return World(pipe, sandbox, client, secret)

        yield make


def ref(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


async def customer_with_account(world: World, *, balance: int | None = None) -> tuple[str, str]:
    cust = await world.client.create_customer(
        CustomerCreate(external_reference=ref("cust"), name="Thandi Nkosi", currency="ZAR")
    )
    acc = await world.client.create_account(
        AccountCreate(
            external_reference=ref("acc"),
            customer=cust.id,
            currency="ZAR",
            balance=balance,
        )
    )
    return cust.id, acc.id


async def new_bill(
    world: World,
    amount_due: int,
    *,
    account: str | None = None,
    customer: str | None = None,
    due: dt.date | None = None,
) -> Bill:
    return await world.client.create_bill(
        BillCreate(
            external_reference=ref("inv"),
            currency="ZAR",
            amount_due=amount_due,
            account=account,
            customer=customer,
            bill_date=dt.date(2025, 1, 1),
            due_date=due,
        )
    )


def money(b: Any) -> tuple[int, int, BillStatus]:
    return b.amount_paid, b.amount_remaining, b.status


# --- payments become confirmed applications ---------------------------------------------------


async def test_partial_bill_payment_is_applied_and_confirmed(make_world: Make) -> None:
    world = await make_world()
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 10_000, account=account_id)
    await world.sync()
    payment = await world.pay(bill=b.id, amount=2_500)
    delivery, app = await world.settled(payment["event_id"])
    assert (delivery.amount, delivery.currency, delivery.bill_id) == (2_500, "ZAR", b.id)
    assert delivery.account_id == account_id
    assert (app.outcome, app.state, app.target_kind, app.target_id) == (
        "applied",
        "confirmed",
        "bill",
        b.id,
    )
    assert app.changes == (
        Change("bill", b.id, "amount_paid", 0, 2_500),
        Change("bill", b.id, "amount_remaining", 10_000, 7_500),
    )
    assert app.drift == ()
    assert app.checked_at is not None
    entry = await world.ours("bill", b.id)
    assert money(entry.obj) == (2_500, 7_500, BillStatus.UNPAID)
    assert entry.source == "refetched"
    assert money(await world.client.get_bill(b.id)) == money(entry.obj)


async def test_bill_paid_in_full_becomes_paid(make_world: Make) -> None:
    world = await make_world()
    customer_id, _ = await customer_with_account(world)
    b = await new_bill(world, 4_200, customer=customer_id)
    await world.sync()
    payment = await world.pay(bill=b.id)  # no amount: what remains
    assert payment["amount"] == 4_200
    _, app = await world.settled(payment["event_id"])
    assert app.state == "confirmed"
    assert app.changes == (
        Change("bill", b.id, "amount_paid", 0, 4_200),
        Change("bill", b.id, "amount_remaining", 4_200, 0),
        Change("bill", b.id, "status", "unpaid", "paid"),
    )
    assert money((await world.ours("bill", b.id)).obj) == (4_200, 0, BillStatus.PAID)


async def test_account_payment_settles_oldest_due_first(make_world: Make) -> None:
    world = await make_world()
    _, account_id = await customer_with_account(world)
    march = await new_bill(world, 1_000, account=account_id, due=dt.date(2025, 3, 1))
    january = await new_bill(world, 2_000, account=account_id, due=dt.date(2025, 1, 15))
    undated = await new_bill(world, 500, account=account_id)
    await world.sync()
    payment = await world.pay(account=account_id, amount=2_500)
    assert payment["allocation"]["bills"] == [
        {"bill_id": january.id, "amount": 2_000},
        {"bill_id": march.id, "amount": 500},
    ]
    delivery, app = await world.settled(payment["event_id"])
    assert delivery.target() == ("account", account_id)
    assert (app.outcome, app.state) == ("applied", "confirmed")
    assert app.allocation == ((january.id, 2_000), (march.id, 500))
    assert (app.to_balance, app.unallocated) == (0, 0)
    assert app.changes == (
        Change("bill", january.id, "amount_paid", 0, 2_000),
        Change("bill", january.id, "amount_remaining", 2_000, 0),
        Change("bill", january.id, "status", "unpaid", "paid"),
        Change("bill", march.id, "amount_paid", 0, 500),
        Change("bill", march.id, "amount_remaining", 1_000, 500),
    )
    assert money((await world.ours("bill", january.id)).obj) == (2_000, 0, BillStatus.PAID)
    assert money((await world.ours("bill", march.id)).obj) == (500, 500, BillStatus.UNPAID)
    assert money((await world.ours("bill", undated.id)).obj) == (0, 500, BillStatus.UNPAID)


async def test_account_payment_beyond_its_bills_lowers_the_balance(make_world: Make) -> None:
    world = await make_world()
    _, account_id = await customer_with_account(world, balance=1_000)
    b = await new_bill(world, 700, account=account_id, due=dt.date(2025, 2, 1))
    await world.sync()
    payment = await world.pay(account=account_id, amount=1_200)
    _, app = await world.settled(payment["event_id"])
    assert app.state == "confirmed"
    assert (app.allocation, app.to_balance, app.unallocated) == (((b.id, 700),), 500, 0)
    assert app.changes[-1] == Change("account", account_id, "balance", 1_000, 500)
    assert (await world.ours("account", account_id)).obj.balance == 500
    assert (await world.client.get_account(account_id)).balance == 500


async def test_customer_balance_payment(make_world: Make) -> None:
    world = await make_world()
    cust = await world.client.create_customer(
        CustomerCreate(external_reference=ref("cust"), currency="ZAR", balance=5_000)
    )
    await world.sync()
    payment = await world.pay(customer=cust.id, amount=1_200)
    delivery, app = await world.settled(payment["event_id"])
    assert delivery.target() == ("customer", cust.id)
    assert (app.outcome, app.state, app.allocation, app.to_balance) == (
        "applied",
        "confirmed",
        (),
        1_200,
    )
    assert app.changes == (Change("customer", cust.id, "balance", 5_000, 3_800),)
    assert (await world.ours("customer", cust.id)).obj.balance == 3_800


# --- drift: the server's copy wins -------------------------------------------------------------


async def test_a_change_behind_the_consoles_back_is_drift(make_world: Make) -> None:
    world = await make_world()
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 10_000, account=account_id)
    await world.sync()
    # Someone records 3,000 on the bill directly; the catalogue still says 0 paid.
    await world.client.update_bill(b.id, BillUpdate(currency="ZAR", amount_paid=3_000))
    assert money((await world.ours("bill", b.id)).obj) == (0, 10_000, BillStatus.UNPAID)
    body = amount_applied_event(1_000, "ZAR", bill_id=b.id, account_id=account_id)
    [sent] = await fire(world.pipe.url, lambda: body, [world.secret])
    assert sent.status == 200
    app = await world.application(sent.webhook_id)
    assert app.state == "drift"
    assert app.changes == (
        Change("bill", b.id, "amount_paid", 0, 1_000),
        Change("bill", b.id, "amount_remaining", 10_000, 9_000),
    )
    assert app.drift == (
        Drift("bill", b.id, "amount_paid", 1_000, 3_000),
        Drift("bill", b.id, "amount_remaining", 9_000, 7_000),
    )
    entry = await world.ours("bill", b.id)
    assert money(entry.obj) == (3_000, 7_000, BillStatus.UNPAID)
    assert entry.source == "refetched"
    stored = await world.read(lambda c: applications.get(c, sent.webhook_id))
    assert stored == app  # what was announced is what is kept


async def test_back_to_back_payments_are_both_confirmed_not_drift(make_world: Make) -> None:
    """The server already holds the second payment when the first is re-fetched; the
    grace re-check sees the second applied too, so neither is called drift."""
    world = await make_world()
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 10_000, account=account_id)
    await world.sync()
    first = await world.pay(bill=b.id, amount=1_000)
    second = await world.pay(bill=b.id, amount=2_000)
    _, app1 = await world.settled(first["event_id"])
    _, app2 = await world.settled(second["event_id"])
    assert (app1.state, app1.drift) == ("confirmed", ())
    assert (app2.state, app2.drift) == ("confirmed", ())
    assert money((await world.ours("bill", b.id)).obj) == (3_000, 7_000, BillStatus.UNPAID)


async def test_a_stale_catalogue_copy_is_drift_too(make_world: Make) -> None:
    world = await make_world()
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 8_000, account=account_id)
    await world.sync()
    # The catalogue's copy is edited (wrongly) to say 500 is already paid.
    stale = (await world.ours("bill", b.id)).obj.model_copy(
        update={"amount_paid": 500, "amount_remaining": 7_500}
    )
    await world.pipe.workspace.remember([stale], "looked_up")
    payment = await world.pay(bill=b.id, amount=2_000)
    _, app = await world.settled(payment["event_id"])
    assert app.state == "drift"
    assert app.drift == (
        Drift("bill", b.id, "amount_paid", 2_500, 2_000),
        Drift("bill", b.id, "amount_remaining", 5_500, 6_000),
    )
    assert money((await world.ours("bill", b.id)).obj) == (2_000, 6_000, BillStatus.UNPAID)


# --- unknown objects, duplicates, catch-up -----------------------------------------------------


async def test_an_unknown_object_is_fetched_first(make_world: Make) -> None:
    world = await make_world()
    customer_id, account_id = await customer_with_account(world)
    await world.sync()
    b = await new_bill(world, 6_000, account=account_id)  # created after the sync
    assert await world.read(lambda c: catalogue.get(c, "bill", b.id)) is None
    payment = await world.pay(bill=b.id, amount=1_000)
    _, app = await world.settled(payment["event_id"])
    assert (app.outcome, app.state, app.changes) == ("fetched", "confirmed", ())
    entry = await world.ours("bill", b.id)
    assert entry.source == "webhook"
    assert money(entry.obj) == (1_000, 5_000, BillStatus.UNPAID)
    assert (entry.obj.customer_id, entry.obj.account_id) == (customer_id, account_id)


async def test_an_unknown_account_brings_its_known_bills_up_to_date(make_world: Make) -> None:
    """The catalogue knows two of an account's bills but not the account: the payment
    settles the bills on the server, and the fetched account's bills are fetched too."""
    world = await make_world()
    _, account_id = await customer_with_account(world)
    older = await new_bill(world, 3_000, account=account_id, due=dt.date(2030, 1, 1))
    newer = await new_bill(world, 5_000, account=account_id, due=dt.date(2030, 2, 1))
    await world.pipe.workspace.remember([older, newer], "looked_up")  # not the account
    assert await world.read(lambda c: catalogue.get(c, "account", account_id)) is None
    payment = await world.pay(account=account_id, amount=4_000)
    _, app = await world.settled(payment["event_id"])
    assert (app.outcome, app.state) == ("fetched", "confirmed")
    assert app.note == (
        "fetched from the API; its copy already includes this payment; its bills' copies too"
    )
    assert sorted(app.changes, key=lambda c: (c.id != older.id, c.field)) == [
        Change("bill", older.id, "amount_paid", 0, 3_000),
        Change("bill", older.id, "amount_remaining", 3_000, 0),
        Change("bill", older.id, "status", "unpaid", "paid"),
        Change("bill", newer.id, "amount_paid", 0, 1_000),
        Change("bill", newer.id, "amount_remaining", 5_000, 4_000),
    ]
    assert money((await world.ours("bill", older.id)).obj) == (3_000, 0, BillStatus.PAID)
    assert money((await world.ours("bill", newer.id)).obj) == (1_000, 4_000, BillStatus.UNPAID)
    assert (await world.ours("bill", newer.id)).source == "refetched"
    assert (await world.ours("account", account_id)).source == "webhook"


async def test_what_an_account_payment_cannot_place_is_noted_in_money(
    make_world: Make,
) -> None:
    world = await make_world(deliver=False)
    _, account_id = await customer_with_account(world)  # no balance kept, no bills
    await world.sync()
    body = amount_applied_event(1_234, "ZAR", account_id=account_id)
    [sent] = await fire(world.pipe.url, lambda: body, [world.secret])
    app = await world.application(sent.webhook_id)
    assert (app.outcome, app.allocation, app.to_balance, app.unallocated) == (
        "applied",
        (),
        0,
        1_234,
    )
    assert app.note == (
        "R 12.34 could not be allocated (no open bills or balance left); not confirmed: "
        "the server may have paid bills the catalogue does not know"
    )
    assert app.state == "unconfirmed"  # the account itself agrees; its bills are unknown


async def test_concurrent_copies_are_applied_once(make_world: Make) -> None:
    world = await make_world(deliver=False)  # the test delivers the event itself
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 9_000, account=account_id)
    await world.sync()
    await world.pay(bill=b.id, amount=3_000)  # the server now says 3,000 paid
    body = amount_applied_event(3_000, "ZAR", bill_id=b.id, account_id=account_id)
    webhook_id = new_message_id()
    async with httpx.AsyncClient(timeout=10.0) as http:
        results = await asyncio.gather(
            *(send(http, world.pipe.url, body, [world.secret], webhook_id) for _ in range(4))
        )
    assert [r.status for r in results] == [200] * 4
    app = await world.application(webhook_id)
    assert (app.state, app.drift) == ("confirmed", ())
    await asyncio.wait_for(world.reconciler.idle(), 10)
    # Offering the stored delivery again, even twice in one batch, changes nothing.
    delivery = await world.read(lambda c: eventlog.find(c, webhook_id))
    assert delivery.verdict == "verified"
    assert await world.reconciler.process([delivery, delivery]) == []
    world.reconciler.submit(delivery)
    await asyncio.wait_for(world.reconciler.idle(), 10)
    counts = world.pipe.rows("SELECT webhook_id, count(*) FROM applications GROUP BY webhook_id")
    assert [tuple(r) for r in counts] == [(webhook_id, 1)]
    verdicts = world.pipe.rows("SELECT verdict FROM deliveries ORDER BY seq")
    assert sorted(r[0] for r in verdicts) == ["duplicate"] * 3 + ["verified"]
    assert money((await world.ours("bill", b.id)).obj) == (3_000, 6_000, BillStatus.UNPAID)


async def test_catch_up_applies_what_was_stored_but_never_applied(make_world: Make) -> None:
    world = await make_world(deliver=False)
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 5_000, account=account_id)
    await world.sync()
    await world.pay(bill=b.id, amount=1_750)
    # A verified event reached the event log, then the process stopped before applying it.
    body = amount_applied_event(1_750, "ZAR", bill_id=b.id, account_id=account_id)
    stored = await world.store_unapplied(body)
    assert await world.read(eventlog.unapplied) == [stored]
    await world.catch_up_afresh()
    app = await world.read(lambda c: applications.for_delivery(c, stored.seq))
    assert (app.outcome, app.state) == ("applied", "confirmed")
    assert money((await world.ours("bill", b.id)).obj) == (1_750, 3_250, BillStatus.UNPAID)
    assert await world.read(eventlog.unapplied) == []


async def test_an_unknown_object_named_by_its_reference_is_fetched_first(
    make_world: Make,
) -> None:
    world = await make_world(deliver=False)
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 6_000, account=account_id)  # the catalogue never saw it
    await world.pay(bill=b.id, amount=1_000)
    body = amount_applied_event(1_000, "ZAR", bill_id=b.external_reference)
    [sent] = await fire(world.pipe.url, lambda: body, [world.secret])
    app = await world.application(sent.webhook_id)
    assert (app.outcome, app.state) == ("fetched", "confirmed")
    entry = await world.ours("bill", b.id)
    assert (entry.source, money(entry.obj)) == ("webhook", (1_000, 5_000, BillStatus.UNPAID))


async def test_an_event_left_unapplied_is_retried_when_the_reconciler_is_quiet(
    make_world: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moment_tui.webhooks.reconcile as reconcile

    monkeypatch.setattr(reconcile, "RETRY_SECONDS", 0.2)
    world = await make_world(deliver=False)
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 5_000, account=account_id)
    await world.sync()
    await world.pay(bill=b.id, amount=500)
    stored = await world.store_unapplied(amount_applied_event(500, "ZAR", bill_id=b.id))
    # Never submitted (as if applying it had failed): the running reconciler finds it anyway.
    fresh = Reconciler(world.pipe.workspace, world.client)
    fresh.start()
    try:

        async def applied() -> Application | None:
            found: Application | None = await world.read(
                lambda c: applications.for_delivery(c, stored.seq)
            )
            return found if found is not None and found.state == "confirmed" else None

        app = await eventually(applied, within=10)
    finally:
        await fresh.close()
    assert app.changes[0] == Change("bill", b.id, "amount_paid", 0, 500)


async def test_a_failed_application_leaves_no_fetched_copy_behind(
    make_world: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy fetched for an unknown object is stored with the application record or
    not at all: otherwise a retry would apply the payment on top of a copy that already
    includes it."""
    world = await make_world(deliver=False)
    _, account_id = await customer_with_account(world)
    await world.sync()
    b = await new_bill(world, 6_000, account=account_id)  # unknown to the catalogue
    await world.pay(bill=b.id, amount=1_000)
    real_insert = applications.insert
    attempts: list[str] = []

    def insert_failing_once(conn: sqlite3.Connection, app: Application) -> None:
        attempts.append(app.webhook_id)
        if len(attempts) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        real_insert(conn, app)

    monkeypatch.setattr(applications, "insert", insert_failing_once)
    body = amount_applied_event(1_000, "ZAR", bill_id=b.id, account_id=account_id)
    [sent] = await fire(world.pipe.url, lambda: body, [world.secret])
    await eventually(lambda: attempts)
    await asyncio.wait_for(world.reconciler.idle(), 10)
    assert await world.read(lambda c: catalogue.get(c, "bill", b.id)) is None
    assert [d.webhook_id for d in await world.read(eventlog.unapplied)] == [sent.webhook_id]
    await world.catch_up_afresh()
    app = await world.application(sent.webhook_id)
    assert (app.outcome, app.state, app.changes) == ("fetched", "confirmed", ())
    assert attempts == [sent.webhook_id, sent.webhook_id]
    assert money((await world.ours("bill", b.id)).obj) == (1_000, 5_000, BillStatus.UNPAID)


async def test_one_bad_event_in_a_batch_costs_the_others_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch shares one savepoint: the event that fails (and one applied before)
    roll it back, and the rest are applied again — exactly once each."""
    async with open_pipeline(tmp_path / "batch.sqlite3") as pipe:
        bills = [
            Bill(
                id=f"bill_batch{i}",
                external_reference=f"batch-{i}",
                customer_id="bcus_batch",
                status=BillStatus.UNPAID,
                currency="ZAR",
                amount_due=10_000,
                amount_remaining=10_000,
            )
            for i in range(4)
        ]
        await pipe.workspace.remember(bills, "listed")
        secret = new_webhook_secret()
        first, bad, before, last = [
            await store_signed(
                pipe.workspace, secret, amount_applied_event(100, "ZAR", bill_id=b.id)
            )
            for b in bills
        ]
        reconciler = Reconciler(pipe.workspace, None)
        [earlier] = await reconciler.process([before])  # applied before the batch
        real_insert = applications.insert

        def refuse_bad(conn: sqlite3.Connection, app: Application) -> None:
            if app.webhook_id == bad.webhook_id:
                raise sqlite3.OperationalError("disk I/O error")
            real_insert(conn, app)

        monkeypatch.setattr(applications, "insert", refuse_bad)
        fresh = await reconciler.process([first, bad, before, first, last])
        assert [a.webhook_id for a in fresh] == [first.webhook_id, last.webhook_id]

        def paid(conn: sqlite3.Connection) -> list[int]:
            return [catalogue.get(conn, "bill", b.id).obj.amount_paid for b in bills]

        assert await pipe.workspace.read(paid) == [100, 0, 100, 100]
        assert [d.webhook_id for d in await pipe.workspace.read(eventlog.unapplied)] == [
            bad.webhook_id
        ]
        again = await pipe.workspace.read(lambda c: applications.get(c, before.webhook_id))
        assert again == earlier


async def test_a_batch_sees_what_its_earlier_events_did(tmp_path: Path) -> None:
    """Bills are read once per batch; an account payment earlier in the batch changes
    a bill a later event pays, and the later event must see that."""
    async with open_pipeline(tmp_path / "order.sqlite3") as pipe:
        bill = Bill(
            id="bill_order1",
            external_reference="order-1",
            customer_id="bcus_order",
            account_id="bacc_order",
            status=BillStatus.UNPAID,
            currency="ZAR",
            amount_due=10_000,
            amount_remaining=10_000,
        )
        account = Account(
            id="bacc_order",
            external_reference="order-acc",
            customer_id="bcus_order",
            currency="ZAR",
        )
        await pipe.workspace.remember([account, bill], "listed")
        secret = new_webhook_secret()
        batch = [
            await store_signed(pipe.workspace, secret, amount_applied_event(3_000, "ZAR", **t))
            for t in ({"account_id": account.id}, {"bill_id": bill.id})
        ]
        applied = await Reconciler(pipe.workspace, None).process(batch)
        assert [a.outcome for a in applied] == ["applied"] * 2
        assert applied[0].allocation == ((bill.id, 3_000),)
        assert [c.after for c in applied[1].changes if c.field == "amount_paid"] == [6_000]
        entry = await pipe.workspace.read(lambda c: catalogue.get(c, "bill", bill.id))
        assert (entry.obj.amount_paid, entry.obj.amount_remaining) == (6_000, 4_000)


async def test_catch_up_finds_more_than_one_page(tmp_path: Path) -> None:
    """Thousands of stored-but-unapplied events (a crash mid-burst) are all caught up."""
    async with open_pipeline(tmp_path / "many.sqlite3") as pipe:
        workspace = pipe.workspace
        bill = Bill(
            id="bill_many",
            external_reference="many",
            customer_id="bcus_many",
            status=BillStatus.UNPAID,
            currency="ZAR",
            amount_due=99_999_999,
            amount_remaining=99_999_999,
        )
        await workspace.remember([bill], "listed")
        secret = new_webhook_secret()
        verifier = Verifier([secret])
        items = []
        for _ in range(1_500):
            body = amount_applied_event(1, "ZAR", bill_id="bill_many")
            headers = signed_headers([secret], new_message_id(), body)
            items.append(
                incoming_from(
                    verifier.verify(headers, body),
                    headers,
                    body,
                    len(body),
                    remote=None,
                    received_at=now_iso(),
                )
            )
        await asyncio.gather(*(workspace.record(item) for item in items))
        reconciler = Reconciler(workspace, None)
        try:
            assert await reconciler.catch_up() == 1_500
            reconciler.start()
            await asyncio.wait_for(reconciler.idle(), 30)
        finally:
            await reconciler.close()
        books = await workspace.read(eventlog.books)
        assert (books.verified, books.applied, books.unconfirmed) == (1_500, 1_500, 1_500)
        entry = await workspace.read(lambda c: catalogue.get(c, "bill", "bill_many"))
        assert entry is not None
        assert entry.obj.amount_paid == 1_500


async def test_an_event_for_an_object_nobody_knows(make_world: Make) -> None:
    world = await make_world()
    body = amount_applied_event(100, "ZAR", bill_id="bill_doesNotExist")
    [sent] = await fire(world.pipe.url, lambda: body, [world.secret])
    app = await world.application(sent.webhook_id)
    assert (app.outcome, app.state, app.note) == (
        "unknown_target",
        "unconfirmed",
        "not in the catalogue, and the API answered 404: it has no such bill",
    )
    assert await world.read(lambda c: catalogue.get(c, "bill", "bill_doesNotExist")) is None


@pytest.mark.parametrize("amount", [0, -500])
async def test_a_non_positive_amount_is_not_applied_and_does_not_block_others(
    make_world: Make, amount: int
) -> None:
    world = await make_world(deliver=False)
    customer_id, account_id = await customer_with_account(world, balance=1_000)
    b = await new_bill(world, 3_000, account=account_id)
    await world.sync()
    odd = amount_applied_event(amount, "ZAR", account_id=account_id, customer_id=customer_id)
    normal = amount_applied_event(500, "ZAR", bill_id=b.id, account_id=account_id)
    await world.pay(bill=b.id, amount=500)
    odd_id, normal_id = new_message_id(), new_message_id()
    # Both reach the reconciler in one batch.
    async with httpx.AsyncClient(timeout=10.0) as http:
        await asyncio.gather(
            send(http, world.pipe.url, odd, [world.secret], odd_id),
            send(http, world.pipe.url, normal, [world.secret], normal_id),
        )
    odd_app = await world.application(odd_id)
    assert (odd_app.outcome, odd_app.changes) == ("skipped", ())
    assert odd_app.note == f"the amount {amount} is not positive: not applied"
    normal_app = await world.application(normal_id)
    assert (normal_app.outcome, normal_app.state) == ("applied", "confirmed")
    assert (await world.ours("account", account_id)).obj.balance == 1_000
    assert money((await world.ours("bill", b.id)).obj) == (500, 2_500, BillStatus.UNPAID)


# --- two processes sharing one workspace -----------------------------------------------------


async def test_two_listeners_on_one_workspace_both_call_unpaid_events_drift(
    make_world: Make,
) -> None:
    """The console and a headless ``listen`` may share a workspace. Events the server
    never saw, half delivered to each: when one process finds drift and copies the
    server's bill over ours, the other's events (whose changes that copy erased) must
    not then look confirmed against it — every one of them is drift."""
    world = await make_world(deliver=False)
    _, account_id = await customer_with_account(world)
    b = await new_bill(world, 90_000, account=account_id)
    await world.sync()
    async with open_pipeline(world.pipe.workspace.path, (world.secret,)) as other:
        await other.attach(Reconciler(other.workspace, world.client))
        body = lambda: amount_applied_event(1_000, "ZAR", bill_id=b.id)  # noqa: E731
        sent = []
        for _ in range(5):  # interleaved, as a burst split across two listeners is
            for url in (world.pipe.url, other.url):
                sent += await fire(url, body, [world.secret])
        assert [s.status for s in sent] == [200] * 10

        async def all_settled() -> list[Application] | None:
            apps = [
                await world.read(lambda c, s=s: applications.get(c, s.webhook_id)) for s in sent
            ]
            return apps if all(a is not None and a.state in DONE for a in apps) else None

        apps = await eventually(all_settled, within=20)
        await asyncio.wait_for(other.reconciler.idle(), 10)  # type: ignore[union-attr]
    assert [a.state for a in apps] == ["drift"] * 10
    assert all(a.drift for a in apps)
    # The server's copy won: nothing was paid on it.
    assert money((await world.ours("bill", b.id)).obj) == (0, 90_000, BillStatus.UNPAID)
