"""A bill: how much is paid, its dates and status, its customer and account (``o``
and ``a`` open them, by name), and the payments applied to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

from rich.console import Group
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from moment_tui.ui.present import bar, days_overdue, money, status_text
from moment_tui.ui.screens.detail_base import DetailScreen
from moment_tui.ui.screens.detail_text import Fields, Loaded, holder_text, metadata_text, rules_text
from moment_tui.ui.widgets.rows_table import flash

if TYPE_CHECKING:
    import datetime as dt

    from textual.app import ComposeResult

    from moment_tui.api.models import Bill, ObjectKind
    from moment_tui.store.browse import Related
    from moment_tui.store.catalogue import Entry

BAR_WIDTH: Final = 24


def overdue(days: int) -> str:
    return "1 day overdue" if days == 1 else f"{days} days overdue"


def amounts(bill: Bill, today: dt.date) -> Group:
    """Due, paid and remaining; the paid bar; the status (and how overdue)."""
    currency = bill.currency
    line = Text.assemble(
        ("Due ", "dim"),
        money(bill.amount_due, currency),
        ("   Paid ", "dim"),
        (money(bill.amount_paid, currency), "green" if bill.amount_paid else ""),
        ("   Remaining ", "dim"),
        # A voided bill is owed nothing, whatever its last figure (the lists say — too).
        ("—" if bill.status.value == "voided" else money(bill.amount_remaining, currency), "bold"),
    )
    fraction = bill.amount_paid / bill.amount_due if bill.amount_due else 1.0
    percent = min(int(fraction * 100), 100)  # 99.6 % paid is not "100 %" yet
    colour = "dim" if bill.status.value == "voided" else "green"
    paid = Text.assemble((bar(fraction, BAR_WIDTH), colour), f" {percent}% paid")
    due = bill.due_date.isoformat() if bill.due_date else None
    days = days_overdue(due, today) if bill.status.value == "unpaid" else 0
    if days:
        status = Text.assemble(("OVERDUE", "bold red"), (f" · {overdue(days)}", "red"))
    else:
        shown = status_text(bill.status.value, due, today)
        status = Text(shown.plain.upper(), style=f"bold {shown.style}")
    return Group(line, paid, status)


class BillDetail(DetailScreen):
    kind: ClassVar[ObjectKind] = "bill"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_customer", "Customer"),
        Binding("a", "open_account", "Account"),
        Binding(
            "e", "edit", "Edit metadata", show=False, tooltip="Add or change metadata keys (PATCH)"
        ),
        Binding("m", "record_payment", "Record", tooltip="Record a payment: the new total paid"),
        Binding("v", "void", "Void", tooltip="Void the bill: irreversible"),
        Binding("p", "pay", "Pay", tooltip="Simulate a payment: bill, account or customer"),
        Binding(
            "l", "present", "Pay link", show=False, tooltip="Copy the sandbox's bill page link"
        ),
    ]

    def compose_detail(self) -> ComposeResult:
        with Horizontal(id="detail-main"):
            with Vertical(id="detail-left"):
                yield Static(id="amounts")
                yield Static(id="fields", classes="fields")
            yield from self.compose_timeline()

    async def gather(self, entry: Entry[Any], related: Related) -> dict[str, Entry[Any] | None]:
        """The customer's and account's names: fetched (and kept) when not catalogued."""
        bill: Bill = entry.obj
        ensure = self.console.queries.ensure
        holders = {"customer": await ensure("customer", bill.customer_id)}
        if bill.account_id:
            holders["account"] = await ensure("account", bill.account_id)
        return holders

    def draw(self, loaded: Loaded, before: Loaded | None) -> None:
        bill: Bill = loaded.obj
        today = self.console.today()
        block = self.query_one("#amounts", Static)
        block.update(amounts(bill, today))
        money_of = ("amount_due", "amount_paid", "amount_remaining", "status")
        if before is not None and any(getattr(before.obj, f) != getattr(bill, f) for f in money_of):
            flash(block)
        due = bill.due_date.isoformat() if bill.due_date else "—"
        days = days_overdue(due, today) if bill.status.value == "unpaid" else 0
        due_text: str | Text = due
        if days:
            due_text = Text.assemble(due, (f"  {overdue(days)}", "red"))
        fields = self.query_one("#fields", Static)
        fields.update(
            Fields(
                [
                    ("Customer", holder_text(loaded, "customer", bill.customer_id)),
                    ("Account", holder_text(loaded, "account", bill.account_id)),
                    ("Reference", bill.external_reference),
                    ("Id", bill.id),
                    ("Bill date", bill.bill_date.isoformat() if bill.bill_date else "—"),
                    ("Due date", due_text),
                    ("Currency", bill.currency),
                    ("Rules", rules_text(bill.payment_rules, bill.currency)),
                    ("Metadata", metadata_text(bill.metadata)),
                ]
            )
        )

    def shown(self) -> list[tuple[ObjectKind, str]]:
        if self.loaded is None:
            return []
        bill: Bill = self.loaded.obj
        holders: list[tuple[ObjectKind, str]] = [("customer", bill.customer_id)]
        if bill.account_id:
            holders.append(("account", bill.account_id))
        return holders

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_customer":
            return self.loaded is not None
        if action == "open_account":
            return self.loaded is not None and bool(self.loaded.obj.account_id)
        return super().check_action(action, parameters)

    def action_open_customer(self) -> None:
        if self.loaded is not None:
            self.open("customer", self.loaded.obj.customer_id)

    def action_open_account(self) -> None:
        if self.loaded is not None:
            self.open("account", self.loaded.obj.account_id)
