"""``l`` on a bill (sandbox only): the bill's payment page, as a payer would get it.

The sandbox serves ``/pay/{bill}`` (``sandbox/presentment.py``), standing in for
Moment's hosted bill presentment, which has no API: what is due, the status, an
amount and a Pay button. The link is copied through the terminal (OSC 52, so it works
over SSH) as soon as this opens; a payment made on the page sends its webhook here.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


def pay_link(base_url: str, bill_id: str) -> str:
    """The sandbox's bill page for ``bill_id``."""
    return f"{base_url.rstrip('/')}/pay/{bill_id}"


class PresentBill(ModalScreen[None]):
    """Shows the link, copies it on opening; ``c`` copies it again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy again"),
        Binding("escape", "dismiss", "Close", key_display="Esc"),
        Binding("enter", "dismiss", "Close", show=False),
    ]

    def __init__(self, reference: str, link: str, status: str) -> None:
        super().__init__()
        self.reference = reference
        self.link = link
        self.status = status

    def compose(self) -> ComposeResult:
        with Vertical(id="present-bill"):
            yield Static(f"Bill page · {self.reference}", classes="title", markup=False)
            yield Static(self.link, id="pay-link", markup=False)
            state = {
                "paid": "It is paid: the page shows it so, with no Pay button.",
                "voided": "It is voided: the page shows it so, with no Pay button.",
            }.get(self.status, "A payment made on the page sends its webhook to this console.")
            yield Static(
                "Copied through the terminal (OSC 52): paste it in a browser on this "
                f"machine. {state}\nThe sandbox's stand-in for Moment's hosted bill page.",
                classes="hint",
                markup=False,
            )
        yield Footer()

    def on_mount(self) -> None:
        self.action_copy()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.link)
        self.app.notify(f"Copied the bill page link: {self.link}", timeout=6)
