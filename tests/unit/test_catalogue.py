"""The catalogue: upserts, lookups, bill queries with keyset paging, search, counts."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moment_tui.api.models import Account, Bill, BillStatus, Customer
from moment_tui.store import catalogue, changes, schema
from moment_tui.store.catalogue import NO_DUE_DATE, BillQuery
from moment_tui.store.changes import FieldChange, ObjectChange
from moment_tui.store.writer import connect

T0 = "2025-01-01T00:00:00.000Z"
T1 = "2025-02-01T00:00:00.000Z"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    # Durability is the writer's business (test_store_writer); these are about queries.
    connection = connect(tmp_path / "catalogue.sqlite3", durable=False)
    assert schema.create(connection) is True  # this SQLite has FTS5 with trigrams
    yield connection
    connection.close()


def customer(cid: str, ref: str, name: str | None = None, **extra: Any) -> Customer:
    return Customer(id=cid, external_reference=ref, name=name, **extra)


def account(aid: str, ref: str, customer_id: str, **extra: Any) -> Account:
    return Account(id=aid, external_reference=ref, customer_id=customer_id, **extra)


def bill(
    bid: str,
    *,
    customer_id: str = "bcus_ann",
    account_id: str | None = None,
    status: str = "unpaid",
    due: str | None = None,
    bill_date: str | None = None,
    amount_due: int = 1000,
    amount_paid: int = 0,
    currency: str = "ZAR",
    ref: str | None = None,
) -> Bill:
    return Bill(
        id=bid,
        external_reference=ref or f"ref-{bid}",
        customer_id=customer_id,
        account_id=account_id,
        status=BillStatus(status),
        currency=currency,
        amount_due=amount_due,
        amount_paid=amount_paid,
        amount_remaining=amount_due - amount_paid,
        due_date=dt.date.fromisoformat(due) if due else None,
        bill_date=dt.date.fromisoformat(bill_date) if bill_date else None,
    )


def store(conn: sqlite3.Connection, *objects: Any, source: Any = "listed") -> None:
    """Remember ``objects`` in one transaction, as the workspace writer would."""
    conn.execute("BEGIN")
    catalogue.remember_all(conn, objects, source, search=True)
    conn.execute("COMMIT")


def ids(entries: list[Any]) -> list[str]:
    return [entry.obj.id for entry in entries]


# --- upsert and get -----------------------------------------------------------------------


def test_upsert_keeps_learned_at_and_updates_the_rest(conn: sqlite3.Connection) -> None:
    first = customer("bcus_ann", "ann-1", "Ann", email="ann@example.com", balance=500)
    catalogue.upsert(conn, first, "created", search=True, now=T0)
    changed = first.model_copy(update={"name": "Ann Smith", "balance": 100})
    catalogue.upsert(conn, changed, "refetched", search=True, now=T1)
    entry = catalogue.get(conn, "customer", "bcus_ann")
    assert entry is not None
    assert (entry.source, entry.learned_at, entry.updated_at) == ("refetched", T0, T1)
    assert entry.first_source == "created"  # how it was first met stays
    assert entry.obj == changed
    row = conn.execute("SELECT name, balance, email FROM customers").fetchone()
    assert tuple(row) == ("Ann Smith", 100, "ann@example.com")
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1


def test_a_workspace_of_version_1_gains_first_source_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = connect(path, durable=False)
    # Version 1's customers table, as it was, with a row in it.
    old.execute(
        "CREATE TABLE customers (id TEXT PRIMARY KEY, external_reference TEXT NOT NULL,"
        " name TEXT, email TEXT, currency TEXT, balance INTEGER, data TEXT NOT NULL,"
        " source TEXT NOT NULL, learned_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    ann = customer("bcus_ann", "ann-1", "Ann")
    old.execute(
        "INSERT INTO customers (id, external_reference, name, data, source, learned_at,"
        " updated_at) VALUES (?, ?, ?, ?, 'listed', ?, ?)",
        ("bcus_ann", "ann-1", "Ann", ann.model_dump_json(), T0, T0),
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()

    conn = connect(path, durable=False)
    schema.create(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION == 3
    entry = catalogue.get(conn, "customer", "bcus_ann")
    assert entry is not None
    assert (entry.obj, entry.source, entry.first_source) == (ann, "listed", None)  # unknown
    catalogue.upsert(conn, ann, "refetched", search=True, now=T1)
    entry = catalogue.get(conn, "customer", "bcus_ann")
    assert entry is not None
    assert (entry.source, entry.first_source, entry.learned_at) == ("refetched", None, T0)
    conn.close()


def test_an_edit_or_a_look_up_keeps_what_changed_field_by_field(
    conn: sqlite3.Connection,
) -> None:
    ann = customer("bcus_ann", "ann-1", "Ann", phone="+27820000001", metadata={"tier": "gold"})
    store(conn, ann)  # listed: first met, nothing to compare with
    assert changes.for_object(conn, "bcus_ann") == []
    edited = customer(
        "bcus_ann", "ann-1", "Ann", phone="+27820000002", metadata={"tier": "silver", "vip": "y"}
    )
    catalogue.upsert(conn, edited, "changed", search=True, now=T0)
    catalogue.upsert(conn, edited, "looked_up", search=True, now=T1)  # the same copy again
    unset = customer("bcus_ann", "ann-1", "Ann", phone="+27820000002", metadata={"vip": "y"})
    catalogue.upsert(conn, unset, "looked_up", search=True, now=T1)
    assert changes.for_object(conn, "bcus_ann") == [  # newest first
        ObjectChange(T1, "looked_up", (FieldChange("metadata.tier", "silver", None),)),
        ObjectChange(
            T0,
            "changed",
            (
                FieldChange("metadata.tier", "gold", "silver"),  # in the model's order
                FieldChange("metadata.vip", None, "y"),
                FieldChange("phone", "+27820000001", "+27820000002"),
            ),
        ),
    ]


def test_listings_and_payment_checks_are_not_compared(conn: sqlite3.Connection) -> None:
    store(conn, bill("bill_one", amount_paid=0))
    store(conn, bill("bill_one", amount_paid=100))  # a later listing
    catalogue.upsert(conn, bill("bill_one", amount_paid=200), "refetched", search=True)
    catalogue.upsert(conn, bill("bill_one", amount_paid=300), "applied", search=True)
    assert changes.for_object(conn, "bill_one") == []
    catalogue.upsert(conn, bill("bill_one", amount_paid=400), "changed", search=True, now=T1)
    [recorded] = changes.for_object(conn, "bill_one")
    assert recorded.fields == (
        FieldChange("amount_paid", 300, 400),
        FieldChange("amount_remaining", 700, 600),
    )


def test_a_copy_kept_back_by_a_newer_one_records_no_change(conn: sqlite3.Connection) -> None:
    catalogue.upsert(conn, customer("bcus_ann", "ann-1", "Ann"), "changed", search=True, now=T1)
    old = customer("bcus_ann", "ann-1", "Annie")
    catalogue.upsert(conn, old, "looked_up", search=True, now=T1, unless_changed_since=T0)
    assert changes.for_object(conn, "bcus_ann") == []
    assert catalogue.get(conn, "customer", "bcus_ann").obj.name == "Ann"  # type: ignore[union-attr]


def test_get_by_id_or_reference(conn: sqlite3.Connection) -> None:
    store(
        conn,
        customer("bcus_ann", "ann-1", "Ann"),
        account("bacc_main", "acc-main", "bcus_ann"),
        bill("bill_one", account_id="bacc_main", ref="INV-001"),
        # A reference that looks like another object's id is still found by reference.
        bill("bill_two", ref="bill_other"),
    )
    assert catalogue.get(conn, "customer", "ann-1").obj.id == "bcus_ann"  # type: ignore[union-attr]
    assert catalogue.get(conn, "account", "bacc_main").obj.customer_id == "bcus_ann"  # type: ignore[union-attr]
    assert catalogue.get(conn, "bill", "INV-001").obj.id == "bill_one"  # type: ignore[union-attr]
    assert catalogue.get(conn, "bill", "bill_one").obj.external_reference == "INV-001"  # type: ignore[union-attr]
    assert catalogue.get(conn, "bill", "bill_other").obj.id == "bill_two"  # type: ignore[union-attr]
    assert catalogue.get(conn, "bill", "bill_missing") is None
    assert catalogue.get(conn, "customer", "bill_one") is None  # kinds do not mix
    entry = catalogue.get(conn, "bill", "bill_one")
    assert entry is not None
    assert (entry.source, entry.obj.account_id) == ("listed", "bacc_main")


def test_get_many_reads_the_known_ones_by_id(conn: sqlite3.Connection) -> None:
    store(conn, bill("bill_a", ref="INV-A"), bill("bill_b", amount_paid=400))
    found = catalogue.get_many(conn, "bill", ["bill_b", "bill_none", "INV-A", "bill_b", "bill_a"])
    assert sorted(found) == ["bill_a", "bill_b"]  # by id only; references are not ids
    assert found["bill_b"].obj.amount_paid == 400
    assert catalogue.get_many(conn, "bill", []) == {}
    assert catalogue.get_many(conn, "customer", ["bill_a"]) == {}


# --- bill queries ----------------------------------------------------------------------------


@pytest.fixture
def bills_conn(conn: sqlite3.Connection) -> sqlite3.Connection:
    store(
        conn,
        bill("bill_a", due="2025-03-01"),
        bill("bill_b", due="2025-01-10", account_id="bacc_1"),
        bill("bill_c", due=None, account_id="bacc_1"),
        bill("bill_d", due="2025-01-10", status="paid", amount_paid=1000),
        bill("bill_e", due="2024-12-31", customer_id="bcus_bob", status="voided"),
        bill("bill_f", due="2025-02-15", customer_id="bcus_bob", account_id="bacc_2"),
        bill("bill_g", due=None, customer_id="bcus_bob"),
        bill("bill_h", due="2025-01-31", account_id="bacc_1", status="paid", amount_paid=1000),
    )
    return conn


def test_bills_are_ordered_by_due_date_undated_last(bills_conn: sqlite3.Connection) -> None:
    every = catalogue.bills(bills_conn, BillQuery())
    assert ids(every) == [
        "bill_e",
        "bill_b",
        "bill_d",
        "bill_h",
        "bill_f",
        "bill_a",
        "bill_c",
        "bill_g",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (BillQuery(status=BillStatus.UNPAID), ["bill_b", "bill_f", "bill_a", "bill_c", "bill_g"]),
        (BillQuery(status=BillStatus.PAID), ["bill_d", "bill_h"]),
        (BillQuery(status=BillStatus.VOIDED), ["bill_e"]),
        (BillQuery(customer_id="bcus_bob"), ["bill_e", "bill_f", "bill_g"]),
        (BillQuery(account_id="bacc_1"), ["bill_b", "bill_h", "bill_c"]),
        (BillQuery(account_id="bacc_1", status=BillStatus.UNPAID), ["bill_b", "bill_c"]),
        (BillQuery(customer_id="bcus_ann", status=BillStatus.PAID), ["bill_d", "bill_h"]),
        # Overdue: unpaid with a due date before the day (never undated, never voided/paid).
        (BillQuery(overdue_on=dt.date(2025, 2, 16)), ["bill_b", "bill_f"]),
        (BillQuery(overdue_on=dt.date(2025, 1, 10)), []),
        (BillQuery(overdue_on=dt.date(2025, 12, 31), customer_id="bcus_ann"), ["bill_b", "bill_a"]),
        (BillQuery(limit=2), ["bill_e", "bill_b"]),
        (
            BillQuery(after=("2025-01-10", "bill_b")),
            ["bill_d", "bill_h", "bill_f", "bill_a", "bill_c", "bill_g"],
        ),
        (BillQuery(after=(NO_DUE_DATE, "bill_c")), ["bill_g"]),
        (BillQuery(customer_id="bcus_nobody"), []),
    ],
)
def test_bill_filters(
    bills_conn: sqlite3.Connection, query: BillQuery, expected: list[str]
) -> None:
    assert ids(catalogue.bills(bills_conn, query)) == expected


def test_overdue_agrees_with_the_models_rule(bills_conn: sqlite3.Connection) -> None:
    today = dt.date(2025, 2, 16)
    every = [entry.obj for entry in catalogue.bills(bills_conn, BillQuery(limit=1000))]
    expected = [b.id for b in every if b.is_overdue(today)]
    assert ids(catalogue.bills(bills_conn, BillQuery(overdue_on=today))) == expected


def due_sort(b: Bill) -> str:
    return b.due_date.isoformat() if b.due_date else NO_DUE_DATE


@pytest.mark.parametrize("page_size", [1, 7, 100])
def test_keyset_paging_visits_every_bill_once(conn: sqlite3.Connection, page_size: int) -> None:
    rng = random.Random(page_size)
    made = []
    for i in range(250):
        due = None if rng.random() < 0.2 else dt.date(2025, 1, 1) + dt.timedelta(rng.randrange(20))
        status = rng.choice(["unpaid", "unpaid", "paid"])
        made.append(
            bill(
                f"bill_{rng.getrandbits(40):010x}{i:03}",
                due=due.isoformat() if due else None,
                status=status,
                amount_paid=1000 if status == "paid" else 0,
                customer_id=rng.choice(["bcus_ann", "bcus_bob"]),
            )
        )
    store(conn, *made)
    for query in (BillQuery(limit=page_size), BillQuery(limit=page_size, customer_id="bcus_bob")):
        seen: list[str] = []
        after = None
        while True:
            page = catalogue.bills(conn, BillQuery(**{**query.__dict__, "after": after}))
            seen += ids(page)
            if len(page) < page_size:
                break
            last = page[-1].obj
            after = (due_sort(last), last.id)
        wanted = [b for b in made if query.customer_id in (None, b.customer_id)]
        assert seen == [b.id for b in sorted(wanted, key=lambda b: (due_sort(b), b.id))]
        assert len(set(seen)) == len(seen)


# --- search ------------------------------------------------------------------------------


@pytest.fixture
def people(conn: sqlite3.Connection) -> sqlite3.Connection:
    store(
        conn,
        customer("bcus_ann", "CUST-0001", "Alice Andersen", email="alice@example.com"),
        customer(
            "bcus_bob", "CUST-0002", "Bob Mokoena", email="bob@mokoena.co.za", phone="+27821234567"
        ),
        customer("bcus_zed", "CUST-0003", None, email="zed@example.org"),
        account("bacc_alpha", "ACC-ALICE-1", "bcus_ann", name="Alice household"),
        bill("bill_inv1", ref="INV-2025-0001", customer_id="bcus_ann"),
        bill("bill_inv2", ref="INV-2025-0002", customer_id="bcus_bob"),
        bill("bill_pct", ref="RENT_50-PCT", customer_id="bcus_bob"),
    )
    return conn


@pytest.mark.parametrize("trigram", [True, False])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alice", ["bcus_ann", "bacc_alpha"]),
        ("ALICE", ["bcus_ann", "bacc_alpha"]),
        ("  Andersen ", ["bcus_ann"]),
        ("mokoena.co", ["bcus_bob"]),
        ("example", ["bcus_ann", "bcus_zed"]),
        ("inv-2025", ["bill_inv1", "bill_inv2"]),
        ("2025-0002", ["bill_inv2"]),
        ("bill_inv1", ["bill_inv1"]),
        ("cust-000", ["bcus_ann", "bcus_bob", "bcus_zed"]),
        ("821234", ["bcus_bob"]),
        ("nobody", []),
        ('"quoted"', []),
        ("", []),
    ],
)
def test_search_names_emails_references_ids(
    people: sqlite3.Connection, text: str, expected: list[str], trigram: bool
) -> None:
    assert ids(catalogue.search(people, text, trigram=trigram)) == expected


def test_short_text_matches_the_start_of_names_and_references(
    people: sqlite3.Connection,
) -> None:
    assert ids(catalogue.search(people, "Al")) == ["bcus_ann"]  # Alice Andersen
    assert ids(catalogue.search(people, "al")) == ["bcus_ann"]  # names in any case
    assert ids(catalogue.search(people, "IN")) == ["bill_inv1", "bill_inv2"]
    assert ids(catalogue.search(people, "in")) == ["bill_inv1", "bill_inv2"]  # upper-cased
    assert ids(catalogue.search(people, "RE")) == ["bill_pct"]
    assert ids(catalogue.search(people, "50")) == []  # inside a reference: not a start
    assert ids(catalogue.search(people, "%")) == []
    assert ids(catalogue.search(people, "T_")) == []


def test_like_search_treats_wildcards_literally(people: sqlite3.Connection) -> None:
    assert ids(catalogue.search(people, "T_50", trigram=False)) == ["bill_pct"]
    assert ids(catalogue.search(people, "T%50", trigram=False)) == []


def test_search_limit_and_order(people: sqlite3.Connection) -> None:
    # Customers first, then accounts, then bills.
    assert ids(catalogue.search(people, "ali", limit=100)) == ["bcus_ann", "bacc_alpha"]
    assert ids(catalogue.search(people, "ali", limit=100, trigram=False)) == [
        "bcus_ann",
        "bacc_alpha",
    ]
    # The first ones found (in the order the catalogue learned them), then sorted.
    assert ids(catalogue.search(people, "cust", limit=2)) == ["bcus_ann", "bcus_bob"]


def test_search_follows_updates(people: sqlite3.Connection) -> None:
    renamed = customer("bcus_ann", "CUST-0001", "Alicia Keys", email="keys@example.com")
    catalogue.upsert(people, renamed, "refetched", search=True)
    assert ids(catalogue.search(people, "Andersen")) == []
    assert ids(catalogue.search(people, "Andersen", trigram=False)) == []
    assert ids(catalogue.search(people, "alicia")) == ["bcus_ann"]
    assert ids(catalogue.search(people, "keys@")) == ["bcus_ann"]


def test_search_without_fts_index(tmp_path: Path) -> None:
    """A workspace whose SQLite lacks trigrams still keeps search_keys for LIKE search."""
    plain = connect(tmp_path / "plain.sqlite3", durable=False)
    try:
        schema.create(plain)
        catalogue.upsert(plain, customer("bcus_ann", "c-1", "Alice"), "listed", search=False)
        assert plain.execute("SELECT count(*) FROM search").fetchone()[0] == 0
        assert ids(catalogue.search(plain, "alice", trigram=False)) == ["bcus_ann"]
    finally:
        plain.close()


# --- lists and counts -----------------------------------------------------------------------


def test_counts(bills_conn: sqlite3.Connection) -> None:
    store(
        bills_conn,
        customer("bcus_ann", "a"),
        customer("bcus_bob", "b"),
        account("bacc_1", "acc-1", "bcus_ann"),
    )
    assert catalogue.counts(bills_conn) == {
        "customer": 2,
        "account": 1,
        "bill": 8,
        "bills_unpaid": 5,
        "bills_paid": 2,
        "bills_voided": 1,
    }


def test_bill_counts_follow_every_change_and_are_rebuilt_for_an_older_file(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    def by_status() -> tuple[int, int, int, int]:
        c = catalogue.counts(conn)
        return c["bill"], c["bills_unpaid"], c["bills_paid"], c["bills_voided"]

    store(conn, bill("bill_a"), bill("bill_b"), bill("bill_c", status="voided"))
    assert by_status() == (3, 2, 0, 1)
    store(conn, bill("bill_a", status="paid", amount_paid=1000))  # an upsert that pays it
    assert by_status() == (3, 1, 1, 1)
    catalogue.set_bill_money(
        conn, "bill_b", amount_paid=1000, amount_remaining=0, status="paid", source="applied"
    )
    assert by_status() == (3, 0, 2, 1)
    store(conn, bill("bill_b", status="paid", amount_paid=1000))  # same status: no change
    assert by_status() == (3, 0, 2, 1)
    # The counts come from the table the triggers keep, not from scanning bills…
    conn.execute("UPDATE bill_counts SET n = n + 100 WHERE status = 'paid'")
    assert by_status() == (103, 0, 102, 1)
    # …and a workspace written before that table existed gets it filled when opened.
    conn.execute("DROP TABLE bill_counts")
    schema.create(conn)
    assert by_status() == (3, 0, 2, 1)


def test_customers_paging_by_name_and_accounts_of_a_customer(conn: sqlite3.Connection) -> None:
    store(
        conn,
        customer("bcus_3", "c3", "carol"),
        customer("bcus_1", "c1", "Alice"),
        customer("bcus_2", "c2", None),
        customer("bcus_4", "c4", "bob"),
        account("bacc_b", "ref-b", "bcus_1"),
        account("bacc_a", "ref-a", "bcus_1"),
        account("bacc_c", "ref-c", "bcus_4"),
    )
    first = catalogue.customers(conn, limit=2)
    assert ids(first) == ["bcus_2", "bcus_1"]  # no name sorts first, then case-insensitive
    last = first[-1].obj
    rest = catalogue.customers(conn, after=(last.name or "", last.id))
    assert ids(rest) == ["bcus_4", "bcus_3"]
    assert ids(catalogue.accounts(conn, "bcus_1")) == ["bacc_a", "bacc_b"]


def test_open_bills_of_an_account_and_of_a_customer(conn: sqlite3.Connection) -> None:
    store(
        conn,
        bill("bill_1", account_id="bacc_1", due="2025-02-01"),
        bill("bill_2", account_id="bacc_1", status="paid", amount_paid=1000),
        bill("bill_3", account_id="bacc_1", currency="USD"),
        bill("bill_4"),  # directly on the customer
        bill("bill_5", account_id="bacc_1", amount_paid=400),
    )
    on_account = catalogue.open_bills(conn, "account", "bacc_1", "ZAR")
    assert [(b.id, b.amount_remaining) for b, _ in on_account] == [
        ("bill_1", 1000),
        ("bill_5", 600),
    ]
    orders = [order for _, order in on_account]
    assert orders == sorted(orders)
    assert [b.id for b, _ in catalogue.open_bills(conn, "customer", "bcus_ann", "ZAR")] == [
        "bill_4"
    ]
    assert [b.id for b, _ in catalogue.open_bills(conn, "account", "bacc_1", "USD")] == ["bill_3"]
