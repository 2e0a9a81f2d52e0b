"""Customers, accounts and bills: create, retrieve, nested creation, lookup, PATCH, void."""

from __future__ import annotations

import datetime as dt
import re

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import Conflict, NotFound, Unprocessable
from moment_tui.api.models import (
    AccountCreate,
    AccountUpdate,
    BillCreate,
    BillStatus,
    BillUpdate,
    CustomerCreate,
    CustomerUpdate,
    NestedAccountCreate,
    PaymentRules,
)
from tests.integration.conftest import failure, fields, new_key, post, ref

# Moment's id shapes: a prefix and 21 ASCII letters and digits.
ID_SHAPE = re.compile(r"^(bcus|bacc|bill)_[A-Za-z0-9]{21}$")
ID = {
    "customer": re.compile(r"^bcus_[A-Za-z0-9]{21}$"),
    "account": re.compile(r"^bacc_[A-Za-z0-9]{21}$"),
    "bill": re.compile(r"^bill_[A-Za-z0-9]{21}$"),
}

# --- create and retrieve ----------------------------------------------------------------


async def test_create_customer_returns_201_and_every_field_set(client: MomentClient) -> None:
    reference = ref("cus")
    response = await post(
        client,
        "/billing/customers",
        {
            "external_reference": reference,
            "name": "Thandi Mokoena",
            "email": "thandi@example.com",
            "phone": "+27821234567",
            "currency": "ZAR",
            "balance": 25000,
            "metadata": {"segment": "retail"},
        },
    )
    assert response.status == 201
    body = response.body
    assert ID["customer"].fullmatch(body["id"])
    assert {k: v for k, v in body.items() if k != "id"} == {
        "external_reference": reference,
        "name": "Thandi Mokoena",
        "email": "thandi@example.com",
        "phone": "+27821234567",
        "currency": "ZAR",
        "balance": 25000,
        "metadata": {"segment": "retail"},
        "payment_rules": {
            "min_amount": 1,
            "max_amount": 99_999_999,
            "underpayment_allowed": True,
            "overpayment_allowed": True,
        },
    }
    fetched = await client.request("GET", f"/billing/customers/{body['id']}")
    assert fetched.status == 200
    assert fetched.body == body


async def test_created_ids_have_moments_shape(client: MomentClient) -> None:
    """Every way of creating an object, nested ones included, yields Moment-shaped ids."""
    customer = (await post(client, "/billing/customers", {"external_reference": ref("c")})).body
    account = (
        await post(
            client,
            "/billing/accounts",
            {"external_reference": ref("a"), "customer": {"external_reference": ref("c")}},
        )
    ).body
    nested = (
        await post(
            client,
            "/billing/bills",
            {
                "external_reference": ref("b"),
                "currency": "ZAR",
                "amount_due": 100,
                "account": {
                    "external_reference": ref("a"),
                    "customer": {"external_reference": ref("c")},
                },
            },
        )
    ).body
    direct = (
        await post(
            client,
            "/billing/bills",
            {
                "external_reference": ref("b"),
                "currency": "ZAR",
                "amount_due": 100,
                "customer": customer["id"],
            },
        )
    ).body
    made = {
        "customer": [customer["id"], account["customer_id"], nested["customer_id"]],
        "account": [account["id"], nested["account_id"]],
        "bill": [nested["id"], direct["id"]],
    }
    for kind, ids in made.items():
        for made_id in ids:
            assert ID_SHAPE.fullmatch(made_id), made_id
            assert ID[kind].fullmatch(made_id), (kind, made_id)
    every = [i for ids in made.values() for i in ids]
    assert len(set(every)) == len(every)
    assert direct["customer_id"] == customer["id"]
    # Nothing but ASCII letters and digits after the prefix (str.isalnum would pass "é").
    assert not ID_SHAPE.fullmatch("bcus_" + "é" * 21)
    assert not ID_SHAPE.fullmatch("bcus_" + "a" * 20)


async def test_minimal_customer_shows_only_fields_that_are_set(client: MomentClient) -> None:
    reference = ref("cus")
    customer = await client.create_customer(CustomerCreate(external_reference=reference))
    raw = (await client.request("GET", f"/billing/customers/{customer.id}")).body
    # No balance tracked and no bills: nothing can be paid to it, so no payment_rules
    # (reference §3.7: without rules an entity cannot be paid against).
    assert set(raw) == {"id", "external_reference"}
    assert customer.balance is None
    assert customer.currency is None
    assert customer.metadata == {}


async def test_create_account_for_existing_customer_by_id_and_by_reference(
    client: MomentClient,
) -> None:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    by_id = await client.create_account(
        AccountCreate(
            customer=customer.id,
            external_reference=ref("acc"),
            name="Fibre 50",
            currency="ZAR",
            balance=-500,
        )
    )
    by_ref = await client.create_account(
        AccountCreate(customer=customer.external_reference, external_reference=ref("acc"))
    )
    assert by_id.id.startswith("bacc_")
    assert len(by_id.id) == 26
    assert by_id.customer_id == by_ref.customer_id == customer.id
    assert (by_id.name, by_id.currency, by_id.balance) == ("Fibre 50", "ZAR", -500)
    assert by_id.payment_rules == PaymentRules(
        min_amount=1, max_amount=99_999_999, underpayment_allowed=True, overpayment_allowed=True
    )
    assert await client.get_account(by_id.id) == by_id
    assert await client.get_account(by_ref.external_reference) == by_ref


async def test_create_bill_on_account_and_directly_on_customer(client: MomentClient) -> None:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    account = await client.create_account(
        AccountCreate(customer=customer.id, external_reference=ref("acc"))
    )
    on_account = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=2000,
            account=account.id,
            bill_date=dt.date(2030, 1, 1),
            due_date=dt.date(2030, 1, 31),
            metadata={"invoice": "INV-1"},
        )
    )
    assert on_account.id.startswith("bill_")
    assert len(on_account.id) == 26
    assert on_account.customer_id == customer.id
    assert on_account.account_id == account.id
    assert on_account.status is BillStatus.UNPAID
    assert (on_account.amount_due, on_account.amount_paid, on_account.amount_remaining) == (
        2000,
        0,
        2000,
    )
    assert (on_account.bill_date, on_account.due_date) == (
        dt.date(2030, 1, 1),
        dt.date(2030, 1, 31),
    )
    assert on_account.metadata == {"invoice": "INV-1"}
    assert on_account.payment_rules == PaymentRules(
        min_amount=1, max_amount=2000, underpayment_allowed=True, overpayment_allowed=False
    )

    direct = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"), currency="ZAR", amount_due=1, customer=customer.id
        )
    )
    raw = (await client.request("GET", f"/billing/bills/{direct.id}")).body
    assert "account_id" not in raw  # only bills on an account carry one
    assert raw["customer_id"] == customer.id
    assert raw["bill_date"] == dt.date.today().isoformat()  # bill_date defaults to today
    assert "due_date" not in raw


async def test_bill_with_existing_account_and_its_own_customer_is_accepted(
    client: MomentClient,
) -> None:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    account = await client.create_account(
        AccountCreate(customer=customer.id, external_reference=ref("acc"))
    )
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=900,
            account=account.id,
            customer=customer.id,
        )
    )
    assert (bill.account_id, bill.customer_id) == (account.id, customer.id)


# --- nested creation ------------------------------------------------------------------------


async def test_account_with_a_new_customer_object_creates_both(client: MomentClient) -> None:
    customer_ref, account_ref = ref("cus"), ref("acc")
    account = await client.create_account(
        AccountCreate(
            external_reference=account_ref,
            customer=CustomerCreate(
                external_reference=customer_ref, name="Nested Person", phone="+27831112222"
            ),
        )
    )
    customer = await client.get_customer(customer_ref)
    assert account.customer_id == customer.id
    assert (customer.name, customer.phone) == ("Nested Person", "+27831112222")


async def test_bill_with_new_account_nesting_new_customer_creates_all_three(
    client: MomentClient,
) -> None:
    bill_ref, account_ref, customer_ref = ref("bill"), ref("acc"), ref("cus")
    bill = await client.create_bill(
        BillCreate(
            external_reference=bill_ref,
            currency="ZAR",
            amount_due=5000,
            account=NestedAccountCreate(
                external_reference=account_ref,
                name="Water & rates",
                customer=CustomerCreate(external_reference=customer_ref, name="Sipho"),
            ),
        )
    )
    account = await client.get_account(account_ref)
    customer = await client.get_customer(customer_ref)
    assert bill.account_id == account.id
    assert bill.customer_id == account.customer_id == customer.id
    assert (account.name, customer.name) == ("Water & rates", "Sipho")


async def test_bill_with_new_account_for_the_bills_customer(client: MomentClient) -> None:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=5000,
            customer=customer.id,
            account=NestedAccountCreate(external_reference=ref("acc")),
        )
    )
    account = await client.get_account(bill.account_id or "")
    assert account.customer_id == bill.customer_id == customer.id


async def test_bill_with_new_customer_object_and_no_account(client: MomentClient) -> None:
    customer_ref = ref("cus")
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=700,
            customer=CustomerCreate(external_reference=customer_ref, email="new@example.com"),
        )
    )
    customer = await client.get_customer(customer_ref)
    assert bill.customer_id == customer.id
    assert bill.account_id is None
    assert customer.email == "new@example.com"


async def test_failed_bill_create_rolls_back_its_new_account_and_customer(
    client: MomentClient,
) -> None:
    taken = ref("bill")
    owner = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    await client.create_bill(
        BillCreate(external_reference=taken, currency="ZAR", amount_due=100, customer=owner.id)
    )
    account_ref, customer_ref = ref("acc"), ref("cus")
    error = await failure(
        client.create_bill(
            BillCreate(
                external_reference=taken,
                currency="ZAR",
                amount_due=100,
                account=NestedAccountCreate(
                    external_reference=account_ref,
                    customer=CustomerCreate(external_reference=customer_ref),
                ),
            )
        ),
        Conflict,
    )
    assert error.status == 409
    assert list(fields(error)) == ["external_reference"]
    await failure(client.get_customer(customer_ref), NotFound)
    await failure(client.get_account(account_ref), NotFound)


async def test_failed_account_create_rolls_back_its_new_customer(client: MomentClient) -> None:
    owner = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    taken = ref("acc")
    await client.create_account(AccountCreate(customer=owner.id, external_reference=taken))
    customer_ref = ref("cus")
    error = await failure(
        client.create_account(
            AccountCreate(
                external_reference=taken, customer=CustomerCreate(external_reference=customer_ref)
            )
        ),
        Conflict,
    )
    assert list(fields(error)) == ["external_reference"]
    await failure(client.get_customer(customer_ref), NotFound)


async def test_nested_customer_with_existing_reference_is_rejected_not_reused(
    client: MomentClient,
) -> None:
    existing = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    account_ref, bill_ref = ref("acc"), ref("bill")
    error = await failure(
        client.create_bill(
            BillCreate(
                external_reference=bill_ref,
                currency="ZAR",
                amount_due=100,
                account=NestedAccountCreate(
                    external_reference=account_ref,
                    customer=CustomerCreate(external_reference=existing.external_reference),
                ),
            )
        ),
        Conflict,
    )
    assert list(fields(error)) == ["account.customer.external_reference"]
    assert error.detail == (
        f"a customer with external_reference {existing.external_reference!r} already exists "
        f"({existing.id}); to use it, pass account.customer as the string "
        f"{existing.external_reference!r}"
    )
    await failure(client.get_account(account_ref), NotFound)
    await failure(client.get_bill(bill_ref), NotFound)


async def test_nested_account_with_existing_reference_rolls_back_the_new_customer(
    client: MomentClient,
) -> None:
    owner = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    taken = ref("acc")
    existing = await client.create_account(
        AccountCreate(customer=owner.id, external_reference=taken)
    )
    customer_ref = ref("cus")
    error = await failure(
        client.create_bill(
            BillCreate(
                external_reference=ref("bill"),
                currency="ZAR",
                amount_due=100,
                account=NestedAccountCreate(
                    external_reference=taken,
                    customer=CustomerCreate(external_reference=customer_ref),
                ),
            )
        ),
        Conflict,
    )
    assert list(fields(error)) == ["account.external_reference"]
    # A bill's account takes an id only (§12.1), so the hint names the existing one's id.
    assert error.detail == (
        f"an account with external_reference {taken!r} already exists ({existing.id}); "
        f"to use it, pass account as its id {existing.id!r}"
    )
    await failure(client.get_customer(customer_ref), NotFound)


async def test_duplicate_hint_names_what_each_field_accepts(client: MomentClient) -> None:
    """The hint on a nested new object's taken reference is advice the endpoint takes:
    a bill's own ``customer`` is an id only (a reference there is 400), while an
    account's ``customer`` — top-level or inside a bill's new account — takes the
    reference. Each hint, followed, creates the object."""
    existing = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    taken = existing.external_reference
    on_bill = await failure(
        post(
            client,
            "/billing/bills",
            {
                "external_reference": ref("bill"),
                "currency": "ZAR",
                "amount_due": 100,
                "customer": {"external_reference": taken},
            },
        ),
        Conflict,
    )
    assert list(fields(on_bill)) == ["customer.external_reference"]
    assert on_bill.detail == (
        f"a customer with external_reference {taken!r} already exists ({existing.id}); "
        f"to use it, pass customer as its id {existing.id!r}"
    )
    bill = {"external_reference": ref("bill"), "currency": "ZAR", "amount_due": 100}
    refused = await failure(post(client, "/billing/bills", {**bill, "customer": taken}))
    assert refused.status == 400  # the advice to pass the reference would have led here
    followed = await post(client, "/billing/bills", {**bill, "customer": existing.id})
    assert (followed.status, followed.body["customer_id"]) == (201, existing.id)

    on_account = await failure(
        post(
            client,
            "/billing/accounts",
            {"external_reference": ref("acc"), "customer": {"external_reference": taken}},
        ),
        Conflict,
    )
    assert list(fields(on_account)) == ["customer.external_reference"]
    assert (on_account.detail or "").endswith(f"; to use it, pass customer as the string {taken!r}")
    account = await post(
        client, "/billing/accounts", {"external_reference": ref("acc"), "customer": taken}
    )
    assert (account.status, account.body["customer_id"]) == (201, existing.id)

    # Beside a bill's new account (not inside it) the customer is the bill's: an id.
    beside = await failure(
        post(
            client,
            "/billing/bills",
            {
                **bill,
                "external_reference": ref("bill"),
                "account": {"external_reference": ref("acc")},
                "customer": {"external_reference": taken},
            },
        ),
        Conflict,
    )
    assert (beside.detail or "").endswith(f"; to use it, pass customer as its id {existing.id!r}")


async def test_bill_date_defaults_to_today_even_when_the_due_date_has_passed(
    client: MomentClient,
) -> None:
    """Reference §12.1: ``bill_date`` defaults to today. A past ``due_date`` with no
    ``bill_date`` is still a bill (an overdue one), not a refusal and not back-dated;
    only a ``due_date`` before a ``bill_date`` actually sent is refused."""
    today = dt.date.today()
    due = today - dt.timedelta(days=10)
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=100,
            customer=CustomerCreate(external_reference=ref("cus")),
            due_date=due,
        )
    )
    assert (bill.bill_date, bill.due_date, bill.status) == (today, due, BillStatus.UNPAID)
    assert bill.is_overdue(today)
    assert (await client.get_bill(bill.id)).bill_date == today
    # A back-dated bill needs its bill_date sent, and then it must not follow the due date.
    dated = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=100,
            customer=bill.customer_id,
            bill_date=due,
            due_date=due,
        )
    )
    assert (dated.bill_date, dated.due_date) == (due, due)


async def test_mismatched_account_and_new_customer_rolls_back_the_customer(
    client: MomentClient,
) -> None:
    owner = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    account = await client.create_account(
        AccountCreate(customer=owner.id, external_reference=ref("acc"))
    )
    customer_ref = ref("cus")
    error = await failure(
        client.create_bill(
            BillCreate(
                external_reference=ref("bill"),
                currency="ZAR",
                amount_due=100,
                account=account.id,
                customer=CustomerCreate(external_reference=customer_ref),
            )
        ),
        Unprocessable,
    )
    assert list(fields(error)) == ["customer"]
    # It names the account's owner, and no customer that was made and rolled back.
    assert re.findall(r"bcus_\w+", error.detail or "") == [owner.id]
    await failure(client.get_customer(customer_ref), NotFound)


# --- uniqueness and lookup ------------------------------------------------------------------


async def test_duplicate_external_reference_is_409_per_object_type(client: MomentClient) -> None:
    shared = ref("same")
    customer = await client.create_customer(CustomerCreate(external_reference=shared))
    # The same reference is free for an account and a bill: uniqueness is per type.
    account = await client.create_account(
        AccountCreate(customer=customer.id, external_reference=shared)
    )
    bill = await client.create_bill(
        BillCreate(external_reference=shared, currency="ZAR", amount_due=10, account=account.id)
    )
    assert (await client.get_customer(shared)).id == customer.id
    assert (await client.get_account(shared)).id == account.id
    assert (await client.get_bill(shared)).id == bill.id

    again = await failure(
        client.create_customer(CustomerCreate(external_reference=shared)), Conflict
    )
    assert again.problem.type == "urn:moment-sandbox:problem:duplicate-external-reference"
    assert again.title == "Conflict"
    assert again.instance == "/billing/customers"
    # A top-level create has no other object to name: no advice to pass a string.
    assert again.detail == (
        f"a customer with external_reference {shared!r} already exists ({customer.id})"
    )
    assert list(fields(again)) == ["external_reference"]
    for call in (
        client.create_account(AccountCreate(customer=customer.id, external_reference=shared)),
        client.create_bill(
            BillCreate(external_reference=shared, currency="ZAR", amount_due=1, account=account.id)
        ),
    ):
        duplicate = await failure(call, Conflict)
        assert duplicate.status == 409
        assert list(fields(duplicate)) == ["external_reference"]
        assert "pass" not in (duplicate.detail or "")


async def test_external_references_are_case_sensitive(client: MomentClient) -> None:
    base = ref("Case")
    upper = await client.create_customer(CustomerCreate(external_reference=base.upper()))
    lower = await client.create_customer(CustomerCreate(external_reference=base.lower()))
    assert upper.id != lower.id
    assert (await client.get_customer(base.upper())).id == upper.id
    assert (await client.get_customer(base.lower())).id == lower.id
    await failure(client.get_customer(base), NotFound)  # mixed case names neither


async def test_lookup_prefers_an_id_then_falls_back_to_external_reference(
    client: MomentClient,
) -> None:
    first = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    # A second customer whose reference is the first one's id: the id wins.
    second = await client.create_customer(CustomerCreate(external_reference=first.id))
    assert (await client.get_customer(first.id)).id == first.id
    # An id-shaped reference that is no object's id is looked up as a reference.
    id_shaped = "bcus_" + ref("x").replace("-", "")[:21]
    third = await client.create_customer(CustomerCreate(external_reference=id_shaped))
    assert (await client.get_customer(id_shaped)).id == third.id
    assert (await client.get_customer(second.id)).external_reference == first.id


async def test_unknown_objects_are_404_problems(client: MomentClient) -> None:
    for kind, path in (
        ("customer", "/billing/customers"),
        ("account", "/billing/accounts"),
        ("bill", "/billing/bills"),
    ):
        missing = ref("missing")
        error = await failure(client.request("GET", f"{path}/{missing}"), NotFound)
        assert error.status == 404
        assert error.title == f"{kind.capitalize()} not found"
        assert error.detail == f"{kind} {missing!r} doesn't exist"
        assert error.instance == f"{path}/{missing}"
        assert error.problem.type == "urn:moment-sandbox:problem:not-found"
        patched = await failure(client.request("PATCH", f"{path}/{missing}", json={}), NotFound)
        assert patched.status == 404
    voided = await failure(client.void_bill(ref("missing")), NotFound)
    assert voided.status == 404


# --- PATCH ----------------------------------------------------------------------------------


async def test_customer_patch_replaces_balance_and_merges_metadata(client: MomentClient) -> None:
    customer = await client.create_customer(
        CustomerCreate(
            external_reference=ref("cus"),
            name="Before",
            email="before@example.com",
            currency="ZAR",
            balance=10_000,
            metadata={"keep": "1", "change": "old", "drop": "x"},
        )
    )
    updated = await client.update_customer(
        customer.external_reference,
        CustomerUpdate(
            currency="ZAR",
            balance=5000,
            email="after@example.com",
            metadata={"change": "new", "drop": "", "add": "2"},
        ),
    )
    assert updated.balance == 5000  # replaced, not 15 000
    assert updated.email == "after@example.com"
    assert updated.name == "Before"  # untouched by a partial update
    assert updated.metadata == {"keep": "1", "change": "new", "add": "2"}
    assert await client.get_customer(customer.id) == updated

    # An empty PATCH changes nothing.
    assert await client.update_customer(customer.id, CustomerUpdate()) == updated


async def test_customer_currency_change_with_new_balance_is_allowed(client: MomentClient) -> None:
    customer = await client.create_customer(
        CustomerCreate(external_reference=ref("cus"), currency="ZAR", balance=100)
    )
    error = await failure(
        client.update_customer(customer.id, CustomerUpdate(currency="USD")), Unprocessable
    )
    assert list(fields(error)) == ["balance"]
    moved = await client.update_customer(customer.id, CustomerUpdate(currency="USD", balance=7))
    assert (moved.currency, moved.balance) == ("USD", 7)
    # Without a balance there is nothing to convert: currency alone may change.
    plain = await client.create_customer(
        CustomerCreate(external_reference=ref("cus"), currency="ZAR")
    )
    changed = await client.update_customer(plain.id, CustomerUpdate(currency="USD"))
    assert (changed.currency, changed.balance) == ("USD", None)


async def test_account_patch_changes_only_that_account(client: MomentClient) -> None:
    customer = await client.create_customer(
        CustomerCreate(external_reference=ref("cus"), currency="ZAR", balance=111)
    )
    first = await client.create_account(
        AccountCreate(
            customer=customer.id,
            external_reference=ref("acc"),
            name="Mobile",
            currency="ZAR",
            balance=3000,
            metadata={"plan": "A"},
        )
    )
    second = await client.create_account(
        AccountCreate(
            customer=customer.id, external_reference=ref("acc"), currency="ZAR", balance=4000
        )
    )
    updated = await client.update_account(
        first.external_reference,
        AccountUpdate(name="Mobile 2", currency="ZAR", balance=10_000, metadata={"tier": "gold"}),
    )
    assert (updated.name, updated.balance) == ("Mobile 2", 10_000)
    assert updated.metadata == {"plan": "A", "tier": "gold"}
    assert (await client.get_account(second.id)).balance == 4000
    assert (await client.get_customer(customer.id)).balance == 111
    error = await failure(
        client.update_account(first.id, AccountUpdate(currency="EUR")), Unprocessable
    )
    assert list(fields(error)) == ["balance"]


async def test_bill_patch_amount_paid_is_absolute_and_recomputes_status(
    client: MomentClient,
) -> None:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=2000,
            customer=customer.id,
            metadata={"a": "1"},
        )
    )
    part = await client.update_bill(bill.id, BillUpdate(currency="ZAR", amount_paid=1500))
    assert (part.amount_paid, part.amount_remaining, part.status) == (1500, 500, BillStatus.UNPAID)
    # Absolute, not an increment: 1500 again stays 1500.
    same = await client.update_bill(bill.id, BillUpdate(currency="ZAR", amount_paid=1500))
    assert same.amount_paid == 1500
    full = await client.update_bill(
        bill.external_reference, BillUpdate(currency="ZAR", amount_paid=2000)
    )
    assert (full.amount_paid, full.amount_remaining, full.status) == (2000, 0, BillStatus.PAID)
    back = await client.update_bill(bill.id, BillUpdate(currency="ZAR", amount_paid=0))
    assert (back.amount_paid, back.amount_remaining, back.status) == (0, 2000, BillStatus.UNPAID)
    tagged = await client.update_bill(bill.id, BillUpdate(metadata={"b": "2", "a": ""}))
    assert tagged.metadata == {"b": "2"}
    assert tagged.amount_paid == 0


async def test_bill_patch_semantic_errors(client: MomentClient) -> None:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"), currency="ZAR", amount_due=2000, customer=customer.id
        )
    )
    over = await failure(
        client.update_bill(bill.id, BillUpdate(currency="ZAR", amount_paid=2001)), Unprocessable
    )
    assert list(fields(over)) == ["amount_paid"]
    currency = await failure(
        client.update_bill(bill.id, BillUpdate(currency="USD", amount_paid=1)), Unprocessable
    )
    assert list(fields(currency)) == ["currency"]
    # Neither failed PATCH changed anything.
    unchanged = await client.get_bill(bill.id)
    assert (unchanged.amount_paid, unchanged.currency, unchanged.status) == (
        0,
        "ZAR",
        BillStatus.UNPAID,
    )


async def test_metadata_over_ten_keys_after_merge_is_422(client: MomentClient) -> None:
    customer = await client.create_customer(
        CustomerCreate(external_reference=ref("cus"), metadata={f"k{i}": str(i) for i in range(8)})
    )
    error = await failure(
        client.update_customer(
            customer.id, CustomerUpdate(metadata={"x1": "1", "x2": "2", "x3": "3"})
        ),
        Unprocessable,
    )
    assert list(fields(error)) == ["metadata"]
    assert "11 keys" in (error.detail or "")
    # Deleting in the same PATCH keeps it within the limit.
    ok = await client.update_customer(
        customer.id, CustomerUpdate(metadata={"x1": "1", "x2": "2", "x3": "3", "k0": ""})
    )
    assert len(ok.metadata) == 10
    assert "k0" not in ok.metadata


# --- void -------------------------------------------------------------------------------------


async def _bill(client: MomentClient, amount_due: int = 1000) -> str:
    customer = await client.create_customer(CustomerCreate(external_reference=ref("cus")))
    bill = await client.create_bill(
        BillCreate(
            external_reference=ref("bill"),
            currency="ZAR",
            amount_due=amount_due,
            customer=customer.id,
        )
    )
    return bill.id


async def test_void_unpaid_bill_then_it_cannot_change(client: MomentClient) -> None:
    bill_id = await _bill(client)
    reference = (await client.get_bill(bill_id)).external_reference
    voided = await client.void_bill(reference)  # by external reference
    assert voided.id == bill_id
    assert (voided.status, voided.amount_due, voided.amount_paid, voided.amount_remaining) == (
        BillStatus.VOIDED,
        1000,
        0,
        1000,
    )
    assert (await client.get_bill(bill_id)).status is BillStatus.VOIDED
    again = await failure(client.void_bill(bill_id), Unprocessable)
    assert "already voided" in (again.detail or "")
    patch = await failure(
        client.update_bill(bill_id, BillUpdate(metadata={"a": "b"})), Unprocessable
    )
    assert "voided" in (patch.detail or "")
    assert (await client.get_bill(bill_id)).metadata == {}


async def test_void_paid_bill_is_422_and_part_paid_bill_can_be_voided(client: MomentClient) -> None:
    paid = await _bill(client)
    await client.update_bill(paid, BillUpdate(currency="ZAR", amount_paid=1000))
    error = await failure(client.void_bill(paid), Unprocessable)
    assert "paid" in (error.detail or "")
    assert (await client.get_bill(paid)).status is BillStatus.PAID

    part = await _bill(client)
    await client.update_bill(part, BillUpdate(currency="ZAR", amount_paid=400))
    voided = await client.void_bill(part)
    assert (voided.status, voided.amount_paid, voided.amount_remaining) == (
        BillStatus.VOIDED,
        400,
        600,
    )


async def test_void_ignores_any_body(client: MomentClient) -> None:
    bill_id = await _bill(client)
    response = await post(client, f"/billing/bills/{bill_id}/void", {"reason": "duplicate"})
    assert response.status == 200
    assert response.body["status"] == "voided"
    assert "metadata" not in response.body


async def test_void_key_is_required(client: MomentClient) -> None:
    bill_id = await _bill(client)
    # The client always sends a key; a fixed one shows the void is keyed like any POST.
    key = new_key()
    first = await client.request("POST", f"/billing/bills/{bill_id}/void", idempotency_key=key)
    second = await client.request("POST", f"/billing/bills/{bill_id}/void", idempotency_key=key)
    assert (first.status, second.status) == (200, 200)
    assert second.replayed
    assert not first.replayed
    assert second.body == first.body
