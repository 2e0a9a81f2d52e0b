"""Record a payment received outside Moment (manual reconciliation):
``PATCH /billing/bills/{id}`` with ``amount_paid`` — the bill's NEW TOTAL paid, not an
amount to add — and the bill's ``currency``, which the API requires with it.

The form shows what is paid so far, and as you type how much that adds (or takes
away: a correction may lower it) and what would remain. A total above the amount due
is refused before sending: the sandbox refuses to overpay a bill (422), and Moment
documents no overpayment of a bill either. Moment sends no webhook for this change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moment_tui.api.models import Bill, BillUpdate
from moment_tui.ui.forms.spec import Checked, FieldSpec, Section
from moment_tui.ui.present import money
from moment_tui.ui.screens.edit_base import EditForm


class RecordPayment(EditForm):
    heading = "Record a payment"
    sections = (
        Section(
            "",
            (
                FieldSpec(
                    "amount_paid",
                    "New total paid",
                    kind="money",
                    required=True,
                    placeholder="the whole amount paid so far, e.g. 1,500.00",
                    hint="the NEW TOTAL paid on the bill (not the amount to add)",
                ),
                FieldSpec("currency", "Currency", kind="currency"),
            ),
        ),
    )
    model = BillUpdate
    kind = "bill"
    draft_prefix = "record-payment"

    @property
    def bill(self) -> Bill:
        assert isinstance(self.obj, Bill)
        return self.obj

    def defaults(self) -> dict[str, str]:
        return {"amount_paid": "", "currency": self.bill.currency}

    def intro(self) -> str:
        bill, currency = self.bill, self.bill.currency
        return (
            f"Bill {bill.external_reference} · due {money(bill.amount_due, currency)} · "
            f"paid so far {money(bill.amount_paid, currency)} · "
            f"remaining {money(bill.amount_remaining, currency)}\n"
            "Type the NEW TOTAL paid on the bill, not the amount to add: Moment's "
            "amount_paid replaces the old total. No webhook follows a recorded payment."
        )

    def rules(self, body: dict[str, Any], values: Mapping[str, str]) -> dict[str, str]:
        total = body.get("amount_paid")
        bill = self.bill
        if isinstance(total, int) and total > bill.amount_due:
            due = money(bill.amount_due, bill.currency)
            return {
                "amount_paid": f"more than the amount due ({due}): a bill cannot be "
                "overpaid (the sandbox refuses it, 422)"
            }
        return {}

    def review(self, checked: Checked, values: Mapping[str, str]) -> Checked:
        reviewed = super().review(checked, values)
        notes = dict(reviewed.notes)
        total = (checked.body or {}).get("amount_paid")
        if isinstance(total, int):
            notes["amount_paid"] = self._effect(total)
        return Checked(reviewed.body, reviewed.errors, notes)

    def _effect(self, total: int) -> str:
        """``sends 150000 · adds R 1,000.00 · remaining after R 500.00``."""
        bill, currency = self.bill, self.bill.currency
        step = total - bill.amount_paid
        if step == 0:
            return f"already the total paid ({money(total, currency)}): nothing to send"
        change = (
            f"adds {money(step, currency)}"
            if step > 0
            else (f"lowers the total by {money(-step, currency)} (a correction)")
        )
        left = bill.amount_due - total
        after = f"remaining after {money(max(left, 0), currency)}"
        if left == 0:
            after += " · the bill becomes paid"
        return f"sends {total} · {change} · {after}"

    def change_lines(self, body: dict[str, Any]) -> list[tuple[str, str, str]]:
        bill, currency = self.bill, self.bill.currency
        total = body.get("amount_paid")
        if not isinstance(total, int):
            return super().change_lines(body)
        left = bill.amount_due - total
        status = "paid" if left <= 0 else "unpaid"
        lines = [
            ("paid", money(bill.amount_paid, currency), money(total, currency)),
            ("remaining", money(bill.amount_remaining, currency), money(left, currency)),
        ]
        if status != bill.status.value:
            lines.append(("status", bill.status.value, status))
        return lines

    def what(self) -> str:
        return f"Record a payment on bill {self.bill.external_reference}"

    def confirmation_word(self, body: dict[str, Any]) -> str:
        return self.bill.external_reference
