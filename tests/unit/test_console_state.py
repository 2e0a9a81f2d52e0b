"""ConsoleState (ui/state.py): plain Python, driven with fake deliveries, applications,
request records and a fake clock.

Tests marked ``BUG`` are expected to fail until the code is fixed (``xfail`` strict).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from moment_tui.api.client import Probe, RequestLog, RequestRecord
from moment_tui.runtime import Connected, Started
from moment_tui.store.applications import Application, Change, Drift
from moment_tui.store.eventlog import Books, BooksSnapshot, Delivery
from moment_tui.ui.present import deliveries_hint
from moment_tui.ui.state import RECENT, SERIES_SECONDS, ConsoleState, touched_by
from moment_tui.ui.state import Change as StateChange

BILL = "bill_2Ri9L7z6uPSankOvmWLlz"
OTHER_BILL = "bill_7Tq3Wm8Xc2Vb5Nn4Lk9Jh"
ACCOUNT = "bacc_5Hq2ZkT8wN3dVbX6mRcYp"
CUSTOMER = "bcus_8Jf4LpQ2sW9kHn3TzRbVx"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def delivery(
    seq: int,
    *,
    verdict: Any = "verified",
    amount: int | None = 160350,
    currency: str | None = "ZAR",
    **target: Any,
) -> Delivery:
    """A delivery like the listener stores (by default a bill payment of R 1,603.50)."""
    if not target:
        target = {"bill_id": BILL, "customer_id": CUSTOMER}
    verified = verdict == "verified"
    return Delivery(
        seq=seq,
        webhook_id=f"msg_2k7QfXbH9cT{seq}mWnY4pLsRzEaVd",
        received_at=f"2026-11-01T09:14:{seq % 60:02d}.512Z",
        verdict=verdict,
        reason=None if verified else ("duplicate" if verdict == "duplicate" else "bad"),
        message="verified with secret whsec_…gM=" if verified else "not applied",
        status=200 if verdict != "rejected" else 401,
        event_id=f"evt_9TbQm2Xc{seq}KfWz7HnL4pRsVa" if verdict != "rejected" else None,
        event_type="obligation.amount_applied" if verdict != "rejected" else None,
        amount=amount if verdict != "rejected" else None,
        currency=currency if verdict != "rejected" else None,
        **(target if verdict != "rejected" else {}),
    )


def application(
    seq: int,
    state: Any = "applied",
    *,
    target: tuple[Any, str] = ("bill", BILL),
    changes: tuple[Change, ...] | None = None,
    **extra: Any,
) -> Application:
    if changes is None:
        changes = (
            Change("bill", BILL, "amount_paid", 0, 160350),
            Change("bill", BILL, "amount_remaining", 641400, 481050),
        )
    return Application(
        delivery_seq=seq,
        webhook_id=f"msg_2k7QfXbH9cT{seq}mWnY4pLsRzEaVd",
        applied_at="2026-11-01T09:14:03.600Z",
        outcome="applied",
        target_kind=target[0],
        target_id=target[1],
        changes=changes,
        state=state,
        **extra,
    )


def empty_books(through: int = 0, unsettled: frozenset[int] = frozenset()) -> BooksSnapshot:
    return BooksSnapshot(Books(0, 0, 0, 0, 0, 0, 0, 0, 0), through, unsettled)


def heard(state: ConsoleState) -> list[StateChange]:
    changes: list[StateChange] = []
    state.subscribe(changes.append)
    return changes


def record(path: str = "/billing/customers/UCR100001", status: int = 200) -> RequestRecord:
    return RequestRecord(
        at=dt.datetime(2026, 11, 1, 9, 14, tzinfo=dt.UTC),
        method="GET",
        path=path,
        status=status,
        latency_ms=12.5,
        attempt=1,
    )


# --- subscriptions --------------------------------------------------------------------------


def test_subscribers_hear_every_change_until_they_unsubscribe() -> None:
    state = ConsoleState()
    first: list[StateChange] = []
    second: list[StateChange] = []
    stop_first = state.subscribe(first.append)
    state.subscribe(second.append)
    state.catalogue_changed()
    assert [c.topics for c in first] == [frozenset({"catalogue"})]
    assert second == first
    stop_first()
    stop_first()  # twice is harmless
    state.set_counts({"customer": 3})
    assert len(first) == 1
    assert [c.topics for c in second] == [frozenset({"catalogue"}), frozenset({"counts"})]


def test_a_subscriber_may_unsubscribe_while_being_told() -> None:
    state = ConsoleState()
    told: list[str] = []
    stops: list[Any] = []

    def once(change: StateChange) -> None:
        told.append("once")
        stops[0]()

    stops.append(state.subscribe(once))
    state.subscribe(lambda change: told.append("always"))
    state.catalogue_changed()
    state.catalogue_changed()
    assert told == ["once", "always", "always"]  # the other was still told the first time


def test_what_the_runtime_reports_is_kept_and_published() -> None:
    state = ConsoleState()
    changes = heard(state)
    started = Started(api="the sandbox", listener_url="http://127.0.0.1:8765/webhooks")
    state.start(started)
    assert state.status.started is started
    state.connect(Connected(Probe(True, "connected", 3.0), synced=12))
    state.connect(Connected(Probe(False, "key refused", 3.0)))
    counts = {"customer": 38, "bill": 31}
    state.set_counts(counts)
    counts["customer"] = 0  # the state kept its own copy
    assert state.counts == {"customer": 38, "bill": 31}
    state.load_books(empty_books(4))
    assert state.tally.loaded
    state.books_failed("disk I/O error")
    state.history_failed("no such table: deliveries")
    assert (state.books_problem, state.history_problem) == (
        "disk I/O error",
        "no such table: deliveries",
    )
    assert state.history_known
    assert [set(c.topics) for c in changes] == [
        {"connection"},
        {"connection", "catalogue"},  # it synced objects: lists may have new rows
        {"connection"},
        {"counts"},
        {"books"},
        {"books"},
        {"deliveries"},
    ]
    assert state.status.connected is not None
    assert state.status.connected.probe is not None
    assert not state.status.connected.probe.ok


def test_a_failed_start_says_why_and_that_no_history_will_come() -> None:
    state = ConsoleState()
    changes = heard(state)
    state.fail("this workspace was written by a newer moment-tui")
    assert state.status.failure == "this workspace was written by a newer moment-tui"
    assert state.history_known  # the list may say "no deliveries" now
    assert [set(c.topics) for c in changes] == [{"connection", "deliveries"}]


# --- deliveries ----------------------------------------------------------------------------------


def test_deliveries_are_kept_in_order_counted_and_published() -> None:
    state = ConsoleState()
    state.load_books(empty_books())
    changes = heard(state)
    batch = [delivery(1), delivery(2, verdict="duplicate"), delivery(3, verdict="rejected")]
    state.add_deliveries(iter(batch))  # any iterable, read once
    state.add_deliveries([delivery(4)])
    assert [d.seq for d in state.recent()] == [1, 2, 3, 4]
    assert [d.seq for d in state.recent(2)] == [3, 4]
    assert [c.deliveries for c in changes] == [tuple(batch), (delivery(4),)]
    assert all(c.topics == frozenset({"deliveries"}) for c in changes)
    t = state.tally
    assert (t.verified, t.duplicate, t.rejected) == (2, 1, 1)


def test_deliveries_are_bounded_and_the_oldest_go_with_their_applications() -> None:
    state = ConsoleState()
    total = RECENT + 7
    for start in range(1, total + 1, 100):  # in batches, as the console sends them
        seqs = range(start, min(start + 100, total + 1))
        state.add_deliveries([delivery(s) for s in seqs])
        state.add_applications([application(s) for s in seqs])
    assert len(state.deliveries) == RECENT
    assert [d.seq for d in state.recent()] == list(range(8, total + 1))
    assert set(state.applications) == set(state.deliveries)
    assert 7 not in state.applications
    assert 8 in state.applications


def test_one_batch_larger_than_the_bound_keeps_its_newest() -> None:
    state = ConsoleState()
    changes = heard(state)
    state.add_deliveries([delivery(s) for s in range(1, RECENT + 3)])
    assert [d.seq for d in state.recent()][:2] == [3, 4]
    assert len(state.recent()) == RECENT
    assert len(changes[0].deliveries) == RECENT + 2  # the change says what arrived


def test_applications_older_than_the_window_are_dropped() -> None:
    state = ConsoleState()
    state.add_applications([application(s, "confirmed") for s in range(1, 11)])  # catch-up
    state.add_deliveries([delivery(s) for s in range(11, RECENT + 21)])
    oldest = state.recent()[0].seq
    assert oldest == 21
    assert sorted(seq for seq in state.applications if seq < oldest) == []


# --- history ------------------------------------------------------------------------------------


def test_history_merges_below_this_sessions_deliveries_without_duplicates() -> None:
    state = ConsoleState()
    session = [delivery(8), delivery(9, verdict="rejected"), delivery(10)]
    state.add_deliveries(session)
    changes = heard(state)
    assert not state.history_known
    # Read after #8 arrived: the history has it too (as stored, with its state).
    from_log = delivery(8)
    history = [delivery(5), delivery(6), delivery(7), Delivery(**vars(from_log))]
    state.load_history(history)
    assert [d.seq for d in state.recent()] == [5, 6, 7, 8, 9, 10]
    assert state.deliveries[8] is session[0]  # this session's copy stays
    assert state.history_known
    assert [d.seq for d in changes[0].deliveries] == [5, 6, 7]  # only what was new
    assert changes[0].topics == frozenset({"deliveries"})
    # Given again, nothing is new and nothing doubles.
    state.load_history(history)
    assert [d.seq for d in state.recent()] == [5, 6, 7, 8, 9, 10]
    assert changes[1].deliveries == ()


def test_history_in_any_order_is_ordered_and_bounded() -> None:
    state = ConsoleState()
    state.add_deliveries([delivery(RECENT + 50)])
    state.load_history([delivery(s) for s in range(RECENT + 49, 0, -1)])  # newest first
    seqs = [d.seq for d in state.recent()]
    assert seqs == list(range(51, RECENT + 51))  # the newest RECENT, oldest first
    assert len(seqs) == len(set(seqs))


def test_history_does_not_count_again_what_the_books_hold() -> None:
    state = ConsoleState()
    state.load_books(empty_books(through=7))
    state.load_history([delivery(s) for s in range(1, 8)])
    assert state.tally.verified == 0  # history is in the books, not counted per delivery
    state.add_deliveries([delivery(8)])
    assert state.tally.verified == 1


# --- applications -------------------------------------------------------------------------------


def test_applications_settle_the_tally_and_say_what_they_touched() -> None:
    state = ConsoleState()
    state.load_books(empty_books())
    state.add_deliveries([delivery(1), delivery(2, account_id=ACCOUNT, customer_id=CUSTOMER)])
    changes = heard(state)
    paid = application(1, "applied")
    account_payment = application(
        2,
        "drift",
        target=("account", ACCOUNT),
        changes=(Change("bill", OTHER_BILL, "amount_paid", 0, 45000),),
        allocation=((OTHER_BILL, 45000), ("bill_3Zz", 100)),
        drift=(Drift("bill", "bill_driftOnly", "amount_paid", 45000, 30000),),
    )
    state.add_applications([paid, account_payment])
    (change,) = changes
    assert change.topics == frozenset({"applications"})
    assert change.applications == (paid, account_payment)
    assert change.touched == {
        BILL,  # delivery 1's bill, changed
        CUSTOMER,  # named by both deliveries
        ACCOUNT,  # delivery 2's target
        OTHER_BILL,  # changed, and allocated
        "bill_3Zz",  # allocated only
        "bill_driftOnly",  # found in drift only
    }
    assert state.applications == {1: paid, 2: account_payment}
    assert (state.tally.confirmed, state.tally.drift) == (0, 1)  # "applied" is not final
    confirmed = application(1, "confirmed")
    state.add_applications([confirmed])
    assert state.applications[1] is confirmed
    assert state.tally.confirmed == 1
    assert changes[1].touched >= {BILL, CUSTOMER}


def test_touched_by_without_a_delivery_or_changes() -> None:
    skipped = Application(
        delivery_seq=9,
        webhook_id="msg_9",
        applied_at="2026-11-01T09:14:03.600Z",
        outcome="unknown_target",
        target_kind="customer",
        target_id=CUSTOMER,
    )
    assert touched_by(skipped) == {CUSTOMER}
    assert (
        touched_by(
            Application(
                delivery_seq=9,
                webhook_id="msg_9",
                applied_at="2026-11-01T09:14:03.600Z",
                outcome="skipped",
                target_kind=None,
                target_id=None,
            )
        )
        == set()
    )
    # An application for a delivery the state does not hold touches what it names.
    state = ConsoleState()
    changes = heard(state)
    state.add_applications([application(42)])
    assert changes[0].touched == {BILL}


# --- the sparkline ------------------------------------------------------------------------------


def test_the_series_has_each_deliverys_first_application_once() -> None:
    clock = Clock(1000.0)
    state = ConsoleState(clock=clock)
    state.add_deliveries(
        [
            delivery(1, amount=100),
            delivery(2, amount=50, currency="USD"),
            delivery(3, amount=None),  # an event without an amount
            delivery(4, amount=70, currency=None),  # nor a currency
            delivery(5, amount=1),
        ]
    )
    state.add_applications([application(1), application(3), application(4)])
    clock.now = 1030.0
    state.add_applications([application(2)])
    state.add_applications([application(1, "confirmed")])  # settled later: not again
    clock.now = 1059.9
    state.add_applications([application(5, "drift")])
    state.add_applications([application(99)])  # no delivery known: no amount to show
    clock.now = 1060.0
    assert state.series(60, 6) == {
        "ZAR": [100, 0, 0, 0, 0, 1],  # at 1000 (the window's first instant) and 1059.9
        "USD": [0, 0, 0, 50, 0, 0],  # at 1030
    }
    assert state.series(20, 4) == {"ZAR": [0, 0, 0, 1]}  # 1040–1060: only 1059.9
    assert state.series(10, 1) == {"ZAR": [1]}
    clock.now = 1200.0
    assert state.series(60, 6) == {}  # all older than the window


def test_an_earlier_sessions_payment_is_not_on_this_sessions_sparkline() -> None:
    clock = Clock(1000.0)
    state = ConsoleState(clock=clock)
    state.load_history([delivery(3, amount=250_000)])  # stored and applied last session
    state.add_applications([application(3, "confirmed")])  # the catch-up's check, now
    assert state.series(60, 6) == {}


def test_an_amount_applied_now_falls_in_the_last_slot() -> None:
    clock = Clock(500.0)
    state = ConsoleState(clock=clock)
    state.add_deliveries([delivery(1, amount=300)])
    state.add_applications([application(1)])
    assert state.series(60, 3) == {"ZAR": [0, 0, 300]}
    clock.now = 500.0 + 60.0  # the window's start: still in it
    assert state.series(60, 3) == {"ZAR": [300, 0, 0]}
    clock.now = 500.0 + 60.001
    assert state.series(60, 3) == {}


def test_amounts_older_than_the_series_are_let_go() -> None:
    clock = Clock(0.0)
    state = ConsoleState(clock=clock)
    state.add_deliveries([delivery(1, amount=10), delivery(2, amount=20)])
    state.add_applications([application(1)])
    clock.now = SERIES_SECONDS + 1.0
    state.add_applications([application(2)])
    assert [amount for _, amount, _ in state.applied] == [20]
    assert state.series(SERIES_SECONDS * 2, 2) == {"ZAR": [0, 20]}


# --- the request log -----------------------------------------------------------------------------


def test_each_api_call_the_log_records_is_a_requests_change() -> None:
    state = ConsoleState()
    changes = heard(state)
    log = RequestLog()
    log.add(record("/before"))  # before watching: not told
    state.watch_requests(log)
    assert state.requests is log
    one = record("/billing/bills/INV-001", 404)
    log.add(one)
    assert [(c.topics, c.requests) for c in changes] == [(frozenset({"requests"}), (one,))]


def test_watching_another_log_unhooks_the_first() -> None:
    first, second = RequestLog(), RequestLog()
    state = ConsoleState(requests=first)  # watched from the start
    changes = heard(state)
    first.add(record("/one"))
    state.watch_requests(second)
    first.add(record("/not-told"))
    second.add(record("/two"))
    state.watch_requests(second)  # again: still told once per record
    second.add(record("/three"))
    assert [c.requests[0].path for c in changes] == ["/one", "/two", "/three"]
    assert state.requests is second


def test_a_failing_subscriber_does_not_fail_the_request_being_logged() -> None:
    state = ConsoleState()
    log = RequestLog()
    state.watch_requests(log)

    def broken(change: StateChange) -> None:
        raise RuntimeError("a view broke")

    state.subscribe(broken)
    log.add(record())  # the client's call must not fail because a view did
    assert len(log) == 1


def test_an_empty_list_of_deliveries_says_why_in_home_s_words_and_the_pane_s() -> None:
    state = ConsoleState()
    assert deliveries_hint(state) is None  # not started: "No deliveries yet." stays
    state.start(Started(api="the sandbox", listener_url="http://127.0.0.1:9/webhooks"))
    state.status.has_api = True
    assert deliveries_hint(state) == "No deliveries yet — press p to simulate a payment."
    assert deliveries_hint(state, brief=True) == "No deliveries yet — p simulates a payment."
    state.status.has_api = False  # the sandbox did not start: nothing to simulate with
    assert deliveries_hint(state, brief=True) == (
        "No deliveries yet — webhooks Moment sends appear here."
    )
    state.history_failed("database disk image is malformed")
    for brief in (False, True):
        assert deliveries_hint(state, brief=brief) == (
            "Earlier deliveries could not be read: database disk image is malformed"
        )
    keyed = ConsoleState()
    keyed.start(Started(api="https://api.example.test", listener_url=None))
    assert deliveries_hint(keyed, brief=True) == (
        "No deliveries: the webhook listener is not running."
    )
    keyed.fail("the workspace is newer than this console")
    assert deliveries_hint(keyed) == "No deliveries: the console could not start."
