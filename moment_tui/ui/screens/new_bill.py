"""New bill: on an existing account, an existing customer, a new account under an
existing customer, or a new account with a new customer — always ONE request
(``POST /billing/bills``), nesting what is new as the API allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from moment_tui.api.models import AMOUNT_MAX, BillCreate
from moment_tui.ui.forms import fields
from moment_tui.ui.forms.spec import FieldSpec, Section
from moment_tui.ui.screens.form_base import FormScreen
from moment_tui.ui.screens.new_account import ACCOUNT_FIELDS
from moment_tui.ui.screens.new_customer import CUSTOMER_FIELDS, nested
from moment_tui.ui.widgets.form_field import FormField

if TYPE_CHECKING:
    from moment_tui.ui.console import Console

DUE_IN: Final = 30  # days: the due date offered
TARGETS: Final = (
    ("account", "an existing account"),
    ("customer", "an existing customer (no account)"),
    ("new_account", "a new account for an existing customer"),
    ("new_both", "a new account for a new customer"),
)
# A nested account's currency and balance follow the bill's; its own fields stay short.
NEW_ACCOUNT_FIELDS = tuple(f for f in ACCOUNT_FIELDS if f.path in ("external_reference", "name"))


def target_is(*names: str) -> Any:
    return lambda values: values.get("target", "account") in names


class NewBill(FormScreen):
    heading = "New bill"
    sections = (
        Section("", (FieldSpec("target", "Bill", kind="choice", choices=TARGETS, send=False),)),
        Section(
            "Account",
            (
                FieldSpec(
                    "account",
                    "Find the account",
                    kind="pick",
                    pick=("account",),
                    required=True,
                    placeholder="account name, reference or id",
                ),
            ),
            when=target_is("account"),
        ),
        Section(
            "Customer",
            (
                FieldSpec(
                    "customer",
                    "Find the customer",
                    kind="pick",
                    pick=("customer",),
                    required=True,
                    placeholder="name, email, reference or id",
                ),
            ),
            when=target_is("customer"),
        ),
        Section(
            "Customer of the new account",
            (
                FieldSpec(
                    "account.customer",
                    "Find the customer",
                    kind="pick",
                    pick=("customer",),
                    required=True,
                    placeholder="name, email, reference or id",
                ),
            ),
            when=target_is("new_account"),
        ),
        Section(
            "New account",
            nested("account", NEW_ACCOUNT_FIELDS),
            when=target_is("new_account", "new_both"),
        ),
        Section(
            "New customer", nested("account.customer", CUSTOMER_FIELDS), when=target_is("new_both")
        ),
        Section(
            "Bill",
            (
                fields.reference("INV-2026-0042", hint=""),
                fields.currency(required=True),
                FieldSpec(
                    "amount_due",
                    "Amount due",
                    kind="money",
                    required=True,
                    minimum=1,
                    maximum=AMOUNT_MAX,
                    placeholder="e.g. 1,234.50",
                    hint="in currency units, e.g. 1,234.50",
                ),
                FieldSpec("bill_date", "Bill date", kind="date", placeholder="YYYY-MM-DD"),
                FieldSpec(
                    "due_date",
                    "Due date",
                    kind="date",
                    placeholder="YYYY-MM-DD",
                    hint=f"offered: {DUE_IN} days after the bill date",
                ),
                fields.metadata("description=Consulting hours"),
            ),
        ),
    )
    model = BillCreate
    kind = "bill"
    draft_name = "new-bill"

    def __init__(
        self,
        console: Console,
        *,
        account: tuple[str, str, str | None] | None = None,
        customer: tuple[str, str, str | None] | None = None,
    ) -> None:
        """``account``/``customer``: ``(id, label, currency)`` to bill (from a detail
        view): the form starts with it chosen, and in its currency."""
        self.start: dict[str, str] = {}
        holder = account or customer
        if holder is not None:
            path = "account" if account is not None else "customer"
            self.start = {"target": path, path: holder[0], f"{path}#label": holder[1]}
            if holder[2]:
                self.start["currency"] = holder[2]
        super().__init__(console, draft_name=f"new-bill:{holder[0]}" if holder else "new-bill")

    def defaults(self) -> dict[str, str]:
        today = self.console.today()
        return {
            "target": "account",
            "bill_date": today.isoformat(),
            "due_date": (today + dt.timedelta(days=DUE_IN)).isoformat(),
            **self.start,
        }

    def path(self) -> str:
        return "/billing/bills"

    def rules(self, body: dict[str, Any], values: Mapping[str, str]) -> dict[str, str]:
        """BillCreate's date rule, checked here too: the model's validator stops at the
        first rule broken, and until an account or customer is chosen that is "a bill
        needs an account or a customer", so a due date typed before the bill date
        would show nothing wrong until then."""
        try:
            bill_date = dt.date.fromisoformat(str(body.get("bill_date")))
            due_date = dt.date.fromisoformat(str(body.get("due_date")))
        except ValueError:
            return {}  # absent, or not a date: the model says which
        if due_date < bill_date:
            return {"due_date": "Due date cannot be before the bill date"}
        return {}

    def hint(self, field: FormField, values: Mapping[str, str]) -> str:
        """The due date says it was offered only while it is: the date offered, still
        30 days after the bill date (not a date typed, nor one a changed bill date left
        behind)."""
        if field.spec.path != "due_date":
            return super().hint(field, values)
        offered = self.defaults()["due_date"]
        try:
            after = dt.date.fromisoformat(values.get("bill_date", "").strip())
        except ValueError:
            return ""
        due = values.get("due_date", "").strip()
        return (
            field.hint if due == offered == (after + dt.timedelta(days=DUE_IN)).isoformat() else ""
        )

    def summary(self, body: dict[str, Any]) -> str:
        from moment_tui.money import amount_text

        amount = amount_text(body.get("amount_due"), body.get("currency"))
        return f"Create bill {body.get('external_reference')} for {amount}"

    def on_form_field_picked(self, event: FormField.Picked) -> None:
        """The bill's currency follows the chosen account or customer's, if not typed."""
        self.follow_currency(event.field.value)

    def follow_currency(self, object_id: str) -> None:
        from moment_tui.ui.navigate import kind_of

        kind = kind_of(object_id)
        if kind is not None:
            self.run_worker(self._currency_of(kind, object_id), exclusive=True, group="cur")

    async def _currency_of(self, kind: Any, object_id: str) -> None:
        from textual.widgets import Input

        entry = await self.console.queries.entry(kind, object_id)
        currency = getattr(entry.obj, "currency", None) if entry is not None else None
        field = self.query_one("#f-currency", FormField)
        if currency and not field.value:
            field.query_one(Input).value = currency
