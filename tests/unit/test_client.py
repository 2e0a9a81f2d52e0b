"""MomentClient against httpx.MockTransport: paths, bodies, retries, errors, the log."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import email.utils
import json
import random
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from moment_tui.api import client as client_module
from moment_tui.api.client import (
    BODY_LIMIT,
    PROBE_REFERENCE,
    MomentClient,
    Page,
    RequestLog,
    RequestRecord,
    RetryPolicy,
)
from moment_tui.api.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidReference,
    ListingNotSupported,
    MomentError,
    NotFound,
    RateLimited,
    ReadOnlyRefused,
    RequestFailed,
    RequestTimeout,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    Unprocessable,
)
from moment_tui.api.models import (
    Account,
    AccountCreate,
    AccountUpdate,
    Bill,
    BillCreate,
    BillStatus,
    BillUpdate,
    Customer,
    CustomerCreate,
    CustomerUpdate,
)
from moment_tui.secrets import mask

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
BASE = "https://api.test"
PROBLEM = "application/problem+json"

CUSTOMER = {"id": "bcus_H4jp6KnU5cPw263v1jyz4", "external_reference": "UCR1", "name": "Thandi"}
ACCOUNT = {
    "id": "bacc_H4jp6KnU5cPw263v1jyz4",
    "external_reference": "UAR1",
    "customer_id": "bcus_H4jp6KnU5cPw263v1jyz4",
    "currency": "ZAR",
    "balance": 10000,
}
BILL = {
    "id": "bill_H4jp6KnU5cPw263v1jyz4",
    "external_reference": "UBR1",
    "customer_id": "bcus_H4jp6KnU5cPw263v1jyz4",
    "account_id": "bacc_H4jp6KnU5cPw263v1jyz4",
    "status": "unpaid",
    "currency": "ZAR",
    "amount_due": 2000,
    "amount_paid": 0,
    "amount_remaining": 2000,
}

# --- a scripted server ----------------------------------------------------------------

Answer = Callable[[httpx.Request], httpx.Response]


def reply(
    status: int,
    body: Any = None,
    *,
    headers: dict[str, str] | list[tuple[bytes, bytes]] | None = None,
    text: str | None = None,
    content_type: str = "application/json",
) -> Answer:
    """A fresh response per request (a Response object cannot be sent twice)."""

    def build(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        response = httpx.Response(status, json=body, headers=headers)
        response.headers["content-type"] = content_type
        return response

    return build


def fail(exc: Exception) -> Answer:
    def build(request: httpx.Request) -> httpx.Response:
        raise exc

    return build


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Answer:
    body = {"type": f"https://api.momentco.io/docs/errors#{status}", "title": title}
    body["status"] = status  # type: ignore[assignment]
    if detail is not None:
        body["detail"] = detail
    body["instance"] = "/billing/customers/bcus_x"
    body.update(extra)
    return reply(status, body, content_type=PROBLEM)


class Server:
    """Answers requests in order; the last answer repeats. Records every request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request)

    @property
    def keys(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.requests]


class FakeSleep:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.delays: list[float] = []
        self.clock = clock

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.clock is not None:
            self.clock.now += delay


class FakeClock:
    """Stands in for the ``time`` module inside the client, so budgets are testable."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return self.now


MakeClient = Callable[..., MomentClient]


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., tuple[MomentClient, FakeSleep]]]:
    clients: list[MomentClient] = []

    def build(
        server: Server, *, sleep: FakeSleep | None = None, **kwargs: Any
    ) -> tuple[MomentClient, FakeSleep]:
        sleep = sleep or FakeSleep()
        kwargs.setdefault("base_url", BASE)
        client = MomentClient(
            KEY,
            transport=httpx.MockTransport(server),
            sleep=sleep,
            rng=random.Random(0),
            **kwargs,
        )
        clients.append(client)
        return client, sleep

    yield build
    for client in clients:
        await client.aclose()


def is_uuid4(value: str | None) -> bool:
    if value is None:
        return False
    parsed = uuid.UUID(value)
    return parsed.version == 4 and str(parsed) == value


def assert_no_key(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert KEY not in text
    assert KEY not in repr(exc)
    assert KEY not in str(exc)


# --- every endpoint -------------------------------------------------------------------

Call = Callable[[MomentClient], Awaitable[Any]]

ENDPOINTS: list[tuple[str, Call, str, str, Any, int, Any, type]] = [
    (
        "create_customer",
        lambda c: c.create_customer(
            CustomerCreate(external_reference="UCR1", name="Thandi", phone="+27821234567")
        ),
        "POST",
        "/billing/customers",
        {"external_reference": "UCR1", "name": "Thandi", "phone": "+27821234567"},
        201,
        CUSTOMER,
        Customer,
    ),
    (
        "get_customer",
        lambda c: c.get_customer("bcus_H4jp6KnU5cPw263v1jyz4"),
        "GET",
        "/billing/customers/bcus_H4jp6KnU5cPw263v1jyz4",
        None,
        200,
        CUSTOMER,
        Customer,
    ),
    (
        "update_customer",
        lambda c: c.update_customer("UCR1", CustomerUpdate(balance=5000, currency="ZAR")),
        "PATCH",
        "/billing/customers/UCR1",
        {"balance": 5000, "currency": "ZAR"},
        200,
        CUSTOMER,
        Customer,
    ),
    (
        "create_account",
        lambda c: c.create_account(
            AccountCreate(
                external_reference="UAR1",
                customer=CustomerCreate(external_reference="UCR1"),
                currency="ZAR",
                balance=10000,
            )
        ),
        "POST",
        "/billing/accounts",
        {
            "external_reference": "UAR1",
            "customer": {"external_reference": "UCR1"},
            "currency": "ZAR",
            "balance": 10000,
        },
        201,
        ACCOUNT,
        Account,
    ),
    (
        "get_account",
        lambda c: c.get_account("UAR1"),
        "GET",
        "/billing/accounts/UAR1",
        None,
        200,
        ACCOUNT,
        Account,
    ),
    (
        "update_account",
        lambda c: c.update_account("bacc_1", AccountUpdate(metadata={"plan": "gold"})),
        "PATCH",
        "/billing/accounts/bacc_1",
        {"metadata": {"plan": "gold"}},
        200,
        ACCOUNT,
        Account,
    ),
    (
        "create_bill",
        lambda c: c.create_bill(
            BillCreate(
                external_reference="UBR1",
                currency="ZAR",
                amount_due=2000,
                account="bacc_1",
                due_date=dt.date(2025, 7, 1),
            )
        ),
        "POST",
        "/billing/bills",
        {
            "external_reference": "UBR1",
            "currency": "ZAR",
            "amount_due": 2000,
            "account": "bacc_1",
            "due_date": "2025-07-01",
        },
        201,
        BILL,
        Bill,
    ),
    (
        "get_bill",
        lambda c: c.get_bill("UBR1"),
        "GET",
        "/billing/bills/UBR1",
        None,
        200,
        BILL,
        Bill,
    ),
    (
        "update_bill",
        lambda c: c.update_bill("bill_1", BillUpdate(amount_paid=1500, currency="ZAR")),
        "PATCH",
        "/billing/bills/bill_1",
        {"amount_paid": 1500, "currency": "ZAR"},
        200,
        {**BILL, "amount_paid": 1500, "amount_remaining": 500},
        Bill,
    ),
    (
        "void_bill",
        lambda c: c.void_bill("UBR1"),
        "POST",
        "/billing/bills/UBR1/void",
        None,
        200,
        {**BILL, "status": "voided", "metadata": {"voided_reason": "duplicate"}},
        Bill,
    ),
    (
        "get(bill)",
        lambda c: c.get("bill", "bill_1"),
        "GET",
        "/billing/bills/bill_1",
        None,
        200,
        BILL,
        Bill,
    ),
    (
        "get(account)",
        lambda c: c.get("account", "UAR1"),
        "GET",
        "/billing/accounts/UAR1",
        None,
        200,
        ACCOUNT,
        Account,
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "sent", "status", "answer", "model"),
    [e[1:] for e in ENDPOINTS],
    ids=[e[0] for e in ENDPOINTS],
)
async def test_endpoint(
    make: Any,
    call: Call,
    method: str,
    path: str,
    sent: Any,
    status: int,
    answer: dict[str, Any],
    model: type,
) -> None:
    server = Server(reply(status, answer))
    client, sleep = make(server)
    result = await call(client)

    assert type(result) is model
    assert result.id == answer["id"]
    assert result.external_reference == answer["external_reference"]
    [request] = server.requests
    assert request.method == method
    assert request.url.raw_path == path.encode()
    assert str(request.url) == BASE + path
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == "moment-tui/0.1.0"
    if sent is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == sent
    if method == "POST":
        assert is_uuid4(request.headers.get("idempotency-key"))
    else:
        assert "idempotency-key" not in request.headers
    assert sleep.delays == []


async def test_parsed_values(make: Any) -> None:
    server = Server(reply(200, {**BILL, "status": "voided", "metadata": {"voided_reason": "dup"}}))
    client, _ = make(server)
    voided = await client.void_bill("bill_1")
    assert voided.status is BillStatus.VOIDED
    assert voided.metadata == {"voided_reason": "dup"}
    assert voided.amount_due == 2000
    assert voided.account_id == "bacc_H4jp6KnU5cPw263v1jyz4"


@pytest.mark.parametrize(
    ("ref", "raw_path"),
    [
        ("INV-2024-001", b"/billing/customers/INV-2024-001"),
        ("under_score", b"/billing/customers/under_score"),
        ("bcus_H4jp6KnU5cPw263v1jyz4", b"/billing/customers/bcus_H4jp6KnU5cPw263v1jyz4"),
        ("R" * 255, b"/billing/customers/" + b"R" * 255),
    ],
)
async def test_ids_and_references_go_into_the_path_as_they_are(
    make: Any, ref: str, raw_path: bytes
) -> None:
    server = Server(reply(200, CUSTOMER))
    client, _ = make(server)
    await client.get_customer(ref)
    assert server.requests[0].url.raw_path == raw_path


BAD_REFS = [".", "..", "../admin", "a/b c", "x?y#z", "%2e%2e", "caf\u00e9", "R" * 256, " UCR1"]
REF_CALLS: list[tuple[str, Callable[[MomentClient, str], Awaitable[Any]]]] = [
    ("get_customer", lambda c, ref: c.get_customer(ref)),
    ("update_account", lambda c, ref: c.update_account(ref, AccountUpdate(name="A"))),
    ("get_bill", lambda c, ref: c.get_bill(ref)),
    ("void_bill", lambda c, ref: c.void_bill(ref)),
    ("get(bill)", lambda c, ref: c.get("bill", ref)),
]


@pytest.mark.parametrize("ref", BAD_REFS, ids=lambda r: r if len(r) < 20 else f"{len(r)} chars")
@pytest.mark.parametrize(("call"), [c[1] for c in REF_CALLS], ids=[c[0] for c in REF_CALLS])
async def test_a_reference_that_is_not_an_id_or_reference_is_refused_before_sending(
    make: Any, call: Callable[[MomentClient, str], Awaitable[Any]], ref: str
) -> None:
    # quote(ref, safe="") leaves "." and ".." alone and httpx resolves dot segments, so
    # get_customer("..") would be GET /billing and void_bill("..") POST /billing/void.
    server = Server(reply(200, BILL))
    client, sleep = make(server)
    with pytest.raises(ValueError, match=r" is not a (customer|account|bill) id or ") as caught:
        await call(client, ref)
    assert server.requests == []
    assert list(client.request_log) == []
    assert sleep.delays == []
    assert len(str(caught.value)) < 200  # a long input is not echoed in full
    # A ValueError, and a MomentError too: code that reports client failures reports it.
    assert isinstance(caught.value, InvalidReference)
    assert isinstance(caught.value, MomentError)


async def test_the_refusal_says_what_a_reference_may_hold(make: Any) -> None:
    server = Server(reply(200, BILL))
    client, _ = make(server)
    with pytest.raises(ValueError, match=r"^'\.\.' is not") as caught:
        await client.void_bill("..")
    assert str(caught.value) == (
        "'..' is not a bill id or external reference: 1–255 letters, digits, '_' or '-';"
        " nothing was sent"
    )
    assert server.requests == []


async def test_an_empty_reference_is_refused_before_sending(make: Any) -> None:
    server = Server(reply(200, CUSTOMER))
    client, _ = make(server)
    with pytest.raises(ValueError, match=r"^a bill id or external reference is required$"):
        await client.get_bill("")
    assert server.requests == []


async def test_base_url_with_a_path_prefix(make: Any) -> None:
    server = Server(reply(200, CUSTOMER))
    client, _ = make(server, base_url="https://gw.test/moment/")
    await client.get_customer("UCR1")
    assert str(server.requests[0].url) == "https://gw.test/moment/billing/customers/UCR1"
    assert client.base_url == "https://gw.test/moment"


# --- idempotency and retries ----------------------------------------------------------


async def test_each_post_gets_a_fresh_key(make: Any) -> None:
    server = Server(reply(201, CUSTOMER))
    client, _ = make(server)
    await client.create_customer(CustomerCreate(external_reference="A"))
    await client.create_customer(CustomerCreate(external_reference="B"))
    first, second = server.keys
    assert is_uuid4(first)
    assert is_uuid4(second)
    assert first != second


async def test_a_given_idempotency_key_is_used(make: Any) -> None:
    server = Server(reply(200, BILL))
    client, _ = make(server)
    await client.void_bill("bill_1", idempotency_key="my-key-1")
    assert server.keys == ["my-key-1"]


@pytest.mark.parametrize("method", ["post", "Post", "POST"])
async def test_the_method_is_normalised_so_any_post_carries_a_key(make: Any, method: str) -> None:
    server = Server(reply(201, CUSTOMER))
    client, _ = make(server)
    await client.request(method, "/billing/customers", json={"external_reference": "UCR1"})
    [request] = server.requests
    assert request.method == "POST"
    assert is_uuid4(request.headers.get("idempotency-key"))
    [record] = client.request_log
    assert (record.method, record.idempotency_key) == ("POST", request.headers["idempotency-key"])


async def test_a_lowercase_post_answered_409_in_flight_is_retried_with_the_same_key(
    make: Any,
) -> None:
    server = Server(
        reply(409, {"title": "Conflict"}, headers={"Retry-After": "1"}), reply(201, CUSTOMER)
    )
    client, sleep = make(server)
    await client.request("post", "/billing/customers", json={"external_reference": "UCR1"})
    first, second = server.keys
    assert is_uuid4(first)
    assert first == second
    assert sleep.delays == [1.0]


async def test_a_lowercase_get_carries_no_key_and_a_read_only_client_allows_it(
    make: Any,
) -> None:
    server = Server(reply(200, CUSTOMER))
    client, _ = make(server, read_only=True)
    await client.request("get", "/billing/customers/UCR1")
    assert server.requests[0].method == "GET"
    assert server.keys == [None]
    with pytest.raises(ReadOnlyRefused, match=r"^read-only: refusing POST /billing/customers;"):
        await client.request("post", "/billing/customers", json={})
    assert len(server.requests) == 1


async def test_retried_post_reuses_the_same_key(make: Any) -> None:
    server = Server(problem(503, "Service Unavailable"), reply(201, BILL))
    client, sleep = make(server)
    bill = await client.create_bill(
        BillCreate(external_reference="UBR1", currency="ZAR", amount_due=2000, customer="bcus_1")
    )
    assert bill.id == BILL["id"]
    assert len(server.requests) == 2
    first, second = server.keys
    assert is_uuid4(first)
    assert first == second
    assert server.requests[0].content == server.requests[1].content
    assert sleep.delays == [RetryPolicy().backoff(1, random.Random(0))]
    records = list(client.request_log)
    assert [(r.method, r.path, r.status, r.attempt) for r in records] == [
        ("POST", "/billing/bills", 503, 1),
        ("POST", "/billing/bills", 201, 2),
    ]
    assert {r.idempotency_key for r in records} == {first}


async def test_connection_error_then_success(make: Any) -> None:
    server = Server(fail(httpx.ConnectError("connection refused")), reply(201, CUSTOMER))
    client, sleep = make(server)
    customer = await client.create_customer(CustomerCreate(external_reference="UCR1"))
    assert customer.name == "Thandi"
    assert len(sleep.delays) == 1
    assert server.keys[0] == server.keys[1]
    first, second = client.request_log
    assert (first.status, first.error, first.attempt) == (
        None,
        "ConnectError: connection refused",
        1,
    )
    assert (second.status, second.error, second.attempt) == (201, None, 2)


async def test_patch_is_retried_too(make: Any) -> None:
    server = Server(reply(502, text="bad gateway"), reply(200, CUSTOMER))
    client, sleep = make(server)
    await client.update_customer("UCR1", CustomerUpdate(name="T"))
    assert [r.method for r in server.requests] == ["PATCH", "PATCH"]
    assert server.keys == [None, None]
    assert len(sleep.delays) == 1


async def test_429_retry_after_seconds(make: Any) -> None:
    server = Server(
        reply(429, {"title": "Too Many Requests"}, headers={"Retry-After": "2"}),
        reply(200, CUSTOMER),
    )
    client, sleep = make(server)
    await client.get_customer("UCR1")
    assert sleep.delays == [2.0]


async def test_429_retry_after_http_date_in_the_past(make: Any) -> None:
    server = Server(
        reply(429, None, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        reply(200, CUSTOMER),
    )
    client, sleep = make(server)
    await client.get_customer("UCR1")
    assert sleep.delays == [0.0]


async def test_429_retry_after_http_date_in_the_future(make: Any) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    header = email.utils.format_datetime(later, usegmt=True)
    server = Server(reply(429, None, headers={"Retry-After": header}), reply(200, CUSTOMER))
    client, sleep = make(server, retry=RetryPolicy(total_budget=7200))
    await client.get_customer("UCR1")
    [delay] = sleep.delays
    assert 3500 < delay <= 3600


@pytest.mark.parametrize("value", [b"soon", b"\xb2", b"-5", b"1.5"])
async def test_429_unusable_retry_after_falls_back_to_backoff(make: Any, value: bytes) -> None:
    server = Server(reply(429, None, headers=[(b"retry-after", value)]))
    client, sleep = make(server, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(RateLimited) as caught:
        await client.get_customer("UCR1")
    assert caught.value.retry_after is None
    assert sleep.delays == [RetryPolicy().backoff(1, random.Random(0))]


async def test_exhaustion_on_503_raises_server_error(make: Any) -> None:
    server = Server(problem(503, "Service Unavailable", "try later"))
    client, sleep = make(server)
    with pytest.raises(ServerError) as caught:
        await client.get_customer("bcus_x")
    assert len(server.requests) == 4
    rng = random.Random(0)
    assert sleep.delays == [RetryPolicy().backoff(n, rng) for n in (1, 2, 3)]
    assert caught.value.status == 503
    assert caught.value.detail == "try later"
    assert [r.attempt for r in client.request_log] == [1, 2, 3, 4]
    assert_no_key(caught.value)


async def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0)

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [policy.backoff(n, Top()) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


async def test_exhaustion_on_connection_errors_raises_transport_error(make: Any) -> None:
    server = Server(fail(httpx.ConnectError("connection refused")))
    client, sleep = make(server, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(TransportError) as caught:
        await client.get_customer("UCR1")
    assert type(caught.value) is TransportError
    assert str(caught.value) == "GET /billing/customers/UCR1: ConnectError: connection refused"
    assert len(server.requests) == 3
    assert len(sleep.delays) == 2
    assert_no_key(caught.value)


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("read timed out"), httpx.ConnectTimeout("connect timed out")]
)
async def test_exhaustion_on_timeouts_raises_request_timeout(make: Any, exc: Exception) -> None:
    server = Server(fail(exc))
    client, _ = make(server)
    with pytest.raises(RequestTimeout) as caught:
        await client.create_customer(CustomerCreate(external_reference="UCR1"))
    assert str(caught.value) == (
        f"POST /billing/customers: no answer in time ({type(exc).__name__})"
    )
    assert len(server.requests) == 4
    assert len(set(server.keys)) == 1
    assert [r.error for r in client.request_log] == ["timed out"] * 4
    assert_no_key(caught.value)


async def test_an_undecodable_body_is_a_transport_error(make: Any) -> None:
    def corrupt(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")

    server = Server(corrupt)
    client, _ = make(server, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(TransportError) as caught:
        await client.get_customer("UCR1")
    assert str(caught.value).startswith("GET /billing/customers/UCR1: DecodingError: ")


async def test_max_attempts_one_means_no_retry(make: Any) -> None:
    server = Server(problem(503, "Service Unavailable"), reply(200, CUSTOMER))
    client, sleep = make(server, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ServerError):
        await client.get_customer("UCR1")
    assert len(server.requests) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422, 500])
async def test_other_errors_are_not_retried(make: Any, status: int) -> None:
    server = Server(problem(status, "Nope"), reply(200, CUSTOMER))
    client, sleep = make(server)
    with pytest.raises(ApiError):
        await client.create_customer(CustomerCreate(external_reference="UCR1"))
    assert len(server.requests) == 1
    assert sleep.delays == []


async def test_a_409_with_retry_after_to_a_post_is_retried_with_the_same_key(make: Any) -> None:
    in_flight = problem(409, "Conflict", "a request with this key is in progress")
    server = Server(
        lambda request: _with_retry_after(in_flight(request), "1"),
        reply(201, BILL),
    )
    client, sleep = make(server)
    bill = await client.create_bill(
        BillCreate(external_reference="UBR1", currency="ZAR", amount_due=2000, customer="bcus_1")
    )
    assert bill.id == BILL["id"]
    assert sleep.delays == [1.0]
    first, second = server.keys
    assert is_uuid4(first)
    assert first == second
    assert [(r.status, r.attempt, r.idempotency_key) for r in client.request_log] == [
        (409, 1, first),
        (201, 2, first),
    ]


async def test_a_409_in_flight_without_end_exhausts_the_retries(make: Any) -> None:
    server = Server(reply(409, {"title": "Conflict"}, headers={"Retry-After": "0"}))
    client, sleep = make(server)
    with pytest.raises(Conflict) as caught:
        await client.void_bill("bill_1", idempotency_key="void-1")
    assert caught.value.status == 409
    assert len(server.requests) == RetryPolicy().max_attempts
    assert server.keys == ["void-1"] * RetryPolicy().max_attempts
    assert sleep.delays == [0.0] * (RetryPolicy().max_attempts - 1)


async def test_a_409_without_retry_after_is_final(make: Any) -> None:
    server = Server(problem(409, "Conflict", "external_reference UCR1 exists"), reply(201, BILL))
    client, sleep = make(server)
    with pytest.raises(Conflict) as caught:
        await client.create_customer(CustomerCreate(external_reference="UCR1"))
    assert caught.value.detail == "external_reference UCR1 exists"
    assert len(server.requests) == 1
    assert sleep.delays == []


async def test_a_409_with_retry_after_to_a_patch_is_final(make: Any) -> None:
    server = Server(reply(409, {"title": "Conflict"}, headers={"Retry-After": "1"}))
    client, sleep = make(server)
    with pytest.raises(Conflict):
        await client.update_customer("UCR1", CustomerUpdate(name="T"))
    assert len(server.requests) == 1
    assert sleep.delays == []


def _with_retry_after(response: httpx.Response, value: str) -> httpx.Response:
    response.headers["Retry-After"] = value
    return response


async def test_total_budget_bounds_retries(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(client_module, "time", clock)
    server = Server(reply(429, {"title": "Slow down"}, headers={"Retry-After": "8"}))
    client, sleep = make(
        server, sleep=FakeSleep(clock), retry=RetryPolicy(max_attempts=10, total_budget=20)
    )
    with pytest.raises(RateLimited) as caught:
        await client.get_customer("UCR1")
    # 0 s, then 8 s, then 16 s; a fourth try would start at 24 s, beyond the 20 s budget.
    assert sleep.delays == [8.0, 8.0]
    assert len(server.requests) == 3
    assert caught.value.retry_after == 8.0
    assert caught.value.title == "Slow down"


async def test_a_retry_after_beyond_the_budget_is_not_waited_for(make: Any) -> None:
    server = Server(reply(429, None, headers={"Retry-After": "3600"}))
    client, sleep = make(server)
    with pytest.raises(RateLimited) as caught:
        await client.get_customer("UCR1")
    assert sleep.delays == []
    assert len(server.requests) == 1
    assert caught.value.retry_after == 3600.0
    assert str(caught.value) == "429 Too Many Requests (GET /billing/customers/UCR1)"


class TricklingServer:
    """A real HTTP server on loopback that sends its 200 answer one byte every 0.2 s, so
    no single read ever waits long enough for httpx's per-read timeout to fire."""

    def __init__(self) -> None:
        self.url = ""
        self.hits = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        body = json.dumps(CUSTOMER).encode()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        try:
            for byte in body:
                await response.write(bytes([byte]))
                await asyncio.sleep(0.2)
        except ConnectionError:
            pass  # the client gave up, as it should
        return response

    async def __aenter__(self) -> TricklingServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_the_total_budget_bounds_an_answer_that_trickles_in(method: str) -> None:
    # httpx's timeouts are per read: without a budget on the whole attempt, this answer
    # (about 20 s long) would keep the call alive for all of it.
    async with (
        TricklingServer() as server,
        MomentClient(KEY, base_url=server.url, retry=RetryPolicy(total_budget=0.5)) as client,
    ):
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as caught:
            async with asyncio.timeout(10):  # the test's own backstop, far above the budget
                await client.request(method, "/billing/customers/UCR1")
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert type(caught.value) is RequestTimeout
    assert str(caught.value) == (
        f"{method} /billing/customers/UCR1: no complete answer within the 0.5 s time budget"
    )
    assert server.hits == 1  # the budget is spent: no retry
    [record] = client.request_log
    assert (record.status, record.error) == (None, "time budget spent")
    assert_no_key(caught.value)


# --- read-only ------------------------------------------------------------------------

WRITES: list[tuple[str, Call, str]] = [
    (
        "create_bill",
        lambda c: c.create_bill(
            BillCreate(
                external_reference="UBR1", currency="ZAR", amount_due=2000, customer="bcus_1"
            )
        ),
        "POST /billing/bills",
    ),
    (
        "create_customer",
        lambda c: c.create_customer(CustomerCreate(external_reference="UCR1")),
        "POST /billing/customers",
    ),
    (
        "update_account",
        lambda c: c.update_account("bacc_1", AccountUpdate(metadata={"plan": "gold"})),
        "PATCH /billing/accounts/bacc_1",
    ),
    ("void_bill", lambda c: c.void_bill("UBR1"), "POST /billing/bills/UBR1/void"),
    ("raw DELETE", lambda c: c.request("DELETE", "/billing/bills/x"), "DELETE /billing/bills/x"),
]


@pytest.mark.parametrize(("call", "what"), [w[1:] for w in WRITES], ids=[w[0] for w in WRITES])
async def test_a_read_only_client_refuses_writes_before_sending(
    make: Any, call: Call, what: str
) -> None:
    server = Server(reply(201, BILL))
    client, sleep = make(server, read_only=True)
    with pytest.raises(ReadOnlyRefused) as caught:
        await call(client)
    assert str(caught.value) == f"read-only: refusing {what}; nothing was sent"
    assert isinstance(caught.value, MomentError)
    assert server.requests == []
    assert list(client.request_log) == []
    assert sleep.delays == []


async def test_a_read_only_client_still_reads(make: Any) -> None:
    server = Server(reply(200, BILL))
    client, _ = make(server, read_only=True)
    bill = await client.get_bill("UBR1")
    assert bill.id == BILL["id"]
    assert (await client.get("bill", "UBR1")).id == BILL["id"]
    assert [r.method for r in server.requests] == ["GET", "GET"]
    assert client.read_only is True
    assert repr(client) == (
        "MomentClient(base_url='https://api.test', api_key='sk_test_…7dc', read_only=True)"
    )


async def test_clients_write_by_default(make: Any) -> None:
    server = Server(reply(201, CUSTOMER))
    client, _ = make(server)
    assert client.read_only is False
    await client.create_customer(CustomerCreate(external_reference="UCR1"))
    assert [r.method for r in server.requests] == ["POST"]


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (402, RequestFailed),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, Unprocessable),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (504, ServerError),
        (418, ApiError),
    ],
)
async def test_status_maps_to_exception_with_problem_fields(
    make: Any, status: int, cls: type[ApiError]
) -> None:
    server = Server(problem(status, "Customer not found", "bcus_x doesn't exist", code="E1"))
    client, _ = make(server, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ApiError) as caught:
        await client.get_customer("bcus_x")
    exc = caught.value
    assert type(exc) is cls
    assert isinstance(exc, MomentError)
    assert exc.status == status
    assert exc.title == "Customer not found"
    assert exc.detail == "bcus_x doesn't exist"
    assert exc.instance == "/billing/customers/bcus_x"
    assert exc.type == f"https://api.momentco.io/docs/errors#{status}"
    assert exc.problem.extensions == {"code": "E1"}
    assert (exc.method, exc.path) == ("GET", "/billing/customers/bcus_x")
    assert str(exc) == (
        f"{status} Customer not found: bcus_x doesn't exist (GET /billing/customers/bcus_x)"
    )
    assert_no_key(exc)


async def test_non_json_error_body_still_reads_well(make: Any) -> None:
    server = Server(reply(502, text="<html><body>upstream down</body></html>"))
    client, _ = make(server, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ServerError) as caught:
        await client.get_bill("UBR1")
    assert caught.value.title == "Bad Gateway"
    assert caught.value.detail == "<html><body>upstream down</body></html>"
    assert str(caught.value) == (
        "502 Bad Gateway: <html><body>upstream down</body></html> (GET /billing/bills/UBR1)"
    )


async def test_empty_error_body_and_no_reason_phrase(make: Any) -> None:
    server = Server(reply(500), reply(599))
    client, _ = make(server, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ServerError) as first:
        await client.get_bill("UBR1")
    assert str(first.value) == "500 Internal Server Error (GET /billing/bills/UBR1)"
    with pytest.raises(ServerError) as second:
        await client.get_bill("UBR1")
    assert str(second.value) == "599 Error (GET /billing/bills/UBR1)"


async def test_error_body_that_is_json_but_not_an_object(make: Any) -> None:
    server = Server(reply(400, ["missing", "external_reference"]))
    client, _ = make(server)
    with pytest.raises(BadRequest) as caught:
        await client.get_customer("x")
    assert caught.value.title == "Bad Request"
    assert caught.value.detail == "['missing', 'external_reference']"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            reply(200, text="definitely not json"),
            "GET /billing/customers/UCR1: the customer in the answer is malformed (body)",
        ),
        (
            reply(200),
            "GET /billing/customers/UCR1: the customer in the answer is malformed (body)",
        ),
        (
            reply(200, {"id": "bcus_1"}),
            "GET /billing/customers/UCR1: the customer in the answer is malformed "
            "(external_reference)",
        ),
        (
            reply(200, {"id": "bcus_1", "external_reference": "c", "balance": "lots"}),
            "GET /billing/customers/UCR1: the customer in the answer is malformed (balance)",
        ),
    ],
)
async def test_malformed_success_body(make: Any, answer: Answer, message: str) -> None:
    client, _ = make(Server(answer))
    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_customer("UCR1")
    assert str(caught.value) == message
    assert_no_key(caught.value)


# --- listing --------------------------------------------------------------------------


async def test_list_page(make: Any) -> None:
    server = Server(
        reply(
            200,
            {"data": [CUSTOMER, {**CUSTOMER, "id": "bcus_2", "external_reference": "UCR2"}]},
            headers={"Next-Cursor": "c2", "Prev-Cursor": "c0"},
        )
    )
    client, _ = make(server)
    page = await client.list_page("customer", limit=2, cursor="c1", filters={"email": "a@b.co"})
    assert isinstance(page, Page)
    assert [c.id for c in page.items] == [CUSTOMER["id"], "bcus_2"]
    assert all(type(c) is Customer for c in page.items)
    assert (page.next_cursor, page.prev_cursor) == ("c2", "c0")
    request = server.requests[0]
    assert request.url.path == "/billing/customers"
    assert dict(request.url.params) == {"limit": "2", "email": "a@b.co", "cursor": "c1"}


async def test_list_page_without_cursors(make: Any) -> None:
    server = Server(reply(200, {"data": []}, headers={"Next-Cursor": ""}))
    client, _ = make(server)
    page = await client.list_page("bill")
    assert page == Page(items=[], next_cursor=None, prev_cursor=None)
    assert dict(server.requests[0].url.params) == {"limit": "100"}


async def test_iterate_follows_cursors_to_the_end(make: Any) -> None:
    def bills(*ids: str) -> dict[str, Any]:
        return {"data": [{**BILL, "id": i, "external_reference": i} for i in ids]}

    server = Server(
        reply(200, bills("bill_1", "bill_2"), headers={"Next-Cursor": "p2"}),
        reply(200, bills("bill_3", "bill_4"), headers={"Next-Cursor": "p3", "Prev-Cursor": "p1"}),
        reply(200, bills("bill_5"), headers={"Prev-Cursor": "p2"}),
    )
    client, _ = make(server)
    seen = [bill.id async for bill in client.iterate("bill", page_size=2)]
    assert seen == ["bill_1", "bill_2", "bill_3", "bill_4", "bill_5"]
    assert [r.url.params.get("cursor") for r in server.requests] == [None, "p2", "p3"]
    assert {r.url.params["limit"] for r in server.requests} == {"2"}


@pytest.mark.parametrize("status", [404, 405])
async def test_listing_not_supported(make: Any, status: int) -> None:
    client, _ = make(Server(problem(status, "Not here")))
    with pytest.raises(ListingNotSupported) as caught:
        await client.list_page("account")
    assert str(caught.value) == f"{BASE} does not offer listing accounts ({status})"
    with pytest.raises(ListingNotSupported):
        [item async for item in client.iterate("account")]


async def test_listing_other_errors_pass_through(make: Any) -> None:
    client, _ = make(Server(problem(401, "Unauthorized", "bad key")))
    with pytest.raises(Unauthorized):
        await client.list_page("customer")


@pytest.mark.parametrize("body", [{"items": []}, [CUSTOMER], {"data": "x"}])
async def test_listing_with_an_unexpected_body(make: Any, body: Any) -> None:
    client, _ = make(Server(reply(200, body)))
    with pytest.raises(UnexpectedResponse) as caught:
        await client.list_page("customer")
    assert str(caught.value) == "GET /billing/customers: expected a body with a 'data' list"


async def test_listing_with_a_malformed_item(make: Any) -> None:
    client, _ = make(Server(reply(200, {"data": [CUSTOMER, {"id": "bcus_2"}]})))
    with pytest.raises(UnexpectedResponse) as caught:
        await client.list_page("customer")
    assert str(caught.value) == (
        "GET /billing/customers: the customer in the answer is malformed (external_reference)"
    )


# --- request log ----------------------------------------------------------------------


async def test_request_log_records_every_attempt(make: Any) -> None:
    server = Server(
        problem(503, "Unavailable"),
        reply(201, CUSTOMER, headers={"Idempotent-Replayed": "true"}),
        reply(200, CUSTOMER),
    )
    log = RequestLog()
    client, _ = make(server, request_log=log)
    await client.create_customer(CustomerCreate(external_reference="UCR1"))
    await client.get_customer("UCR1")
    assert client.request_log is log
    records = list(log)
    assert len(log) == 3
    key = server.keys[0]
    assert [
        (r.method, r.path, r.status, r.attempt, r.idempotency_key, r.replayed, r.error)
        for r in records
    ] == [
        ("POST", "/billing/customers", 503, 1, key, False, None),
        ("POST", "/billing/customers", 201, 2, key, True, None),
        ("GET", "/billing/customers/UCR1", 200, 1, None, False, None),
    ]
    assert all(r.latency_ms >= 0 for r in records)
    assert all(r.at.tzinfo is dt.UTC for r in records)
    assert log.latest(1) == [records[2]]
    for record in records:
        assert KEY not in repr(record)


async def test_replayed_flag_on_the_response(make: Any) -> None:
    server = Server(reply(201, CUSTOMER, headers={"Idempotent-Replayed": "True"}))
    client, _ = make(server)
    response = await client.request("POST", "/billing/customers", json={"x": 1})
    assert response.replayed is True
    assert response.status == 201
    assert response.body == CUSTOMER


def test_request_log_is_bounded() -> None:
    log = RequestLog(maxlen=2)
    for attempt in (1, 2, 3):
        log.add(
            client_module.RequestRecord(
                at=dt.datetime.now(dt.UTC),
                method="GET",
                path="/x",
                status=200,
                latency_ms=1.0,
                attempt=attempt,
            )
        )
    assert [r.attempt for r in log] == [2, 3]
    assert len(log) == 2


def record_at(attempt: int) -> RequestRecord:
    return RequestRecord(
        at=dt.datetime.now(dt.UTC),
        method="GET",
        path="/x",
        status=200,
        latency_ms=1.0,
        attempt=attempt,
    )


def assert_no_key_in(record: RequestRecord) -> None:
    """Neither the key nor any run of 12 of its characters, in the repr or a JSON dump."""
    texts = [
        repr(record),
        json.dumps(dataclasses.asdict(record), default=str),
        json.dumps(dataclasses.asdict(record), default=str, ensure_ascii=False),
    ]
    for text in texts:
        for start in range(len(KEY) - 12 + 1):
            assert KEY[start : start + 12] not in text


async def test_request_log_keeps_query_bodies_and_problem(make: Any) -> None:
    server = Server(
        reply(200, {"data": []}),
        reply(201, CUSTOMER),
        problem(422, "Unprocessable", "balance must not be negative"),
    )
    client, _ = make(server, retry=RetryPolicy(max_attempts=1))
    await client.request("GET", "/billing/customers", params={"limit": "2", "name": "a b"})
    await client.create_customer(CustomerCreate(external_reference="UCR1", name="Thandi"))
    with pytest.raises(Unprocessable):
        await client.update_customer("UCR1", CustomerUpdate(balance=-1, currency="ZAR"))
    listing, created, refused = client.request_log
    assert (listing.params, listing.request_body) == ({"limit": "2", "name": "a b"}, None)
    assert (listing.response_body, listing.problem) == ({"data": []}, None)
    assert created.params == {}
    assert created.request_body == {"external_reference": "UCR1", "name": "Thandi"}
    assert (created.response_body, created.problem) == (CUSTOMER, None)
    assert refused.status == 422
    assert refused.request_body == {"balance": -1, "currency": "ZAR"}
    assert refused.response_body["detail"] == "balance must not be negative"
    assert refused.problem == "balance must not be negative"
    hash(refused)  # dict fields take no part in the hash


@pytest.mark.parametrize(
    ("answer", "problem_text"),
    [
        (reply(400, {"title": "Bad request"}), "Bad request"),  # no detail: the title
        (reply(503, text="down for maintenance"), "down for maintenance"),
        (reply(500), "Internal Server Error"),  # no body: the reason phrase
    ],
)
async def test_the_problem_of_an_error_without_detail(
    make: Any, answer: Answer, problem_text: str
) -> None:
    client, _ = make(Server(answer), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ApiError):
        await client.get_customer("UCR1")
    [record] = client.request_log
    assert record.problem == problem_text


ESCAPED_KEY = "".join(f"\\u{ord(c):04x}" for c in KEY)


@pytest.mark.parametrize("status", [200, 401])
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(json.dumps({"detail": f"key {KEY}", KEY: [KEY[:-2]]}).encode(), id="json"),
        pytest.param(f'{{"detail": "key {ESCAPED_KEY}", "x": ["{ESCAPED_KEY}"]}}'.encode(),
                     id="escaped"),
        pytest.param(f"Bearer {KEY} refused".encode(), id="text"),
    ],
)  # fmt: skip
async def test_a_key_echoed_in_a_body_is_in_no_record(make: Any, raw: bytes, status: int) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=raw, headers={"content-type": "application/json"})

    client, _ = make(Server(echo), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(Unauthorized) if status == 401 else contextlib.nullcontext():
        await client.request("POST", "/billing/customers", json={"note": KEY}, params={"q": KEY})
    [record] = client.request_log
    assert "sk_test_…7dc" in repr(record.response_body)
    assert record.request_body == {"note": "sk_test_…7dc"}
    assert record.params == {"q": "sk_test_…7dc"}
    if status == 401:
        assert record.problem is not None
        assert "sk_test_…7dc" in record.problem
    assert_no_key_in(record)


async def test_a_huge_body_is_cut_with_a_note(make: Any) -> None:
    text = "é" + "x" * (BODY_LIMIT + 10)  # the cut falls after a two-byte character
    client, _ = make(Server(reply(200, text=text)))
    await client.request("GET", "/export")
    [record] = client.request_log
    size = len(text.encode())
    assert (
        record.response_body
        == f"{text.encode()[:BODY_LIMIT].decode()}\n… (cut: {size} bytes in all)"
    )


async def test_a_huge_json_body_is_cut_without_the_key_in_any_spelling(make: Any) -> None:
    """A cut JSON body is no longer JSON to decode: a key in \\u escapes is masked anyway."""
    raw = f'{{"detail": "{ESCAPED_KEY}", "pad": "{"x" * BODY_LIMIT}"}}'.encode()
    answer = httpx.Response(200, content=raw, headers={"content-type": "application/json"})
    client, _ = make(Server(lambda request: answer))
    response = await client.request("GET", "/export")
    assert response.body["detail"] == KEY  # the caller's data is not scrubbed
    [record] = client.request_log
    assert isinstance(record.response_body, str)
    assert record.response_body.startswith('{"detail": "sk_test_…7dc", "pad": "xxx')
    assert record.response_body.endswith(f"x\n… (cut: {len(raw)} bytes in all)")
    assert len(record.response_body.encode()) < BODY_LIMIT + 100
    assert_no_key_in(record)


async def test_subscribers_hear_of_each_record_until_they_unsubscribe(make: Any) -> None:
    server = Server(problem(503, "Unavailable"), reply(201, CUSTOMER))
    client, _ = make(server)
    heard: list[RequestRecord] = []
    stopped: list[RequestRecord] = []
    client.request_log.subscribe(heard.append)
    stop = client.request_log.subscribe(stopped.append)
    await client.create_customer(CustomerCreate(external_reference="UCR1"))
    stop()
    stop()  # a second call is harmless
    await client.get_customer("UCR1")
    assert heard == list(client.request_log)
    assert [r.status for r in heard] == [503, 201, 201]
    assert stopped == heard[:2]


async def test_a_failing_subscriber_does_not_fail_the_request(make: Any) -> None:
    client, _ = make(Server(reply(200, CUSTOMER)))
    heard: list[RequestRecord] = []

    def broken(record: RequestRecord) -> None:
        raise RuntimeError("the view is gone")

    client.request_log.subscribe(broken)
    client.request_log.subscribe(heard.append)
    assert (await client.get_customer("UCR1")).name == "Thandi"
    assert heard == list(client.request_log)
    assert len(heard) == 1


def test_subscribers_and_the_bound_together() -> None:
    log = RequestLog(maxlen=2)
    heard: list[int] = []
    log.subscribe(lambda record: heard.append(record.attempt))
    for attempt in (1, 2, 3):
        log.add(record_at(attempt))
    assert heard == [1, 2, 3]  # every record is told, even one the bound drops later
    assert [r.attempt for r in log] == [2, 3]


# --- probe ----------------------------------------------------------------------------


async def test_probe_404_means_connected(make: Any) -> None:
    server = Server(problem(404, "Not found"))
    client, _ = make(server)
    probe = await client.probe()
    assert probe.ok is True
    assert probe.summary == "connected"
    assert probe.latency_ms >= 0
    assert server.requests[0].url.raw_path == f"/billing/customers/{PROBE_REFERENCE}".encode()
    assert server.requests[0].method == "GET"


async def test_probe_200_is_connected_too(make: Any) -> None:
    client, _ = make(Server(reply(200, CUSTOMER)))
    assert (await client.probe()).ok is True


@pytest.mark.parametrize(
    ("answer", "summary"),
    [
        (problem(401, "Unauthorized", "Invalid API key"), "key refused: Invalid API key"),
        (reply(401), "key refused: Unauthorized"),
        (problem(403, "Forbidden", "Key expired"), "key refused: Key expired"),
    ],
)
async def test_probe_key_refused(make: Any, answer: Answer, summary: str) -> None:
    client, _ = make(Server(answer))
    probe = await client.probe()
    assert probe.ok is False
    assert probe.summary == summary
    assert KEY not in probe.summary


async def test_probe_unreachable(make: Any) -> None:
    client, sleep = make(Server(fail(httpx.ConnectError("Name or service not known"))))
    probe = await client.probe()
    assert probe.ok is False
    # Why, without the made-up request that asked (the panel has little room).
    assert probe.summary == "ConnectError: Name or service not known"
    assert len(sleep.delays) == 3


async def test_probe_server_error_keeps_the_servers_words(make: Any) -> None:
    client, _ = make(Server(problem(500, "Internal error", "database down")))
    probe = await client.probe()
    assert probe.ok is False
    assert PROBE_REFERENCE not in probe.summary
    assert "database down" in probe.summary


# --- the key stays secret -------------------------------------------------------------


async def test_repr_masks_the_key(make: Any) -> None:
    client, _ = make(Server(reply(200, CUSTOMER)))
    assert repr(client) == "MomentClient(base_url='https://api.test', api_key='sk_test_…7dc')"
    assert KEY not in repr(client)
    assert KEY not in str(client)


async def test_context_manager_closes_the_client() -> None:
    server = Server(reply(200, CUSTOMER))
    async with MomentClient(KEY, base_url=BASE, transport=httpx.MockTransport(server)) as client:
        await client.get_customer("UCR1")
    with pytest.raises(RuntimeError, match="client has been closed"):
        await client.get_customer("UCR1")


@pytest.mark.parametrize("as_json", [True, False])
async def test_a_server_that_echoes_the_key_back_never_puts_it_in_an_error(
    make: Any, as_json: bool
) -> None:
    echoed = f"bad key Bearer {KEY}"

    def echo(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"  # it was sent
        if as_json:
            body = {"title": "Unauthorized", "detail": echoed, "seen": {"key": KEY}}
            return httpx.Response(401, json=body)
        return httpx.Response(401, text=echoed)

    client, _ = make(Server(echo))
    with pytest.raises(Unauthorized) as caught:
        await client.get_customer("bcus_x")
    assert caught.value.detail == "bad key Bearer sk_test_…7dc"
    if as_json:
        assert caught.value.problem.extensions == {"seen": {"key": "sk_test_…7dc"}}
    assert_no_key(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        # JSON may spell the key in \u escapes: it is masked once decoded, too.
        pytest.param(
            b'{"title": "Unauthorized", "detail": "key '
            + "".join(f"\\u{ord(c):04x}" for c in KEY).encode()
            + b' refused"}',
            id="escaped",
        ),
        # A server that echoes the key cut short still gives most of it away.
        pytest.param(
            json.dumps({"title": "Unauthorized", "detail": f"key {KEY[:-3]} refused"}).encode(),
            id="cut-short",
        ),
        pytest.param(
            json.dumps({"title": "Unauthorized", "detail": f"key …{KEY[10:]} refused"}).encode(),
            id="its-tail",
        ),
    ],
)
async def test_an_echo_of_the_key_in_any_spelling_is_masked(make: Any, raw: bytes) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=raw, headers={"content-type": "application/json"})

    client, _ = make(Server(echo))
    with pytest.raises(Unauthorized) as caught:
        await client.get_customer("bcus_x")
    assert caught.value.detail is not None
    assert caught.value.detail.startswith("key ")
    assert "sk_test_…7dc" in caught.value.detail
    assert_no_key(caught.value)
    for size in range(12, len(KEY) + 1):  # no run of 12 of the key's characters is left
        for start in range(len(KEY) - size + 1):
            assert KEY[start : start + size] not in str(caught.value)


async def test_a_long_key_is_masked_everywhere_it_is_echoed() -> None:
    """The scrubber makes one pass over the text (a naive search for every run of the
    key was quadratic in its length): a 1,000-character key echoed whole and in part."""
    long_key = "sk_test_" + "".join(random.Random(7).choices("abcdefghXYZ0123456789", k=992))
    client = MomentClient(long_key, base_url=BASE, transport=httpx.MockTransport(
        lambda request: httpx.Response(
            401,
            json={"title": "Unauthorized", "detail": f"{long_key} / {long_key[100:400]} / ok"},
        )
    ))  # fmt: skip
    try:
        with pytest.raises(Unauthorized) as caught:
            await client.get_customer("bcus_x")
    finally:
        await client.aclose()
    assert caught.value.detail == f"{mask(long_key)} / {mask(long_key)} / ok"
