"""``POST /sandbox/payments`` on bills, accounts and customers."""

from __future__ import annotations

import re
from typing import Any

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import BadRequest, Unprocessable
from moment_tui.api.models import BillStatus, BillUpdate
from tests.integration.conftest import failure, fields, new_key, post, ref

PAYMENTS = "/sandbox/payments"
PAY_ID = re.compile(r"^pay_[A-Za-z0-9]{21}$")
EVENT_ID = re.compile(r"^evt_[A-Za-z0-9]{21}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def pay(client: MomentClient, **body: Any) -> dict[str, Any]:
    response = await post(client, PAYMENTS, body)
    assert response.status == 201
    payment: dict[str, Any] = response.body
    return payment


async def make(client: MomentClient, path: str, **body: Any) -> dict[str, Any]:
    response = await post(client, path, body)
    assert response.status == 201, response.body
    created: dict[str, Any] = response.body
    return created


async def account_of(client: MomentClient, customer_id: str, **extra: Any) -> dict[str, Any]:
    """A new account of that customer, with a fresh reference."""
    return await make(
        client, "/billing/accounts", customer=customer_id, external_reference=ref("acc"), **extra
    )


async def bill_for(client: MomentClient, amount_due: int = 2000, **extra: Any) -> dict[str, Any]:
    if "account" not in extra and "customer" not in extra:
        extra["customer"] = {"external_reference": ref("cus")}
    return await make(
        client,
        "/billing/bills",
        external_reference=ref("bill"),
        currency=extra.pop("currency", "ZAR"),
        amount_due=amount_due,
        **extra,
    )


# --- bills ------------------------------------------------------------------------------


async def test_bill_payment_defaults_to_what_remains(client: MomentClient) -> None:
    bill = await bill_for(client, 2000)
    await client.update_bill(bill["id"], BillUpdate(currency="ZAR", amount_paid=500))
    payment = await pay(client, bill=bill["external_reference"])
    assert set(payment) == {
        "id",
        "amount",
        "currency",
        "bill",
        "allocation",
        "event_id",
        "created_at",
    }
    assert PAY_ID.match(payment["id"])
    assert EVENT_ID.match(payment["event_id"])
    assert TIMESTAMP.match(payment["created_at"])
    assert (payment["amount"], payment["currency"], payment["bill"]) == (1500, "ZAR", bill["id"])
    assert payment["allocation"] == {
        "bills": [{"bill_id": bill["id"], "amount": 1500}],
        "balance": 0,
    }
    after = await client.get_bill(bill["id"])
    assert (after.amount_paid, after.amount_remaining, after.status) == (2000, 0, BillStatus.PAID)


async def test_partial_bill_payments_then_paid(client: MomentClient) -> None:
    bill = await bill_for(client, 2000)
    first = await pay(client, bill=bill["id"], amount=300)
    assert first["amount"] == 300
    part = await client.get_bill(bill["id"])
    assert (part.amount_paid, part.amount_remaining, part.status) == (300, 1700, BillStatus.UNPAID)
    over = await failure(
        post(client, PAYMENTS, {"bill": bill["id"], "amount": 1701}), Unprocessable
    )
    assert list(fields(over)) == ["amount"]
    assert "1701" in (over.detail or "")
    assert "1700" in (over.detail or "")
    rest = await pay(client, bill=bill["id"], amount=1700)
    assert rest["id"] != first["id"]
    assert rest["event_id"] != first["event_id"]
    assert (await client.get_bill(bill["id"])).status is BillStatus.PAID
    paid = await failure(post(client, PAYMENTS, {"bill": bill["id"]}), Unprocessable)
    assert list(fields(paid)) == ["bill"]
    assert "already paid" in (paid.detail or "")


async def test_voided_bill_cannot_be_paid(client: MomentClient) -> None:
    bill = await bill_for(client, 800)
    await client.void_bill(bill["id"])
    error = await failure(post(client, PAYMENTS, {"bill": bill["id"], "amount": 1}), Unprocessable)
    assert list(fields(error)) == ["bill"]
    assert "voided" in (error.detail or "")
    assert (await client.get_bill(bill["id"])).amount_paid == 0


async def test_payment_replay_does_not_pay_twice(client: MomentClient) -> None:
    bill = await bill_for(client, 1000)
    key = new_key()
    body = {"bill": bill["id"], "amount": 100}
    first = await post(client, PAYMENTS, body, key=key)
    second = await post(client, PAYMENTS, body, key=key)
    assert second.replayed
    assert second.body == first.body
    assert (await client.get_bill(bill["id"])).amount_paid == 100


async def test_payment_is_listed_as_a_pending_event(client: MomentClient) -> None:
    bill = await bill_for(client, 1000)
    payment = await pay(client, bill=bill["id"], amount=250)
    events = (await client.request("GET", "/sandbox/events", params={"limit": "50"})).body["data"]
    mine = [e for e in events if e["id"] == payment["event_id"]]
    assert len(mine) == 1
    event = mine[0]
    assert event["type"] == "obligation.amount_applied"
    # The shared sandbox has no webhook URL: events are stored, not delivered.
    assert (event["state"], event["attempts"]) == ("pending", 0)
    assert event["webhook_id"].startswith("msg_")
    assert TIMESTAMP.match(event["created_at"])


# --- accounts ------------------------------------------------------------------------------


async def test_account_payment_allocates_oldest_due_first_then_balance(
    client: MomentClient,
) -> None:
    customer = await make(client, "/billing/customers", external_reference=ref("cus"))
    account = await account_of(client, customer["id"], currency="ZAR", balance=1000)
    on = {"account": account["id"]}
    late = await bill_for(client, 500, bill_date="2030-01-01", due_date="2030-02-01", **on)
    mid = await bill_for(client, 300, bill_date="2030-01-01", due_date="2030-01-15", **on)
    undated = await bill_for(client, 200, **on)
    early_billed = await bill_for(client, 100, bill_date="2029-12-01", due_date="2030-01-15", **on)
    dollars = await bill_for(
        client, 50, currency="USD", due_date="2029-01-01", bill_date="2029-01-01", **on
    )
    voided = await bill_for(client, 70, bill_date="2029-06-01", due_date="2029-06-01", **on)
    await client.void_bill(voided["id"])
    settled = await bill_for(client, 90, bill_date="2029-06-01", due_date="2029-06-01", **on)
    await client.update_bill(settled["id"], BillUpdate(currency="ZAR", amount_paid=90))

    first = await pay(client, account=account["external_reference"], amount=450)
    assert (first["account"], first["currency"], first["amount"]) == (account["id"], "ZAR", 450)
    assert first["allocation"] == {
        "bills": [
            {"bill_id": early_billed["id"], "amount": 100},  # same due date, older bill date
            {"bill_id": mid["id"], "amount": 300},
            {"bill_id": late["id"], "amount": 50},
        ],
        "balance": 0,
    }
    assert (await client.get_bill(late["id"])).amount_remaining == 450
    assert (await client.get_account(account["id"])).balance == 1000

    # No amount: everything outstanding (open ZAR bills + the positive balance).
    everything = await pay(client, account=account["id"])
    assert everything["amount"] == 450 + 200 + 1000
    assert everything["allocation"] == {
        "bills": [
            {"bill_id": late["id"], "amount": 450},
            {"bill_id": undated["id"], "amount": 200},  # undated bills come last
        ],
        "balance": 1000,
    }
    assert (await client.get_account(account["id"])).balance == 0

    # More money than is owed becomes a credit: the balance goes negative.
    credit = await pay(client, account=account["id"], amount=250)
    assert credit["allocation"] == {"bills": [], "balance": 250}
    assert (await client.get_account(account["id"])).balance == -250

    for untouched, status in ((dollars, "unpaid"), (voided, "voided"), (settled, "paid")):
        bill = await client.get_bill(untouched["id"])
        assert bill.status.value == status
    assert (await client.get_bill(dollars["id"])).amount_paid == 0

    # Nothing owed now: a payment needs an explicit amount.
    owes_nothing = await failure(post(client, PAYMENTS, {"account": account["id"]}), Unprocessable)
    assert list(fields(owes_nothing)) == ["amount"]


async def test_account_without_balance_refuses_a_remainder(client: MomentClient) -> None:
    customer = await make(client, "/billing/customers", external_reference=ref("cus"))
    account = await account_of(client, customer["id"])
    bill = await bill_for(client, 300, account=account["id"])
    error = await failure(
        post(client, PAYMENTS, {"account": account["id"], "amount": 301}), Unprocessable
    )
    assert list(fields(error)) == ["amount"]
    assert "tracks no balance" in (error.detail or "")
    assert (await client.get_bill(bill["id"])).amount_paid == 0  # nothing applied
    exact = await pay(client, account=account["id"])
    assert exact["allocation"] == {"bills": [{"bill_id": bill["id"], "amount": 300}], "balance": 0}
    none_left = await failure(post(client, PAYMENTS, {"account": account["id"]}), Unprocessable)
    assert list(fields(none_left)) == ["account"]
    assert "no balance and no unpaid bills" in (none_left.detail or "")


async def test_holder_with_bills_in_several_currencies_is_422(client: MomentClient) -> None:
    customer = await make(client, "/billing/customers", external_reference=ref("cus"))
    await bill_for(client, 100, customer=customer["id"])
    await bill_for(client, 100, customer=customer["id"], currency="USD")
    error = await failure(post(client, PAYMENTS, {"customer": customer["id"]}), Unprocessable)
    assert list(fields(error)) == ["customer"]
    assert "several currencies" in (error.detail or "")


# --- customers -------------------------------------------------------------------------


async def test_customer_payment_covers_direct_bills_only_then_balance(
    client: MomentClient,
) -> None:
    customer = await make(
        client, "/billing/customers", external_reference=ref("cus"), currency="ZAR", balance=500
    )
    direct = await bill_for(client, 300, customer=customer["id"], due_date="2031-01-01")
    account = await account_of(client, customer["id"])
    on_account = await bill_for(client, 999, account=account["id"], due_date="2030-01-01")

    payment = await pay(client, customer=customer["external_reference"], amount=400)
    assert (payment["customer"], payment["amount"]) == (customer["id"], 400)
    assert payment["allocation"] == {
        "bills": [{"bill_id": direct["id"], "amount": 300}],
        "balance": 100,
    }
    assert (await client.get_customer(customer["id"])).balance == 400
    assert (await client.get_bill(direct["id"])).status is BillStatus.PAID
    assert (await client.get_bill(on_account["id"])).amount_paid == 0  # the account's bill

    rest = await pay(client, customer=customer["id"])
    assert rest["amount"] == 400
    assert rest["allocation"] == {"bills": [], "balance": 400}
    overpaid = await pay(client, customer=customer["id"], amount=1)
    assert overpaid["allocation"]["balance"] == 1
    assert (await client.get_customer(customer["id"])).balance == -1


async def test_customer_without_balance_pays_its_bills_only(client: MomentClient) -> None:
    customer = await make(client, "/billing/customers", external_reference=ref("cus"))
    bill = await bill_for(client, 300, customer=customer["id"])
    error = await failure(
        post(client, PAYMENTS, {"customer": customer["id"], "amount": 500}), Unprocessable
    )
    assert list(fields(error)) == ["amount"]
    payment = await pay(client, customer=customer["id"])
    assert (payment["amount"], payment["currency"]) == (300, "ZAR")
    assert payment["allocation"] == {
        "bills": [{"bill_id": bill["id"], "amount": 300}],
        "balance": 0,
    }
    assert (await client.get_customer(customer["id"])).balance is None


async def test_a_customer_whose_bills_are_on_its_accounts_is_told_where_to_pay(
    client: MomentClient,
) -> None:
    customer = await make(client, "/billing/customers", external_reference=ref("cus"))
    account = await account_of(client, customer["id"])
    bill = await bill_for(client, 700, account=account["id"])
    refused = await failure(post(client, PAYMENTS, {"customer": customer["id"]}), Unprocessable)
    assert refused.detail == (
        f"customer {customer['id']} has no balance and no unpaid bills of its own to pay"
        " (bills on its accounts are paid through the account)"
    )
    assert (await client.get_bill(bill["id"])).amount_paid == 0
    paid = await pay(client, account=account["id"])
    assert paid["allocation"] == {"bills": [{"bill_id": bill["id"], "amount": 700}], "balance": 0}


# --- the largest payment -------------------------------------------------------------


async def test_pay_in_full_has_the_same_cap_as_an_explicit_amount(client: MomentClient) -> None:
    """An explicit amount is at most 99,999,999 (400 above it); paying "in full" cannot
    go past that either: a larger debt is refused (422) and is paid in parts."""
    over = await failure(
        post(client, PAYMENTS, {"customer": "anyone", "amount": 100_000_000}), BadRequest
    )
    assert list(fields(over)) == ["amount"]

    customer = await make(
        client,
        "/billing/customers",
        external_reference=ref("cus"),
        currency="ZAR",
        balance=150_000_000,
    )
    too_much = await failure(post(client, PAYMENTS, {"customer": customer["id"]}), Unprocessable)
    assert list(fields(too_much)) == ["amount"]
    assert "owes 150000000" in (too_much.detail or "")
    assert "at most 99999999" in (too_much.detail or "")
    assert (await client.get_customer(customer["id"])).balance == 150_000_000  # untouched
    part = await pay(client, customer=customer["id"], amount=99_999_999)
    assert part["allocation"] == {"bills": [], "balance": 99_999_999}
    rest = await pay(client, customer=customer["id"])  # now within the cap
    assert rest["amount"] == 50_000_001
    assert (await client.get_customer(customer["id"])).balance == 0

    # Bills that each fit can add up past the cap on an account (no balance tracked).
    holder = await make(client, "/billing/customers", external_reference=ref("cus"))
    account = await account_of(client, holder["id"])
    first = await bill_for(client, 60_000_000, account=account["id"], due_date="2030-01-01")
    second = await bill_for(client, 60_000_000, account=account["id"], due_date="2030-02-01")
    refused = await failure(post(client, PAYMENTS, {"account": account["id"]}), Unprocessable)
    assert list(fields(refused)) == ["amount"]
    assert "owes 120000000" in (refused.detail or "")
    assert (await client.get_bill(first["id"])).amount_paid == 0
    assert (await client.get_bill(second["id"])).amount_paid == 0

    # Exactly the cap is fine "in full".
    exact = await make(
        client,
        "/billing/customers",
        external_reference=ref("cus"),
        currency="ZAR",
        balance=99_999_999,
    )
    assert (await pay(client, customer=exact["id"]))["amount"] == 99_999_999


async def test_payment_ids_have_moments_shape_on_every_target(client: MomentClient) -> None:
    customer = await make(
        client, "/billing/customers", external_reference=ref("cus"), currency="ZAR", balance=900
    )
    account = await account_of(client, customer["id"], currency="ZAR", balance=900)
    bill = await bill_for(client, 900, customer=customer["id"])
    payments = [
        await pay(client, bill=bill["id"], amount=1),
        await pay(client, account=account["id"], amount=2),
        await pay(client, customer=customer["id"], amount=3),
    ]
    for payment in payments:
        assert PAY_ID.fullmatch(payment["id"]), payment["id"]
        assert EVENT_ID.fullmatch(payment["event_id"]), payment["event_id"]
    assert len({p["id"] for p in payments}) == 3
    assert [p["amount"] for p in payments] == [1, 2, 3]


async def test_an_overpayment_cannot_push_a_balance_past_the_safe_range(
    client: MomentClient,
) -> None:
    """Balances stay within ±(2^53−1) (README, Unknown 8): a credit that would go below
    −(2^53−1) is refused (422 on amount, nothing applied), on customers and accounts,
    bills first or not; the most that still fits is accepted."""
    limit = 2**53 - 1
    customer = await make(
        client,
        "/billing/customers",
        external_reference=ref("cus"),
        currency="ZAR",
        balance=-limit + 100,
    )
    refused = await failure(
        post(client, PAYMENTS, {"customer": customer["id"], "amount": 101}), Unprocessable
    )
    assert list(fields(refused)) == ["amount"]
    assert f"below the -{limit} a balance can hold" in (refused.detail or "")
    assert "at most 100 can be paid now" in (refused.detail or "")
    assert (await client.get_customer(customer["id"])).balance == -limit + 100
    assert (await pay(client, customer=customer["id"], amount=100))["allocation"]["balance"] == 100
    assert (await client.get_customer(customer["id"])).balance == -limit

    # An account's unpaid bills take their part first; only the rest meets the limit.
    holder = await make(client, "/billing/customers", external_reference=ref("cus"))
    account = await account_of(client, holder["id"], currency="ZAR", balance=-limit)
    bill = await bill_for(client, 500, account=account["id"])
    over = await failure(
        post(client, PAYMENTS, {"account": account["id"], "amount": 501}), Unprocessable
    )
    assert "at most 500 can be paid now" in (over.detail or "")
    assert (await client.get_bill(bill["id"])).amount_paid == 0  # nothing applied
    assert (await client.get_account(account["id"])).balance == -limit
    paid = await pay(client, account=account["id"], amount=500)
    assert paid["allocation"] == {"bills": [{"bill_id": bill["id"], "amount": 500}], "balance": 0}


# --- payment_rules say what a payment may be now ---------------------------------------------


def rules(maximum: int, *, overpayment: bool) -> dict[str, Any]:
    return {
        "min_amount": 1,
        "max_amount": maximum,
        "underpayment_allowed": True,
        "overpayment_allowed": overpayment,
    }


async def fetched(client: MomentClient, kind: str, object_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.request("GET", f"/billing/{kind}s/{object_id}")).body
    return body


async def test_payment_rules_are_what_a_payment_may_be_now(client: MomentClient) -> None:
    """Reference §3.7: an entity without payment_rules cannot be paid against. So an
    object carries rules exactly when a payment to it would be accepted, and their
    max_amount is the largest one that would be: a bill's remaining amount; an
    account's or customer's unpaid bills with no balance tracked; with a balance, up
    to 99,999,999 (or less, near the balance's lower limit)."""
    customer = await make(client, "/billing/customers", external_reference=ref("cus"))
    assert "payment_rules" not in customer  # no balance, no bills: every payment is 422
    refused = await failure(
        post(client, PAYMENTS, {"customer": customer["id"], "amount": 1}), Unprocessable
    )
    assert "no balance and no unpaid bills" in (refused.detail or "")

    bill = await bill_for(client, 300, customer=customer["id"])
    assert bill["payment_rules"] == rules(300, overpayment=False)
    assert (await fetched(client, "customer", customer["id"]))["payment_rules"] == rules(
        300, overpayment=False
    )
    await failure(post(client, PAYMENTS, {"customer": customer["id"], "amount": 301}))
    await pay(client, customer=customer["id"], amount=120)
    assert (await fetched(client, "bill", bill["id"]))["payment_rules"] == rules(
        180, overpayment=False
    )
    assert (await fetched(client, "customer", customer["id"]))["payment_rules"] == rules(
        180, overpayment=False
    )
    await pay(client, customer=customer["id"], amount=180)
    assert "payment_rules" not in await fetched(client, "bill", bill["id"])  # paid
    assert "payment_rules" not in await fetched(client, "customer", customer["id"])

    voided = await bill_for(client, 300)
    await client.void_bill(voided["id"])
    assert "payment_rules" not in await fetched(client, "bill", voided["id"])

    # Bills in two currencies and no currency of its own: no payment is accepted.
    mixed = await make(client, "/billing/customers", external_reference=ref("cus"))
    await bill_for(client, 100, customer=mixed["id"])
    await bill_for(client, 100, customer=mixed["id"], currency="USD")
    assert "payment_rules" not in await fetched(client, "customer", mixed["id"])
    # Its own currency picks the bills a payment covers.
    await client.request("PATCH", f"/billing/customers/{mixed['id']}", json={"currency": "USD"})
    assert (await fetched(client, "customer", mixed["id"]))["payment_rules"] == rules(
        100, overpayment=False
    )

    # An account with a balance takes up to one payment's cap, overpaying into credit;
    # near -(2^53-1) only what still fits.
    account = await account_of(client, customer["id"], currency="ZAR", balance=0)
    assert account["payment_rules"] == rules(99_999_999, overpayment=True)
    await client.request(
        "PATCH",
        f"/billing/accounts/{account['id']}",
        json={"currency": "ZAR", "balance": -(2**53 - 1) + 70},
    )
    await bill_for(client, 30, account=account["id"])
    listed = (
        await client.request("GET", "/billing/accounts", params={"customer": customer["id"]})
    ).body["data"]
    assert [a["payment_rules"] for a in listed] == [rules(100, overpayment=True)]
    await pay(client, account=account["id"], amount=100)
    assert "payment_rules" not in await fetched(client, "account", account["id"])
    at_limit = await failure(
        post(client, PAYMENTS, {"account": account["id"], "amount": 1}), Unprocessable
    )
    assert "nothing more can be paid until the balance goes up" in (at_limit.detail or "")
