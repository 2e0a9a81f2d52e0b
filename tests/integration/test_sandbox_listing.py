"""``GET /billing/{customers,accounts,bills}``: cursor pagination and filters.

A fresh sandbox of its own (the shared one holds other tests' objects), filled once:
57 customers; accounts and bills on the first two.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import BadRequest
from moment_tui.api.models import ObjectKind
from moment_tui.sandbox import listing
from moment_tui.sandbox.problems import Problem
from moment_tui.sandbox.server import SandboxConfig, SandboxThread
from tests.integration.conftest import API_KEY, make_client, new_key

CUSTOMERS = 57


def _cursor(value: Any) -> str:
    """A cursor in the server's encoding, holding whatever the test wants."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Listed:
    url: str
    customers: list[str]  # ids in creation order
    accounts: dict[str, list[str]]  # customer id -> account ids
    bills: dict[str, list[str]]  # bill ids by "account:<id>" / "direct:<customer id>"
    statuses: dict[str, str]  # bill id -> status


@pytest.fixture(scope="module")
def listed() -> Iterator[Listed]:
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10.0) as http:

            def make(path: str, body: dict[str, Any]) -> str:
                answer = http.post(path, json=body, headers={"Idempotency-Key": new_key()})
                assert answer.status_code == 201, answer.text
                return str(answer.json()["id"])

            customers = [
                make("/billing/customers", {"external_reference": f"list-cus-{n:03d}"})
                for n in range(CUSTOMERS)
            ]
            first, second = customers[0], customers[1]
            accounts = {
                first: [
                    make(
                        "/billing/accounts",
                        {"customer": first, "external_reference": f"list-acc-0-{n}"},
                    )
                    for n in range(3)
                ],
                second: [
                    make(
                        "/billing/accounts",
                        {"customer": "list-cus-001", "external_reference": f"list-acc-1-{n}"},
                    )
                    for n in range(2)
                ],
            }
            bills: dict[str, list[str]] = {}
            groups = [
                (f"account:{accounts[first][0]}", {"account": accounts[first][0]}, 12),
                (f"direct:{second}", {"customer": second}, 8),
                (f"account:{accounts[second][1]}", {"account": accounts[second][1]}, 5),
            ]
            number = 0
            for name, owner, count in groups:
                bills[name] = []
                for _ in range(count):
                    body = {
                        "external_reference": f"list-bill-{number:03d}",
                        "currency": "ZAR",
                        "amount_due": 1000 + number,
                        **owner,
                    }
                    bills[name].append(make("/billing/bills", body))
                    number += 1
            statuses = {bill: "unpaid" for group in bills.values() for bill in group}
            every = [bill for group in bills.values() for bill in group]
            for bill in every[::4]:  # 7 paid
                answer = http.patch(
                    f"/billing/bills/{bill}", json={"currency": "ZAR", "amount_paid": 5000}
                )
                assert answer.status_code == 422  # more than due: refused …
                due = http.get(f"/billing/bills/{bill}").json()["amount_due"]
                answer = http.patch(
                    f"/billing/bills/{bill}", json={"currency": "ZAR", "amount_paid": due}
                )
                assert answer.json()["status"] == "paid"
                statuses[bill] = "paid"
            for bill in every[1::6]:  # 4 voided (none of them paid)
                answer = http.post(
                    f"/billing/bills/{bill}/void", headers={"Idempotency-Key": new_key()}
                )
                assert answer.status_code == 200
                statuses[bill] = "voided"
        yield Listed(url, customers, accounts, bills, statuses)
    finally:
        thread.stop()


@pytest.fixture
async def lister(listed: Listed) -> AsyncIterator[MomentClient]:
    async with make_client(listed.url) as client:
        yield client


async def _page(client: MomentClient, path: str, **query: str) -> tuple[list[str], Any]:
    response = await client.request("GET", path, params=query)
    assert response.status == 200
    assert set(response.body) == {"data"}
    return [item["id"] for item in response.body["data"]], response.headers


async def test_walk_forward_to_the_end_then_back(lister: MomentClient, listed: Listed) -> None:
    pages: list[list[str]] = []
    cursors: list[tuple[str | None, str | None]] = []
    cursor: str | None = None
    while True:
        query = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        ids, headers = await _page(lister, "/billing/customers", **query)
        pages.append(ids)
        cursors.append((headers.get("prev-cursor"), headers.get("next-cursor")))
        cursor = headers.get("next-cursor")
        if cursor is None:
            break
        assert len(pages) < 10, "pagination never ended"
    assert [len(p) for p in pages] == [10, 10, 10, 10, 10, 7]
    walked = [i for p in pages for i in p]
    assert walked == listed.customers  # creation order, no duplicates, no gaps
    assert cursors[0][0] is None  # the first page has nothing before it
    assert all(prev for prev, _ in cursors[1:])
    assert all(nxt for _, nxt in cursors[:-1])

    # Back from the last page via Prev-Cursor: the same pages in reverse.
    back: list[list[str]] = [pages[-1]]
    prev = cursors[-1][0]
    while prev is not None:
        ids, headers = await _page(lister, "/billing/customers", limit="10", cursor=prev)
        back.append(ids)
        prev = headers.get("prev-cursor")
        assert headers.get("next-cursor")  # there is always something after a page we came from
    assert back == list(reversed(pages))

    # Forward again from a page reached by going back lands on the following page.
    _, headers = await _page(lister, "/billing/customers", limit="10", cursor=cursors[3][0] or "")
    ids, _ = await _page(lister, "/billing/customers", limit="10", cursor=headers["next-cursor"])
    assert ids == pages[3]


async def test_iterate_visits_every_object_once(lister: MomentClient, listed: Listed) -> None:
    seen = [item.id async for item in lister.iterate("customer", page_size=10)]
    assert seen == listed.customers
    seen = [item.id async for item in lister.iterate("customer", page_size=100)]
    assert seen == listed.customers
    bills = [item.id async for item in lister.iterate("bill", page_size=7)]
    assert sorted(bills) == sorted(b for group in listed.bills.values() for b in group)
    assert len(set(bills)) == 25


async def test_limit_default_max_and_exact_fit(lister: MomentClient, listed: Listed) -> None:
    ids, headers = await _page(lister, "/billing/customers")
    assert ids == listed.customers[:20]  # default 20
    assert headers["next-cursor"]
    assert "prev-cursor" not in headers
    ids, headers = await _page(lister, "/billing/customers", limit="100")
    assert ids == listed.customers
    assert "next-cursor" not in headers
    assert "prev-cursor" not in headers
    ids, headers = await _page(lister, "/billing/customers", limit="57")
    assert len(ids) == 57
    assert "next-cursor" not in headers
    ids, headers = await _page(lister, "/billing/customers", limit="1")
    assert ids == listed.customers[:1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "²"}, "limit"),  # str.isdigit() says yes; int() says no
        ({"limit": "٣"}, "limit"),  # an Arabic-Indic three: ASCII digits only
        pytest.param({"limit": "1" * 5000}, "limit", id="limit-5000-digits"),  # > int() takes
        ({"cursor": "not-a-cursor!"}, "cursor"),
        # seq beyond SQLite's signed 64-bit INTEGER
        ({"cursor": _cursor({"d": "after", "s": 10**30})}, "cursor"),
        ({"cursor": _cursor({"d": "before", "s": 2**63})}, "cursor"),
        ({"cursor": _cursor({"d": "after", "s": True})}, "cursor"),
        ({"cursor": _cursor({"d": "after", "s": 1.5})}, "cursor"),
        pytest.param(
            {"cursor": base64.urlsafe_b64encode(b"[" * 3000 + b"]" * 3000).decode()},
            "cursor",
            id="cursor-nested-3000-deep",
        ),
        ({"cursor": base64.urlsafe_b64encode(b'{"d":"sideways","s":3}').decode()}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b'{"d":"after","s":-3}').decode()}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b'{"d":"after","s":"3"}').decode()}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"[1]").decode()}, "cursor"),
        ({"page": "2"}, "page"),
        ({"status": "paid"}, "status"),  # customers have no status filter
        ({"account": "x"}, "account"),
    ],
)
async def test_bad_listing_queries_are_400(
    lister: MomentClient, query: dict[str, str], field: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await lister.request("GET", "/billing/customers", params=query)
    errors = (caught.value.problem.extensions or {})["errors"]
    assert [e["field"] for e in errors] == [field]


async def test_bad_limit_is_400_on_every_listing(lister: MomentClient) -> None:
    for path in ("/billing/customers", "/billing/accounts", "/billing/bills"):
        with pytest.raises(BadRequest) as caught:
            await lister.request("GET", path, params={"limit": "²"})
        assert caught.value.problem.detail == "limit must be a whole number from 1 to 100"


async def test_largest_cursor_seq_is_an_empty_page(lister: MomentClient) -> None:
    """The biggest seq SQLite can hold is a valid position: nothing after it."""
    after = await lister.request(
        "GET", "/billing/customers", params={"cursor": _cursor({"d": "after", "s": 2**63 - 1})}
    )
    assert after.status == 200
    assert after.body == {"data": []}
    before = await lister.request(
        "GET",
        "/billing/customers",
        params={"limit": "2", "cursor": _cursor({"d": "before", "s": 2**63 - 1})},
    )
    assert [c["external_reference"] for c in before.body["data"]] == [
        f"list-cus-{CUSTOMERS - 2:03d}",
        f"list-cus-{CUSTOMERS - 1:03d}",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, 20), ("1", 1), ("100", 100), ("007", 7)],
)
def test_parse_limit_accepts(text: str | None, expected: int) -> None:
    assert listing.parse_limit(text, default=20, maximum=100) == expected


@pytest.mark.parametrize(
    "text",
    ["", "0", "101", "-1", "+5", " 5", "5.0", "²", "٣", pytest.param("1" * 5000, id="5000-digits")],
)
def test_parse_limit_refuses(text: str) -> None:
    with pytest.raises(Problem) as caught:
        listing.parse_limit(text, default=20, maximum=100)
    assert (caught.value.status, caught.value.errors) == (
        400,
        [{"field": "limit", "message": "limit must be a whole number from 1 to 100"}],
    )


async def test_bill_filters(lister: MomentClient, listed: Listed) -> None:
    first, second = listed.customers[0], listed.customers[1]
    on_a0 = listed.bills[f"account:{listed.accounts[first][0]}"]
    direct = listed.bills[f"direct:{second}"]
    on_a1 = listed.bills[f"account:{listed.accounts[second][1]}"]

    async def ids(filters: dict[str, str]) -> list[str]:
        return [b.id async for b in lister.iterate("bill", page_size=5, filters=filters)]

    assert await ids({"customer": first}) == on_a0
    assert await ids({"customer": "list-cus-000"}) == on_a0  # by reference too
    assert (
        await ids({"customer": second}) == direct + on_a1
    )  # a customer's bills include its accounts'
    assert await ids({"account": listed.accounts[second][1]}) == on_a1
    assert await ids({"account": "list-acc-1-1"}) == on_a1
    assert await ids({"account": listed.accounts[first][2]}) == []
    for status in ("paid", "unpaid", "voided"):
        expected = [b for b in on_a0 + direct + on_a1 if listed.statuses[b] == status]
        assert await ids({"status": status}) == expected
        assert expected, status
    both = await ids({"customer": second, "status": "unpaid"})
    assert both == [b for b in direct + on_a1 if listed.statuses[b] == "unpaid"]
    assert await ids({"external_reference_prefix": "list-bill-01"}) == (on_a0 + direct)[10:20]
    assert await ids({"customer": "no-such-customer"}) == []

    with pytest.raises(BadRequest, match="status must be one of"):
        await lister.list_page("bill", filters={"status": "open"})


async def test_filtered_pages_carry_cursors(lister: MomentClient, listed: Listed) -> None:
    second = listed.customers[1]
    expected = (
        listed.bills[f"direct:{second}"] + listed.bills[f"account:{listed.accounts[second][1]}"]
    )
    sizes = []
    page = await lister.list_page("bill", limit=5, filters={"customer": second})
    collected = [b.id for b in page.items]
    sizes.append(len(page.items))
    assert page.prev_cursor is None
    while page.next_cursor:
        page = await lister.list_page(
            "bill", limit=5, cursor=page.next_cursor, filters={"customer": second}
        )
        collected += [b.id for b in page.items]
        sizes.append(len(page.items))
    assert sizes == [5, 5, 3]
    assert collected == expected
    back = await lister.list_page(
        "bill", limit=5, cursor=page.prev_cursor, filters={"customer": second}
    )
    assert [b.id for b in back.items] == expected[5:10]


async def test_account_and_customer_filters(lister: MomentClient, listed: Listed) -> None:
    first = listed.customers[0]

    async def ids(kind: ObjectKind, filters: dict[str, str]) -> list[str]:
        return [o.id async for o in lister.iterate(kind, page_size=2, filters=filters)]

    assert await ids("account", {"customer": first}) == listed.accounts[first]
    assert (
        await ids("account", {"customer": "list-cus-001"}) == listed.accounts[listed.customers[1]]
    )
    assert await ids("account", {"customer": listed.customers[2]}) == []
    assert (
        await ids("account", {"external_reference_prefix": "list-acc-1"})
        == (listed.accounts[listed.customers[1]])
    )
    assert (
        await ids("customer", {"external_reference_prefix": "list-cus-05"})
        == (listed.customers[50:])
    )
    assert (
        await ids("customer", {"external_reference_prefix": "list-cus-0"})
        == (listed.customers[:57])
    )
    assert await ids("customer", {"external_reference_prefix": "LIST"}) == []  # case-sensitive
    assert await ids("customer", {"external_reference_prefix": "list-cus-0010"}) == []


async def test_listed_objects_match_retrieve(lister: MomentClient, listed: Listed) -> None:
    page = await lister.request("GET", "/billing/bills", params={"limit": "3"})
    for item in page.body["data"]:
        single = await lister.request("GET", f"/billing/bills/{item['id']}")
        assert single.body == item


@pytest.mark.parametrize("sparse_below", [1, 1_000_000])
async def test_prefix_listing_is_the_same_whichever_plan(
    lister: MomentClient, listed: Listed, monkeypatch: pytest.MonkeyPatch, sparse_below: int
) -> None:
    """A prefix is listed from the reference index when it matches few rows and by
    walking creation order when it matches many; both give the same pages."""
    monkeypatch.setattr(listing, "_SPARSE_PREFIX", sparse_below)
    forward = [
        c.id
        async for c in lister.iterate(
            "customer", page_size=4, filters={"external_reference_prefix": "list-cus-00"}
        )
    ]
    assert forward == listed.customers[:10]
    page = await lister.list_page(
        "customer", limit=4, filters={"external_reference_prefix": "list-cus-00"}
    )
    page = await lister.list_page(
        "customer",
        limit=4,
        cursor=page.next_cursor,
        filters={"external_reference_prefix": "list-cus-00"},
    )
    assert [c.id for c in page.items] == listed.customers[4:8]
    back = await lister.list_page(
        "customer",
        limit=4,
        cursor=page.prev_cursor,
        filters={"external_reference_prefix": "list-cus-00"},
    )
    assert [c.id for c in back.items] == listed.customers[:4]
    assert back.prev_cursor is None
    bills = [
        b.id
        async for b in lister.iterate(
            "bill",
            page_size=3,
            filters={"external_reference_prefix": "list-bill-00", "status": "unpaid"},
        )
    ]
    every_bill = [b for group in listed.bills.values() for b in group]
    assert bills == [b for b in every_bill[:10] if listed.statuses[b] == "unpaid"]
