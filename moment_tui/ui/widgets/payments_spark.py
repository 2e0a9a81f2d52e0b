"""Home's "Payments" box: amounts applied over the last minutes, as a sparkline.

Drawn from the console state's own record of this session's applications
(:meth:`~moment_tui.ui.state.ConsoleState.series`): no reads. It is redrawn on each
application and every :data:`TICK_SECONDS`, so old payments slide left as time passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Final

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult, RenderResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from moment_tui.ui.follows import Follows
from moment_tui.ui.present import money
from moment_tui.ui.state import Change, ConsoleState

WINDOW_SECONDS: Final = 10 * 60
SLICES: Final = 20  # 30 s each
TICK_SECONDS: Final = 5.0
TITLE: Final = "Payments · last 10 min"
EMPTY: Final = "no payments yet this session"
LEVELS: Final = "▁▂▃▄▅▆▇█"  # eighths of a line, from one eighth up
BASELINE: Final = "▁"  # a slice with nothing applied


# --- pure helpers -------------------------------------------------------------------------


def busiest(series: dict[str, list[int]]) -> str | None:
    """The currency with payments in the most slices (then the larger total, then by
    code); None when nothing was applied."""
    live = {c: values for c, values in series.items() if any(values)}
    if not live:
        return None
    return min(live, key=lambda c: (-sum(1 for v in live[c] if v), -sum(live[c]), c))


def fit(values: Sequence[int], width: int) -> list[int]:
    """``values`` in ``width`` columns: summed when there are more values than columns."""
    if width <= 0 or not values:
        return []
    if len(values) <= width:
        return list(values)
    step = Fraction(len(values), width)
    return [sum(values[int(step * i) : int(step * (i + 1))]) for i in range(width)]


def spark_rows(values: Sequence[int], width: int, height: int) -> list[str]:
    """Rows of block characters, top first: each value a column of ``width //
    len(values)`` cells (at least one), scaled to the largest. Zero stays on the
    baseline; anything applied rises at least two eighths, so it never looks like zero.
    The newest value is at the right edge; spare cells on the left are blank."""
    columns = fit(values, width)
    if not columns or height <= 0:
        return [" " * max(width, 0) for _ in range(max(height, 0))]
    cell = max(width // len(columns), 1)
    top = max(columns)
    steps = 8 * height
    levels = [
        0 if value <= 0 or top <= 0 else min(max(round(value / top * steps), 2), steps)
        for value in columns
    ]
    rows = []
    for row in reversed(range(height)):  # row 0 is the bottom line
        chars = []
        for level in levels:
            filled = level - 8 * row
            if level == 0:
                char = BASELINE if row == 0 else " "
            elif filled >= 8:
                char = LEVELS[-1]
            elif filled > 0:
                char = LEVELS[filled - 1]
            else:
                char = " "
            chars.append(char * cell)
        rows.append("".join(chars).rjust(width))
    return rows


# --- the widgets ----------------------------------------------------------------------------


class PaymentsChart(Sparkline):
    """Textual's sparkline (its ``data``, its colours), drawn so that zero is a baseline
    and the smallest payment still shows, at any height."""

    def render(self) -> RenderResult:
        data = [int(v) for v in self.data or []]
        _, base = self.background_colors
        low = (base + self.get_component_styles("sparkline--min-color").color).rich_color
        high = (base + self.get_component_styles("sparkline--max-color").color).rich_color
        rows = spark_rows(data, self.size.width, self.size.height)
        text = Text(no_wrap=True, overflow="crop")
        for number, row in enumerate(rows):
            if number:
                text.append("\n")
            for char in row:  # the baseline faint, the bars strong
                style = Style(color=low if char == BASELINE and number == len(rows) - 1 else high)
                text.append(char, style)
        return text


class PaymentsSpark(Vertical, Follows):
    """Amounts applied in each 30 s of the last 10 minutes, in the busiest currency."""

    def __init__(self) -> None:
        super().__init__(id="payments", classes="-empty")
        self.border_title = TITLE
        self.state: ConsoleState | None = None
        self.currency: str | None = None
        self.total = 0

    def compose(self) -> ComposeResult:
        yield PaymentsChart([0] * SLICES, id="payments-chart")
        yield Static(EMPTY, id="payments-total", markup=False)

    @property
    def chart(self) -> PaymentsChart:
        return self.query_one(PaymentsChart)

    def on_mount(self) -> None:
        self.set_interval(TICK_SECONDS, self.redraw)

    def follow(self, state: ConsoleState) -> None:
        self.state = state
        self.redraw()

    def changed(self, change: Change, state: ConsoleState) -> None:
        if "applications" in change.topics:
            self.state = state
            self.redraw()

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()

    def redraw(self) -> None:
        if self.state is None or not self.is_mounted:
            return
        series = self.state.series(WINDOW_SECONDS, SLICES)
        currency = busiest(series)
        self.currency = currency
        self.set_class(currency is None, "-empty")
        label = self.query_one("#payments-total", Static)
        if currency is None:
            self.total = 0
            self.chart.data = [0] * SLICES
            label.update(EMPTY)
            return
        values = series[currency]
        self.total = sum(values)
        self.chart.data = values
        others = len([c for c, v in series.items() if c != currency and any(v)])
        also = f" · +{others} more" if others else ""
        label.update(f"{money(self.total, currency)} applied{also}")
