"""The catalogue: the console's own copy of every object it knows.

Moment's Billing API cannot list anything, so the console remembers what it has
met. Each entry is the last known JSON of the object plus how it was learned
(``source``) and when. Functions here take a connection; :class:`Workspace` runs
reads on reader connections and writes on its writer thread.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, TypeVar

from moment_tui.api.models import (
    ID_PATTERNS,
    MODEL_FOR,
    Account,
    Bill,
    BillingObject,
    BillStatus,
    Customer,
    ObjectKind,
)
from moment_tui.store import changes
from moment_tui.store.schema import SHORT_SEARCH as SHORT_SEARCH
from moment_tui.store.schema import TABLE as TABLE
from moment_tui.store.schema import select_in

Source = Literal[
    "created", "changed", "looked_up", "listed", "imported", "webhook", "refetched", "applied"
]
NO_DUE_DATE: Final = "9999-12-31"
COMPARED: Final[frozenset[str]] = frozenset({"changed", "looked_up"})  # see store.changes

ObjT = TypeVar("ObjT", Customer, Account, Bill)


@dataclass(frozen=True)
class Entry(Generic[ObjT]):
    """A catalogue object and how the console came to know it."""

    obj: ObjT
    source: str  # how the copy kept was learned (the latest)
    learned_at: str
    updated_at: str
    first_source: str | None = None  # how it was first met (None: not recorded then)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- writing ------------------------------------------------------------------------


def upsert(
    conn: sqlite3.Connection,
    obj: BillingObject,
    source: Source,
    *,
    search: bool,
    now: str | None = None,
    unless_changed_since: str | None = None,
) -> None:
    """Keep ``obj`` as the last known copy; ``learned_at`` keeps the first sighting.

    With ``unless_changed_since``, an entry updated after that moment is left alone.
    A copy from an edit or a look-up is compared with the one it replaces, and what
    differs is kept (:mod:`moment_tui.store.changes`).
    """
    now = now or now_iso()
    data = obj.model_dump_json()
    kind = obj.KIND
    old = None
    if source in COMPARED:
        row = conn.execute(
            f"SELECT data FROM {TABLE[kind]} WHERE id = ?",  # noqa: S608
            (obj.id,),
        ).fetchone()
        old = row[0] if row is not None else None
    columns: dict[str, Any] = {"id": obj.id, "external_reference": obj.external_reference}
    if isinstance(obj, Customer):
        columns.update(name=obj.name, email=obj.email, currency=obj.currency, balance=obj.balance)
    elif isinstance(obj, Account):
        columns.update(
            customer_id=obj.customer_id, name=obj.name, currency=obj.currency, balance=obj.balance
        )
    else:
        due = obj.due_date.isoformat() if obj.due_date else None
        columns.update(
            customer_id=obj.customer_id,
            account_id=obj.account_id,
            status=obj.status.value,
            currency=obj.currency,
            amount_due=obj.amount_due,
            amount_paid=obj.amount_paid,
            amount_remaining=obj.amount_remaining,
            bill_date=obj.bill_date.isoformat() if obj.bill_date else None,
            due_date=due,
            due_sort=due or NO_DUE_DATE,
        )
    columns.update(data=data, source=source, first_source=source, learned_at=now, updated_at=now)
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    keep = {"id", "learned_at", "first_source"}
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keep)
    guard = f" WHERE {TABLE[kind]}.updated_at <= ?" if unless_changed_since else ""
    params = (*columns.values(), *((unless_changed_since,) if unless_changed_since else ()))
    cursor = conn.execute(
        f"INSERT INTO {TABLE[kind]} ({names}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT(id) DO UPDATE SET {updates}{guard}",
        params,
    )
    if cursor.rowcount == 0:  # kept the newer copy: its search text is current too
        return
    if old is not None and old != data:
        fields = changes.diff(json.loads(old), json.loads(data))
        if fields:
            changes.record(conn, kind, obj.id, now, source, fields)
    _index(conn, kind, obj.id, _search_text(obj), fts=search)


def set_bill_money(
    conn: sqlite3.Connection,
    bill_id: str,
    *,
    amount_paid: int,
    amount_remaining: int,
    status: str,
    source: Source,
    now: str | None = None,
) -> None:
    """Change only a bill's money fields (columns and stored copy): the fast path for
    applying a payment, which touches no other column or index."""
    conn.execute(
        "UPDATE bills SET amount_paid = ?, amount_remaining = ?, status = ?, source = ?,"
        " updated_at = ?, data = json_set(data, '$.amount_paid', ?, '$.amount_remaining', ?,"
        " '$.status', ?) WHERE id = ?",
        (
            amount_paid,
            amount_remaining,
            status,
            source,
            now or now_iso(),
            amount_paid,
            amount_remaining,
            status,
            bill_id,
        ),
    )


def set_balance(
    conn: sqlite3.Connection,
    kind: ObjectKind,
    object_id: str,
    balance: int,
    *,
    source: Source,
    now: str | None = None,
) -> None:
    """Change only a customer's or account's balance (column and stored copy)."""
    conn.execute(
        f"UPDATE {TABLE[kind]} SET balance = ?, source = ?, updated_at = ?,"  # noqa: S608
        " data = json_set(data, '$.balance', ?) WHERE id = ?",
        (balance, source, now or now_iso(), balance, object_id),
    )


def _search_text(obj: BillingObject) -> str:
    parts = [obj.id, obj.external_reference]
    if isinstance(obj, Customer):
        parts += [obj.name or "", obj.email or "", obj.phone or ""]
    elif isinstance(obj, Account):
        parts.append(obj.name or "")
    return " ".join(p for p in parts if p)


def _index(conn: sqlite3.Connection, kind: str, object_id: str, text: str, *, fts: bool) -> None:
    """Keep ``search_keys`` (and the trigram index beside it, when there is one) current."""
    row = conn.execute(
        "SELECT rowid, text FROM search_keys WHERE kind = ? AND id = ?", (kind, object_id)
    ).fetchone()
    if row is None:
        cursor = conn.execute(
            "INSERT INTO search_keys (kind, id, text) VALUES (?, ?, ?)", (kind, object_id, text)
        )
        if fts:
            conn.execute("INSERT INTO search (rowid, text) VALUES (?, ?)", (cursor.lastrowid, text))
    elif row["text"] != text:
        conn.execute("UPDATE search_keys SET text = ? WHERE rowid = ?", (text, row["rowid"]))
        if fts:
            conn.execute("UPDATE search SET text = ? WHERE rowid = ?", (text, row["rowid"]))


# --- reading ------------------------------------------------------------------------


def _entry(kind: ObjectKind, row: sqlite3.Row) -> Entry[Any]:
    obj = MODEL_FOR[kind].model_validate_json(row["data"])
    return Entry(obj, row["source"], row["learned_at"], row["updated_at"], row["first_source"])


def get(conn: sqlite3.Connection, kind: ObjectKind, ref: str) -> Entry[Any] | None:
    """By id, else by external reference (the API's rule for path values)."""
    table = TABLE[kind]
    row = None
    if ID_PATTERNS[kind].match(ref):
        row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (ref,)).fetchone()  # noqa: S608
    if row is None:
        row = conn.execute(
            f"SELECT * FROM {table} WHERE external_reference = ? LIMIT 1",  # noqa: S608
            (ref,),
        ).fetchone()
    return None if row is None else _entry(kind, row)


def by_reference_any_case(
    conn: sqlite3.Connection, kind: ObjectKind, ref: str, limit: int = 2
) -> list[Entry[Any]]:
    """Those whose external reference is ``ref`` but for case (``inv-0042`` for
    ``INV-0042``); up to ``limit``. A scan, not the index: for Go to's last resort."""
    rows = conn.execute(
        f"SELECT * FROM {TABLE[kind]} WHERE external_reference = ? COLLATE NOCASE LIMIT ?",  # noqa: S608
        (ref, limit),
    ).fetchall()
    return [_entry(kind, row) for row in rows]


def get_many(
    conn: sqlite3.Connection, kind: ObjectKind, ids: Iterable[str]
) -> dict[str, Entry[Any]]:
    """Those of ``ids`` the catalogue has, by id (one query per 500 ids)."""
    rows = select_in(conn, f"SELECT * FROM {TABLE[kind]} WHERE id", list(dict.fromkeys(ids)))  # noqa: S608
    return {row["id"]: _entry(kind, row) for row in rows}


@dataclass(frozen=True)
class BillQuery:
    """Filters for :func:`bills`; ``after`` is the last row's ``(due_sort, id)``."""

    status: BillStatus | None = None
    customer_id: str | None = None
    account_id: str | None = None
    overdue_on: dt.date | None = None  # unpaid with a due date before this day
    limit: int = 100
    after: tuple[str, str] | None = None


def bills(conn: sqlite3.Connection, query: BillQuery) -> list[Entry[Bill]]:
    """Bills by due date (undated last), then id; paged by keyset."""
    where: list[str] = []
    params: list[Any] = []
    if query.overdue_on is not None:
        where += ["status = 'unpaid'", "due_sort < ?"]
        params.append(query.overdue_on.isoformat())
    elif query.status is not None:
        where.append("status = ?")
        params.append(query.status.value)
    if query.customer_id:
        where.append("customer_id = ?")
        params.append(query.customer_id)
    if query.account_id:
        where.append("account_id = ?")
        params.append(query.account_id)
    if query.after is not None:
        where.append("(due_sort, id) > (?, ?)")
        params += list(query.after)
    sql = "SELECT * FROM bills"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = conn.execute(sql + " ORDER BY due_sort, id LIMIT ?", (*params, query.limit)).fetchall()
    return [_entry("bill", row) for row in rows]


def customers(
    conn: sqlite3.Connection, *, limit: int = 100, after: tuple[str, str] | None = None
) -> list[Entry[Customer]]:
    """Customers by name (case-insensitive), then id."""
    params: list[Any] = []
    sql = "SELECT * FROM customers"
    if after is not None:
        sql += " WHERE (coalesce(name, '') COLLATE NOCASE, id) > (?, ?)"
        params += list(after)
    rows = conn.execute(
        sql + " ORDER BY coalesce(name, '') COLLATE NOCASE, id LIMIT ?", (*params, limit)
    ).fetchall()
    return [_entry("customer", row) for row in rows]


def accounts(conn: sqlite3.Connection, customer_id: str) -> list[Entry[Account]]:
    rows = conn.execute(
        "SELECT * FROM accounts WHERE customer_id = ? ORDER BY external_reference",
        (customer_id,),
    ).fetchall()
    return [_entry("account", row) for row in rows]


def open_bills(
    conn: sqlite3.Connection, kind: ObjectKind, holder_id: str, currency: str
) -> list[tuple[Bill, int]]:
    """Unpaid bills competing for an account's (or a customer's direct) payment."""
    column = "account_id = ?" if kind == "account" else "customer_id = ? AND account_id IS NULL"
    rows = conn.execute(
        f"SELECT rowid, data FROM bills WHERE {column} AND status = 'unpaid'"  # noqa: S608
        " AND currency = ?",
        (holder_id, currency),
    ).fetchall()
    return [(Bill.model_validate_json(row["data"]), row["rowid"]) for row in rows]


# No ORDER BY: both stop at the LIMIT-th match (in the order the catalogue learned
# them) instead of collecting and sorting every match; the page is sorted afterwards.
_SEARCH_TRIGRAM: Final = """
    SELECT k.kind, k.id FROM search JOIN search_keys AS k ON k.rowid = search.rowid
    WHERE search MATCH ? LIMIT ?"""
_SEARCH_LIKE: Final = """
    SELECT kind, id FROM search_keys WHERE text LIKE ? ESCAPE '\\' LIMIT ?"""
_KIND_ORDER: Final = {"customer": 0, "account": 1, "bill": 2}
_LAST: Final = "\U0010ffff"


def _starting_with(conn: sqlite3.Connection, text: str, limit: int) -> list[sqlite3.Row]:
    """Names (any case) and references (as typed, or upper-case) starting with ``text``;
    every query is a range on an index."""
    rows: list[sqlite3.Row] = []
    rows += conn.execute(
        "SELECT 'customer' AS kind, id FROM customers WHERE name COLLATE NOCASE >= ?"
        " AND name COLLATE NOCASE < ? LIMIT ?",
        (text, text + _LAST, limit),
    ).fetchall()
    for kind, table in TABLE.items():
        for prefix in dict.fromkeys((text, text.upper())):
            rows += conn.execute(
                f"SELECT '{kind}' AS kind, id FROM {table}"  # noqa: S608
                " WHERE external_reference >= ? AND external_reference < ? LIMIT ?",
                (prefix, prefix + _LAST, limit),
            ).fetchall()
    unique = {(row["kind"], row["id"]): row for row in rows}
    return list(unique.values())[:limit]


def search(
    conn: sqlite3.Connection, text: str, *, limit: int = 50, trigram: bool = True
) -> list[Entry[Any]]:
    """Up to ``limit`` customers, accounts and bills whose id, reference, name, email or
    phone contain ``text`` (case-insensitive): the first found, shown customers first.

    One or two characters match the *start* of a name or reference instead: "contains
    'Th'" is true of half the catalogue and needs a full scan to prove false.
    """
    text = text.strip()
    if not text:
        return []
    if len(text) < SHORT_SEARCH:
        rows = _starting_with(conn, text, limit)
    elif trigram:
        phrase = '"' + text.replace('"', '""') + '"'
        rows = conn.execute(_SEARCH_TRIGRAM, (phrase, limit)).fetchall()
    else:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = conn.execute(_SEARCH_LIKE, (pattern, limit)).fetchall()
    keys = sorted((row["kind"], row["id"]) for row in rows)
    keys.sort(key=lambda key: _KIND_ORDER[key[0]])
    found = [get(conn, kind, object_id) for kind, object_id in keys]
    return [entry for entry in found if entry is not None]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Objects of each kind, and bills by status (kept current by triggers)."""
    result: dict[str, int] = {
        "customer": conn.execute("SELECT count(*) FROM customers").fetchone()[0],
        "account": conn.execute("SELECT count(*) FROM accounts").fetchone()[0],
    }
    by_status = dict(conn.execute("SELECT status, n FROM bill_counts").fetchall())
    for status in BillStatus:
        result[f"bills_{status.value}"] = by_status.get(status.value, 0)
    result["bill"] = sum(by_status.values())
    return result


def remember_all(
    conn: sqlite3.Connection,
    objects: Iterable[BillingObject],
    source: Source,
    *,
    search: bool,
    unless_changed_since: str | None = None,
) -> int:
    now = now_iso()
    count = 0
    for obj in objects:
        upsert(conn, obj, source, search=search, now=now, unless_changed_since=unless_changed_since)
        count += 1
    return count
