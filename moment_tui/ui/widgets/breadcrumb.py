"""The line under the banner: where you are (``Bills › INV-0042 › Thabo Mokoena``),
and the views' keys on the right when there is room."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import Static

from moment_tui.ui.present import short

SEPARATOR = " › "
MASKED = " ● personal data masked "  # beside the crumbs while the mask is on (Ctrl+N)


def fit(trail: Sequence[str], room: int) -> str:
    """The trail in ``room`` cells: whole if it fits, else its middle left out
    (``Bills › … › INV-0380 › Kagiso Mahlangu``), the view and where you are kept as
    long as they fit; at the narrowest, where you are, cut."""
    whole = SEPARATOR.join(trail)
    if cell_len(whole) <= room or len(trail) < 2:
        return short(whole, room)
    first, rest = trail[0], list(trail[1:])
    while rest:
        line = SEPARATOR.join([first, "…", *rest] if len(rest) < len(trail) - 1 else [first, *rest])
        if cell_len(line) <= room:
            return line
        rest.pop(0)
    return short(SEPARATOR.join(["…", trail[-1]]), room)


class Breadcrumb(Static):
    def __init__(self) -> None:
        super().__init__("", id="breadcrumb", markup=False)
        self.trail: list[str] = []
        self.views: list[tuple[str, str, bool]] = []  # (key, title, current)
        self.masked = False

    def show(
        self,
        trail: Sequence[str],
        views: Sequence[tuple[str, str, bool]],
        *,
        masked: bool = False,
    ) -> None:
        self.trail = list(trail)
        self.views = list(views)
        self.masked = masked
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _tabs(self, room: int) -> Text:
        """``1 Home  2 Customers …``; narrower, the current view's name and the other
        views' keys (``1  2 Customers  3  4  5``), then the keys alone."""
        for form in ("all", "current", "none"):
            text = Text()
            for key, title, current in self.views:
                named = form == "all" or (form == "current" and current)
                label = f"{key} {title}" if named else key
                text.append(f" {label} ", style="reverse" if current else "dim")
            if cell_len(text.plain) <= room:
                return text
        return Text()

    def _draw(self) -> None:
        width = self.content_size.width or 80
        crumbs = SEPARATOR.join(self.trail)
        mark = cell_len(MASKED) + 1 if self.masked else 0
        tabs = self._tabs(max(width - min(cell_len(crumbs), width // 2) - mark - 2, 0))
        room = max(width - cell_len(tabs.plain) - mark - 1, 8)
        line = Text(fit(self.trail, room), style="bold")
        if self.masked:
            line.append(" ")
            line.append(MASKED, style="bold reverse")
        line.append(" " * max(width - cell_len(line.plain) - cell_len(tabs.plain), 1))
        line.append_text(tabs)
        self.update(line)
