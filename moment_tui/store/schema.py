"""The workspace database: one SQLite file per API mode and base URL.

Three parts:

* the **catalogue** — the last known copy of every customer, account and bill the
  console has met (created, looked up, listed, imported, seen in a webhook), with
  when and how it was learned, the bill → account → customer links as columns, and
  a trigram full-text index for search;
* the **event log** — every webhook delivery that reached the listener, verified or
  not, with its raw headers and body, receive time and verdict;
* **applications** — what each verified event did to the catalogue (before/after
  values, how an account payment was allocated) and whether the server agreed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from moment_tui.api.kinds import ObjectKind

VERSION: Final = 3  # 2: first_source; 3: object_changes
# Each kind's catalogue table (here, not in ``catalogue``: ``browse`` reads them
# before the first paint, without the pydantic models ``catalogue`` imports).
TABLE: Final[dict[ObjectKind, str]] = {
    "customer": "customers",
    "account": "accounts",
    "bill": "bills",
}
SHORT_SEARCH: Final = 3  # shorter text searches by prefix (trigrams need three characters)

_TABLES = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    external_reference TEXT NOT NULL,
    name TEXT, email TEXT, currency TEXT, balance INTEGER,
    data TEXT NOT NULL,
    source TEXT NOT NULL,
    first_source TEXT,  -- how it was first met (version 2; NULL: before then, unknown)
    learned_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_by_reference ON customers(external_reference);
CREATE INDEX IF NOT EXISTS customers_by_name ON customers(name COLLATE NOCASE);

CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    external_reference TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    name TEXT, currency TEXT, balance INTEGER,
    data TEXT NOT NULL,
    source TEXT NOT NULL,
    first_source TEXT,  -- how it was first met (version 2; NULL: before then, unknown)
    learned_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_by_reference ON accounts(external_reference);
CREATE INDEX IF NOT EXISTS accounts_by_customer ON accounts(customer_id);

CREATE TABLE IF NOT EXISTS bills (
    id TEXT PRIMARY KEY,
    external_reference TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    account_id TEXT,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_due INTEGER NOT NULL,
    amount_paid INTEGER NOT NULL,
    amount_remaining INTEGER NOT NULL,
    bill_date TEXT, due_date TEXT,
    due_sort TEXT NOT NULL,
    data TEXT NOT NULL,
    source TEXT NOT NULL,
    first_source TEXT,  -- how it was first met (version 2; NULL: before then, unknown)
    learned_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bills_by_reference ON bills(external_reference);
CREATE INDEX IF NOT EXISTS bills_by_due ON bills(due_sort, id);
CREATE INDEX IF NOT EXISTS bills_by_status ON bills(status, due_sort, id);
CREATE INDEX IF NOT EXISTS bills_by_customer ON bills(customer_id, due_sort, id);
CREATE INDEX IF NOT EXISTS bills_by_account ON bills(account_id, due_sort, id);

-- Bills by status, kept by triggers: the console's header reads it at once.
CREATE TABLE IF NOT EXISTS bill_counts (
    status TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS bill_counts_insert AFTER INSERT ON bills BEGIN
    INSERT INTO bill_counts (status, n) VALUES (new.status, 1)
        ON CONFLICT(status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS bill_counts_delete AFTER DELETE ON bills BEGIN
    UPDATE bill_counts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER IF NOT EXISTS bill_counts_update AFTER UPDATE OF status ON bills
    WHEN old.status != new.status BEGIN
    UPDATE bill_counts SET n = n - 1 WHERE status = old.status;
    INSERT INTO bill_counts (status, n) VALUES (new.status, 1)
        ON CONFLICT(status) DO UPDATE SET n = n + 1;
END;

CREATE TABLE IF NOT EXISTS search_keys (
    rowid INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (kind, id)
);

CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY,
    webhook_id TEXT,
    received_at TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('verified', 'rejected', 'duplicate')),
    reason TEXT,
    message TEXT NOT NULL,
    status INTEGER NOT NULL,
    remote TEXT,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    body_size INTEGER NOT NULL,
    event_id TEXT, event_type TEXT,
    amount INTEGER, currency TEXT,
    customer_id TEXT, account_id TEXT, bill_id TEXT,
    matched_secret TEXT,
    diagnosis TEXT,
    duplicate_of INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_verified_once
    ON deliveries(webhook_id) WHERE verdict = 'verified';
CREATE INDEX IF NOT EXISTS deliveries_by_verdict ON deliveries(verdict, seq);
-- The other copies of a webhook-id (rejected, duplicate): verified ones are found by
-- deliveries_verified_once, so the common insert maintains one index on it, not two.
DROP INDEX IF EXISTS deliveries_by_webhook_id;
CREATE INDEX IF NOT EXISTS deliveries_others_by_webhook_id
    ON deliveries(webhook_id) WHERE verdict != 'verified';
CREATE INDEX IF NOT EXISTS deliveries_by_event
    ON deliveries(event_id) WHERE verdict = 'verified';

CREATE TABLE IF NOT EXISTS applications (
    delivery_seq INTEGER PRIMARY KEY REFERENCES deliveries(seq),
    webhook_id TEXT NOT NULL UNIQUE,
    applied_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    target_kind TEXT, target_id TEXT,
    changes TEXT NOT NULL,
    allocation TEXT,
    note TEXT,
    state TEXT NOT NULL
        CHECK (state IN ('applied', 'confirmed', 'drift', 'unconfirmed')),
    drift TEXT,
    checked_at TEXT
);
CREATE INDEX IF NOT EXISTS applications_by_state ON applications(state);
CREATE INDEX IF NOT EXISTS applications_by_target ON applications(target_id);
-- When each object's re-fetch last agreed with our copy: events applied before then
-- were part of a copy the server confirmed, whatever drift comes later.
CREATE TABLE IF NOT EXISTS object_checks (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    agreed_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
-- Unchecked account and customer payments, which may have paid part of a bill: a
-- drift decision on that bill reads these, not every unchecked application.
CREATE INDEX IF NOT EXISTS applications_allocating_unchecked ON applications(delivery_seq)
    WHERE allocation IS NOT NULL AND state = 'applied';
-- What a new copy of one object changed, field by field, when it came from an edit in
-- this console or a look-up (payments keep their own before → after in applications).
CREATE TABLE IF NOT EXISTS object_changes (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS object_changes_by_id ON object_changes(id, seq);
"""

_SEARCH = """
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(text, tokenize = 'trigram');
"""


def create(conn: sqlite3.Connection) -> bool:
    """Create or check the schema; returns whether trigram search is available."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise RuntimeError(
            f"this workspace was written by a newer moment-tui (schema {version} > {VERSION})"
        )
    conn.executescript(_TABLES)
    for table in TABLE.values():  # a workspace of version 1: the column it lacks
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if "first_source" not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN first_source TEXT")
    counted = conn.execute("SELECT count(*) FROM bill_counts").fetchone()[0]
    if not counted:  # bill_counts is new in this file: count what is already there
        conn.execute(
            "INSERT INTO bill_counts (status, n) SELECT status, count(*) FROM bills GROUP BY status"
        )
    try:
        conn.executescript(_SEARCH)
        search = True
    except sqlite3.OperationalError:  # SQLite without FTS5 or the trigram tokenizer
        search = False
    conn.execute(f"PRAGMA user_version = {VERSION}")
    return search


IN_CHUNK: Final = 500  # values per IN (…) list, well inside SQLite's bound on parameters


def select_in(conn: sqlite3.Connection, select: str, values: Sequence[object]) -> list[sqlite3.Row]:
    """The rows of ``select`` (ending in the column to match) ``IN`` any of ``values``:
    one query per :data:`IN_CHUNK` of them."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows += conn.execute(f"{select} IN ({marks})", chunk).fetchall()
    return rows
