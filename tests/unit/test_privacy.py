"""Masking personal data for recordings (``moment_tui.ui.privacy``: plain Python)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from moment_tui.api.models import Account, Customer
from moment_tui.ui import privacy
from moment_tui.ui.privacy import (
    Privacy,
    mask_email,
    mask_json,
    mask_name,
    mask_phone,
    masked_object,
    masked_view,
)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Thabo Mokoena", "T•••• M••••••"),
        ("Pieter van der Merwe", "P••••• v•• d•• M••••"),
        ("Soweto Solar Co-op", "S••••• S•••• C••••"),
        ("Zanele", "Z•••••"),
        ("X", "X"),
        ("Nokuthula  Radebe", "N••••••••  R•••••"),  # spacing kept
        ("Ayesha Patel-Naidoo", "A••••• P•••••••••••"),
    ],
)
def test_a_name_keeps_each_words_first_letter(name: str, masked: str) -> None:
    assert mask_name(name) == masked
    assert len(mask_name(name)) == len(name)


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("thabo@example.com", "t••••@e••••••.com"),
        ("thabo.mokoena@example.com", "t••••••••••••@e••••••.com"),
        ("naledi@mail.example.co.za", "n•••••@m•••.e••••••.c•.za"),
        ("root@localhost", "r•••@l••••••••"),
        ("not an email", "n•• a• e••••"),  # masked as a name
    ],
)
def test_an_email_keeps_first_letters_and_the_top_level_domain(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+27821234567", "+27•••••••67"),
        ("+27 82 123 4567", "+27 •• ••• ••67"),
        ("082-123-4567", "08•-•••-••67"),
        ("1234567", "12•••67"),
        ("123456", "••••••"),  # too short to keep any digits
        ("", ""),
    ],
)
def test_a_phone_keeps_two_digits_at_each_end(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_privacy_off_changes_nothing_and_empty_values_stay_empty() -> None:
    off, on = Privacy(), Privacy(masked=True)
    assert off.name("Thabo Mokoena") == "Thabo Mokoena"
    assert off.email("t@example.com") == "t@example.com"
    assert off.phone("+27821234567") == "+27821234567"
    assert (on.name(None), on.email(""), on.phone(None)) == (None, "", None)
    assert on.name("Thabo Mokoena") == "T•••• M••••••"


def test_a_label_is_masked_only_for_a_customer() -> None:
    on = Privacy(masked=True)
    assert on.label("bcus_H4jp6KnU5cPw263v1jyz4", "Thabo Mokoena") == "T•••• M••••••"
    assert on.label("bacc_H4jp6KnU5cPw263v1jyz4", "Fibre 50 Mbps") == "Fibre 50 Mbps"
    assert on.label("bill_H4jp6KnU5cPw263v1jyz4", "INV-2026-0010") == "INV-2026-0010"
    assert Privacy().label("bcus_H4jp6KnU5cPw263v1jyz4", "Thabo Mokoena") == "Thabo Mokoena"


CUSTOMER = Customer(
    id="bcus_H4jp6KnU5cPw263v1jyz4",
    external_reference="UCR100001",
    name="Thabo Mokoena",
    email="thabo.mokoena@example.com",
    phone="+27821234567",
    currency="ZAR",
    balance=120_000,
)
ACCOUNT = Account(
    id="bacc_H4jp6KnU5cPw263v1jyz4",
    external_reference="UAR1000010",
    customer_id=CUSTOMER.id,
    name="Fibre 50 Mbps",
)


def test_a_customer_copy_is_masked_and_the_original_untouched() -> None:
    copy = masked_object(CUSTOMER)
    assert (copy.name, copy.email, copy.phone) == (
        "T•••• M••••••",
        "t••••••••••••@e••••••.com",
        "+27•••••••67",
    )
    assert (copy.id, copy.external_reference, copy.balance) == (
        CUSTOMER.id,
        "UCR100001",
        120_000,
    )
    assert CUSTOMER.name == "Thabo Mokoena"
    assert masked_object(ACCOUNT) is ACCOUNT  # an account's name is not personal


@dataclass(frozen=True)
class Entry:
    obj: Any
    source: str = "listed"


@dataclass(frozen=True)
class Loaded:  # the shape of detail_base.Loaded
    entry: Entry
    labels: dict[str, str]
    holders: dict[str, Entry | None] = field(default_factory=dict)


def test_a_detail_view_is_masked_where_it_names_a_customer() -> None:
    nameless = CUSTOMER.model_copy(update={"id": "bcus_Nameless0000000000000", "name": None})
    loaded = Loaded(
        Entry(ACCOUNT),
        labels={
            ACCOUNT.id: "Fibre 50 Mbps",
            CUSTOMER.id: "Thabo Mokoena",
            nameless.id: "UCR100002",  # a nameless customer's label: its reference
            "bcus_Other00000000000000": "Naledi Dlamini",  # named in a payment only
            "bill_H4jp6KnU5cPw263v1jyz4": "INV-2026-0010",
        },
        holders={"customer": Entry(CUSTOMER), "other": Entry(nameless), "none": None},
    )
    view = masked_view(loaded)
    assert view.entry.obj is ACCOUNT
    customer = view.holders["customer"]
    assert customer is not None
    assert customer.obj.name == "T•••• M••••••"
    assert view.holders["none"] is None
    assert view.labels == {
        ACCOUNT.id: "Fibre 50 Mbps",
        CUSTOMER.id: "T•••• M••••••",
        nameless.id: "UCR100002",
        "bcus_Other00000000000000": "N••••• D••••••",
        "bill_H4jp6KnU5cPw263v1jyz4": "INV-2026-0010",
    }
    assert loaded.labels[CUSTOMER.id] == "Thabo Mokoena"  # the load itself is untouched


def test_an_api_body_is_masked_where_it_holds_personal_data() -> None:
    listing = {
        "data": [
            {"id": CUSTOMER.id, "name": "Thabo Mokoena", "email": "thabo@example.com"},
            {"id": ACCOUNT.id, "name": "Fibre 50 Mbps", "customer": CUSTOMER.id},
        ]
    }
    assert mask_json(listing) == {
        "data": [
            {"id": CUSTOMER.id, "name": "T•••• M••••••", "email": "t••••@e••••••.com"},
            {"id": ACCOUNT.id, "name": "Fibre 50 Mbps", "customer": CUSTOMER.id},
        ]
    }
    nested = {"external_reference": "INV-1", "customer": {"name": "Naledi Dlamini"}}
    assert mask_json(nested) == {
        "external_reference": "INV-1",
        "customer": {"name": "N••••• D••••••"},
    }
    assert mask_json({"phone": "+27821234567", "amount": 1500}) == {
        "phone": "+27•••••••67",
        "amount": 1500,
    }
    cut = '{"email": "thabo@example.com", "name": "Tha… (cut: 90000 bytes in all)'
    assert (
        mask_json(cut) == '{"email": "t••••@e••••••.com", "name": "Tha… (cut: 90000 bytes in all)'
    )
    assert mask_json(None) is None


def test_a_customers_body_is_masked_as_one_and_nested_customers_stay_masked() -> None:
    """A call under /billing/customers carries a customer at its top level: its update
    may hold only a name, with no id, email or phone to say whose it is."""
    update = {"name": "Second Person Jr"}
    assert mask_json(update) == update  # nothing in it says "customer"
    assert mask_json(update, customer=True) == {"name": "S••••• P••••• J•"}
    listing = {"data": [{"external_reference": "UCR9", "name": "Thabo Mokoena"}], "more": False}
    assert mask_json(listing, customer=True) == {
        "data": [{"external_reference": "UCR9", "name": "T•••• M••••••"}],
        "more": False,
    }
    # A body that was cut (or not JSON) is text: its names and phones are masked too.
    cut = '{"name": "Thabo Mokoena", "phone": "+27821234567", "metadata": {"name": "Th'
    assert mask_json(cut, customer=True) == (
        '{"name": "T•••• M••••••", "phone": "+27•••••••67", "metadata": {"name": "T•'
    )
    assert mask_json(cut) == (
        '{"name": "Thabo Mokoena", "phone": "+27•••••••67", "metadata": {"name": "Th'
    )
    assert mask_json("no such customer", customer=True) == "no such customer"
    # Nested creation (a bill with a new account with a new customer) is a call under
    # /billing/bills or /billing/accounts: its customer is found by its key, and stays
    # masked; the account's name stays as it is.
    bill = {
        "external_reference": "INV-9",
        "amount_due": 1500,
        "account": {
            "external_reference": "UAR9",
            "name": "Electricity prepaid",
            "customer": {"external_reference": "UCR9", "name": "Johan Botha"},
        },
    }
    masked = mask_json(bill)
    assert masked["account"]["name"] == "Electricity prepaid"
    assert masked["account"]["customer"] == {"external_reference": "UCR9", "name": "J•••• B••••"}
    account = {"external_reference": "UAR9", "name": "Fibre", "customer": {"name": "Anele Ndlovu"}}
    assert mask_json(account) == {
        "external_reference": "UAR9",
        "name": "Fibre",
        "customer": {"name": "A•••• N•••••"},
    }
    direct = {"external_reference": "INV-8", "customer": {"name": "Lerato Molefe"}}
    assert mask_json(direct)["customer"] == {"name": "L••••• M•••••"}


def test_the_module_imports_no_textual() -> None:
    tree = ast.parse(Path(privacy.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name.startswith(("textual", "rich"))}
