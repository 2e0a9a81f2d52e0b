"""Shows whether the console can reach Moment (or the sandbox) with its key."""

from __future__ import annotations

from textual.widgets import Static

from moment_tui.api.client import Probe


class ConnectionPanel(Static):
    """Connection status: checking → connected (latency) or the reason it failed."""

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(f"Connecting to {target} …", id="connection", markup=False)

    def show_probe(self, probe: Probe) -> None:
        self.set_class(not probe.ok, "-failed")
        if probe.ok:
            self.update(f"● Connected to {self.target} ({probe.latency_ms:.0f} ms)")
        else:
            self.update(f"✕ Cannot use {self.target}: {probe.summary}")

    def show_text(self, text: str) -> None:
        self.update(text)
