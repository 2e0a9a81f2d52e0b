"""Bulk import against a real sandbox (HTTP on loopback) and a real SQLite workspace.

One sandbox serves the module; every test but the fixture-file one writes its own
CSV with fresh references, so tests never see each other's objects. What the
sandbox holds is checked through its listing extension
(``GET /billing/bills?external_reference_prefix=…``), the catalogue through the
workspace's own queries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.api.errors import NotFound
from moment_tui.api.models import Bill, BillCreate, Customer, CustomerCreate, ObjectKind
from moment_tui.sandbox.server import SandboxConfig, SandboxThread
from moment_tui.store import catalogue
from moment_tui.store.bulk import derived_reference, load_bulk
from moment_tui.store.bulk_import import ImportReport, RowResult, import_bulk, import_bulk_file
from moment_tui.store.workspace import Workspace

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "bulk"
    / "za_acme_moment_all-customers_2024-06-01.csv"
)
API_KEY = "sk_test_bulkImport4eC39HqLyjWDarj"
HEADER = (
    "first_name,last_name,sa_identification_number,mobile_phone_number,email,"
    "due_date,amount_due,reference,Branch"
)
THANDI_REF = "CSV-" + hashlib.sha256(b"8001015009087").hexdigest()[:16]
LERATO_REF = derived_reference("9202204720083")
NALEDI_REF = derived_reference("8506150123089")


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def bulk_sandbox() -> Iterator[str]:
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    yield url
    thread.stop()


def new_client(url: str, transport: httpx.AsyncBaseTransport | None = None) -> MomentClient:
    return MomentClient(
        API_KEY,
        base_url=url,
        retry=RetryPolicy(max_attempts=1),
        timeout=10.0,
        transport=transport,
    )


@pytest.fixture
async def moment(bulk_sandbox: str) -> AsyncIterator[MomentClient]:
    async with new_client(bulk_sandbox) as client:
        yield client


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    opened = Workspace(tmp_path / "workspace.sqlite3", durable=False)
    yield opened
    opened.close()


def random_sa_id(rng: random.Random) -> str:
    """A valid South African ID number (date of birth, sequence, Luhn check digit)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20_000))
    first_twelve = f"{born:%y%m%d}{rng.randrange(10_000):04d}08"
    total = 0
    for index, char in enumerate(reversed(first_twelve)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return first_twelve + str((10 - total % 10) % 10)


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


def write_csv(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


async def listed(client: MomentClient, kind: Any, prefix: str) -> list[Any]:
    """Everything the sandbox holds whose external reference starts with ``prefix``."""
    return [
        item async for item in client.iterate(kind, filters={"external_reference_prefix": prefix})
    ]


def statuses(report: ImportReport) -> list[tuple[int, str]]:
    return [(result.line_number, result.status) for result in report.results]


async def catalogued(workspace: Workspace, kind: Any, ref: str) -> catalogue.Entry[Any] | None:
    return await workspace.read(lambda conn: catalogue.get(conn, kind, ref))


# --- the sample file: good rows kept, bad rows reported, re-import is a no-op ---------------


async def test_good_rows_are_created_bad_rows_reported_and_a_reimport_creates_nothing(
    moment: MomentClient, workspace: Workspace
) -> None:
    seen: list[RowResult] = []
    report = await import_bulk_file(FIXTURE, moment, workspace, on_row=seen.append)

    assert statuses(report) == [
        (2, "created"),
        (3, "created"),
        (4, "created"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
        (8, "created"),
        (9, "created"),  # overdue: due before the file's date
        (10, "created"),
    ]
    assert sorted(r.line_number for r in seen) == list(range(2, 11))
    assert report.summary() == "9 rows: 6 imported, 0 already imported, 3 with errors"
    assert report.customers_created == 4
    assert [(e.line_number, e.field) for e in report.errors] == [
        (5, "first_name"),
        (5, "sa_identification_number"),
        (5, "mobile_phone_number"),
        (5, "email"),
        (5, "due_date"),
        (5, "amount_due"),
        (6, "sa_identification_number"),
        (6, "amount_due"),
        (7, "amount_due"),
    ]
    # An overdue row (due 2024-05-15, file of 2024-06-01) is a bill recorded late.
    naledi = await moment.get_bill(f"{NALEDI_REF}-20240515")
    assert (naledi.bill_date, naledi.due_date) == (dt.date(2024, 5, 15), dt.date(2024, 5, 15))

    # In the sandbox: amounts in minor units, the nested customer created once.
    thandi = await moment.get_customer(THANDI_REF)
    assert (thandi.name, thandi.email, thandi.phone) == (
        "Thandi Nkosi",
        "thandi@example.co.za",
        "+27821234567",
    )
    first = await moment.get_bill(f"{THANDI_REF}-20240630")
    assert (first.amount_due, first.currency, first.customer_id) == (24000, "ZAR", thandi.id)
    assert (first.bill_date, first.due_date) == (dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    assert first.metadata == {"Branch": "Sandton"}
    thandi_bills = await listed(moment, "bill", THANDI_REF)
    assert sorted((b.external_reference, b.amount_due) for b in thandi_bills) == [
        (f"{THANDI_REF}-20240630", 24000),
        (f"{THANDI_REF}-20240630-2", 6000),
        (f"{THANDI_REF}-20240731", 24000),
    ]
    assert {b.customer_id for b in thandi_bills} == {thandi.id}
    pieter = await moment.get_bill("ACC-1002-20240630")
    assert pieter.amount_due == 125050
    assert (await moment.get_customer("ACC-1002")).name == "Pieter van der Merwe"
    lerato = await moment.get_bill(f"{LERATO_REF}-20240601-2")
    assert lerato.amount_due == 9999

    # Nothing of the bad rows exists: line 6's customer, line 7's bill.
    absent: list[tuple[ObjectKind, str]] = [
        ("customer", "ACC-1005"),
        ("bill", f"{LERATO_REF}-20240601"),
    ]
    for kind, ref in absent:
        with pytest.raises(NotFound):
            await moment.get(kind, ref)

    # In the catalogue, as imported.
    counts = await workspace.read(catalogue.counts)
    assert (counts["customer"], counts["bill"]) == (4, 6)
    entry = await catalogued(workspace, "bill", f"{THANDI_REF}-20240731")
    assert entry is not None
    assert (entry.source, entry.obj.amount_due, entry.obj.customer_id) == (
        "imported",
        24000,
        thandi.id,
    )
    customer_entry = await catalogued(workspace, "customer", THANDI_REF)
    assert customer_entry is not None
    assert (customer_entry.source, customer_entry.obj.id) == ("imported", thandi.id)

    # The same file again: nothing new anywhere, and not a single create is sent.
    logged = len(moment.request_log)
    again = await import_bulk_file(FIXTURE, moment, workspace)
    posts = moment.request_log.latest(len(moment.request_log) - logged)
    assert [r for r in posts if r.method == "POST"] == []
    assert statuses(again) == [
        (2, "already_imported"),
        (3, "already_imported"),
        (4, "already_imported"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
        (8, "already_imported"),
        (9, "already_imported"),
        (10, "already_imported"),
    ]
    assert again.summary() == "9 rows: 0 imported, 6 already imported, 3 with errors"
    assert again.customers_created == 0
    assert [r.bill.id for r in again.results if r.bill] == [
        r.bill.id for r in report.results if r.bill
    ]
    assert len(await listed(moment, "bill", THANDI_REF)) == 3
    assert len(await listed(moment, "customer", THANDI_REF)) == 1
    assert len(await listed(moment, "bill", "ACC-1002")) == 1
    assert len(await listed(moment, "bill", LERATO_REF)) == 1
    assert await workspace.read(catalogue.counts) == counts


# --- customers ---------------------------------------------------------------------------------


async def test_a_customer_in_several_rows_is_created_once(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    rng = random.Random()
    who, other = random_sa_id(rng), random_sa_id(rng)
    ref = derived_reference(who)
    path = write_csv(
        tmp_path / "za_acme_dailyfile_2024-06-01.csv",
        f"Ayanda,Mthembu,{who},0821112222,,2024-06-30,100.00,,",
        f"Bongani,Cele,{other},,,2024-06-30,5.00,,",
        f"Ayanda,Mthembu,{who},,,2024-07-31,200.00,,",
        f"Ayanda,Mthembu,{who},,,2024-07-31,300.00,,",
    )
    report = await import_bulk_file(path, moment, workspace)
    assert report.summary() == "4 rows: 4 imported, 0 already imported, 0 with errors"
    assert report.customers_created == 2
    assert [r.customer_created for r in report.results] == [True, True, False, False]

    customers = await listed(moment, "customer", ref)
    assert [(c.external_reference, c.name, c.phone) for c in customers] == [
        (ref, "Ayanda Mthembu", "+27821112222")
    ]
    bills = await listed(moment, "bill", ref)
    assert sorted((b.external_reference, b.amount_due) for b in bills) == [
        (f"{ref}-20240630", 10000),
        (f"{ref}-20240731", 20000),
        (f"{ref}-20240731-2", 30000),
    ]
    assert {b.customer_id for b in bills} == {customers[0].id}
    entries = await workspace.read(
        lambda conn: catalogue.bills(conn, catalogue.BillQuery(customer_id=customers[0].id))
    )
    assert sorted(e.obj.amount_due for e in entries) == [10000, 20000, 30000]
    assert {e.source for e in entries} == {"imported"}


async def test_an_existing_customer_gets_the_bill_and_keeps_its_details(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    ref = unique("CUST")
    existing = await moment.create_customer(
        CustomerCreate(external_reference=ref, name="Already Here", email="here@example.com")
    )
    path = write_csv(
        tmp_path / "za_acme_dailyfile_2024-06-01.csv",
        f"New,Name,{random_sa_id(random.Random())},,new@example.com,2024-06-30,42.00,{ref},",
    )
    report = await import_bulk_file(path, moment, workspace)
    assert statuses(report) == [(2, "created")]
    assert report.customers_created == 0
    (result,) = report.results
    assert result.note == (
        'customer details differ from Moment\'s copy (name: file "New Name", Moment '
        '"Already Here"; email: file new@example.com, Moment here@example.com); the bill '
        "was added to the existing customer, which was not changed"
    )
    assert [(d.field, d.file, d.kept) for d in result.customer_differences] == [
        ("name", "New Name", "Already Here"),
        ("email", "new@example.com", "here@example.com"),
    ]
    bill = await moment.get_bill(f"{ref}-20240630")
    assert (bill.customer_id, bill.amount_due) == (existing.id, 4200)
    assert (await moment.get_customer(ref)).name == "Already Here"
    assert len(await listed(moment, "customer", ref)) == 1
    entry = await catalogued(workspace, "customer", ref)
    assert entry is not None
    assert (entry.obj.name, entry.source) == ("Already Here", "imported")


async def test_two_rows_with_one_id_number_and_other_details_keep_the_first_and_say_so(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    rng = random.Random()
    who, other = random_sa_id(rng), random_sa_id(rng)
    ref, other_ref = derived_reference(who), derived_reference(other)
    path = write_csv(
        tmp_path / "za_acme_moment_all-customers_2026-12-01.csv",
        f"Thandi,Nkosi,{who},082 123 4567,thandi@example.co.za,2027-01-15,240.00,,",
        f"Bongani,Cele,{other},,,2027-01-15,10.00,,",
        f"Same,Person,{who},,other@example.com,2027-01-15,50.00,,P-3",
        f"Bad,Row,{who},,,2027-02-30,1.00,,",  # not a real due date
        f"thandi , NKOSI,{who},+27821234567,THANDI@example.co.za,2027-02-15,30.00,,",
        f"Thandi,Nkosi,{who},0831112222,,2027-03-15,20.00,,",
    )
    report = await import_bulk_file(path, moment, workspace, concurrency=1)

    assert statuses(report) == [
        (2, "created"),
        (3, "created"),
        (4, "created"),
        (5, "error"),
        (6, "created"),
        (7, "created"),
    ]
    assert report.customers_created == 2
    notes = {result.line_number: result.note for result in report.results}
    assert notes == {
        2: None,
        3: None,
        4: (
            'customer details differ from Moment\'s copy (name: file "Same Person", Moment '
            '"Thandi Nkosi"; email: file other@example.com, Moment thandi@example.co.za); '
            "the bill was added to the customer created from line 2, which was not changed"
        ),
        5: None,
        6: None,  # case and spacing are not differences; empty cells are "not given"
        7: (
            "customer details differ from Moment's copy (phone: file +27831112222, Moment "
            "+27821234567); the bill was added to the customer created from line 2, which "
            "was not changed"
        ),
    }
    assert all(who not in (note or "") for note in notes.values())

    # Nothing lost: every good row's bill exists, on the one customer, which has
    # line 2's details and was never PATCHed.
    assert not [r for r in moment.request_log if r.method == "PATCH"]
    (thandi,) = await listed(moment, "customer", ref)
    assert (thandi.name, thandi.email, thandi.phone) == (
        "Thandi Nkosi",
        "thandi@example.co.za",
        "+27821234567",
    )
    bills = await listed(moment, "bill", ref)
    assert sorted((b.external_reference, b.amount_due, b.customer_id) for b in bills) == [
        (f"{ref}-20270115", 24000, thandi.id),
        (f"{ref}-20270115-2", 5000, thandi.id),
        (f"{ref}-20270215", 3000, thandi.id),
        (f"{ref}-20270315", 2000, thandi.id),
    ]
    assert (await moment.get_bill(f"{ref}-20270115-2")).metadata == {"Branch": "P-3"}
    assert len(await listed(moment, "bill", other_ref)) == 1
    entry = await catalogued(workspace, "customer", ref)
    assert entry is not None
    assert (entry.obj.name, entry.obj.email) == ("Thandi Nkosi", "thandi@example.co.za")

    # Again: nothing created, and the same rows still say their details differ.
    again = await import_bulk_file(path, moment, workspace)
    assert again.summary() == "6 rows: 0 imported, 5 already imported, 1 with errors"
    assert [r.line_number for r in again.results if r.note] == [4, 7]
    line4 = next(r for r in again.results if r.line_number == 4)
    assert line4.note is not None
    assert line4.note.endswith("; the bill belongs to the existing customer, which was not changed")
    assert [d.field for d in line4.customer_differences] == ["name", "email"]
    assert len(await listed(moment, "bill", ref)) == 4
    assert len(await listed(moment, "customer", ref)) == 1


async def test_a_daily_file_that_changes_a_customer_is_noted_not_applied(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    who = random_sa_id(random.Random())
    ref = derived_reference(who)
    write_csv(
        tmp_path / "za_acme_moment_all-customers_2024-06-01.csv",
        f"Ayanda,Mthembu,{who},,ayanda@example.com,2024-06-30,100.00,,",
    )
    first = await import_bulk_file(
        tmp_path / "za_acme_moment_all-customers_2024-06-01.csv", moment, workspace
    )
    assert statuses(first) == [(2, "created")]
    daily = write_csv(
        tmp_path / "za_acme_dailyfile_2024-06-02.csv",
        f"Ayanda,Mthembu-Dlamini,{who},0821112222,ayanda.d@example.com,2024-07-31,120.00,,",
        f"Ayanda,Mthembu,{who},,,2024-07-31,not money,,",
    )
    report = await import_bulk_file(daily, moment, workspace)

    assert statuses(report) == [(2, "created"), (3, "error")]
    (changed, bad) = report.results
    assert changed.note == (
        'customer details differ from Moment\'s copy (name: file "Ayanda Mthembu-Dlamini", '
        'Moment "Ayanda Mthembu"; email: file ayanda.d@example.com, Moment ayanda@example.com; '
        "phone: file +27821112222, Moment none); the bill was added to the existing "
        "customer, which was not changed"
    )
    assert [(d.field, d.kept) for d in changed.customer_differences] == [
        ("name", "Ayanda Mthembu"),
        ("email", "ayanda@example.com"),
        ("phone", None),
    ]
    assert (bad.note, bad.customer_differences) == (None, [])
    customer = await moment.get_customer(ref)
    assert (customer.name, customer.email, customer.phone) == (
        "Ayanda Mthembu",
        "ayanda@example.com",
        None,
    )
    bills = await listed(moment, "bill", ref)
    assert sorted((b.external_reference, b.amount_due) for b in bills) == [
        (f"{ref}-20240630", 10000),
        (f"{ref}-20240731", 12000),
    ]
    assert {b.customer_id for b in bills} == {customer.id}


# --- re-runs: nothing is ever created twice ------------------------------------------------------


async def test_reimporting_a_larger_file_concurrently_creates_no_duplicates(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    prefix = unique("BULK")
    rows = [
        f"P{n},Q{n},{random_sa_id(random.Random(n))},,,2024-{6 + n % 3:02d}-28,{n + 1}.25,"
        f"{prefix}-{n % 10},B{n}"
        for n in range(40)
    ]
    path = write_csv(tmp_path / "za_acme_moment_all-customers_2024-06-01.csv", *rows)
    first = await import_bulk_file(path, moment, workspace, concurrency=8)
    assert first.summary() == "40 rows: 40 imported, 0 already imported, 0 with errors"
    assert first.customers_created == 10
    second = await import_bulk_file(path, moment, workspace, concurrency=8)
    assert second.summary() == "40 rows: 0 imported, 40 already imported, 0 with errors"
    sequential = await import_bulk_file(path, moment, workspace, concurrency=1)
    assert sequential.already_imported == 40

    bills = await listed(moment, "bill", prefix)
    assert len(bills) == 40
    assert len({b.external_reference for b in bills}) == 40
    assert sum(b.amount_due for b in bills) == sum((n + 1) * 100 + 25 for n in range(40))
    assert len(await listed(moment, "customer", prefix)) == 10
    counts = await workspace.read(catalogue.counts)
    assert (counts["customer"], counts["bill"]) == (10, 40)


class Forgetful(httpx.AsyncBaseTransport):
    """Answers 404 to the first GET of each object *by reference*, as if the previous
    run had crashed after Moment created the bill but before anyone looked."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.hidden: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        last = path.rsplit("/", 1)[-1]
        by_reference = path.count("/") == 3 and not last.startswith(("bill_", "bcus_"))
        if request.method == "GET" and by_reference and path not in self.hidden:
            self.hidden.add(path)
            return httpx.Response(404, json={"title": "Not found", "status": 404})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_rerun_after_a_crash_never_creates_twice(
    bulk_sandbox: str, moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    who = random_sa_id(random.Random())
    ref = derived_reference(who)
    rows = (
        f"Zanele,Dube,{who},,,2024-06-30,10.00,,",
        f"Zanele,Dube,{who},,,2024-07-31,20.00,,",
    )
    path = write_csv(tmp_path / "za_acme_dailyfile_2024-06-01.csv", *rows)
    first = await import_bulk_file(path, moment, workspace)
    assert first.created == 2

    # Same file, lookups blind: the same requests go out with the same keys and
    # Moment replays its first answers.
    async with new_client(bulk_sandbox, Forgetful()) as blind:
        replayed = await import_bulk_file(path, blind, workspace)
        posts = [r for r in blind.request_log if r.method == "POST"]
    assert replayed.summary() == "2 rows: 0 imported, 2 already imported, 0 with errors"
    assert [(p.status, p.replayed) for p in posts] == [(201, True), (201, True)]

    # Renamed file, lookups blind: new keys, so Moment answers 409 for the references.
    renamed = write_csv(tmp_path / "za_acme_dailyfile_2024-06-02.csv", *rows)
    async with new_client(bulk_sandbox, Forgetful()) as blind:
        conflicted = await import_bulk_file(renamed, blind, workspace)
        posts = [r for r in blind.request_log if r.method == "POST"]
    assert conflicted.summary() == "2 rows: 0 imported, 2 already imported, 0 with errors"
    assert [p.status for p in posts] == [409, 409]

    bills = await listed(moment, "bill", ref)
    assert sorted(b.amount_due for b in bills) == [1000, 2000]
    assert len(await listed(moment, "customer", ref)) == 1


async def test_a_customer_created_meanwhile_is_used_after_a_conflict(
    bulk_sandbox: str, moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    ref = unique("RACE")
    await moment.create_customer(CustomerCreate(external_reference=ref, name="Raced"))
    path = write_csv(
        tmp_path / "race_2024-06-01.csv",
        f"Late,Comer,{random_sa_id(random.Random())},,,2024-06-30,7.00,{ref},",
    )
    async with new_client(bulk_sandbox, Forgetful()) as blind:
        report = await import_bulk_file(path, blind, workspace)
        posts = [r.status for r in blind.request_log if r.method == "POST"]
    assert statuses(report) == [(2, "created")]
    assert report.customers_created == 0
    assert posts == [409, 201]  # nested customer refused, then the bill by reference
    assert len(await listed(moment, "customer", ref)) == 1
    assert (await moment.get_bill(f"{ref}-20240630")).amount_due == 700


async def test_a_bill_already_in_moment_with_other_values_is_reported_not_changed(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    ref = unique("DIFF")
    await moment.create_bill(
        BillCreate(
            external_reference=f"{ref}-20240630",
            currency="ZAR",
            amount_due=5000,
            customer=CustomerCreate(external_reference=ref, name="Differs"),
            bill_date=dt.date(2024, 6, 1),
            due_date=dt.date(2024, 6, 30),
        )
    )
    path = write_csv(
        tmp_path / "za_acme_dailyfile_2024-06-01.csv",
        f"Differs,Person,{random_sa_id(random.Random())},,,2024-06-30,75.00,{ref},",
    )
    report = await import_bulk_file(path, moment, workspace)
    (result,) = report.results
    assert result.status == "already_imported"
    assert result.note == (
        "already in Moment with different values (not changed): "
        "amount due R 50.00 in Moment, R 75.00 in the file; "
        'customer details differ from Moment\'s copy (name: file "Differs Person", Moment '
        '"Differs"); the bill belongs to the existing customer, which was not changed'
    )
    assert (await moment.get_bill(f"{ref}-20240630")).amount_due == 5000
    entry = await catalogued(workspace, "bill", f"{ref}-20240630")
    assert entry is not None
    assert (entry.source, entry.obj.amount_due) == ("imported", 5000)


# --- dry runs and failures ------------------------------------------------------------------------


async def test_a_dry_run_creates_nothing(
    moment: MomentClient, workspace: Workspace, tmp_path: Path
) -> None:
    prefix = unique("DRY")
    path = write_csv(
        tmp_path / "za_acme_dailyfile_2024-06-01.csv",
        f"A,B,{random_sa_id(random.Random())},,,2024-06-30,1.00,{prefix}-1,",
        f"C,D,{random_sa_id(random.Random())},,,2024-06-30,0.00,{prefix}-2,",
    )
    report = await import_bulk_file(path, moment, workspace, dry_run=True)
    assert statuses(report) == [(2, "valid"), (3, "error")]
    assert report.summary() == "2 rows: 1 valid, 1 with errors (dry run: nothing sent)"
    assert [r.bill_reference for r in report.results] == [f"{prefix}-1-20240630", None]
    assert await listed(moment, "customer", prefix) == []
    assert await listed(moment, "bill", prefix) == []
    assert len(moment.request_log) == 2  # only the two listings above
    counts = await workspace.read(catalogue.counts)
    assert (counts["customer"], counts["bill"]) == (0, 0)


async def test_an_unreachable_server_stops_the_import_and_reports_the_rest(
    workspace: Workspace, tmp_path: Path
) -> None:
    prefix = unique("DOWN")
    path = write_csv(
        tmp_path / "down.csv",
        *(f"A,B,{random_sa_id(random.Random(n))},,,,{n + 1}.00,{prefix}-{n}," for n in range(3)),
    )
    async with new_client("http://127.0.0.1:9") as unreachable:
        report = await import_bulk_file(path, unreachable, workspace, concurrency=1)
    assert statuses(report) == [(2, "error"), (3, "not_attempted"), (4, "not_attempted")]
    assert report.stopped is not None
    assert "ConnectError" in report.stopped
    assert report.errors[1].message == f"not attempted: {report.stopped}"
    assert report.summary().endswith(f"1 with errors, 2 not attempted (stopped: {report.stopped})")
    counts = await workspace.read(catalogue.counts)
    assert (counts["customer"], counts["bill"]) == (0, 0)


async def test_import_bulk_takes_a_parsed_file_and_a_workspace_is_optional(
    moment: MomentClient, tmp_path: Path
) -> None:
    ref = unique("NOWS")
    path = write_csv(
        tmp_path / "x.csv", f"A,B,{random_sa_id(random.Random())},,,2030-01-31,3.00,{ref},"
    )
    bulk = load_bulk(path, file_date=dt.date(2030, 1, 1))
    report = await import_bulk(bulk, moment, None)
    (result,) = report.results
    assert result.status == "created"
    assert isinstance(result.bill, Bill)
    assert isinstance(result.customer, Customer)
    assert result.customer.external_reference == ref
    assert (result.bill.bill_date, result.bill.amount_due) == (dt.date(2030, 1, 1), 300)
