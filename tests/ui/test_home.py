"""The home screen and the delivery detail, driven with Pilot against the real sandbox.

No API key: each app starts the seeded sandbox (``SEED_TODAY``), the webhook listener
on a free port and the reconciler, all under the test's ``tmp_path``. Payments are
real: the sandbox signs and sends each webhook to the listener.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
from rich.console import Console

from moment_tui.api.models import Bill, BillStatus
from moment_tui.money import amount_text
from moment_tui.secrets import mask
from moment_tui.store.eventlog import Delivery
from moment_tui.ui.app import MomentApp
from moment_tui.ui.modals.delivery_detail import DeliveryDetail, describe
from moment_tui.ui.present import Hanging
from moment_tui.ui.privacy import mask_name
from moment_tui.ui.screens.home import HomeScreen
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.webhook_panel import WebhookPanel
from moment_tui.webhooks.outbound import amount_applied_event, send
from moment_tui.webhooks.signing import new_webhook_secret
from tests.ui.ui_helpers import (
    LIVE_KEY,
    SEEDED,
    SEEDED_NARROW,
    SEEDED_WIDE,
    TEST_KEY,
    assert_no_secret,
    bill_counts,
    cell,
    connected,
    counts_of,
    fixed_deliveries,
    keyed_app,
    on_screen,
    part_payments,
    sandbox_app,
    screen_text,
    table_settled,
    text_of,
    wait_until,
)

SANDBOX_HINT = "No deliveries yet — press p to simulate a payment."
API_HINT = "No deliveries yet — webhooks Moment sends to the address above appear here."
NO_TALLY = "0 verified · 0 dup · 0 rejected\n0 confirmed · 0 drift · 0 unchecked"


def sandbox_secret(app: MomentApp) -> str:
    """The webhook secret the sandbox signs with (and the listener verifies with)."""
    assert app.runtime.sandbox is not None
    (secret,) = app.runtime.sandbox.config.webhook_secrets
    return secret


def shown_as(drawn: str, whole: str) -> bool:
    """``drawn`` is ``whole``, or ``whole`` cut to fit with "…"."""
    return drawn == whole or (drawn.endswith("…") and whole.startswith(drawn[:-1]))


def detail_text(app: MomentApp) -> str:
    assert isinstance(app.screen, DeliveryDetail)
    return app.screen.text


async def first_unpaid_bill(app: MomentApp) -> Bill:
    """The bill ``p`` pays with ``part_payments()``: the first unpaid one listed."""
    assert app.runtime.client is not None
    page = await app.runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
    bill = page.items[0]
    assert isinstance(bill, Bill)
    return bill


async def test_start_shows_the_sandbox_connected_with_its_seeded_counts(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        assert counts_of(app) == SEEDED
        # At 80 columns the bills line drops its total to fit, never a status.
        assert text_of(app, ConnectionPanel) == f"● Connected to the sandbox\n{SEEDED_NARROW}"
        assert app.runtime.listener is not None
        address = app.runtime.listener.url.removeprefix("http://")
        assert address.startswith("127.0.0.1:")
        assert address.endswith("/webhooks/moment")
        assert text_of(app, WebhookPanel) == f"{address}\n{NO_TALLY}"
        assert app.home.query_one(DeliveryTable).row_count == 0
        # An empty table says what to do, under its headings.
        await wait_until(pilot, lambda: on_screen(app, SANDBOX_HINT), "the empty table's hint")
        rows = screen_text(app).splitlines()
        headings = next(i for i, row in enumerate(rows) if "Verdict" in row)
        assert SANDBOX_HINT in rows[headings + 2]
        for line in SEEDED_NARROW.splitlines():
            assert on_screen(app, line)
        footer = rows[-1]
        for key in ("↑↓ Move", "Enter Open", "p Simulate a payment", "q Quit"):
            assert key in footer
        assert_no_secret(app, sandbox_secret(app))

        await pilot.press("p")
        await wait_until(pilot, lambda: cell(app, 1, "verdict") == "verified", "#1 received")
        await wait_until(pilot, lambda: not on_screen(app, SANDBOX_HINT), "the hint to go")


async def test_a_simulated_payment_is_verified_confirmed_and_explained(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        before = await first_unpaid_bill(app)

        await pilot.press("p")
        await wait_until(pilot, lambda: cell(app, 1, "result") == "confirmed", "#1 confirmed")
        assert cell(app, 1, "verdict") == "verified"
        # Whom it paid: the bill's reference (and its customer's name), once looked up.
        await wait_until(
            pilot,
            lambda: cell(app, 1, "target").startswith(before.external_reference),
            "the bill named",
        )
        table = app.home.query_one(DeliveryTable)
        assert table.row_count == 1
        delivery = table.deliveries[1]
        assert delivery.bill_id == before.id
        assert delivery.amount is not None
        # A fifth of what remained, in whole rand.
        fifth = 2 * before.amount_remaining // 10
        assert delivery.amount == fifth - fifth % 100
        amount = amount_text(delivery.amount, before.currency)
        assert cell(app, 1, "amount") == amount

        await wait_until(
            pilot,
            lambda: text_of(app, WebhookPanel).endswith(
                "1 verified · 0 dup · 0 rejected\n1 confirmed · 0 drift · 0 unchecked"
            ),
            "the tally to count the delivery",
        )
        assert app.runtime.client is not None
        after = await app.runtime.client.get_bill(before.id)
        assert after.amount_paid == before.amount_paid + delivery.amount
        assert after.amount_remaining == before.amount_remaining - delivery.amount
        # A part payment: the bill is still unpaid, and the counts say so.
        assert after.status is BillStatus.UNPAID
        assert counts_of(app) == SEEDED

        assert app.focused is table
        # The row names the bill once the catalogue was asked; the inspector names it so.
        await wait_until(pilot, lambda: before.id in table.names, "the bill's name")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeliveryDetail), "the detail")
        text = detail_text(app)
        lines = text.splitlines()
        assert lines[0] == "Delivery #1 · verified"
        assert f"  amount    {amount} ({delivery.amount} minor units)" in lines
        named = f"{before.external_reference} · {before.id}"
        assert f"  paid to   bill {named}" in lines
        assert "Applied     applied · confirmed" in lines
        assert f"  bill {named}" in lines

        def money(minor: int) -> str:
            return amount_text(minor, before.currency)

        paid = f"amount_paid       {money(before.amount_paid)} → {money(after.amount_paid)}"
        remaining = (
            f"amount_remaining  {money(before.amount_remaining)} → {money(after.amount_remaining)}"
        )
        assert f"    {paid}" in lines
        assert f"    {remaining}" in lines
        await wait_until(pilot, lambda: on_screen(app, paid, remaining), "the detail drawn")
        shown = screen_text(app).splitlines()
        assert any("Delivery #1 · verified" in row for row in shown)
        # The console stays visible (dimmed) behind the modal: the banner is on row 0.
        assert shown[0].startswith(" Sandbox · no API key")
        # The footer is the modal's: how to close it, not the home screen's keys.
        assert "Esc Close" in shown[-1]
        assert "Simulate a payment" not in shown[-1]
        assert_no_secret(app, sandbox_secret(app))

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "the detail to close")
        assert "Delivery #1" not in screen_text(app)


async def test_a_payments_row_names_the_bill_and_its_customer_not_the_id(tmp_path: Path) -> None:
    """ "Paid to" says what the event pane says (the bill's reference, its customer's
    name), masked with Ctrl+N; an object the catalogue does not know keeps its id."""
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        bill = await first_unpaid_bill(app)
        assert app.runtime.client is not None
        customer = await app.runtime.client.get_customer(bill.customer_id)
        assert customer.name
        await pilot.press("p")
        await wait_until(pilot, lambda: cell(app, 1, "result") == "confirmed", "#1 confirmed")
        named = f"{bill.external_reference} · {customer.name}"
        await wait_until(pilot, lambda: cell(app, 1, "target") == named, "the bill named")
        await wait_until(pilot, lambda: on_screen(app, f" {named}"), "drawn")
        assert bill.id not in screen_text(app)

        await pilot.press("ctrl+n")
        masked = f"{bill.external_reference} · {mask_name(customer.name)}"
        await wait_until(pilot, lambda: cell(app, 1, "target") == masked, "the name masked")
        await wait_until(pilot, lambda: on_screen(app, f" {masked}"), "drawn masked")
        assert customer.name not in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: cell(app, 1, "target") == named, "as it is again")

        # A bill the catalogue has never heard of: its id, as before.
        nowhere = "bill_NoSuchBi11InTheCata1ogue"
        unknown = dataclasses.replace(
            fixed_deliveries()[0][0], seq=2, webhook_id="msg_x", bill_id=nowhere
        )
        app.moment.state.add_deliveries([unknown])
        table = app.home.query_one(DeliveryTable)
        await wait_until(pilot, lambda: nowhere in table.names, "the catalogue asked")
        assert cell(app, 2, "target") == nowhere


async def test_paying_a_bill_in_full_moves_it_from_unpaid_to_paid(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        await pilot.press("p")
        await wait_until(pilot, lambda: cell(app, 1, "result") == "confirmed", "#1 confirmed")
        assert bill_counts(app) == (16, 10, 5)
        # At 120 columns the bills line has its total too.
        assert text_of(app, ConnectionPanel).endswith(SEEDED_WIDE)

        # The rest of the same bill, through the sandbox's payment endpoint (what `p` uses).
        bill = app.home.query_one(DeliveryTable).deliveries[1].bill_id
        assert bill is not None
        assert app.runtime.client is not None
        remaining = (await app.runtime.client.get_bill(bill)).amount_remaining
        await app.runtime.client.request(
            "POST", "/sandbox/payments", json={"bill": bill, "amount": remaining}
        )
        await wait_until(pilot, lambda: cell(app, 2, "result") == "confirmed", "#2 confirmed")
        assert cell(app, 2, "verdict") == "verified"
        paid = await app.runtime.client.get_bill(bill)
        assert paid.status is BillStatus.PAID
        assert paid.amount_remaining == 0
        await wait_until(pilot, lambda: bill_counts(app) == (15, 11, 5), "the paid bill counted")
        line = "31 bills · 15 unpaid · 11 paid · 5 voided"
        assert text_of(app, ConnectionPanel).endswith(line)
        assert text_of(app, WebhookPanel).endswith(
            "2 verified · 0 dup · 0 rejected\n2 confirmed · 0 drift · 0 unchecked"
        )
        await wait_until(pilot, lambda: on_screen(app, line), "the counts drawn")


async def test_a_badly_signed_delivery_is_rejected_and_diagnosed(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    # Tall enough for the whole diagnosis without scrolling the modal.
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        assert app.runtime.listener is not None
        wrong = new_webhook_secret()
        body = amount_applied_event(12345, "ZAR", bill_id="bill_2Ri9L7z6uPSankOvmWLlz")
        async with httpx.AsyncClient() as http:
            result = await send(http, app.runtime.listener.url, body, [wrong], "msg_wrong_secret")
        assert result.status == 401

        await wait_until(pilot, lambda: cell(app, 1, "verdict") == "rejected", "#1 rejected")
        assert cell(app, 1, "result") == "401 no_matching_signature"
        assert cell(app, 1, "amount") == "—"
        await wait_until(
            pilot,
            lambda: text_of(app, WebhookPanel).endswith(
                "0 verified · 0 dup · 1 rejected\n0 confirmed · 0 drift · 0 unchecked"
            ),
            "the tally to count the rejection",
        )
        # Nothing was applied: the catalogue counts are the seeded ones.
        assert counts_of(app) == SEEDED
        assert text_of(app, ConnectionPanel).endswith(SEEDED_WIDE)

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeliveryDetail), "the detail")
        lines = detail_text(app).splitlines()
        assert lines[0] == "Delivery #1 · rejected (401 no_matching_signature)"
        assert "webhook-id  msg_wrong_secret" in lines
        assert "Signature check" in lines
        expected = [line for line in lines if line.startswith("  expected        ")]
        assert len(expected) == 1
        assert expected[0].startswith(f"  expected        {mask(sandbox_secret(app))} → v1,")
        received = [line for line in lines if line.startswith("  received        ")]
        assert len(received) == 1
        assert received[0].startswith("  received        v1,")
        # The two signatures differ: that is the point of the diagnosis.
        assert expected[0].split(" → ")[1] != received[0].split()[1]
        assert any(
            line.startswith("  signed content  msg_wrong_secret.")
            and '"type":"obligation.amount_applied"' in line
            for line in lines
        )
        hints = lines[lines.index("  hints") + 1 :]
        assert hints
        assert hints[0].startswith("   • no configured secret produces this signature")

        shown = screen_text(app)
        assert "Delivery #1 · rejected (401 no_matching_signature)" in shown
        assert "expected        whsec_…" in shown
        assert "• no configured secret produces this signature" in shown
        assert_no_secret(app, sandbox_secret(app), wrong)


async def test_deliveries_of_an_earlier_session_are_listed(tmp_path: Path) -> None:
    first = sandbox_app(tmp_path)
    async with first.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(first), "the catalogue counts")
        await pilot.press("p")
        await wait_until(pilot, lambda: cell(first, 1, "result") == "confirmed", "#1 confirmed")
        earlier = first.home.query_one(DeliveryTable).deliveries[1]
        await pilot.press("q")
    assert first.return_code == 0

    second = sandbox_app(tmp_path)
    async with second.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: cell(second, 1, "verdict") == "verified", "the history")
        await wait_until(pilot, lambda: connected(second), "the catalogue counts")
        table = second.home.query_one(DeliveryTable)
        assert table.row_count == 1
        assert cell(second, 1, "result") == "confirmed"  # the stored application state
        assert cell(second, 1, "time") == earlier.received_at[11:19]
        assert table.deliveries[1].webhook_id == earlier.webhook_id
        assert table.deliveries[1].bill_id == earlier.bill_id
        # The counts are the event log's, as the table's rows: the earlier delivery too.
        one = "1 verified · 0 dup · 0 rejected\n1 confirmed · 0 drift · 0 unchecked"
        assert text_of(second, WebhookPanel).endswith(one)
        assert not on_screen(second, SANDBOX_HINT)
        # … and this session's deliveries add to them, once each.
        await pilot.press("p")
        await wait_until(pilot, lambda: cell(second, 2, "result") == "confirmed", "#2 confirmed")
        two = "2 verified · 0 dup · 0 rejected\n2 confirmed · 0 drift · 0 unchecked"
        await wait_until(
            pilot, lambda: text_of(second, WebhookPanel).endswith(two), "the tally to count #2"
        )
        assert_no_secret(second, sandbox_secret(second))


async def test_80x24_shows_the_address_counts_and_a_whole_row(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        await pilot.press("p")
        await wait_until(pilot, lambda: cell(app, 1, "result") == "confirmed", "#1 confirmed")
        await wait_until(
            pilot,
            lambda: "1 confirmed · 0 drift · 0 unchecked" in screen_text(app),
            "the tally on screen",
        )
        assert app.runtime.listener is not None
        async with httpx.AsyncClient() as http:
            body = amount_applied_event(100, "ZAR", bill_id="bill_2Ri9L7z6uPSankOvmWLlz")
            wrong = new_webhook_secret()
            await send(http, app.runtime.listener.url, body, [wrong], "msg_narrow")
        await wait_until(pilot, lambda: "1 rejected" in screen_text(app), "the rejection")
        await wait_until(pilot, lambda: table_settled(app), "the columns to fit the rows")
        address = app.runtime.listener.url.removeprefix("http://")
        rows = screen_text(app).splitlines()
        assert len(rows) == 24
        assert all(len(row) == 80 for row in rows)

        def row_with(text: str) -> str:
            found = [row for row in rows if text in row]
            assert len(found) == 1, f"{text!r} is not shown whole exactly once"
            return found[0]

        assert rows[0].startswith(" Sandbox · no API key: a local Moment on this machine")
        # Both panels, side by side, each line whole.
        assert "● Connected to the sandbox" in row_with(address)
        assert "1 verified · 0 dup · 1 rejected" in row_with("38 customers · 29 accounts")
        bills = "Bills 16 unpaid · 10 paid · 5 voided"
        assert "1 confirmed · 0 drift · 0 unchecked" in row_with(bills)
        row = row_with("│ 1  ")
        assert cell(app, 1, "verdict") == "verified"
        for column in ("time", "verdict", "amount", "result"):
            assert cell(app, 1, column) in row
        assert row.startswith("│ 1 ")
        assert row.endswith("│")
        # The widest result, a rejection's reason, is whole too (only "Paid to" may be cut).
        rejected = row_with("│ 2  ")
        assert "rejected  —           401 no_matching_signature" in rejected
        # "Paid to" is cut to what is left, with "…", not run off the edge (where End
        # scrolled the table sideways, hiding # and Time).
        table = app.home.query_one(DeliveryTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        paid_to = str(table.get_cell("1", "target"))
        assert paid_to.endswith("…")
        assert f" {paid_to} │" in row
        for key in ("↑↓ Move", "Enter Open", "p Simulate a payment", "q Quit"):
            assert key in rows[-1]


async def test_the_payment_key_exists_only_on_the_sandbox(tmp_path: Path) -> None:
    for key in (TEST_KEY, LIVE_KEY):
        folder = tmp_path / key[:7]
        folder.mkdir()
        app = keyed_app(key, folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda app=app: connected(app), "the connection")
            await wait_until(
                pilot,
                lambda app=app: "Quit" in screen_text(app).splitlines()[-1],
                "the footer",
            )
            footer = screen_text(app).splitlines()[-1]
            assert "Simulate a payment" not in footer
            assert "p" not in app.screen.active_bindings
            assert "q" in app.screen.active_bindings
            await pilot.press("p")
            await pilot.pause()
            assert "Simulated payments" not in screen_text(app)  # not even a warning
            assert app.home.query_one(DeliveryTable).row_count == 0
            # The empty table's hint fits a real API: no "press p".
            await wait_until(
                pilot, lambda app=app: on_screen(app, API_HINT), "the empty table's hint"
            )
            assert "press p" not in screen_text(app)
            assert_no_secret(app, key)

    (tmp_path / "sandbox").mkdir()
    sandbox = sandbox_app(tmp_path / "sandbox")
    async with sandbox.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(sandbox), "the catalogue counts")
        assert "p" in sandbox.screen.active_bindings
        assert "p Simulate a payment" in screen_text(sandbox).splitlines()[-1]


async def test_a_modal_wraps_long_values_under_the_value() -> None:
    text = (
        "Signature check\n"
        "  signed content  msg_1.1793524650.0123456789abcdefghij\n"
        "   • one two three four five six seven eight nine\n"
        "\n"
        "  a label that is far too long to hang under  value"
    )
    console = Console(width=40, legacy_windows=False)
    with console.capture() as capture:
        console.print(Hanging(text))
    assert [line.rstrip() for line in capture.get().splitlines()] == [
        "Signature check",
        "  signed content  msg_1.1793524650.01234",
        "                  56789abcdefghij",
        "   • one two three four five six seven",
        "     eight nine",
        "",
        # Past half the width, a line wraps under its own indent instead.
        "  a label that is far too long to hang",
        "  under  value",
    ]


async def test_rows_drawn_before_the_columns_widen_are_redrawn(tmp_path: Path) -> None:
    """A frame drawn between adding rows and DataTable's idle-time column sizing must
    not stick: the widened columns show the rows whole."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        for delivery, _ in fixed_deliveries():
            app.moment.state.add_deliveries([delivery])
        app.home.flush()  # rows added; the table sizes its columns when next idle
        early = screen_text(app)  # a frame drawn now, at the old column widths
        assert "│ 1  09:1  verifie  R 1,60  applyi" in early  # cut to the headers' widths
        await wait_until(pilot, lambda: table_settled(app), "the rows drawn whole")
        assert "│ 4  09:17:30  rejected   —           401 no_matching_signature  —" in (
            screen_text(app)
        )


async def test_a_result_longer_than_its_column_widens_it(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        delivery, drift = fixed_deliveries()[4]
        assert drift is not None
        app.moment.state.add_deliveries([delivery])
        await wait_until(pilot, lambda: cell(app, 5, "result") == "applying…", "#5 applying")
        app.moment.state.add_applications([drift])
        await wait_until(pilot, lambda: cell(app, 5, "result") == "drift (1 field)", "#5 drift")
        await wait_until(pilot, lambda: table_settled(app), "the row drawn whole")
        assert "│ 5  09:18:05  verified  R 250.00  drift (1 field)  bcus_" in screen_text(app)


async def test_simulated_payments_vary_and_the_summary_moves_within_a_few_presses(
    tmp_path: Path,
) -> None:
    """``p`` picks a bill at random (seeded here), and pays it in full, in part, or
    through its account or customer: the Moment panel changes within three presses."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        assert bill_counts(app) == (16, 10, 5)
        for seq in (1, 2, 3):
            await pilot.press("p")
            await wait_until(
                pilot, lambda seq=seq: cell(app, seq, "result") == "confirmed", f"#{seq} confirmed"
            )
        table = app.home.query_one(DeliveryTable)
        targets = [table.deliveries[seq].target() or ("", "") for seq in (1, 2, 3)]
        # PAYMENT_SEED's first three: a bill, an account, a customer.
        assert [kind for kind, _ in targets] == ["bill", "account", "customer"]
        # Each named as the event pane names it: an account and its customer; a customer.
        assert app.runtime.client is not None
        account = await app.runtime.client.get_account(targets[1][1])
        owner = await app.runtime.client.get_customer(account.customer_id)
        customer = await app.runtime.client.get_customer(targets[2][1])
        for seq, named in ((2, f"{account.name} · {owner.name}"), (3, str(customer.name))):
            await wait_until(
                pilot, lambda seq=seq, named=named: shown_as(cell(app, seq, "target"), named), named
            )
        # Two bills paid off (the first in full, one more through its holder).
        await wait_until(pilot, lambda: bill_counts(app) == (14, 12, 5), "the bills paid off")
        await wait_until(
            pilot, lambda: on_screen(app, "Bills 14 unpaid · 12 paid · 5 voided"), "the counts"
        )
        assert app.runtime.client is not None
        first = await app.runtime.client.get_bill(targets[0][1])
        assert first.status is BillStatus.PAID


def test_the_detail_shows_amounts_as_money() -> None:
    """Every amount a change, an allocation or a drift names is money, not minor units."""
    by_seq = {delivery.seq: (delivery, application) for delivery, application in fixed_deliveries()}
    bill = describe(*by_seq[1]).splitlines()
    assert "    amount_paid       R 0.00 → R 1,603.50" in bill
    assert "    amount_remaining  R 6,414.00 → R 4,810.50" in bill
    assert "  amount    R 1,603.50 (160350 minor units)" in bill  # the raw value, once
    account = describe(*by_seq[2]).splitlines()
    assert "    balance  R 1,200.00 → R 750.00" in account
    drift = describe(*by_seq[5]).splitlines()
    assert "    balance  R 800.00 → R 550.00" in drift
    assert any(
        line.endswith("balance ours R 550.00, server R 300.00 (server's copy kept)")
        for line in drift
    )


def numbered_deliveries(count: int) -> list[Delivery]:
    """``count`` copies of the first fixed delivery, numbered #1…#count."""
    delivery, _ = fixed_deliveries()[0]
    return [
        dataclasses.replace(delivery, seq=n, webhook_id=f"msg_{n}") for n in range(1, count + 1)
    ]


async def test_after_a_resize_the_highlighted_row_is_still_in_view(tmp_path: Path) -> None:
    """A presenter moves to a row at 120x40, the window shrinks to 80x24: the row
    Enter would open is on screen, highlighted, not scrolled away."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        many = numbered_deliveries(40)
        app.moment.state.add_deliveries(many)
        app.home.flush()
        table = app.home.query_one(DeliveryTable)
        await wait_until(pilot, lambda: table.row_count == 40, "40 rows")
        table.move_cursor(row=27)  # "28", near the bottom of the 120x40 view
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await wait_until(
            pilot,
            lambda: any(line.startswith("│ 28 ") for line in screen_text(app).splitlines()),
            "row 28 on screen after the resize",
        )
        assert table.cursor_row == 27


async def test_a_burst_held_back_by_the_redraw_limit_is_drawn_without_another_delivery(
    tmp_path: Path,
) -> None:
    """Rows of a burst wait for the once-a-second redraw; the last burst must then be
    drawn by itself, not sit unseen until some later delivery asks for a redraw."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        rows = numbered_deliveries(45)
        table = app.home.query_one(DeliveryTable)
        app.moment.state.add_deliveries(rows[:5])
        app.home.flush()
        assert table.row_count == 5
        app.moment.state.add_deliveries(rows[5:])  # 40 more at once, within the same second
        app.home.flush()
        assert table.row_count == 5  # held back
        await wait_until(pilot, lambda: table.row_count == 45, "the held-back burst drawn")


async def test_the_palette_offers_the_payment_on_the_sandbox_only(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path / "sandbox")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        await pilot.press("ctrl+p")
        await pilot.press(*"simulate")
        await wait_until(pilot, lambda: on_screen(app, "Simulate a payment"), "the command")
        await pilot.press("enter")
        table = app.home.query_one(DeliveryTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the payment's delivery")
    keyed = keyed_app(TEST_KEY, tmp_path)
    async with keyed.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(keyed), "the connection")
        titles = [c.title for c in keyed.get_system_commands(keyed.screen)]
        assert "Simulate a payment" not in titles
        assert len(titles) > 3  # Textual's own commands are all still there


def test_paid_to_is_cut_by_terminal_cells_not_characters() -> None:
    """A signed event may name an object with wide characters: two cells each."""
    from rich.cells import cell_len

    from moment_tui.ui.widgets.delivery_table import _short

    assert _short("bill_" + "漢" * 20, 12) == "bill_漢漢漢…"
    assert cell_len(_short("bill_" + "漢" * 20, 12)) == 12
    assert _short("bill_abcdefghijklmn", 12) == "bill_abcdef…"
    assert _short("bill_abc", 12) == "bill_abc"


async def test_rows_that_arrive_below_a_reader_are_counted_under_the_box(tmp_path: Path) -> None:
    """Reading an older delivery, the cursor stays put as new ones arrive below it; the
    box says how many, until the cursor reaches the newest."""
    from moment_tui.ui.widgets.delivery_list import DeliveryList

    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        rows = numbered_deliveries(8)
        table = app.home.query_one(DeliveryTable)
        box = app.home.query_one(DeliveryList)
        app.moment.state.add_deliveries(rows[:5])
        app.home.flush()
        await wait_until(pilot, lambda: table.row_count == 5, "five rows")
        table.move_cursor(row=1)
        await pilot.pause()
        app.moment.state.add_deliveries(rows[5:])
        app.home.flush()
        await wait_until(pilot, lambda: box.border_subtitle == "3 new below ↓", "the count")
        assert table.cursor_row == 1  # not pulled down
        await wait_until(pilot, lambda: on_screen(app, "3 new below ↓"), "the count drawn")
        table.move_cursor(row=table.row_count - 1)
        await wait_until(pilot, lambda: box.border_subtitle == "", "the count cleared")
