"""The listener's address and the books: received, verified, duplicate, rejected, applied."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Static


@dataclass
class Tally:
    """Counts kept in memory as messages arrive (no database query per delivery)."""

    verified: int = 0
    duplicate: int = 0
    rejected: int = 0
    confirmed: int = 0
    drift: int = 0
    unconfirmed: int = 0

    def count(self, verdict: str) -> None:
        setattr(self, verdict, getattr(self, verdict) + 1)

    def settle(self, state: str) -> None:
        if state in ("confirmed", "drift", "unconfirmed"):
            setattr(self, state, getattr(self, state) + 1)


class WebhookPanel(Static):
    """Where webhooks arrive and what has become of them."""

    def __init__(self) -> None:
        self.address = "starting…"
        self.tally = Tally()
        super().__init__(self._text(), id="webhooks", markup=False)
        self.border_title = "Webhooks"

    def show_address(self, address: str) -> None:
        self.address = address.removeprefix("http://")
        self.refresh_text()

    def refresh_text(self) -> None:
        self.update(self._text())

    def _text(self) -> str:
        t = self.tally
        return (
            f"{self.address}\n"
            f"{t.verified} verified · {t.duplicate} dup · {t.rejected} rejected\n"
            f"{t.confirmed} confirmed · {t.drift} drift · {t.unconfirmed} unchecked"
        )
