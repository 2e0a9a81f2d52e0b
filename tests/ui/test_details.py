"""The customer, account and bill detail views, driven with Pilot on the real sandbox.

Each app starts the seeded sandbox (``SEED_TODAY``) with its listener and reconciler;
payments are real: the sandbox signs and sends each webhook to the listener, and the
open view follows what the reconciler applies.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from moment_tui.api.models import Bill, BillStatus, CustomerUpdate
from moment_tui.store.browse import BillRow, Related
from moment_tui.ui.app import MomentApp
from moment_tui.ui.modals.copy import CopyMenu
from moment_tui.ui.navigate import open_detail
from moment_tui.ui.present import days_overdue, money
from moment_tui.ui.screens.account_detail import AccountDetail
from moment_tui.ui.screens.bill_detail import BillDetail
from moment_tui.ui.screens.customer_detail import CustomerDetail
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.screens.home import HomeScreen
from moment_tui.ui.widgets.breadcrumb import Breadcrumb
from moment_tui.ui.widgets.rows_table import RowsTable
from tests.ui.ui_helpers import (
    SEED_TODAY,
    assert_no_secret,
    connected,
    on_screen,
    part_payments,
    sandbox_app,
    screen_text,
    wait_until,
)


async def customer_with_accounts_and_bills(app: MomentApp) -> tuple[str, Related]:
    """A seeded customer with an account and a bill under that account."""
    queries = app.moment.queries
    for customer_id in await queries.customer_ids(queries.filter(), None):
        related = await queries.related("customer", customer_id)
        if related.accounts and any(b.account_id for b in related.bills):
            return customer_id, related
    raise AssertionError("the seed has no customer with an account and bills")


async def first_unpaid_bill(app: MomentApp) -> Bill:
    """The bill ``simulate_payment`` pays with ``part_payments()``."""
    assert app.runtime.client is not None
    page = await app.runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
    bill = page.items[0]
    assert isinstance(bill, Bill)
    return bill


def detail(app: MomentApp) -> DetailScreen:
    assert isinstance(app.screen, DetailScreen)
    return app.screen


def loaded(app: MomentApp, kind: type[DetailScreen], object_id: str) -> bool:
    screen = app.screen
    return (
        isinstance(screen, kind)
        and screen.loaded is not None
        and screen.loaded.obj.id == object_id
        and not screen.query_one("#detail-status").has_class("-error")
    )


def trail(app: MomentApp) -> list[str]:
    return app.screen.query_one(Breadcrumb).trail


def status(app: MomentApp) -> str:
    return str(detail(app).query_one("#detail-status", Static).content)


def bill_line(row: BillRow) -> list[str]:
    """What a bills table shows of a bill (the bar and status aside)."""
    return [
        row.external_reference,
        money(row.amount_due, row.currency),
        money(row.amount_paid, row.currency),
        money(row.amount_remaining, row.currency),
    ]


async def test_a_customer_shows_its_fields_accounts_and_bills_and_drills_down(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        customer_id, related = await customer_with_accounts_and_bills(app)
        entry = await app.moment.queries.entry("customer", customer_id)
        assert entry is not None
        customer = entry.obj

        open_detail(app, app.moment, "customer", customer_id)
        await wait_until(pilot, lambda: loaded(app, CustomerDetail, customer_id), "the customer")
        assert customer.name
        assert customer.email
        assert customer.phone
        await wait_until(pilot, lambda: on_screen(app, customer.email), "the fields drawn")
        for text in (customer.name, customer.external_reference, customer.id, customer.phone):
            assert on_screen(app, text), text
        assert trail(app) == ["Home", customer.name]
        assert on_screen(app, f"Home › {customer.name}")
        assert on_screen(app, f"Accounts · {len(related.accounts)}")
        assert on_screen(app, f"Bills · {len(related.bills)}")
        assert all(account.name for account in related.accounts)

        def listed() -> bool:  # the tables fill after the fields, on a busy machine later
            rows = screen_text(app).splitlines()
            return all(
                any(a.name in r and a.external_reference in r for r in rows)  # type: ignore[operator]
                for a in related.accounts
            ) and all(any(all(t in r for t in bill_line(b)) for r in rows) for b in related.bills)

        await wait_until(pilot, listed, "each account and bill on its row")
        rows = screen_text(app).splitlines()
        for bill in related.bills:
            if bill.overdue_on(SEED_TODAY):
                assert any(bill.external_reference in r and "overdue" in r for r in rows)
        # The seeded customer was listed from the sandbox when the console connected.
        assert on_screen(app, "Timeline · 0 payments")
        if any(b.amount_paid for b in related.bills):  # paid before any webhook came here
            assert on_screen(app, "No payment webhook received here for it: what its")
            assert not on_screen(app, "No payments applied to it yet.")
        else:
            assert on_screen(app, "No payments applied to it yet.")
        assert on_screen(app, "Listed from the API")

        # Enter on an account opens it; its bills and its customer's name are shown.
        accounts = app.screen.query_one("#accounts", RowsTable)
        assert app.focused is accounts  # the first table with rows
        account = related.accounts[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: loaded(app, AccountDetail, account.id), "the account")
        assert trail(app) == ["Home", customer.name, account.name]
        await wait_until(
            pilot, lambda: on_screen(app, f"Home › {customer.name} › {account.name}"), "the trail"
        )
        under = [b.external_reference for b in related.bills if b.account_id == account.id]
        await wait_until(pilot, lambda: on_screen(app, *under), "the account's bills")
        for bill in related.bills:
            assert on_screen(app, bill.external_reference) == (bill.account_id == account.id)
        await wait_until(
            pilot, lambda: on_screen(app, f"Customer  {customer.name}"), "its customer's name"
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CustomerDetail), "back")
        assert trail(app) == ["Home", customer.name]

        # Enter on a bill opens it, with its customer's and account's names.
        bills = app.screen.query_one("#bills", RowsTable)
        index, bill = next((i, b) for i, b in enumerate(related.bills) if b.account_id)
        bills.focus()
        bills.move_cursor(row=index)
        await pilot.press("enter")
        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "the bill")
        assert trail(app) == ["Home", customer.name, bill.external_reference]
        await wait_until(pilot, lambda: on_screen(app, f"Customer  {customer.name}"), "names")
        assert bill.account_name
        assert on_screen(app, f"Account   {bill.account_name}")
        # `a` opens the account, Escape comes back to the bill, then to the customer.
        await pilot.press("a")
        await wait_until(pilot, lambda: loaded(app, AccountDetail, account.id), "its account")
        assert trail(app) == ["Home", customer.name, bill.external_reference, account.name]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BillDetail), "back to the bill")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CustomerDetail), "the customer")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert_no_secret(app)


async def test_a_payment_updates_the_open_bill_in_place(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        before = await first_unpaid_bill(app)
        open_detail(app, app.moment, "bill", before.id)
        await wait_until(pilot, lambda: loaded(app, BillDetail, before.id), "the bill")
        currency = before.currency
        remaining = f"Remaining {money(before.amount_remaining, currency)}"
        await wait_until(pilot, lambda: on_screen(app, remaining), "the amounts")
        assert on_screen(app, f"Due {money(before.amount_due, currency)}")
        assert on_screen(app, "Timeline · 0 payments")
        assert before.amount_paid == 0
        assert on_screen(app, "No payments applied to it yet.")
        focused = app.focused

        assert await app.moment.simulate_payment() is None
        screen = detail(app)
        await wait_until(
            pilot,
            lambda: (
                screen.loaded is not None and screen.loaded.obj.amount_paid > before.amount_paid
            ),
            "the payment applied",
        )
        assert screen.query_one("#amounts").has_class("-changed")  # lit for a moment
        await wait_until(pilot, lambda: on_screen(app, "confirmed"), "the payment confirmed")
        assert app.runtime.client is not None
        after = await app.runtime.client.get_bill(before.id)
        assert after.status is BillStatus.UNPAID  # a fifth: still unpaid
        assert screen.loaded is not None
        assert screen.loaded.obj == after
        paid = money(after.amount_paid, currency)
        assert on_screen(
            app, f"Paid {paid}", f"Remaining {money(after.amount_remaining, currency)}"
        )
        assert on_screen(app, "Timeline · 1 payment", "#1 confirmed")
        # How it was first met stays in its timeline after the payment changed its copy.
        assert on_screen(app, "Listed from the API")
        assert not on_screen(app, "First seen")
        amount = after.amount_paid - before.amount_paid
        lines = screen_text(app).splitlines()
        head = next(i for i, line in enumerate(lines) if "#1 confirmed" in line)
        assert lines[head + 1].rstrip().endswith(f"  Paid {money(amount, currency)}")
        was, now = money(before.amount_paid, currency), paid
        assert on_screen(app, f"paid      {was} → {now}")
        was_left = money(before.amount_remaining, currency)
        assert on_screen(app, f"remaining {was_left} → {money(after.amount_remaining, currency)}")
        assert app.focused is focused  # never moved
        await wait_until(
            pilot, lambda: not screen.query_one("#amounts").has_class("-changed"), "the light off"
        )

        # The rest of it: the bill flips to paid, in green.
        await app.runtime.client.request(
            "POST", "/sandbox/payments", json={"bill": before.id, "amount": after.amount_remaining}
        )
        await wait_until(
            pilot, lambda: on_screen(app, "PAID", "Timeline · 2 payments"), "paid in full"
        )
        assert on_screen(app, f"Remaining {money(0, currency)}", "100% paid")
        assert_no_secret(app)


async def test_a_payment_updates_a_customers_bill_row_without_moving_the_cursor(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        related = await app.moment.queries.related("customer", bill.customer_id)
        open_detail(app, app.moment, "customer", bill.customer_id)
        await wait_until(pilot, lambda: loaded(app, CustomerDetail, bill.customer_id), "customer")
        table = app.screen.query_one("#bills", RowsTable)
        table.focus()
        last = len(related.bills) - 1
        table.move_cursor(row=last)
        await pilot.pause()
        cursor = table.cursor_coordinate

        assert await app.moment.simulate_payment() is None
        await wait_until(pilot, lambda: on_screen(app, "Timeline · 1 payment"), "the payment")
        assert app.runtime.client is not None
        after = await app.runtime.client.get_bill(bill.id)
        remaining = money(after.amount_remaining, after.currency)
        await wait_until(
            pilot,
            lambda: str(table.get_cell(bill.id, "remaining")) == remaining,
            "the row updated",
        )
        assert table.cursor_coordinate == cursor
        assert app.focused is table
        assert on_screen(app, f"to {bill.external_reference}")  # the timeline names it


async def test_a_customer_whose_bills_were_paid_before_any_webhook_says_so(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        queries = app.moment.queries
        paid = await queries.bill_ids(queries.filter(status="paid"), None)
        assert paid, "the seeded sandbox has paid bills"
        customer_id = (await queries.bill_rows(paid[:1]))[paid[0]].customer_id
        open_detail(app, app.moment, "customer", customer_id)
        await wait_until(pilot, lambda: loaded(app, CustomerDetail, customer_id), "the customer")
        assert on_screen(app, "Timeline · 0 payments")
        # (wrapped in the pane's width)
        assert on_screen(app, "No payment webhook received here for", "it: what its bills show")
        assert not on_screen(app, "No payments applied to it yet.")


async def test_r_refetches_what_is_on_screen(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        customer_id, related = await customer_with_accounts_and_bills(app)
        open_detail(app, app.moment, "customer", customer_id)
        await wait_until(pilot, lambda: loaded(app, CustomerDetail, customer_id), "the customer")
        # Someone else renames the customer in Moment: the re-fetch finds it changed.
        client = app.runtime.client
        assert client is not None
        old_name = (await client.get_customer(customer_id)).name
        await client.update_customer(customer_id, CustomerUpdate(name="Renamed"))
        log = app.runtime.request_log
        assert log is not None
        sent = len(log)

        await pilot.press("r")
        objects = 1 + len(related.accounts) + len(related.bills)
        await wait_until(pilot, lambda: status(app).startswith("Re-fetched"), "the result")
        assert status(app).startswith(f"Re-fetched {objects} objects from the sandbox at ")
        paths = {(r.method, r.path, r.status) for r in log.latest(len(log) - sent)}
        assert ("GET", f"/billing/customers/{customer_id}", 200) in paths
        for bill in related.bills:
            assert ("GET", f"/billing/bills/{bill.id}", 200) in paths
        assert on_screen(app, "Re-fetched")
        await wait_until(
            pilot, lambda: on_screen(app, f"name {old_name} → Renamed"), "the change, kept"
        )
        assert on_screen(app, "Found changed when looked up from")


async def test_c_copies_the_json(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        open_detail(app, app.moment, "bill", bill.id)
        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "the bill")

        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CopyMenu), "the copy menu")
        menu = app.screen
        assert isinstance(menu, CopyMenu)
        assert [label for label, _ in menu.choices] == ["Id", "JSON", "curl"]
        curl = menu.choices[2][1]
        assert f"/billing/bills/{bill.id}" in curl
        assert "$MOMENT_API_KEY" in curl
        await pilot.press("j")
        await wait_until(pilot, lambda: isinstance(app.screen, BillDetail), "the menu to close")
        copied = json.loads(app._clipboard)
        assert copied["id"] == bill.id
        assert copied["amount_remaining"] == bill.amount_remaining
        assert app._clipboard.startswith('{\n  "id"')  # indented


async def test_a_bills_customer_missing_from_the_catalogue_is_fetched_by_name(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        queries = app.moment.queries
        customer = await queries.entry("customer", bill.customer_id)
        assert customer is not None
        assert customer.obj.name
        workspace = app.runtime.workspace
        assert workspace is not None
        await workspace.writer.submit(
            lambda conn: conn.execute("DELETE FROM customers WHERE id = ?", (bill.customer_id,))
        )
        assert await queries.entry("customer", bill.customer_id) is None

        open_detail(app, app.moment, "bill", bill.id)
        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "the bill")
        await wait_until(pilot, lambda: on_screen(app, f"Customer  {customer.obj.name}"), "name")
        log = app.runtime.request_log
        assert log is not None
        assert any(r.path == f"/billing/customers/{bill.customer_id}" for r in log)
        kept = await queries.entry("customer", bill.customer_id)
        assert kept is not None
        assert kept.source == "looked_up"


async def test_an_unknown_bill_says_so_in_one_line(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        open_detail(app, app.moment, "bill", "bill_doesNotExist0")
        said = "No bill bill_doesNotExist0: neither the catalogue nor the API knows it."
        await wait_until(pilot, lambda: on_screen(app, said), "the one line")
        assert detail(app).loaded is None
        await pilot.press("r")  # asks again, and says so again
        await wait_until(pilot, lambda: status(app).startswith("Re-fetched 0 of 1"), "r")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "back home")


async def test_a_bill_at_80x24_shows_its_amounts_and_status_whole(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        queries = app.moment.queries
        ids = await queries.bill_ids(queries.filter(status="overdue"), None)
        rows = await queries.bill_rows(ids)
        # A part-paid overdue bill: every amount and the status have something to say.
        bill = next(r for r in rows.values() if r.amount_paid > 0 and not r.account_id)
        open_detail(app, app.moment, "bill", bill.id)
        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "the bill")
        due = f"Due {money(bill.amount_due, bill.currency)}"
        await wait_until(pilot, lambda: on_screen(app, due), "the amounts")
        days = days_overdue(bill.due_date, SEED_TODAY)
        assert days > 0
        lines = screen_text(app).splitlines()
        assert len(lines) == 24
        amounts = (
            f"{due}   Paid {money(bill.amount_paid, bill.currency)}"
            f"   Remaining {money(bill.amount_remaining, bill.currency)}"
        )
        assert amounts in lines[2]
        assert "% paid" in lines[3]
        assert f"OVERDUE · {days} days overdue" in lines[4]
        assert on_screen(app, f"Due date  {bill.due_date}  {days} days overdue")
        assert on_screen(app, "Timeline · 0 payments")
        # Paid in part, with no payment here: the timeline says where the figure came from.
        assert on_screen(app, "No payment webhook received here")
        assert not on_screen(app, "No payments applied to it yet.")
        await wait_until(pilot, lambda: "o Customer" in screen_text(app).splitlines()[-1], "keys")
        # No account: `a` is not offered.
        assert "a Account" not in screen_text(app).splitlines()[-1]
        # Pay and the keys' list fit at 80 columns (q quits unlisted here).
        footer = screen_text(app).splitlines()[-1]
        for key in ("p Pay", "? Keys", "v Void", "m Record"):
            assert key in footer, footer
        assert "q Quit" not in footer


async def open_first_unpaid_bill(pilot: Pilot[Any], app: MomentApp) -> Bill:
    """Once connected, open the first unpaid bill; returns once its view is mounted."""
    await wait_until(pilot, lambda: connected(app), "the catalogue counts")
    bill = await first_unpaid_bill(app)
    open_detail(app, app.moment, "bill", bill.id)
    await wait_until(
        pilot, lambda: isinstance(app.screen, BillDetail) and app.screen.is_mounted, "shown"
    )
    return bill


async def test_a_detail_is_read_before_it_is_shown_so_its_first_frame_has_the_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The view's own load is switched off: whatever it shows was read before it opened.
    monkeypatch.setattr(DetailScreen, "reload", lambda self: None)
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        bill = await open_first_unpaid_bill(pilot, app)
        screen = detail(app)
        assert screen.loaded is not None
        assert screen.loaded.obj.id == bill.id
        assert status(app) == ""  # never "Loading …"
        assert trail(app)[-1] == bill.external_reference
        await wait_until(pilot, lambda: on_screen(app, bill.external_reference), "drawn")


async def test_a_detail_slow_to_read_opens_at_once_saying_it_is_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = DetailScreen._read
    released = asyncio.Event()
    reads = 0

    async def slow_read(self: DetailScreen) -> object:
        nonlocal reads
        reads += 1
        await released.wait()  # as an API asked for a customer's name might be
        return await read(self)

    monkeypatch.setattr(DetailScreen, "_read", slow_read)
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        bill = await open_first_unpaid_bill(pilot, app)
        assert status(app) == "Loading …"
        assert detail(app).loaded is None
        released.set()
        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "the bill, loaded")
        assert status(app) == ""
        assert reads == 2  # the read ahead (given up waiting for) and the view's own
