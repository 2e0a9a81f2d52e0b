"""The listener's address and the books: received, verified, duplicate, rejected, applied."""

from __future__ import annotations

from textual.widgets import Static

from moment_tui.ui.follows import Follows
from moment_tui.ui.state import Change, ConsoleState
from moment_tui.ui.tally import Tally

READING = "reading the event log…"
NOT_LISTENING = "— (not listening)"


class WebhookPanel(Static, Follows):
    """Where webhooks arrive and what has become of them (all sessions, as the table)."""

    def __init__(self) -> None:
        self.address = "starting…"
        self.tally = Tally()
        self.unavailable: str | None = None
        super().__init__(self._text(), id="webhooks", markup=False)
        self.border_title = "Webhooks"

    def follow(self, state: ConsoleState) -> None:
        self.tally = state.tally  # the state's own books, counted as deliveries arrive
        status = state.status
        if status.failure is not None:
            self.address = NOT_LISTENING
            self.unavailable = "no event log to count"
        elif status.started is not None:
            url = status.started.listener_url
            self.address = url.removeprefix("http://") if url else NOT_LISTENING
        if state.books_problem is not None:
            self.unavailable = f"could not read the counts: {state.books_problem}"
        self.refresh_text()

    def changed(self, change: Change, state: ConsoleState) -> None:
        if change.topics & {"connection", "books"}:
            self.follow(state)
        elif change.topics & {"deliveries", "applications"}:
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
