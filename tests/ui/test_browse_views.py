"""The browse views against the real sandbox: switching views by key and palette,
filtering, sorting, the status filter, Go to (known, fetched, unknown), drilling down
and back, the live event pane, help, and a payment updating a bills row in place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.config import Settings
from moment_tui.runtime import RuntimeOptions
from moment_tui.sandbox.server import SandboxConfig, SandboxThread
from moment_tui.secrets import Secret
from moment_tui.store.browse import Filter
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.modals.go_to import GoTo
from moment_tui.ui.modals.keys import KeysHelp
from moment_tui.ui.modals.simulate_payment import SimulatePayment
from moment_tui.ui.screens.bills import BillsScreen
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.widgets.breadcrumb import Breadcrumb
from moment_tui.ui.widgets.event_pane import EventPane
from moment_tui.ui.widgets.lazy_table import LazyTable
from tests.ui.ui_helpers import (
    SEED_TODAY,
    SEEDED,
    TEST_KEY,
    assert_no_secret,
    on_screen,
    part_payments,
    sandbox_app,
    screen_text,
    started,
    wait_until,
)

SIZE = (120, 40)


# --- helpers ----------------------------------------------------------------------------


def table(app: MomentApp) -> LazyTable:
    return app.screen.query_one(LazyTable)


def shown_rows(app: MomentApp) -> list[dict[str, str]]:
    """The loaded rows of the current list, as plain cell texts, in order."""
    t = table(app)
    rows = []
    for index in range(t.row_count):
        row = t.get_row(index)
        if row is None:
            break
        rows.append({key: str(value) for key, value in row.cells.items()} | {"key": row.key})
    return rows


def listed(app: MomentApp, mode: str, count: int) -> bool:
    screen = app.screen
    return (
        app.current_mode == mode
        and isinstance(screen, ListScreen)
        and screen.count == count
        and len(shown_rows(app)) == min(count, table(app).row_count)
    )


async def show(pilot: Pilot[Any], key: str, mode: str, count: int) -> MomentApp:
    app = await started(pilot)
    await pilot.press(key)
    await wait_until(pilot, lambda: listed(app, mode, count), f"{count} rows in {mode}")
    return app


def trail(app: MomentApp) -> str:
    return " › ".join(app.screen.query_one(Breadcrumb).trail)


# --- switching views ----------------------------------------------------------------------


async def test_keys_1_to_5_switch_views_and_the_breadcrumb_follows(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "2", "customers", SEEDED["customer"])
        assert trail(app) == "Customers"
        await pilot.press("3")
        await wait_until(pilot, lambda: listed(app, "accounts", SEEDED["account"]), "accounts")
        await pilot.press("4")
        await wait_until(pilot, lambda: listed(app, "bills", SEEDED["bill"]), "bills")
        assert on_screen(app, f"{SEEDED['bill']} bills")
        await pilot.press("5")
        await wait_until(pilot, lambda: app.current_mode == "requests", "the requests view")
        await pilot.press("1")
        await wait_until(pilot, lambda: app.current_mode == "home", "home")
        assert "Home" in screen_text(app).splitlines()[1]


async def test_each_view_is_a_palette_entry_by_its_name(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Bills")
        await wait_until(pilot, lambda: "Bills" in screen_text(app), "the palette's match")
        await pilot.press("enter")
        await wait_until(pilot, lambda: listed(app, "bills", SEEDED["bill"]), "bills by palette")


async def test_go_to_is_in_the_palette_and_help_names_it_and_the_filter_key(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, KeysHelp), "the keys")
        text = screen_text(app)
        for wanted in ("Go to", "/", "filter", "status", "sort", "j / k"):
            assert wanted in text, wanted
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"Go to")
        await wait_until(pilot, lambda: "Open a customer, account or bill" in screen_text(app), "")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, GoTo), "the Go to prompt")


# --- lists: filter, sort, status ------------------------------------------------------------


async def test_slash_and_the_text_after_it_in_one_burst_all_go_to_the_filter(
    tmp_path: Path,
) -> None:
    """Keys as a terminal delivers them, nothing waited for in between (a fast typist,
    tmux send-keys): "/" used to move the focus only after the keys behind it had gone
    to the table, where the "n" of "nomvula" opened New bill. And in the filter, "/"
    is text."""
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        screen = app.screen
        for character in "/nomvula/":
            key = "slash" if character == "/" else character
            app.post_message(events.Key(key, character))
        field = screen.query_one("#filter", Input)
        await wait_until(pilot, lambda: field.value == "nomvula/", "the whole text filtered")
        assert app.screen is screen  # no form opened on the way
        assert app.focused is field


async def test_g_the_reference_and_enter_typed_at_once_open_the_bill(tmp_path: Path) -> None:
    """Keys as a terminal delivers them, in one burst: "g" pushes Go to as the app
    reads it, so the reference and Enter after it reach its field; and "g" typed into
    a field is text."""
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        reference = "INV-2026-0022"
        for character in f"g{reference}\r":
            key = "enter" if character == "\r" else character
            app.post_message(events.Key(key, character))
        await wait_until(
            pilot,
            lambda: (
                type(app.screen).__name__ == "BillDetail"
                and getattr(app.screen, "loaded", None) is not None
            ),
            "the bill's detail",
        )
        assert app.screen.loaded.obj.external_reference == reference  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.home, "back home")
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.focused, Input), "the Go to prompt")
        await pilot.press("g", "x")
        prompt = app.focused
        assert isinstance(prompt, Input)
        await wait_until(pilot, lambda: prompt.value == "gx", "g typed as text")


async def test_filter_as_you_type_and_escape_clears_it(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "2", "customers", SEEDED["customer"])
        first = shown_rows(app)[0]
        name = first["name"]
        expected = await app.moment.queries.customer_ids(
            app.moment.queries.filter(text=name[:5]), None
        )
        await pilot.press("slash", *name[:5])
        await wait_until(pilot, lambda: listed(app, "customers", len(expected)), "the filter")
        assert [row["key"] for row in shown_rows(app)] == expected  # by name, as the view
        assert all(name[:5].lower() in row["name"].lower() for row in shown_rows(app))
        assert on_screen(app, f"matching “{name[:5]}”")
        await pilot.press(*"zzzq")  # matches nothing: the list says so, not "none known"
        await wait_until(pilot, lambda: listed(app, "customers", 0), "nothing matches")
        await wait_until(
            pilot, lambda: on_screen(app, "No customers match the filter."), "why it is empty"
        )
        assert not on_screen(app, "known here yet")
        await pilot.press("escape")  # clears the filter, back to the list
        await wait_until(pilot, lambda: listed(app, "customers", SEEDED["customer"]), "all again")
        assert table(app).has_focus


async def test_escape_on_a_filtered_list_shows_the_whole_list_again(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "2", "customers", SEEDED["customer"])
        name = shown_rows(app)[0]["name"]
        await pilot.press("slash", *name, "enter")  # filtered, and back on the list
        await wait_until(pilot, lambda: listed(app, "customers", 1), "one customer")
        assert table(app).has_focus
        await pilot.press("escape")
        await wait_until(pilot, lambda: listed(app, "customers", SEEDED["customer"]), "all again")
        filter_field = app.screen.query_one("#filter", Input)
        assert filter_field.value == ""
        assert not filter_field.display
        assert not on_screen(app, "matching")
        await pilot.press("escape")  # unfiltered, the view's first screen: nothing to leave
        assert isinstance(app.screen, ListScreen)
        assert listed(app, "customers", SEEDED["customer"])


async def test_sort_by_the_next_column_and_reverse(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "2", "customers", SEEDED["customer"])
        names = [row["name"] for row in shown_rows(app)]
        assert names == sorted(names, key=str.casefold)  # by name at first
        await pilot.press("s")  # the next column: the reference
        await wait_until(pilot, lambda: "Reference ▲" in screen_text(app), "sorted by reference")
        await wait_until(
            pilot,
            lambda: (
                [r["reference"] for r in shown_rows(app)]
                == sorted(r["reference"] for r in shown_rows(app))
            ),
            "rows by reference",
        )
        await pilot.press("S")
        await wait_until(
            pilot,
            lambda: (
                [r["reference"] for r in shown_rows(app)]
                == sorted((r["reference"] for r in shown_rows(app)), reverse=True)
            ),
            "rows by reference, reversed",
        )
        assert "Reference ▼" in screen_text(app)


async def test_f_cycles_the_bill_status_and_overdue_is_unpaid_past_its_due_date(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        await pilot.press("f")
        await wait_until(pilot, lambda: listed(app, "bills", SEEDED["bills_unpaid"]), "unpaid")
        assert {row["status"] for row in shown_rows(app)} == {"unpaid", "overdue"}
        await pilot.press("f")  # overdue
        overdue = await app.moment.queries.bill_ids(
            app.moment.queries.filter(status="overdue"), None
        )
        assert 0 < len(overdue) < SEEDED["bills_unpaid"]
        await wait_until(pilot, lambda: listed(app, "bills", len(overdue)), "overdue")
        assert all("⚠" in row["due_date"] for row in shown_rows(app))
        # Called what the filter, the customer's tables and the bill itself call it.
        assert {row["status"] for row in shown_rows(app)} == {"overdue"}
        assert all(row["due_date"][:10] < SEED_TODAY.isoformat() for row in shown_rows(app))
        await pilot.press("f")
        await wait_until(pilot, lambda: listed(app, "bills", SEEDED["bills_paid"]), "paid")
        await pilot.press("f")
        await wait_until(pilot, lambda: listed(app, "bills", SEEDED["bills_voided"]), "voided")
        # Nothing is owed on a voided bill: no figure under Remaining.
        assert {(r["status"], r["amount_remaining"]) for r in shown_rows(app)} == {("voided", "—")}
        await pilot.press("f")
        await wait_until(pilot, lambda: listed(app, "bills", SEEDED["bill"]), "all bills")


async def test_j_and_k_move_like_the_arrows(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        assert table(app).cursor_row == 0
        await pilot.press("j", "j", "down")
        assert table(app).cursor_row == 3
        await pilot.press("k", "up")
        assert table(app).cursor_row == 1


# --- drilling down, Go to -------------------------------------------------------------------


async def test_enter_opens_the_bill_and_escape_comes_back(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        await pilot.press("j")
        chosen = shown_rows(app)[1]
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "the detail")
        await wait_until(pilot, lambda: trail(app) == f"Bills › {chosen['reference']}", "the trail")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "back to the list")
        assert table(app).cursor_row == 1  # where the reader left it


async def test_the_views_key_again_goes_back_to_its_list_from_deep_in_it(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        await pilot.press("j", "j")
        chosen = shown_rows(app)[2]
        await pilot.press("enter")
        await wait_until(pilot, lambda: trail(app) == f"Bills › {chosen['reference']}", "the bill")
        await pilot.press("o")  # its customer
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CustomerDetail", "customer")
        await wait_until(pilot, lambda: len(app.screen_stack) == 3, "three deep")
        await pilot.press("4")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "the list again")
        assert len(app.screen_stack) == 1
        assert app.current_mode == "bills"
        assert trail(app) == "Bills"
        assert table(app).cursor_row == 2  # where the reader left it
        await pilot.press("4")  # on the list already: nothing happens
        assert isinstance(app.screen, ListScreen)
        assert len(app.screen_stack) == 1


async def go_to(pilot: Pilot[Any], app: MomentApp, text: str) -> None:
    await pilot.press("g")
    await wait_until(pilot, lambda: isinstance(app.screen, GoTo), "the Go to prompt")
    await pilot.press(*text, "enter")


async def test_go_to_by_id_and_by_external_reference(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        queries = app.moment.queries
        [bill_id] = (await queries.bill_ids(queries.filter(), None))[:1]
        bill = (await queries.bill_rows([bill_id]))[bill_id]
        await go_to(pilot, app, bill_id)
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "by id")
        await wait_until(pilot, lambda: bill.external_reference in trail(app), "its name")
        await pilot.press("escape")
        customers = await queries.customer_ids(Filter(), None)
        customer = (await queries.customer_rows(customers[:1]))[customers[0]]
        await go_to(pilot, app, customer.external_reference)
        await wait_until(
            pilot, lambda: type(app.screen).__name__ == "CustomerDetail", "by reference"
        )
        await pilot.press("escape")
        await go_to(pilot, app, "NO-SUCH-THING-42")
        await wait_until(
            pilot, lambda: on_screen(app, "no customer, account or bill"), "a clear refusal"
        )
        assert isinstance(app.screen, GoTo)  # still there, what was typed kept
        assert app.screen.query_one("#go-to-input").value == "NO-SUCH-THING-42"  # type: ignore[attr-defined]


@pytest.fixture
def real_api() -> Iterator[str]:
    """A second sandbox, started on its own with nothing in it: "the real Moment"."""
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    yield url
    thread.stop()


def keyed_app(tmp_path: Path, url: str) -> MomentApp:
    settings = Settings(
        api_key=Secret(TEST_KEY), api_url=url, config_dir=tmp_path, data_dir=tmp_path
    )
    options = RuntimeOptions(
        listener_port=0,
        workspace=tmp_path / "ws.sqlite3",
        sandbox_db=tmp_path / "unused.sqlite3",
        retry=RetryPolicy(max_attempts=1),
        seed_today=SEED_TODAY,
    )
    return create_app(settings, options)


@pytest.fixture
async def moment(real_api: str) -> AsyncIterator[MomentClient]:
    async with MomentClient(TEST_KEY, base_url=real_api) as client:
        yield client


async def test_go_to_a_reference_typed_in_another_case_opens_the_one_that_differs_only_so(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        queries = app.moment.queries
        [bill_id] = (await queries.bill_ids(queries.filter(), None))[:1]
        bill = (await queries.bill_rows([bill_id]))[bill_id]
        typed = bill.external_reference.lower()
        assert typed != bill.external_reference
        await go_to(pilot, app, typed)
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "the bill")
        await wait_until(pilot, lambda: bill.external_reference in trail(app), "its name")
        notes = [n.message for n in app._notifications]
        assert f"No {typed!r}, exactly: opened {bill.external_reference}." in notes


async def test_go_to_fetches_what_the_catalogue_does_not_know_and_keeps_it(
    tmp_path: Path, real_api: str, moment: MomentClient
) -> None:
    async with keyed_app(tmp_path, real_api).run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, MomentApp)
        await wait_until(pilot, lambda: on_screen(app, "● Connected"), "connected")
        created = await moment.request(
            "POST",
            "/billing/bills",
            json={
                "external_reference": "INV-ELSEWHERE-1",
                "currency": "ZAR",
                "amount_due": 12_345,
                "customer": {"external_reference": "UCR-ELSEWHERE", "name": "Lindiwe Far"},
            },
        )
        bill_id = created.body["id"]
        await pilot.press("4")
        await wait_until(pilot, lambda: listed(app, "bills", 0), "an empty catalogue")
        assert on_screen(app, "Moment cannot list bills")
        await go_to(pilot, app, "INV-ELSEWHERE-1")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "fetched")
        await wait_until(pilot, lambda: on_screen(app, "Lindiwe Far"), "its customer's name")
        assert await app.moment.queries.entry("bill", bill_id) is not None  # kept
        await pilot.press("escape")
        await wait_until(pilot, lambda: listed(app, "bills", 1), "the list has it now")
        assert shown_rows(app)[0]["reference"] == "INV-ELSEWHERE-1"
        assert_no_secret(app, TEST_KEY)


# --- live ---------------------------------------------------------------------------------


async def test_a_payment_updates_the_bills_row_in_place_and_shows_in_the_pane(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4", "bills", SEEDED["bill"])
        page = await app.moment.runtime.client.list_page(  # type: ignore[union-attr]
            "bill", limit=1, filters={"status": "unpaid"}
        )
        target = page.items[0]
        index = next(i for i, row in enumerate(shown_rows(app)) if row["key"] == target.id)
        before = shown_rows(app)[index]
        await pilot.press("j")  # the cursor is on row 1: it must stay there
        said = await app.moment.simulate_payment()
        assert said is None
        await wait_until(
            pilot,
            lambda: shown_rows(app)[index]["amount_remaining"] != before["amount_remaining"],
            "the row updated in place",
        )
        assert shown_rows(app)[index]["key"] == target.id  # no row moved
        assert table(app).cursor_row == 1
        pane = app.screen.query_one(EventPane)
        await wait_until(pilot, lambda: pane.row_count == 1, "the delivery in the pane")
        assert not pane.has_focus
        assert table(app).has_focus  # a new row never takes the focus
        await wait_until(
            pilot, lambda: on_screen(app, target.external_reference), "named in the pane"
        )


async def test_p_on_a_list_pays_the_row_under_the_cursor(tmp_path: Path) -> None:
    """``p`` on Bills offers the bill under the cursor (then its account and customer);
    Enter pays what remains, and that row, not another, turns paid."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4", "bills", SEEDED["bill"])
        rows = shown_rows(app)
        index = next(i for i, row in enumerate(rows) if i > 0 and row["status"] == "unpaid")
        await pilot.press(*["j"] * index)
        await wait_until(pilot, lambda: table(app).cursor_row == index, "the cursor on it")
        bill = rows[index]["key"]
        reference = rows[index]["reference"]
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, SimulatePayment), "the dialog")
        dialog = app.screen
        assert isinstance(dialog, SimulatePayment)
        assert (dialog.targets[0].kind, dialog.targets[0].id) == ("bill", bill)
        kinds = [t.kind for t in dialog.targets]
        assert kinds in (["bill", "account", "customer"], ["bill", "customer"])
        assert on_screen(app, f"bill {reference}")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, BillsScreen) and shown_rows(app)[index]["status"] == "paid"
            ),
            "the row paid",
        )
        assert shown_rows(app)[index]["key"] == bill
        assert app.moment.runtime.client is not None
        assert (await app.moment.runtime.client.get_bill(bill)).amount_remaining == 0
        others = [r for i, r in enumerate(shown_rows(app)) if i != index]
        assert [r["status"] for r in others] == [r["status"] for r in rows if r is not rows[index]]


async def test_e_hides_and_shows_the_event_pane(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "3", "accounts", SEEDED["account"])
        pane = app.screen.query_one(EventPane)
        assert pane.display
        await pilot.press("e")
        assert not pane.display
        await pilot.press("e")
        assert pane.display


async def test_at_80x24_the_list_and_the_pane_both_fit(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=(80, 24)) as pilot:
        app = await show(pilot, "4", "bills", SEEDED["bill"])
        lines = screen_text(app).splitlines()
        assert len(lines) == 24
        header = lines[3]
        for column in ("Reference", "Customer", "Remaining", "Status", "Due date"):
            assert column in header
        assert any("Live deliveries" in line for line in lines)
        assert all(len(line) <= 80 for line in lines)
        assert lines[1].rstrip().endswith(" 4 Bills  5 Requests")


def test_the_views_keys_narrow_to_this_views_name_then_to_the_keys() -> None:
    """With no room for every view's name, the current one's stays in full and the
    others show their keys (names were cut to 'Cust', 'Acco', 'Requ')."""
    crumb = Breadcrumb()
    titles = ("Home", "Customers", "Accounts", "Bills", "Requests")
    crumb.views = [(str(i), t, t == "Bills") for i, t in enumerate(titles, 1)]
    assert crumb._tabs(80).plain == " 1 Home  2 Customers  3 Accounts  4 Bills  5 Requests "
    assert crumb._tabs(40).plain == " 1  2  3  4 Bills  5 "
    assert crumb._tabs(16).plain == " 1  2  3  4  5 "
    assert crumb._tabs(10).plain == ""


async def test_the_pane_inspects_a_delivery_and_links_to_its_bill(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4", "bills", SEEDED["bill"])
        assert await app.moment.simulate_payment() is None
        pane = app.screen.query_one(EventPane)
        await wait_until(pilot, lambda: pane.row_count == 1, "the delivery in the pane")
        await wait_until(pilot, lambda: on_screen(app, "confirmed"), "its result")
        [delivery] = pane.deliveries.values()
        pane.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DeliveryDetail", "inspector")
        assert on_screen(app, "Delivery #1 · verified")
        # Its links, each whole on a line of its own, even at 80x24: a key, a kind, and
        # the name or reference the pane knows it by (the text above: both, with the id).
        links = app.screen.links  # type: ignore[attr-defined]
        assert list(links) == ["bill", "account", "customer"]
        names = {links[k]: pane.names[links[k]] for k in links}
        assert names[links["bill"]].startswith("INV-")
        await pilot.resize_terminal(80, 24)
        shown = names[links["customer"]]
        await wait_until(pilot, lambda: on_screen(app, shown), "the links at 80x24")
        lines = screen_text(app).splitlines()
        for key, kind in (("b", "bill"), ("a", "account"), ("u", "customer")):
            label = names[links[kind]]  # not followed by its id: the line stays short
            assert any(f"{key} {kind.ljust(8)}  {label} " in line for line in lines), kind
        assert on_screen(app, f"paid to   bill {names[links['bill']]} · {links['bill']}")
        await pilot.press("enter")  # the first link: the bill it paid
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "the bill")
        assert delivery.bill_id is not None
        assert app.screen.object_id == delivery.bill_id  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "back to bills")


async def test_a_rejected_delivery_shows_its_reason_in_the_pane(tmp_path: Path) -> None:
    from moment_tui.webhooks.outbound import amount_applied_event, send
    from moment_tui.webhooks.signing import new_webhook_secret

    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await show(pilot, "2", "customers", SEEDED["customer"])
        started = app.moment.state.status.started
        assert started is not None
        assert started.listener_url is not None
        event = amount_applied_event(100, "ZAR", bill_id="bill_NotOurs0000000001")
        async with httpx.AsyncClient() as http:  # signed with a secret the console lacks
            await send(http, started.listener_url, event, [new_webhook_secret()], "msg_wrong1")
        pane = app.screen.query_one(EventPane)
        await wait_until(pilot, lambda: pane.row_count == 1, "the rejected delivery")
        await wait_until(
            pilot, lambda: on_screen(app, "rejected", "401 no_matching_signature"), "its reason"
        )
