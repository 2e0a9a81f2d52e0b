"""Simulated payments: ``POST /sandbox/payments`` (a sandbox-only extension).

A payment applies money as Moment would and produces one ``obligation.amount_applied``
event in the same transaction:

* **bill** — ``amount_paid`` goes up (no overpayment; the default is what remains);
  the event names ``bill_id``, the bill's ``account_id`` (if any) and ``customer_id``.
* **account** or **customer** — the holder's unpaid bills in the payment's currency
  are settled oldest due date first, and what is left lowers the balance (which may
  go negative: a credit). The default amount is everything outstanding, refused
  (422) when that is more than the 99,999,999 an explicit ``amount`` may be. With no
  balance tracked, paying more than the open bills is refused, and so is a payment
  that would take a balance below -(2^53-1), JSON's safe integers. The event names
  ``account_id`` and ``customer_id`` (or only ``customer_id``), never a bill.

The rules themselves live in :mod:`moment_tui.billing`, shared with the console.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from moment_tui.api.models import (
    AMOUNT_APPLIED,
    AMOUNT_MAX,
    BALANCE_LIMIT,
    BillStatus,
    ObjectKind,
    SandboxPaymentCreate,
)
from moment_tui.billing import BillState, allocate, pay_bill
from moment_tui.money import format_minor
from moment_tui.sandbox.db import Database, dumps
from moment_tui.sandbox.delivery import enqueue
from moment_tui.sandbox.ids import new_id
from moment_tui.sandbox.objects import Objects, moment_now
from moment_tui.sandbox.problems import unprocessable


class Payments:
    def __init__(self, db: Database, objects: Objects) -> None:
        self.db = db
        self.objects = objects

    def pay(
        self, body: SandboxPaymentCreate, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Apply a payment inside the caller's transaction; returns the payment object."""
        kind, ref = body.target()
        target = self.objects.find(kind, ref)
        if target is None:
            raise unprocessable(f"{kind} {ref!r} doesn't exist", kind)
        if kind == "bill":
            amount, currency, parts, to_balance = self._pay_bill(target, body.amount)
        else:
            amount, currency, parts, to_balance = self._pay_holder(kind, target, body.amount)

        payment_id = new_id("payment")
        data: dict[str, Any] = {
            "id": new_id("obligation"),
            "amount": amount,
            "currency": currency,
            "payment_id": payment_id,
        }
        if kind == "bill":
            data["customer_id"] = target["customer_id"]
            if target["account_id"]:
                data["account_id"] = target["account_id"]
            data["bill_id"] = target["id"]
        elif kind == "account":
            data["customer_id"] = target["customer_id"]
            data["account_id"] = target["id"]
        else:
            data["customer_id"] = target["id"]
        created = moment_now()
        data.update(metadata=metadata or {}, created_at=created, updated_at=created)
        event_id, _ = enqueue(self.db, AMOUNT_APPLIED, data)

        allocation = {
            "bills": [{"bill_id": bill_id, "amount": part} for bill_id, part in parts],
            "balance": to_balance,
        }
        self.db.conn.execute(
            "INSERT INTO payments (id, target_kind, target_id, amount, currency, allocation,"
            " event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                payment_id,
                kind,
                target["id"],
                amount,
                currency,
                dumps(allocation),
                event_id,
                created,
            ),
        )
        return {
            "id": payment_id,
            "amount": amount,
            "currency": currency,
            kind: target["id"],
            "allocation": allocation,
            "event_id": event_id,
            "created_at": created,
        }

    def _pay_bill(
        self, bill: sqlite3.Row, amount: int | None
    ) -> tuple[int, str, list[tuple[str, int]], int]:
        state = BillState(bill["amount_due"], bill["amount_paid"], BillStatus(bill["status"]))
        if state.status is BillStatus.VOIDED:
            raise unprocessable(f"bill {bill['id']} is voided and cannot be paid", "bill")
        if state.status is BillStatus.PAID:
            raise unprocessable(f"bill {bill['id']} is already paid", "bill")
        amount = state.amount_remaining if amount is None else amount
        if amount > state.amount_remaining:
            more = "is more than the {} remaining on the bill (bills take no overpayment)"
            currency = bill["currency"]
            raise unprocessable(
                f"{amount} {more.format(state.amount_remaining)}",
                "amount",
                for_payer=(
                    f"{format_minor(amount, currency)} "
                    f"{more.format(format_minor(state.amount_remaining, currency))}"
                ),
            )
        self._settle_bill(bill["id"], state, amount)
        return amount, bill["currency"], [(bill["id"], amount)], 0

    def _pay_holder(
        self, kind: ObjectKind, holder: sqlite3.Row, amount: int | None
    ) -> tuple[int, str, list[tuple[str, int]], int]:
        payable = self.objects.payable(kind, holder)
        if isinstance(payable, str):
            raise unprocessable(f"{kind} {holder['id']} {payable}", kind)
        currency, open_bills, balance, owed = (
            payable.currency,
            payable.bills,
            payable.balance,
            payable.owed,
        )
        if amount is None:
            if owed == 0:
                raise unprocessable(f"{kind} {holder['id']} owes nothing; give an amount", "amount")
            if owed > AMOUNT_MAX:  # the cap an explicit amount has holds for "in full" too
                raise unprocessable(
                    f"{kind} {holder['id']} owes {owed}, more than one payment can carry "
                    f"(at most {AMOUNT_MAX}); pay it in parts with an amount",
                    "amount",
                )
            amount = owed
        allocation = allocate(amount, open_bills, balance_tracked=balance is not None)
        if allocation.unallocated:
            raise unprocessable(
                f"{amount} is more than the {owed} owed and {kind} {holder['id']} tracks no "
                "balance to hold a credit",
                "amount",
            )
        if balance is not None and amount > payable.most:
            # A credit past -(2^53-1) would leave JSON's safe integers (README, Unknown 8).
            room = (
                f"at most {payable.most} can be paid now"
                if payable.most
                else "nothing more can be paid until the balance goes up"
            )
            raise unprocessable(
                f"{amount} would take the balance of {kind} {holder['id']} below the "
                f"-{BALANCE_LIMIT} a balance can hold; {room}",
                "amount",
            )
        for bill_id, part in allocation.bills:
            row = self.objects.resolve("bill", bill_id)
            state = BillState(row["amount_due"], row["amount_paid"], BillStatus(row["status"]))
            self._settle_bill(bill_id, state, part)
        if allocation.to_balance:
            self.db.conn.execute(
                f"UPDATE {kind}s SET balance = balance - ? WHERE id = ?",  # noqa: S608
                (allocation.to_balance, holder["id"]),
            )
        return amount, currency, list(allocation.bills), allocation.to_balance

    def _settle_bill(self, bill_id: str, state: BillState, amount: int) -> None:
        after = pay_bill(state, amount)
        self.db.conn.execute(
            "UPDATE bills SET amount_paid = ?, status = ? WHERE id = ?",
            (after.amount_paid, after.status.value, bill_id),
        )
