"""New account: for an existing customer, or a new one in the same request
(``POST /billing/accounts`` with ``customer`` an id or a customer object)."""

from __future__ import annotations

from collections.abc import Mapping

from moment_tui.api.models import AccountCreate
from moment_tui.ui.forms import fields
from moment_tui.ui.forms.spec import FieldSpec, Section
from moment_tui.ui.screens.form_base import FormScreen
from moment_tui.ui.screens.new_customer import CUSTOMER_FIELDS, nested

CUSTOMER_CHOICE = FieldSpec(
    "customer_is",
    "Customer",
    kind="choice",
    choices=(("existing", "an existing customer"), ("new", "a new customer, created with it")),
    send=False,
)
ACCOUNT_FIELDS = (
    fields.reference("UAR-0042"),
    FieldSpec("name", "Name", placeholder="e.g. Device plan"),
    fields.currency(),
    fields.balance(),
    fields.metadata("plan=gold"),
)


def existing(values: Mapping[str, str], choice: str = "customer_is") -> bool:
    return values.get(choice, "existing") == "existing"


class NewAccount(FormScreen):
    heading = "New account"
    sections = (
        Section("", (CUSTOMER_CHOICE,)),
        Section(
            "Existing customer",
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
            when=existing,
        ),
        Section(
            "New customer", nested("customer", CUSTOMER_FIELDS), when=lambda v: not existing(v)
        ),
        Section("Account", ACCOUNT_FIELDS),
    )
    model = AccountCreate
    kind = "account"
    draft_name = "new-account"

    def path(self) -> str:
        return "/billing/accounts"
