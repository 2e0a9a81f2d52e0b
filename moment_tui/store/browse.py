"""What the console's list and detail views read: rows, counts and totals, in SQL.

The lists are windows over the catalogue. A view asks once, per filter and order,
for the ids of every matching row in order (``bill_ids``: one query, an index walk
for the usual orders, ids only), then reads the rows it shows by id (``bill_rows``),
a page at a time: 100,000 bills are never read whole, and a page deep in the list
costs what the first does (``OFFSET`` would walk, and join, every row before it).
The id list is a snapshot: a row whose amount changes stays where it was until the
view asks again, so rows never jump under the cursor.

The text filter matches names, emails, phones, ids and external references, as the
catalogue's search does: three characters or more through its trigram index (a
``LIKE`` scan where SQLite has no trigram tokenizer), one or two by the *start* of
a name or reference. A bill matches through its own id and reference, or through
its customer's or account's; an account through its own or its customer's.

Functions here take a connection; :mod:`moment_tui.ui.queries` runs them in threads.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from moment_tui.api.kinds import ObjectKind
from moment_tui.store import applications as applications_store
from moment_tui.store import changes as changes_store
from moment_tui.store.applications import Application
from moment_tui.store.changes import ObjectChange
from moment_tui.store.schema import SHORT_SEARCH, TABLE, select_in

StatusFilter = Literal["unpaid", "paid", "voided", "overdue"]
STATUS_FILTERS: Final[tuple[StatusFilter, ...]] = ("unpaid", "overdue", "paid", "voided")
AGING: Final = (("current", 0), ("1–30", 30), ("31–60", 60), ("61–90", 90), ("90+", None))
_LAST: Final = "\U0010ffff"


@dataclass(frozen=True)
class Filter:
    """What a list shows: ``text`` as typed, a bill status, and the holder it is under."""

    text: str = ""
    status: StatusFilter | None = None
    customer_id: str | None = None
    account_id: str | None = None
    today: dt.date = field(default_factory=dt.date.today)


@dataclass(frozen=True)
class Order:
    """A column to sort by (a key of the view's ``SORTS``), and the direction."""

    column: str
    descending: bool = False


# --- rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BillRow:
    id: str
    external_reference: str
    customer_id: str
    account_id: str | None
    customer_name: str | None
    account_name: str | None
    status: str
    currency: str
    amount_due: int
    amount_paid: int
    amount_remaining: int
    bill_date: str | None
    due_date: str | None

    def overdue_on(self, today: dt.date) -> bool:
        return (
            self.status == "unpaid"
            and self.due_date is not None
            and self.due_date < today.isoformat()
        )


@dataclass(frozen=True)
class CustomerRow:
    id: str
    external_reference: str
    name: str | None
    email: str | None
    phone: str | None
    currency: str | None
    balance: int | None
    accounts: int
    bills: int
    outstanding: int  # unpaid bills' remaining amounts …
    outstanding_currency: str | None  # … in this currency (None: several, or none unpaid)


@dataclass(frozen=True)
class AccountRow:
    id: str
    external_reference: str
    customer_id: str
    customer_name: str | None
    name: str | None
    currency: str | None
    balance: int | None
    bills: int
    outstanding: int
    outstanding_currency: str | None


# --- the text filter ----------------------------------------------------------------


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _hits(text: str, kind: ObjectKind, *, trigram: bool) -> tuple[str, list[Any]]:
    """A ``SELECT id`` of the objects of ``kind`` whose own search text matches."""
    if len(text) < SHORT_SEARCH:
        table = TABLE[kind]
        upper = text.upper()
        sql = (
            f"SELECT id FROM {table} WHERE external_reference >= ? AND external_reference < ?"
            f" UNION SELECT id FROM {table} WHERE external_reference >= ?"
            " AND external_reference < ?"
        )
        params: list[Any] = [text, text + _LAST, upper, upper + _LAST]
        if kind != "bill":
            sql += f" UNION SELECT id FROM {table} WHERE name COLLATE NOCASE >= ?"
            sql += " AND name COLLATE NOCASE < ?"
            params += [text, text + _LAST]
        return sql, params
    if trigram:
        phrase = '"' + text.replace('"', '""') + '"'
        return (
            "SELECT k.id FROM search CROSS JOIN search_keys AS k ON k.rowid = search.rowid"
            " WHERE search MATCH ? AND k.kind = ?",
            [phrase, kind],
        )
    return (
        "SELECT id FROM search_keys WHERE kind = ? AND text LIKE ? ESCAPE '\\'",
        [kind, _like(text)],
    )


def _holder_match(
    links: Sequence[tuple[str, ObjectKind]], text: str, trigram: bool
) -> tuple[str, list[Any]]:
    """``(b.id IN (hits) OR b.customer_id IN (hits) …)``: a row matches through itself
    or any of its holders; ``links`` pairs each column with the kind it names."""
    parts: list[str] = []
    params: list[Any] = []
    for column, kind in links:
        sql, p = _hits(text, kind, trigram=trigram)
        parts.append(f"{column} IN ({sql})")
        params += p
    return "(" + " OR ".join(parts) + ")", params


def _ids(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[str]:
    """The first column of every row, as plain tuples (a ``Row`` each costs more)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return [row[0] for row in cursor.execute(sql, params)]


# --- bills ----------------------------------------------------------------------------

_BILL_COLUMNS: Final = (
    "b.id, b.external_reference, b.customer_id, b.account_id, c.name AS customer_name,"
    " a.name AS account_name, b.status, b.currency, b.amount_due, b.amount_paid,"
    " b.amount_remaining, b.bill_date, b.due_date"
)
_BILL_FROM: Final = (
    "FROM bills AS b LEFT JOIN customers AS c ON c.id = b.customer_id"
    " LEFT JOIN accounts AS a ON a.id = b.account_id"
)
BILL_SORTS: Final[dict[str, str]] = {
    "due_date": "b.due_sort",
    "reference": "b.external_reference",
    "customer": "coalesce(c.name, '') COLLATE NOCASE",
    "account": "coalesce(a.name, '') COLLATE NOCASE",
    "amount_due": "b.amount_due",
    "amount_paid": "b.amount_paid",
    "amount_remaining": "b.amount_remaining",
    "status": "b.status",
    "bill_date": "coalesce(b.bill_date, '')",
    "paid_fraction": "(b.amount_paid * 1.0 / b.amount_due)",
}


def _bill_where(f: Filter, trigram: bool) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if f.status == "overdue":
        where += ["b.status = 'unpaid'", "b.due_sort < ?"]
        params.append(f.today.isoformat())
    elif f.status is not None:
        where.append("b.status = ?")
        params.append(f.status)
    if f.customer_id:
        where.append("b.customer_id = ?")
        params.append(f.customer_id)
    if f.account_id:
        where.append("b.account_id = ?")
        params.append(f.account_id)
    text = f.text.strip()
    if text:
        links: tuple[tuple[str, ObjectKind], ...] = (
            ("b.id", "bill"),
            ("b.customer_id", "customer"),
            ("b.account_id", "account"),
        )
        sql, p = _holder_match(links, text, trigram)
        where.append(sql)
        params += p
    return (" WHERE " + " AND ".join(where)) if where else "", params


def _order(sorts: dict[str, str], order: Order | None, default: str, prefix: str) -> str:
    column = sorts.get(order.column if order else default, sorts[default])
    direction = " DESC" if order is not None and order.descending else ""
    return f" ORDER BY {column}{direction}, {prefix}id{direction}"


def bill_ids(
    conn: sqlite3.Connection, f: Filter, order: Order | None = None, *, trigram: bool = True
) -> list[str]:
    """Every bill ``f`` matches, in ``order``: the list a view pages through.

    One query per filter or order, walking an index where the order has one; pages
    are then read by id (:func:`bill_rows`), so a deep page costs what the first does.
    """
    where, params = _bill_where(f, trigram)
    joins = (
        _BILL_FROM
        if order is not None and order.column in ("customer", "account")
        else ("FROM bills AS b")
    )
    sql = f"SELECT b.id {joins}{where}" + _order(BILL_SORTS, order, "due_date", "b.")
    return _ids(conn, sql, params)


def bill_rows(conn: sqlite3.Connection, ids: Collection[str]) -> dict[str, BillRow]:
    """These bills (those the catalogue has), by id."""
    rows = select_in(conn, f"SELECT {_BILL_COLUMNS} {_BILL_FROM} WHERE b.id", list(ids))
    return {row["id"]: _bill_row(row) for row in rows}


def _bill_row(row: sqlite3.Row) -> BillRow:
    return BillRow(**{key: row[key] for key in row.keys()})  # noqa: SIM118


# --- customers ------------------------------------------------------------------------

_CUSTOMER_COLUMNS: Final = (
    "c.id, c.external_reference, c.name, c.email, json_extract(c.data, '$.phone') AS phone,"
    " c.currency, c.balance,"
    " (SELECT count(*) FROM accounts WHERE customer_id = c.id) AS accounts,"
    " (SELECT count(*) FROM bills WHERE customer_id = c.id) AS bills,"
    " (SELECT coalesce(sum(amount_remaining), 0) FROM bills WHERE customer_id = c.id"
    "  AND status = 'unpaid') AS outstanding,"
    # NULL when the unpaid bills are in several currencies: no one currency's sum.
    " (SELECT CASE WHEN count(DISTINCT currency) = 1 THEN max(currency) END FROM bills"
    "  WHERE customer_id = c.id AND status = 'unpaid') AS outstanding_currency"
)
CUSTOMER_SORTS: Final[dict[str, str]] = {
    "name": "coalesce(c.name, '') COLLATE NOCASE",
    "reference": "c.external_reference",
    "email": "coalesce(c.email, '') COLLATE NOCASE",
    "phone": "coalesce(json_extract(c.data, '$.phone'), '')",
    "balance": "coalesce(c.balance, 0)",
    "accounts": "(SELECT count(*) FROM accounts WHERE customer_id = c.id)",
    "bills": "(SELECT count(*) FROM bills WHERE customer_id = c.id)",
    "outstanding": (
        "(SELECT coalesce(sum(amount_remaining), 0) FROM bills WHERE customer_id = c.id"
        " AND status = 'unpaid')"
    ),
}


def _customer_where(f: Filter, trigram: bool) -> tuple[str, list[Any]]:
    text = f.text.strip()
    if not text:
        return "", []
    sql, params = _hits(text, "customer", trigram=trigram)
    return f" WHERE c.id IN ({sql})", params


def customer_ids(
    conn: sqlite3.Connection, f: Filter, order: Order | None = None, *, trigram: bool = True
) -> list[str]:
    where, params = _customer_where(f, trigram)
    sql = f"SELECT c.id FROM customers AS c{where}" + _order(CUSTOMER_SORTS, order, "name", "c.")
    return _ids(conn, sql, params)


def customer_rows(conn: sqlite3.Connection, ids: Collection[str]) -> dict[str, CustomerRow]:
    rows = select_in(conn, f"SELECT {_CUSTOMER_COLUMNS} FROM customers AS c WHERE c.id", list(ids))
    return {row["id"]: CustomerRow(**dict(row)) for row in rows}


def owing(conn: sqlite3.Connection, kind: ObjectKind, ids: Collection[str]) -> set[str]:
    """Which of these accounts or customers a payment can go to: a positive balance, or
    unpaid bills (a customer's own: bills on its accounts are paid through them)."""
    table = TABLE[kind]
    column = "account_id" if kind == "account" else "customer_id"
    own = "" if kind == "account" else " AND b.account_id IS NULL"
    rows = select_in(
        conn,
        f"SELECT o.id FROM {table} AS o WHERE (coalesce(o.balance, 0) > 0"
        f" OR EXISTS (SELECT 1 FROM bills AS b WHERE b.{column} = o.id"
        f" AND b.status = 'unpaid'{own})) AND o.id",
        list(ids),
    )
    return {row[0] for row in rows}


# --- accounts -------------------------------------------------------------------------

_ACCOUNT_COLUMNS: Final = (
    "a.id, a.external_reference, a.customer_id, c.name AS customer_name, a.name, a.currency,"
    " a.balance,"
    " (SELECT count(*) FROM bills WHERE account_id = a.id) AS bills,"
    " (SELECT coalesce(sum(amount_remaining), 0) FROM bills WHERE account_id = a.id"
    "  AND status = 'unpaid') AS outstanding,"
    " (SELECT CASE WHEN count(DISTINCT currency) = 1 THEN max(currency) END FROM bills"
    "  WHERE account_id = a.id AND status = 'unpaid') AS outstanding_currency"
)
_ACCOUNT_FROM: Final = "FROM accounts AS a LEFT JOIN customers AS c ON c.id = a.customer_id"
ACCOUNT_SORTS: Final[dict[str, str]] = {
    "customer": "coalesce(c.name, '') COLLATE NOCASE",
    "name": "coalesce(a.name, '') COLLATE NOCASE",
    "reference": "a.external_reference",
    "balance": "coalesce(a.balance, 0)",
    "bills": "(SELECT count(*) FROM bills WHERE account_id = a.id)",
    "outstanding": (
        "(SELECT coalesce(sum(amount_remaining), 0) FROM bills WHERE account_id = a.id"
        " AND status = 'unpaid')"
    ),
}


def _account_where(f: Filter, trigram: bool) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if f.customer_id:
        where.append("a.customer_id = ?")
        params.append(f.customer_id)
    text = f.text.strip()
    if text:
        sql, p = _holder_match((("a.id", "account"), ("a.customer_id", "customer")), text, trigram)
        where.append(sql)
        params += p
    return (" WHERE " + " AND ".join(where)) if where else "", params


def account_ids(
    conn: sqlite3.Connection, f: Filter, order: Order | None = None, *, trigram: bool = True
) -> list[str]:
    where, params = _account_where(f, trigram)
    sql = f"SELECT a.id {_ACCOUNT_FROM}{where}" + _order(ACCOUNT_SORTS, order, "customer", "a.")
    return _ids(conn, sql, params)


def account_rows(conn: sqlite3.Connection, ids: Collection[str]) -> dict[str, AccountRow]:
    rows = select_in(conn, f"SELECT {_ACCOUNT_COLUMNS} {_ACCOUNT_FROM} WHERE a.id", list(ids))
    return {row["id"]: AccountRow(**dict(row)) for row in rows}


# --- home: at a glance ------------------------------------------------------------------


@dataclass(frozen=True)
class Glance:
    """Outstanding money per currency, and how overdue it is."""

    outstanding: dict[str, int]  # currency → unpaid bills' remaining amounts
    unpaid_bills: dict[str, int]  # currency → how many
    # currency → one (bills, amount) per AGING bucket: not yet due (or no due date),
    # then 1–30, 31–60, 61–90 and over 90 days past the due date.
    aging: dict[str, list[tuple[int, int]]]


def glance(conn: sqlite3.Connection, today: dt.date) -> Glance:
    """One pass over the unpaid bills (the status index), grouped in SQL."""
    days = {f"d{n}": (today - dt.timedelta(days=n)).isoformat() for n in (0, 30, 60, 90)}
    rows = conn.execute(  # ISO dates compare as text: no date arithmetic per bill
        "SELECT currency, CASE"
        " WHEN due_sort >= :d0 THEN 0 WHEN due_sort >= :d30 THEN 1"
        " WHEN due_sort >= :d60 THEN 2 WHEN due_sort >= :d90 THEN 3"
        " ELSE 4 END AS bucket, count(*) AS n, sum(amount_remaining) AS amount"
        " FROM bills WHERE status = 'unpaid' GROUP BY currency, bucket",
        days,
    ).fetchall()
    outstanding: dict[str, int] = {}
    unpaid: dict[str, int] = {}
    aging: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        currency = row["currency"]
        buckets = aging.setdefault(currency, [(0, 0)] * len(AGING))
        buckets[row["bucket"]] = (row["n"], row["amount"])
        outstanding[currency] = outstanding.get(currency, 0) + row["amount"]
        unpaid[currency] = unpaid.get(currency, 0) + row["n"]
    return Glance(outstanding, unpaid, aging)


# --- detail: what happened to an object -------------------------------------------------


@dataclass(frozen=True)
class Related:
    """What a detail view shows beside the object itself."""

    accounts: list[AccountRow]
    bills: list[BillRow]
    applications: list[tuple[Application, str | None]]  # with the delivery's received_at
    changes: list[ObjectChange] = field(default_factory=list)  # its own edits, newest first


RELATED_LIMIT: Final = 500  # bills and payments shown on one detail page


def related(conn: sqlite3.Connection, kind: str, object_id: str) -> Related:
    """A customer's accounts and bills, an account's bills, and the payments applied
    to the object or to anything under it, and its own recorded changes, newest first."""
    accounts_: list[AccountRow] = []
    bills_: list[BillRow] = []
    if kind == "customer":
        accounts_ = _in_order(
            account_ids(conn, Filter(customer_id=object_id))[:RELATED_LIMIT], account_rows, conn
        )
        bills_ = _in_order(
            bill_ids(conn, Filter(customer_id=object_id))[:RELATED_LIMIT], bill_rows, conn
        )
    elif kind == "account":
        bills_ = _in_order(
            bill_ids(conn, Filter(account_id=object_id))[:RELATED_LIMIT], bill_rows, conn
        )
    return Related(
        accounts_,
        bills_,
        applications_for(conn, kind, object_id),
        changes_store.for_object(conn, object_id),
    )


RowT = TypeVar("RowT")


def _in_order(
    ids: list[str],
    read: Callable[[sqlite3.Connection, Collection[str]], dict[str, RowT]],
    conn: sqlite3.Connection,
) -> list[RowT]:
    found = read(conn, ids)
    return [found[i] for i in ids if i in found]


def applications_for(
    conn: sqlite3.Connection, kind: str, object_id: str, *, limit: int = RELATED_LIMIT
) -> list[tuple[Application, str | None]]:
    """Applications that changed this object (or paid it through its holder), newest
    first: found by target through an index, then kept if a change names the object."""
    targets = {object_id}
    if kind == "bill":
        row = conn.execute(
            "SELECT customer_id, account_id FROM bills WHERE id = ?", (object_id,)
        ).fetchone()
        if row is not None:
            targets |= {row["customer_id"], *([row["account_id"]] if row["account_id"] else [])}
    elif kind == "customer":
        targets |= {
            r[0]
            for r in conn.execute("SELECT id FROM accounts WHERE customer_id = ?", (object_id,))
        }
        targets |= {
            r[0] for r in conn.execute("SELECT id FROM bills WHERE customer_id = ?", (object_id,))
        }
    elif kind == "account":
        targets |= {
            r[0] for r in conn.execute("SELECT id FROM bills WHERE account_id = ?", (object_id,))
        }
    rows = select_in(
        conn,
        "SELECT a.*, d.received_at FROM applications AS a"
        " LEFT JOIN deliveries AS d ON d.seq = a.delivery_seq WHERE a.target_id",
        sorted(targets),
    )
    found: list[tuple[Application, str | None]] = []
    for row in rows:
        app = applications_store.from_row(row)
        # A payment to a bill's holder counts only if part of it went to this bill.
        if kind == "bill" and app.target_id != object_id and not _touches(app, object_id):
            continue
        found.append((app, row["received_at"]))
    found.sort(key=lambda pair: pair[0].delivery_seq, reverse=True)
    return found[:limit]


def _touches(app: Application, object_id: str) -> bool:
    return any(c.id == object_id for c in app.changes) or any(
        bill == object_id for bill, _ in app.allocation
    )
