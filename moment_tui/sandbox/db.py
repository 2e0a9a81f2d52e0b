"""The sandbox's SQLite database: schema, connection and transactions.

One connection, used from the sandbox's own event loop thread. Writes run inside
``BEGIN IMMEDIATE`` transactions so a nested creation (customer → account → bill)
either lands whole or not at all. WAL mode with ``synchronous=NORMAL``: a committed
write survives the sandbox process crashing (it is a simulator, not a bank; an OS
crash may lose the last moments).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    external_reference TEXT NOT NULL UNIQUE,
    name TEXT, email TEXT, phone TEXT, currency TEXT, balance INTEGER,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    external_reference TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    name TEXT, currency TEXT, balance INTEGER,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_by_customer ON accounts(customer_id, seq);
CREATE TABLE IF NOT EXISTS bills (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    external_reference TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    account_id TEXT REFERENCES accounts(id),
    status TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'voided')),
    currency TEXT NOT NULL,
    amount_due INTEGER NOT NULL,
    amount_paid INTEGER NOT NULL DEFAULT 0,
    bill_date TEXT, due_date TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bills_by_customer ON bills(customer_id, seq);
CREATE INDEX IF NOT EXISTS bills_by_account ON bills(account_id, seq);
CREATE INDEX IF NOT EXISTS bills_by_status ON bills(status, seq);
CREATE INDEX IF NOT EXISTS bills_by_customer_status ON bills(customer_id, status, seq);
CREATE INDEX IF NOT EXISTS bills_by_account_status ON bills(account_id, status, seq);
-- What an account or customer has unpaid, per currency, read from the index alone:
-- every object's payment_rules need it (objects.largest_payments), a page at a time.
CREATE INDEX IF NOT EXISTS bills_unpaid_on_account
    ON bills(account_id, currency, amount_due, amount_paid, status) WHERE status = 'unpaid';
CREATE INDEX IF NOT EXISTS bills_unpaid_on_customer
    ON bills(customer_id, currency, amount_due, amount_paid, status, account_id)
    WHERE status = 'unpaid' AND account_id IS NULL;
CREATE TABLE IF NOT EXISTS payments (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    allocation TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    payload BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_due ON events(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    url TEXT NOT NULL,
    webhook_timestamp INTEGER NOT NULL,
    status_code INTEGER,
    response TEXT,
    error TEXT,
    latency_ms REAL NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries(event_id, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status INTEGER,
    body BLOB,
    created_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency(created_at);
-- The /pay/{bill} form's tokens are signed with this key (sandbox/tokens.py), made
-- once per database, so rendering a page writes nothing.
CREATE TABLE IF NOT EXISTS pay_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);
-- Form tokens that have paid, with the payment each made, so a double submit pays
-- once; created_at is the token's issue time, and a row goes when its token expires.
CREATE TABLE IF NOT EXISTS pay_tokens (
    token TEXT PRIMARY KEY,
    bill_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pay_tokens_age ON pay_tokens(created_at);
-- Earlier sandboxes stored every token a page rendering minted: the unused ones,
-- unsigned, can never pay now.
DELETE FROM pay_tokens WHERE payment_id IS NULL;
-- The unused settings table of earlier sandboxes: dropped from their databases.
DROP TABLE IF EXISTS settings;
"""


class Database:
    """The sandbox's single SQLite connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA busy_timeout = 5000")
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.executescript(SCHEMA)
        except BaseException:  # not a database we can use: leave nothing open behind
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def savepoint(self, name: str = "step") -> Iterator[None]:
        """Undo just this block on an exception (inside a transaction)."""
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params).fetchall())


def dumps(value: Any) -> str:
    """Compact JSON, the same bytes every time for the same value."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
