"""A customer: its fields, its accounts and bills (Enter opens one), and the timeline
of what happened to it and to everything under it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from moment_tui.ui.present import money
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.screens.detail_text import (
    Fields,
    Loaded,
    metadata_text,
    rules_currency,
    rules_text,
)
from moment_tui.ui.widgets.rows_table import (
    ACCOUNT_COLUMNS,
    BILL_COLUMNS,
    RowsTable,
    account_cells,
    bill_cells,
    bills_title,
    flash,
)

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from moment_tui.api.models import Customer, ObjectKind


class CustomerDetail(DetailScreen):
    kind: ClassVar[ObjectKind] = "customer"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit", tooltip="Change name, email, phone, balance or metadata"),
        Binding("n", "new_bill", "New bill", tooltip="A bill on this customer"),
        Binding("p", "pay", "Pay", tooltip="Simulate a payment to this customer"),
    ]

    def compose_detail(self) -> ComposeResult:
        yield Static(id="fields", classes="fields")
        with Horizontal(id="detail-main"):
            with Vertical(id="detail-left"):
                yield Static("Accounts", id="accounts-title", classes="section", markup=False)
                yield RowsTable(ACCOUNT_COLUMNS, id="accounts")
                yield Static("Bills", id="bills-title", classes="section", markup=False)
                yield RowsTable(BILL_COLUMNS, id="bills")
            yield from self.compose_timeline()

    def draw(self, loaded: Loaded, before: Loaded | None) -> None:
        customer: Customer = loaded.obj
        fields = self.query_one("#fields", Static)
        fields.update(
            Fields(
                [
                    ("Name", customer.name or "—"),
                    ("Reference", customer.external_reference),
                    ("Id", customer.id),
                    ("Email", customer.email or "—"),
                    ("Phone", customer.phone or "—"),
                    ("Currency", customer.currency or "—"),
                    ("Balance", money(customer.balance, customer.currency)),
                    (
                        "Rules",
                        rules_text(
                            customer.payment_rules,
                            rules_currency(customer.currency, loaded.related.bills),
                        ),
                    ),
                    ("Metadata", metadata_text(customer.metadata)),
                ]
            )
        )
        if before is not None and before.obj != customer:
            flash(fields)
        today = self.console.today()
        accounts = loaded.related.accounts
        bills = loaded.related.bills
        self.query_one("#accounts-title", Static).update(
            f"Accounts · {len(accounts)}" if accounts else "Accounts · none"
        )
        self.query_one("#bills-title", Static).update(bills_title(bills))
        highlight = before is not None
        account_table = self.query_one("#accounts", RowsTable)
        account_table.display = bool(accounts)
        account_table.sync({a.id: account_cells(a) for a in accounts}, highlight=highlight)
        bill_table = self.query_one("#bills", RowsTable)
        bill_table.display = bool(bills)
        bill_table.sync({b.id: bill_cells(b, today) for b in bills}, highlight=highlight)

    def shown(self) -> list[tuple[ObjectKind, str]]:
        if self.loaded is None:
            return []
        related = self.loaded.related
        accounts: list[tuple[ObjectKind, str]] = [("account", a.id) for a in related.accounts]
        return accounts + [("bill", b.id) for b in related.bills]
