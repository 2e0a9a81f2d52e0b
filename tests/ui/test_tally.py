"""The Webhooks panel's counts start from the event log's books and count each
delivery and settled application once, whichever arrives first."""

from __future__ import annotations

from moment_tui.store.eventlog import Books, BooksSnapshot
from moment_tui.ui.tally import Tally


def snapshot(through: int, unsettled: frozenset[int] = frozenset(), **counts: int) -> BooksSnapshot:
    names = ("verified", "duplicate", "rejected", "confirmed", "drift", "unconfirmed")
    values = {name: counts.get(name, 0) for name in names}
    stored = values["verified"] + values["duplicate"] + values["rejected"]
    applied = values["confirmed"] + values["drift"] + values["unconfirmed"] + len(unsettled)
    books = Books(stored=stored, acknowledged=stored, applied=applied, **values)
    return BooksSnapshot(books, through, unsettled)


def counts(tally: Tally) -> tuple[int, ...]:
    t = tally
    return (t.verified, t.duplicate, t.rejected, t.confirmed, t.drift, t.unconfirmed)


def test_it_starts_from_the_books_and_counts_what_is_newer() -> None:
    tally = Tally()
    tally.load(snapshot(7, verified=5, duplicate=1, rejected=1, confirmed=4, drift=1))
    assert tally.loaded
    assert counts(tally) == (5, 1, 1, 4, 1, 0)
    tally.count(8, "verified")
    tally.settle(8, "applied")  # not final: not counted
    tally.settle(8, "confirmed")
    tally.count(9, "rejected")
    assert counts(tally) == (6, 1, 2, 5, 1, 0)


def test_reports_the_books_already_include_are_not_counted_twice() -> None:
    tally = Tally()
    tally.load(snapshot(3, frozenset({3}), verified=3, confirmed=2))
    tally.count(3, "verified")  # stored before the books were read, reported after
    tally.settle(2, "confirmed")  # settled before the books were read
    assert counts(tally) == (3, 0, 0, 2, 0, 0)
    tally.settle(3, "drift")  # still unsettled when the books were read: counts, once
    tally.settle(3, "drift")
    assert counts(tally) == (3, 0, 0, 2, 1, 0)


def test_reports_before_the_books_wait_for_them() -> None:
    tally = Tally()
    tally.count(4, "verified")
    tally.settle(4, "confirmed")
    tally.count(5, "duplicate")
    assert counts(tally) == (0, 0, 0, 0, 0, 0)
    assert not tally.loaded
    # The books were read after #4 was stored and settled, before #5 arrived.
    tally.load(snapshot(4, verified=4, confirmed=4))
    assert counts(tally) == (4, 1, 0, 4, 0, 0)
