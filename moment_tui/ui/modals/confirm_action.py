"""A write named before it is made: what changes (or what is lost), then yes or no.

Outside LIVE mode one key confirms (Enter or ``y``, or only ``y`` for what cannot be
undone; Esc or ``n`` does not). With a
``word`` — LIVE mode, or an irreversible void — the person types it, exactly, and
Enter; anything else sends nothing and says so. In LIVE mode every write comes here
first (a form's with its request shown, the method, path and body), framed in red:
real money moves, so a write is never one keystroke away.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static


class ConfirmAction(ModalScreen[bool]):
    """Dismissed with True once confirmed; False (nothing sent) otherwise."""

    is_form: ClassVar[bool] = True  # the app's q, g and 1-5 do nothing here (no stray quit)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm_enter", "Yes", key_display="Enter"),
        Binding("y", "confirm", "Yes", show=False),
        Binding("n", "refuse", "No", show=False),
        Binding("escape", "refuse", "Do not send", key_display="Esc"),
    ]

    def __init__(
        self,
        title: str,
        text: str,
        *,
        word: str | None = None,
        verb: str = "send it",
        live: bool = False,
        warning: str = "",
        enter: bool = True,
    ) -> None:
        super().__init__()
        self.enter = enter  # False: irreversible, only y confirms (Enter is too easy)
        self.title_text = title
        self.text = text
        self.word = word
        self.verb = verb
        self.live = live
        self.warning = warning

    def compose(self) -> ComposeResult:
        self.set_class(self.live, "-live")
        with VerticalScroll(id="confirm-action"):
            if self.live:
                yield Static("LIVE MODE · real money", classes="live", markup=False)
            yield Static(self.title_text, classes="title", markup=False)
            yield Static(self.text, classes="changes", markup=False)
            if self.warning:
                yield Static(self.warning, classes="warning", markup=False)
            if self.word is None:
                keys = "Enter or y" if self.enter else "y"
                yield Static(f"{keys} to {self.verb}; Esc or n does not.", markup=False)
            else:
                yield Static(
                    f"Type {self.word} and Enter to {self.verb}; Esc does not.", markup=False
                )
                yield Input(placeholder=self.word, id="confirm-word")
            yield Static("", id="confirm-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.word is not None:
            self.query_one(Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":  # with a word to type, only the typed word confirms
            return self.word is None
        if action == "confirm_enter":  # not offered when only y confirms
            return self.word is None and self.enter
        return True

    def action_confirm_enter(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.word is None:
            self.dismiss(True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#confirm-status", Static).update(
                f"That is not {self.word!r}: nothing was sent. Type it exactly, or Esc."
            )

    def action_refuse(self) -> None:
        self.dismiss(False)
