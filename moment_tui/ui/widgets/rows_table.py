"""The tables in a detail view (a customer's accounts and bills, an account's bills):
rows drawn from the query layer's rows, updated in place and lit when they change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Final

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable

from moment_tui.ui.present import HIGHLIGHT, HIGHLIGHT_SECONDS, bar, money, status_text

if TYPE_CHECKING:
    from moment_tui.store.browse import AccountRow, BillRow

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
    ("bar", "%"),  # the paid share as a bar; "Paid" is the amount beside it
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
BAR_WIDTH: Final = 4  # the table fits 78 columns (80x24, the timeline below it)


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
