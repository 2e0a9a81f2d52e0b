"""Bills: reference, customer, account, amounts due / paid / remaining, a paid bar,
status, dates, overdue marked; ``f`` cycles the status shown."""

from __future__ import annotations

from collections.abc import Awaitable, Collection
from typing import TYPE_CHECKING, ClassVar, Final

from rich.text import Text
from textual.binding import Binding, BindingType

from moment_tui.store.browse import STATUS_FILTERS, BillRow, Filter, StatusFilter
from moment_tui.ui.present import bar, days_overdue, money, status_text
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.widgets.lazy_rows import Column, Row, Sort
from moment_tui.ui.widgets.lazy_table import LazyTable

if TYPE_CHECKING:
    from moment_tui.ui.console import Console
    from moment_tui.ui.modals.simulate_payment import PayTarget

BAR_WIDTH: Final = 8


class BillsScreen(ListScreen[BillRow]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "next_status", "Status"),
    ]
    EXTRA_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        *ListScreen.EXTRA_KEYS,
        ("f", "status: all → unpaid → overdue → paid → voided → all"),
    )
    crumb = "Bills"
    kind = "bill"
    noun = "bills"
    # Narrow terminals drop the highest priority first: the reference, customer,
    # remaining, status and due date stay at 80 columns.
    columns = (
        Column("reference", "Reference", 16),
        Column("customer", "Customer", 14, flex=1),
        Column("account", "Account", 14, priority=5),
        Column("amount_due", "Due", 12, align="right", priority=3),
        Column("amount_paid", "Paid", 12, align="right", priority=4),
        Column("amount_remaining", "Remaining", 12, align="right"),
        Column("paid_fraction", "Paid %", BAR_WIDTH, priority=6),
        Column("status", "Status", 7),
        Column("bill_date", "Billed", 10, priority=7),
        Column("due_date", "Due date", 15, priority=2),
    )
    default_sort = Sort("due_date")

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.status: StatusFilter | None = None

    def read(self, ids: Collection[str]) -> Awaitable[dict[str, BillRow]]:
        return self.console.queries.bill_rows(ids)

    def pay_targets(self, row: BillRow) -> list[PayTarget]:
        from moment_tui.ui.screens.detail_writes import bill_targets

        account = (row.account_name or row.account_id, None) if row.account_id else None
        return bill_targets(row, account, (row.customer_name or row.customer_id, None))

    def pay_note(self, row: BillRow) -> str:
        from moment_tui.ui.screens.detail_writes import bill_note

        return bill_note(row)

    def current_filter(self) -> Filter:
        return self.console.queries.filter(text=self.filter_text, status=self.status)

    def describe_filter(self) -> str:
        parts: list[str] = [self.status] if self.status else []
        if self.filter_text:
            parts.append(f"matching “{self.filter_text}”")
        return " · ".join(parts)

    def draw(self, b: BillRow) -> Row:
        today = self.console.today()
        late = days_overdue(b.due_date, today) if b.status == "unpaid" else 0
        due = b.due_date or "—"
        fraction = b.amount_paid / b.amount_due if b.amount_due else 0.0
        # "overdue", as the f filter, the customer's and account's tables and the bill
        # itself call an unpaid bill past its due date (the API says "unpaid").
        status = status_text(b.status, b.due_date, today)
        return Row(
            key=b.id,
            cells={
                "reference": b.external_reference,
                "customer": self.privacy.name(b.customer_name) or b.customer_id,
                "account": b.account_name or b.account_id or "—",
                "amount_due": money(b.amount_due, b.currency),
                "amount_paid": money(b.amount_paid, b.currency),
                # A voided bill is owed nothing, whatever its amounts say (its detail
                # keeps them): a figure there read as money still to collect.
                "amount_remaining": (
                    "—" if b.status == "voided" else money(b.amount_remaining, b.currency)
                ),
                "paid_fraction": Text(bar(fraction, BAR_WIDTH), style="green"),
                "status": status,
                "bill_date": b.bill_date or "—",
                "due_date": Text(f"{due} ⚠{late}d", style="bold red") if late else due,
            },
            style="dim" if b.status == "voided" else "",
        )

    def action_next_status(self) -> None:
        order: tuple[StatusFilter | None, ...] = (None, *STATUS_FILTERS)
        self.status = order[(order.index(self.status) + 1) % len(order)]
        self.refilter()

    def refilter(self) -> None:
        self.query_one(LazyTable).set_source(self._source())
