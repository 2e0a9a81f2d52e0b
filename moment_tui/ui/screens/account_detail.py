"""An account: its fields, its customer (``o`` opens it), its bills (Enter opens
one), and the timeline of what happened to it and to its bills."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from moment_tui.ui.present import money
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.screens.detail_text import (
    Fields,
    Loaded,
    holder_text,
    metadata_text,
    rules_currency,
    rules_text,
)
from moment_tui.ui.widgets.rows_table import BILL_COLUMNS, RowsTable, bill_cells, bills_title, flash

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from moment_tui.api.models import Account, ObjectKind
    from moment_tui.store.browse import Related
    from moment_tui.store.catalogue import Entry


class AccountDetail(DetailScreen):
    kind: ClassVar[ObjectKind] = "account"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_customer", "Customer"),
        Binding("e", "edit", "Edit", tooltip="Change name, balance or metadata (PATCH)"),
        Binding("n", "new_bill", "New bill", tooltip="A bill on this account"),
        Binding("p", "pay", "Pay", tooltip="Simulate a payment: account or customer"),
    ]

    def compose_detail(self) -> ComposeResult:
        yield Static(id="fields", classes="fields")
        with Horizontal(id="detail-main"):
            with Vertical(id="detail-left"):
                yield Static("Bills", id="bills-title", classes="section", markup=False)
                yield RowsTable(BILL_COLUMNS, id="bills")
            yield from self.compose_timeline()

    async def gather(self, entry: Entry[Any], related: Related) -> dict[str, Entry[Any] | None]:
        return {"customer": await self.console.queries.ensure("customer", entry.obj.customer_id)}

    def draw(self, loaded: Loaded, before: Loaded | None) -> None:
        account: Account = loaded.obj
        fields = self.query_one("#fields", Static)
        fields.update(
            Fields(
                [
                    ("Name", account.name or "—"),
                    ("Reference", account.external_reference),
                    ("Id", account.id),
                    ("Customer", holder_text(loaded, "customer", account.customer_id)),
                    ("Currency", account.currency or "—"),
                    ("Balance", money(account.balance, account.currency)),
                    (
                        "Rules",
                        rules_text(
                            account.payment_rules,
                            rules_currency(account.currency, loaded.related.bills),
                        ),
                    ),
                    ("Metadata", metadata_text(account.metadata)),
                ]
            )
        )
        if before is not None and before.obj != account:
            flash(fields)
        bills = loaded.related.bills
        self.query_one("#bills-title", Static).update(bills_title(bills))
        table = self.query_one("#bills", RowsTable)
        table.display = bool(bills)
        today = self.console.today()
        table.sync({b.id: bill_cells(b, today) for b in bills}, highlight=before is not None)

    def shown(self) -> list[tuple[ObjectKind, str]]:
        if self.loaded is None:
            return []
        bills: list[tuple[ObjectKind, str]] = [("bill", b.id) for b in self.loaded.related.bills]
        return [("customer", self.loaded.obj.customer_id), *bills]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_customer":
            return self.loaded is not None
        return super().check_action(action, parameters)

    def action_open_customer(self) -> None:
        if self.loaded is not None:
            self.open("customer", self.loaded.obj.customer_id)
