"""Queries (ui/queries.py) over real runtimes: the embedded, seeded sandbox, and a
keyed runtime whose API is a second sandbox started on its own (standing in for
Moment: its catalogue starts empty, so everything it knows comes from the API).

Nothing here sleeps to wait: reads are awaited, and what must not have finished yet
is checked after giving the loop its turns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from moment_tui.api.errors import NotFound, TransportError
from moment_tui.api.models import Account, Bill, Customer, ObjectKind
from moment_tui.config import Settings
from moment_tui.runtime import Runtime, RuntimeOptions
from moment_tui.sandbox.server import SandboxConfig, SandboxThread
from moment_tui.secrets import Secret
from moment_tui.ui.queries import NotFoundAnywhere, Queries, Unavailable
from tests.integration.conftest import NO_RETRY, make_client, post, ref

SEED_TODAY = dt.date(2026, 11, 1)
TEST_KEY = "sk_test_queries4eC39HqLyjWDarjt"
WAIT = 20.0  # a deadline for each await, not a sleep


def nothing(_: Any) -> None:
    return None


async def within(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, WAIT)


def paths(runtime: Runtime, since: int = 0) -> list[str]:
    """The paths the runtime's client asked for, after the first ``since`` calls."""
    assert runtime.request_log is not None
    return [r.path for r in list(runtime.request_log)[since:]]


def calls(runtime: Runtime) -> int:
    assert runtime.request_log is not None
    return len(runtime.request_log)


# --- runtimes ---------------------------------------------------------------------------------


@pytest.fixture
async def sandboxed(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Queries]]:
    """The console's own runtime: no key, the embedded sandbox seeded for SEED_TODAY,
    its listing copied into the catalogue."""
    settings = Settings(config_dir=tmp_path, data_dir=tmp_path)
    options = RuntimeOptions(
        listener_port=0,
        seed_today=SEED_TODAY,
        sandbox_db=tmp_path / "sandbox.sqlite3",
        workspace=tmp_path / "ws.sqlite3",
        payment_rng=random.Random(7),
    )
    runtime = Runtime(settings, options)
    try:
        started = await within(runtime.start(on_delivery=nothing, on_application=nothing))
        assert started.problems == []
        connected = await within(runtime.connect())
        assert connected.probe is not None
        assert connected.probe.ok
        assert connected.synced > 0
        queries = Queries(runtime, today=lambda: SEED_TODAY)
        queries.opened()
        yield runtime, queries
    finally:
        await runtime.close()


@pytest.fixture
def api_url() -> Iterator[str]:
    """A second sandbox, started separately: "the real API" for a keyed runtime."""
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    yield url
    thread.stop()


@pytest.fixture
def down_url() -> str:
    """Where an API was a moment ago: nothing answers there now."""
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    thread.stop()
    return url


def keyed_runtime(tmp_path: Path, url: str) -> Runtime:
    settings = Settings(
        api_key=Secret(TEST_KEY), api_url=url, config_dir=tmp_path, data_dir=tmp_path
    )
    assert settings.mode == "test"
    options = RuntimeOptions(
        listener_port=0,
        workspace=tmp_path / "keyed.sqlite3",
        sandbox_db=tmp_path / "unused-sandbox.sqlite3",
        retry=NO_RETRY,
    )
    return Runtime(settings, options)


async def open_keyed(tmp_path: Path, url: str) -> tuple[Runtime, Queries]:
    runtime = keyed_runtime(tmp_path, url)
    try:
        await within(runtime.start(on_delivery=nothing, on_application=nothing))
    except BaseException:
        await runtime.close()
        raise
    assert runtime.sandbox is None  # no embedded sandbox: the API is the other one
    queries = Queries(runtime, today=lambda: SEED_TODAY)
    queries.opened()
    return runtime, queries


@pytest.fixture
async def keyed(tmp_path: Path, api_url: str) -> AsyncIterator[tuple[Runtime, Queries]]:
    runtime, queries = await open_keyed(tmp_path, api_url)
    try:
        yield runtime, queries
    finally:
        await runtime.close()


# --- Go to on the embedded sandbox -------------------------------------------------------------


async def first_of_each(queries: Queries) -> tuple[Any, Any, Any]:
    """A seeded bill held by an account, that account, and its customer (catalogue rows)."""
    bill_ids = await within(queries.bill_ids(queries.filter(), None))
    rows = await within(queries.bill_rows(bill_ids))
    bill = next(rows[i] for i in bill_ids if rows[i].account_id is not None)
    account = (await within(queries.account_rows([bill.account_id])))[bill.account_id]
    customer = (await within(queries.customer_rows([bill.customer_id])))[bill.customer_id]
    return customer, account, bill


async def test_resolve_by_id_and_by_reference_of_each_kind(
    sandboxed: tuple[Runtime, Queries],
) -> None:
    runtime, queries = sandboxed
    customer, account, bill = await first_of_each(queries)
    before = calls(runtime)
    for row, model in ((customer, Customer), (account, Account), (bill, Bill)):
        for typed in (row.id, row.external_reference, f"  {row.external_reference}\t"):
            found = await within(queries.resolve(typed))
            assert isinstance(found.entry.obj, model), typed
            assert found.entry.obj.id == row.id
            assert found.entry.obj.external_reference == row.external_reference
            assert found.fetched is False
            assert found.entry.source == "listed"
    assert calls(runtime) == before  # all from the catalogue: the API was not asked


async def test_an_object_only_the_api_knows_is_fetched_then_kept(
    sandboxed: tuple[Runtime, Queries],
) -> None:
    runtime, queries = sandboxed
    assert runtime.client is not None
    customer_ref, account_ref, bill_ref = ref("CUS"), ref("ACC"), ref("INV")
    created = (
        await within(
            post(
                runtime.client,
                "/billing/customers",
                {"external_reference": customer_ref, "name": "Naledi Queries"},
            )
        )
    ).body
    account = (
        await within(
            post(
                runtime.client,
                "/billing/accounts",
                {"external_reference": account_ref, "customer": created["id"], "name": "Fibre"},
            )
        )
    ).body
    bill = (
        await within(
            post(
                runtime.client,
                "/billing/bills",
                {
                    "external_reference": bill_ref,
                    "currency": "ZAR",
                    "amount_due": 12345,
                    "account": account["id"],
                    "due_date": "2026-12-01",
                },
            )
        )
    ).body
    for kind, typed in (("customer", customer_ref), ("account", account_ref), ("bill", bill_ref)):
        assert await within(queries.entry(kind, typed)) is None  # type: ignore[arg-type]

    before = calls(runtime)
    found = await within(queries.resolve(account_ref))
    assert (found.fetched, found.entry.obj.id, found.entry.source) == (
        True,
        account["id"],
        "looked_up",
    )
    # The API was asked customer first; the reference named no customer.
    assert paths(runtime, before) == [
        f"/billing/customers/{account_ref}",
        f"/billing/accounts/{account_ref}",
    ]
    kept = await within(queries.entry("account", account_ref))
    assert kept is not None
    assert kept.obj.id == account["id"]
    again = await within(queries.resolve(account_ref))
    assert (again.fetched, again.entry.obj.id) == (False, account["id"])

    # By id: only that kind is asked for.
    before = calls(runtime)
    by_id = await within(queries.resolve(bill["id"]))
    assert (by_id.fetched, by_id.entry.obj.external_reference) == (True, bill_ref)
    assert by_id.entry.obj.amount_due == 12345
    assert paths(runtime, before) == [f"/billing/bills/{bill['id']}"]
    assert (await within(queries.entry("bill", bill_ref))) is not None

    fetched_customer = await within(queries.resolve(customer_ref))
    assert (fetched_customer.fetched, fetched_customer.entry.obj.name) == (True, "Naledi Queries")
    # Now lists find them too.
    assert await within(queries.customer_ids(queries.filter(text="Naledi Queries"), None)) == [
        created["id"]
    ]


async def test_what_nobody_knows_is_not_found_anywhere(sandboxed: tuple[Runtime, Queries]) -> None:
    runtime, queries = sandboxed
    unknown = ref("NOPE")
    before = calls(runtime)
    with pytest.raises(NotFoundAnywhere) as caught:
        await within(queries.resolve(unknown))
    assert "no customer, account or bill" in str(caught.value)
    assert unknown in str(caught.value)
    assert paths(runtime, before) == [
        f"/billing/customers/{unknown}",
        f"/billing/accounts/{unknown}",
        f"/billing/bills/{unknown}",
    ]
    assert await within(queries.entry("customer", unknown)) is None  # nothing was kept

    with pytest.raises(NotFoundAnywhere, match=r"no bill with the id 'bill_NoSuchBill0001'"):
        await within(queries.resolve("bill_NoSuchBill0001"))

    before = calls(runtime)
    for typed in ("", "   ", "two words", "INV/1", "x" * 256, "naïve"):
        with pytest.raises(NotFoundAnywhere, match="not an id or external reference"):
            await within(queries.resolve(typed))
    assert calls(runtime) == before  # nothing that cannot be a reference is sent


async def test_fetch_ensure_and_refetch(sandboxed: tuple[Runtime, Queries]) -> None:
    runtime, queries = sandboxed
    customer, _account, bill = await first_of_each(queries)

    before = calls(runtime)
    known = await within(queries.ensure("bill", bill.id))
    assert known is not None
    assert known.source == "listed"
    assert calls(runtime) == before  # the catalogue had it
    assert await within(queries.ensure("bill", "bill_NoSuchBill0002")) is None

    fetched = await within(queries.fetch("customer", customer.external_reference))
    assert (fetched.obj.id, fetched.source) == (customer.id, "looked_up")

    assert await within(queries.refetch([])) == 0
    both: list[tuple[ObjectKind, str]] = [("customer", customer.id), ("bill", bill.id)]
    before = calls(runtime)
    assert await within(queries.refetch(both)) == 2
    assert sorted(paths(runtime, before)) == sorted(
        [f"/billing/customers/{customer.id}", f"/billing/bills/{bill.id}"]
    )
    assert (await within(queries.entry("bill", bill.id))).source == "looked_up"
    one_missing: list[tuple[ObjectKind, str]] = [("bill", bill.id), ("bill", "bill_NoSuchBill0003")]
    assert await within(queries.refetch(one_missing)) == 1
    with pytest.raises(NotFound):
        await within(queries.refetch([("account", "bacc_NoSuchAccount1")]))


async def test_names_label_what_the_catalogue_knows(sandboxed: tuple[Runtime, Queries]) -> None:
    runtime, queries = sandboxed
    assert runtime.client is not None
    customer, account, bill = await first_of_each(queries)
    nameless_ref = ref("ANON")
    nameless = (
        await within(
            post(runtime.client, "/billing/customers", {"external_reference": nameless_ref})
        )
    ).body
    await within(queries.fetch("customer", nameless["id"]))
    labels = await within(
        queries.names(
            [customer.id, account.id, bill.id, nameless["id"], "bcus_NoSuchOne", "UCR100001"]
        )
    )
    assert labels == {
        customer.id: customer.name,
        account.id: account.name or account.external_reference,
        bill.id: bill.external_reference,
        nameless["id"]: nameless_ref,  # no name: its reference
    }
    assert account.name  # the seeded accounts are named: the label is the name
    assert await within(queries.names([])) == {}


async def test_lists_and_totals_through_the_queries(sandboxed: tuple[Runtime, Queries]) -> None:
    _runtime, queries = sandboxed
    every = await within(queries.bill_ids(queries.filter(), None))
    rows = await within(queries.bill_rows(every))
    assert len(rows) == len(every) == (await within(queries.counts()))["bill"]
    overdue = await within(queries.bill_ids(queries.filter(status="overdue"), None))
    assert overdue  # the seed has overdue bills on SEED_TODAY
    assert set(overdue) == {i for i, row in rows.items() if row.overdue_on(SEED_TODAY)}
    glance = await within(queries.glance())
    unpaid = [row for row in rows.values() if row.status == "unpaid"]
    assert glance.outstanding == {"ZAR": sum(row.amount_remaining for row in unpaid)}
    assert sum(n for n, _ in glance.aging["ZAR"]) == len(unpaid)
    # A customer's detail shows its bills.
    customer_id = unpaid[0].customer_id
    related = await within(queries.related("customer", customer_id))
    assert {b.id for b in related.bills} == {
        i for i, row in rows.items() if row.customer_id == customer_id
    }


# --- Go to against "the real API": a keyed runtime over a second sandbox ------------------------


async def test_against_the_api_each_kind_is_fetched_then_kept(
    keyed: tuple[Runtime, Queries], api_url: str
) -> None:
    runtime, queries = keyed
    counts = await within(queries.counts())
    assert (counts["customer"], counts["account"], counts["bill"]) == (0, 0, 0)
    shared = ref("SHARED")
    async with make_client(api_url) as moment:
        customer = (
            await post(
                moment, "/billing/customers", {"external_reference": ref("C"), "name": "Ann"}
            )
        ).body
        account = (
            await post(
                moment,
                "/billing/accounts",
                {"external_reference": ref("A"), "customer": customer["id"]},
            )
        ).body
        bill = (
            await post(
                moment,
                "/billing/bills",
                {
                    "external_reference": ref("B"),
                    "currency": "ZAR",
                    "amount_due": 5000,
                    "account": account["id"],
                },
            )
        ).body
        other_bill = (
            await post(
                moment,
                "/billing/bills",
                {
                    "external_reference": ref("B2"),
                    "currency": "USD",
                    "amount_due": 700,
                    "customer": customer["id"],
                },
            )
        ).body
        # One reference, two kinds: a customer's and a bill's.
        shared_customer = (
            await post(moment, "/billing/customers", {"external_reference": shared, "name": "Bo"})
        ).body
        await post(
            moment,
            "/billing/bills",
            {
                "external_reference": shared,
                "currency": "ZAR",
                "amount_due": 100,
                "customer": customer["id"],
            },
        )

    for kind, obj in (("customer", customer), ("account", account), ("bill", bill)):
        found = await within(queries.resolve(obj["external_reference"]))
        assert (found.fetched, found.entry.obj.id) == (True, obj["id"]), kind
        assert kind == found.entry.obj.KIND
        assert found.entry.source == "looked_up"
        kept = await within(queries.entry(kind, obj["external_reference"]))  # type: ignore[arg-type]
        assert kept is not None
        assert kept.obj.id == obj["id"]
        again = await within(queries.resolve(obj["external_reference"]))
        assert again.fetched is False

    before = calls(runtime)
    by_id = await within(queries.resolve(other_bill["id"]))
    assert (by_id.fetched, by_id.entry.obj.currency) == (True, "USD")
    assert paths(runtime, before) == [f"/billing/bills/{other_bill['id']}"]

    first = await within(queries.resolve(shared))
    assert (first.entry.obj.KIND, first.entry.obj.id) == ("customer", shared_customer["id"])

    with pytest.raises(NotFoundAnywhere):
        await within(queries.resolve(ref("NOBODY")))
    counts = await within(queries.counts())
    assert (counts["customer"], counts["account"], counts["bill"]) == (2, 1, 2)
    labels = await within(queries.names([customer["id"], account["id"], bill["id"]]))
    assert labels == {
        customer["id"]: "Ann",
        account["id"]: account["external_reference"],  # no name: its reference
        bill["id"]: bill["external_reference"],
    }


async def test_with_the_api_down_it_says_so_rather_than_not_found(
    tmp_path: Path, down_url: str
) -> None:
    runtime, queries = await open_keyed(tmp_path, down_url)
    try:
        assert runtime.workspace is not None
        known = Customer(id="bcus_KnownHere1", external_reference="KNOWN-1", name="Known")
        await within(runtime.workspace.remember([known], "imported"))
        found = await within(queries.resolve("KNOWN-1"))  # the catalogue answers first
        assert (found.fetched, found.entry.obj.id) == (False, "bcus_KnownHere1")

        before = calls(runtime)
        with pytest.raises(TransportError):
            await within(queries.resolve("UNKNOWN-1"))
        # One failure is enough: the API is not asked for the other kinds.
        assert paths(runtime, before) == ["/billing/customers/UNKNOWN-1"]
        with pytest.raises(TransportError):
            await within(queries.resolve("bill_NotKnownHere1"))
        assert await within(queries.ensure("bill", "bill_NotKnownHere1")) is None
        with pytest.raises(TransportError):
            await within(queries.refetch([("customer", "bcus_KnownHere1")]))
    finally:
        await runtime.close()


async def test_a_reference_that_starts_like_an_id_is_tried_as_every_kind(
    keyed: tuple[Runtime, Queries], api_url: str
) -> None:
    _runtime, queries = keyed
    account_ref = "bill_to-" + ref("ACME")  # not id-shaped: it has '-'
    async with make_client(api_url) as moment:
        customer = (await post(moment, "/billing/customers", {"external_reference": ref("C")})).body
        account = (
            await post(
                moment,
                "/billing/accounts",
                {"external_reference": account_ref, "customer": customer["id"]},
            )
        ).body
    found = await within(queries.resolve(account_ref))
    assert (found.entry.obj.KIND, found.entry.obj.id) == ("account", account["id"])


# --- readiness ----------------------------------------------------------------------------------


async def let_the_loop_run(turns: int = 20) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_reads_wait_for_the_runtime_to_open(tmp_path: Path, api_url: str) -> None:
    runtime = keyed_runtime(tmp_path, api_url)
    queries = Queries(runtime, today=lambda: SEED_TODAY)
    try:
        waiting = asyncio.create_task(queries.counts())
        await let_the_loop_run()
        assert not waiting.done()
        assert not queries.is_open
        await within(runtime.start(on_delivery=nothing, on_application=nothing))
        await let_the_loop_run()
        assert not waiting.done()  # started, but not yet said to be open
        queries.opened()
        counts = await within(waiting)
        assert counts["customer"] == 0
        assert queries.is_open
    finally:
        await runtime.close()


async def test_a_failed_start_makes_every_read_unavailable(tmp_path: Path) -> None:
    runtime = keyed_runtime(tmp_path, "http://127.0.0.1:9")  # never started
    queries = Queries(runtime)
    waiting = asyncio.create_task(queries.bill_ids(queries.filter(), None))
    await let_the_loop_run()
    assert not waiting.done()
    queries.failed("disk I/O error")
    with pytest.raises(Unavailable, match=r"^disk I/O error$"):
        await within(waiting)
    for read in (
        queries.resolve("UCR100001"),
        queries.names(["bcus_x"]),
        queries.glance(),
        queries.entry("bill", "bill_x"),
        queries.fetch("bill", "bill_x"),
        queries.related("customer", "bcus_x"),
    ):
        with pytest.raises(Unavailable, match="disk I/O error"):
            await within(read)
    assert not queries.is_open


async def test_opened_without_a_workspace_is_unavailable_too(tmp_path: Path) -> None:
    queries = Queries(keyed_runtime(tmp_path, "http://127.0.0.1:9"))
    queries.opened()
    with pytest.raises(Unavailable, match="the workspace is not open"):
        await within(queries.counts())


async def test_without_an_api_lookups_are_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox did not start: the workspace is open, but there is no API to ask."""

    def fail(self: SandboxThread, timeout: float = 15.0) -> str:
        raise TimeoutError("the sandbox did not answer in time")

    monkeypatch.setattr(SandboxThread, "start", fail)
    runtime = Runtime(
        Settings(config_dir=tmp_path, data_dir=tmp_path),
        RuntimeOptions(listener_port=0, workspace=tmp_path / "ws.sqlite3"),
    )
    try:
        started = await within(runtime.start(on_delivery=nothing, on_application=nothing))
        assert started.problems
        assert runtime.client is None
        queries = Queries(runtime)
        queries.opened()
        assert queries.is_open
        assert (await within(queries.counts()))["bill"] == 0  # reads still work
        with pytest.raises(Unavailable, match="no API to ask"):
            await within(queries.resolve("UCR100001"))
        assert await within(queries.ensure("customer", "UCR100001")) is None
    finally:
        await runtime.close()
