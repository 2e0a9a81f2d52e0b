"""The console's state: plain Python, no Textual, one object shared by every screen.

What the runtime reports — deliveries stored and answered, events applied and then
checked, the connection, the catalogue's counts, every API call — comes here first,
on the event loop. Screens subscribe and are told what changed (a :class:`Change`),
then read what they need: the recent deliveries, the books, which objects a payment
touched. Nothing flows the other way: the state never calls into a screen beyond the
callbacks it was given, and never reads the disk or the network.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from moment_tui.ui.tally import Tally

if TYPE_CHECKING:  # types only: importing them would load the client before the first paint
    from moment_tui.api.client import RequestLog, RequestRecord
    from moment_tui.runtime import Connected, Started
    from moment_tui.store.applications import Application
    from moment_tui.store.eventlog import BooksSnapshot, Delivery

Topic = Literal[
    "deliveries",
    "applications",
    "counts",
    "books",
    "connection",
    "catalogue",
    "requests",
    "privacy",
]
RECENT: Final = 500  # deliveries kept in memory; the event log keeps them all
SERIES_SECONDS: Final = 15 * 60  # applied amounts kept for the sparkline


@dataclass(frozen=True)
class Change:
    """What just changed. ``touched`` holds the ids of every customer, account and bill
    an application changed (or named), so a view can refresh exactly those rows."""

    topics: frozenset[Topic]
    deliveries: tuple[Delivery, ...] = ()
    applications: tuple[Application, ...] = ()
    touched: frozenset[str] = frozenset()
    requests: tuple[RequestRecord, ...] = ()


Subscriber = Callable[[Change], object]


@dataclass
class Status:
    """How the console came up: the API, the listener and the workspace."""

    started: Started | None = None
    failure: str | None = None  # the console could not start at all
    connected: Connected | None = None
    has_api: bool = False  # a client to ask: a key, or the sandbox running


@dataclass
class ConsoleState:
    """The streams, counts and books every screen reads; see the module's docstring."""

    requests: RequestLog | None = None
    clock: Callable[[], float] = time.monotonic
    status: Status = field(default_factory=Status)
    tally: Tally = field(default_factory=Tally)
    counts: dict[str, int] = field(default_factory=dict)
    deliveries: OrderedDict[int, Delivery] = field(default_factory=OrderedDict)
    applications: dict[int, Application] = field(default_factory=dict)
    history_known: bool = False  # earlier sessions' deliveries have been read
    history_problem: str | None = None
    books_problem: str | None = None
    # (when, amount, currency) of each amount applied this session, for the sparkline.
    applied: deque[tuple[float, int, str]] = field(default_factory=deque)
    version: int = 0  # bumped whenever the catalogue may have changed (lists, totals)
    # Personal data (names, emails, phones) drawn masked: see ``ui.privacy``.
    masked: bool = False
    _live: set[int] = field(default_factory=set)  # deliveries received this session
    _subscribers: list[Subscriber] = field(default_factory=list)
    _unhook_requests: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.requests is not None:
            self.watch_requests(self.requests)

    # --- subscriptions --------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every change until the returned function is called."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def _publish(self, change: Change) -> None:
        """Every subscriber hears of the change, even if one before it raised (that
        error is raised afterwards, so a bug still shows)."""
        failure: Exception | None = None
        for subscriber in list(self._subscribers):
            try:
                subscriber(change)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def watch_requests(self, log: RequestLog) -> None:
        """Tell subscribers about every API call ``log`` records from now on."""
        if self._unhook_requests is not None:
            self._unhook_requests()
        self.requests = log
        self._unhook_requests = log.subscribe(
            lambda record: self._publish(Change(frozenset({"requests"}), requests=(record,)))
        )

    # --- what the person asks for -----------------------------------------------------

    def set_masked(self, masked: bool) -> None:
        """Mask personal data on screen, or show it again: every view redraws."""
        if masked != self.masked:
            self.masked = masked
            self._publish(Change(frozenset({"privacy"})))

    # --- what the runtime reports ------------------------------------------------------

    def start(self, started: Started) -> None:
        self.status.started = started
        self._publish(Change(frozenset({"connection"})))

    def fail(self, reason: str) -> None:
        self.status.failure = reason
        self.history_known = True
        self._publish(Change(frozenset({"connection", "deliveries"})))

    def connect(self, connected: Connected) -> None:
        self.status.connected = connected
        topics: set[Topic] = {"connection"}
        if connected.synced:
            self.version += 1
            topics.add("catalogue")
        self._publish(Change(frozenset(topics)))

    def catalogue_changed(self) -> None:
        """Objects were created, fetched or imported: lists may have new rows."""
        self.version += 1
        self._publish(Change(frozenset({"catalogue"})))

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        self._publish(Change(frozenset({"counts"})))

    def load_books(self, snapshot: BooksSnapshot) -> None:
        self.tally.load(snapshot)
        self._publish(Change(frozenset({"books"})))

    def books_failed(self, reason: str) -> None:
        self.books_problem = reason
        self._publish(Change(frozenset({"books"})))

    def load_history(self, deliveries: Iterable[Delivery]) -> None:
        """Earlier sessions' deliveries, oldest first, drawn before anything newer."""
        older = [d for d in deliveries if d.seq not in self.deliveries]
        merged = sorted([*older, *self.deliveries.values()], key=lambda d: d.seq)
        self.deliveries = OrderedDict((d.seq, d) for d in merged[-RECENT:])
        self._trim()
        self.history_known = True
        self._publish(Change(frozenset({"deliveries"}), deliveries=tuple(older)))

    def _trim(self) -> None:
        """Keep the newest RECENT deliveries, and only the applications of deliveries
        at least as new as the oldest kept (a catch-up may settle older ones)."""
        while len(self.deliveries) > RECENT:
            self.deliveries.popitem(last=False)
        oldest = next(iter(self.deliveries), None)
        if oldest is not None:
            for seq in [s for s in self.applications if s < oldest]:
                del self.applications[seq]
            self._live = {s for s in self._live if s >= oldest}

    def history_failed(self, reason: str) -> None:
        self.history_problem = reason
        self.history_known = True
        self._publish(Change(frozenset({"deliveries"})))

    def add_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        batch = tuple(deliveries)
        for delivery in batch:
            self.deliveries[delivery.seq] = delivery
            self._live.add(delivery.seq)
            self.tally.count(delivery.seq, delivery.verdict)
        self._trim()
        self._publish(Change(frozenset({"deliveries"}), deliveries=batch))

    def add_applications(self, applications: Iterable[Application]) -> None:
        """Events applied to the catalogue, or their re-fetches settled."""
        batch = tuple(applications)
        self.version += 1
        touched: set[str] = set()
        now = self.clock()
        for application in batch:
            first = application.delivery_seq not in self.applications
            self.applications[application.delivery_seq] = application
            self.tally.settle(application.delivery_seq, application.state)
            delivery = self.deliveries.get(application.delivery_seq)
            touched |= touched_by(application, delivery)
            # Moment applied the money whether or not the catalogue knew the object; a
            # delivery from an earlier session (settled by a catch-up) is not "now".
            live = application.delivery_seq in self._live
            amount = delivery.amount if delivery is not None else None
            if first and live and amount is not None and delivery and delivery.currency:
                self.applied.append((now, amount, delivery.currency))
        while self.applied and self.applied[0][0] < now - SERIES_SECONDS:
            self.applied.popleft()
        self._publish(
            Change(frozenset({"applications"}), applications=batch, touched=frozenset(touched))
        )

    # --- reading ------------------------------------------------------------------------

    def recent(self, limit: int = RECENT) -> list[Delivery]:
        """The newest deliveries, oldest first."""
        return list(self.deliveries.values())[-limit:]

    def series(self, seconds: float, buckets: int) -> dict[str, list[int]]:
        """Amounts applied in each of ``buckets`` equal slices of the last ``seconds``,
        per currency, oldest slice first (for the home screen's sparkline)."""
        now = self.clock()
        start = now - seconds
        width = seconds / buckets
        result: dict[str, list[int]] = {}
        for at, amount, currency in self.applied:
            if at < start:
                continue
            slot = min(int((at - start) / width), buckets - 1)
            result.setdefault(currency, [0] * buckets)[slot] += amount
        return result


def touched_by(application: Application, delivery: Delivery | None = None) -> set[str]:
    """Every object an application changed or was aimed at, and every object its
    event named (a bill's customer: its outstanding total moved too)."""
    ids = {change.id for change in application.changes}
    if delivery is not None:
        ids |= {i for i in (delivery.bill_id, delivery.account_id, delivery.customer_id) if i}
    ids |= {bill for bill, _ in application.allocation}
    ids |= {drift.id for drift in application.drift}
    if application.target_id:
        ids.add(application.target_id)
    return ids
