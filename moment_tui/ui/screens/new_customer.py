"""New customer: ``POST /billing/customers``."""

from __future__ import annotations

from moment_tui.api.models import CustomerCreate
from moment_tui.ui.forms import fields
from moment_tui.ui.forms.spec import FieldSpec, Section
from moment_tui.ui.screens.form_base import FormScreen

CUSTOMER_FIELDS = (
    fields.reference("UCR-0042"),
    *fields.person(),
    fields.currency(),
    fields.balance("what the customer owes; negative: credit held (needs a currency)"),
    fields.metadata("plan=gold; region=KZN"),
)


def nested(prefix: str, specs: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    """The same fields inside another object's body (``account.customer.name``)."""
    from dataclasses import replace

    return tuple(
        replace(f, path=f"{prefix}.{f.path}", currency=f"{prefix}.{f.currency}") for f in specs
    )


class NewCustomer(FormScreen):
    heading = "New customer"
    sections = (Section("", CUSTOMER_FIELDS),)
    model = CustomerCreate
    kind = "customer"
    draft_name = "new-customer"

    def path(self) -> str:
        return "/billing/customers"
