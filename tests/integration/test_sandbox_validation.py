"""Request validation: every rule, its status and the field it names.

Bodies are sent as raw JSON (``client.request``) because the client's typed methods
would refuse them before they left; the sandbox must refuse them on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import BadRequest, Conflict, Unprocessable
from moment_tui.api.models import BillUpdate
from tests.integration.conftest import failure, fields, make_client, new_key, post, ref

LONG = "x" * 256
ELEVEN = {f"k{i}": "v" for i in range(11)}
CUSTOMERS, ACCOUNTS, BILLS, PAYMENTS = (
    "/billing/customers",
    "/billing/accounts",
    "/billing/bills",
    "/sandbox/payments",
)


def _bill(**extra: Any) -> dict[str, Any]:
    return {"external_reference": "b-1", "currency": "ZAR", "amount_due": 100, **extra}


# (path, body, field named in errors[])
SCHEMA_FAILURES: list[tuple[str, dict[str, Any], str]] = [
    # customers
    (CUSTOMERS, {}, "external_reference"),
    (CUSTOMERS, {"external_reference": ""}, "external_reference"),
    (CUSTOMERS, {"external_reference": "has space"}, "external_reference"),
    (CUSTOMERS, {"external_reference": "ünïcode"}, "external_reference"),
    (CUSTOMERS, {"external_reference": LONG}, "external_reference"),
    (CUSTOMERS, {"external_reference": 12345}, "external_reference"),
    (CUSTOMERS, {"external_reference": "c", "name": ""}, "name"),
    (CUSTOMERS, {"external_reference": "c", "name": LONG}, "name"),
    (CUSTOMERS, {"external_reference": "c", "email": "not-an-email"}, "email"),
    (CUSTOMERS, {"external_reference": "c", "phone": "0821234567"}, "phone"),
    (CUSTOMERS, {"external_reference": "c", "phone": "+0821234567"}, "phone"),
    (CUSTOMERS, {"external_reference": "c", "phone": "+1234567890123456"}, "phone"),
    (CUSTOMERS, {"external_reference": "c", "phone": "+27 82 123 4567"}, "phone"),
    (CUSTOMERS, {"external_reference": "c", "currency": "XYZ"}, "currency"),
    (CUSTOMERS, {"external_reference": "c", "currency": "zar"}, "currency"),
    (CUSTOMERS, {"external_reference": "c", "balance": 100}, "currency"),
    (CUSTOMERS, {"external_reference": "c", "currency": "ZAR", "balance": "100"}, "balance"),
    (CUSTOMERS, {"external_reference": "c", "currency": "ZAR", "balance": 1.5}, "balance"),
    (CUSTOMERS, {"external_reference": "c", "currency": "ZAR", "balance": True}, "balance"),
    (CUSTOMERS, {"external_reference": "c", "currency": "ZAR", "balance": 2**53}, "balance"),
    (CUSTOMERS, {"external_reference": "c", "metadata": ELEVEN}, "metadata"),
    (CUSTOMERS, {"external_reference": "c", "metadata": {"k" * 41: "v"}}, "metadata"),
    (CUSTOMERS, {"external_reference": "c", "metadata": {"k": "v" * 501}}, "metadata.k"),
    (CUSTOMERS, {"external_reference": "c", "metadata": {"k": 5}}, "metadata.k"),
    (CUSTOMERS, {"external_reference": "c", "metadata": ["k"]}, "metadata"),
    (CUSTOMERS, {"external_reference": "c", "id": "bcus_x"}, "id"),
    # accounts
    (ACCOUNTS, {"external_reference": "a"}, "customer"),
    (ACCOUNTS, {"customer": "bcus_x"}, "external_reference"),
    (ACCOUNTS, {"customer": 7, "external_reference": "a"}, "customer"),
    (ACCOUNTS, {"customer": "bad ref", "external_reference": "a"}, "customer"),
    (
        ACCOUNTS,
        {"customer": {"external_reference": "c", "phone": "12"}, "external_reference": "a"},
        "customer.phone",
    ),
    (
        ACCOUNTS,
        {"customer": {"name": "No Ref"}, "external_reference": "a"},
        "customer.external_reference",
    ),
    (ACCOUNTS, {"customer": "c", "external_reference": "a", "balance": 5}, "currency"),
    (ACCOUNTS, {"customer": "c", "external_reference": "a", "email": "a@b.co"}, "email"),
    # bills
    (BILLS, _bill(customer="bcus_c", amount_due=0), "amount_due"),
    (BILLS, _bill(customer="bcus_c", amount_due=100_000_000), "amount_due"),
    (BILLS, _bill(customer="bcus_c", amount_due="100"), "amount_due"),
    (BILLS, _bill(customer="bcus_c", amount_due=10.0), "amount_due"),
    (BILLS, {"external_reference": "b", "amount_due": 100, "customer": "c"}, "currency"),
    (BILLS, {"external_reference": "b", "currency": "ZAR", "customer": "c"}, "amount_due"),
    (BILLS, _bill(customer="bcus_c", currency="RAND"), "currency"),
    (BILLS, _bill(), "account"),
    (BILLS, _bill(account={"external_reference": "a"}), "customer"),
    (
        BILLS,
        _bill(customer="bcus_c", account={"external_reference": "a", "customer": "c"}),
        "customer",
    ),
    (
        BILLS,
        _bill(customer="bcus_c", bill_date="2030-02-01", due_date="2030-01-31"),
        "due_date",
    ),
    (BILLS, _bill(customer="bcus_c", bill_date="2030-13-01"), "bill_date"),
    (BILLS, _bill(customer="bcus_c", due_date="31/01/2030"), "due_date"),
    (BILLS, _bill(customer="bcus_c", due_date="2030-01-31T00:00:00"), "due_date"),
    (BILLS, _bill(customer="bcus_c", bill_date=1699920000), "bill_date"),
    # A bill names an existing customer or account by id only (reference §12.1).
    (BILLS, _bill(customer="UCR1"), "customer"),
    (BILLS, _bill(account="UAR1"), "account"),
    (BILLS, _bill(account="bacc_a", customer="UCR1"), "customer"),
    (BILLS, _bill(customer="bcus_c", metadata=ELEVEN), "metadata"),
    (BILLS, _bill(customer="bcus_c", status="paid"), "status"),
    (
        BILLS,
        _bill(
            account={
                "external_reference": "a",
                "customer": {"external_reference": "c", "phone": "1"},
            }
        ),
        "account.customer.phone",
    ),
    (
        BILLS,
        _bill(account={"external_reference": "a b", "customer": "c"}),
        "account.external_reference",
    ),
    (
        BILLS,
        _bill(account={"external_reference": "a", "customer": "c", "balance": 1}),
        "account.currency",
    ),
    (BILLS, _bill(customer={"external_reference": "c", "email": "x"}), "customer.email"),
    # payments
    (PAYMENTS, {}, "bill"),
    (PAYMENTS, {"bill": "b", "account": "a"}, "bill"),
    (PAYMENTS, {"bill": "b", "amount": 0}, "amount"),
    (PAYMENTS, {"bill": "b", "amount": 100_000_000}, "amount"),
    (PAYMENTS, {"bill": "b", "amount": "5"}, "amount"),
    (PAYMENTS, {"bill": "b", "currency": "ZAR"}, "currency"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    SCHEMA_FAILURES,
    ids=[f"{p.rsplit('/', 1)[1]}:{f}:{i}" for i, (p, _, f) in enumerate(SCHEMA_FAILURES)],
)
async def test_schema_failures_are_400_naming_the_field(
    client: MomentClient, path: str, body: dict[str, Any], field: str
) -> None:
    error = await failure(post(client, path, body), BadRequest)
    assert error.status == 400
    assert error.title == "Invalid request"
    assert error.problem.type == "urn:moment-sandbox:problem:validation"
    assert error.instance == path
    named = fields(error)
    assert field in named, named
    assert named[field]  # a reason, not just a name
    assert f"{field}: " in (error.detail or "")


@pytest.mark.parametrize(
    ("link", "value", "message"),
    [
        ("customer", "UCR1", "use the customer's id (bcus_…), not its external reference"),
        ("account", "UAR1", "use the account's id (bacc_…), not its external reference"),
    ],
)
async def test_a_bill_naming_an_existing_object_by_reference_is_told_to_use_its_id(
    client: MomentClient, link: str, value: str, message: str
) -> None:
    error = await failure(post(client, BILLS, _bill(**{link: value})), BadRequest)
    assert fields(error) == {link: message}


@dataclass
class World:
    """Objects the semantic-rule table refers to, made once for the module."""

    customer: str
    other_customer: str
    balance_customer: str
    account: str
    balance_account: str
    bill: str
    voided_bill: str
    full_metadata_customer: str
    full_metadata_account: str
    full_metadata_bill: str


@pytest.fixture(scope="module")
def world(sandbox_url: str) -> World:
    headers = {"Authorization": "Bearer sk_test_validationWorld01"}
    with httpx.Client(base_url=sandbox_url, headers=headers, timeout=10.0) as http:

        def make(path: str, body: dict[str, Any]) -> str:
            response = http.post(path, json=body, headers={"Idempotency-Key": new_key()})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        ten = {f"k{i}": "v" for i in range(10)}
        customer = make(CUSTOMERS, {"external_reference": ref("cus")})
        account = make(ACCOUNTS, {"external_reference": ref("acc"), "customer": customer})
        voided = make(BILLS, _bill(external_reference=ref("bill"), customer=customer))
        response = http.post(f"{BILLS}/{voided}/void", headers={"Idempotency-Key": new_key()})
        assert response.status_code == 200
        return World(
            customer=customer,
            other_customer=make(CUSTOMERS, {"external_reference": ref("cus")}),
            balance_customer=make(
                CUSTOMERS, {"external_reference": ref("cus"), "currency": "ZAR", "balance": 100}
            ),
            account=account,
            balance_account=make(
                ACCOUNTS,
                {
                    "external_reference": ref("acc"),
                    "customer": customer,
                    "currency": "ZAR",
                    "balance": 100,
                },
            ),
            bill=make(BILLS, _bill(external_reference=ref("bill"), account=account)),
            voided_bill=voided,
            full_metadata_customer=make(
                CUSTOMERS, {"external_reference": ref("cus"), "metadata": ten}
            ),
            full_metadata_account=make(
                ACCOUNTS, {"external_reference": ref("acc"), "customer": customer, "metadata": ten}
            ),
            full_metadata_bill=make(
                BILLS, _bill(external_reference=ref("bill"), customer=customer, metadata=ten)
            ),
        )


# (method, path template, body template, field or None); "{name}" is filled from World,
# "{new}" with a fresh reference, "{new_id:bacc}" with an id no object has.
SEMANTIC_FAILURES: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("POST", ACCOUNTS, {"external_reference": "{new}", "customer": "{new}"}, "customer"),
    ("POST", BILLS, _bill(external_reference="{new}", account="{new_id:bacc}"), "account"),
    ("POST", BILLS, _bill(external_reference="{new}", customer="{new_id:bcus}"), "customer"),
    (
        "POST",
        BILLS,
        _bill(
            external_reference="{new}", account={"external_reference": "{new}", "customer": "{new}"}
        ),
        "account.customer",
    ),
    (
        "POST",
        BILLS,
        _bill(external_reference="{new}", account="{account}", customer="{other_customer}"),
        "customer",
    ),
    ("PATCH", BILLS + "/{voided_bill}", {"metadata": {"a": "b"}}, None),
    ("PATCH", BILLS + "/{bill}", {"currency": "ZAR", "amount_paid": 101}, "amount_paid"),
    ("PATCH", BILLS + "/{bill}", {"currency": "USD"}, "currency"),
    ("PATCH", CUSTOMERS + "/{balance_customer}", {"currency": "USD"}, "balance"),
    ("PATCH", ACCOUNTS + "/{balance_account}", {"currency": "USD"}, "balance"),
    ("PATCH", CUSTOMERS + "/{full_metadata_customer}", {"metadata": {"new": "v"}}, "metadata"),
    ("PATCH", ACCOUNTS + "/{full_metadata_account}", {"metadata": {"new": "v"}}, "metadata"),
    ("PATCH", BILLS + "/{full_metadata_bill}", {"metadata": {"new": "v"}}, "metadata"),
    ("POST", BILLS + "/{voided_bill}/void", {}, None),
    ("POST", PAYMENTS, {"bill": "{new}"}, "bill"),
    ("POST", PAYMENTS, {"account": "{new}"}, "account"),
    ("POST", PAYMENTS, {"customer": "{new}"}, "customer"),
    ("POST", PAYMENTS, {"bill": "{voided_bill}"}, "bill"),
    ("POST", PAYMENTS, {"bill": "{bill}", "amount": 101}, "amount"),
]


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if value == "{new}":
        return ref("new")
    if isinstance(value, str) and value.startswith("{new_id:"):
        return f"{value[8:-1]}_{uuid.uuid4().hex}"
    if isinstance(value, str):
        return value.format(**vars(world))
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    SEMANTIC_FAILURES,
    ids=[f"{m}:{p}:{f}:{i}" for i, (m, p, _, f) in enumerate(SEMANTIC_FAILURES)],
)
async def test_semantic_failures_are_422_naming_the_field(
    client: MomentClient,
    world: World,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    target = path.format(**vars(world))
    payload = _fill(body, world)
    call = (
        post(client, target, payload)
        if method == "POST"
        else client.request(method, target, json=payload)
    )
    error = await failure(call, Unprocessable)
    assert error.status == 422
    assert error.problem.type == "urn:moment-sandbox:problem:unprocessable"
    assert error.instance == target
    assert error.detail
    if field is None:
        assert fields(error) == {}
    else:
        assert list(fields(error)) == [field]
        assert fields(error)[field] == error.detail


async def test_failed_patch_leaves_the_object_unchanged(client: MomentClient, world: World) -> None:
    await failure(
        client.update_bill(world.bill, BillUpdate(currency="ZAR", amount_paid=101)), Unprocessable
    )
    bill = await client.get_bill(world.bill)
    assert (bill.amount_paid, bill.status.value) == (0, "unpaid")
    customer = await client.get_customer(world.balance_customer)
    assert (customer.currency, customer.balance) == ("ZAR", 100)


@pytest.mark.parametrize(
    ("path", "nested", "field"),
    [
        (ACCOUNTS, "customer", "customer.external_reference"),
        (BILLS, "customer", "customer.external_reference"),
    ],
)
async def test_nested_duplicate_is_409_naming_the_nested_field(
    client: MomentClient, world: World, path: str, nested: str, field: str
) -> None:
    taken = (await client.get_customer(world.customer)).external_reference
    body: dict[str, Any] = {"external_reference": ref("new"), nested: {"external_reference": taken}}
    if path == BILLS:
        body.update(currency="ZAR", amount_due=5)
    error = await failure(post(client, path, body), Conflict)
    assert list(fields(error)) == [field]


# --- bodies that are not JSON objects ------------------------------------------------------


@pytest.fixture
async def raw_http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sandbox_url, headers={"Authorization": "Bearer sk_test_rawBodies0001"}
    ) as http:
        yield http


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "the request body must be a JSON object"),
        (b"{not json", "the request body is not valid JSON"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'"text"', "the request body must be a JSON object"),
        (b"\xff\xfe", "the request body is not valid JSON"),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            "the request body's JSON is nested too deeply",
            id="nested-100000-deep",
        ),
        pytest.param(
            b'{"external_reference": "cus-1", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            "the request body's JSON is nested too deeply",
            id="nested-inside-an-object",
        ),
        # Valid JSON, but no UTF-8 text can hold a lone surrogate (SQLite refused it: 500).
        pytest.param(
            b'{"external_reference": "cus-2", "metadata": {"note": "\\ud800"}}',
            "the request body's JSON has an unpaired surrogate",
            id="lone-surrogate",
        ),
    ],
)
async def test_bodies_that_are_not_json_objects_are_400(
    raw_http: httpx.AsyncClient, content: bytes, detail: str
) -> None:
    response = await raw_http.post(
        CUSTOMERS,
        content=content,
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"].startswith(detail)
    assert (problem["status"], problem["instance"]) == (400, CUSTOMERS)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_body_that_cannot_be_decoded_is_400_and_writes_nothing(
    raw_http: httpx.AsyncClient, world: World, method: str
) -> None:
    """``Content-Encoding: gzip`` on bytes that are not gzip: aiohttp fails reading the
    body, which must be the client's 400 problem, not the sandbox's 500."""
    reference = ref("gz")
    path = CUSTOMERS if method == "POST" else f"{CUSTOMERS}/{world.customer}"
    response = await raw_http.request(
        method,
        path,
        content=b'{"external_reference": "' + reference.encode() + b'"}',
        headers={
            "Idempotency-Key": new_key(),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"].startswith("the request body could not be read: ")
    assert (problem["status"], problem["instance"]) == (400, path)
    assert (await raw_http.get(f"{CUSTOMERS}/{reference}")).status_code == 404


async def test_patch_with_a_bad_body_is_400(raw_http: httpx.AsyncClient, world: World) -> None:
    response = await raw_http.patch(f"{CUSTOMERS}/{world.customer}", content=b"[]")
    assert response.status_code == 400
    response = await raw_http.patch(
        f"{CUSTOMERS}/{world.customer}", content=b"[" * 100_000 + b"]" * 100_000
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "the request body's JSON is nested too deeply"
    response = await raw_http.patch(
        f"{CUSTOMERS}/{world.customer}", content=b'{"metadata": {"note": "\\udfff"}}'
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the request body's JSON has an unpaired")
    response = await raw_http.patch(
        f"{CUSTOMERS}/{world.customer}", json={"external_reference": "new"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "external_reference"


@pytest.mark.parametrize("path", ["/sandbox/deliveries", "/sandbox/events"])
@pytest.mark.parametrize(
    "limit",
    ["0", "501", "-1", "ten", "", "²", "٣", pytest.param("5" * 5000, id="5000-digits")],
)
async def test_bad_limit_on_the_sandbox_logs_is_400(
    raw_http: httpx.AsyncClient, path: str, limit: str
) -> None:
    response = await raw_http.get(path, params={"limit": limit})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"] == [
        {"field": "limit", "message": "limit must be a whole number from 1 to 500"}
    ]


@pytest.mark.parametrize(
    ("path", "query", "allowed"),
    [
        ("/sandbox/events", {"evnt": "evt_x"}, "limit"),
        ("/sandbox/events", {"event": "evt_x"}, "limit"),  # events take no event filter
        ("/sandbox/deliveries", {"evnt": "evt_x"}, "event, limit"),
        ("/sandbox/deliveries", {"limit": "5", "cursor": "x"}, "event, limit"),
    ],
)
async def test_unknown_query_parameters_on_the_sandbox_logs_are_400(
    raw_http: httpx.AsyncClient, path: str, query: dict[str, str], allowed: str
) -> None:
    """As on the /billing listings: a misspelt parameter is named, not silently
    ignored (which would answer the unfiltered log as if it were the filtered one)."""
    response = await raw_http.get(path, params=query)
    assert response.status_code == 400
    name = next(n for n in query if n not in allowed.split(", "))
    detail = f"unknown query parameter {name!r} (allowed: {allowed})"
    assert response.json()["detail"] == detail
    assert response.json()["errors"] == [{"field": name, "message": detail}]
    known = {k: v for k, v in query.items() if k in allowed.split(", ")}
    assert (await raw_http.get(path, params=known)).status_code == 200


@pytest.mark.parametrize("path", ["/sandbox/deliveries", "/sandbox/events"])
async def test_sandbox_logs_take_limits_up_to_500(raw_http: httpx.AsyncClient, path: str) -> None:
    for limit in ("1", "500"):
        response = await raw_http.get(path, params={"limit": limit})
        assert response.status_code == 200
        assert isinstance(response.json()["data"], list)


async def test_oversized_body_is_413_problem(raw_http: httpx.AsyncClient) -> None:
    body = b'{"external_reference": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await raw_http.post(CUSTOMERS, content=body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 413


async def test_a_problems_instance_is_the_path_still_encoded(raw_http: httpx.AsyncClient) -> None:
    """RFC 9457 §3.1.5: ``instance`` is a URI reference, so "a b" stays ``a%20b``."""
    response = await raw_http.get(f"{CUSTOMERS}/a%20b%2Fc")
    assert response.status_code == 404
    assert response.json()["instance"] == f"{CUSTOMERS}/a%20b%2Fc"
    assert response.json()["detail"] == "customer 'a b/c' doesn't exist"


async def test_unknown_routes_and_methods_are_problems(raw_http: httpx.AsyncClient) -> None:
    missing = await raw_http.get("/billing/invoices")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["instance"] == "/billing/invoices"
    wrong = await raw_http.delete(f"{CUSTOMERS}/anything")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["status"] == 405
    assert {m.strip() for m in wrong.headers["allow"].split(",")} == {"GET", "HEAD", "PATCH"}


async def test_a_second_api_key_is_a_separate_client(sandbox_url: str) -> None:
    """Any sk_test_ key works, and sees the same data (keys scope idempotency only)."""
    async with make_client(sandbox_url, "sk_test_someoneElse0001") as other:
        created = await post(other, CUSTOMERS, {"external_reference": ref("cus")})
        assert created.status == 201
        assert (await other.get_customer(created.body["id"])).id == created.body["id"]


async def test_every_problem_has_one_content_type(
    raw_http: httpx.AsyncClient, world: World
) -> None:
    """One media type, exactly, on every error: raised in a handler or a middleware,
    answered by a POST (stored for its Idempotency-Key) or replayed, from aiohttp's
    own 404/405/413, or from the bill page's form."""
    key, taken = new_key(), {"external_reference": ref("dup")}
    made = await raw_http.post(CUSTOMERS, json=taken, headers={"Idempotency-Key": new_key()})
    assert made.status_code == 201
    big = b'{"external_reference": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    answers = {
        "401": await raw_http.get(CUSTOMERS, headers={"Authorization": ""}),
        "403": await raw_http.get(CUSTOMERS, headers={"Authorization": "Bearer sk_live1"}),
        "404 route": await raw_http.get("/billing/invoices"),
        "404 object": await raw_http.get(f"{CUSTOMERS}/{ref('nobody')}"),
        "405": await raw_http.delete(f"{CUSTOMERS}/{world.customer}"),
        "400 listing": await raw_http.get(CUSTOMERS, params={"limit": "0"}),
        "400 patch": await raw_http.patch(f"{CUSTOMERS}/{world.customer}", json={"x": 1}),
        "400 no key": await raw_http.post(CUSTOMERS, json={"external_reference": ref("c")}),
        "409 post": await raw_http.post(CUSTOMERS, json=taken, headers={"Idempotency-Key": key}),
        "409 replayed": await raw_http.post(
            CUSTOMERS, json=taken, headers={"Idempotency-Key": key}
        ),
        "413": await raw_http.post(CUSTOMERS, content=big, headers={"Idempotency-Key": new_key()}),
        "422 patch": await raw_http.patch(
            f"{BILLS}/{world.bill}", json={"currency": "ZAR", "amount_paid": 99_999_999}
        ),
        "400 bill page": await raw_http.post(
            f"/pay/{world.bill}",
            content=b"amount=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        ),
    }
    assert answers["409 replayed"].headers["idempotent-replayed"] == "true"
    for name, answer in answers.items():
        assert answer.status_code == int(name[:3]), (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", name
        assert answer.json()["status"] == answer.status_code, name
