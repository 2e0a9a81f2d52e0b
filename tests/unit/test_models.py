"""Request models refuse bad payloads field by field; response models tolerate drift."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from moment_tui.api.models import (
    AMOUNT_APPLIED,
    Account,
    AccountCreate,
    AccountUpdate,
    AmountAppliedData,
    AmountAppliedEvent,
    Bill,
    BillCreate,
    BillStatus,
    BillUpdate,
    Customer,
    CustomerCreate,
    CustomerUpdate,
    EventEnvelope,
    NestedAccountCreate,
    PaymentRules,
    field_errors,
)

REF_HINT = "use letters, digits, '_' and '-' only"
PHONE_HINT = "use international E.164 form, e.g. +27821234567"
EMAIL_HINT = "enter an email address such as name@example.com"
NOT_INT = "Input should be a valid integer"
EXTRA = "Extra inputs are not permitted"


def errors_of(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return field_errors(caught.value)


def bill(**fields: Any) -> dict[str, Any]:
    return {"external_reference": "INV-2024-001", "currency": "ZAR", "amount_due": 2000, **fields}


# --- customers ------------------------------------------------------------------------


def test_customer_create_full_payload() -> None:
    body = CustomerCreate.model_validate(
        {
            "external_reference": "UCR1234567890",
            "name": "Thandi Mokoena",
            "email": "thandi@example.co.za",
            "phone": "+27821234567",
            "currency": "ZAR",
            "balance": -5000,
            "metadata": {"plan": "gold"},
        }
    )
    assert body.to_json() == {
        "external_reference": "UCR1234567890",
        "name": "Thandi Mokoena",
        "email": "thandi@example.co.za",
        "phone": "+27821234567",
        "currency": "ZAR",
        "balance": -5000,
        "metadata": {"plan": "gold"},
    }


def test_external_reference_length_255_is_accepted() -> None:
    body = CustomerCreate(external_reference="a" * 255)
    assert body.to_json() == {"external_reference": "a" * 255}


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("a" * 256, "String should have at most 255 characters"),
        ("", "String should have at least 1 character"),
        ("has space", REF_HINT),
        ("dots.not.allowed", REF_HINT),
        ("trailing-newline\n", REF_HINT),
        ("ÜCR1", REF_HINT),
    ],
)
def test_external_reference_is_checked(reference: str, message: str) -> None:
    assert errors_of(CustomerCreate, {"external_reference": reference}) == {
        "external_reference": message
    }


def test_external_reference_is_required() -> None:
    assert errors_of(CustomerCreate, {"name": "x"}) == {"external_reference": "Field required"}


@pytest.mark.parametrize("phone", ["+27821234567", "+12", "+123456789012345"])
def test_e164_phone_accepted(phone: str) -> None:
    assert CustomerCreate(external_reference="c", phone=phone).phone == phone


@pytest.mark.parametrize(
    "phone",
    [
        "0821234567",
        "+0821234567",
        "+1",
        "+1234567890123456",
        "+27 82 123 4567",
        "+27821234567\n",
        "+2\u0667\u0668\u0662\u0661\u0662\u0663",  # Arabic-Indic digits are not E.164
    ],
)
def test_e164_phone_refused(phone: str) -> None:
    assert errors_of(CustomerCreate, {"external_reference": "c", "phone": phone}) == {
        "phone": PHONE_HINT
    }


def test_email_checked() -> None:
    assert CustomerCreate(external_reference="c", email="a@b.co").email == "a@b.co"
    for bad in ["nope", "a@b", "a b@c.com", "@b.com"]:
        assert errors_of(CustomerCreate, {"external_reference": "c", "email": bad}) == {
            "email": EMAIL_HINT
        }
    too_long = "a" * 250 + "@b.com"
    assert errors_of(CustomerCreate, {"external_reference": "c", "email": too_long}) == {
        "email": "String should have at most 255 characters"
    }


def test_name_length() -> None:
    assert CustomerCreate(external_reference="c", name="n" * 255).name == "n" * 255
    assert errors_of(CustomerCreate, {"external_reference": "c", "name": "n" * 256}) == {
        "name": "String should have at most 255 characters"
    }


def test_metadata_at_the_limits_is_accepted() -> None:
    ten = {f"key{i}": "v" for i in range(10)}
    assert CustomerCreate(external_reference="c", metadata=ten).metadata == ten
    big = {"k" * 40: "v" * 500}
    assert CustomerCreate(external_reference="c", metadata=big).to_json()["metadata"] == big


@pytest.mark.parametrize(
    ("metadata", "field", "message"),
    [
        ({f"key{i}": "v" for i in range(11)}, "metadata", "at most 10 keys (got 11)"),
        ({"k" * 41: "v"}, "metadata", f"key {'k' * 41!r} must be 1–40 characters"),
        ({"": "v"}, "metadata", "key '' must be 1–40 characters"),
        ({"k": "v" * 501}, "metadata.k", "value of 'k' is longer than 500"),
        ({"k": 5}, "metadata.k", "Input should be a valid string"),
        ({"k": None}, "metadata.k", "Input should be a valid string"),
        ({"k": True}, "metadata.k", "Input should be a valid string"),
    ],
)
def test_metadata_limits(metadata: dict[str, Any], field: str, message: str) -> None:
    assert errors_of(CustomerCreate, {"external_reference": "c", "metadata": metadata}) == {
        field: message
    }


NOT_IN_USE = "is not a currency in use today; give a current one (e.g. ZAR)"


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("zar", "'zar' is not an ISO 4217 currency code (e.g. ZAR)"),
        ("XYZ", "'XYZ' is not an ISO 4217 currency code (e.g. ZAR)"),
        ("DEM", f"'DEM' (German Mark) {NOT_IN_USE}"),
        ("XXX", f"'XXX' (Unknown Currency) {NOT_IN_USE}"),
        ("XTS", f"'XTS' (Testing Currency Code) {NOT_IN_USE}"),
        ("ZARR", "'ZARR' is not an ISO 4217 currency code: three letters (e.g. ZAR)"),
        ("ZA", "'ZA' is not an ISO 4217 currency code: three letters (e.g. ZAR)"),
        (
            "INV-WALK-0002-X-Y",
            "'INV-WALK-0002-X…' is not an ISO 4217 currency code: three letters (e.g. ZAR)",
        ),
    ],
)
def test_currency_must_be_iso_4217(currency: str, message: str) -> None:
    assert errors_of(CustomerCreate, {"external_reference": "c", "currency": currency}) == {
        "currency": message
    }


@pytest.mark.parametrize("currency", ["ZAR", "USD", "EUR", "JPY", "KWD", "HUF", "IQD"])
def test_currencies_in_use_are_accepted(currency: str) -> None:
    assert CustomerCreate(external_reference="c", currency=currency).currency == currency
    body = BillCreate.model_validate(bill(currency=currency, customer="bcus_1"))
    assert body.currency == currency


@pytest.mark.parametrize("currency", ["DEM", "ESP", "ADP", "XXX", "XTS"])
def test_every_model_refuses_codes_not_in_use(currency: str) -> None:
    message = errors_of(BillCreate, bill(currency=currency, customer="bcus_1"))["currency"]
    assert message.startswith(f"'{currency}' (")
    assert message.endswith(f") {NOT_IN_USE}")
    assert set(errors_of(AccountUpdate, {"currency": currency})) == {"currency"}
    assert set(errors_of(BillUpdate, {"currency": currency})) == {"currency"}


@pytest.mark.parametrize("model", [CustomerCreate, AccountCreate, NestedAccountCreate])
def test_balance_requires_currency_on_create(model: type[BaseModel]) -> None:
    data: dict[str, Any] = {"external_reference": "c", "balance": 5000}
    if model is AccountCreate:
        data["customer"] = "bcus_1"
    assert errors_of(model, data) == {"currency": "currency is required when balance is given"}


@pytest.mark.parametrize("model", [CustomerUpdate, AccountUpdate])
def test_balance_requires_currency_on_update(model: type[BaseModel]) -> None:
    assert errors_of(model, {"balance": 5000}) == {
        "currency": "currency is required when balance is given"
    }
    assert model.model_validate({"balance": 0, "currency": "ZAR"}).to_json() == {  # type: ignore[attr-defined]
        "balance": 0,
        "currency": "ZAR",
    }


def test_balance_is_bounded_to_json_safe_integers() -> None:
    limit = 2**53 - 1
    assert CustomerCreate(external_reference="c", currency="ZAR", balance=-limit).balance == -limit
    assert errors_of(
        CustomerCreate, {"external_reference": "c", "currency": "ZAR", "balance": 2**53}
    ) == {"balance": f"Input should be less than or equal to {limit}"}


@pytest.mark.parametrize("value", [True, "20", 20.0, None])
def test_integers_are_strict(value: Any) -> None:
    data = {"external_reference": "c", "currency": "ZAR", "balance": value}
    if value is None:
        # None means "not given": allowed, and left out of the body.
        assert CustomerCreate.model_validate(data).to_json() == {
            "external_reference": "c",
            "currency": "ZAR",
        }
    else:
        assert errors_of(CustomerCreate, data) == {"balance": NOT_INT}


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (CustomerCreate, {"external_reference": "c", "nickname": "x"}, "nickname"),
        (CustomerUpdate, {"external_reference": "c"}, "external_reference"),
        (AccountUpdate, {"customer": "bcus_1"}, "customer"),
        (BillUpdate, {"amount_due": 5}, "amount_due"),
        (BillCreate, bill(customer="bcus_1", status="paid"), "status"),
    ],
)
def test_extra_fields_are_refused(model: type[BaseModel], data: dict[str, Any], field: str) -> None:
    assert errors_of(model, data) == {field: EXTRA}


def test_customer_update_empty_and_partial() -> None:
    assert CustomerUpdate().to_json() == {}
    assert CustomerUpdate(name="New name").to_json() == {"name": "New name"}
    assert errors_of(CustomerUpdate, {"name": ""}) == {
        "name": "String should have at least 1 character"
    }
    assert errors_of(CustomerUpdate, {"phone": "082"}) == {"phone": PHONE_HINT}


def test_request_models_are_frozen() -> None:
    body = CustomerUpdate(name="a")
    with pytest.raises(ValidationError) as caught:
        body.name = "b"  # type: ignore[misc]
    assert caught.value.errors()[0]["type"] == "frozen_instance"


# --- accounts -------------------------------------------------------------------------


def test_account_create_with_existing_customer() -> None:
    body = AccountCreate.model_validate({"external_reference": "UAR1", "customer": "bcus_H4jp6"})
    assert body.to_json() == {"external_reference": "UAR1", "customer": "bcus_H4jp6"}


def test_account_create_with_a_new_customer_object() -> None:
    body = AccountCreate.model_validate(
        {
            "external_reference": "UAR1",
            "currency": "ZAR",
            "balance": 10000,
            "customer": {"external_reference": "UCR1", "name": "Thandi", "metadata": None},
        }
    )
    assert isinstance(body.customer, CustomerCreate)
    assert body.to_json() == {
        "external_reference": "UAR1",
        "currency": "ZAR",
        "balance": 10000,
        "customer": {"external_reference": "UCR1", "name": "Thandi"},
    }


def test_account_create_requires_customer() -> None:
    assert errors_of(AccountCreate, {"external_reference": "UAR1"}) == {
        "customer": "Field required"
    }


NOT_A_REF_OR_OBJECT = "should name an existing {} (a string) or describe a new one (an object)"


@pytest.mark.parametrize(
    ("customer", "errors"),
    [
        ({"external_reference": "c", "phone": "123"}, {"customer.phone": PHONE_HINT}),
        (
            {"external_reference": "c", "balance": 5},
            {"customer.currency": "currency is required when balance is given"},
        ),
        ({"external_reference": "c", "bogus": 1}, {"customer.bogus": EXTRA}),
        ({"name": "no reference"}, {"customer.external_reference": "Field required"}),
        ("has space", {"customer": REF_HINT}),
        # Neither a string nor an object: what to send, not pydantic's class name.
        *[
            (value, {"customer": NOT_A_REF_OR_OBJECT.format("customer")})
            for value in (5, None, [1], True)
        ],
    ],
)
def test_account_create_nested_customer_errors(customer: Any, errors: dict[str, str]) -> None:
    assert errors_of(AccountCreate, {"external_reference": "UAR1", "customer": customer}) == errors


def test_account_update() -> None:
    assert AccountUpdate(balance=-100, currency="ZAR").to_json() == {
        "balance": -100,
        "currency": "ZAR",
    }
    assert errors_of(AccountUpdate, {"metadata": {"k": 1}}) == {
        "metadata.k": "Input should be a valid string"
    }


def test_nested_account_create_customer_is_optional() -> None:
    assert NestedAccountCreate(external_reference="a").to_json() == {"external_reference": "a"}


# --- bills ----------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1, 2000, 99_999_999])
def test_amount_due_in_range(amount: int) -> None:
    assert BillCreate.model_validate(bill(amount_due=amount, account="bacc_1")).amount_due == amount


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "Input should be greater than or equal to 1"),
        (-1, "Input should be greater than or equal to 1"),
        (100_000_000, "Input should be less than or equal to 99999999"),
        (True, NOT_INT),
        ("20", NOT_INT),
        (20.0, NOT_INT),
    ],
)
def test_amount_due_out_of_range_or_not_int(amount: Any, message: str) -> None:
    assert errors_of(BillCreate, bill(amount_due=amount, account="bacc_1")) == {
        "amount_due": message
    }


def test_bill_create_required_fields() -> None:
    assert errors_of(BillCreate, {"customer": "bcus_1"}) == {
        "external_reference": "Field required",
        "currency": "Field required",
        "amount_due": "Field required",
    }


def test_bill_with_account_nesting_a_new_customer() -> None:
    body = BillCreate.model_validate(
        bill(
            account={
                "external_reference": "UAR1",
                "customer": {"external_reference": "UCR1", "email": "a@b.co"},
            }
        )
    )
    assert isinstance(body.account, NestedAccountCreate)
    assert isinstance(body.account.customer, CustomerCreate)
    assert body.to_json() == {
        "external_reference": "INV-2024-001",
        "currency": "ZAR",
        "amount_due": 2000,
        "account": {
            "external_reference": "UAR1",
            "customer": {"external_reference": "UCR1", "email": "a@b.co"},
        },
    }


def test_bill_with_new_account_and_customer_beside_it() -> None:
    body = BillCreate.model_validate(
        bill(account={"external_reference": "UAR1"}, customer="bcus_1")
    )
    assert body.to_json()["account"] == {"external_reference": "UAR1"}
    assert body.to_json()["customer"] == "bcus_1"


def test_bill_with_a_new_customer_object() -> None:
    body = BillCreate.model_validate(bill(customer={"external_reference": "UCR1", "name": "T"}))
    assert isinstance(body.customer, CustomerCreate)
    assert body.to_json()["customer"] == {"external_reference": "UCR1", "name": "T"}


def test_bill_with_existing_account_and_customer_is_allowed() -> None:
    body = BillCreate.model_validate(bill(account="bacc_1", customer="bcus_1"))
    assert (body.account, body.customer) == ("bacc_1", "bcus_1")


CUSTOMER_ID_HINT = "use the customer's id (bcus_…), not its external reference"
ACCOUNT_ID_HINT = "use the account's id (bacc_…), not its external reference"


@pytest.mark.parametrize(
    "value",
    ["UCR1", "bcus_", "bcus_a-b", "bcus_a_b", "BCUS_1", "bacc_1", "bcus_1\n"],
)
def test_a_bills_customer_given_as_a_string_is_a_customer_id(value: str) -> None:
    # Reference §12.1: a bill's string customer is ^bcus_…, never an external reference.
    assert errors_of(BillCreate, bill(customer=value)) == {"customer": CUSTOMER_ID_HINT}


@pytest.mark.parametrize("value", ["UAR1", "bacc_", "bacc_a-b", "bcus_1", "bacc_1 "])
def test_a_bills_account_given_as_a_string_is_an_account_id(value: str) -> None:
    assert errors_of(BillCreate, bill(account=value)) == {"account": ACCOUNT_ID_HINT}
    assert errors_of(BillCreate, bill(account=value, customer="bcus_1")) == {
        "account": ACCOUNT_ID_HINT
    }


def test_bill_links_by_id_are_accepted() -> None:
    body = BillCreate.model_validate(
        bill(account="bacc_H4jp6KnU5cPw263v1jyz4", customer="bcus_" + "a" * 250)
    )
    assert body.to_json()["account"] == "bacc_H4jp6KnU5cPw263v1jyz4"
    too_long = "bcus_" + "a" * 251
    assert errors_of(BillCreate, bill(customer=too_long)) == {
        "customer": "String should have at most 255 characters"
    }


def test_a_new_accounts_customer_may_still_be_a_reference() -> None:
    # The nested account follows the account rules (§11.1): an id or a reference.
    body = BillCreate.model_validate(
        bill(account={"external_reference": "UAR1", "customer": "UCR1"})
    )
    assert isinstance(body.account, NestedAccountCreate)
    assert body.account.customer == "UCR1"
    account = AccountCreate.model_validate({"external_reference": "UAR1", "customer": "UCR1"})
    assert account.customer == "UCR1"


def test_bill_needs_account_or_customer() -> None:
    assert errors_of(BillCreate, bill()) == {"account": "a bill needs an account or a customer"}


def test_new_account_without_a_customer() -> None:
    assert errors_of(BillCreate, bill(account={"external_reference": "UAR1"})) == {
        "customer": "the new account needs a customer (in account or here)"
    }


def test_new_account_customer_given_twice() -> None:
    data = bill(
        account={"external_reference": "UAR1", "customer": "bcus_1"},
        customer={"external_reference": "UCR1"},
    )
    assert errors_of(BillCreate, data) == {
        "customer": "give the new account's customer once, not twice"
    }


def test_nested_errors_name_the_full_path() -> None:
    data = bill(
        account={
            "external_reference": "UAR1",
            "balance": 5,
            "customer": {"external_reference": "UCR 1", "phone": "x"},
        }
    )
    assert errors_of(BillCreate, data) == {
        "account.customer.external_reference": REF_HINT,
        "account.customer.phone": PHONE_HINT,
    }
    data["account"]["customer"] = "bcus_1"
    assert errors_of(BillCreate, data) == {
        "account.currency": "currency is required when balance is given"
    }


def test_due_date_before_bill_date() -> None:
    data = bill(customer="bcus_1", bill_date="2025-06-18", due_date="2025-06-17")
    assert errors_of(BillCreate, data) == {"due_date": "due_date cannot be before bill_date"}


def test_due_date_same_day_and_to_json_dates_are_iso() -> None:
    body = BillCreate(
        external_reference="INV-1",
        currency="ZAR",
        amount_due=2000,
        customer="bcus_1",
        bill_date=dt.date(2025, 6, 18),
        due_date=dt.date(2025, 6, 18),
        metadata={"k": "v"},
    )
    assert body.to_json() == {
        "external_reference": "INV-1",
        "currency": "ZAR",
        "amount_due": 2000,
        "customer": "bcus_1",
        "bill_date": "2025-06-18",
        "due_date": "2025-06-18",
        "metadata": {"k": "v"},
    }


def test_to_json_leaves_out_unset_fields() -> None:
    body = BillCreate(external_reference="INV-1", currency="ZAR", amount_due=1, account="bacc_1")
    assert body.to_json() == {
        "external_reference": "INV-1",
        "currency": "ZAR",
        "amount_due": 1,
        "account": "bacc_1",
    }
    assert None not in body.to_json().values()


def test_bad_date_is_named() -> None:
    errors = errors_of(BillCreate, bill(customer="bcus_1", bill_date="2025-13-01"))
    assert list(errors) == ["bill_date"]
    assert "month value is outside expected range of 1-12" in errors["bill_date"]


DATE_HINT = "use a date as YYYY-MM-DD"


@pytest.mark.parametrize("field", ["bill_date", "due_date"])
@pytest.mark.parametrize(
    "value",
    [
        "2025-02-03T00:00:00",
        "2025-02-03T00:00:00Z",
        "2025-02-03 ",
        "20250203",
        "2025-2-3",
        "03/02/2025",
        "",
        "２０２５-０２-０３",  # fullwidth digits
        1699920000,
        1699920000.0,
        True,
        dt.datetime(2025, 2, 3),
        dt.datetime(2025, 2, 3, tzinfo=dt.UTC),
        [2025, 2, 3],
    ],
    ids=repr,
)
def test_request_dates_are_calendar_dates_only(field: str, value: Any) -> None:
    assert errors_of(BillCreate, bill(customer="bcus_1", **{field: value})) == {field: DATE_HINT}
    with pytest.raises(ValidationError) as caught:
        BillCreate(
            external_reference="INV-1",
            currency="ZAR",
            amount_due=1,
            customer="bcus_1",
            **{field: value},
        )
    assert field_errors(caught.value) == {field: DATE_HINT}


@pytest.mark.parametrize("field", ["bill_date", "due_date"])
@pytest.mark.parametrize("value", ["2025-02-03", dt.date(2025, 2, 3)], ids=repr)
def test_request_dates_take_a_date_or_its_iso_text(field: str, value: Any) -> None:
    # The sandbox validates parsed JSON, so the text form must keep working.
    body = BillCreate.model_validate(bill(customer="bcus_1", **{field: value}))
    assert getattr(body, field) == dt.date(2025, 2, 3)
    assert type(getattr(body, field)) is dt.date
    assert body.to_json()[field] == "2025-02-03"


def test_a_null_date_on_create_means_absent() -> None:
    body = BillCreate.model_validate(bill(customer="bcus_1", bill_date=None, due_date=None))
    assert (body.bill_date, body.due_date) == (None, None)


def test_response_dates_stay_tolerant() -> None:
    parsed = Bill.model_validate(bill_body(bill_date="2025-06-18T00:00:00", due_date=1751328000))
    assert parsed.bill_date == dt.date(2025, 6, 18)
    assert parsed.due_date == dt.date(2025, 7, 1)


def test_bill_update() -> None:
    assert BillUpdate(amount_paid=1500, currency="ZAR").to_json() == {
        "amount_paid": 1500,
        "currency": "ZAR",
    }
    assert BillUpdate(amount_paid=0, currency="ZAR").to_json()["amount_paid"] == 0
    assert errors_of(BillUpdate, {"amount_paid": 1500}) == {
        "currency": "currency is required when amount_paid is given"
    }
    assert errors_of(BillUpdate, {"amount_paid": -1, "currency": "ZAR"}) == {
        "amount_paid": "Input should be greater than or equal to 0"
    }
    assert errors_of(BillUpdate, {"amount_paid": 100_000_000, "currency": "ZAR"}) == {
        "amount_paid": "Input should be less than or equal to 99999999"
    }
    assert errors_of(BillUpdate, {"amount_paid": "1500", "currency": "ZAR"}) == {
        "amount_paid": NOT_INT
    }


def test_field_errors_keeps_the_first_message_per_field() -> None:
    errors = errors_of(CustomerCreate, {"external_reference": "", "phone": "1", "email": "x"})
    assert errors == {
        "external_reference": "String should have at least 1 character",
        "phone": PHONE_HINT,
        "email": EMAIL_HINT,
    }


# --- responses ------------------------------------------------------------------------


def test_customer_response_minimal_and_unknown_fields_kept() -> None:
    customer = Customer.model_validate(
        {"id": "bcus_H4jp6KnU5cPw263v1jyz4", "external_reference": "UCR1", "livemode": False}
    )
    assert customer.id == "bcus_H4jp6KnU5cPw263v1jyz4"
    assert customer.name is None
    assert customer.balance is None
    assert customer.metadata == {}
    assert customer.model_extra == {"livemode": False}
    assert customer.KIND == "customer"


def test_metadata_null_is_empty_and_non_strings_are_shown_as_json() -> None:
    customer = Customer.model_validate(
        {"id": "bcus_1", "external_reference": "c", "metadata": None}
    )
    assert customer.metadata == {}
    odd = Customer.model_validate(
        {"id": "bcus_1", "external_reference": "c", "metadata": {"n": 1, "s": "x", "z": None}}
    )
    assert odd.metadata == {"n": "1", "s": "x", "z": "null"}


def test_account_response_with_payment_rules() -> None:
    account = Account.model_validate(
        {
            "id": "bacc_1",
            "external_reference": "UAR1",
            "customer_id": "bcus_1",
            "balance": 10000,
            "currency": "ZAR",
            "payment_rules": {
                "min_amount": 100,
                "max_amount": 1000000,
                "underpayment_allowed": True,
                "overpayment_allowed": False,
                "new_rule": "x",
            },
        }
    )
    rules = account.payment_rules
    assert isinstance(rules, PaymentRules)
    assert (rules.min_amount, rules.max_amount) == (100, 1000000)
    assert rules.underpayment_allowed is True
    assert rules.overpayment_allowed is False
    assert rules.model_extra == {"new_rule": "x"}


def test_account_response_needs_customer_id() -> None:
    with pytest.raises(ValidationError) as caught:
        Account.model_validate({"id": "bacc_1", "external_reference": "a"})
    assert field_errors(caught.value) == {"customer_id": "Field required"}


def bill_body(**fields: Any) -> dict[str, Any]:
    return {
        "id": "bill_1",
        "external_reference": "UBR1",
        "customer_id": "bcus_1",
        "status": "unpaid",
        "currency": "ZAR",
        "amount_due": 2000,
        "amount_paid": 0,
        "amount_remaining": 2000,
        **fields,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("unpaid", BillStatus.UNPAID),
        ("UNPAID", BillStatus.UNPAID),
        ("Paid", BillStatus.PAID),
        ("voided", BillStatus.VOIDED),
    ],
)
def test_bill_status_any_case(status: str, expected: BillStatus) -> None:
    assert Bill.model_validate(bill_body(status=status)).status is expected


def test_bill_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Bill.model_validate(bill_body(status="refunded"))
    assert list(field_errors(caught.value)) == ["status"]


def test_bill_response_optional_fields() -> None:
    body = bill_body(bill_date="2025-06-18", due_date="2025-07-01", surprise={"a": 1})
    del body["amount_paid"]
    parsed = Bill.model_validate(body)
    assert parsed.amount_paid == 0
    assert parsed.account_id is None
    assert parsed.bill_date == dt.date(2025, 6, 18)
    assert parsed.due_date == dt.date(2025, 7, 1)
    assert parsed.model_extra == {"surprise": {"a": 1}}


def test_bill_is_overdue() -> None:
    parsed = Bill.model_validate(bill_body(due_date="2025-07-01"))
    assert parsed.is_overdue(dt.date(2025, 7, 2)) is True
    assert parsed.is_overdue(dt.date(2025, 7, 1)) is False
    paid = Bill.model_validate(bill_body(due_date="2025-07-01", status="paid"))
    assert paid.is_overdue(dt.date(2025, 8, 1)) is False
    assert Bill.model_validate(bill_body()).is_overdue(dt.date(2099, 1, 1)) is False


REFERENCE_EVENT = (
    '{"id":"evt_2341234567890abcdef","type":"obligation.amount_applied","data":'
    '{"id":"ob_N2a38DJQWPL8K4X42354234","amount":15000,"currency":"ZAR",'
    '"payment_id":"pay_1313235234843nmafdsa","customer_id":"bcus_H4jp6KnU5cPw263v1jyz4",'
    '"metadata":{"event_id":"wellness_joburg_2025"},"created_at":"2025-06-18T08:45:00Z",'
    '"updated_at":"2025-06-18T08:45:10Z"}}'
)


def test_reference_example_event_parses() -> None:
    event = AmountAppliedEvent.model_validate_json(REFERENCE_EVENT)
    assert event.id == "evt_2341234567890abcdef"
    assert event.type == AMOUNT_APPLIED
    assert event.data.id == "ob_N2a38DJQWPL8K4X42354234"
    assert event.data.amount == 15000
    assert event.data.currency == "ZAR"
    assert event.data.payment_id == "pay_1313235234843nmafdsa"
    assert event.data.metadata == {"event_id": "wellness_joburg_2025"}
    assert event.data.created_at == dt.datetime(2025, 6, 18, 8, 45, tzinfo=dt.UTC)
    assert event.data.updated_at == dt.datetime(2025, 6, 18, 8, 45, 10, tzinfo=dt.UTC)
    assert event.data.target() == ("customer", "bcus_H4jp6KnU5cPw263v1jyz4")
    envelope = EventEnvelope.model_validate_json(REFERENCE_EVENT)
    assert envelope.type == "obligation.amount_applied"
    assert envelope.data["amount"] == 15000


def test_other_event_types_are_not_amount_applied() -> None:
    with pytest.raises(ValidationError) as caught:
        AmountAppliedEvent.model_validate(
            {"id": "evt_1", "type": "bill.created", "data": {"id": "x"}}
        )
    assert "type" in field_errors(caught.value)
    envelope = EventEnvelope.model_validate({"id": "evt_1", "type": "bill.created", "data": {}})
    assert envelope.type == "bill.created"


def test_amount_is_a_strict_integer() -> None:
    with pytest.raises(ValidationError) as caught:
        AmountAppliedData.model_validate({"id": "ob_1", "amount": "150", "currency": "ZAR"})
    assert field_errors(caught.value) == {"amount": NOT_INT}


@pytest.mark.parametrize(
    ("ids", "target"),
    [
        (
            {"bill_id": "bill_1", "account_id": "bacc_1", "customer_id": "bcus_1"},
            ("bill", "bill_1"),
        ),
        ({"account_id": "bacc_1", "customer_id": "bcus_1"}, ("account", "bacc_1")),
        ({"bill_id": "bill_1", "customer_id": "bcus_1"}, ("bill", "bill_1")),
        ({"customer_id": "bcus_1"}, ("customer", "bcus_1")),
        ({}, None),
    ],
)
def test_amount_applied_target_precedence(
    ids: dict[str, str], target: tuple[str, str] | None
) -> None:
    data = AmountAppliedData.model_validate({"id": "ob_1", "amount": 1, "currency": "ZAR", **ids})
    assert data.target() == target
