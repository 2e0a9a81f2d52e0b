"""Pictures of every view, pinned as SVG snapshots (tests/ui/__snapshots__/), most at
both 80x24 and 120x40.

Regenerate after a deliberate change with ``pytest tests/ui/test_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.

What makes the pictures stable:

* the sandbox is seeded for a fixed ``SEED_TODAY``: its ids, names, amounts and counts
  never change, and the console's "today" (overdue, aging) is that day too;
* the listener binds a FIXED port, ``SNAPSHOT_PORT``, because its address is on
  screen. This assumes nothing else on the machine uses 127.0.0.1:28765 while the
  snapshot tests run (each test checks first, and says so if it is taken). The port
  is below Linux's ephemeral range (32768-60999), so no port-0 listener or outgoing
  connection is handed it by chance. The tests run one after another, each app
  closing its listener before the next starts;
* time is pinned (the ``clock`` fixture): ``now_iso``, which stamps when the catalogue
  learned or updated an object and when a delivery was received, applied and
  checked, returns ``clock.now`` in every module that imported it (``LEARNED_AT``,
  then ``PAID_AT`` once a test pays); the detail timelines show those stamps in local
  time, so the time zone is UTC;
* deliveries carry wall-clock times and random ids, so the delivery pictures use fixed
  ``Delivery``/``Application`` values (``fixed_deliveries``), fed through the path the
  runtime uses: the console state's ``add_deliveries`` and ``add_applications``. The
  one live payment (``test_bill_paid_live``) is real: the scripted rng pays the first
  unpaid bill in full, every stamp it makes comes from the pinned clock, and its random
  ids are not on that screen;
* the Requests view shows fixed request records (``fixed_requests``): the state
  watches a log holding only them instead of the client's, whose times and latencies
  are real;
* the payments sparkline is drawn against ``ConsoleState.clock``: amounts applied in
  the last 30 s all land in its newest slice, whatever the time;
* a text field's cursor would blink: it is made steady (``cursor_blink = False``);
* every picture is taken only once the screen shows what it is of (each test waits
  for that content to be drawn), and then has not changed, colours included, for
  ``STILL_SECONDS`` (``wait_still``): a flash, a highlight or a footer still being
  recomposed is waited out.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from moment_tui.api.kinds import ObjectKind
from moment_tui.api.models import BillStatus
from moment_tui.store import catalogue
from moment_tui.ui.app import MomentApp
from moment_tui.ui.modals.delivery_detail import DeliveryDetail
from moment_tui.ui.modals.go_to import GoTo
from moment_tui.ui.modals.keys import KeysHelp
from moment_tui.ui.navigate import open_detail
from moment_tui.ui.screens.account_detail import AccountDetail
from moment_tui.ui.screens.bill_detail import BillDetail
from moment_tui.ui.screens.customer_detail import CustomerDetail
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_list import DeliveryList
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.event_pane import EventPane
from moment_tui.ui.widgets.glance import GlancePanel
from moment_tui.ui.widgets.payments_spark import PaymentsSpark
from moment_tui.ui.widgets.webhook_panel import WebhookPanel
from moment_tui.webhooks import confirm, listener, reconcile
from tests.ui.ui_helpers import (
    BILL,
    LIVE_KEY,
    SEEDED,
    TEST_KEY,
    assert_no_secret,
    cell,
    fixed_deliveries,
    footer_drawn,
    form_opened,
    full_payments,
    keyed_app,
    list_still,
    nested_bill_refused,
    on_screen,
    requests_shown,
    sandbox_app,
    shows,
    started,
    table_settled,
    text_of,
    wait_still,
    wait_until,
)
from tests.ui.ui_helpers import (
    detail_shown as detail_drawn,
)
from tests.ui.ui_helpers import (
    list_shown as list_drawn,
)

SNAPSHOT_PORT = 28765
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
LEARNED_AT = "2026-11-01T09:00:00.000Z"  # the catalogue's sync, and any lookup
PAID_AT = "2026-11-01T09:14:03.512Z"  # the live payment: received, applied, checked
CUSTOMER_REF = "UCR100002"  # Naledi Dlamini: an account, bills paid, part paid, overdue
ACCOUNT_REF = "UAR1000020"  # her Device plan, with those four bills
BILL_REF = "INV-2026-0022"  # half paid, 14 days overdue
UNKNOWN_REF = "INV-2099-0001"  # nothing has this reference
Snap = Callable[..., bool]
Before = Callable[[Pilot[Any]], Awaitable[None]]


# --- fixtures -------------------------------------------------------------------------


class Clock:
    """``now_iso``, pinned: the same instant until a test moves ``now`` on."""

    def __init__(self, now: str) -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


@pytest.fixture(autouse=True)
def snapshot_port_is_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", SNAPSHOT_PORT))
        except OSError as exc:  # pragma: no cover - depends on the machine
            pytest.fail(f"the snapshot tests need 127.0.0.1:{SNAPSHOT_PORT} free: {exc}")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Every ``now_iso`` the console calls, pinned; local time is UTC."""
    pinned = Clock(LEARNED_AT)
    # catalogue's own callers (and queries/runtime, which import it when they call it)
    # look the name up in catalogue; these modules imported it at their top.
    for module in (catalogue, reconcile, confirm, listener):
        monkeypatch.setattr(module, "now_iso", pinned)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield pinned
    monkeypatch.undo()
    time.tzset()


# --- fixed data -----------------------------------------------------------------------


# --- waiting for a view to be drawn -----------------------------------------------------


async def steady(pilot: Pilot[Any]) -> None:
    """The footer drawn, then nothing on screen changing any more."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    await wait_until(pilot, lambda: footer_drawn(app), "the footer")
    await wait_still(pilot)
    assert_no_secret(app)


async def home_drawn(pilot: Pilot[Any]) -> MomentApp:
    """Home with everything it reads: both panels, the glance of the synced catalogue,
    the payments box, the delivery box's hint."""
    app = await started(pilot)
    home = app.home
    address = f"127.0.0.1:{SNAPSHOT_PORT}/webhooks/moment"
    await wait_until(pilot, lambda: text_of(app, WebhookPanel).startswith(address), address)
    # What the picture shows, not just what the widgets hold: repaints come later.
    counts = text_of(app, ConnectionPanel).splitlines()
    books = text_of(app, WebhookPanel).splitlines()
    await wait_until(pilot, lambda: on_screen(app, *counts, *books), "the panels drawn")
    glance = home.query_one(GlancePanel)
    final = await app.moment.queries.glance()  # nothing changes the catalogue after this
    await wait_until(pilot, lambda: glance.glance == final, "the glance of the synced catalogue")
    await wait_until(
        pilot,
        lambda: (
            on_screen(app, glance.drawing().title)
            and all(shows(app, glance, line) for line in glance.drawing().plain.splitlines())
        ),
        "the glance drawn",
    )
    spark = home.query_one(PaymentsSpark)
    label = spark.query_one("#payments-total", Static)
    total = str(label.content)
    await wait_until(pilot, lambda: shows(app, label, total), "the payments box drawn")
    hint = home.query_one(DeliveryList).hint
    await wait_until(pilot, lambda: on_screen(app, hint), "the empty table's hint")
    return app


async def show_list(pilot: Pilot[Any], key: str, mode: str, count: int) -> MomentApp:
    app = await started(pilot)
    await pilot.press(key)
    await wait_until(pilot, lambda: list_drawn(app, mode, count), f"{count} rows in {mode}")
    return app


DETAILS: dict[ObjectKind, type[DetailScreen]] = {
    "customer": CustomerDetail,
    "account": AccountDetail,
    "bill": BillDetail,
}


async def open_by_reference(pilot: Pilot[Any], kind: ObjectKind, reference: str) -> None:
    """From Home, the detail of the seeded object with this external reference."""
    app = await started(pilot)
    entry = await app.moment.queries.entry(kind, reference)
    assert entry is not None, reference
    open_detail(app, app.moment, kind, entry.obj.id)
    await wait_until(
        pilot, lambda: detail_drawn(app, DETAILS[kind], entry.obj.id), f"the {kind} {reference}"
    )
    await steady(pilot)


async def deliveries_arrive(pilot: Pilot[Any], seqs: tuple[int, ...] | None = None) -> None:
    """The fixed deliveries (those numbered ``seqs``; all by default) arrive as the
    runtime reports them."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    pairs = [(d, a) for d, a in fixed_deliveries() if seqs is None or d.seq in seqs]
    app.moment.state.add_deliveries([delivery for delivery, _ in pairs])
    app.moment.state.add_applications([a for _, a in pairs if a is not None])


# --- Home -------------------------------------------------------------------------------


async def settled(pilot: Pilot[Any]) -> None:
    await home_drawn(pilot)
    await steady(pilot)


async def with_deliveries(pilot: Pilot[Any]) -> None:
    """Home, then the fixed deliveries arrive as the runtime reports them."""
    app = await home_drawn(pilot)
    await deliveries_arrive(pilot)
    pairs = fixed_deliveries()
    table = app.home.query_one(DeliveryTable)
    await wait_until(
        pilot,
        lambda: (
            table.row_count == len(pairs)
            and all(cell(app, a.delivery_seq, "result").startswith(a.state) for _, a in pairs if a)
        ),
        "the fixed deliveries and their results",
    )
    # Whom each paid, looked up in the catalogue after the rows came (ids it does not
    # know stay ids).
    await wait_until(pilot, lambda: not table.wanted_names(), "the names looked up")
    await wait_until(
        pilot,
        lambda: on_screen(
            app, "3 verified · 1 dup · 1 rejected", "2 confirmed · 1 drift · 0 unchecked"
        ),
        "the tally drawn",
    )
    spark = app.home.query_one(PaymentsSpark)
    applied = "R 2,303.50 applied"  # 1,603.50 + 450.00 + 250.00, in the newest slice
    label = spark.query_one("#payments-total", Static)
    await wait_until(pilot, lambda: shows(app, label, applied), "the sparkline's total")
    await wait_until(pilot, lambda: table_settled(app), "the columns to fit the rows")
    assert table.cursor_row == len(pairs) - 1  # the table follows the newest row
    await steady(pilot)


def detail_of(seq: int) -> Before:
    """With the fixed deliveries, Enter on row ``seq`` (the app's own way to the detail)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await with_deliveries(pilot)
        app = pilot.app
        assert isinstance(app, MomentApp)
        table = app.home.query_one(DeliveryTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(seq)))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeliveryDetail), "the detail")
        detail = app.screen
        assert isinstance(detail, DeliveryDetail)
        first_line = detail.text.splitlines()[0]
        assert first_line.startswith(f"Delivery #{seq} · ")
        await wait_until(pilot, lambda: on_screen(app, first_line), "the detail drawn")
        # Its links (under the text, one a line): each id whole on screen.
        await wait_until(pilot, lambda: on_screen(app, *detail.links.values()), "its links")
        await steady(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_home_after_start(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_home_with_deliveries(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=with_deliveries)


@pytest.mark.parametrize("size", SIZES)
def test_detail_of_a_verified_delivery(
    snap_compare: Snap, tmp_path: Path, size: tuple[int, int]
) -> None:
    """The inspector of the fixed verified delivery, with its links."""
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=detail_of(1))


@pytest.mark.parametrize("size", SIZES)
def test_detail_of_a_rejected_delivery(
    snap_compare: Snap, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=detail_of(4))


def test_home_in_test_mode(snap_compare: Snap, tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)


def test_home_in_live_mode(snap_compare: Snap, tmp_path: Path) -> None:
    app = keyed_app(LIVE_KEY, tmp_path, port=SNAPSHOT_PORT, read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)


# --- the lists ----------------------------------------------------------------------------


async def customers(pilot: Pilot[Any]) -> None:
    await show_list(pilot, "2", "customers", SEEDED["customer"])
    await steady(pilot)


async def accounts(pilot: Pilot[Any]) -> None:
    await show_list(pilot, "3", "accounts", SEEDED["account"])
    await steady(pilot)


async def bills(pilot: Pilot[Any]) -> None:
    await show_list(pilot, "4", "bills", SEEDED["bill"])
    await steady(pilot)


async def overdue_bills(pilot: Pilot[Any]) -> None:
    """``f`` twice: all → unpaid → overdue."""
    app = await show_list(pilot, "4", "bills", SEEDED["bill"])
    queries = app.moment.queries
    overdue = await queries.bill_ids(queries.filter(status="overdue"), None)
    assert 0 < len(overdue) < SEEDED["bills_unpaid"]
    await pilot.press("f", "f")
    await wait_until(pilot, lambda: list_drawn(app, "bills", len(overdue)), "the overdue bills")
    assert on_screen(app, f"{len(overdue)} bills · overdue")
    await steady(pilot)


async def events_on_bills(pilot: Pilot[Any]) -> None:
    """Bills, then a verified (and applied) and a rejected delivery arrive."""
    app = await show_list(pilot, "4", "bills", SEEDED["bill"])
    await deliveries_arrive(pilot, (1, 4))
    pane = app.screen.query_one(EventPane)
    await wait_until(
        pilot,
        lambda: (
            list(pane.deliveries) == [1, 4]
            and 1 in pane.applications
            and all(i in pane.names for i in (BILL, "bcus_8Jf4LpQ2sW9kHn3TzRbVx"))
        ),
        "the deliveries, the result and the names in the pane",
    )
    await wait_until(
        pilot,
        lambda: all(
            shows(app, pane, text)
            for text in ("09:14:03", "confirmed", "INV-2026-0021", "401 no_matching_signature")
        ),
        "the pane drawn",
    )
    # The payment touched a bill of the list: its row is read again and flashes.
    await wait_until(pilot, lambda: list_still(app), "the bill's row read again, its flash over")
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_customers(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=customers)


@pytest.mark.parametrize("size", SIZES)
def test_accounts(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=accounts)


@pytest.mark.parametrize("size", SIZES)
def test_bills(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=bills)


@pytest.mark.parametrize("size", SIZES)
def test_bills_overdue(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=overdue_bills)


@pytest.mark.parametrize("size", SIZES)
def test_event_pane_on_bills(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=events_on_bills)


# --- Requests -------------------------------------------------------------------------------


async def requests(pilot: Pilot[Any]) -> None:
    """The Requests view over the fixed records only."""
    await started(pilot)
    await requests_shown(pilot)
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_requests(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=requests)


# --- the detail views -------------------------------------------------------------------------


async def customer_detail(pilot: Pilot[Any]) -> None:
    await open_by_reference(pilot, "customer", CUSTOMER_REF)


async def account_detail(pilot: Pilot[Any]) -> None:
    await open_by_reference(pilot, "account", ACCOUNT_REF)


async def bill_detail(pilot: Pilot[Any]) -> None:
    await open_by_reference(pilot, "bill", BILL_REF)


def bill_paid_live(clock: Clock) -> Before:
    """The first unpaid bill's detail, then a real payment of all of it: the sandbox's
    webhook, the reconciler applying it, its re-fetch confirming it."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await started(pilot)
        assert app.runtime.client is not None
        page = await app.runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
        bill = page.items[0]
        assert bill.id == BILL  # the bill the fixed deliveries name, too
        open_detail(app, app.moment, "bill", bill.id)
        await wait_until(pilot, lambda: detail_drawn(app, BillDetail, bill.id), "the bill")
        screen = app.screen
        assert isinstance(screen, BillDetail)
        clock.now = PAID_AT
        assert await app.moment.simulate_payment() is None
        await wait_until(
            pilot,
            lambda: (
                screen.loaded is not None
                and screen.loaded.obj.status is BillStatus.PAID
                and [a.state for a, _ in screen.loaded.related.applications] == ["confirmed"]
            ),
            "the payment applied and confirmed",
        )
        await wait_until(pilot, lambda: detail_drawn(app, BillDetail, bill.id), "drawn")
        assert on_screen(app, "PAID", "Timeline · 1 payment", "#1 confirmed")
        await steady(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_customer_detail(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=customer_detail)


@pytest.mark.parametrize("size", SIZES)
def test_account_detail(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=account_detail)


@pytest.mark.parametrize("size", SIZES)
def test_bill_detail(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=bill_detail)


@pytest.mark.parametrize("size", SIZES)
def test_bill_paid_live(
    snap_compare: Snap, tmp_path: Path, size: tuple[int, int], clock: Clock
) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT, rng=full_payments())
    assert snap_compare(app, terminal_size=size, run_before=bill_paid_live(clock))


# --- modals ----------------------------------------------------------------------------------


async def keys_on_bills(pilot: Pilot[Any]) -> None:
    app = await show_list(pilot, "4", "bills", SEEDED["bill"])
    await steady(pilot)  # the keys listed are those of the view as it settled
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: isinstance(app.screen, KeysHelp), "the keys")
    help_screen = app.screen
    assert isinstance(help_screen, KeysHelp)
    first = help_screen.text.splitlines()[0]
    assert first == "Keys · Bills"
    await wait_until(pilot, lambda: on_screen(app, first, "f"), "the keys drawn")
    await steady(pilot)


async def go_to_unknown(pilot: Pilot[Any]) -> None:
    """Home, ``g``, a reference nothing has: the prompt says so and stays open."""
    app = await home_drawn(pilot)
    await steady(pilot)
    await pilot.press("g")
    await wait_until(pilot, lambda: isinstance(app.screen, GoTo), "the Go to prompt")
    field = app.screen.query_one(Input)
    field.cursor_blink = False  # a steady cursor: a blinking one is half the pictures
    await pilot.press(*UNKNOWN_REF, "enter")
    status = app.screen.query_one("#go-to-status", Static)
    said = f"no customer, account or bill with the external reference '{UNKNOWN_REF}'"
    await wait_until(
        pilot,
        lambda: status.has_class("-error") and str(status.content).startswith(said),
        "the error",
    )
    await wait_until(
        pilot,
        lambda: field.has_focus and shows(app, status, str(status.content)),
        "the error drawn, the field ready again",
    )
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_keys_on_bills(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=keys_on_bills)


@pytest.mark.parametrize("size", SIZES)
def test_go_to_an_unknown_reference(
    snap_compare: Snap, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=go_to_unknown)


# --- forms ------------------------------------------------------------------------------------
# Each as its key opens it, the first field focused; the New bill filled and refused.


async def new_customer_form(pilot: Pilot[Any]) -> None:
    await show_list(pilot, "2", "customers", SEEDED["customer"])
    await form_opened(pilot, "n", "New customer")
    await steady(pilot)


async def new_account_form(pilot: Pilot[Any]) -> None:
    await show_list(pilot, "3", "accounts", SEEDED["account"])
    await form_opened(pilot, "n", "New account")
    await steady(pilot)


async def new_bill_refused(pilot: Pilot[Any]) -> None:
    await show_list(pilot, "4", "bills", SEEDED["bill"])
    await nested_bill_refused(pilot)
    await steady(pilot)


async def edit_customer_form(pilot: Pilot[Any]) -> None:
    await open_by_reference(pilot, "customer", CUSTOMER_REF)
    await form_opened(pilot, "e", "Edit customer")
    await steady(pilot)


async def record_payment_form(pilot: Pilot[Any]) -> None:
    await open_by_reference(pilot, "bill", BILL_REF)
    await form_opened(pilot, "m", "Record a payment")
    await steady(pilot)


FORMS = {
    "new_customer": new_customer_form,
    "new_account": new_account_form,
    "new_bill_refused": new_bill_refused,
    "edit_customer": edit_customer_form,
    "record_payment": record_payment_form,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("form", list(FORMS))
def test_form(snap_compare: Snap, tmp_path: Path, size: tuple[int, int], form: str) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=FORMS[form])
