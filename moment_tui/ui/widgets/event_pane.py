"""The live event pane beside every list: each delivery as it is received.

Compact lines — time, verdict (a rejection's reason), the event's type, amount, the
reconciliation result, and whom the money went to by name — newest at the bottom.
It draws its own lines (no DataTable): its size never changes, so a new delivery
redraws the pane's few lines and nothing else, and a stream of payments leaves the
loop to the rows people are reading. New rows never take the focus or move the
cursor: the cursor follows the newest row only while it is on it. Enter opens the
delivery inspector. Beside the list on wide terminals, below it on narrow ones; ``e``
hides it, and hidden it does no work until shown again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, ClassVar, Final

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widget import Widget

from moment_tui.api.kinds import ID_PATTERNS
from moment_tui.money import amount_text
from moment_tui.ui.follows import Follows
from moment_tui.ui.present import STATE_STYLE, VERDICT_STYLE, deliveries_hint, short
from moment_tui.ui.privacy import Privacy
from moment_tui.ui.widgets.delivery_list import OpenObject

if TYPE_CHECKING:
    from moment_tui.store.applications import Application
    from moment_tui.store.eventlog import Delivery
    from moment_tui.ui.queries import Queries
    from moment_tui.ui.state import Change, ConsoleState

KEEP: Final = 200  # lines kept; the event log keeps every delivery
DRAW_EVERY: Final = 0.1  # seconds: a burst is drawn ten times a second, not per delivery
COLUMNS: Final = (("Time", 8), ("Verdict", 9), ("Amount", 12), ("Result", 11), ("To", 0))
_MOVE: Final = Binding.Group("Move", compact=True)


class EventPane(Widget, Follows, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Move up", key_display="↑", group=_MOVE),
        Binding("down", "move(1)", "Move down", key_display="↓", group=_MOVE),
        Binding("k", "move(-1)", "Move up", show=False),
        Binding("j", "move(1)", "Move down", show=False),
        Binding("enter", "open", "Inspect", key_display="Enter"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-pane--header",
        "event-pane--cursor",
        "event-pane--hint",
    }
    DEFAULT_CSS = """
    EventPane {
        & > .event-pane--header { text-style: bold; }
        & > .event-pane--cursor { background: $block-cursor-blurred-background; }
        &:focus > .event-pane--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .event-pane--hint { color: $text-muted; }
    }
    """

    def __init__(self, queries: Queries) -> None:
        super().__init__(id="event-pane")
        self.queries = queries
        self.border_title = "Live deliveries"
        self.deliveries: OrderedDict[int, Delivery] = OrderedDict()
        self.applications: dict[int, Application] = {}
        self.names: dict[str, str] = {}
        self.privacy = Privacy()  # customers' names drawn masked or not (the state's)
        self.cursor: int | None = None  # a seq; None: follow the newest
        self.hint = "No deliveries yet."
        self._drawn_at = 0.0
        self._pending = False

    # --- following the state ------------------------------------------------------------

    def follow(self, state: ConsoleState) -> None:
        self.privacy = Privacy(state.masked)
        for delivery in state.recent(KEEP):
            self.deliveries[delivery.seq] = delivery
        self.deliveries = OrderedDict(sorted(self.deliveries.items())[-KEEP:])
        self.applications.update(
            (seq, a) for seq, a in state.applications.items() if seq in self.deliveries
        )
        self._hint_from(state)
        self._draw_soon()

    def changed(self, change: Change, state: ConsoleState) -> None:
        if not self.display:
            return  # hidden: follow() catches up when it is shown again
        if "privacy" in change.topics:
            self.privacy = Privacy(state.masked)
            self.refresh()
        if change.deliveries:
            for delivery in change.deliveries:
                self.deliveries[delivery.seq] = delivery
            if any(d.seq < next(reversed(self.deliveries)) for d in change.deliveries):
                self.deliveries = OrderedDict(sorted(self.deliveries.items()))
            while len(self.deliveries) > KEEP:
                seq, _ = self.deliveries.popitem(last=False)
                self.applications.pop(seq, None)
        for application in change.applications:
            if application.delivery_seq in self.deliveries:
                self.applications[application.delivery_seq] = application
        if change.topics & {"deliveries", "connection"}:
            self._hint_from(state)
        if change.deliveries or change.applications:
            self._draw_soon()

    def show(self, state: ConsoleState, shown: bool) -> None:
        """``e``: hide or show; shown again, it catches up."""
        self.display = shown
        if shown:
            self.follow(state)

    def _hint_from(self, state: ConsoleState) -> None:
        hint = deliveries_hint(state, brief=True)
        if hint is not None and hint != self.hint:
            self.hint = hint
            if not self.deliveries:
                self.refresh()

    # --- drawing ------------------------------------------------------------------------

    def _draw_soon(self) -> None:
        if self._pending:
            return
        self._pending = True
        wait = self._drawn_at + DRAW_EVERY - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._draw)
        else:
            self.call_later(self._draw)

    def _draw(self) -> None:
        self._pending = False
        self._drawn_at = time.monotonic()
        self.refresh()
        wanted = {
            i
            for d in self.deliveries.values()
            for i in (d.bill_id, d.account_id, d.customer_id)
            if i and i not in self.names
        }
        if wanted:
            self.look_up_names(wanted)

    @work(group="names", exclusive=True, exit_on_error=False)
    async def look_up_names(self, ids: set[str]) -> None:
        """Names from the catalogue (ids it does not know keep showing as ids)."""
        names = await self.queries.names(ids)
        self.names.update({i: names.get(i, i) for i in ids})
        self.refresh()

    @property
    def _rows(self) -> int:
        return max(self.content_size.height - 1, 1)

    def _window(self) -> list[int]:
        """The seqs on screen: the newest that fit, or around the cursor."""
        seqs = list(self.deliveries)
        height = self._rows
        if self.cursor is None or self.cursor not in self.deliveries:
            return seqs[-height:]
        at = seqs.index(self.cursor)
        end = max(min(len(seqs), at + height // 2 + 1), min(height, len(seqs)))
        return seqs[max(0, end - height) : end]

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if y == 0:
            style = self.get_component_rich_style("event-pane--header")
            return self._strip(self._header(width), width, style)
        window = self._window()
        if not window:
            if y == 1:
                style = self.get_component_rich_style("event-pane--hint")
                return self._strip(Text(short(self.hint, width)), width, style)
            return Strip.blank(width, self.rich_style)
        if y - 1 >= len(window):
            return Strip.blank(width, self.rich_style)
        seq = window[y - 1]
        following = self.cursor is None and seq == window[-1]
        chosen = seq == self.cursor or (following and self.has_focus)
        style = self.get_component_rich_style("event-pane--cursor") if chosen else Style()
        line = self._line(self.deliveries[seq], width)
        if chosen:  # the cursor's colours alone: red on blue is not readable
            line = Text(line.plain)
        return self._strip(line, width, style)

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        base = self.rich_style + style
        text.style = base  # under the columns' own colours
        text.end = ""
        # Every segment styled: Textual's NO_COLOR filter reads each segment's style.
        segments = [Segment(t, s or base) for t, s, _ in text.render(self.app.console)]
        return Strip(segments).crop_extend(0, width, base)

    @staticmethod
    def _header(width: int) -> Text:
        text = Text()
        for label, size in COLUMNS:
            text.append(label.ljust(size) + " " if size else label)
        return text

    def _line(self, d: Delivery, width: int) -> Text:
        text = Text()
        text.append(d.received_at[11:19].ljust(8) + " ")
        text.append(d.verdict.ljust(9) + " ", style=VERDICT_STYLE.get(d.verdict, ""))
        amount = amount_text(d.amount, d.currency) or "—"
        text.append(amount.rjust(12) + " ")
        used = 8 + 1 + 9 + 1 + 12 + 1
        if d.verdict == "rejected":
            result = f"{d.status} {d.reason}"
            text.append(short(result, max(width - used, 8)), style="red")
            return text
        if d.verdict == "duplicate":
            label, style = f"dup of #{d.duplicate_of}", "yellow"
        elif (application := self.applications.get(d.seq)) is not None:
            label, style = application.state, STATE_STYLE.get(application.state, "")
        elif d.application:
            label, style = d.application, STATE_STYLE.get(d.application, "")
        else:
            label, style = "applying…", "dim"
        text.append(short(label, 11).ljust(11) + " ", style=style)
        used += 12
        text.append(short(self._paid_to(d), max(width - used, 4)))
        return text

    def _paid_to(self, d: Delivery) -> str:
        target = d.target()
        if target is None:
            return "—"
        kind, ref = target
        name = self.names.get(ref)
        if name is None or name == ref:
            return ref if ID_PATTERNS[kind].match(ref) else f"{kind} {ref}"
        shown = self.privacy.label(ref, name)
        holder = d.customer_id if kind != "customer" else None
        if holder and self.names.get(holder) not in (None, holder, name):
            return f"{shown} · {self.privacy.label(holder, self.names[holder])}"
        return shown

    # --- keys -----------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        seqs = list(self.deliveries)
        if not seqs:
            return
        cursor = self.cursor
        at = seqs.index(cursor) if cursor is not None and cursor in self.deliveries else len(seqs)
        at = max(0, min(len(seqs) - 1, at - 1 + step if cursor is None else at + step))
        # Back on the newest row: follow new deliveries again.
        self.cursor = None if at == len(seqs) - 1 else seqs[at]
        self.refresh()

    def action_open(self) -> None:
        from moment_tui.ui.modals.delivery_detail import DeliveryDetail

        seqs = list(self.deliveries)
        if not seqs:
            return
        seq = self.cursor if self.cursor in self.deliveries else seqs[-1]
        assert seq is not None
        labels = self.privacy.labels(self.names)
        detail = DeliveryDetail(self.deliveries[seq], self.applications.get(seq), labels)
        self.app.push_screen(detail, self._open_link)

    def _open_link(self, link: tuple[str, str] | None) -> None:
        if link is not None:
            self.post_message(OpenObject(*link))

    @property
    def row_count(self) -> int:
        return len(self.deliveries)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
