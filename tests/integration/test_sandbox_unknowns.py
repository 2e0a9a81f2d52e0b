"""Choices for the reference's "Unknowns" not covered elsewhere (see the README's
"Sandbox behaviour where Moment's docs are silent"; the numbers are the Unknowns')."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient
from moment_tui.api.models import DEFAULT_BASE_URL, BillUpdate, CustomerUpdate
from moment_tui.sandbox.server import MAX_BODY
from tests.integration.conftest import (
    FAST_SCHEDULE,
    Receiver,
    StartSandbox,
    eventually,
    make_client,
    new_key,
    post,
    ref,
)

CUSTOMERS, ACCOUNTS, BILLS = "/billing/customers", "/billing/accounts", "/billing/bills"
NOT_NULL = "cannot be null; leave the field out to keep its value"
OB_ID = re.compile(r"^ob_[A-Za-z0-9]{21}$")


async def _create(client: MomentClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await post(client, path, body)
    assert response.status == 201, response.body
    created: dict[str, Any] = response.body
    return created


async def _objects(client: MomentClient) -> dict[str, dict[str, Any]]:
    """A customer with a balance, an account with a balance and a bill on the account."""
    customer = await _create(
        client,
        CUSTOMERS,
        {
            "external_reference": ref("cus"),
            "name": "Sipho Dlamini",
            "email": "sipho@example.com",
            "phone": "+27821234567",
            "currency": "ZAR",
            "balance": 500,
            "metadata": {"tier": "gold"},
        },
    )
    account = await _create(
        client,
        ACCOUNTS,
        {
            "external_reference": ref("acc"),
            "customer": customer["id"],
            "name": "Fibre",
            "currency": "ZAR",
            "balance": 700,
        },
    )
    bill = await _create(
        client,
        BILLS,
        {
            "external_reference": ref("bill"),
            "currency": "ZAR",
            "amount_due": 2000,
            "account": account["id"],
            "bill_date": "2030-01-01",
            "due_date": "2030-01-31",
        },
    )
    return {"customer": customer, "account": account, "bill": bill}


# --- 1. hosts ---------------------------------------------------------------------------


async def test_client_defaults_to_the_current_host_and_the_sandbox_is_loopback_http(
    start_sandbox: StartSandbox,
) -> None:
    assert DEFAULT_BASE_URL == "https://api.momentpay.net"
    sandbox = await start_sandbox()
    assert re.fullmatch(r"http://127\.0\.0\.1:[1-9][0-9]*", sandbox.url)
    async with make_client(sandbox.url) as client:
        created = await _create(client, CUSTOMERS, {"external_reference": ref("cus")})
        # Paths are rooted at the host, with no version segment.
        root = await client.request("GET", f"{CUSTOMERS}/{created['id']}")
        assert root.body == created
        async with httpx.AsyncClient(
            base_url=sandbox.url, headers={"Authorization": "Bearer sk_test_hosts0001"}
        ) as http:
            versioned = await http.get(f"/v1{CUSTOMERS}/{created['id']}")
    assert versioned.status_code == 404
    assert versioned.headers["content-type"].startswith("application/problem+json")


# --- 2 (review). null in a PATCH ------------------------------------------------------------


# (kind, body, fields named null)
NULL_PATCHES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("customer", {"balance": None, "currency": "USD"}, ["balance"]),
    ("customer", {"email": None}, ["email"]),
    ("customer", {"name": None}, ["name"]),
    ("customer", {"phone": None}, ["phone"]),
    ("customer", {"currency": None}, ["currency"]),
    ("customer", {"metadata": None}, ["metadata"]),
    ("customer", {"name": "Changed", "email": None, "phone": None}, ["email", "phone"]),
    ("account", {"balance": None, "currency": "ZAR"}, ["balance"]),
    ("account", {"name": None}, ["name"]),
    ("account", {"currency": None, "balance": 5}, ["currency"]),
    ("account", {"metadata": None}, ["metadata"]),
    ("bill", {"amount_paid": None, "currency": "ZAR"}, ["amount_paid"]),
    ("bill", {"currency": None}, ["currency"]),
    ("bill", {"metadata": None, "currency": "ZAR", "amount_paid": 5}, ["metadata"]),
]


@pytest.mark.parametrize(
    ("kind", "body", "nulls"),
    NULL_PATCHES,
    ids=[f"{k}:{'+'.join(n)}:{i}" for i, (k, _, n) in enumerate(NULL_PATCHES)],
)
async def test_null_in_a_patch_is_400_naming_the_field_and_changes_nothing(
    client: MomentClient, http: httpx.AsyncClient, kind: str, body: dict[str, Any], nulls: list[str]
) -> None:
    objects = await _objects(client)
    before = objects[kind]
    path = f"/billing/{kind}s/{before['id']}"
    response = await http.patch(path, json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:moment-sandbox:problem:validation"
    assert (problem["status"], problem["instance"]) == (400, path)
    assert problem["errors"] == [{"field": name, "message": NOT_NULL} for name in nulls]
    assert problem["detail"] == "; ".join(f"{name}: {NOT_NULL}" for name in nulls)
    # Nothing else in the body was applied either.
    assert (await http.get(path)).json() == before


async def test_a_null_metadata_value_is_400_and_an_empty_one_deletes(
    client: MomentClient, http: httpx.AsyncClient
) -> None:
    customer = (await _objects(client))["customer"]
    path = f"{CUSTOMERS}/{customer['id']}"
    refused = await http.patch(path, json={"metadata": {"tier": None}})
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["metadata.tier"]
    assert (await http.get(path)).json()["metadata"] == {"tier": "gold"}
    deleted = await http.patch(path, json={"metadata": {"tier": ""}})
    assert deleted.status_code == 200
    assert "metadata" not in deleted.json()


async def test_an_unknown_field_sent_as_null_is_still_an_unknown_field(
    client: MomentClient, http: httpx.AsyncClient
) -> None:
    customer = (await _objects(client))["customer"]
    response = await http.patch(f"{CUSTOMERS}/{customer['id']}", json={"external_reference": None})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "external_reference"
    assert error["message"] != NOT_NULL


async def test_the_client_never_sends_null(client: MomentClient, http: httpx.AsyncClient) -> None:
    """The client's update models leave unset fields out, so they never hit the 400."""
    assert CustomerUpdate(name="A").to_json() == {"name": "A"}
    assert BillUpdate(metadata={"a": "1"}).to_json() == {"metadata": {"a": "1"}}
    customer = (await _objects(client))["customer"]
    updated = await client.update_customer(customer["id"], CustomerUpdate(name="Renamed"))
    assert (updated.name, updated.email, updated.balance) == (
        "Renamed",
        "sipho@example.com",
        500,
    )


async def test_null_on_create_means_absent(client: MomentClient) -> None:
    created = await _create(
        client, CUSTOMERS, {"external_reference": ref("cus"), "name": None, "balance": None}
    )
    assert set(created) == {"id", "external_reference"}  # no balance: no payment_rules either
    bill = (await _objects(client))["bill"]
    payment = await post(client, "/sandbox/payments", {"bill": bill["id"], "amount": None})
    assert (payment.status, payment.body["amount"]) == (201, 2000)  # in full


# --- 3.5 vs 13. currency with balance and amount_paid -----------------------------------------


async def test_common_operations_examples_need_the_currency_the_reference_requires(
    client: MomentClient, http: httpx.AsyncClient
) -> None:
    """The reference contradicts itself: its Common Operations page (§13) PATCHes
    ``{"balance": 5000}``, ``{"balance": 10000}`` and ``{"amount_paid": 1500}`` with no
    currency, while §3.5 and the bill update schema (§12.4) require ``currency`` with
    each. The sandbox follows the endpoint schemas: each example as written is 400
    naming ``currency``, changes nothing, and works once the currency is added, with
    the effect §13 describes (balance replaced; 1500 of 2000 paid leaves 500, unpaid)."""
    objects = await _objects(client)
    bill = await _create(
        client,
        BILLS,
        {
            "external_reference": ref("bill"),
            "currency": "ZAR",
            "amount_due": 2000,
            "customer": objects["customer"]["id"],
        },
    )
    examples = [
        (f"{CUSTOMERS}/{objects['customer']['id']}", {"balance": 5000}),
        (f"{ACCOUNTS}/{objects['account']['id']}", {"balance": 10000}),
        (f"{BILLS}/{bill['id']}", {"amount_paid": 1500}),
    ]
    for path, body in examples:
        before = (await http.get(path)).json()
        as_written = await http.patch(path, json=body)
        assert as_written.status_code == 400, path
        [error] = as_written.json()["errors"]
        assert error["field"] == "currency"
        assert error["message"] == f"currency is required when {next(iter(body))} is given"
        assert (await http.get(path)).json() == before  # nothing applied
        with_currency = await http.patch(path, json={**body, "currency": "ZAR"})
        assert with_currency.status_code == 200, path
    customer = (await http.get(examples[0][0])).json()
    account = (await http.get(examples[1][0])).json()
    paid = (await http.get(examples[2][0])).json()
    assert (customer["balance"], account["balance"]) == (5000, 10000)
    assert (paid["amount_paid"], paid["amount_remaining"], paid["status"]) == (1500, 500, "unpaid")


# --- 10. email on customer update ------------------------------------------------------------


async def test_customer_patch_accepts_and_validates_email(
    client: MomentClient, http: httpx.AsyncClient
) -> None:
    objects = await _objects(client)
    path = f"{CUSTOMERS}/{objects['customer']['id']}"
    changed = await http.patch(path, json={"email": "new@example.com"})
    assert changed.status_code == 200
    assert changed.json()["email"] == "new@example.com"
    assert changed.json()["name"] == "Sipho Dlamini"
    bad = await http.patch(path, json={"email": "not-an-email"})
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["email"]
    assert (await http.get(path)).json()["email"] == "new@example.com"
    # Accounts have no email, on create or on update.
    account = await http.patch(f"{ACCOUNTS}/{objects['account']['id']}", json={"email": "a@b.co"})
    assert account.status_code == 400
    assert [e["field"] for e in account.json()["errors"]] == ["email"]


# --- 13. no timestamps, no object/livemode fields --------------------------------------------


async def test_objects_carry_no_timestamps_or_object_fields(
    client: MomentClient, http: httpx.AsyncClient
) -> None:
    objects = await _objects(client)
    assert set(objects["customer"]) == {
        "id",
        "external_reference",
        "name",
        "email",
        "phone",
        "currency",
        "balance",
        "payment_rules",
        "metadata",
    }
    assert set(objects["account"]) == {
        "id",
        "external_reference",
        "customer_id",
        "name",
        "currency",
        "balance",
        "payment_rules",
    }
    assert set(objects["bill"]) == {
        "id",
        "external_reference",
        "customer_id",
        "account_id",
        "status",
        "currency",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "bill_date",
        "due_date",
        "payment_rules",
    }
    forbidden = {"created_at", "updated_at", "object", "livemode"}
    for kind, created in objects.items():
        fetched = (await http.get(f"/billing/{kind}s/{created['id']}")).json()
        assert fetched == created
        listed = (
            await http.get(
                f"/billing/{kind}s",
                params={"external_reference_prefix": created["external_reference"]},
            )
        ).json()["data"]
        assert listed == [created]
        assert not forbidden & set(fetched)


# --- 27. limits: 1 MiB bodies, no rate limit -------------------------------------------------


async def test_a_body_just_under_the_limit_is_accepted_and_one_over_is_413(
    http: httpx.AsyncClient,
) -> None:
    assert MAX_BODY == 1024 * 1024
    reference = ref("cus")
    json_body = f'{{"external_reference": "{reference}"}}'.encode()
    fits = json_body + b" " * (MAX_BODY - len(json_body))  # exactly 1 MiB, valid JSON
    accepted = await http.post(
        CUSTOMERS,
        content=fits,
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )
    assert accepted.status_code == 201
    assert accepted.json()["external_reference"] == reference
    over = await http.patch(
        f"{CUSTOMERS}/{reference}",
        content=fits + b" ",
        headers={"Content-Type": "application/json"},
    )
    assert over.status_code == 413
    assert over.headers["content-type"].startswith("application/problem+json")
    assert over.json()["status"] == 413


async def test_there_is_no_rate_limit(http: httpx.AsyncClient) -> None:
    reference = ref("cus")
    created = await http.post(
        CUSTOMERS, json={"external_reference": reference}, headers={"Idempotency-Key": new_key()}
    )
    assert created.status_code == 201
    burst = await asyncio.gather(*(http.get(f"{CUSTOMERS}/{reference}") for _ in range(300)))
    assert [r.status_code for r in burst] == [200] * 300
    assert not any("retry-after" in r.headers for r in burst)
    assert not any(k.lower().startswith("x-ratelimit") for r in burst for k in r.headers)


# --- 11. idempotency: any key shape the pattern allows; PATCH ignores keys --------------------


@pytest.mark.parametrize("key", ["not-a-uuid", "a", "ABC123", "-" * 255])
async def test_non_uuid_keys_matching_the_pattern_are_accepted(sandbox_url: str, key: str) -> None:
    # A fresh API key: a scope of its own, so even "a" has not been used before.
    api_key = f"sk_test_{uuid.uuid4().hex}"
    async with httpx.AsyncClient(
        base_url=sandbox_url, headers={"Authorization": f"Bearer {api_key}"}
    ) as http:
        body = {"external_reference": ref("cus")}
        first = await http.post(CUSTOMERS, json=body, headers={"Idempotency-Key": key})
        again = await http.post(CUSTOMERS, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_patch_ignores_idempotency_key(client: MomentClient, http: httpx.AsyncClient) -> None:
    customer = (await _objects(client))["customer"]
    path = f"{CUSTOMERS}/{customer['id']}"
    key = new_key()
    one = await http.patch(path, json={"name": "One"}, headers={"Idempotency-Key": key})
    two = await http.patch(path, json={"name": "Two"}, headers={"Idempotency-Key": key})
    assert (one.status_code, two.status_code) == (200, 200)
    assert (one.json()["name"], two.json()["name"]) == ("One", "Two")
    assert "idempotent-replayed" not in two.headers
    # A key that would be refused on a POST is not even looked at.
    odd = await http.patch(path, json={"name": "Three"}, headers={"Idempotency-Key": "has space"})
    assert odd.status_code == 200
    assert odd.json()["name"] == "Three"
    # And the key a PATCH carried is still fresh for a POST.
    created = await http.post(
        CUSTOMERS, json={"external_reference": ref("cus")}, headers={"Idempotency-Key": key}
    )
    assert created.status_code == 201
    assert "idempotent-replayed" not in created.headers


# --- 18. what a bill keeps; voided_reason -----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"amount_due": 3000},
        {"due_date": "2030-03-01"},
        {"bill_date": "2029-12-01"},
        {"external_reference": "renamed"},
        {"account": "bacc_other"},
        {"customer": "bcus_other"},
        {"status": "paid"},
        {"amount_remaining": 0},
    ],
    ids=lambda change: next(iter(change)),
)
async def test_a_bills_amount_dates_and_links_cannot_change(
    client: MomentClient, http: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    bill = (await _objects(client))["bill"]
    path = f"{BILLS}/{bill['id']}"
    response = await http.patch(path, json=change)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == next(iter(change))
    assert (await http.get(path)).json() == bill


async def test_void_adds_no_voided_reason_and_keeps_metadata_set_before(
    client: MomentClient, http: httpx.AsyncClient
) -> None:
    bill = (await _objects(client))["bill"]
    voided = await http.post(
        f"{BILLS}/{bill['id']}/void",
        json={"voided_reason": "duplicate", "metadata": {"voided_reason": "duplicate"}},
        headers={"Idempotency-Key": new_key()},
    )
    assert voided.status_code == 200
    assert voided.json()["status"] == "voided"
    assert "metadata" not in voided.json()  # the body was ignored, nothing was added

    other = (await _objects(client))["bill"]
    path = f"{BILLS}/{other['id']}"
    tagged = await http.patch(path, json={"metadata": {"voided_reason": "customer left"}})
    assert tagged.status_code == 200
    done = await http.post(f"{path}/void", headers={"Idempotency-Key": new_key()})
    assert done.json()["metadata"] == {"voided_reason": "customer left"}
    # After the void it cannot be changed any more.
    late = await http.patch(path, json={"metadata": {"voided_reason": "other"}})
    assert late.status_code == 422
    assert (await http.get(path)).json()["metadata"] == {"voided_reason": "customer left"}


# --- 24. what an event says ---------------------------------------------------------------


async def _events(client: MomentClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = (
        await client.request("GET", "/sandbox/events", params={"limit": "500"})
    ).body["data"]
    return events


async def test_a_patch_of_amount_paid_sends_no_event(start_sandbox: StartSandbox) -> None:
    sandbox = await start_sandbox()  # its own, so the event log is this test's alone
    async with make_client(sandbox.url) as client:
        bill = (await _objects(client))["bill"]
        patched = await client.update_bill(bill["id"], BillUpdate(currency="ZAR", amount_paid=2000))
        assert patched.status.value == "paid"
        await client.update_customer(bill["customer_id"], CustomerUpdate(currency="ZAR", balance=0))
        assert await _events(client) == []
        # A payment does make one (so the empty log above is not a broken log).
        payment = await post(client, "/sandbox/payments", {"account": bill["account_id"]})
        assert [e["id"] for e in await _events(client)] == [payment.body["event_id"]]


async def test_one_obligation_id_per_payment_and_metadata_from_the_payment(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await start_sandbox(
        webhook_url=receiver.url, webhook_secrets=(secret,), retry_schedule=FAST_SCHEDULE
    )
    async with make_client(sandbox.url) as client:
        customer = await _create(client, CUSTOMERS, {"external_reference": ref("cus")})
        account = await _create(
            client, ACCOUNTS, {"external_reference": ref("acc"), "customer": customer["id"]}
        )
        bills = [
            await _create(
                client,
                BILLS,
                {
                    "external_reference": ref("bill"),
                    "currency": "ZAR",
                    "amount_due": amount,
                    "account": account["id"],
                    "metadata": {"invoice": "from-the-bill"},
                },
            )
            for amount in (300, 400)
        ]
        # One payment spread over two bills, then two payments on one bill.
        spread = (await post(client, "/sandbox/payments", {"account": account["id"]})).body
        assert len(spread["allocation"]["bills"]) == 2
        third = await _create(
            client,
            BILLS,
            {
                "external_reference": ref("bill"),
                "currency": "ZAR",
                "amount_due": 1000,
                "customer": customer["id"],
                "metadata": {"invoice": "direct"},
            },
        )
        one = (await post(client, "/sandbox/payments", {"bill": third["id"], "amount": 1})).body
        two = (await post(client, "/sandbox/payments", {"bill": third["id"], "amount": 2})).body
        await eventually(lambda: len(receiver.deliveries) == 3)
    data = {d.json()["id"]: d.json()["data"] for d in receiver.deliveries}
    assert set(data) == {spread["event_id"], one["event_id"], two["event_id"]}
    obligations = [item["id"] for item in data.values()]
    assert all(OB_ID.match(ob) for ob in obligations)
    assert len(set(obligations)) == 3  # per payment, even on the same bill
    whole = data[spread["event_id"]]
    assert (whole["amount"], whole["account_id"], whole["payment_id"]) == (
        700,
        account["id"],
        spread["id"],
    )
    assert "bill_id" not in whole  # one event for the account, not one per bill
    assert {b["id"] for b in bills} == {p["bill_id"] for p in spread["allocation"]["bills"]}
    # metadata comes from the payment (an API payment has none), not from the bill.
    assert all(item["metadata"] == {} for item in data.values())
