"""Billing rules shared by the sandbox (which applies payments as Moment would) and the
console's reconciliation (which applies webhook amounts to its own copies).

Keeping one implementation means a sandbox payment and the console's view of it can
only disagree when the data differs, never because two copies of a rule drifted.

* A bill payment adds to ``amount_paid``; ``amount_remaining`` is ``amount_due -
  amount_paid``; the status is ``paid`` exactly when nothing remains. Bills take no
  overpayment.
* A payment to an account (or a customer) first settles that holder's unpaid bills,
  oldest due date first (bills without a due date last, then by bill date, then by
  creation order); whatever is left lowers the holder's balance, which may go below
  zero (a credit). With no balance tracked, a remainder stays unallocated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from moment_tui.api.models import BillStatus


@dataclass(frozen=True)
class BillState:
    """The money fields of a bill."""

    amount_due: int
    amount_paid: int
    status: BillStatus

    @property
    def amount_remaining(self) -> int:
        return max(self.amount_due - self.amount_paid, 0)


def settle(amount_due: int, amount_paid: int) -> BillState:
    """The state of a non-voided bill with ``amount_paid`` recorded against it."""
    status = BillStatus.PAID if amount_paid >= amount_due else BillStatus.UNPAID
    return BillState(amount_due, amount_paid, status)


def pay_bill(state: BillState, amount: int) -> BillState:
    """Apply ``amount`` (> 0, at most what remains) to an unpaid bill."""
    if state.status is BillStatus.VOIDED:
        raise ValueError("a voided bill cannot be paid")
    if amount <= 0:
        raise ValueError("a payment must be positive")
    if amount > state.amount_remaining:
        raise ValueError("the payment is more than the bill's remaining amount")
    return settle(state.amount_due, state.amount_paid + amount)


@dataclass(frozen=True)
class OpenBill:
    """An unpaid bill competing for an account or customer payment."""

    id: str
    amount_remaining: int
    due_date: dt.date | None
    bill_date: dt.date | None
    order: int  # creation order, the final tie-break
    currency: str | None = None


def allocation_order(bills: Iterable[OpenBill]) -> list[OpenBill]:
    """Oldest due date first; undated bills last; then bill date; then creation order."""
    return sorted(
        bills,
        key=lambda b: (
            b.due_date is None,
            b.due_date or dt.date.max,
            b.bill_date or dt.date.max,
            b.order,
        ),
    )


@dataclass(frozen=True)
class Allocation:
    """How one payment to an account or customer was spread."""

    bills: tuple[tuple[str, int], ...]  # (bill id, amount applied), in order
    to_balance: int  # taken off the balance (0 when no balance is tracked)
    unallocated: int  # left over with nowhere to go

    @property
    def total(self) -> int:
        return sum(part for _, part in self.bills) + self.to_balance + self.unallocated


def allocate(amount: int, open_bills: Iterable[OpenBill], *, balance_tracked: bool) -> Allocation:
    """Spread ``amount`` over ``open_bills`` (see module docs), then the balance."""
    if amount <= 0:
        raise ValueError("a payment must be positive")
    left = amount
    parts: list[tuple[str, int]] = []
    for bill in allocation_order(open_bills):
        if left == 0:
            break
        part = min(left, bill.amount_remaining)
        if part > 0:
            parts.append((bill.id, part))
            left -= part
    if balance_tracked:
        return Allocation(tuple(parts), to_balance=left, unallocated=0)
    return Allocation(tuple(parts), to_balance=0, unallocated=left)


def outstanding(open_bills: Iterable[OpenBill], balance: int | None) -> int:
    """What paying "in full" means for an account or customer."""
    return sum(b.amount_remaining for b in open_bills) + max(balance or 0, 0)
