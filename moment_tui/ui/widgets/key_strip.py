"""The key strip (``moment-tui demo --keys``): the last keys pressed, for screencasts.

``MomentApp.on_event`` hands every key the terminal sends to the app's
:class:`KeyLog` before Textual routes it, so the log sees each key once, whoever
handles it (a binding, the focused widget, or nobody) and changes nothing about how
it is handled. Each screen's :class:`KeyStrip`, a line above the footer, draws the
log while it is mounted. Without ``--keys`` there is no log and no strip.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final

from textual.widgets import Static

KEEP: Final = 8  # keys shown
NAMES: Final = {
    "enter": "↵",
    "escape": "Esc",
    "tab": "⇥",
    "shift+tab": "⇤",
    "backspace": "⌫",
    "delete": "Del",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "space": "␣",
}


def key_label(key: str, character: str | None) -> str:
    """How a key reads in the strip: ``T``, ``/``, ``↵``, ``Esc``, ``Ctrl+N``, ``F2``."""
    if key in NAMES:
        return NAMES[key]
    if character is not None and character.isprintable() and not key.startswith("ctrl+"):
        return character
    parts = key.split("+")
    *modifiers, name = parts
    shown = NAMES.get(name, name.upper() if len(name) == 1 else name.capitalize())
    return "+".join([*(m.capitalize() for m in modifiers), shown])


class KeyLog:
    """The last :data:`KEEP` keys pressed, and who to tell when another is."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keys: deque[str] = deque(maxlen=keep)
        self._listeners: list[Callable[[str], object]] = []

    def add(self, key: str, character: str | None) -> None:
        self.keys.append(key_label(key, character))
        text = self.text
        for listener in list(self._listeners):
            listener(text)

    @property
    def text(self) -> str:
        return "  ".join(self.keys)

    def subscribe(self, listener: Callable[[str], object]) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe


class KeyStrip(Static):
    """One line above the footer: ``Keys  4  j  j  ↵  /  T  h  a``."""

    DEFAULT_CSS = """
    /* Docked widgets on one edge overlap: the margin keeps the footer's line free. */
    KeyStrip {
        dock: bottom;
        height: 1;
        margin-bottom: 1;
        padding: 0 1;
        background: $boost;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(self, log: KeyLog) -> None:
        super().__init__(id="key-strip", markup=False)
        self.keys = log
        self._unsubscribe: Callable[[], None] | None = None

    def on_mount(self) -> None:
        self._unsubscribe = self.keys.subscribe(self.show)
        self.show(self.keys.text)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def show(self, text: str) -> None:
        self.update(f"Keys  {text}" if text else "Keys")
