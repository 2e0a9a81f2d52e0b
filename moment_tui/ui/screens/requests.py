"""The Requests view: every call the console made to Moment's API, newest at the bottom.

The rows are the client's :class:`~moment_tui.api.client.RequestLog` (its last 1000
attempts), drawn as they are made while the view is shown, and caught up with when it
is shown again. Enter opens a call whole (:class:`RequestDetail`), ``c`` copies its
curl, bodies or path. Every text drawn passes through the secret mask first; with
Ctrl+N on, names, emails and phones in a row's query and problem, and in the detail's
bodies and curl, are drawn masked too (a call under ``/billing/customers`` is masked as
a customer whatever its body holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Final

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from moment_tui.ui.modals.request_detail import (
    RequestDetail,
    copy_menu,
    masked_record,
    shown,
    target,
    utc,
)
from moment_tui.ui.present import short
from moment_tui.ui.screens.base import ConsoleScreen

if TYPE_CHECKING:
    from moment_tui.api.client import RequestRecord
    from moment_tui.ui.console import Console
    from moment_tui.ui.state import Change

HINT: Final = "No API calls yet: they appear here as the console makes them."
WIDE: Final = 104  # from this width the table has room for Try, Idem. key and Replayed
PATH_MIN: Final = 16  # the path is never cut narrower than this
PROBLEM_ROOM: Final = 24  # at most what a cut path leaves Problem (a third of their room)
STATUS_ERROR_WIDTH: Final = 18  # a transport error in the Status column ("timed out")
_MOVE: Final = Binding.Group("Move", compact=True)  # the footer's "↑↓ Move"

# (heading, key) of each column; the narrow table folds the middle three into Status.
WIDE_COLUMNS: Final = (
    ("Time UTC", "time"),
    ("Method", "method"),
    ("Path", "path"),
    ("Status", "status"),
    ("ms", "latency"),
    ("Try", "attempt"),
    ("Idem. key", "key"),
    ("Replayed", "replayed"),
    ("Problem", "problem"),
)
CUT: Final = {"path": "Path", "problem": "Problem"}  # the columns cut to fit, by heading
NARROW_COLUMNS: Final = tuple(c for c in WIDE_COLUMNS if c[1] not in {"attempt", "key", "replayed"})


def is_probe(record: RequestRecord) -> bool:
    """The console's connection check: a customer that cannot exist, asked for at the
    start (Moment has no health endpoint), 404 when the API is there and the key works."""
    from moment_tui.api.client import PROBE_REFERENCE

    return record.status == 404 and record.path.endswith(f"/{PROBE_REFERENCE}")


def status_cell(record: RequestRecord, *, folded: bool = False) -> Text:
    """The status (coloured by class), or why no answer came; ``folded`` adds the try
    and the replay that a narrow table has no columns for."""
    if record.status is None:
        return Text(short(shown(record.error or "no answer"), STATUS_ERROR_WIDTH), style="red")
    style = "green" if record.status < 300 else "yellow" if record.status < 500 else "red"
    text = Text(str(record.status), style=style)
    if folded and record.attempt > 1:
        text.append(f" try {record.attempt}", style="dim")
    if folded and record.replayed:
        text.append(" replayed", style="dim")
    return text


def cells(record: RequestRecord, *, wide: bool, masked: bool = False) -> dict[str, Text]:
    """A row's cells by column key; path and problem whole (cut with "…" when drawn).
    ``masked`` (Ctrl+N): personal data in the query and the problem drawn masked."""
    if masked:
        record = masked_record(record, bodies=False)
    key = record.idempotency_key
    row = {
        "time": Text(utc(record).strftime("%H:%M:%S")),
        "method": Text(record.method),
        "path": Text(shown(target(record)), overflow="ellipsis", no_wrap=True),
        "status": status_cell(record, folded=not wide),
        "latency": Text(f"{record.latency_ms:.0f}", justify="right"),
        "attempt": Text(str(record.attempt) if record.attempt > 1 else ""),
        "key": Text(shown(f"{key[:8]}…" if len(key) > 8 else key) if key else ""),
        "replayed": Text("✓" if record.replayed else "", style="green"),
        "problem": Text(
            shown(record.problem or ""), style="red", overflow="ellipsis", no_wrap=True
        ),
    }
    if is_probe(record):  # its 404 is the answer hoped for, not a problem
        row["status"].stylize("green")
        row["problem"] = Text(
            "connection check: a 404 means the key works",
            style="dim",
            overflow="ellipsis",
            no_wrap=True,
        )
    columns = WIDE_COLUMNS if wide else NARROW_COLUMNS
    return {column: row[column] for _, column in columns}


class RequestTable(DataTable[Text]):
    """One row per attempt, oldest first. Follows new rows only while the cursor is on
    the newest; otherwise counts them in :attr:`unseen` and leaves the cursor be."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Move up", key_display="↑", group=_MOVE),
        Binding("down", "cursor_down", "Move down", key_display="↓", group=_MOVE),
        Binding("enter", "select_cursor", "Open", key_display="Enter"),
    ]

    def __init__(self) -> None:
        super().__init__(id="requests", cursor_type="row", zebra_stripes=True)
        self.records: dict[str, RequestRecord] = {}  # by row key, oldest first
        self._keys: dict[int, str] = {}  # id(record) → row key (records are held: ids stay)
        self._widest: dict[str, int] = {}  # the widest text in each column (path: uncut)
        self._wide: bool | None = None
        self.masked = False  # Ctrl+N: rows drawn with personal data masked
        self._counter = 0
        self.unseen = 0  # rows added below the cursor since it left the newest row

    # --- layout ------------------------------------------------------------------------

    def _should_be_wide(self) -> bool:
        width = self.size.width or self.app.size.width - 2  # before layout: the screen's
        return width >= WIDE

    def set_masked(self, masked: bool) -> None:
        """Ctrl+N: draw every row again, masked or not."""
        if masked != self.masked:
            self.masked = masked
            self._wide = None  # the columns, and with them every row, drawn again
            self._ensure_columns()

    def _ensure_columns(self) -> None:
        wide = self._should_be_wide()
        if wide == self._wide and self.columns:
            return
        following, cursor_key = self._where()
        self._wide = wide
        self.clear(columns=True)
        for label, key in WIDE_COLUMNS if wide else NARROW_COLUMNS:
            # Path and Problem have the widths _fit gives them; the rest fit their cells.
            self.add_column(label, key=key, width=len(label) if key in CUT else None)
        records = list(self.records.values())
        self._forget_all()
        for record in records:
            self._add(record)
        self._fit()
        self._restore(following, cursor_key)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """Redraw every row when the columns widen (see DeliveryTable.watch_virtual_size:
        Textual 8.2.8 keeps renders of rows drawn at the old widths)."""
        if new.width != old.width:
            self.notify_style_update()  # DataTable's way to clear its render caches

    def on_resize(self) -> None:
        self._ensure_columns()
        self._fit()
        if self.row_count:  # the highlighted row stays in view (Enter opens it)
            self.call_after_refresh(self.move_cursor, row=self.cursor_row)

    def _widths(self) -> dict[str, int]:
        """The widths path and problem are cut to: whole if both fit beside the other
        columns; else the path gives way first, down to what leaves the problem a third of
        their room (at most :data:`PROBLEM_ROOM`; the path never below :data:`PATH_MIN`),
        then the problem."""
        pad = 2 * self.cell_padding
        others = sum(
            max(cell_len(str(column.label)), self._widest.get(str(key.value), 0)) + pad
            for key, column in self.columns.items()
            if key.value not in CUT
        )
        available = self.scrollable_content_region.width or self.app.size.width - 4
        room = available - others - 2 * pad
        path, problem = (max(len(label), self._widest.get(key, 0)) for key, label in CUT.items())
        if path + problem > room:
            share = max(len(CUT["problem"]), min(room // 3, PROBLEM_ROOM))
            path = max(PATH_MIN, min(path, room - min(problem, share)))
            problem = max(len(CUT["problem"]), room - path)
        return {"path": path, "problem": problem}

    def _fit(self) -> None:
        """Give Path and Problem the widths :meth:`_widths` finds. Their cells cut
        themselves with "…", so no row is touched, however many there are (updating
        1000 cells to narrower texts costs DataTable a million measurements)."""
        changed = False
        for key, width in self._widths().items():
            column = self.columns.get(ColumnKey(key))
            if column is not None and column.width != width:
                column.width = width
                changed = True
        if changed:
            width = sum(column.get_render_width(self) for column in self.columns.values())
            self.virtual_size = Size(width, self.virtual_size.height)
            self.notify_style_update()  # drop the renders made at the old widths

    # --- rows ----------------------------------------------------------------------------

    def sync(self, log: Sequence[RequestRecord]) -> None:
        """Show exactly ``log`` (oldest first): add what is new since the last call,
        drop what it no longer holds. Cheap when little changed: the last row drawn is
        looked for from the log's end."""
        self._ensure_columns()
        following, cursor_key = self._where()
        last = next(reversed(self.records.values()), None)
        start: int | None = 0
        if last is not None:
            start = next((i + 1 for i in range(len(log) - 1, -1, -1) if log[i] is last), None)
        stale: list[str] = []  # rows of records the log no longer holds (the oldest)
        first = self._keys.get(id(log[0])) if start is not None and log else None
        if first is not None:
            for key in self.records:
                if key == first:
                    break
                stale.append(key)
        fresh = list(log[start:]) if start is not None else list(log)
        if start is None:
            # The log moved on past everything drawn (or was replaced): draw it again.
            # Otherwise old rows are removed one by one, which costs less than drawing
            # the rest again (DataTable measures every cell of every row it is given).
            self.clear()
            self._forget_all()
            for record in log:
                self._add(record)
        else:
            # New rows first: the cursor's index stays valid while the old ones go, so
            # DataTable does not move it (a highlight event each) once per row removed.
            for record in fresh:
                self._add(record)
            for key in stale:
                self.remove_row(key)
                self._forget(key)
        self._fit()
        if fresh and not following:  # the reader is further up: say what came, stay put
            self.unseen += len(fresh)
        self._restore(following, cursor_key)

    def _where(self) -> tuple[bool, str | None]:
        """Is the cursor on the newest row (or the table empty), and on which row."""
        if not self.row_count:
            return True, None
        following = self.cursor_row >= self.row_count - 1
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return following, key

    def _restore(self, following: bool, key: str | None) -> None:
        if not self.row_count:
            return
        if following:
            self.move_cursor(row=self.row_count - 1)
        elif key is not None:
            # The same call; if it left the log, the oldest left: the nearest to it.
            index = self.get_row_index(key) if key in self.records else 0
            if index != self.cursor_row:
                self.move_cursor(row=index)

    def _add(self, record: RequestRecord) -> None:
        self._counter += 1
        key = str(self._counter)
        self.records[key] = record
        self._keys[id(record)] = key
        row = cells(record, wide=bool(self._wide), masked=self.masked)
        for column, text in row.items():
            self._widest[column] = max(self._widest.get(column, 0), text.cell_len)
        self.add_row(*row.values(), key=key)

    def _forget(self, key: str) -> None:
        record = self.records.pop(key)
        self._keys.pop(id(record), None)

    def _forget_all(self) -> None:
        self._widest.clear()
        self.records.clear()
        self._keys.clear()

    @property
    def highlighted(self) -> RequestRecord | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.records.get(key or "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.cursor_row >= self.row_count - 1:
            self.unseen = 0


class RequestList(Vertical):
    """The box around the table, its hint while there is nothing in it, and the count
    of rows that arrived below the cursor."""

    def __init__(self) -> None:
        super().__init__(id="request-list")
        self.border_title = "API calls"

    def compose(self) -> ComposeResult:
        yield RequestTable()
        yield Static(HINT, id="requests-hint", markup=False)

    @property
    def table(self) -> RequestTable:
        return self.query_one(RequestTable)

    def show(self) -> None:
        table = self.table
        self.set_class(table.row_count == 0, "-empty")
        self.border_title = f"API calls · {table.row_count}" if table.row_count else "API calls"
        self.border_subtitle = f"{table.unseen} new below ↓" if table.unseen else ""

    def on_data_table_row_highlighted(self) -> None:
        self.show()  # the table has cleared its count once at the newest row


class RequestsScreen(ConsoleScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy"),
    ]
    crumb = "Requests"

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self._scheduled = False

    def compose_body(self) -> ComposeResult:
        yield RequestList()

    # --- following the log -------------------------------------------------------------

    def resumed(self) -> None:
        self.schedule_sync()  # what arrived while hidden

    def changed(self, change: Change) -> None:
        # "connection": the log is watched from the runtime's start, with what it holds.
        if change.topics & {"requests", "connection", "privacy"}:
            self.schedule_sync()

    def schedule_sync(self) -> None:
        """Draw what arrived once the loop is idle (a burst of calls, one redraw)."""
        if not self._scheduled:
            self._scheduled = True
            self.call_later(self.sync)

    def sync(self) -> None:
        self._scheduled = False
        if not self.is_mounted:
            return
        log = self.console.state.requests
        box = self.query_one(RequestList)
        box.table.set_masked(self.console.state.masked)
        had_rows = box.table.row_count > 0
        box.table.sync(list(log) if log is not None else [])
        box.show()
        if (box.table.row_count > 0) != had_rows:
            self.refresh_bindings()  # c: greyed out with nothing to copy

    # --- actions ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        client = self.console.runtime.client
        return client.base_url if client is not None else self.console.settings.api_url

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy":  # nothing to copy yet: the key shows, greyed out
            return self.query_one(RequestTable).highlighted is not None or None
        return super().check_action(action, parameters)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        record = self.query_one(RequestTable).records.get(event.row_key.value or "")
        if record is not None:
            masked = self.console.state.masked
            self.app.push_screen(RequestDetail(record, self.base_url, masked=masked))

    def action_copy(self) -> None:
        record = self.query_one(RequestTable).highlighted
        if record is not None:
            masked = self.console.state.masked
            self.app.push_screen(copy_menu(record, self.base_url, masked=masked))
