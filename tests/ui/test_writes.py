"""Writes from the detail views, driven with Pilot: edit a customer, an account and a
bill's metadata (only what changed is sent, after before → after), void a bill,
record a payment, simulate one (sandbox), the bill's payment page, LIVE mode's typed
confirmation, and none of it under ``--read-only``.

Each sandbox app starts the real seeded sandbox, listener and reconciler; what was
sent is read from the console's request log, and what happened from the sandbox.
The sandbox refuses live ``sk_`` keys (403, ``sandbox/routes.py``), so LIVE mode runs
against a Moment mocked with ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from textual.screen import Screen
from textual.widgets import Input, Static

from moment_tui.api.client import RetryPolicy
from moment_tui.api.models import Bill, BillCreate, BillStatus
from moment_tui.api.requestlog import RequestRecord
from moment_tui.config import Settings
from moment_tui.runtime import RuntimeOptions
from moment_tui.secrets import Secret
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.modals.confirm_action import ConfirmAction
from moment_tui.ui.modals.present_bill import PresentBill
from moment_tui.ui.modals.simulate_payment import SimulatePayment
from moment_tui.ui.navigate import open_detail
from moment_tui.ui.present import money
from moment_tui.ui.privacy import mask_name
from moment_tui.ui.screens.account_detail import AccountDetail
from moment_tui.ui.screens.bill_detail import BillDetail
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.screens.customer_detail import CustomerDetail
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.screens.detail_writes import refusal
from moment_tui.ui.screens.edit_account import EditAccount
from moment_tui.ui.screens.edit_bill import EditBillMetadata
from moment_tui.ui.screens.edit_customer import EditCustomer
from moment_tui.ui.screens.form_base import FormScreen
from moment_tui.ui.screens.new_bill import NewBill
from moment_tui.ui.screens.record_payment import RecordPayment
from moment_tui.ui.widgets.event_pane import EventPane
from moment_tui.ui.widgets.form_field import FormField, field_id
from moment_tui.ui.widgets.lazy_table import LazyTable
from tests.ui.ui_helpers import (
    API_URL,
    LIVE_KEY,
    SEEDED,
    assert_no_secret,
    connected,
    on_screen,
    part_payments,
    sandbox_app,
    screen_text,
    wait_until,
)

SIZE = (120, 40)
BILL_KEYS = {"e": "Edit metadata", "m": "Record", "v": "Void", "p": "Pay"}
BILL_KEYS |= {"l": "Pay link"}
HOLDER_KEYS = {"e": "Edit", "n": "New bill", "p": "Pay"}


# --- helpers ------------------------------------------------------------------------------


def writes(app: MomentApp) -> list[RequestRecord]:
    """Every write the console's client attempted (anything but a GET)."""
    log = app.runtime.request_log
    assert log is not None
    return [r for r in log if r.method != "GET"]


def loaded(app: MomentApp, kind: type[DetailScreen], object_id: str) -> bool:
    screen = app.screen
    return isinstance(screen, kind) and screen.loaded is not None and screen.current_id == object_id


def up(app: MomentApp, kind: type[Screen[Any]]) -> bool:
    """A form or modal of ``kind`` is shown, composed and mounted."""
    return isinstance(app.screen, kind) and app.screen.is_mounted


def detail(app: MomentApp) -> DetailScreen:
    assert isinstance(app.screen, DetailScreen)
    return app.screen


def status(app: MomentApp) -> str:
    return str(detail(app).query_one("#detail-status", Static).content)


def field(app: MomentApp, path: str) -> FormField:
    return app.screen.query_one(f"#{field_id(path)}", FormField)


def field_message(app: MomentApp, path: str) -> str:
    return str(field(app, path).query_one(".message", Static).content)


async def type_in(pilot: Any, app: MomentApp, path: str, text: str) -> None:
    """Replace what a form field holds (as typing would: the form re-checks)."""
    box = field(app, path).query_one(Input)
    box.focus()
    box.value = text
    await pilot.pause()


async def open_and_wait(pilot: Any, app: MomentApp, kind: type[DetailScreen], obj_id: str) -> None:
    open_detail(app, app.moment, kind.kind, obj_id)
    await wait_until(pilot, lambda: loaded(app, kind, obj_id), f"the {kind.kind} {obj_id}")


async def first_unpaid_bill(app: MomentApp) -> Bill:
    assert app.runtime.client is not None
    page = await app.runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
    bill = page.items[0]
    assert isinstance(bill, Bill)
    return bill


def palette_titles(app: MomentApp) -> set[str]:
    return {command.title for command in app.get_system_commands(app.screen)}


def rows(app: MomentApp) -> list[dict[str, str]]:
    table = app.screen.query_one(LazyTable)
    found = []
    for index in range(table.row_count):
        row = table.get_row(index)
        if row is None:
            break
        found.append({key: str(value) for key, value in row.cells.items()} | {"key": row.key})
    return found


async def bill_from_the_list(pilot: Any, app: MomentApp, bill: Bill) -> int:
    """Bills view (4), the cursor on ``bill``'s row, Enter: its detail. The row's index."""
    await pilot.press("4")
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, ListScreen) and len(rows(app)) == SEEDED["bill"],
        "the bills listed",
    )
    index = next(i for i, row in enumerate(rows(app)) if row["key"] == bill.id)
    table = app.screen.query_one(LazyTable)
    table.focus()
    table.cursor_row = index
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "the bill from the list")
    return index


# --- edit ---------------------------------------------------------------------------------


async def test_edit_a_customers_phone_sends_only_the_phone(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        assert app.runtime.client is not None
        page = await app.runtime.client.list_page("customer", limit=1)
        customer = page.items[0]
        assert customer.phone
        assert customer.name
        await open_and_wait(pilot, app, CustomerDetail, customer.id)
        assert set(HOLDER_KEYS) <= set(app.screen.active_bindings)

        await pilot.press("e")
        await wait_until(pilot, lambda: up(app, EditCustomer), "the edit form")
        assert field(app, "phone").value == customer.phone  # filled with what it holds
        assert field(app, "name").value == customer.name
        assert on_screen(app, "Edit customer", "Metadata merges")

        # A bad phone: its error beside it, and Ctrl+S sends nothing.
        await type_in(pilot, app, "phone", "0821234567")
        assert "E.164" in field_message(app, "phone")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: on_screen(app, "to fix before sending"), "refused")
        assert isinstance(app.screen, EditCustomer)
        assert writes(app) == []

        new_phone = "+27829998877"
        await type_in(pilot, app, "phone", new_phone)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "before → after")
        assert on_screen(app, f"phone  {customer.phone} → {new_phone}")
        assert on_screen(app, '{"phone": "+27829998877"}')
        assert not on_screen(app, "→ " + customer.name)  # nothing else is changed
        assert writes(app) == []  # not before it is confirmed
        await pilot.press("y")

        await wait_until(pilot, lambda: loaded(app, CustomerDetail, customer.id), "back")
        await wait_until(pilot, lambda: on_screen(app, new_phone), "the new phone shown")
        [patch] = writes(app)
        assert (patch.method, patch.path, patch.status) == (
            "PATCH",
            f"/billing/customers/{customer.id}",
            200,
        )
        assert patch.request_body == {"phone": new_phone}
        assert (await app.runtime.client.get_customer(customer.id)).phone == new_phone
        # The timeline keeps the change, before → after; nothing else is said changed.
        await wait_until(
            pilot, lambda: on_screen(app, "Changed from this console"), "the timeline entry"
        )
        assert on_screen(app, f"phone {customer.phone} → {new_phone}")
        assert not on_screen(app, "name ")
        assert_no_secret(app)


async def test_edit_an_accounts_balance_sends_it_with_the_currency(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        assert app.runtime.client is not None
        page = await app.runtime.client.list_page("account", limit=1)
        account = page.items[0]
        assert account.currency == "ZAR"
        assert account.balance is not None
        await open_and_wait(pilot, app, AccountDetail, account.id)

        await pilot.press("e")
        await wait_until(pilot, lambda: up(app, EditAccount), "the edit form")
        currency = field(app, "currency")
        assert currency.value == "ZAR"
        assert currency.query_one(Input).disabled  # shown, not edited: the balance is in it
        await type_in(pilot, app, "balance", "1,234.50")
        assert "sends 123450 (R 1,234.50)" in field_message(app, "balance")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "before → after")
        assert on_screen(app, f"balance  {money(account.balance, 'ZAR')} → R 1,234.50")
        await pilot.press("enter")

        await wait_until(pilot, lambda: loaded(app, AccountDetail, account.id), "back")
        await wait_until(pilot, lambda: on_screen(app, "R 1,234.50"), "the new balance")
        [patch] = writes(app)
        assert patch.method == "PATCH"
        assert patch.path == f"/billing/accounts/{account.id}"
        assert patch.request_body == {"balance": 123450, "currency": "ZAR"}
        assert (await app.runtime.client.get_account(account.id)).balance == 123450

        # n: a new bill on this account, in its currency.
        await pilot.press("n")
        await wait_until(pilot, lambda: up(app, NewBill), "the new-bill form")
        assert field(app, "target").value == "account"
        assert field(app, "account").value == account.id
        assert field(app, "currency").value == "ZAR"
        await pilot.press("escape")
        await wait_until(pilot, lambda: loaded(app, AccountDetail, account.id), "back")

        # p: pay the account (or its customer); the webhook reaches the open view.
        await pilot.press("p")
        await wait_until(pilot, lambda: up(app, SimulatePayment), "the payment")
        modal = app.screen
        assert isinstance(modal, SimulatePayment)
        # Its customer owes nothing of its own (no positive balance, no bill outside an
        # account): the sandbox would refuse a payment to it, so it is not offered.
        customer = await app.runtime.client.get_customer(account.customer_id)
        assert not customer.balance
        assert [t.kind for t in modal.targets] == ["account"]
        modal.query_one("#pay-amount", Input).value = "50"
        await pilot.press("enter")
        await wait_until(pilot, lambda: loaded(app, AccountDetail, account.id), "paid")
        assert writes(app)[-1].request_body == {"account": account.id, "amount": 5000}
        await wait_until(pilot, lambda: on_screen(app, "Timeline · 1 payment"), "its webhook")


async def test_edit_a_bills_metadata_merges_and_a_deleted_key_stays(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        description = bill.metadata["description"]
        await open_and_wait(pilot, app, BillDetail, bill.id)

        await pilot.press("e")
        await wait_until(pilot, lambda: up(app, EditBillMetadata), "the form")
        assert field(app, "metadata").value == f"description={description}"
        assert "merged on Moment's side" in field_message(app, "metadata")

        # "description" deleted, "po" added: only po is sent; description stays.
        await type_in(pilot, app, "metadata", "po=4471")
        message = field_message(app, "metadata")
        assert "Removing a key is not possible through the API" in message
        assert "description will stay" in message
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "before → after")
        assert on_screen(app, "metadata po  — → 4471")
        assert not on_screen(app, "metadata description")
        await pilot.press("enter")

        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "back")
        merged = f"description={description}, po=4471"
        await wait_until(pilot, lambda: on_screen(app, merged), "the merged metadata")
        [patch] = writes(app)
        assert patch.request_body == {"metadata": {"po": "4471"}}
        assert app.runtime.client is not None
        after = await app.runtime.client.get_bill(bill.id)
        assert after.metadata == {"description": description, "po": "4471"}


async def test_a_masked_edit_draws_the_customer_masked_and_sends_the_real_change(
    tmp_path: Path,
) -> None:
    """With the mask on (Ctrl+N), Edit customer's line naming the customer and the
    confirmation's before → after and request draw the name masked; the field holds
    the real name (it is being edited) and the request sent is real."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        assert app.runtime.client is not None
        page = await app.runtime.client.list_page("customer", limit=1)
        customer = page.items[0]
        name = customer.name
        assert name
        await open_and_wait(pilot, app, CustomerDetail, customer.id)
        await pilot.press("ctrl+n")
        await pilot.press("e")
        await wait_until(pilot, lambda: up(app, EditCustomer), "the edit form")
        intro = app.screen.query_one("#form-intro", Static)
        assert f"{mask_name(name)} ({customer.external_reference})" in str(intro.content)
        assert name not in str(intro.content)
        assert field(app, "name").value == name  # the real value, to edit
        await pilot.press("ctrl+n")  # shown again, on the form: the line follows
        await wait_until(pilot, lambda: name in str(intro.content), "the real name")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: name not in str(intro.content), "masked again")

        new_name = f"{name} Jr"
        await type_in(pilot, app, "name", new_name)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "before → after")
        text = "\n".join(str(line.content) for line in app.screen.query(Static))
        assert f"name  {mask_name(name)} → {mask_name(new_name)}" in text
        assert f'{{"name": "{mask_name(new_name)}"}}' in text
        assert f"Change customer {mask_name(name)}" in text
        assert name not in text
        await pilot.press("y")
        await wait_until(pilot, lambda: loaded(app, CustomerDetail, customer.id), "back")
        [patch] = writes(app)
        assert patch.request_body == {"name": new_name}
        assert (await app.runtime.client.get_customer(customer.id)).name == new_name


async def test_an_edit_that_changes_nothing_sends_nothing(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        await open_and_wait(pilot, app, BillDetail, bill.id)
        await pilot.press("e")
        await wait_until(pilot, lambda: up(app, EditBillMetadata), "the form")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: on_screen(app, "Nothing changed"), "nothing to send")
        assert isinstance(app.screen, EditBillMetadata)
        assert writes(app) == []


# --- void ---------------------------------------------------------------------------------


async def test_void_names_the_bill_and_its_amount_then_voids_it(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        customer = await app.moment.queries.entry("customer", bill.customer_id)
        assert customer is not None
        assert customer.obj.name
        await open_and_wait(pilot, app, BillDetail, bill.id)
        keys = app.screen.active_bindings
        assert {key: keys[key].binding.description for key in BILL_KEYS} == BILL_KEYS
        assert set(BILL_KEYS.values()) <= palette_titles(app)

        await pilot.press("v")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "the confirmation")
        amount = money(bill.amount_due, bill.currency)
        assert on_screen(app, f"Void bill {bill.external_reference} · {amount}")
        assert on_screen(app, f"Customer   {customer.obj.name}")
        assert on_screen(app, "Voiding is irreversible")
        await pilot.press("n")
        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "not voided")
        assert status(app) == "Not voided."
        assert writes(app) == []

        await pilot.press("v")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "asked again")
        assert on_screen(app, "y to void it; Esc or n does not.")
        assert not on_screen(app, "Enter or y")
        await pilot.press("enter")  # irreversible: Enter does not void it
        await pilot.pause()
        assert up(app, ConfirmAction)
        assert writes(app) == []
        await pilot.press("y")
        await wait_until(pilot, lambda: on_screen(app, "VOIDED"), "the bill voided on screen")
        assert status(app) == f"Voided bill {bill.external_reference}."
        # Nothing is owed on it now: no figure under Remaining (as in the lists).
        assert on_screen(app, "   Remaining —")
        [void] = writes(app)
        assert (void.method, void.path, void.status) == (
            "POST",
            f"/billing/bills/{bill.id}/void",
            200,
        )
        assert void.idempotency_key
        assert void.request_body is None
        assert app.runtime.client is not None
        assert (await app.runtime.client.get_bill(bill.id)).status is BillStatus.VOIDED

        # A voided bill cannot change: its write keys leave the footer, and send nothing.
        await wait_until(
            pilot, lambda: not on_screen(app, "v Void") and not on_screen(app, "m Record"), "keys"
        )
        await pilot.press("m", "v", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, BillDetail), "still the bill")
        assert len(writes(app)) == 1
        assert refusal(app.screen, "record_payment") == (
            f"{bill.external_reference} is voided: a voided bill cannot be changed, paid or"
            " voided again."
        )


# --- record a payment ---------------------------------------------------------------------


async def test_record_a_payment_sends_the_new_total_and_the_row_follows(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        index = await bill_from_the_list(pilot, app, bill)
        currency = bill.currency

        await pilot.press("m")
        await wait_until(pilot, lambda: up(app, RecordPayment), "the form")
        paid = money(bill.amount_paid, currency)
        assert on_screen(app, f"paid so far {paid}")
        assert on_screen(app, "NEW TOTAL paid")
        # Emptied, the required total does not claim to be "left as it is".
        await type_in(pilot, app, "amount_paid", "")
        if bill.amount_paid:  # the field held the total paid so far
            assert field_message(app, "amount_paid") == "empty: nothing to send; type the new value"
        assert "left as it is" not in field_message(app, "amount_paid")

        # Above the amount due: refused beside the field, nothing sent.
        too_much = bill.amount_due + 100
        await type_in(pilot, app, "amount_paid", f"{too_much / 100:.2f}")
        assert "more than the amount due" in field_message(app, "amount_paid")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: on_screen(app, "to fix before sending"), "refused")
        assert writes(app) == []

        total = bill.amount_paid + bill.amount_remaining // 2
        left = bill.amount_due - total
        await type_in(pilot, app, "amount_paid", f"{total / 100:.2f}")
        added = money(total - bill.amount_paid, currency)
        assert field_message(app, "amount_paid") == (
            f"sends {total} · adds {added} · remaining after {money(left, currency)}"
        )
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "before → after")
        assert on_screen(app, f"paid       {paid} → {money(total, currency)}")
        await pilot.press("enter")

        await wait_until(pilot, lambda: loaded(app, BillDetail, bill.id), "back to the bill")
        await wait_until(
            pilot, lambda: on_screen(app, f"Remaining {money(left, currency)}"), "its new amounts"
        )
        assert on_screen(app, f"Paid {money(total, currency)}")
        # The timeline says what the recorded payment changed, not only "updated".
        assert on_screen(app, "Changed from this console")
        assert on_screen(app, f"paid      {paid} → {money(total, currency)}")
        assert on_screen(app, f"remaining {money(bill.amount_remaining, currency)} → ")
        assert on_screen(app, "it: paid as recorded by hand.")
        [patch] = writes(app)
        assert (patch.method, patch.path) == ("PATCH", f"/billing/bills/{bill.id}")
        assert patch.request_body == {"amount_paid": total, "currency": currency}
        assert app.runtime.client is not None
        after = await app.runtime.client.get_bill(bill.id)
        assert (after.amount_paid, after.amount_remaining) == (total, left)

        await pilot.press("escape")  # the list's row follows
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, ListScreen)
                and rows(app)[index]["amount_remaining"] == money(left, currency)
            ),
            "the row updated",
        )
        assert rows(app)[index]["key"] == bill.id


# --- simulate a payment (sandbox) ---------------------------------------------------------


async def test_simulate_a_payment_on_a_bill_its_webhook_updates_the_row(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        index = await bill_from_the_list(pilot, app, bill)
        screen = detail(app)

        # No listener: the payment's webhook would reach nothing, so none is made.
        listener = app.runtime.listener
        app.runtime.listener = None
        try:
            await pilot.press("p")
            await wait_until(pilot, lambda: "listener is not running" in status(app), "why not")
            assert isinstance(app.screen, BillDetail)
        finally:
            app.runtime.listener = listener

        await pilot.press("p")
        await wait_until(pilot, lambda: up(app, SimulatePayment), "the payment")
        left = money(bill.amount_remaining, bill.currency)
        assert on_screen(app, f"In full: {left} (what remains)")
        box = app.screen.query_one("#pay-amount", Input)
        box.value = "100"
        await pilot.pause()
        after_left = money(bill.amount_remaining - 10000, bill.currency)
        assert on_screen(app, f"sends 10000 (R 100.00) · remaining after {after_left}")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BillDetail), "paid")
        said = f"Paid R 100.00 to bill {bill.external_reference}: its webhook "  # follows, or came
        assert status(app).startswith(said)
        assert " (pay_" in status(app)
        # Said once, in the view's status line: no toast over its foot as well.
        assert not [n for n in app._notifications if str(n.message).startswith("Paid")]
        [payment] = writes(app)
        assert (payment.method, payment.path) == ("POST", "/sandbox/payments")
        assert payment.request_body == {"bill": bill.id, "amount": 10000}
        await wait_until(
            pilot,
            lambda: screen.loaded is not None and screen.loaded.obj.amount_paid == 10000,
            "the webhook applied to the open bill",
        )
        await wait_until(pilot, lambda: on_screen(app, f"Remaining {after_left}"), "drawn")
        # "its webhook follows" is old news once it came: the line says it was applied.
        came = f"Paid R 100.00 to bill {bill.external_reference}: its webhook came and was"
        await wait_until(pilot, lambda: status(app).startswith(came), "the line follows")

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "the list")
        pane = app.screen.query_one(EventPane)
        await wait_until(pilot, lambda: pane.row_count == 1, "the delivery in the pane")
        await wait_until(
            pilot, lambda: rows(app)[index]["amount_remaining"] == after_left, "the row updated"
        )


# --- present (sandbox) --------------------------------------------------------------------


async def test_p_on_a_voided_row_offers_only_what_owes_and_says_why(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        client = app.runtime.client
        assert client is not None
        body = {
            "external_reference": "VOID-ME-1",
            "currency": "ZAR",
            "amount_due": 5000,
            "account": {
                "external_reference": "ACC-VOID-1",
                "name": "Void plan",
                "customer": {"external_reference": "CUS-VOID-1", "name": "Vera Void"},
            },
        }
        made = await client.create_bill(BillCreate.model_validate(body))
        voided = await client.void_bill(made.id)
        assert made.account_id is not None
        for kind, ref in (("bill", voided.id), ("account", made.account_id)):
            await app.moment.queries.fetch(kind, ref)  # type: ignore[arg-type]
        await app.moment.queries.fetch("customer", made.customer_id)

        await pilot.press("4")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "the bills")
        await pilot.press("slash")
        await pilot.press(*"VOID-ME-1")
        await wait_until(pilot, lambda: len(rows(app)) == 1, "the voided bill alone")
        await pilot.press("enter")  # from the filter to the list
        # Neither its account nor its customer owes anything: nothing to open a dialog for.
        await pilot.press("p")
        said = (
            "Bill VOID-ME-1 is voided: nothing is left to pay on it. And account Void plan"
            " and customer Vera Void owe nothing."
        )
        await wait_until(
            pilot, lambda: any(str(n.message) == said for n in app._notifications), "why not"
        )
        assert isinstance(app.screen, ListScreen)

        # A second bill on the account: the account owes, the customer (its own) still not.
        other = {"external_reference": "VOID-ME-2", "currency": "ZAR", "amount_due": 700}
        second = await client.create_bill(
            BillCreate.model_validate({**other, "account": made.account_id})
        )
        await app.moment.queries.fetch("bill", second.id)
        await pilot.press("p")
        await wait_until(pilot, lambda: up(app, SimulatePayment), "the dialog")
        modal = app.screen
        assert isinstance(modal, SimulatePayment)
        assert [t.title for t in modal.targets] == ["account Void plan"]
        assert on_screen(app, "Bill VOID-ME-1 is voided: nothing is left to pay on it.")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "paid")
        # Said on the list's count line, not in a toast over the live pane.
        said = "1 bill · matching “VOID-ME-1” · row 1 · Paid R 7.00 to account Void plan:"
        await wait_until(pilot, lambda: on_screen(app, said), "the payment said")
        assert not [n for n in app._notifications if str(n.message).startswith("Paid")]
        [payment] = [w for w in writes(app) if w.path == "/sandbox/payments"]
        assert payment.request_body == {"account": made.account_id}
        assert (await client.get_bill(second.id)).status == BillStatus.PAID


async def test_the_bill_page_link_is_copied_and_serves_the_bill(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        await open_and_wait(pilot, app, BillDetail, bill.id)
        await pilot.press("l")
        await wait_until(pilot, lambda: up(app, PresentBill), "the link")
        assert app.runtime.client is not None
        link = f"{app.runtime.client.base_url}/pay/{bill.id}"
        assert app._clipboard == link
        assert on_screen(app, link)
        async with httpx.AsyncClient() as http:
            page = await http.get(link)
        assert page.status_code == 200
        assert bill.external_reference in page.text
        assert money(bill.amount_remaining, bill.currency) in page.text
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BillDetail), "closed")
        assert writes(app) == []


# --- read-only ----------------------------------------------------------------------------


async def test_read_only_offers_no_write_and_pressing_one_does_nothing(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        targets: list[tuple[type[DetailScreen], str, dict[str, str]]] = [
            (BillDetail, bill.id, BILL_KEYS),
            (CustomerDetail, bill.customer_id, HOLDER_KEYS),
        ]
        if bill.account_id:
            targets.append((AccountDetail, bill.account_id, HOLDER_KEYS))
        for kind, object_id, keys in targets:
            await open_and_wait(pilot, app, kind, object_id)
            screen = app.screen
            assert not set(keys) & set(screen.active_bindings), kind
            assert not set(keys.values()) & palette_titles(app), kind
            footer = screen_text(app).splitlines()[-1]
            assert "Edit" not in footer
            assert "Void" not in footer
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
                assert app.screen is screen, key  # no form, no confirmation
            # Reached another way (a stale palette entry, a script): it says why.
            screen.action_edit()  # type: ignore[attr-defined]
            assert status(app) == "Read-only (--read-only): this console sends no writes."
            await pilot.press("escape")
        assert writes(app) == []


# --- LIVE mode ----------------------------------------------------------------------------

LIVE_BILL = "bill_Live0000000000000001"
LIVE_CUSTOMER = "bcus_Live0000000000000001"


class LiveMoment:
    """A live Moment with one customer and one bill, mocked: the sandbox refuses
    live keys. Reads, the bill's PATCH and its void are answered; all else is 404."""

    def __init__(self) -> None:
        self.customer = {
            "id": LIVE_CUSTOMER,
            "external_reference": "UCR-LIVE-1",
            "name": "Sipho Live",
            "metadata": {},
        }
        self.bill: dict[str, Any] = {
            "id": LIVE_BILL,
            "external_reference": "INV-LIVE-1",
            "customer_id": LIVE_CUSTOMER,
            "status": "unpaid",
            "currency": "ZAR",
            "amount_due": 200000,
            "amount_paid": 0,
            "amount_remaining": 200000,
            "metadata": {},
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "GET" and path == f"/billing/customers/{LIVE_CUSTOMER}":
            return httpx.Response(200, json=self.customer)
        if method == "GET" and path == f"/billing/bills/{LIVE_BILL}":
            return httpx.Response(200, json=self.bill)
        if method == "PATCH" and path == f"/billing/bills/{LIVE_BILL}":
            body = json.loads(request.content)
            paid = body["amount_paid"]
            self.bill |= {"amount_paid": paid, "amount_remaining": 200000 - paid}
            return httpx.Response(200, json=self.bill)
        if method == "POST" and path == f"/billing/bills/{LIVE_BILL}/void":
            self.bill["status"] = "voided"
            return httpx.Response(200, json=self.bill)
        problem = {"title": "Not Found", "status": 404, "detail": "no such object"}
        return httpx.Response(
            404, json=problem, headers={"content-type": "application/problem+json"}
        )


def live_app(tmp: Path) -> MomentApp:
    settings = Settings(api_key=Secret(LIVE_KEY), api_url=API_URL, config_dir=tmp, data_dir=tmp)
    options = RuntimeOptions(
        transport=httpx.MockTransport(LiveMoment()),
        retry=RetryPolicy(max_attempts=1),
        listener_port=0,
        workspace=tmp / "ws.sqlite3",
        sandbox_db=tmp / "unused.sqlite3",
    )
    return create_app(settings, options)


async def test_live_mode_writes_only_once_the_word_is_typed(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: on_screen(app, "● Connected"), "connected")
        assert app.moment.settings.is_live
        await open_and_wait(pilot, app, BillDetail, LIVE_BILL)
        keys = set(app.screen.active_bindings)
        assert {"e", "m", "v"} <= keys
        assert not {"p", "l"} & keys  # the sandbox's keys: not on a real Moment

        # Record a payment: the form's LIVE confirmation shows the request and wants
        # the bill's reference typed.
        await pilot.press("m")
        await wait_until(pilot, lambda: up(app, RecordPayment), "the form")
        await type_in(pilot, app, "amount_paid", "500")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "typed confirmation")
        assert on_screen(app, "LIVE MODE", "Type INV-LIVE-1 and Enter")
        assert on_screen(app, "paid       R 0.00 → R 500.00")
        app.screen.query_one(Input).value = "yes"
        await pilot.press("enter")
        await wait_until(pilot, lambda: on_screen(app, "That is not 'INV-LIVE-1'"), "refused")
        assert writes(app) == []
        app.screen.query_one(Input).value = "INV-LIVE-1"
        await pilot.press("enter")
        await wait_until(pilot, lambda: loaded(app, BillDetail, LIVE_BILL), "back to the bill")
        await wait_until(pilot, lambda: on_screen(app, "Paid R 500.00"), "the new total")
        [patch] = writes(app)
        assert patch.request_body == {"amount_paid": 50000, "currency": "ZAR"}

        # Void: Enter alone does nothing; the wrong word sends nothing; the reference voids.
        await pilot.press("v")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "the confirmation")
        assert on_screen(app, "LIVE MODE", "Type INV-LIVE-1 and Enter to void it")
        assert on_screen(app, "Customer   Sipho Live", "Voiding is irreversible")
        box = app.screen.query_one(Input)
        box.value = "INV-LIVE-2"
        await pilot.press("enter")
        await wait_until(pilot, lambda: on_screen(app, "That is not 'INV-LIVE-1'"), "refused")
        assert len(writes(app)) == 1
        box.value = "INV-LIVE-1"
        await pilot.press("enter")
        await wait_until(pilot, lambda: on_screen(app, "VOIDED"), "voided")
        assert [(r.method, r.path) for r in writes(app)][1:] == [
            ("POST", f"/billing/bills/{LIVE_BILL}/void")
        ]
        assert_no_secret(app, LIVE_KEY)


async def test_a_live_form_refused_at_the_confirmation_is_not_sent(tmp_path: Path) -> None:
    app = live_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: on_screen(app, "● Connected"), "connected")
        await open_and_wait(pilot, app, BillDetail, LIVE_BILL)
        await pilot.press("e")
        await wait_until(pilot, lambda: up(app, EditBillMetadata), "the form")
        await type_in(pilot, app, "metadata", "po=4471")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: up(app, ConfirmAction), "typed confirmation")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), "back in the form")
        assert on_screen(app, "Not sent.")
        assert writes(app) == []


def test_a_bills_state_forbids_the_writes_it_can_no_longer_take() -> None:
    """A voided bill takes no write (its page can still be shown); a paid one cannot be
    voided; an unpaid one, and any account or customer, takes all of them."""
    from types import SimpleNamespace

    from moment_tui.ui.screens.detail_writes import WRITES, forbidden

    def bill(status: str) -> SimpleNamespace:
        return SimpleNamespace(status=BillStatus(status), external_reference="INV-1")

    assert {a for a in WRITES if forbidden("bill", bill("voided"), a)} == WRITES - {"present"}
    assert {a for a in WRITES if forbidden("bill", bill("paid"), a)} == {"void"}
    assert forbidden("bill", bill("paid"), "void") == "INV-1 is paid: a paid bill cannot be voided."
    assert not any(forbidden("bill", bill("unpaid"), a) for a in WRITES)
    assert not any(forbidden("account", bill("voided"), a) for a in WRITES)
