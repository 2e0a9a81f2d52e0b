"""The Deliveries box: the table, and a hint in its place while there is nothing in it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from moment_tui.ui.widgets.delivery_table import DeliveryTable


class DeliveryList(Vertical):
    """Holds the :class:`DeliveryTable` (and the border around it).

    Empty, it shows a hint under the column headings — but only once the earlier
    sessions' deliveries are known to be none (:meth:`show_empty`), so a restart
    never flashes "no deliveries" before its history is drawn.
    """

    def __init__(self) -> None:
        super().__init__(id="delivery-list")
        self.border_title = "Deliveries"
        self.hint = "No deliveries yet."
        self.history_known = False

    def compose(self) -> ComposeResult:
        yield DeliveryTable()
        yield Static(self.hint, id="delivery-hint", markup=False)

    def set_hint(self, text: str) -> None:
        self.hint = text
        self.query_one("#delivery-hint", Static).update(text)

    def show_empty(self) -> None:
        """Draw the hint if the table has no rows, and under the box how many rows
        arrived below a reader who moved up (call after each flush)."""
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
