"""The listener's address and the books: received, verified, duplicate, rejected, applied."""

from __future__ import annotations

from textual.widgets import Static

from moment_tui.ui.tally import Tally

READING = "reading the event log…"


class WebhookPanel(Static):
    """Where webhooks arrive and what has become of them (all sessions, as the table)."""

    def __init__(self) -> None:
        self.address = "starting…"
        self.tally = Tally()
        self.unavailable: str | None = None
        super().__init__(self._text(), id="webhooks", markup=False)
        self.border_title = "Webhooks"

    def show_address(self, address: str) -> None:
        self.address = address.removeprefix("http://")
        self.refresh_text()

    def show_unavailable(self, reason: str) -> None:
        """No books to count from (the workspace did not open)."""
        self.unavailable = reason
        self.refresh_text()

    def refresh_text(self) -> None:
        self.update(self._text())

    def _text(self) -> str:
        t = self.tally
        if not t.loaded:
            return f"{self.address}\n{self.unavailable or READING}"
        return (
            f"{self.address}\n"
            f"{t.verified} verified · {t.duplicate} dup · {t.rejected} rejected\n"
            f"{t.confirmed} confirmed · {t.drift} drift · {t.unconfirmed} unchecked"
        )
