"""Accounts under their customers: customer, name, reference, balance, bills and the
amount outstanding on them."""

from __future__ import annotations

from collections.abc import Awaitable, Collection
from typing import TYPE_CHECKING

from moment_tui.store.browse import AccountRow
from moment_tui.ui.present import money
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.widgets.lazy_rows import Column, Row, Sort

if TYPE_CHECKING:
    from moment_tui.ui.modals.simulate_payment import PayTarget


class AccountsScreen(ListScreen[AccountRow]):
    crumb = "Accounts"
    kind = "account"
    noun = "accounts"
    columns = (
        Column("customer", "Customer", 16, flex=1),
        Column("name", "Account", 16, flex=1),
        Column("reference", "Reference", 14, priority=1),
        Column("balance", "Balance", 12, align="right", priority=2),
        Column("bills", "Bills", 5, align="right", priority=3),
        Column("outstanding", "Outstanding", 13, align="right"),
    )
    default_sort = Sort("customer")

    def read(self, ids: Collection[str]) -> Awaitable[dict[str, AccountRow]]:
        return self.console.queries.account_rows(ids)

    def pay_targets(self, row: AccountRow) -> list[PayTarget]:
        from moment_tui.ui.modals.simulate_payment import CUSTOMER_FULL, HOLDER_FULL, PayTarget

        currency = row.currency or row.outstanding_currency
        label = row.name or row.external_reference
        holder = row.customer_name or row.customer_id
        return [
            PayTarget("account", row.id, label, currency, HOLDER_FULL),
            PayTarget("customer", row.customer_id, holder, currency, CUSTOMER_FULL),
        ]

    def draw(self, a: AccountRow) -> Row:
        return Row(
            key=a.id,
            cells={
                "customer": self.privacy.name(a.customer_name) or a.customer_id,
                "name": a.name or "—",
                "reference": a.external_reference,
                "balance": money(a.balance, a.currency),
                "bills": str(a.bills),
                "outstanding": money(a.outstanding, a.outstanding_currency)
                if a.outstanding
                else "—",
            },
        )
