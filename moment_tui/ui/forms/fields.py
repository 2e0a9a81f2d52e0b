"""The fields several forms share, said once: a reference, a currency, a balance,
metadata, and a customer's name, email and phone. Each form picks its own examples."""

from __future__ import annotations

from moment_tui.api.models import BALANCE_LIMIT
from moment_tui.ui.forms.spec import FieldSpec

OWN_ID = "your own id: letters, digits, _ and -"


def reference(example: str, hint: str = OWN_ID) -> FieldSpec:
    return FieldSpec(
        "external_reference",
        "External reference",
        required=True,
        placeholder=f"e.g. {example}",
        hint=hint,
    )


def currency(*, required: bool = False) -> FieldSpec:
    return FieldSpec(
        "currency", "Currency", kind="currency", required=required, placeholder="e.g. ZAR"
    )


def balance(hint: str = "", *, bounded: bool = True) -> FieldSpec:
    """A balance: negative is a credit held. ``bounded``: refused past the API's limit
    in the currency's own words (a create); an edit leaves that to the model."""
    limit = BALANCE_LIMIT if bounded else None
    return FieldSpec(
        "balance",
        "Balance",
        kind="money",
        allow_negative=True,
        minimum=-limit if limit is not None else None,
        maximum=limit,
        placeholder="0.00",
        hint=hint,
    )


def metadata(example: str) -> FieldSpec:
    return FieldSpec("metadata", "Metadata", kind="metadata", placeholder=f"e.g. {example}")


def person() -> tuple[FieldSpec, FieldSpec, FieldSpec]:
    """A customer's name, email and phone."""
    return (
        FieldSpec("name", "Name", placeholder="e.g. Thabo Mokoena"),
        FieldSpec("email", "Email", placeholder="e.g. thabo@example.com"),
        FieldSpec(
            "phone", "Phone", placeholder="e.g. +27821234567", hint="international E.164 form"
        ),
    )
