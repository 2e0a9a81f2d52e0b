"""Whether the console can reach Moment (or the sandbox), and what it knows of it."""

from __future__ import annotations

from textual.widgets import Static

from moment_tui.api.client import Probe


class ConnectionPanel(Static):
    """Connection status (connected, or the reason not) and the catalogue's size."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.status = f"Connecting to {target} …"
        self.known = ""
        super().__init__(self.status, id="connection", markup=False)
        self.border_title = "Moment"

    def show_probe(self, probe: Probe) -> None:
        self.set_class(not probe.ok, "-failed")
        if probe.ok:
            self.status = f"● Connected to {self.target}"
        else:
            self.status = f"✕ Cannot use {self.target}: {probe.summary}"
        self._redraw()

    def show_text(self, text: str) -> None:
        self.status = text
        self._redraw()

    def show_counts(self, counts: dict[str, int]) -> None:
        self.known = (
            f"{counts.get('customer', 0)} customers · {counts.get('account', 0)} accounts\n"
            f"{counts.get('bill', 0)} bills · {counts.get('bills_unpaid', 0)} unpaid · "
            f"{counts.get('bills_paid', 0)} paid"
        )
        self._redraw()

    def _redraw(self) -> None:
        self.update(f"{self.status}\n{self.known}" if self.known else self.status)
