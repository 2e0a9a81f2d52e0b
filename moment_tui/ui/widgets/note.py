"""A one-line note whose text changes often (a list's count as you type a filter).

Unlike ``Static.update``, a new text never asks for a new layout of the screen: the
line's size is fixed by its CSS, so only the line itself is drawn again.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class Note(Widget):
    DEFAULT_CSS = """
    Note {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = text

    def set(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="ellipsis")
