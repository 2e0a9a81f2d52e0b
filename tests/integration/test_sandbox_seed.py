"""``--seed``: a deterministic, realistic demo data set."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

from moment_tui.api.client import MomentClient
from moment_tui.api.models import AMOUNT_MAX, Bill, BillStatus, ObjectKind
from moment_tui.sandbox.demo import DemoTraffic
from moment_tui.sandbox.server import Sandbox, SandboxConfig, SandboxThread
from moment_tui.webhooks.verify import Verifier
from tests.integration.conftest import (
    FAST_SCHEDULE,
    Receiver,
    StartSandbox,
    eventually,
    make_client,
    post,
    ref,
    stop,
)

TODAY = dt.date(2026, 11, 1)
KINDS: tuple[ObjectKind, ...] = ("customer", "account", "bill")


async def _everything(client: MomentClient) -> dict[str, list[dict[str, Any]]]:
    dump: dict[str, list[dict[str, Any]]] = {}
    for kind in KINDS:
        dump[kind] = [
            item.model_dump(mode="json") async for item in client.iterate(kind, page_size=100)
        ]
    return dump


async def _seeded_dump() -> dict[str, list[dict[str, Any]]]:
    thread = SandboxThread(SandboxConfig(seed=True, seed_today=TODAY))
    url = thread.start()
    try:
        async with make_client(url) as client:
            return await _everything(client)
    finally:
        thread.stop()


async def test_seed_is_the_same_every_time() -> None:
    first = await _seeded_dump()
    second = await _seeded_dump()
    assert first == second
    assert len(first["customer"]) == 38
    assert len(first["account"]) > 10
    assert len(first["bill"]) > 20
    customers = first["customer"]
    assert (customers[0]["external_reference"], customers[0]["name"]) == (
        "UCR100001",
        "Thabo Mokoena",
    )
    assert customers[0]["id"].startswith("bcus_")
    assert len(customers[0]["id"]) == 26
    assert {c["currency"] for c in customers if c["currency"]} == {"ZAR"}
    assert all(c["phone"].startswith("+2782") for c in customers)


async def test_seed_spans_every_state() -> None:
    dump = await _seeded_dump()
    bills = dump["bill"]
    statuses = {b["status"] for b in bills}
    assert statuses == {"paid", "unpaid", "voided"}
    part_paid = [
        b for b in bills if b["status"] == "unpaid" and 0 < b["amount_paid"] < b["amount_due"]
    ]
    overdue = [
        b for b in bills if b["status"] == "unpaid" and dt.date.fromisoformat(b["due_date"]) < TODAY
    ]
    assert part_paid
    assert overdue
    for bill in bills:
        assert bill["currency"] == "ZAR"
        assert bill["amount_remaining"] == bill["amount_due"] - bill["amount_paid"]
        assert bill["external_reference"].startswith("INV-2026-")
        assert dt.date.fromisoformat(bill["bill_date"]) < TODAY
        if bill["status"] == "paid":
            assert bill["amount_paid"] == bill["amount_due"]
    # All three billing models: customer balances (some in credit), account balances, bills.
    balances = [c["balance"] for c in dump["customer"] if c["balance"] is not None]
    assert balances
    assert any(b > 0 for b in balances)
    assert any(a["balance"] is not None for a in dump["account"])
    assert any(b["account_id"] is None for b in bills)
    assert any(b["account_id"] for b in bills)


async def test_seed_fills_only_an_empty_database(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "seeded.db")
    first = await start_sandbox(db_path=db, seed=True, seed_today=TODAY)
    assert first.seeded == 38
    async with make_client(first.url) as client:
        before = await _everything(client)
    await stop(first)
    again = await start_sandbox(db_path=db, seed=True, seed_today=TODAY)
    assert again.seeded == 0  # not seeded twice
    async with make_client(again.url) as client:
        assert await _everything(client) == before


async def test_seeded_data_works_with_payments(start_sandbox: StartSandbox) -> None:
    sandbox = await start_sandbox(seed=True, seed_today=TODAY)
    async with make_client(sandbox.url) as client:
        unpaid = await client.list_page("bill", limit=1, filters={"status": "unpaid"})
        bill = unpaid.items[0]
        assert isinstance(bill, Bill)
        payment = await client.request("POST", "/sandbox/payments", json={"bill": bill.id})
        assert payment.status == 201
        assert payment.body["amount"] == bill.amount_remaining
        assert (await client.get_bill(bill.id)).status.value == "paid"


async def test_demo_traffic_makes_real_signed_payments(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await start_sandbox(
        seed=True,
        seed_today=TODAY,
        demo_payments=0.05,
        webhook_url=receiver.url,
        webhook_secrets=(secret,),
        retry_schedule=FAST_SCHEDULE,
    )
    await eventually(lambda: len(receiver.deliveries) >= 3)
    assert sandbox.demo is not None
    assert sandbox.demo.made >= 3
    async with make_client(sandbox.url) as client:
        for delivery in receiver.deliveries[:3]:
            verdict = Verifier([secret]).verify(delivery.headers, delivery.body)
            assert verdict.ok, verdict.message
            applied = verdict.amount_applied
            assert applied is not None
            assert applied.metadata == {"source": "sandbox-demo"}
            assert applied.amount >= 100
            assert applied.currency == "ZAR"
            target = applied.target()
            assert target is not None
            paid = await client.get(*target)  # the money landed on a real object
            if isinstance(paid, Bill):
                assert paid.amount_paid >= applied.amount


async def test_demo_payments_on_a_huge_balance_stay_within_one_payments_cap(
    start_sandbox: StartSandbox,
) -> None:
    """A balance beyond 99,999,999 is paid in capped parts, not a crash per tick."""
    sandbox = await start_sandbox()
    huge = 10**12
    async with make_client(sandbox.url) as client:
        customer = await post(
            client,
            "/billing/customers",
            {"external_reference": ref("cus"), "currency": "ZAR", "balance": huge},
        )
        account = await post(
            client,
            "/billing/accounts",
            {
                "external_reference": ref("acc"),
                "customer": customer.body["id"],
                "currency": "ZAR",
                "balance": huge,
            },
        )
        demo = DemoTraffic(sandbox.db, sandbox.payments, sandbox.sender, 60.0, random.Random(3))
        for _ in range(6):
            assert demo.tick()
        assert demo.made == 6
        amounts = [row["amount"] for row in sandbox.db.all("SELECT amount FROM payments")]
        assert len(amounts) == 6
        assert all(100 <= amount <= AMOUNT_MAX for amount in amounts)
        left = (await client.get_customer(customer.body["id"])).balance
        left_on_account = (await client.get_account(account.body["id"])).balance
    assert left is not None
    assert left_on_account is not None
    assert 2 * huge - (left + left_on_account) == sum(amounts)


DEMO_REFERENCE = re.compile(r"^DEMO-20261101-[0-9a-f]{8}$")


def _nothing_left_to_pay(sandbox: Sandbox) -> bool:
    return (
        sandbox.db.one(
            "SELECT 1 FROM bills WHERE status = 'unpaid'"
            " UNION ALL SELECT 1 FROM customers WHERE balance > 0"
            " UNION ALL SELECT 1 FROM accounts WHERE balance > 0"
        )
        is None
    )


async def test_demo_traffic_raises_a_bill_when_nothing_is_left_to_pay(
    start_sandbox: StartSandbox,
) -> None:
    """Once every bill is paid and no balance is positive, a tick raises a new unpaid
    bill (as the console's simulated payments do) and a later tick pays it, so a
    demo's event pane never goes quiet."""
    sandbox = await start_sandbox(seed=True, seed_today=TODAY)
    sandbox.objects.today = lambda: TODAY
    demo = DemoTraffic(sandbox.db, sandbox.payments, sandbox.sender, 60.0, random.Random(11))
    ticks = 0
    while not _nothing_left_to_pay(sandbox):
        assert demo.tick()  # something to pay: every tick pays
        ticks += 1
        assert ticks < 5_000
    assert demo.raised == 0
    events_before = _count(sandbox, "events")
    bills_before = _count(sandbox, "bills")

    assert not demo.tick()  # nothing paid, nothing to send: a bill raised instead
    assert (demo.raised, demo.made) == (1, ticks)
    assert _count(sandbox, "bills") == bills_before + 1
    assert _count(sandbox, "events") == events_before  # a new bill sends no event
    async with make_client(sandbox.url) as client:
        raised = await client.list_page("bill", filters={"external_reference_prefix": "DEMO-"})
        assert len(raised.items) == 1
        bill = raised.items[0]
        assert isinstance(bill, Bill)
        assert DEMO_REFERENCE.match(bill.external_reference), bill.external_reference
        assert (bill.status, bill.currency, bill.amount_paid) == (BillStatus.UNPAID, "ZAR", 0)
        assert bill.amount_due in range(10_000, 500_001, 10_000)  # R 100 … R 5,000
        assert (bill.bill_date, bill.due_date) == (TODAY, TODAY + dt.timedelta(days=30))
        assert bill.account_id is None
        assert (await client.get_customer(bill.customer_id)).id == bill.customer_id
        assert bill.metadata == {"source": "sandbox-demo"}

        assert demo.tick()  # the next tick pays (part of) it, with its event
        assert demo.made == ticks + 1
        payment = sandbox.db.one("SELECT * FROM payments ORDER BY seq DESC LIMIT 1")
        assert payment is not None
        assert (payment["target_kind"], payment["target_id"]) == ("bill", bill.id)
        event = sandbox.db.one("SELECT * FROM events WHERE id = ?", (payment["event_id"],))
        assert event is not None
        data = json.loads(event["payload"])["data"]
        assert (data["bill_id"], data["amount"]) == (bill.id, payment["amount"])
        assert data["metadata"] == {"source": "sandbox-demo"}
        assert (await client.get_bill(bill.id)).amount_paid == payment["amount"]


async def test_demo_traffic_never_runs_dry_and_is_the_same_for_the_same_seed(
    start_sandbox: StartSandbox,
) -> None:
    """Long past exhaustion every tick still pays or raises a bill (never two quiet
    ticks in a row), and the same data and seed make the same traffic."""

    async def run() -> list[tuple[str, int]]:
        sandbox = await start_sandbox(seed=True, seed_today=TODAY)
        sandbox.objects.today = lambda: TODAY
        demo = DemoTraffic(sandbox.db, sandbox.payments, sandbox.sender, 60.0, random.Random(5))
        quiet = 0
        for _ in range(2_000):
            if demo.tick():
                quiet = 0
            else:
                quiet += 1
                assert quiet == 1
        assert demo.raised >= 3
        assert demo.made + demo.raised == 2_000
        rows = sandbox.db.all(
            "SELECT p.amount, b.external_reference FROM payments p"
            " LEFT JOIN bills b ON b.id = p.target_id ORDER BY p.seq"
        )
        await stop(sandbox)
        return [(row["external_reference"] or "holder", row["amount"]) for row in rows]

    first = await run()
    assert any(DEMO_REFERENCE.match(reference) for reference, _ in first)
    assert await run() == first


def _count(sandbox: Sandbox, table: str) -> int:
    row = sandbox.db.one(f"SELECT count(*) AS n FROM {table}")  # noqa: S608
    assert row is not None
    return int(row["n"])
