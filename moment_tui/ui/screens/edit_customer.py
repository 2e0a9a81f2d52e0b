"""Edit a customer: ``PATCH /billing/customers/{id}`` with only what changed."""

from __future__ import annotations

from moment_tui.api.models import CustomerUpdate
from moment_tui.ui.forms import fields
from moment_tui.ui.forms.spec import Section
from moment_tui.ui.screens.edit_base import EditForm

CUSTOMER_EDIT_FIELDS = (
    *fields.person(),
    fields.balance(
        "replaces the stored balance (not an amount to add); negative: credit held",
        bounded=False,
    ),
    fields.currency(),
    fields.metadata("plan=gold; region=KZN"),
)


class EditCustomer(EditForm):
    heading = "Edit customer"
    sections = (Section("", CUSTOMER_EDIT_FIELDS),)
    model = CustomerUpdate
    kind = "customer"
    draft_prefix = "edit-customer"
