"""Messages that carry worker results back to the UI thread."""

from __future__ import annotations

from textual.message import Message

from moment_tui.api.client import Probe


class ConnectionChecked(Message):
    """The result of probing the API."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        super().__init__()
