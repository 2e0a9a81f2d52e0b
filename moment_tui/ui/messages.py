"""Messages that carry worker and listener results to the UI."""

from __future__ import annotations

from textual.message import Message

from moment_tui.api.client import Probe
from moment_tui.runtime import Started
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery


class ConnectionChecked(Message):
    """The result of probing the API."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        super().__init__()


class RuntimeStarted(Message):
    """The listener, sandbox and reconciler are up (``started.problems`` says what is not)."""

    def __init__(self, started: Started) -> None:
        self.started = started
        super().__init__()


class DeliveryReceived(Message):
    """A delivery was stored and answered."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        super().__init__()


class ApplicationChanged(Message):
    """An event was applied to the catalogue, or its re-fetch settled."""

    def __init__(self, application: Application) -> None:
        self.application = application
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
