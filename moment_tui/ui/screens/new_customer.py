"""New customer: ``POST /billing/customers``."""

from __future__ import annotations

from moment_tui.api.models import BALANCE_LIMIT, CustomerCreate
from moment_tui.ui.forms.spec import FieldSpec, Section
from moment_tui.ui.screens.form_base import FormScreen

CUSTOMER_FIELDS = (
    FieldSpec(
        "external_reference",
        "External reference",
        required=True,
        placeholder="e.g. UCR-0042",
        hint="your own id: letters, digits, _ and -",
    ),
    FieldSpec("name", "Name", placeholder="e.g. Thabo Mokoena"),
    FieldSpec("email", "Email", placeholder="e.g. thabo@example.com"),
    FieldSpec("phone", "Phone", placeholder="e.g. +27821234567", hint="international E.164 form"),
    FieldSpec("currency", "Currency", kind="currency", placeholder="e.g. ZAR"),
    FieldSpec(
        "balance",
        "Balance",
        kind="money",
        allow_negative=True,
        minimum=-BALANCE_LIMIT,
        maximum=BALANCE_LIMIT,
        placeholder="0.00",
        hint="what the customer owes; negative: credit held (needs a currency)",
    ),
    FieldSpec("metadata", "Metadata", kind="metadata", placeholder="e.g. plan=gold; region=KZN"),
)


def nested(prefix: str, fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    """The same fields inside another object's body (``account.customer.name``)."""
    from dataclasses import replace

    return tuple(
        replace(f, path=f"{prefix}.{f.path}", currency=f"{prefix}.{f.currency}") for f in fields
    )


class NewCustomer(FormScreen):
    heading = "New customer"
    sections = (Section("", CUSTOMER_FIELDS),)
    model = CustomerCreate
    kind = "customer"
    draft_name = "new-customer"

    def path(self) -> str:
        return "/billing/customers"
