"""LIVE mode: the request is shown first, and sent only once its confirmation is typed.

Real money moves in live mode, so a write is never one keystroke away: the person
reads the method, path and body, then types the bill's reference (or ``yes``).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static


class ConfirmWrite(ModalScreen[bool]):
    """Dismissed with True only when ``word`` is typed exactly; Esc refuses."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "refuse", "Do not send", key_display="Esc"),
    ]

    def __init__(self, summary: str, request: str, word: str) -> None:
        super().__init__()
        self.summary = summary
        self.request = request
        self.word = word

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="confirm-write"):
            yield Static("LIVE MODE · real money", classes="live", markup=False)
            yield Static(self.summary, classes="summary", markup=False)
            yield Static(self.request, classes="request", markup=False)
            yield Static(f"Type {self.word} and Enter to send it; Esc does not send.", markup=False)
            yield Input(placeholder=self.word, id="confirm-word")
            yield Static("", id="confirm-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#confirm-status", Static).update(
                f"That is not {self.word!r}: nothing was sent. Type it exactly, or Esc."
            )

    def action_refuse(self) -> None:
        self.dismiss(False)
