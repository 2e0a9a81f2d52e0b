"""Billing rules shared by the sandbox and reconciliation: settling bills, allocating payments."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moment_tui.api.models import BillStatus
from moment_tui.billing import (
    Allocation,
    BillState,
    OpenBill,
    allocate,
    allocation_order,
    outstanding,
    pay_bill,
    settle,
)

D = dt.date


def open_bill(
    bid: str, remaining: int, due: D | None = None, billed: D | None = None, order: int = 0
) -> OpenBill:
    return OpenBill(bid, remaining, due, billed, order, "ZAR")


# --- one bill -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "paid", "status", "remaining"),
    [
        (2000, 0, BillStatus.UNPAID, 2000),
        (2000, 1500, BillStatus.UNPAID, 500),
        (2000, 1999, BillStatus.UNPAID, 1),
        (2000, 2000, BillStatus.PAID, 0),
        (2000, 2500, BillStatus.PAID, 0),  # more than due: paid, nothing remains
    ],
)
def test_settle(due: int, paid: int, status: BillStatus, remaining: int) -> None:
    state = settle(due, paid)
    assert state == BillState(due, paid, status)
    assert state.amount_remaining == remaining


def test_pay_bill_partially_then_in_full() -> None:
    state = BillState(2000, 0, BillStatus.UNPAID)
    state = pay_bill(state, 1500)  # the reference's PATCH example, as a payment
    assert (state.amount_paid, state.amount_remaining, state.status) == (
        1500,
        500,
        BillStatus.UNPAID,
    )
    state = pay_bill(state, 500)
    assert (state.amount_paid, state.amount_remaining, state.status) == (2000, 0, BillStatus.PAID)


@pytest.mark.parametrize(
    ("state", "amount", "message"),
    [
        (BillState(2000, 0, BillStatus.VOIDED), 100, "voided"),
        (BillState(2000, 0, BillStatus.UNPAID), 0, "positive"),
        (BillState(2000, 0, BillStatus.UNPAID), -5, "positive"),
        (BillState(2000, 1500, BillStatus.UNPAID), 501, "more than the bill's remaining"),
        (BillState(2000, 2000, BillStatus.PAID), 1, "more than the bill's remaining"),
    ],
)
def test_pay_bill_refuses(state: BillState, amount: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pay_bill(state, amount)


# --- payments to an account or customer ----------------------------------------------------


def test_order_is_oldest_due_first_undated_last_then_bill_date_then_creation() -> None:
    bills = [
        open_bill("undated-late-bill-date", 1, None, D(2025, 3, 1), order=1),
        open_bill("due-feb", 1, D(2025, 2, 1), D(2025, 1, 1), order=2),
        open_bill("due-jan-billed-later", 1, D(2025, 1, 15), D(2025, 1, 5), order=3),
        open_bill("due-jan-billed-earlier", 1, D(2025, 1, 15), D(2025, 1, 2), order=4),
        open_bill("due-jan-no-bill-date", 1, D(2025, 1, 15), None, order=0),
        open_bill("undated-early-bill-date", 1, None, D(2025, 1, 1), order=9),
        open_bill("undated-second", 1, None, None, order=6),
        open_bill("undated-first", 1, None, None, order=5),
        open_bill("due-jan-same-billed-earlier-made-later", 1, D(2025, 1, 15), D(2025, 1, 2), 7),
    ]
    assert [b.id for b in allocation_order(bills)] == [
        "due-jan-billed-earlier",
        "due-jan-same-billed-earlier-made-later",
        "due-jan-billed-later",
        "due-jan-no-bill-date",
        "due-feb",
        "undated-early-bill-date",
        "undated-late-bill-date",
        "undated-first",
        "undated-second",
    ]


def test_allocate_oldest_due_first_and_the_rest_to_the_balance() -> None:
    bills = [
        open_bill("march", 1000, D(2025, 3, 1), order=1),
        open_bill("january", 2000, D(2025, 1, 15), order=2),
        open_bill("undated", 500, None, order=0),
    ]
    assert allocate(2500, bills, balance_tracked=True) == Allocation(
        (("january", 2000), ("march", 500)), to_balance=0, unallocated=0
    )
    assert allocate(4000, bills, balance_tracked=True) == Allocation(
        (("january", 2000), ("march", 1000), ("undated", 500)), to_balance=500, unallocated=0
    )
    assert allocate(4000, bills, balance_tracked=False) == Allocation(
        (("january", 2000), ("march", 1000), ("undated", 500)), to_balance=0, unallocated=500
    )
    assert allocate(1, bills, balance_tracked=False) == Allocation(
        (("january", 1),), to_balance=0, unallocated=0
    )


def test_allocate_with_no_open_bills() -> None:
    assert allocate(1200, [], balance_tracked=True) == Allocation((), 1200, 0)
    assert allocate(1200, [], balance_tracked=False) == Allocation((), 0, 1200)


def test_allocate_skips_bills_with_nothing_remaining() -> None:
    bills = [open_bill("settled", 0, D(2025, 1, 1)), open_bill("open", 300, D(2025, 2, 1))]
    assert allocate(300, bills, balance_tracked=False) == Allocation((("open", 300),), 0, 0)


@pytest.mark.parametrize("amount", [0, -1])
def test_allocate_refuses_non_positive_amounts(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        allocate(amount, [open_bill("b", 10)], balance_tracked=True)


def test_outstanding() -> None:
    bills = [open_bill("a", 700), open_bill("b", 300)]
    assert outstanding(bills, None) == 1000
    assert outstanding(bills, 250) == 1250
    assert outstanding(bills, -400) == 1000  # a credit is not owed
    assert outstanding([], 0) == 0


# --- properties ------------------------------------------------------------------------------

dates = st.one_of(st.none(), st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 3, 1)))
bill_lists = st.lists(
    st.builds(
        open_bill,
        bid=st.text("abcdef", min_size=1, max_size=4),
        remaining=st.integers(0, 10_000),
        due=dates,
        billed=dates,
        order=st.integers(0, 50),
    ),
    max_size=12,
    unique_by=lambda b: b.id,
)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(1, 60_000),
    bills=bill_lists,
    tracked=st.booleans(),
)
def test_allocation_accounts_for_every_cent(
    amount: int, bills: list[OpenBill], tracked: bool
) -> None:
    result = allocate(amount, bills, balance_tracked=tracked)
    assert result.total == amount
    by_id = {b.id: b for b in bills}
    parts = dict(result.bills)
    assert len(parts) == len(result.bills)  # each bill at most once
    assert all(0 < part <= by_id[bid].amount_remaining for bid, part in result.bills)
    # In allocation order; only the last bill paid can be short.
    ordered = [b.id for b in allocation_order(bills) if b.id in parts]
    assert [bid for bid, _ in result.bills] == ordered
    assert all(parts[bid] == by_id[bid].amount_remaining for bid in ordered[:-1])
    # A bill is skipped only when money ran out or it owed nothing.
    allocated = sum(parts.values())
    for b in allocation_order(bills):
        if b.id not in parts:
            assert b.amount_remaining == 0 or allocated == amount
    left = amount - allocated
    if tracked:
        assert (result.to_balance, result.unallocated) == (left, 0)
    else:
        assert (result.to_balance, result.unallocated) == (0, left)
    if left:
        assert allocated == sum(b.amount_remaining for b in bills)


@settings(max_examples=200, deadline=None)
@given(due=st.integers(1, 99_999_999), paid=st.integers(0, 99_999_999), more=st.integers(1, 10**6))
def test_paying_a_bill_keeps_its_numbers_consistent(due: int, paid: int, more: int) -> None:
    paid = min(paid, due - 1)
    state = settle(due, paid)
    assert state.amount_paid + state.amount_remaining == due
    assert state.status is BillStatus.UNPAID
    if more <= state.amount_remaining:
        after = pay_bill(state, more)
        assert after.amount_paid == paid + more
        assert after.amount_paid + after.amount_remaining == due
        assert (after.status is BillStatus.PAID) == (after.amount_remaining == 0)
    else:
        with pytest.raises(ValueError, match="remaining"):
            pay_bill(state, more)
