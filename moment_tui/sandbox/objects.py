"""Customers, accounts and bills: the sandbox's rules for creating, finding and changing them.

Callers wrap writes in :meth:`Database.transaction`, so a nested creation that fails
part-way (say the bill's reference is taken after its new customer was inserted)
rolls back whole. Choices where Moment's docs are silent are listed in the README
("Sandbox behaviour where Moment's docs are silent").
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from moment_tui.api.models import (
    AMOUNT_MAX,
    BALANCE_LIMIT,
    ID_PATTERNS,
    METADATA_MAX_KEYS,
    AccountCreate,
    AccountUpdate,
    BillCreate,
    BillStatus,
    BillUpdate,
    CustomerCreate,
    CustomerUpdate,
    NestedAccountCreate,
    ObjectKind,
)
from moment_tui.billing import OpenBill, outstanding, settle
from moment_tui.sandbox.db import Database, dumps
from moment_tui.sandbox.ids import new_id
from moment_tui.sandbox.problems import conflict, not_found, unprocessable

TABLE: Final[dict[ObjectKind, str]] = {
    "customer": "customers",
    "account": "accounts",
    "bill": "bills",
}


@dataclass(frozen=True)
class Payable:
    """What a payment to an account or customer may be now: its currency (the
    holder's, else that of all its unpaid bills), those bills, and the balance."""

    currency: str
    bills: list[OpenBill]
    balance: int | None

    @property
    def owed(self) -> int:
        """What paying "in full" means."""
        return outstanding(self.bills, self.balance)

    @property
    def most(self) -> int:
        """The largest payment accepted now (0: none is)."""
        return largest_payment(sum(b.amount_remaining for b in self.bills), self.balance)


def largest_payment(bills: int, balance: int | None) -> int:
    """The most one payment may be, given the unpaid bills it would settle first: past
    them it lowers the balance, which must stay at or above -(2^53-1); with no balance
    tracked there is nothing past them to pay."""
    if balance is None:
        return min(bills, AMOUNT_MAX)
    return max(min(bills + balance + BALANCE_LIMIT, AMOUNT_MAX), 0)


def payment_currency(own: str | None, bill_currencies: set[str]) -> tuple[str | None, str]:
    """The currency of a payment to a holder: its own, else that of all its unpaid
    bills; ``(None, why not)`` when there is none."""
    if own:
        return own, ""
    if len(bill_currencies) == 1:
        return next(iter(bill_currencies)), ""
    if bill_currencies:
        return None, "has bills in several currencies; pay them one by one"
    return None, "has no balance and no unpaid bills to pay"


def moment_now() -> str:
    """Now as Moment writes timestamps: ISO 8601 UTC to the second, ``Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Objects:
    """Create, resolve, update and void billing objects in the sandbox database."""

    def __init__(
        self,
        db: Database,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.today = today
        self.rng = rng

    # --- lookup -------------------------------------------------------------------

    def find(self, kind: ObjectKind, ref: str) -> sqlite3.Row | None:
        """By id when ``ref`` has the kind's id shape and such an object exists, else by
        external reference (so a reference that merely looks like an id still works)."""
        table = TABLE[kind]
        if ID_PATTERNS[kind].match(ref):
            row = self.db.one(f"SELECT * FROM {table} WHERE id = ?", (ref,))  # noqa: S608
            if row is not None:
                return row
        return self.db.one(
            f"SELECT * FROM {table} WHERE external_reference = ?",  # noqa: S608
            (ref,),
        )

    def resolve(self, kind: ObjectKind, ref: str) -> sqlite3.Row:
        row = self.find(kind, ref)
        if row is None:
            raise not_found(kind, ref)
        return row

    def _existing(self, kind: ObjectKind, ref: str, field: str) -> sqlite3.Row:
        """An object named inside a request body: missing is 422 on that field."""
        row = self.find(kind, ref)
        if row is None:
            raise unprocessable(f"{kind} {ref!r} doesn't exist", field)
        return row

    def _reference_free(
        self, kind: ObjectKind, reference: str, field: str, *, by_id_only: bool = False
    ) -> None:
        """409 when ``reference`` is taken. For a nested new object (``account.customer``)
        the detail says how to name the existing one instead: by that reference where
        the field takes one, by its id where only an id is accepted (``by_id_only``: a
        bill's top-level ``account`` and ``customer``, reference §12.1)."""
        taken = self.db.one(
            f"SELECT id FROM {TABLE[kind]} WHERE external_reference = ?",  # noqa: S608
            (reference,),
        )
        if taken is not None:
            article = "an" if kind[0] in "aeiou" else "a"
            detail = (
                f"{article} {kind} with external_reference {reference!r} already exists "
                f"({taken['id']})"
            )
            # A top-level create has nothing else to pass.
            parent = field.removesuffix(".external_reference")
            if parent != field:
                if by_id_only:
                    detail += f"; to use it, pass {parent} as its id {taken['id']!r}"
                else:
                    detail += f"; to use it, pass {parent} as the string {reference!r}"
            raise conflict("duplicate-external-reference", detail, field)

    # --- create -------------------------------------------------------------------

    def create_customer(
        self, body: CustomerCreate, field: str = "", *, by_id_only: bool = False
    ) -> sqlite3.Row:
        self._reference_free(
            "customer",
            body.external_reference,
            _at(field, "external_reference"),
            by_id_only=by_id_only,
        )
        new = new_id("customer", rng=self.rng)
        self.db.conn.execute(
            "INSERT INTO customers (id, external_reference, name, email, phone, currency,"
            " balance, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new,
                body.external_reference,
                body.name,
                body.email,
                body.phone,
                body.currency,
                body.balance,
                dumps(_kept(body.metadata or {})),
                moment_now(),
            ),
        )
        return self.resolve("customer", new)

    def create_account(
        self,
        body: AccountCreate | NestedAccountCreate,
        customer_id: str,
        field: str = "",
        *,
        by_id_only: bool = False,
    ) -> sqlite3.Row:
        self._reference_free(
            "account",
            body.external_reference,
            _at(field, "external_reference"),
            by_id_only=by_id_only,
        )
        new = new_id("account", rng=self.rng)
        self.db.conn.execute(
            "INSERT INTO accounts (id, external_reference, customer_id, name, currency, balance,"
            " metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new,
                body.external_reference,
                customer_id,
                body.name,
                body.currency,
                body.balance,
                dumps(_kept(body.metadata or {})),
                moment_now(),
            ),
        )
        return self.resolve("account", new)

    def customer_for(
        self, value: str | CustomerCreate, field: str, *, by_id_only: bool = False
    ) -> sqlite3.Row:
        """An existing customer named by id/reference (``by_id_only``: where the field
        takes an id alone), or a new one created now."""
        if isinstance(value, str):
            return self._existing("customer", value, field)
        return self.create_customer(value, field, by_id_only=by_id_only)

    def create_account_request(self, body: AccountCreate) -> sqlite3.Row:
        customer = self.customer_for(body.customer, "customer")
        return self.create_account(body, customer["id"])

    def create_bill(self, body: BillCreate) -> sqlite3.Row:
        account: sqlite3.Row | None = None
        if isinstance(body.account, NestedAccountCreate):
            owner = body.account.customer if body.account.customer is not None else body.customer
            assert owner is not None  # BillCreate's validator guarantees one
            # Inside the new account, customer takes a reference too (as on
            # POST /billing/accounts); the bill's own customer and account take ids only.
            inside = body.account.customer is not None
            where = "account.customer" if inside else "customer"
            customer = self.customer_for(owner, where, by_id_only=not inside)
            account = self.create_account(body.account, customer["id"], "account", by_id_only=True)
        elif isinstance(body.account, str):
            account = self._existing("account", body.account, "account")
            if body.customer is not None and not isinstance(body.customer, str):
                # Checked before anything is created: a new customer owns no account yet.
                raise unprocessable(
                    f"account {body.account!r} belongs to {account['customer_id']}; "
                    "a new customer cannot own an existing account",
                    "customer",
                )
            if body.customer is not None:
                named = self.customer_for(body.customer, "customer", by_id_only=True)
                if named["id"] != account["customer_id"]:
                    raise unprocessable(
                        f"account {body.account!r} belongs to {account['customer_id']}, "
                        f"not to {named['id']}",
                        "customer",
                    )
            customer = self.resolve("customer", account["customer_id"])
        else:
            assert body.customer is not None
            customer = self.customer_for(body.customer, "customer", by_id_only=True)
        self._reference_free("bill", body.external_reference, "external_reference")
        # bill_date defaults to today (reference §12.1), even when the due date has
        # passed: an overdue bill is legitimate. Only a due_date before a bill_date the
        # caller sent is refused, by BillCreate itself.
        bill_date = body.bill_date or self.today()
        new = new_id("bill", rng=self.rng)
        self.db.conn.execute(
            "INSERT INTO bills (id, external_reference, customer_id, account_id, status, currency,"
            " amount_due, amount_paid, bill_date, due_date, metadata, created_at)"
            " VALUES (?, ?, ?, ?, 'unpaid', ?, ?, 0, ?, ?, ?, ?)",
            (
                new,
                body.external_reference,
                customer["id"],
                account["id"] if account is not None else None,
                body.currency,
                body.amount_due,
                bill_date.isoformat(),
                body.due_date.isoformat() if body.due_date else None,
                dumps(_kept(body.metadata or {})),
                moment_now(),
            ),
        )
        return self.resolve("bill", new)

    # --- update -------------------------------------------------------------------

    def update_holder(
        self, kind: ObjectKind, ref: str, body: CustomerUpdate | AccountUpdate
    ) -> sqlite3.Row:
        """PATCH a customer or account: ``balance`` replaces, ``metadata`` merges."""
        row = self.resolve(kind, ref)
        changes = body.model_dump(exclude_none=True, exclude={"metadata"})
        currency = changes.get("currency")
        if (
            currency
            and currency != row["currency"]
            and row["balance"] is not None
            and "balance" not in changes
        ):
            raise unprocessable(
                f"this {kind} has a balance in {row['currency']}; send the balance in "
                f"{currency} with the new currency",
                "balance",
            )
        if body.metadata is not None:
            changes["metadata"] = dumps(_merge(row["metadata"], body.metadata))
        self._write(kind, row["id"], changes)
        return self.resolve(kind, row["id"])

    def update_bill(self, ref: str, body: BillUpdate) -> sqlite3.Row:
        """PATCH a bill: ``amount_paid`` is the new total, ``metadata`` merges."""
        row = self.resolve("bill", ref)
        if row["status"] == BillStatus.VOIDED:
            raise unprocessable(f"bill {row['id']} is voided and cannot be updated")
        changes: dict[str, Any] = {}
        if body.currency is not None and body.currency != row["currency"]:
            raise unprocessable(
                f"the bill is in {row['currency']}; its currency cannot change", "currency"
            )
        if body.amount_paid is not None:
            if body.amount_paid > row["amount_due"]:
                raise unprocessable(
                    f"amount_paid {body.amount_paid} is more than amount_due {row['amount_due']}"
                    " (bills take no overpayment)",
                    "amount_paid",
                )
            state = settle(row["amount_due"], body.amount_paid)
            changes.update(amount_paid=state.amount_paid, status=state.status.value)
        if body.metadata is not None:
            changes["metadata"] = dumps(_merge(row["metadata"], body.metadata))
        self._write("bill", row["id"], changes)
        return self.resolve("bill", row["id"])

    def void_bill(self, ref: str) -> sqlite3.Row:
        row = self.resolve("bill", ref)
        if row["status"] == BillStatus.VOIDED:
            raise unprocessable(f"bill {row['id']} is already voided")
        if row["status"] == BillStatus.PAID:
            raise unprocessable(f"bill {row['id']} is paid; a paid bill cannot be voided")
        self._write("bill", row["id"], {"status": BillStatus.VOIDED.value})
        return self.resolve("bill", row["id"])

    def _write(self, kind: ObjectKind, object_id: str, changes: dict[str, Any]) -> None:
        if not changes:
            return
        columns = ", ".join(f"{name} = ?" for name in changes)
        self.db.conn.execute(
            f"UPDATE {TABLE[kind]} SET {columns} WHERE id = ?",  # noqa: S608
            (*changes.values(), object_id),
        )

    # --- what a payment competes for ----------------------------------------------

    def payable(self, kind: ObjectKind, holder: sqlite3.Row) -> Payable | str:
        """What a payment to this account or customer may be, or why none can be."""
        open_bills = self.open_bills(kind, holder["id"])
        bill_currencies = {b.currency for b in open_bills if b.currency is not None}
        currency, why_not = payment_currency(holder["currency"], bill_currencies)
        if currency is None:
            if kind == "customer" and not open_bills:
                why_not = (
                    "has no balance and no unpaid bills of its own to pay"
                    " (bills on its accounts are paid through the account)"
                )
            return why_not
        mine = [b for b in open_bills if b.currency == currency]
        return Payable(currency, mine, holder["balance"])

    def largest_payments(self, kind: ObjectKind, holders: list[sqlite3.Row]) -> dict[str, int]:
        """``Payable.most`` of each account or customer, from one query per 500 of them
        (a listing's page) rather than reading every unpaid bill of each."""
        remaining: dict[str, dict[str, int]] = {}
        column = "account_id" if kind == "account" else "customer_id"
        direct = "" if kind == "account" else " AND account_id IS NULL"
        # Named: for customers SQLite would rather walk bills_by_account_status's
        # account_id IS NULL, every direct unpaid bill of every customer.
        index = f"bills_unpaid_on_{kind}"
        ids = [h["id"] for h in holders]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.all(
                f"SELECT {column} AS holder, currency, SUM(amount_due - amount_paid) AS owed"  # noqa: S608
                f" FROM bills INDEXED BY {index}"
                f" WHERE {column} IN ({marks}){direct} AND status = 'unpaid'"
                " GROUP BY holder, currency",
                tuple(chunk),
            )
            for row in rows:
                remaining.setdefault(row["holder"], {})[row["currency"]] = row["owed"]
        most: dict[str, int] = {}
        for holder in holders:
            owed = remaining.get(holder["id"], {})
            currency, _ = payment_currency(holder["currency"], set(owed))
            most[holder["id"]] = (
                0 if currency is None else largest_payment(owed.get(currency, 0), holder["balance"])
            )
        return most

    def open_bills(self, kind: ObjectKind, holder_id: str) -> list[OpenBill]:
        """Unpaid bills of an account, or the bills directly on a customer."""
        where = "account_id = ?" if kind == "account" else "customer_id = ? AND account_id IS NULL"
        rows = self.db.all(
            f"SELECT * FROM bills WHERE {where} AND status = 'unpaid'",  # noqa: S608
            (holder_id,),
        )
        return [
            OpenBill(
                id=r["id"],
                amount_remaining=r["amount_due"] - r["amount_paid"],
                due_date=_date(r["due_date"]),
                bill_date=_date(r["bill_date"]),
                order=r["seq"],
                currency=r["currency"],
            )
            for r in rows
        ]


# --- JSON shapes ----------------------------------------------------------------------


def to_json(kind: ObjectKind, row: sqlite3.Row, objects: Objects) -> dict[str, Any]:
    """The API object: only fields that are set, as in Moment's examples."""
    return to_json_many(kind, [row], objects)[0]


def to_json_many(
    kind: ObjectKind, rows: list[sqlite3.Row], objects: Objects
) -> list[dict[str, Any]]:
    """The API objects of ``rows``, all of one kind.

    ``payment_rules`` say what a payment may be now (reference §3.7): a bill takes 1
    up to what remains, an account or customer 1 up to ``largest_payment`` (more
    than it owes only with a balance tracked). When no payment would be accepted (a
    paid or voided bill; a holder with nothing to pay and no balance to credit) the
    rules are left out, which the reference says means it cannot be paid against.
    """
    most = objects.largest_payments(kind, rows) if kind != "bill" else {}
    return [_json(kind, row, most.get(row["id"], 0)) for row in rows]


def _json(kind: ObjectKind, row: sqlite3.Row, most: int) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row["id"], "external_reference": row["external_reference"]}
    if kind == "bill":
        remaining = row["amount_due"] - row["amount_paid"]
        body.update(
            customer_id=row["customer_id"],
            account_id=row["account_id"],
            status=row["status"],
            currency=row["currency"],
            amount_due=row["amount_due"],
            amount_paid=row["amount_paid"],
            amount_remaining=max(remaining, 0),
            bill_date=row["bill_date"],
            due_date=row["due_date"],
        )
        if row["status"] == BillStatus.UNPAID and remaining > 0:
            body["payment_rules"] = _rules(1, remaining, overpayment=False)
    else:
        if kind == "account":
            body["customer_id"] = row["customer_id"]
        names = ("name", "email", "phone") if kind == "customer" else ("name",)
        body.update({name: row[name] for name in names})
        body.update(currency=row["currency"], balance=row["balance"])
        if most >= 1:
            body["payment_rules"] = _rules(1, most, overpayment=row["balance"] is not None)
    metadata = json.loads(row["metadata"])
    if metadata:
        body["metadata"] = metadata
    return {k: v for k, v in body.items() if v is not None}


def _rules(minimum: int, maximum: int, *, overpayment: bool) -> dict[str, Any]:
    return {
        "min_amount": minimum,
        "max_amount": maximum,
        "underpayment_allowed": True,
        "overpayment_allowed": overpayment,
    }


# --- helpers --------------------------------------------------------------------------


def _at(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _kept(metadata: dict[str, str]) -> dict[str, str]:
    """On create, an empty value means "no such key", as it does on update."""
    return {k: v for k, v in metadata.items() if v != ""}


def _merge(stored: str, update: dict[str, str]) -> dict[str, str]:
    """Merge metadata: new keys added, given keys replaced, ``""`` deletes a key."""
    merged: dict[str, str] = json.loads(stored)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise unprocessable(
            f"metadata would have {len(merged)} keys after merging; at most {METADATA_MAX_KEYS}",
            "metadata",
        )
    return merged
