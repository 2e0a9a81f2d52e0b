"""Widgets that draw part of the console state, and how their screen feeds them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moment_tui.ui.state import Change, ConsoleState


class Follows:
    """A widget that draws part of the state: :meth:`follow` catches up with all of it,
    :meth:`changed` takes one change. Its screen (``ConsoleScreen``) calls both, only
    while it is shown."""

    def follow(self, state: ConsoleState) -> None:
        """Catch up with everything in ``state`` (the screen was shown again)."""

    def changed(self, change: Change, state: ConsoleState) -> None:
        """Take one change (the screen is shown)."""
