"""Shared by the UI tests and screenshots/make_screenshots.py: apps on the real sandbox
(or a mocked Moment), waiting with a deadline, reading the whole screen as text, and
fixed deliveries for pictures that must not change from run to run."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import random
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from moment_tui.api.client import RetryPolicy
from moment_tui.api.requestlog import RequestRecord
from moment_tui.config import Settings
from moment_tui.runtime import RuntimeOptions
from moment_tui.secrets import Secret
from moment_tui.store.applications import Application, Change, Drift
from moment_tui.store.eventlog import Delivery
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.present import HIGHLIGHT
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.screens.form_base import FormScreen
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.event_pane import EventPane
from moment_tui.ui.widgets.form_field import FormField, field_id
from moment_tui.ui.widgets.lazy_table import LazyTable
from moment_tui.ui.widgets.note import Note
from moment_tui.ui.widgets.rows_table import RowsTable
from moment_tui.ui.widgets.webhook_panel import WebhookPanel

SEED_TODAY = date(2026, 11, 1)
# What the sandbox seeds for SEED_TODAY, as the ConnectionPanel holds it.
SEEDED = {
    "customer": 38,
    "account": 29,
    "bill": 31,
    "bills_unpaid": 16,
    "bills_paid": 10,
    "bills_voided": 5,
}
# … and shows it: in full at 120 columns, without the total at 80.
SEEDED_WIDE = "38 customers · 29 accounts\n31 bills · 16 unpaid · 10 paid · 5 voided"
SEEDED_NARROW = "38 customers · 29 accounts\nBills 16 unpaid · 10 paid · 5 voided"
PAYMENT_SEED = 7  # simulated payments are random, from this seed in tests
WAIT_SECONDS = 20.0  # a deadline, not a sleep: waits end as soon as the condition holds
TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
LIVE_KEY = "sk_4eC39HqLyjWDarjtT1zdp7dc"
API_URL = "https://example.test"
# A whsec_ secret, or an sk_ key, with more of it than a masked label shows.
SECRET_ON_SCREEN = re.compile(
    r"whsec_[A-Za-z0-9+/=]{4,}|sk_(?:test|live)_[A-Za-z0-9]{4,}|sk_(?!(?:test|live)_)[A-Za-z0-9]{4,}"
)


# --- apps ---------------------------------------------------------------------------


class ScriptedRng(random.Random):
    """Plans the same kind of payment every time, on the first unpaid bill listed.

    ``roll`` picks the kind (see ``runtime.plan_payment``): below 0.2 the bill's
    holder pays, below 0.6 the bill is paid in full, else ``tenths``/10 of it.
    """

    def __init__(self, roll: float, tenths: int = 2) -> None:
        super().__init__(0)
        self.roll = roll
        self.tenths = tenths

    def choice(self, seq: Any) -> Any:
        return seq[0]

    def random(self) -> float:
        return self.roll

    def randint(self, a: int, b: int) -> int:
        return self.tenths


def part_payments() -> ScriptedRng:
    """A fifth of the first unpaid bill, press after press."""
    return ScriptedRng(0.9)


def full_payments() -> ScriptedRng:
    """The first unpaid bill, paid in full."""
    return ScriptedRng(0.3)


def sandbox_app(
    tmp: Path,
    *,
    port: int = 0,
    rng: random.Random | None = None,
    sources: dict[str, str] | None = None,
    read_only: bool = False,
) -> MomentApp:
    """No API key: the real embedded sandbox (seeded for SEED_TODAY), listener and reconciler.

    Everything lives under ``tmp``, so a second app on the same ``tmp`` sees the first
    one's sandbox and workspace. Simulated payments come from ``rng`` (default: seeded
    with PAYMENT_SEED, so they are the same on every run).
    """
    settings = Settings(config_dir=tmp, data_dir=tmp, sources=sources or {}, read_only=read_only)
    options = RuntimeOptions(
        listener_port=port,
        seed_today=SEED_TODAY,
        sandbox_db=tmp / "sandbox.sqlite3",
        workspace=tmp / "ws.sqlite3",
        payment_rng=rng or random.Random(PAYMENT_SEED),
    )
    return create_app(settings, options)


def keyed_app(key: str, tmp: Path, *, port: int = 0, read_only: bool = False) -> MomentApp:
    """A test or live key against a Moment that answers every request 404 (so: connected)."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"title": "Not Found", "status": 404, "detail": "no such customer"}
        return httpx.Response(404, json=body, headers={"content-type": "application/problem+json"})

    settings = Settings(
        api_key=Secret(key),
        api_url=API_URL,
        config_dir=tmp,
        data_dir=tmp,
        read_only=read_only,
    )
    options = RuntimeOptions(
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
        listener_port=port,
        workspace=tmp / "ws.sqlite3",
        sandbox_db=tmp / "sandbox.sqlite3",
    )
    return create_app(settings, options)


# --- waiting and reading --------------------------------------------------------------


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS
) -> None:
    """Let the app run until ``condition()`` holds; fail with the screen after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(
                f"gave up after {seconds:.0f} s waiting for {what}; the screen:\n"
                + screen_text(pilot.app)
            )
        await pilot.pause(0.02)


def screen_text(app: MomentApp | Any) -> str:
    """The whole screen as plain text, modal and what shows behind it included.

    The same rendering as ``App.export_screenshot`` (Textual is pinned), exported as
    text instead of SVG.
    """
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


STILL_SECONDS = 0.3  # the screen unchanged this long counts as settled


def screen_styled(app: MomentApp | Any) -> str:
    """The whole screen as ``screen_text`` draws it, colours and styles included (as
    ANSI codes): two calls compare equal only if a picture of each would."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=True)


async def wait_still(
    pilot: Pilot[Any], seconds: float = STILL_SECONDS, deadline: float = WAIT_SECONDS
) -> None:
    """Let the app run until the screen (text and colours) has not changed for
    ``seconds``: the last check before a picture, after its content is known to be
    drawn, so a late repaint (a flash ending, a footer recomposed) is waited out."""
    loop = asyncio.get_running_loop()
    last, since = screen_styled(pilot.app), loop.time()
    give_up = since + deadline
    while loop.time() - since < seconds:
        if loop.time() > give_up:
            raise AssertionError(
                f"the screen kept changing for {deadline:.0f} s; the screen:\n"
                + screen_text(pilot.app)
            )
        await pilot.pause(0.05)
        now = screen_styled(pilot.app)
        if now != last:
            last, since = now, loop.time()


def region_text(app: MomentApp, widget: Widget) -> str:
    """The lines of the screen a widget covers (its border included), as drawn now."""
    x, y, width, height = widget.region
    lines = screen_text(app).splitlines()
    return "\n".join(line[x : x + width] for line in lines[y : y + height])


def shows(app: MomentApp, widget: Widget, text: str) -> bool:
    """``widget``'s part of the screen shows ``text``, wrapped or not (words compared,
    in order, whatever the line breaks and padding between them)."""
    return " ".join(text.split()) in " ".join(region_text(app, widget).split())


def footer_drawn(app: MomentApp) -> bool:
    """The footer (the screen's last line) shows keys besides the palette's."""
    last = screen_text(app).splitlines()[-1]
    return bool(last.split("▏")[0].strip())


def text_of(app: MomentApp, widget: type[ConnectionPanel] | type[WebhookPanel]) -> str:
    """A panel's text ("" before the home screen is composed)."""
    try:
        return str(app.home.query_one(widget).content)
    except NoMatches:
        return ""


def connected(app: MomentApp) -> bool:
    """Connected, the catalogue counts and the event log's books are in."""
    text = text_of(app, ConnectionPanel)
    return text.startswith("● Connected") and "voided" in text and books_loaded(app)


def books_loaded(app: MomentApp) -> bool:
    try:
        return app.home.query_one(WebhookPanel).tally.loaded
    except NoMatches:
        return False


async def started(pilot: Pilot[Any]) -> MomentApp:
    """Connected: the catalogue synced, its counts and the event log's books read."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    await wait_until(pilot, lambda: connected(app), "the catalogue synced")
    return app


def counts_of(app: MomentApp) -> dict[str, int]:
    """The catalogue counts the Moment panel shows."""
    return app.home.query_one(ConnectionPanel).counts


def bill_counts(app: MomentApp) -> tuple[int, int, int]:
    """(unpaid, paid, voided), as the Moment panel shows them."""
    c = counts_of(app)
    return c["bills_unpaid"], c["bills_paid"], c["bills_voided"]


def cell(app: MomentApp, seq: int, column: str) -> str:
    """The text of one cell of the delivery table ("" while the row is not drawn)."""
    try:
        table = app.home.query_one(DeliveryTable)
    except NoMatches:
        return ""
    if seq not in table.deliveries:
        return ""
    return str(table.get_cell(str(seq), column))


def on_screen(app: MomentApp, *texts: str) -> bool:
    """Each of ``texts`` is drawn (whole, on one line) on the screen as it is now."""
    shown = screen_text(app)
    return all(text in shown for text in texts)


def table_settled(app: MomentApp) -> bool:
    """Every drawn delivery shows whole on screen (all but "Paid to", cut when narrow;
    the tests and screenshots have fewer rows than the table has lines).

    DataTable sizes its columns when idle, after rows are added, and repaints later
    still: until then a frame shows new rows cut to the old widths. So this reads the
    screen itself; pictures and row checks wait for it.
    """
    try:
        table = app.home.query_one(DeliveryTable)
    except NoMatches:
        return False
    rows = screen_text(app).splitlines()
    for seq in table.deliveries:
        keys = ("time", "verdict", "amount", "result")
        cells = [str(table.get_cell(str(seq), key)) for key in keys]
        if not any(all(text in row for text in cells) for row in rows):
            return False
    return True


def assert_no_secret(app: MomentApp, *secrets: str) -> None:
    """Neither the given secrets (nor their bodies) nor any unmasked key is on screen."""
    text = screen_text(app)
    for secret in secrets:
        assert secret not in text
        assert secret.removeprefix("whsec_") not in text
    found = SECRET_ON_SCREEN.findall(text)
    assert not found, f"unmasked secret-like text on screen: {found}"


# --- fixed deliveries, for snapshots and screenshots ------------------------------------

BILL = "bill_2Ri9L7z6uPSankOvmWLlz"
ACCOUNT = "bacc_5Hq2ZkT8wN3dVbX6mRcYp"
CUSTOMER = "bcus_8Jf4LpQ2sW9kHn3TzRbVx"
SECRET_LABEL = "whsec_…gM="  # a masked label, as the listener stores it


def fixed_deliveries() -> list[tuple[Delivery, Application | None]]:
    """Five deliveries covering every verdict and result, with fixed ids and times."""

    def verified(seq: int, at: str, amount: int, **target: str) -> Delivery:
        return Delivery(
            seq=seq,
            webhook_id=f"msg_2k7QfXbH9cT{seq}mWnY4pLsRzEaVd",
            received_at=f"2026-11-01T{at}Z",
            verdict="verified",
            reason=None,
            message=f"verified with secret {SECRET_LABEL}",
            status=200,
            event_id=f"evt_9TbQm2Xc{seq}KfWz7HnL4pRsVa",
            event_type="obligation.amount_applied",
            amount=amount,
            currency="ZAR",
            matched_secret=SECRET_LABEL,
            **target,
        )

    def application(seq: int, state: Any, changes: tuple[Change, ...], **extra: Any) -> Application:
        delivery_target = extra.pop("target", ("bill", BILL))
        return Application(
            delivery_seq=seq,
            webhook_id=f"msg_2k7QfXbH9cT{seq}mWnY4pLsRzEaVd",
            applied_at="2026-11-01T09:14:03.600Z",
            outcome="applied",
            target_kind=delivery_target[0],
            target_id=delivery_target[1],
            changes=changes,
            state=state,
            checked_at="2026-11-01T09:14:04.100Z",
            **extra,
        )

    first = verified(1, "09:14:03.512", 160350, bill_id=BILL, customer_id=CUSTOMER)
    second = verified(2, "09:15:41.007", 45000, account_id=ACCOUNT, customer_id=CUSTOMER)
    duplicate = Delivery(
        seq=3,
        webhook_id=first.webhook_id,
        received_at="2026-11-01T09:16:12.250Z",
        verdict="duplicate",
        reason="duplicate",
        message=(
            "already received at 2026-11-01T09:14:03.512Z (#1); acknowledged, not applied again"
        ),
        status=200,
        event_id=first.event_id,
        event_type=first.event_type,
        amount=first.amount,
        currency="ZAR",
        bill_id=BILL,
        customer_id=CUSTOMER,
        duplicate_of=1,
    )
    rejected = Delivery(
        seq=4,
        webhook_id="msg_bad7Rk2PqW9sXzT4vLmN8cYh",
        received_at="2026-11-01T09:17:30.845Z",
        verdict="rejected",
        reason="no_matching_signature",
        message="no v1 signature in webhook-signature matches the 1 configured secret",
        status=401,
        diagnosis={
            "signed_content_prefix": (
                'msg_bad7Rk2PqW9sXzT4vLmN8cYh.1793524650.{"id":"evt_4WcN8pQ2rT6yHb3XkLm9Z",'
                '"type":"obligation.amount_applied","data":{"id…'
            ),
            "expected": [f"{SECRET_LABEL} → v1,Rs4NL0vjMjcCHyqhoKtz3YsmeuE+92xzK51zh5bOGQg="],
            "received": ["v1,xngB8iRBr0zHq7vKO17QQO3O5MIq52K1qPaZxNNd5Zk="],
            "skew_seconds": -1,
            "hints": [
                "no configured secret produces this signature: the sender probably uses a "
                "different secret (check the endpoint's secret, or whether it was rotated)"
            ],
        },
    )
    fifth = verified(5, "09:18:05.330", 25000, customer_id=CUSTOMER)
    return [
        (
            first,
            application(
                1,
                "confirmed",
                (
                    Change("bill", BILL, "amount_paid", 0, 160350),
                    Change("bill", BILL, "amount_remaining", 641400, 481050),
                ),
            ),
        ),
        (
            second,
            application(
                2,
                "confirmed",
                (Change("account", ACCOUNT, "balance", 120000, 75000),),
                target=("account", ACCOUNT),
            ),
        ),
        (duplicate, None),
        (rejected, None),
        (
            fifth,
            application(
                5,
                "drift",
                (Change("customer", CUSTOMER, "balance", 80000, 55000),),
                target=("customer", CUSTOMER),
                drift=(Drift("customer", CUSTOMER, "balance", 55000, 30000),),
                note="the server's balance differs; another payment was applied first",
            ),
        ),
    ]


# --- views drawn whole, for pictures ------------------------------------------------------
# The same checks as tests/ui/test_snapshots.py makes before each snapshot, shared with
# screenshots/make_screenshots.py.


def list_references(app: MomentApp) -> list[str]:
    """The references of the list's rows on screen, as drawn ([] while any is missing)."""
    table = app.screen.query_one(LazyTable)
    top = table.scroll_offset.y
    lines = max(table.scrollable_content_region.height - 1, 0)  # under the header
    rows = [table.get_row(i) for i in range(top, min(table.row_count, top + lines))]
    if any(row is None for row in rows):
        return []
    return [str(row.cells["reference"]) for row in rows if row is not None]


def list_shown(app: MomentApp, mode: str, count: int) -> bool:
    """The list of ``mode`` counted ``count`` rows, and every row on screen is loaded
    and drawn (in order), its note and the event pane (its hint, or deliveries) with it."""
    screen = app.screen
    if app.current_mode != mode or not isinstance(screen, ListScreen) or screen.count != count:
        return False
    references = list_references(app)
    if count and not references:
        return False
    lines = screen_text(app).splitlines()
    at = 0
    for reference in references:
        at = next((i for i in range(at, len(lines)) if reference in lines[i]), -1)
        if at < 0:
            return False
    pane = screen.query_one(EventPane)
    return on_screen(app, screen.query_one(Note).text) and (
        bool(pane.deliveries) or shows(app, pane, pane.hint)
    )


def list_still(app: MomentApp) -> bool:
    """No row of the list flashing, and no row being read again."""
    table = app.screen.query_one(LazyTable)
    return not table.flashing and all(
        w.is_finished for w in app.workers if w.group == "lazy-table-rows"
    )


def detail_rows_drawn(app: MomentApp, table: RowsTable) -> bool:
    """Every row of a detail's table is drawn whole, on one line."""
    lines = screen_text(app).splitlines()
    return all(
        any(all(text.plain.strip() in line for text in cells) for line in lines)
        for cells in table.cells.values()
    )


def timeline_lit(screen: DetailScreen) -> bool:
    """A payment is highlighted in the timeline (for a moment after it changes)."""
    timeline = screen.query_one("#timeline", Static).content
    return any(
        span.style == HIGHLIGHT for _, text in getattr(timeline, "lines", []) for span in text.spans
    )


def detail_shown(app: MomentApp, kind: type[DetailScreen], object_id: str) -> bool:
    """The detail of ``object_id`` loaded and drawn: no status line, its id and the
    timeline's title on screen, every table row drawn, nothing highlighted."""
    screen = app.screen
    if not isinstance(screen, kind) or screen.loaded is None or screen.loaded.obj.id != object_id:
        return False
    status = screen.query_one("#detail-status", Static)
    title = str(screen.query_one("#timeline-title", Static).content)
    return (
        status.has_class("-empty")
        and on_screen(app, object_id, title)
        and all(detail_rows_drawn(app, t) for t in screen.query(RowsTable) if t.display)
        and not timeline_lit(screen)
        and not any(w.has_class("-changed") for w in screen.query("*"))
    )


async def requests_shown(pilot: Pilot[Any]) -> None:
    """``5``: the Requests view over the fixed records only (``fixed_requests``), each
    drawn (path and problem are cut with "…" to fit; the rest is drawn whole)."""
    from moment_tui.api.requestlog import RequestLog
    from moment_tui.ui.screens.requests import RequestList, RequestsScreen, RequestTable

    app = pilot.app
    assert isinstance(app, MomentApp)
    log = RequestLog()
    records = fixed_requests()
    for record in records:
        log.add(record)
    app.moment.state.watch_requests(log)
    await pilot.press("5")

    def drawn() -> bool:
        if not isinstance(app.screen, RequestsScreen):
            return False
        table = app.screen.query_one(RequestTable)
        if list(table.records.values()) != records:
            return False
        lines = screen_text(app).splitlines()
        for key in table.records:
            cells = [table.get_cell(key, c).plain for c in ("time", "method", "status", "latency")]
            if not any(all(text in line for text in cells) for line in lines):
                return False
        return shows(app, app.screen.query_one(RequestList), f"API calls · {len(records)}")

    await wait_until(pilot, drawn, "the fixed requests drawn")


# --- driving a form, for pictures -----------------------------------------------------------
# As tests/ui/test_forms.py drives them: keys only, each step waited for.

# The three-level New bill of the pictures (a new account nesting a new customer), the
# phone typed last and refused.
PHONE_ERROR = "use international E.164 form, e.g. +27821234567"
# The nested bill form, as a person fills it: a new account, a new customer, the bill.
NEW_BILL = {
    "account.external_reference": "UAR1000390",
    "account.name": "Fibre 100 Mbps",
    "account.customer.external_reference": "UCR100039",
    "account.customer.name": "Lerato Mokoena",
    "account.customer.email": "lerato.mokoena@example.com",
    "external_reference": "INV-2026-0390",
    "amount_due": "1,499.00",
}
BAD_PHONE = ("account.customer.phone", "+27 82")  # typed last: the form scrolls to it


def form_field(app: MomentApp, path: str) -> FormField:
    """The open form's field for the body path ``path`` (``account.customer.phone``)."""
    return app.screen.query_one(f"#{field_id(path)}", FormField)


def field_message(app: MomentApp, path: str) -> str:
    """What the line under a field says ("" when it is hidden, or was never needed)."""
    lines = form_field(app, path).query(".message").results(Static)
    line = next(lines, None)
    return str(line.content) if line is not None and line.has_class("-shown") else ""


def focused_field(app: MomentApp) -> str | None:
    """The path of the field holding the focus (None: no field has it)."""
    node = app.focused
    while node is not None and not isinstance(node, FormField):
        node = node.parent  # type: ignore[assignment]
    return node.spec.path if isinstance(node, FormField) else None


async def focus_field(pilot: Pilot[Any], path: str) -> None:
    app = pilot.app
    assert isinstance(app, MomentApp)
    form_field(app, path).control.focus()
    await wait_until(pilot, lambda: focused_field(app) == path, f"{path} focused")


async def type_in_field(pilot: Pilot[Any], path: str, text: str) -> None:
    """Type ``text`` into an empty field of the open form, a key at a time."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    await focus_field(pilot, path)
    control = form_field(app, path).control
    assert isinstance(control, Input)
    assert control.value == "", f"{path} already holds {control.value!r}"
    await pilot.press(*text)
    await wait_until(pilot, lambda: control.value == text, f"{text!r} in {path}")


async def choose_in_field(pilot: Pilot[Any], path: str, value: str) -> None:
    """Choose in a Select with the keyboard: Enter opens it, arrows move, Enter takes."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    chosen = form_field(app, path)
    select = chosen.control
    assert isinstance(select, Select)
    values = [v for v, _ in chosen.spec.choices]
    await focus_field(pilot, path)
    moves = values.index(value) - values.index(str(select.value))
    await pilot.press("enter")
    await wait_until(pilot, lambda: select.expanded, "the choices open")
    await pilot.press(*(["down"] * moves if moves > 0 else ["up"] * -moves), "enter")
    await wait_until(pilot, lambda: select.value == value, f"{value} chosen")
    screen = app.screen
    assert isinstance(screen, FormScreen)
    await wait_until(pilot, lambda: screen.draft.values.get(path) == value, "the form follows")


def steady_cursors(app: MomentApp) -> None:
    """A steady text cursor in every field on screen: a blinking one is half the
    pictures. (Call again once a section shown late is on the form.)"""
    for field in app.screen.query(Input):
        field.cursor_blink = False


async def form_opened(pilot: Pilot[Any], key: str, heading: str) -> FormScreen:
    """``key`` pressed; the form whose heading is ``heading`` open, a field focused."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    await pilot.press(key)
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, FormScreen)
            and app.screen.heading == heading
            and focused_field(app) is not None
            and on_screen(app, heading)
        ),
        f"the {heading} form",
    )
    steady_cursors(app)
    assert isinstance(app.screen, FormScreen)
    return app.screen


async def nested_bill_refused(pilot: Pilot[Any]) -> FormScreen:
    """On the Bills view: ``n``, a new account for a new customer, every field filled
    (``NEW_BILL``), the phone typed last and refused (``PHONE_ERROR``)."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    form = await form_opened(pilot, "n", "New bill")
    assert focused_field(app) == "target"
    await choose_in_field(pilot, "target", "new_both")
    for path, text in NEW_BILL.items():
        await type_in_field(pilot, path, text)
    if not form_field(app, "currency").value:
        await type_in_field(pilot, "currency", "ZAR")
    steady_cursors(app)  # the sections shown by the choice too
    path, text = BAD_PHONE
    await type_in_field(pilot, path, text)
    phone = form_field(app, path)
    await wait_until(
        pilot,
        lambda: (
            field_message(app, path) == PHONE_ERROR
            and phone.has_class("-error")
            and on_screen(app, PHONE_ERROR, text)
        ),
        "the phone refused",
    )
    return form


# --- fixed requests, for pictures ------------------------------------------------------------


def fixed_requests() -> list[RequestRecord]:
    """A listing, a 404 with its problem, a POST with an idempotency key, and a POST
    that timed out and was replayed on its second try (the snapshot tests' records)."""
    at = dt.datetime(2026, 11, 1, 9, 14, 3, 512000, tzinfo=dt.UTC)
    unknown = "INV-2099-0001"
    key = "5c7e0d1a-95f3-4c2e-8d1b-2f6a9e3b7c40"
    retried = "b81f3c2e-0d4a-4e6b-9a7c-1f2e3d4c5b6a"
    second = dt.timedelta(seconds=1)
    return [
        RequestRecord(at, "GET", "/billing/bills", 200, 41.3, 1, params={"limit": "100"}),
        RequestRecord(
            at + 2 * second,
            "GET",
            f"/billing/bills/{unknown}",
            404,
            12.0,
            1,
            response_body={"title": "Not Found", "status": 404},
            problem=f"bill '{unknown}' not found",
        ),
        RequestRecord(
            at + 5 * second,
            "POST",
            "/billing/bills",
            201,
            87.6,
            1,
            idempotency_key=key,
            request_body={"customer": "bcus_fZtcFLQbR9k5wWiv40vsr", "amount_due": 150000},
        ),
        RequestRecord(
            at + 9 * second,
            "POST",
            "/billing/customers",
            None,
            10004.9,
            1,
            idempotency_key=retried,
            error="timed out",
        ),
        RequestRecord(
            at + 20 * second,
            "POST",
            "/billing/customers",
            201,
            23.2,
            2,
            idempotency_key=retried,
            replayed=True,
        ),
    ]
