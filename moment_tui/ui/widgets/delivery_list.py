"""The Deliveries box: the live table of deliveries, fed by the console state, and a
hint in its place while there is nothing in it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from moment_tui.ui.follows import Follows
from moment_tui.ui.present import deliveries_hint
from moment_tui.ui.privacy import Privacy
from moment_tui.ui.state import Change, ConsoleState
from moment_tui.ui.widgets.delivery_table import BURST_SECONDS, DeliveryTable

RETRY_SECONDS: Final = BURST_SECONDS / 4  # a burst held back is looked at again this soon
# At most this often: a DataTable redraws every visible row when rows are added, which
# at 100 deliveries a second would take most of the loop from the rows people read.
FLUSH_EVERY: Final = 0.25

if TYPE_CHECKING:
    from moment_tui.ui.queries import Queries


class OpenObject(Message):
    """Open this object's detail (a link chosen in the inspector); the screen does it."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__()
        self.kind = kind
        self.object_id = object_id


class DeliveryList(Vertical, Follows):
    """Holds the :class:`DeliveryTable` (and the border around it).

    New deliveries are drawn as soon as the loop is idle (a burst at most once a
    second: see :meth:`DeliveryTable.flush`). Empty, it shows a hint under the column
    headings — but only once the earlier sessions' deliveries are known to be none,
    so a restart never flashes "no deliveries" before its history is drawn.
    """

    def __init__(self, *, queries: Queries | None = None, id: str = "delivery-list") -> None:
        super().__init__(id=id)
        self.queries = queries  # to name whom the money went to (without: ids)
        self.border_title = "Deliveries"
        self.hint = "No deliveries yet."
        self.history_known = False
        self._scheduled = False
        self._flushed_at = 0.0

    def compose(self) -> ComposeResult:
        yield DeliveryTable()
        yield Static(self.hint, id="delivery-hint", markup=False)

    # --- following the state ------------------------------------------------------------

    def follow(self, state: ConsoleState) -> None:
        """Everything the state holds that the table lacks (it skips what it has)."""
        table = self.table
        table.set_privacy(Privacy(state.masked))
        table.queue_history(state.recent())
        for application in state.applications.values():
            table.queue_result(application)
        self._hint_from(state)
        self.schedule_flush()

    def changed(self, change: Change, state: ConsoleState) -> None:
        if "privacy" in change.topics:
            self.table.set_privacy(Privacy(state.masked))
        if change.deliveries:
            self.table.queue_history(list(change.deliveries))
        for application in change.applications:
            self.table.queue_result(application)
        if change.topics & {"deliveries", "connection"}:
            self._hint_from(state)
        if change.deliveries or change.applications or "deliveries" in change.topics:
            self.schedule_flush()

    def _hint_from(self, state: ConsoleState) -> None:
        self.history_known = state.history_known
        hint = deliveries_hint(state)
        if hint is not None:
            self.set_hint(hint)

    # --- drawing --------------------------------------------------------------------------

    def schedule_flush(self) -> None:
        """Draw what arrived once the loop is idle (many changes, one redraw), and at
        most every :data:`FLUSH_EVERY` seconds."""
        if self._scheduled:
            return
        self._scheduled = True
        wait = self._flushed_at + FLUSH_EVERY - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self.flush)
        else:
            self.call_later(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self.is_mounted:
            return
        self._flushed_at = time.monotonic()
        if not self.table.flush():  # a burst waits for its second
            self._scheduled = True
            self.set_timer(RETRY_SECONDS, self.flush)
        self.show_empty()
        if self.queries is not None and (wanted := self.table.wanted_names()):
            self.look_up_names(wanted)

    @work(group="names", exclusive=True, exit_on_error=False)
    async def look_up_names(self, ids: set[str]) -> None:
        """Names from the catalogue (ids it does not know keep showing as ids)."""
        assert self.queries is not None
        names = await self.queries.names(ids)
        self.table.set_names({i: names.get(i, i) for i in ids})

    def set_hint(self, text: str) -> None:
        self.hint = text
        self.query_one("#delivery-hint", Static).update(text)

    def show_empty(self) -> None:
        """Draw the hint if the table has no rows, and under the box how many rows
        arrived below a reader who moved up."""
        table = self.table
        self.set_class(self.history_known and table.row_count == 0, "-empty")
        self.show_unseen()

    def show_unseen(self) -> None:
        unseen = self.table.unseen
        self.border_subtitle = f"{unseen} new below ↓" if unseen else ""

    def on_data_table_row_highlighted(self) -> None:
        self.show_unseen()  # the table has cleared its count once at the newest row

    @property
    def table(self) -> DeliveryTable:
        return self.query_one(DeliveryTable)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a delivery: the inspector, with links to what it touched."""
        from moment_tui.ui.modals.delivery_detail import DeliveryDetail

        event.stop()
        table = self.table
        seq = int(event.row_key.value or 0)
        delivery = table.deliveries.get(seq)
        if delivery is not None:
            labels = table.privacy.labels(table.names)
            detail = DeliveryDetail(delivery, table.applications.get(seq), labels)
            self.app.push_screen(detail, self._open_link)

    def _open_link(self, link: tuple[str, str] | None) -> None:
        if link is not None:
            self.post_message(OpenObject(*link))
