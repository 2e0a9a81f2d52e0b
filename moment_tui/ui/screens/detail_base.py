"""What the three detail views share: loading one object, following payments live,
``r`` to re-fetch from the API, ``c`` to copy, tables updated in place, and the
timeline of what happened to the object.

A view loads in a worker: the catalogue's copy of its object (fetched from the API
and kept when the catalogue lacks it), what is under it
(:func:`~moment_tui.store.browse.related`), labels for every id it mentions, and what
the subclass gathers beside (a bill's customer and account). :meth:`DetailScreen.draw`
is given that load and the one before it, so what changed is highlighted for a
moment. Rows are updated where they stand: neither the cursor nor the focus moves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from moment_tui.ui.present import bar, money
from moment_tui.ui.privacy import masked_view
from moment_tui.ui.screens.base import ConsoleScreen

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from moment_tui.api.models import ObjectKind, PaymentRules
    from moment_tui.store.applications import Application
    from moment_tui.store.browse import AccountRow, BillRow, Related
    from moment_tui.store.catalogue import Entry
    from moment_tui.store.eventlog import Delivery
    from moment_tui.ui.console import Console as MomentConsole
    from moment_tui.ui.privacy import Privacy
    from moment_tui.ui.state import Change

HIGHLIGHT_SECONDS: Final = 1.5
HIGHLIGHT: Final = "bold black on green"  # a changed row or timeline entry, briefly
REFETCH_LIMIT: Final = 20  # objects `r` re-fetches beside the one the view shows
WIDE: Final = 110  # from this width the timeline stands beside, not below
LABEL_WIDTH: Final = 9
MONEY_FIELDS: Final = frozenset({"amount_due", "amount_paid", "amount_remaining", "balance"})
FIELD_NAMES: Final = {"amount_due": "due", "amount_paid": "paid", "amount_remaining": "remaining"}
SOURCES: Final = {
    "created": "created from this console",
    "changed": "changed from this console",
    "looked_up": "looked up from the API",
    "listed": "listed from the API",
    "imported": "imported (bulk upload)",
    "webhook": "heard of in a webhook, then fetched",
    "refetched": "re-fetched from the API to check a payment",
    "applied": "changed by a payment",
}
STATES: Final = {
    "applied": ("applied · checking with the API", "yellow"),
    "confirmed": ("confirmed", "green"),
    "drift": ("drift", "bold magenta"),
    "unconfirmed": ("unconfirmed", "dim"),
}


@dataclass(frozen=True)
class Loaded:
    """One load of a view: its object and everything drawn beside it."""

    entry: Entry[Any]
    related: Related
    labels: dict[str, str]  # a name or reference for each id the view mentions
    currencies: dict[str, str]  # the currency of each object shown that has one
    holders: dict[str, Entry[Any] | None] = field(default_factory=dict)  # "customer", "account"

    @property
    def obj(self) -> Any:
        return self.entry.obj


# --- text ------------------------------------------------------------------------------


def label_of(obj: Any) -> str:
    """What the trail and the copy menu call an object: its name, else its reference."""
    return str(getattr(obj, "name", None) or obj.external_reference or obj.id)


def rules_text(rules: PaymentRules | None, currency: str | None) -> str:
    """``R 0.01 to R 500.00 · underpayment allowed · overpayment refused``; amounts of
    an object with no currency are given in minor units."""
    if rules is None:
        return "—"

    def amount(value: int) -> str:
        return money(value, currency, dash="") or f"{value:,}"

    units = "" if money(0, currency, dash="") else " minor units"
    parts = []
    low, high = rules.min_amount, rules.max_amount
    if low is not None and high is not None:
        parts.append(f"{amount(low)} to {amount(high)}{units}")
    elif low is not None:
        parts.append(f"min {amount(low)}{units}")
    elif high is not None:
        parts.append(f"max {amount(high)}{units}")
    for name in ("underpayment", "overpayment"):
        allowed = getattr(rules, f"{name}_allowed")
        if allowed is not None:
            parts.append(f"{name} {'allowed' if allowed else 'refused'}")
    return " · ".join(parts) or "—"


def metadata_text(metadata: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in metadata.items()) or "—"


class Fields:
    """Label/value pairs, two a line where they fit; a value too long for half the
    width (an email, payment rules) gets a line of its own after them, so the block
    stays short at any width."""

    def __init__(self, pairs: Sequence[tuple[str, str | Text]], columns: int = 2) -> None:
        self.pairs = list(pairs)
        self.columns = columns

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = options.max_width // self.columns - LABEL_WIDTH - 2
        short = [pair for pair in self.pairs if cell_len(str(pair[1])) <= room]
        long = [pair for pair in self.pairs if cell_len(str(pair[1])) > room]
        for group, across in ((short, self.columns), (long, 1)):
            if not group:
                continue
            grid = Table.grid(padding=(0, 1), expand=True)
            for _ in range(across):
                grid.add_column(style="dim", no_wrap=True, min_width=LABEL_WIDTH)
                grid.add_column(ratio=1, overflow="fold")
            for start in range(0, len(group), across):
                cells: list[str | Text] = []
                for label, value in group[start : start + across]:
                    cells += [label, value]
                grid.add_row(*cells)
            yield grid


def status_text(status: str, due_date: str | None, today: dt.date) -> Text:
    """``paid`` green, ``voided`` dim, ``overdue`` red (unpaid past its due date)."""
    if status == "paid":
        return Text("paid", style="green")
    if status == "voided":
        return Text("voided", style="dim")
    if status == "unpaid" and due_date and due_date < today.isoformat():
        return Text("overdue", style="bold red")
    return Text(status)


def when(iso: str | None) -> str:
    """``2026-11-01 09:14:03`` in UTC, as every time in the console is (deliveries,
    requests): one clock on every screen, whatever the machine's time zone."""
    if not iso:
        return "—"
    try:
        at = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso[:19]
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class Lines:
    """Styled lines, each wrapping under its own indent (the timeline's entries)."""

    def __init__(self, lines: Sequence[tuple[int, Text]]) -> None:
        self.lines = list(lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        for indent, text in self.lines:
            hang = min(indent, width // 2)
            for part in text.wrap(console, max(width - hang, 1)):
                yield Text(" " * hang) + part


# --- the timeline ------------------------------------------------------------------------


def timeline(
    loaded: Loaded,
    deliveries: Mapping[int, Delivery],
    fresh: Collection[int] = (),
) -> Lines:
    """What happened to the object, newest first: each payment applied to it or to
    anything under it (each changed field before → after, and what the API said),
    and when the catalogue learned it. ``fresh`` payments are highlighted."""
    entries: list[tuple[str, int, list[tuple[int, Text]]]] = []
    for app, received in loaded.related.applications:
        at = received or app.applied_at
        lines = _payment(app, at, loaded, deliveries.get(app.delivery_seq))
        if app.delivery_seq in fresh:
            for _, text in lines:
                text.stylize(HIGHLIGHT)
        entries.append((at, app.delivery_seq, lines))
    entry = loaded.entry
    source = SOURCES.get(entry.source, entry.source)
    if entry.updated_at == entry.learned_at:  # one copy so far: its source says how
        entries.append((entry.learned_at, -2, _event(entry.learned_at, "learned", source)))
    else:  # the source is the latest copy's; how it was first met is not kept
        entries.append((entry.learned_at, -2, _event(entry.learned_at, "learned", "first seen")))
        if entry.source not in ("applied", "refetched"):  # a payment's entry says so
            entries.append((entry.updated_at, -1, _event(entry.updated_at, "updated", source)))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    lines = [line for _, _, block in entries for line in block]
    if not loaded.related.applications:
        lines.append((0, Text("No payments applied to it yet.", style="dim")))
    return Lines(lines)


def _event(at: str, what: str, text: str) -> list[tuple[int, Text]]:
    head = Text.assemble((when(at), "dim"), "  ", (what, "cyan"))
    return [(0, head), (2, Text(text[:1].upper() + text[1:]))]


def _payment(
    app: Application, at: str, loaded: Loaded, delivery: Delivery | None
) -> list[tuple[int, Text]]:
    """A payment: when, its delivery's number and what the API said; how much and to
    what; each field it changed, before → after; how it was shared out; any drift."""
    state, style = STATES.get(app.state, (app.state, ""))
    lines = [(0, Text.assemble((when(at), "dim"), f"  #{app.delivery_seq} ", (state, style)))]
    target = ""
    if app.target_id and app.target_id != loaded.obj.id:
        target = f" to {loaded.labels.get(app.target_id, app.target_id)}"
    amount = ""
    if delivery is not None and delivery.amount is not None:
        amount = f" {money(delivery.amount, delivery.currency)}"
    fallback = delivery.currency if delivery is not None else None
    lines.append((2, Text(f"Paid{amount}{target}")))
    if app.outcome != "applied":
        lines.append((2, Text(f"{app.outcome.replace('_', ' ')}", style="dim")))
    # The view's object and the payment's target are named already; others get a heading.
    named = {loaded.obj.id, app.target_id}
    shown: str | None = None
    width = max((len(FIELD_NAMES.get(c.field, c.field)) for c in app.changes), default=0)
    for change in app.changes:
        currency = loaded.currencies.get(change.id, fallback)
        indent = 2
        if change.id not in named:
            indent = 4
            if change.id != shown:
                label = loaded.labels.get(change.id, change.id)
                lines.append((2, Text(f"{change.kind} {label}", style="bold")))
        shown = change.id
        name = FIELD_NAMES.get(change.field, change.field).ljust(width)
        before = _value(change.field, change.before, currency)
        after = _value(change.field, change.after, currency)
        lines.append((indent, Text(f"{name} {before} → {after}")))
    for bill_id, part in app.allocation:
        label = loaded.labels.get(bill_id, bill_id)
        currency = loaded.currencies.get(bill_id, fallback)
        lines.append((2, Text(f"{money(part, currency)} to bill {label}")))
    if app.to_balance:
        lines.append((2, Text(f"{money(app.to_balance, fallback)} to the balance")))
    if app.unallocated:
        lines.append((2, Text(f"{money(app.unallocated, fallback)} not allocated")))
    for drift in app.drift:
        currency = loaded.currencies.get(drift.id, fallback)
        ours = _value(drift.field, drift.ours, currency)
        server = _value(drift.field, drift.server, currency)
        name = FIELD_NAMES.get(drift.field, drift.field)
        label = loaded.labels.get(drift.id, drift.id)
        text = f"drift: {drift.kind} {label} {name} ours {ours}, server {server} (server's kept)"
        lines.append((2, Text(text, style="magenta")))
    if app.note:
        lines.append((2, Text(app.note, style="dim")))
    return lines


def _value(name: str, value: Any, currency: str | None) -> str:
    if value is None:
        return "—"
    if name in MONEY_FIELDS and isinstance(value, int) and currency:
        return money(value, currency)
    return str(value)


# --- tables -------------------------------------------------------------------------------

Cells = tuple[Text, ...]


class RowsTable(DataTable[Text]):
    """A detail view's table: Enter opens the row's object; rows update in place."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", key_display="Enter"),
    ]

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.spec = list(columns)  # (key, label)
        self.cells: dict[str, Cells] = {}  # each row as last drawn, unhighlighted

    def on_mount(self) -> None:
        for key, label in self.spec:
            self.add_column(label, key=key)

    def sync(self, rows: Mapping[str, Cells], *, highlight: bool) -> list[str]:
        """Draw ``rows`` (by object id, in order); returns the ids whose row changed.

        Same rows in the same order: changed cells are updated where they stand.
        Otherwise the table is rebuilt with the cursor kept on the same object."""
        old = self.cells
        changed = [key for key, cells in rows.items() if _plain(cells) != _plain(old.get(key))]
        if list(old) == list(rows):
            for key in changed:
                self._put(key, rows[key])
        else:
            cursor = self._cursor_key()
            scroll = self.scroll_y
            self.clear()
            for key, cells in rows.items():
                self.add_row(*cells, key=key)
            keys = list(rows)
            if cursor is not None and cursor in rows:
                self.move_cursor(row=keys.index(cursor), animate=False, scroll=False)
            self.scroll_to(y=scroll, animate=False, immediate=True)
        self.cells = dict(rows)
        if not highlight or not old:
            return []
        for key in changed:
            self._put(key, tuple(_lit(cell) for cell in rows[key]))
        if changed:
            self.set_timer(HIGHLIGHT_SECONDS, lambda: self._unlight(changed))
        return changed

    def _put(self, key: str, cells: Cells) -> None:
        for (column, _), cell in zip(self.spec, cells, strict=True):
            self.update_cell(key, column, cell, update_width=True)

    def _unlight(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key in self.cells and self.is_mounted:
                self._put(key, self.cells[key])

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


def _plain(cells: Cells | None) -> tuple[tuple[str, str], ...] | None:
    if cells is None:
        return None
    return tuple((cell.plain, str(cell.style)) for cell in cells)


def _lit(cell: Text) -> Text:
    lit = cell.copy()
    lit.stylize(HIGHLIGHT)
    return lit


def right(text: str, style: str = "") -> Text:
    return Text(text, style=style, justify="right")


BILL_COLUMNS: Final = (
    ("reference", "Reference"),
    ("due", "Due"),
    ("paid", "Paid"),
    ("remaining", "Remaining"),
    ("bar", "Paid"),
    ("status", "Status"),
    ("due_date", "Due date"),
)
ACCOUNT_COLUMNS: Final = (
    ("name", "Name"),
    ("reference", "Reference"),
    ("balance", "Balance"),
    ("bills", "Bills"),
    ("outstanding", "Outstanding"),
)
BAR_WIDTH: Final = 6


def bill_cells(row: BillRow, today: dt.date) -> Cells:
    """A bill's row: amounts, how much is paid, status (overdue in red), due date."""
    fraction = row.amount_paid / row.amount_due if row.amount_due else 1.0
    status = status_text(row.status, row.due_date, today)
    dim = "dim" if row.status == "voided" else ""
    overdue = "red" if status.plain == "overdue" else dim
    return (
        Text(row.external_reference, style=dim),
        right(money(row.amount_due, row.currency), dim),
        right(money(row.amount_paid, row.currency), dim),
        right(money(row.amount_remaining, row.currency), dim),
        Text(bar(fraction, BAR_WIDTH), style="dim" if dim else "green"),
        status,
        Text(row.due_date or "—", style=overdue),
    )


def outstanding(bills: Sequence[BillRow]) -> str:
    """``R 1,234.00 outstanding`` per currency, from the unpaid bills."""
    totals: dict[str, int] = {}
    for bill in bills:
        if bill.status == "unpaid":
            totals[bill.currency] = totals.get(bill.currency, 0) + bill.amount_remaining
    return " + ".join(money(amount, currency) for currency, amount in totals.items())


def bills_title(bills: Sequence[BillRow]) -> str:
    if not bills:
        return "Bills · none"
    owed = outstanding(bills)
    return f"Bills · {len(bills)}" + (f" · {owed} outstanding" if owed else "")


def holder_text(loaded: Loaded, role: str, object_id: str | None) -> str | Text:
    """The name of a bill's or account's customer (or account), else why there is none."""
    if not object_id:
        return "—"
    holder = loaded.holders.get(role)
    if holder is None:
        return Text(f"{object_id} (unknown to the catalogue and the API)", style="dim")
    return label_of(holder.obj)


def account_cells(row: AccountRow) -> Cells:
    outstanding = row.outstanding_currency or row.currency
    return (
        Text(row.name or "—"),
        Text(row.external_reference),
        right(money(row.balance, row.currency)),
        right(str(row.bills)),
        right(money(row.outstanding, outstanding) if row.outstanding else "—"),
    )


def flash(widget: Widget) -> None:
    """Mark a block changed (``-changed`` in details.tcss) for a moment."""
    widget.add_class("-changed")
    widget.set_timer(HIGHLIGHT_SECONDS, lambda: widget.remove_class("-changed"))


# --- the screen ----------------------------------------------------------------------------


class DetailScreen(ConsoleScreen):
    """One object's view. Subclasses set :attr:`kind` and write :meth:`compose_detail`,
    :meth:`draw` and (when they show more than the object) :meth:`shown`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refetch", "Re-fetch", show=False),
        Binding("c", "copy", "Copy", show=False),
    ]
    # Textual declares it an instance variable (`ClassVar[…] | None`): not ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]  # noqa: RUF012
    kind: ClassVar[ObjectKind]
    TIMELINE: ClassVar[str] = "Timeline · {payments} payment{s}"

    def __init__(self, console: MomentConsole, object_id: str) -> None:
        super().__init__(console)
        self.object_id = object_id
        self.crumb = object_id
        self.loaded: Loaded | None = None
        self.problem: str | None = None  # why there is nothing to show
        self._loading = False
        self._again = False
        self._refetching = False

    def compose_body(self) -> ComposeResult:
        yield Static("Loading …", id="detail-status", markup=False)
        yield from self.compose_detail()

    def compose_detail(self) -> ComposeResult:
        yield from ()

    # --- what the view shows (subclasses) ---------------------------------------------

    async def gather(self, entry: Entry[Any], related: Related) -> dict[str, Entry[Any] | None]:
        """Objects to draw beside this one (a bill's customer and account)."""
        return {}

    def draw(self, loaded: Loaded, before: Loaded | None) -> None:
        """Draw ``loaded``; ``before`` is the previous load (None the first time)."""

    def shown(self) -> list[tuple[ObjectKind, str]]:
        """The other objects on screen, for ``r``."""
        return []

    @property
    def current_id(self) -> str:
        """The object's id (the view may have been opened by external reference)."""
        return self.loaded.obj.id if self.loaded is not None else self.object_id

    def watched(self) -> set[str]:
        """Ids whose payments change what the view shows."""
        ids = {self.current_id}
        if self.loaded is not None:
            ids |= {row.id for row in self.loaded.related.accounts}
            ids |= {row.id for row in self.loaded.related.bills}
        return ids

    # --- the status line -----------------------------------------------------------------

    def say(self, text: str, *, error: bool = False) -> None:
        if not self.is_mounted:  # closed while a worker was still at it
            return
        status = self.query_one("#detail-status", Static)
        status.set_class(error, "-error")
        status.set_class(not text, "-empty")
        status.update(text)

    # --- loading --------------------------------------------------------------------------

    def resumed(self) -> None:
        self.reload()

    def changed(self, change: Change) -> None:
        if "privacy" in change.topics and self.loaded is not None:
            view = self.as_drawn(self.loaded)  # masked or not, at once: no reload
            self.draw(view, None)
            self._draw_timeline(view, None, lit=False)
        if "applications" in change.topics and change.touched & self.watched():
            self.reload()

    def reload(self) -> None:
        """Load again (once more after the load under way, if one is)."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.run_worker(self._load(), group="detail-load", exit_on_error=False)

    async def _load(self) -> None:
        try:
            while True:
                self._again = False
                try:
                    loaded = await self._read()
                except Exception as exc:  # a broken workspace: one line, never a traceback
                    self.problem = f"Could not read the catalogue: {exc or type(exc).__name__}"
                    self.say(self.problem, error=True)
                else:
                    if loaded is not None:
                        self._show(loaded)
                if not self._again:
                    break
        finally:
            self._loading = False

    async def _read(self) -> Loaded | None:
        from moment_tui.api.errors import MomentError, NotFound
        from moment_tui.ui.queries import Unavailable

        queries = self.console.queries
        entry = await queries.entry(self.kind, self.object_id)
        if entry is None:
            try:
                entry = await queries.fetch(self.kind, self.object_id)
            except NotFound:
                self._fail(
                    f"No {self.kind} {self.object_id}: neither the catalogue nor the API knows it."
                )
                return None
            except (MomentError, Unavailable) as exc:
                self._fail(
                    f"{self.object_id} is not in the catalogue, and the API could not say: {exc}"
                )
                return None
            self.console.state.catalogue_changed()
        related = await queries.related(self.kind, entry.obj.id)
        holders = await self.gather(entry, related)
        labels, currencies = _labels(entry, related, holders)
        mentioned = {i for app, _ in related.applications for i in _ids_of(app)}
        missing = mentioned - labels.keys()
        if missing:
            labels.update(await queries.names(missing))
        return Loaded(entry, related, labels, currencies, holders)

    def _fail(self, problem: str) -> None:
        self.problem = problem
        if self.loaded is None:
            self.say(problem, error=True)

    def _show(self, loaded: Loaded) -> None:
        if not self.is_mounted:
            return
        before, problem = self.loaded, self.problem
        self.loaded, self.problem = loaded, None
        if before is None or problem is not None:  # "Loading …" or why it was not shown
            self.say("")
        self.set_crumb(label_of(loaded.obj))
        view, was = self.as_drawn(loaded), None if before is None else self.as_drawn(before)
        self.draw(view, was)
        self._draw_timeline(view, was)
        if before is None:  # the first load only: later ones never move the focus
            self.refresh_bindings()  # o and a have something to open now
            for table in self.query(RowsTable):
                if table.row_count:
                    table.focus()
                    break

    def fresh(self, loaded: Loaded, before: Loaded | None) -> set[int]:
        """Payments in ``loaded`` that ``before`` did not have (or had in another state)."""
        if before is None:
            return set()
        old = {app.delivery_seq: app.state for app, _ in before.related.applications}
        return {
            app.delivery_seq
            for app, _ in loaded.related.applications
            if old.get(app.delivery_seq) != app.state
        }

    def compose_timeline(self) -> ComposeResult:
        title = self.TIMELINE.partition(" ·")[0]
        with Vertical(id="timeline-pane"):
            yield Static(title, id="timeline-title", classes="section", markup=False)
            with VerticalScroll(id="timeline-scroll"):
                yield Static(id="timeline")

    def _draw_timeline(self, loaded: Loaded, before: Loaded | None, *, lit: bool = True) -> None:
        fresh = self.fresh(loaded, before) if lit else set()
        deliveries = self.console.state.deliveries
        self.query_one("#timeline", Static).update(timeline(loaded, deliveries, fresh))
        payments = len(loaded.related.applications)
        title = self.query_one("#timeline-title", Static)
        title.update(self.TIMELINE.format(payments=payments, s="" if payments == 1 else "s"))
        if fresh:
            self.set_timer(HIGHLIGHT_SECONDS, self._unlight_timeline)

    def _unlight_timeline(self) -> None:
        if self.loaded is not None and self.is_mounted:
            self._draw_timeline(self.as_drawn(self.loaded), None, lit=False)

    # --- personal data (Ctrl+N masks it) ---------------------------------------------------

    def as_drawn(self, loaded: Loaded) -> Loaded:
        """``loaded`` as :meth:`draw` gets it: a customer's name, email and phone masked
        while the mask is on. ``self.loaded`` keeps the real values (edits, copies)."""
        if not self.console.state.masked:
            return loaded
        view: Loaded = masked_view(loaded)
        return view

    def crumb_shown(self, privacy: Privacy) -> str:
        """The crumb is the object's name once loaded: a customer's is masked."""
        name = getattr(self.loaded.obj, "name", None) if self.loaded is not None else None
        if self.loaded is None or not name or self.crumb != name:
            return self.crumb  # the id or reference it was opened by, or a reference
        return privacy.label(self.loaded.obj.id, self.crumb)

    # --- r: re-fetch -----------------------------------------------------------------------

    def action_refetch(self) -> None:
        if self._refetching:
            return
        if self.console.runtime.client is None:
            self.say(
                "There is no API to ask: no API key, and the sandbox is not running.", error=True
            )
            return
        self._refetching = True
        self.run_worker(self._refetch(), group="detail-refetch", exit_on_error=False)

    async def _refetch(self) -> None:
        targets = [(self.kind, self.current_id), *self.shown()[:REFETCH_LIMIT]]
        where = self.console.api_label
        done = 0
        failures: list[str] = []
        gate = asyncio.Semaphore(8)
        self.say(f"Re-fetching from {where} … 0 of {len(targets)}")

        async def one(kind: ObjectKind, object_id: str) -> None:
            nonlocal done
            async with gate:
                try:
                    await self.console.queries.fetch(kind, object_id)
                except Exception as exc:  # MomentError, Unavailable: one line each
                    failures.append(f"{object_id}: {exc or type(exc).__name__}")
                done += 1
                self.say(f"Re-fetching from {where} … {done} of {len(targets)}")

        try:
            await asyncio.gather(*(one(kind, object_id) for kind, object_id in targets))
        finally:
            self._refetching = False
        fetched = len(targets) - len(failures)
        at = dt.datetime.now().strftime("%H:%M:%S")
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            self.say(
                f"Re-fetched {fetched} of {len(targets)} at {at}; {failures[0]}{more}", error=True
            )
        else:
            what = "1 object" if fetched == 1 else f"{fetched} objects"
            self.say(f"Re-fetched {what} from {where} at {at}.")
        if fetched:
            self.console.state.catalogue_changed()
            self.reload()

    # --- c: copy ---------------------------------------------------------------------------

    def action_copy(self) -> None:
        from moment_tui.api.curl import curl_command
        from moment_tui.api.models import COLLECTION
        from moment_tui.ui.modals.copy import KEY_LABEL, CopyMenu

        object_id = self.current_id
        choices = [("Id", object_id)]
        if self.loaded is not None:
            data = self.loaded.obj.model_dump(mode="json")
            choices.append(("JSON", json.dumps(data, indent=2, ensure_ascii=False)))
        client = self.console.runtime.client
        if client is not None:
            path = f"{COLLECTION[self.kind]}/{object_id}"
            choices.append(
                ("curl", curl_command("GET", client.base_url, path, key_label=KEY_LABEL))
            )
        what = f"{self.kind} {self.crumb_shown(self.privacy)}"
        self.app.push_screen(CopyMenu(what, choices))

    # --- writes (edit, new bill, void, record or simulate a payment, bill page) ----------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Write keys are gone under ``--read-only`` (and the sandbox's, off it)."""
        from moment_tui.ui.screens.detail_writes import WRITES, allowed

        if action in WRITES:
            return allowed(self, action)
        return super().check_action(action, parameters)

    def _write(self, action: str) -> None:
        from moment_tui.ui.screens.detail_writes import run

        run(self, action)

    def action_edit(self) -> None:
        self._write("edit")

    def action_new_bill(self) -> None:
        self._write("new_bill")

    def action_pay(self) -> None:
        self._write("pay")

    def action_void(self) -> None:
        self._write("void")

    def action_record_payment(self) -> None:
        self._write("record_payment")

    def action_present(self) -> None:
        self._write("present")

    # --- drilling down ----------------------------------------------------------------------

    def open(self, kind: ObjectKind, object_id: str | None) -> None:
        from moment_tui.ui.navigate import open_detail

        if object_id:
            open_detail(self.app, self.console, kind, object_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        kind = TABLE_KIND.get(event.data_table.id or "")
        if kind is not None and event.row_key.value:
            event.stop()
            self.open(kind, event.row_key.value)


TABLE_KIND: Final[dict[str, ObjectKind]] = {"accounts": "account", "bills": "bill"}


def _ids_of(app: Application) -> set[str]:
    ids = {c.id for c in app.changes} | {bill for bill, _ in app.allocation}
    ids |= {d.id for d in app.drift}
    if app.target_id:
        ids.add(app.target_id)
    return ids


def _labels(
    entry: Entry[Any], related: Related, holders: Mapping[str, Entry[Any] | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """Labels and currencies of everything the load holds."""
    labels: dict[str, str] = {}
    currencies: dict[str, str] = {}
    objects = [entry.obj, *(h.obj for h in holders.values() if h is not None)]
    for obj in objects:
        labels[obj.id] = label_of(obj)
        if getattr(obj, "currency", None):
            currencies[obj.id] = obj.currency
    for account in related.accounts:
        labels[account.id] = account.name or account.external_reference
        if account.currency:
            currencies[account.id] = account.currency
    for bill in related.bills:
        labels[bill.id] = bill.external_reference
        currencies[bill.id] = bill.currency
    return labels, currencies
