"""What the Customers, Accounts and Bills views share: a filter, a virtual table over
the catalogue, a line saying what is shown, and the live event pane.

Each view gives its columns, how to ask the query layer for ids and rows, and how a
row is drawn; this module does the rest: ``/`` filters as you type, ``s``/``S`` sort,
Enter opens the detail, ``r`` re-fetches the rows on screen from the API, ``c``
copies, ``e`` shows or hides the event pane. When a payment is applied, the rows it
touched are re-read and flash where they are: a list never jumps under the reader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, ClassVar, Final, Generic, TypeVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input

from moment_tui.store.browse import Filter, Order
from moment_tui.ui.modals.copy import KEY_LABEL, CopyMenu
from moment_tui.ui.navigate import kind_of, open_detail
from moment_tui.ui.present import counted
from moment_tui.ui.screens.base import ConsoleScreen
from moment_tui.ui.widgets.event_pane import EventPane
from moment_tui.ui.widgets.filter_input import FilterInput
from moment_tui.ui.widgets.lazy_rows import Column, Row, Sort
from moment_tui.ui.widgets.lazy_table import LazyTable
from moment_tui.ui.widgets.note import Note

if TYPE_CHECKING:
    from moment_tui.api.models import ObjectKind
    from moment_tui.ui.console import Console
    from moment_tui.ui.modals.simulate_payment import PayTarget
    from moment_tui.ui.state import Change

RowT = TypeVar("RowT")
WIDE: Final = 150  # from this many columns the event pane sits beside the list
FIRST_PAGE: Final = 100  # rows read with a list's ids: the table's first page
TALL: Final = 30  # below this many lines the pane under the list is shorter
REFETCH_LIMIT: Final = 40  # rows re-fetched by ``r``: what fits on a screen
SAID_SECONDS: Final = 10.0  # a payment's note stays on the count line this long


class CatalogueSource(Generic[RowT]):
    """A :class:`~moment_tui.ui.widgets.lazy_rows.RowSource` over the query layer.

    ``count`` takes a snapshot of the matching ids in the asked order (one query);
    pages are then read by id, so a page deep in 100,000 bills costs what the first
    does, and rows stay where they were until the next count.
    """

    def __init__(
        self,
        snapshot: Callable[[Order | None, int], Awaitable[tuple[list[str], dict[str, RowT]]]],
        read: Callable[[Collection[str]], Awaitable[dict[str, RowT]]],
        draw: Callable[[RowT], Row],
    ) -> None:
        self._take = snapshot
        self._read = read
        self._draw = draw
        self._snapshot: tuple[Sort | None, list[str]] | None = None
        self._index: dict[str, int] | None = None
        self._first: dict[str, RowT] = {}  # the first page, read with the snapshot
        self.problem: str | None = None  # why the catalogue could not be read

    def _failed(self, exc: Exception) -> None:
        """A workspace that did not open (or broke): the list is empty, and says why."""
        self.problem = str(exc) or type(exc).__name__
        self._snapshot = None

    async def _keys(self, sort: Sort | None) -> list[str]:
        if self._snapshot is None or self._snapshot[0] != sort:
            order = Order(sort.column, sort.descending) if sort is not None else None
            ids, self._first = await self._take(order, FIRST_PAGE)
            self._snapshot = (sort, ids)
            self._index = None
        return self._snapshot[1]

    async def count(self, sort: Sort | None) -> int:
        self._snapshot = None  # a count is a fresh look: rows may have come or gone
        try:
            return len(await self._keys(sort))
        except Exception as exc:
            self._failed(exc)
            return 0

    async def rows(self, offset: int, limit: int, sort: Sort | None) -> list[Row]:
        try:
            keys = (await self._keys(sort))[offset : offset + limit]
            first, self._first = self._first, {}
            found = first if keys and all(k in first for k in keys) else await self._read(keys)
        except Exception as exc:
            self._failed(exc)
            return []
        return [self._draw(found[key]) for key in keys if key in found]

    async def rows_by_key(self, keys: Collection[str]) -> dict[str, Row]:
        try:
            found = await self._read(keys)
        except Exception as exc:
            self._failed(exc)
            return {}
        return {key: self._draw(row) for key, row in found.items()}

    async def position(self, key: str, sort: Sort | None) -> int | None:
        try:
            keys = await self._keys(sort)
        except Exception as exc:
            self._failed(exc)
            return None
        if self._index is None:
            self._index = {k: i for i, k in enumerate(keys)}
        return self._index.get(key)


class ListScreen(ConsoleScreen, Generic[RowT]):
    """A browse view; subclasses set the class attributes and the three hooks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority (not while typing in the filter): the form is pushed as the app reads
        # the key, so text typed right after it reaches the form's first field. A plain
        # binding acted only once the key had bubbled back up from the table, and the
        # keys typed meanwhile went to the table.
        Binding("n", "new", "New", priority=True),
        # Likewise "/", the focus set at once: "/nomvula" typed in one burst went to the
        # table, where its "n" opened a form.
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        # In ? and the palette, not the footer: at 80 columns it has room for the rest.
        Binding("r", "refetch", "Re-fetch", show=False),
        Binding("c", "copy", "Copy", show=False),
        Binding("e", "toggle_events", "Events", show=False),
        Binding(
            "p", "pay", "Pay", show=False, tooltip="Simulate a payment to the row under the cursor"
        ),
    ]
    EXTRA_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("/", "filter as you type: name, email, phone, id, external reference (Esc clears)"),
        ("s / S", "sort by the next column / reverse the order"),
    )
    kind: ClassVar[ObjectKind]
    noun: ClassVar[str]  # "bills"
    columns: ClassVar[tuple[Column, ...]]
    default_sort: ClassVar[Sort]

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.filter_text = ""
        self.count: int | None = None
        self.source: CatalogueSource[RowT] | None = None
        self._seen = console.state.version
        self._masked = console.state.masked  # as the rows were drawn
        self._said = ""  # what a payment from the list did, on the count line a while
        self._said_timer: Timer | None = None

    # --- what a view gives --------------------------------------------------------------

    def read(self, ids: Collection[str]) -> Awaitable[dict[str, RowT]]:
        raise NotImplementedError

    def draw(self, row: RowT) -> Row:
        raise NotImplementedError

    def current_filter(self) -> Filter:
        """The filter the list shows (a view adds its own, e.g. a bill status)."""
        return self.console.queries.filter(text=self.filter_text)

    def describe_filter(self) -> str:
        return f"matching “{self.filter_text}”" if self.filter_text else ""

    # --- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="browse"):
            with Vertical(id="list-side"):
                yield FilterInput(placeholder=f"Filter {self.noun} …", id="filter")
                yield Note(id="list-note")
                table = LazyTable(self.columns, sort=self.default_sort, id="list")
                table.empty_text = f"No {self.noun} known here yet."
                yield table
            yield EventPane(self.console.queries)

    def on_mount(self) -> None:
        if not self.query("#list"):
            return  # a view being made ahead as the app closed: its widgets are gone
        self.query_one("#filter", Input).display = False
        table = self.query_one(LazyTable)
        table.set_source(self._source())
        table.focus()
        self._place_pane(self.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._place_pane(event.size.width)

    def _place_pane(self, width: int) -> None:
        browse = self.query_one("#browse")
        browse.set_class(width >= WIDE, "-wide")
        browse.set_class(self.size.height < TALL, "-short")  # 80x24: a smaller pane

    def _source(self) -> CatalogueSource[RowT]:
        f = self.current_filter()
        queries = self.console.queries
        self.source = CatalogueSource(
            lambda order, first: queries.snapshot(self.kind, f, order, first), self.read, self.draw
        )
        return self.source

    # --- following the state --------------------------------------------------------------

    def resumed(self) -> None:
        """Shown again: read the list again only if the catalogue changed meanwhile (or
        the mask was turned on or off)."""
        state = self.console.state
        stale = (state.version, state.masked) != (self._seen, self._masked)
        if self.is_mounted and self.count is not None and stale:
            self.query_one(LazyTable).reload()
        self._seen, self._masked = state.version, state.masked

    def changed(self, change: Change) -> None:
        self._seen = self.console.state.version
        table = self.query_one(LazyTable)
        if change.topics & {"catalogue", "privacy"}:  # privacy: rows drawn (un)masked
            self._masked = self.console.state.masked
            table.reload()
        elif change.touched:
            table.refresh_rows(self.touched_keys(change, table))

    def touched_keys(self, change: Change, table: LazyTable) -> Collection[str]:
        """The rows a payment may have changed: those it touched, by default."""
        return change.touched

    def on_lazy_table_loaded(self, event: LazyTable.Loaded) -> None:
        self.count = event.count
        # Empty because of the filter, or because there is nothing at all.
        empty = (
            f"No {self.noun} match the filter."
            if self.describe_filter()
            else f"No {self.noun} known here yet."
        )
        table = event.table
        if empty != table.empty_text:
            table.empty_text = empty
            if not event.count:
                table.refresh()
        self._note()

    def _note(self) -> None:
        """One line: how many, filtered how; off the sandbox, where the list comes from."""
        if self.source is not None and self.source.problem is not None:
            note = f"The catalogue could not be read: {self.source.problem}"
            self.query_one(Note).set(note)
            return
        count = self.count or 0
        parts = [counted(count, self.kind, self.noun)]
        described = self.describe_filter()
        if described:
            parts.append(described)
        note = " · ".join(parts)
        if count:
            note += f" · row {self.query_one(LazyTable).cursor_row + 1:,}"
        if self._said:
            note += f" · {self._said}"
        if not self.console.is_sandbox and not described:
            note += (
                f" · Moment cannot list {self.noun}: these are the ones this workspace created,"
                " imported, fetched or heard of in a webhook; g looks one up"
            )
        self.query_one(Note).set(note)

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        self._note()  # where the cursor is: the list has no scrollbar

    # --- actions --------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        self.set_focus(field)  # now, not after this turn: the next key is the filter's

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and event.value.strip() != self.filter_text:
            self.filter_text = event.value.strip()
            self.query_one(LazyTable).set_source(self._source())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(LazyTable).focus()

    def on_filter_input_left(self, event: FilterInput.Left) -> None:
        """Esc in the filter cleared it (and hides it); ↓ keeps it. Either way, the list."""
        if event.cleared:
            self.query_one("#filter", Input).display = False
        self.query_one(LazyTable).focus()

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        kind = kind_of(event.key) or self.kind
        open_detail(self.app, self.console, kind, event.key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new", "pay") and self.console.read_only:
            return False  # read-only: no write in the footer, the keys or the palette
        if action == "pay" and not self.console.is_sandbox:
            return False  # only the sandbox simulates payments
        typing = self.focused is not None and self.focused.id == "filter"
        if action in ("filter", "new") and typing:
            return False  # typing in the filter: "/" and "n" are text
        if action == "back" and self.filter_text:
            return True  # Esc on the list clears its filter
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        """Esc on a filtered list shows the whole list again (as Esc in the filter
        does); on an unfiltered one, back, as on every screen."""
        if not self.filter_text:
            super().action_back()
            return
        field = self.query_one("#filter", Input)
        field.value = ""  # its Changed message lists everything again
        field.display = False
        self.query_one(LazyTable).focus()

    def action_new(self) -> None:
        from moment_tui.ui.navigate import new_form

        self.app.push_screen(new_form(self.app, self.console, self.kind))

    def action_pay(self) -> None:
        """``p``: the simulate-a-payment dialog for the row under the cursor."""
        key = self.query_one(LazyTable).cursor_key
        if key is None:
            self.notify("No row under the cursor to pay.", severity="warning")
            return
        self.offer_payment(key)

    @work(group="pay", exclusive=True, exit_on_error=False)
    async def offer_payment(self, key: str) -> None:
        from moment_tui.ui.screens.detail_writes import offer_payment

        try:
            row = (await self.read([key])).get(key)
        except Exception as exc:  # a broken workspace: one line, never a traceback
            self.notify(f"Could not read the catalogue: {exc}", severity="error")
            return
        if row is None:
            self.notify(f"{key} is no longer in the catalogue.", severity="warning")
            return
        offer_payment(self, self.pay_targets(row), self.say, note=self.pay_note(row))

    def say(self, text: str, *, error: bool = False) -> None:
        """What a payment from the list did, on its count line for a few seconds: a
        toast covered the live pane, where its delivery shows, at 80x24. Why one
        could not be made is a toast (a warning, seen wherever the eye is)."""
        if error:
            self.notify(text, severity="warning", timeout=8)
            return
        self._said = text
        self._note()
        if self._said_timer is not None:
            self._said_timer.stop()
        self._said_timer = self.set_timer(SAID_SECONDS, self._unsay)

    def _unsay(self) -> None:
        self._said = ""
        self._said_timer = None
        self._note()

    def pay_targets(self, row: RowT) -> list[PayTarget]:
        """What a payment from this row may go to (the view's own object first)."""
        raise NotImplementedError

    def pay_note(self, row: RowT) -> str:
        """Why the row's own object is not among them (a paid or voided bill)."""
        return ""

    def action_toggle_events(self) -> None:
        pane = self.query_one(EventPane)
        pane.show(self.console.state, not pane.display)

    def action_copy(self) -> None:
        key = self.query_one(LazyTable).cursor_key
        if key is None:
            self.notify("No row under the cursor to copy.", severity="warning")
            return
        self.copy_object(key)

    @work(group="copy", exclusive=True, exit_on_error=False)
    async def copy_object(self, object_id: str) -> None:
        from moment_tui.api.curl import curl_command
        from moment_tui.api.models import COLLECTION

        kind = kind_of(object_id) or self.kind
        entry = await self.console.queries.entry(kind, object_id)
        choices: list[tuple[str, str]] = [("Id", object_id)]
        if entry is not None:
            choices.append(("JSON", entry.obj.model_dump_json(indent=2)))
        client = self.console.runtime.client
        if client is not None:
            path = f"{COLLECTION[kind]}/{object_id}"
            choices.append(
                ("Curl", curl_command("GET", client.base_url, path, key_label=KEY_LABEL))
            )
        self.app.push_screen(CopyMenu(object_id, choices))

    def action_refetch(self) -> None:
        keys = self.query_one(LazyTable).visible_keys()[:REFETCH_LIMIT]
        if keys:
            what = counted(len(keys), self.kind, self.noun)
            self.notify(f"Re-fetching {what} from the API …", timeout=3)
            self.refetch(keys)

    @work(group="refetch", exclusive=True, exit_on_error=False)
    async def refetch(self, keys: list[str]) -> None:
        from moment_tui.api.errors import MomentError
        from moment_tui.ui.queries import Unavailable

        objects: list[tuple[ObjectKind, str]] = [(kind_of(k) or self.kind, k) for k in keys]
        try:
            answered = await self.console.queries.refetch(objects)
        except (MomentError, Unavailable) as exc:
            self.notify(f"Could not re-fetch: {exc}", severity="error", timeout=10)
            return
        self.query_one(LazyTable).refresh_rows(keys)
        missing = len(keys) - answered
        tail = f"; {missing} could not be fetched" if missing else ""
        self.notify(f"Re-fetched {counted(answered, self.kind, self.noun)}{tail}.", timeout=4)
