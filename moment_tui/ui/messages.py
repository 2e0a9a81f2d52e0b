"""Messages that carry worker and listener results to the UI."""

from __future__ import annotations

from textual.message import Message

from moment_tui.runtime import Connected, Started
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import BooksSnapshot, Delivery


class ApiConnected(Message):
    """The API was probed and the catalogue synced from it (or why not)."""

    def __init__(self, connected: Connected) -> None:
        self.connected = connected
        super().__init__()


class RuntimeFailed(Message):
    """The console could not start its workspace or listener at all."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__()


class RuntimeStarted(Message):
    """The listener, sandbox and reconciler are up (``started.problems`` says what is not)."""

    def __init__(self, started: Started) -> None:
        self.started = started
        super().__init__()


class DeliveriesReceived(Message):
    """Deliveries were stored and answered (one turn of the event loop's worth)."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        super().__init__()


class ApplicationsChanged(Message):
    """Events were applied to the catalogue, or their re-fetches settled."""

    def __init__(self, applications: list[Application]) -> None:
        self.applications = applications
        super().__init__()


class CountsLoaded(Message):
    """Fresh catalogue counts."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        super().__init__()


class HistoryLoaded(Message):
    """Deliveries stored before this session, oldest first."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        super().__init__()


class BooksLoaded(Message):
    """The event log's books, read once at start for the Webhooks panel."""

    def __init__(self, snapshot: BooksSnapshot) -> None:
        self.snapshot = snapshot
        super().__init__()


class ReadFailed(Message):
    """A read of the workspace failed (the console keeps running without it)."""

    def __init__(self, group: str, what: str, reason: str) -> None:
        self.group = group  # which read: "history", "books", "counts"
        self.what = what
        self.reason = reason
        super().__init__()
