"""A list's filter field: what is typed filters the list as you type.

Its keys are in the footer while you type (a focused field hides every letter key
there): Esc clears the filter and goes back to the list, ↓ goes to the list and keeps
it, Enter too."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave(True)", "Clear", key_display="Esc"),
        Binding("down", "leave(False)", "To the list", key_display="↓"),
    ]

    class Left(Message):
        """Back to the list; ``cleared``: with the filter emptied (Esc)."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def action_leave(self, cleared: bool) -> None:
        if cleared:
            self.value = ""
        self.post_message(self.Left(cleared))
