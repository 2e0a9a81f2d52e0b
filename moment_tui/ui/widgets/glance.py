"""Home's "Outstanding" box: money owed per currency, and how overdue it is.

The catalogue is read in a worker (one query over the unpaid bills, in a thread) when
the screen is shown and whenever payments, syncs or counts may have moved the totals —
at most once every :data:`READ_SECONDS`, however many changes arrive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from textual import events
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from moment_tui.store.browse import AGING, Glance
from moment_tui.ui.follows import Follows
from moment_tui.ui.present import bar, counted, money
from moment_tui.ui.queries import Unavailable
from moment_tui.ui.state import Change, ConsoleState, Topic

if TYPE_CHECKING:
    from moment_tui.ui.queries import Queries

TITLE: Final = "Outstanding"
READING: Final = "reading the catalogue…"
NOTHING: Final = "Nothing outstanding: no unpaid bills."
READ_SECONDS: Final = 1.0  # the catalogue is read again at most this often
TOPICS: Final[frozenset[Topic]] = frozenset({"applications", "catalogue", "counts"})
MAX_CURRENCY_LINES: Final = 3  # the last one says "+N more currencies" when there are more
# Each AGING bucket's label on screen, and its colours (overdue: warning, then error):
# the bar's, and the label's (the theme's text shade of it, legible on light themes too).
LABELS: Final = ("current", "1–30 d", "31–60 d", "61–90 d", "90+ d")
BAR_STYLES: Final = ("$primary", "$warning", "$warning", "$error", "$error")
LABEL_STYLES: Final = (
    "$text-primary",
    "$text-warning",
    "$text-warning",
    "$text-error",
    "bold $text-error",
)
LABEL_WIDTH: Final = max(len(label) for label in LABELS)
EMPTY_STYLE: Final = "dim"  # not $text-muted: "auto 60%" means nothing outside CSS
MIN_BAR: Final = 6  # narrower than this, counts lose their "bills" to give the bar room

assert len(LABELS) == len(BAR_STYLES) == len(LABEL_STYLES) == len(AGING)


# --- pure helpers -------------------------------------------------------------------------


def currency_order(glance: Glance) -> list[str]:
    """Currencies with something outstanding: most unpaid bills first, then the larger
    total, then by code (so the order never flickers between two equal ones)."""
    codes = set(glance.outstanding) | set(glance.unpaid_bills)
    return sorted(
        codes,
        key=lambda c: (-glance.unpaid_bills.get(c, 0), -glance.outstanding.get(c, 0), c),
    )


def scaled_bars(amounts: Sequence[int], width: int) -> list[str]:
    """One bar ``width`` cells wide per amount, scaled to the largest; a bucket with any
    money shows at least a sliver, an empty one nothing."""
    top = max(amounts, default=0)
    if width <= 0:
        return ["" for _ in amounts]
    smallest = 1 / (8 * width)  # one eighth of a cell
    return [
        bar(max(amount / top, smallest), width) if amount > 0 and top > 0 else " " * width
        for amount in amounts
    ]


def bills(count: int) -> str:
    return counted(count, "bill")


@dataclass(frozen=True)
class Drawing:
    """What the box shows: its lines, and its border's title and subtitle."""

    lines: list[Content]
    title: str = TITLE
    subtitle: str = ""

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self.lines)


def draw(glance: Glance, width: int, height: int) -> Drawing:
    """The box for ``width`` x ``height`` cells of content.

    The lead currency (most bills) has its aging drawn as five bars. Above them, a line
    per currency when there is room (at most :data:`MAX_CURRENCY_LINES`); with no room
    (five lines, as at 80x24) the lead's total moves into the title.
    """
    order = currency_order(glance)
    if not order:
        return Drawing([Content(NOTHING)])
    lead = order[0]
    more = len(order) - 1
    room = height - len(AGING)
    aging = aging_lines(glance.aging.get(lead, []), lead, width)
    if room <= 0:  # the bars take every line: the lead's total goes in the border
        title = (
            f"{TITLE} · {money(glance.outstanding.get(lead, 0), lead)}"
            f" · {bills(glance.unpaid_bills.get(lead, 0))}"
        )
        subtitle = f"+{more} more {'currency' if more == 1 else 'currencies'}" if more else ""
        return Drawing(aging[-height:] if height > 0 else [], title, subtitle)
    totals = total_lines(glance, order, min(room, MAX_CURRENCY_LINES))
    gap = [Content("")] if room > len(totals) else []
    return Drawing([*totals, *gap, *aging])


def total_lines(glance: Glance, order: list[str], limit: int) -> list[Content]:
    """A line per currency (total and unpaid bills), at most ``limit`` of them; the last
    says how many more currencies there are when they do not all fit."""
    shown = order if len(order) <= limit else order[: max(limit - 1, 1)]
    left = len(order) - len(shown)
    amounts = [money(glance.outstanding.get(c, 0), c) for c in shown]
    width = max(len(a) for a in amounts)
    lines = [
        Content.assemble(
            (amount.rjust(width), "bold"),
            f"  outstanding in {bills(glance.unpaid_bills.get(c, 0))}",
        )
        for c, amount in zip(shown, amounts, strict=True)
    ]
    if left:
        more = f"+{left} more {'currency' if left == 1 else 'currencies'}"
        if len(shown) < limit:
            lines.append(Content.styled(more, EMPTY_STYLE))
        else:  # one line only: the lead's, with the rest counted on its end
            lines[-1] = lines[-1] + Content.styled(f" · {more}", EMPTY_STYLE)
    return lines


def aging_lines(buckets: Sequence[tuple[int, int]], currency: str, width: int) -> list[Content]:
    """One line per AGING bucket: label, bar (scaled to the largest bucket), amount and
    bills, in ``width`` cells; overdue buckets in warning, then error, colours."""
    buckets = [*buckets, *[(0, 0)] * (len(AGING) - len(buckets))][: len(AGING)]
    amounts = [money(amount, currency) for _, amount in buckets]
    amount_width = max(len(a) for a in amounts)
    digits = max(len(str(count)) for count, _ in buckets)
    # The numbers aligned: " 2 bills", " 1 bill ", "12 bills".
    counts = [f"{n:>{digits}} {'bill' if n == 1 else 'bills':<5}" for n, _ in buckets]
    count_width = digits + 6
    fixed = LABEL_WIDTH + 1 + 2 + amount_width + 2
    if width - fixed - count_width < MIN_BAR:  # narrow: the count alone, no "bills"
        counts = [str(count) for count, _ in buckets]
        count_width = digits
    bar_width = max(width - fixed - count_width, 0)
    bars = scaled_bars([amount for _, amount in buckets], bar_width)
    lines = []
    for label, label_style, bar_style, (count, _), amount, count_text, drawn in zip(
        LABELS, LABEL_STYLES, BAR_STYLES, buckets, amounts, counts, bars, strict=True
    ):
        muted = EMPTY_STYLE if count == 0 else ""
        lines.append(
            Content.assemble(
                (label.ljust(LABEL_WIDTH), muted or label_style),
                " ",
                (drawn, bar_style),
                "  ",
                (amount.rjust(amount_width), muted),
                "  ",
                (count_text.rjust(count_width), muted),
            )
        )
    return lines


# --- the widget -----------------------------------------------------------------------------


class GlancePanel(Static, Follows):
    """Outstanding totals per currency and the lead currency's aging, as bars."""

    def __init__(self, queries: Queries) -> None:
        super().__init__(READING, id="glance", markup=False)
        self.border_title = TITLE
        self.queries = queries
        self.glance: Glance | None = None  # the last answer (None: none yet)
        self.problem: str | None = None  # why the last read failed
        self.reads = 0  # answers drawn, failures included
        self._synced = False  # the first catalogue sync is over: empty means empty
        self._stale = False  # something changed since the last read started
        self._reading = False
        self._timer: Timer | None = None
        self._last = -READ_SECONDS  # when the last read started (time.monotonic)

    # --- following the state ------------------------------------------------------------

    def follow(self, state: ConsoleState) -> None:
        self._note_sync(state)
        self.request()

    def changed(self, change: Change, state: ConsoleState) -> None:
        if "connection" in change.topics:
            self._note_sync(state)
        if change.topics & TOPICS:
            self.request()

    def _note_sync(self, state: ConsoleState) -> None:
        status = state.status
        synced = status.connected is not None or status.failure is not None
        if synced != self._synced:
            self._synced = synced
            self.redraw()

    # --- reading, at most once a second -------------------------------------------------

    def request(self) -> None:
        """The totals may have moved: read them again (soon, not once per change)."""
        self._stale = True
        self._schedule()

    def _schedule(self) -> None:
        if not self._stale or self._reading or self._timer is not None:
            return  # nothing new, a read under way (it looks again), or one due already
        wait = self._last + READ_SECONDS - time.monotonic()
        if wait > 0:
            self._timer = self.set_timer(wait, self._due)
        else:
            self._start()

    def _due(self) -> None:
        self._timer = None
        self._schedule()

    def _start(self) -> None:
        self._stale = False
        self._reading = True
        self._last = time.monotonic()
        self.run_worker(self._read(), exclusive=True, group="glance", exit_on_error=False)

    async def _read(self) -> None:
        try:
            glance = await self.queries.glance()
        except asyncio.CancelledError:
            self._reading = False
            raise
        except Unavailable as exc:
            self.show_problem(str(exc))
        except Exception as exc:  # a broken workspace: say why, keep the screen usable
            self.show_problem(str(exc) or type(exc).__name__)
        else:
            self.show(glance)
        self._reading = False
        self._schedule()  # changes that came while reading

    # --- drawing --------------------------------------------------------------------------

    def show(self, glance: Glance) -> None:
        self.glance = glance
        self.problem = None
        self.reads += 1
        self.redraw()

    def show_problem(self, reason: str) -> None:
        self.problem = reason
        self.reads += 1
        self.redraw()

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()  # bars are as wide as the box, and its height picks the layout

    def drawing(self) -> Drawing:
        """What the box shows now, for its current size."""
        if self.problem is not None:
            return Drawing([Content(f"✕ Cannot read the catalogue: {self.problem}")])
        glance = self.glance
        if glance is None or (not glance.outstanding and not self._synced):
            return Drawing([Content(READING)])  # an empty catalogue before the first sync
        size = self.content_size
        height = self.styles.height
        if height is None or height.is_auto:  # sized by its lines: give it them all
            return draw(glance, size.width, len(AGING) + 1 + MAX_CURRENCY_LINES)
        return draw(glance, size.width, size.height)

    def redraw(self) -> None:
        drawing = self.drawing()
        self.border_title = drawing.title
        self.border_subtitle = drawing.subtitle
        self.update(Content("\n").join(drawing.lines))
