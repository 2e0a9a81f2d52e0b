"""The forms' pure parts: what is typed becomes the request body each variant sends
(hidden sections never in it), checked by the client's own request models, with every
error keyed by the field it belongs beside; money typed in major units with a note of
the minor units sent; metadata as ``key=value`` pairs; and an API's refusal read back
into field paths (the sandbox's ``errors`` list, or Moment's bare ``detail``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from moment_tui.api.errors import ApiError, Problem
from moment_tui.api.models import (
    AMOUNT_MAX,
    METADATA_MAX_KEYS,
    AccountCreate,
    BillCreate,
    CustomerCreate,
)
from moment_tui.ui.forms.drafts import Drafts
from moment_tui.ui.forms.spec import (
    Checked,
    FieldSpec,
    Section,
    check,
    metadata_text,
    parse_metadata,
    visible_fields,
)
from moment_tui.ui.forms.submit import Refused, _owner, field_errors_of, settled
from moment_tui.ui.screens.new_account import NewAccount
from moment_tui.ui.screens.new_bill import NewBill
from moment_tui.ui.screens.new_customer import NewCustomer

PHONE_HINT = "use international E.164 form, e.g. +27821234567"
EMAIL_HINT = "enter an email address such as name@example.com"
REF_HINT = "use letters, digits, '_' and '-' only"
PICK_HINT = "type to search, then pick a match (Enter takes the first)"
BILL = {
    "external_reference": "INV-2026-0042",
    "currency": "ZAR",
    "amount_due": "1,234.50",
    "bill_date": "2026-11-01",
    "due_date": "2026-12-01",
}
BILL_BODY = {
    "external_reference": "INV-2026-0042",
    "currency": "ZAR",
    "amount_due": 123450,
    "bill_date": "2026-11-01",
    "due_date": "2026-12-01",
}
NEW_CUSTOMER = {
    "external_reference": "UCR-0042",
    "name": "Thabo Mokoena",
    "email": "thabo@example.com",
    "phone": "+27821234567",
    "currency": "ZAR",
    "balance": "-12.50",
    "metadata": "plan=gold; region=KZN",
}
NEW_CUSTOMER_BODY = {
    "external_reference": "UCR-0042",
    "name": "Thabo Mokoena",
    "email": "thabo@example.com",
    "phone": "+27821234567",
    "currency": "ZAR",
    "balance": -1250,
    "metadata": {"plan": "gold", "region": "KZN"},
}


def nested(prefix: str, values: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}.{path}": value for path, value in values.items()}


def customer(**values: str) -> Checked:
    return check(NewCustomer.sections, values, CustomerCreate)


def account(**values: str) -> Checked:
    return check(NewAccount.sections, values, AccountCreate)


def bill(values: dict[str, str]) -> Checked:
    return check(NewBill.sections, values, BillCreate)


# --- the body each variant sends ---------------------------------------------------------


def test_a_new_customer_with_every_field() -> None:
    checked = customer(**NEW_CUSTOMER)
    assert checked.ok
    assert checked.errors == {}
    assert checked.body == NEW_CUSTOMER_BODY
    assert checked.notes == {"balance": "sends -1250 (-R 12.50)"}
    CustomerCreate.model_validate(checked.body)  # what the client would send


def test_empty_fields_are_left_out_and_the_currency_is_upper_cased() -> None:
    checked = customer(external_reference="UCR-1", name="  ", currency="zar")
    assert checked.body == {"external_reference": "UCR-1", "currency": "ZAR"}


def test_an_account_for_an_existing_customer_sends_its_id() -> None:
    checked = account(
        customer_is="existing",
        customer="bcus_H4jp6KnU5cPw263v1jyz4",
        **{"customer.name": "hidden: not sent"},
        external_reference="UAR-0042",
        name="Device plan",
        currency="ZAR",
        balance="100",
    )
    assert checked.body == {
        "customer": "bcus_H4jp6KnU5cPw263v1jyz4",
        "external_reference": "UAR-0042",
        "name": "Device plan",
        "currency": "ZAR",
        "balance": 10000,
    }


def test_an_account_for_a_new_customer_nests_it_and_leaves_the_search_out() -> None:
    checked = account(
        customer_is="new",
        customer="bcus_H4jp6KnU5cPw263v1jyz4",  # picked earlier, then the choice changed
        **nested("customer", NEW_CUSTOMER),
        external_reference="UAR-0042",
    )
    assert checked.body == {"customer": NEW_CUSTOMER_BODY, "external_reference": "UAR-0042"}
    assert checked.notes == {"customer.balance": "sends -1250 (-R 12.50)"}


def test_the_choice_steers_the_form_and_is_never_sent() -> None:
    values = {"customer_is": "new", "customer.external_reference": "UCR-1"}
    shown = [spec.path for spec in visible_fields(NewAccount.sections, values)]
    assert "customer_is" in shown
    assert "customer" not in shown  # the search belongs to "existing"
    assert "customer.external_reference" in shown
    checked = account(**values, external_reference="UAR-1")
    assert checked.body is not None
    assert "customer_is" not in checked.body


def test_a_bill_on_an_existing_account() -> None:
    hidden = {"customer": "bcus_Hidden1", "account.external_reference": "UAR-HIDDEN"}
    checked = bill({"target": "account", "account": "bacc_Chosen1", **hidden, **BILL})
    assert checked.body == {"account": "bacc_Chosen1", **BILL_BODY}
    assert checked.notes == {"amount_due": "sends 123450 (R 1,234.50)"}


def test_a_bill_on_an_existing_customer() -> None:
    checked = bill({"target": "customer", "customer": "bcus_Chosen1", "account": "x", **BILL})
    assert checked.body == {"customer": "bcus_Chosen1", **BILL_BODY}


def test_a_bill_with_a_new_account_for_an_existing_customer() -> None:
    values = {
        "target": "new_account",
        "account.customer": "bcus_Chosen1",
        "account.external_reference": "UAR-0042",
        "account.name": "Device plan",
        **nested("account.customer", {"external_reference": "UCR-HIDDEN"}),
        **BILL,
    }
    checked = bill(values)
    assert checked.body == {
        "account": {
            "customer": "bcus_Chosen1",
            "external_reference": "UAR-0042",
            "name": "Device plan",
        },
        **BILL_BODY,
    }


def test_the_three_level_bill_nests_a_new_account_holding_a_new_customer() -> None:
    values = {
        "target": "new_both",
        "account.customer": "bcus_Hidden1",  # the other variant's search: not sent
        "account.external_reference": "UAR-0042",
        "account.name": "Device plan",
        **nested("account.customer", NEW_CUSTOMER),
        **BILL,
    }
    checked = bill(values)
    assert checked.body == {
        "account": {
            "external_reference": "UAR-0042",
            "name": "Device plan",
            "customer": NEW_CUSTOMER_BODY,
        },
        **BILL_BODY,
    }
    assert checked.notes == {
        "account.customer.balance": "sends -1250 (-R 12.50)",
        "amount_due": "sends 123450 (R 1,234.50)",
    }
    BillCreate.model_validate(checked.body)


def test_fixed_values_go_in_as_they_are() -> None:
    fixed = {"account": "bacc_Fixed1"}
    checked = check(NewBill.sections, {"target": "customer", **BILL}, BillCreate, fixed=fixed)
    assert checked.errors == {"customer": PICK_HINT}  # the shown search is still required
    checked = check((Section("", NewBill.sections[-1].fields),), BILL, BillCreate, fixed=fixed)
    assert checked.body == {"account": "bacc_Fixed1", **BILL_BODY}


# --- required fields and the models' checks, by field ---------------------------------------


def test_required_fields_are_named_and_a_pick_says_how_to_choose() -> None:
    checked = bill({"target": "account"})
    assert checked.body is None
    assert not checked.ok
    assert checked.errors == {
        "account": PICK_HINT,
        "external_reference": "external reference is required",
        "currency": "currency is required",
        "amount_due": "amount due is required",
    }
    assert customer().errors == {"external_reference": "external reference is required"}


def test_pattern_email_and_phone_errors_beside_their_fields() -> None:
    checked = customer(external_reference="UCR 1", email="thabo", phone="0821234567")
    assert checked.errors == {
        "external_reference": REF_HINT,
        "email": EMAIL_HINT,
        "phone": PHONE_HINT,
    }


def test_errors_inside_the_three_level_bill_are_keyed_by_their_nested_path() -> None:
    values = {
        "target": "new_both",
        "account.external_reference": "UAR 0042",
        **nested("account.customer", {"external_reference": "UCR-1", "phone": "082"}),
        **BILL,
    }
    assert bill(values).errors == {
        "account.external_reference": REF_HINT,
        "account.customer.phone": PHONE_HINT,
    }


def test_a_too_long_reference_is_refused() -> None:
    assert customer(external_reference="U" * 256).errors == {
        "external_reference": "String should have at most 255 characters"
    }


def test_due_date_before_bill_date_is_an_error_on_the_due_date() -> None:
    values = {"target": "account", "account": "bacc_A1", **BILL, "due_date": "2026-10-31"}
    assert bill(values).errors == {"due_date": "due_date cannot be before bill_date"}


@pytest.mark.parametrize("typed", ["2026-13-01", "1 Nov 2026", "2026-11-01T00:00:00"])
def test_a_date_that_is_not_a_calendar_day_is_refused(typed: str) -> None:
    errors = bill({"target": "account", "account": "bacc_A1", **BILL, "bill_date": typed}).errors
    assert list(errors) == ["bill_date"]


def test_an_unknown_currency_is_refused_and_the_amount_waits_for_one() -> None:
    values = {"target": "account", "account": "bacc_A1", **BILL, "currency": "XYZ"}
    assert bill(values).errors == {
        "currency": "'XYZ' is not an ISO 4217 currency code (e.g. ZAR)",
        "amount_due": "choose the currency first (it decides the decimals)",
    }


def test_a_balance_needs_a_currency() -> None:
    checked = customer(external_reference="UCR-1", balance="10")
    assert checked.errors == {"balance": "choose the currency first (it decides the decimals)"}


# --- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "currency", "sent", "note"),
    [
        ("1,234.50", "ZAR", 123450, "sends 123450 (R 1,234.50)"),
        ("R 20", "ZAR", 2000, "sends 2000 (R 20.00)"),
        ("0.01", "ZAR", 1, "sends 1 (R 0.01)"),
        ("999,999.99", "ZAR", AMOUNT_MAX, "sends 99999999 (R 999,999.99)"),
        ("1500", "JPY", 1500, "sends 1500 (JP¥ 1,500)"),
        ("12.345", "KWD", 12345, "sends 12345 (KWD 12.345)"),
    ],
)
def test_an_amount_is_typed_in_major_units_and_noted_in_minor_units(
    typed: str, currency: str, sent: int, note: str
) -> None:
    values = {"target": "account", "account": "bacc_A1", **BILL}
    checked = bill({**values, "amount_due": typed, "currency": currency})
    assert checked.errors == {}
    assert checked.body is not None
    assert checked.body["amount_due"] == sent
    assert checked.notes["amount_due"] == note


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("12.345", "'12.345' has too many decimals: ZAR takes at most 2 decimal places"),
        ("twelve", "'twelve' is not an amount"),
        ("-5", "the amount cannot be negative"),
        ("0", "the amount must be at least R 0.01"),
        ("1,000,000", "the amount must be at most R 999,999.99"),
        ("$ 12", "'$ 12' is not in ZAR: $ is a symbol of USD"),
    ],
)
def test_an_amount_the_api_would_refuse_says_why_in_money(typed: str, error: str) -> None:
    values = {"target": "account", "account": "bacc_A1", **BILL, "amount_due": typed}
    checked = bill(values)
    assert checked.body is None
    assert checked.errors == {"amount_due": error}
    assert "amount_due" not in checked.notes


def test_a_negative_balance_is_a_credit_and_bounded() -> None:
    assert customer(external_reference="U1", currency="ZAR", balance="-0.50").body == {
        "external_reference": "U1",
        "currency": "ZAR",
        "balance": -50,
    }
    huge = customer(external_reference="U1", currency="ZAR", balance="99999999999999999")
    assert huge.errors["balance"].startswith("the amount must be at most R ")


def test_a_money_field_without_bounds_leaves_them_to_the_model() -> None:
    spec = FieldSpec("amount_due", "Amount", kind="money", required=True)
    section = Section(
        "", (FieldSpec("external_reference", "Ref"), FieldSpec("currency", "C"), spec)
    )
    values = {"external_reference": "B1", "currency": "ZAR", "amount_due": "0"}
    checked = check((section,), values, BillCreate, fixed={"account": "bacc_A1"})
    assert checked.errors == {"amount_due": "Input should be greater than or equal to 1"}


# --- metadata --------------------------------------------------------------------------------


def test_parse_metadata_takes_pairs_by_semicolon_or_line() -> None:
    assert parse_metadata("plan=gold; region=KZN") == {"plan": "gold", "region": "KZN"}
    assert parse_metadata("plan = gold\nregion=KZN\n\n") == {"plan": "gold", "region": "KZN"}
    assert parse_metadata("note=a=b") == {"note": "a=b"}  # the first = splits
    assert parse_metadata("empty=") == {"empty": ""}
    assert parse_metadata(" ; ") == {}
    assert parse_metadata("plan=gold;plan=silver") == {"plan": "silver"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("plan", "write key=value pairs separated by ';' ('plan')"),
        ("=gold", "write key=value pairs separated by ';' ('=gold')"),
        (
            "; ".join(f"k{i}=v" for i in range(METADATA_MAX_KEYS + 1)),
            f"at most {METADATA_MAX_KEYS} keys (got {METADATA_MAX_KEYS + 1})",
        ),
    ],
)
def test_parse_metadata_refuses_what_is_not_pairs(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        parse_metadata(text)


def test_metadata_text_is_what_parse_metadata_reads_back() -> None:
    metadata = {"plan": "gold", "region": "KZN"}
    assert metadata_text(metadata) == "plan=gold; region=KZN"
    assert parse_metadata(metadata_text(metadata)) == metadata


def test_metadata_errors_show_beside_the_metadata_field() -> None:
    base = {"target": "account", "account": "bacc_A1", **BILL}
    assert bill({**base, "metadata": "plan"}).errors == {
        "metadata": "write key=value pairs separated by ';' ('plan')"
    }
    # The model's own limits: a key too long; a value too long (pydantic names the key).
    assert bill({**base, "metadata": "k" * 41 + "=1"}).errors == {
        "metadata": f"key {'k' * 41!r} must be 1–40 characters"
    }
    assert bill({**base, "metadata": "note=" + "x" * 501}).errors == {
        "metadata": "value of 'note' is longer than 500"
    }
    nested_values = {
        "target": "new_both",
        "account.external_reference": "UAR-1",
        "account.customer.external_reference": "UCR-1",
        "account.customer.metadata": "note=" + "x" * 501,
        **BILL,
    }
    assert bill(nested_values).errors == {
        "account.customer.metadata": "value of 'note' is longer than 500"
    }


def test_an_error_no_field_holds_is_the_whole_forms_naming_its_path() -> None:
    only_reference = Section("", (FieldSpec("external_reference", "Ref"),))
    checked = check((only_reference,), {"external_reference": "UAR-1"}, AccountCreate)
    assert checked.errors == {"": "customer: Field required"}


def test_a_forms_own_rules_are_errors_beside_their_fields() -> None:
    def rules(body: dict[str, Any], values: Any) -> dict[str, str]:
        return {"due_date": "too far out"} if body.get("due_date") == "2027-12-01" else {}

    values = {"target": "account", "account": "bacc_A1", **BILL}
    assert check(NewBill.sections, values, BillCreate, rules=rules).ok
    late = {**values, "due_date": "2027-12-01"}
    assert check(NewBill.sections, late, BillCreate, rules=rules).errors == {
        "due_date": "too far out"
    }


# --- an API's refusal, by field ----------------------------------------------------------------


def api_error(status: int, title: str, detail: str | None, **extensions: Any) -> ApiError:
    problem = Problem(status, title, detail, extensions=extensions or None)
    return ApiError("POST", "/billing/bills", problem)


def test_the_sandboxs_errors_list_names_each_field() -> None:
    error = api_error(
        400,
        "Invalid request",
        "account.customer.phone: bad; body: whole",
        errors=[
            {"field": "account.customer.phone", "message": PHONE_HINT},
            {"field": "body", "message": "a bill needs an account or a customer"},
            {"field": "amount_due"},  # no message: the detail stands in
            {"message": "no field: not placed"},
            "not an object",
        ],
    )
    assert field_errors_of(error) == {
        "account.customer.phone": PHONE_HINT,
        "": "a bill needs an account or a customer",
        "amount_due": "account.customer.phone: bad; body: whole",
    }


def test_the_first_message_for_a_field_wins() -> None:
    error = api_error(
        422,
        "Unprocessable",
        "x",
        errors=[{"field": "customer", "message": "first"}, {"field": "customer", "message": "2"}],
    )
    assert field_errors_of(error) == {"customer": "first"}


def test_a_moment_style_problem_names_its_field_at_the_start_of_detail() -> None:
    assert field_errors_of(api_error(400, "Bad request", "phone: must be E.164")) == {
        "phone": "must be E.164"
    }
    assert field_errors_of(
        api_error(422, "Unprocessable", "account.customer.email: is not valid")
    ) == {"account.customer.email": "is not valid"}


def test_a_problem_naming_no_field_gives_none() -> None:
    assert field_errors_of(api_error(402, "Request failed", "the card was declined")) == {}
    assert field_errors_of(api_error(500, "Server error", None)) == {}
    assert field_errors_of(api_error(400, "Bad request", "Phone: capitalised is prose")) == {}


def test_a_409_names_the_kind_that_holds_the_reference() -> None:
    assert _owner("external_reference", "customer") == "customer"
    assert _owner("external_reference", "bill") == "bill"
    assert _owner("account.external_reference", "bill") == "account"
    assert _owner("account.customer.external_reference", "bill") == "customer"
    assert _owner("customer.external_reference", "account") == "customer"


@pytest.mark.parametrize(
    ("status", "title", "detail", "definite"),
    [
        (400, "Invalid request", "phone: use international E.164 form", True),
        (409, "Conflict", "a customer with external_reference 'U1' already exists", True),
        (422, "Request could not be processed", "customer 'bcus_X' doesn't exist", True),
        (429, "Too many requests", None, True),
        # About the key: the first attempt may still succeed, or its fate is unknown.
        (409, "Request in progress", "a request with this Idempotency-Key is still …", False),
        (422, "Idempotency-Key reused", "this Idempotency-Key was already used …", False),
        (500, "Server error", "it may have done part of it", False),
        (503, "Service unavailable", None, False),
    ],
)
def test_a_definite_refusal_is_settled_and_asks_for_a_new_key(
    status: int, title: str, detail: str | None, definite: bool
) -> None:
    assert settled(api_error(status, title, detail)) is definite


def test_a_renewed_draft_has_a_new_key_and_nothing_sent_with_it() -> None:
    draft = Drafts().get("new-bill", {"target": "account"})
    first = draft.idempotency_key
    draft.sent = True
    draft.renew()
    assert draft.idempotency_key != first
    assert not draft.sent
    assert draft.values == {"target": "account"}


def test_drafts_are_kept_by_name_until_forgotten() -> None:
    drafts = Drafts()
    draft = drafts.get("new-bill", {"bill_date": "2026-11-01"})
    draft.values["amount_due"] = "12"
    again = drafts.get("new-bill", {"bill_date": "ignored: the draft exists"})
    assert again is draft
    assert again.values == {"bill_date": "2026-11-01", "amount_due": "12"}
    assert "new-bill" in drafts
    drafts.forget("new-bill")
    assert "new-bill" not in drafts
    fresh = drafts.get("new-bill")
    assert fresh.values == {}
    assert fresh.idempotency_key != draft.idempotency_key


def test_refused_keeps_what_to_show_and_where() -> None:
    refused = Refused("409 Conflict", {"external_reference": "taken"}, existing=("bill", "B1"))
    assert str(refused) == "409 Conflict"
    assert refused.fields == {"external_reference": "taken"}
    assert refused.existing == ("bill", "B1")
    assert not refused.timed_out
    assert Refused("no answer", timed_out=True).fields == {}
