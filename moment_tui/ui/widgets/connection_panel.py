"""Whether the console can reach Moment (or the sandbox), and what it knows of it."""

from __future__ import annotations

from textual import events
from textual.widgets import Static

from moment_tui.ui.follows import Follows
from moment_tui.ui.state import Change, ConsoleState, Status


class ConnectionPanel(Static, Follows):
    """Connection status (connected, or the reason not) and the catalogue's size."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.status = f"Connecting to {target} …"
        self.counts: dict[str, int] = {}
        super().__init__(self.status, id="connection", markup=False)
        self.border_title = "Moment"

    def follow(self, state: ConsoleState) -> None:
        self.show_status(state.status)
        self.show_counts(state.counts)

    def changed(self, change: Change, state: ConsoleState) -> None:
        if "connection" in change.topics:
            self.show_status(state.status)
        if "counts" in change.topics:
            self.show_counts(state.counts)

    def show_status(self, status: Status) -> None:
        connected = status.connected
        if status.failure is not None:
            self.set_class(True, "-failed")
            self.status = f"✕ The console could not start: {status.failure}"
        elif connected is not None and connected.probe is not None:
            probe = connected.probe
            self.set_class(not probe.ok, "-failed")
            if probe.ok:
                self.status = f"● Connected to {self.target}"
            else:  # the reason on a line of its own: beside the URL it was always cut
                self.status = f"✕ Cannot use {self.target}\n{probe.summary}"
        elif status.started is not None and not status.has_api:
            self.status = "✕ No API: no key is configured and the sandbox did not start."
        self._redraw()

    def show_counts(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        self._redraw()

    def on_resize(self, event: events.Resize) -> None:
        self._redraw()  # the bills line has a shorter form for a narrow panel

    def known(self) -> str:
        """The catalogue's size: every bill status, the total too when there is room."""
        if not self.counts:
            return ""
        c = self.counts
        if self.has_class("-failed"):  # one line, and plainly the console's own copy, not Moment's
            return (
                f"Known here: {c.get('customer', 0)} customers · {c.get('account', 0)}"
                f" accounts · {c.get('bill', 0)} bills"
            )
        statuses = (
            f"{c.get('bills_unpaid', 0)} unpaid · {c.get('bills_paid', 0)} paid · "
            f"{c.get('bills_voided', 0)} voided"
        )
        bills = f"{c.get('bill', 0)} bills · {statuses}"
        if len(bills) > self.content_size.width:
            bills = f"Bills {statuses}"
        return f"{c.get('customer', 0)} customers · {c.get('account', 0)} accounts\n{bills}"

    def _redraw(self) -> None:
        known = self.known()
        self.update(f"{self.status}\n{known}" if known else self.status)
