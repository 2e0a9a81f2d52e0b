"""Edit an account: ``PATCH /billing/accounts/{id}`` with only what changed."""

from __future__ import annotations

from moment_tui.api.models import AccountUpdate
from moment_tui.ui.forms import fields
from moment_tui.ui.forms.spec import FieldSpec, Section
from moment_tui.ui.screens.edit_base import EditForm

ACCOUNT_EDIT_FIELDS = (
    FieldSpec("name", "Name", placeholder="e.g. Device plan"),
    fields.balance(
        "replaces this account's balance (not an amount to add); negative: credit held",
        bounded=False,
    ),
    fields.currency(),
    fields.metadata("plan=gold"),
)


class EditAccount(EditForm):
    heading = "Edit account"
    sections = (Section("", ACCOUNT_EDIT_FIELDS),)
    model = AccountUpdate
    kind = "account"
    draft_prefix = "edit-account"
