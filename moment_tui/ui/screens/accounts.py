"""Accounts under their customers: customer, name, reference, balance, bills and the
amount outstanding on them."""

from __future__ import annotations

from collections.abc import Awaitable, Collection

from moment_tui.store.browse import AccountRow
from moment_tui.ui.present import money
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.widgets.lazy_rows import Column, Row, Sort


class AccountsScreen(ListScreen[AccountRow]):
    crumb = "Accounts"
    kind = "account"
    noun = "accounts"
    columns = (
        Column("customer", "Customer", 16, flex=True),
        Column("name", "Account", 16),
        Column("reference", "Reference", 14, priority=1),
        Column("balance", "Balance", 12, align="right", priority=2),
        Column("bills", "Bills", 5, align="right", priority=3),
        Column("outstanding", "Outstanding", 13, align="right"),
    )
    default_sort = Sort("customer")

    def read(self, ids: Collection[str]) -> Awaitable[dict[str, AccountRow]]:
        return self.console.queries.account_rows(ids)

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
