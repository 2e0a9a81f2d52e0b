"""The console's runtime without its screens: sandbox, listener and reconciler wired."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from moment_tui.api.models import Bill, BillStatus
from moment_tui.config import Settings
from moment_tui.runtime import (
    PAY_IN_FULL_BELOW,
    Runtime,
    RuntimeOptions,
    plan_payment,
)
from moment_tui.sandbox.server import SandboxThread
from moment_tui.secrets import Secret
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery, read_books
from moment_tui.webhooks.outbound import amount_applied_event, send
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret
from tests.integration.conftest import eventually


def options(tmp_path: Path, rng: random.Random | None = None) -> RuntimeOptions:
    return RuntimeOptions(
        listener_port=0,
        seed_today=dt.date(2026, 11, 1),
        sandbox_db=tmp_path / "sandbox.sqlite3",
        workspace=tmp_path / "workspace.sqlite3",
        payment_rng=rng or random.Random(1),
    )


def bill(ref: str, remaining: int, account: str | None = None) -> Bill:
    return Bill(
        id=ref,
        external_reference=f"ref-{ref}",
        customer_id="bcus_1",
        account_id=account,
        status=BillStatus.UNPAID,
        currency="ZAR",
        amount_due=remaining + 1000,
        amount_paid=1000,
        amount_remaining=remaining,
    )


def test_simulated_payments_are_varied_and_seeded() -> None:
    bills = [bill("bill_a", 250_000, "bacc_1"), bill("bill_b", 4_000), bill("bill_c", 99_999)]
    plans = [plan_payment(bills, random.Random(3)) for _ in range(2)]
    assert plans[0] == plans[1]  # the same seed, the same payment
    rng = random.Random(3)
    many = [plan_payment(bills, rng) for _ in range(300)]
    assert all(p is not None for p in many)
    seen = {(p.kind, p.bill.id) for p in many if p is not None}
    assert {"bill_a", "bill_b", "bill_c"} == {ref for _, ref in seen}
    assert {kind for kind, _ in seen} == {"bill", "account", "customer"}
    full = part = 0
    for plan in many:
        assert plan is not None
        remaining = plan.bill.amount_remaining
        if plan.kind == "account":
            assert (plan.target, plan.amount) == (plan.bill.account_id, remaining)
        elif plan.kind == "customer":
            assert plan.bill.account_id is None  # a bill held directly: its customer pays
            assert (plan.target, plan.amount) == ("bcus_1", remaining)
        elif plan.amount == remaining:
            full += 1
        else:
            part += 1
            assert remaining > PAY_IN_FULL_BELOW  # a small remainder is always paid in full
            assert 0 < plan.amount < remaining
            assert plan.amount % 100 == 0  # in whole rand
    assert full > 50
    assert part > 50
    assert plan_payment([], random.Random(3)) is None


async def test_a_holder_payment_reaches_the_console_and_is_booked(tmp_path: Path) -> None:
    class Holder(random.Random):  # the first unpaid bill's account (or customer) pays
        def choice(self, seq: Any) -> Any:
            return seq[0]

        def random(self) -> float:
            return 0.0

    runtime = Runtime(Settings(config_dir=tmp_path, data_dir=tmp_path), options(tmp_path, Holder()))
    deliveries: list[Delivery] = []
    applications: list[Application] = []
    await runtime.start(deliveries.append, applications.append)
    try:
        assert runtime.client is not None
        await runtime.sync_catalogue()
        page = await runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
        (first,) = page.items
        assert isinstance(first, Bill)
        payment = await runtime.simulate_payment()
        assert payment is not None
        holder = (
            ("account", first.account_id) if first.account_id else ("customer", first.customer_id)
        )
        assert payment[holder[0]] == holder[1]
        assert payment["amount"] == first.amount_remaining
        await eventually(lambda: any(a.state == "confirmed" for a in applications), within=10)
        (delivery,) = deliveries
        assert delivery.bill_id is None
        assert delivery.target() == holder
        assert runtime.workspace is not None
        snapshot = await runtime.workspace.read(read_books)
        assert (snapshot.books.verified, snapshot.books.confirmed) == (1, 1)
        assert snapshot.through == delivery.seq
        assert snapshot.unsettled == frozenset()
    finally:
        await runtime.close()


async def test_a_configured_secret_lets_trigger_reach_the_sandbox_console(tmp_path: Path) -> None:
    secret = new_webhook_secret()
    settings = Settings(webhook_secrets=(Secret(secret),), config_dir=tmp_path, data_dir=tmp_path)
    runtime = Runtime(settings, options(tmp_path))
    deliveries: list[Delivery] = []
    applications: list[Application] = []
    started = await runtime.start(deliveries.append, applications.append)
    try:
        assert started.problems == []
        assert started.listener_url is not None
        assert runtime.client is not None
        assert await runtime.sync_catalogue() > 0
        page = await runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
        bill = page.items[0]
        body = amount_applied_event(100, "ZAR", bill_id=bill.id, customer_id="bcus_x")
        async with httpx.AsyncClient() as http:
            result = await send(http, started.listener_url, body, [secret], new_message_id())
        assert result.status == 200
        await eventually(lambda: len(deliveries) == 1)
        assert (deliveries[0].verdict, deliveries[0].bill_id) == ("verified", bill.id)
        # The sandbox never saw this payment, so the check finds drift (after its grace).
        await eventually(lambda: any(a.state == "drift" for a in applications), within=10)
    finally:
        await runtime.close()


async def test_without_a_secret_the_run_has_a_private_one(tmp_path: Path) -> None:
    runtime = Runtime(Settings(config_dir=tmp_path, data_dir=tmp_path), options(tmp_path))
    deliveries: list[Delivery] = []
    started = await runtime.start(deliveries.append, lambda _: None)
    try:
        assert started.listener_url is not None
        body = amount_applied_event(100, "ZAR", bill_id="bill_x")
        async with httpx.AsyncClient() as http:
            result = await send(
                http, started.listener_url, body, [new_webhook_secret()], new_message_id()
            )
        assert result.status == 401  # no outsider can guess the run's secret
        payment = await runtime.simulate_payment()
        assert payment is not None
        await eventually(lambda: any(d.verdict == "verified" for d in deliveries))
    finally:
        await runtime.close()


async def test_when_every_bill_is_paid_a_new_one_is_raised_and_paid(tmp_path: Path) -> None:
    runtime = Runtime(Settings(config_dir=tmp_path, data_dir=tmp_path), options(tmp_path))
    deliveries: list[Delivery] = []
    applications: list[Application] = []
    await runtime.start(deliveries.append, applications.append)
    try:
        client = runtime.client
        assert client is not None
        unpaid = [b async for b in client.iterate("bill", filters={"status": "unpaid"})]
        for owed in unpaid:
            await client.request("POST", "/sandbox/payments", json={"bill": owed.id})
        await eventually(lambda: len(applications) >= len(unpaid), within=20)
        payment = await runtime.simulate_payment()
        assert payment is not None
        raised = await client.get_bill(payment["raised_bill"])
        assert raised.external_reference.startswith("DEMO-")
        assert raised.metadata == {"source": "moment-tui simulated payment"}
        assert 10_000 <= raised.amount_due <= 500_000
        assert raised.amount_paid == payment["amount"] > 0  # the new bill was the one paid
        # The console raised the bill, so its catalogue knew it before the payment's
        # webhook came: applied to the known copy (not fetched), and confirmed.

        def paid_it(a: Application) -> bool:
            on_it = raised.id == a.target_id or raised.id in dict(a.allocation)
            return on_it and a.state != "applied"

        await eventually(lambda: any(paid_it(a) for a in applications), within=10)
        [app] = [a for a in applications if paid_it(a)]
        assert (app.outcome, app.state, app.unallocated) == ("applied", "confirmed", 0)
    finally:
        await runtime.close()


async def test_a_sandbox_that_starts_too_late_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox came up, but after the console stopped waiting: it must not linger
    with its port (and the run's secret)."""
    started_urls: list[str] = []
    real_start = SandboxThread.start

    def late_start(self: SandboxThread, timeout: float = 15.0) -> str:
        started_urls.append(real_start(self, timeout))
        raise TimeoutError("the sandbox did not answer in time")

    monkeypatch.setattr(SandboxThread, "start", late_start)
    runtime = Runtime(Settings(config_dir=tmp_path, data_dir=tmp_path), options(tmp_path))
    started = await runtime.start(lambda _: None, lambda _: None)
    try:
        assert started.problems == ["the sandbox did not start: the sandbox did not answer in time"]
        assert (runtime.sandbox, runtime.client) == (None, None)
        [url] = started_urls
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as http:
                await http.get(url)
    finally:
        await runtime.close()
