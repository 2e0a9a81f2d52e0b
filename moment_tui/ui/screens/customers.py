"""Customers: name, external reference, email, phone, balance, how many accounts and
bills, and the amount outstanding on their unpaid bills."""

from __future__ import annotations

from collections.abc import Awaitable, Collection
from typing import TYPE_CHECKING

from moment_tui.store.browse import CustomerRow
from moment_tui.ui.present import money
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.widgets.lazy_rows import Column, Row, Sort

if TYPE_CHECKING:
    from moment_tui.ui.modals.simulate_payment import PayTarget


class CustomersScreen(ListScreen[CustomerRow]):
    crumb = "Customers"
    kind = "customer"
    noun = "customers"
    columns = (
        Column("name", "Name", 16, flex=1),
        Column("reference", "Reference", 14, priority=1),
        Column("email", "Email", 22, priority=4),
        Column("phone", "Phone", 13, priority=5),
        Column("balance", "Balance", 12, align="right", priority=2),
        Column("accounts", "Accts", 5, align="right", priority=6),
        Column("bills", "Bills", 5, align="right", priority=3),
        Column("outstanding", "Outstanding", 13, align="right"),
    )
    default_sort = Sort("name")

    def read(self, ids: Collection[str]) -> Awaitable[dict[str, CustomerRow]]:
        return self.console.queries.customer_rows(ids)

    def pay_targets(self, row: CustomerRow) -> list[PayTarget]:
        from moment_tui.ui.modals.simulate_payment import CUSTOMER_FULL, PayTarget

        label = row.name or row.external_reference
        currency = row.currency or row.outstanding_currency
        return [PayTarget("customer", row.id, label, currency, CUSTOMER_FULL)]

    def draw(self, c: CustomerRow) -> Row:
        privacy = self.privacy
        return Row(
            key=c.id,
            cells={
                "name": privacy.name(c.name) or "—",
                "reference": c.external_reference,
                "email": privacy.email(c.email) or "—",
                "phone": privacy.phone(c.phone) or "—",
                "balance": money(c.balance, c.currency),
                "accounts": str(c.accounts),
                "bills": str(c.bills),
                "outstanding": money(c.outstanding, c.outstanding_currency)
                if c.outstanding
                else "—",
            },
        )
