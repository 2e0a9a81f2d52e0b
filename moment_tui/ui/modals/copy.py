"""``c``: copy the id, the JSON, or an equivalent curl, through OSC 52.

OSC 52 is an escape sequence the terminal itself turns into a clipboard write, so
copying works over SSH and inside tmux (with ``set -g set-clipboard on``), with no
clipboard program or desktop service on the machine running the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from moment_tui.ui.present import short

KEY_LABEL = "$MOMENT_API_KEY"  # what a copied curl sends: the shell fills in the key


class CopyMenu(ModalScreen[None]):
    """A short list of things to copy; Enter (or the item's first letter) copies it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", key_display="Esc"),
    ]

    def __init__(
        self, what: str, choices: Sequence[tuple[str, str]], *, preview: bool = True
    ) -> None:
        """``preview``: show the start of each text, and of what was copied (not while
        personal data is masked: a body's start may hold a name)."""
        super().__init__()
        self.what = what
        self.choices = list(choices)  # (label, text to copy)
        self.preview = preview

    def _start(self, text: str) -> str:
        return short(text.splitlines()[0] if text else "", 40) if self.preview else ""

    def compose(self) -> ComposeResult:
        with Vertical(id="copy-menu"):
            yield Static(f"Copy · {self.what}", classes="title", markup=False)
            # Plain text: a preview may be a server's answer ("[/b]" is not markup here).
            yield OptionList(
                *(
                    Option(f"{label}  {self._start(text)}".rstrip(), id=str(i))
                    for i, (label, text) in enumerate(self.choices)
                ),
                markup=False,
            )
            yield Static("Copied through the terminal (OSC 52): works over SSH.", classes="hint")
        yield Footer()

    def on_key(self, event: events.Key) -> None:
        """A choice's first letter copies it (and goes no further: ``c`` must not open
        the menu again on the screen underneath)."""
        character = event.character
        if not character:
            return
        for index, (label, _) in enumerate(self.choices):
            if label[:1].lower() == character.lower():
                event.stop()
                self._copy(index)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._copy(int(event.option.id or 0))

    def _copy(self, index: int) -> None:
        label, text = self.choices[index]
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        if lines == 1 and self.preview:
            size = short(text, 60)
        else:
            size = f"{lines} line{'s' if lines > 1 else ''}"
        self.app.notify(f"Copied {label.lower()}: {size}", timeout=4)
        self.dismiss()
