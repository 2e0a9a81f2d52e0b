"""How the console shows things: money, bars, dates, cut text, hanging lines.

Shared by every screen and widget (and free of Textual: rich renderables only), so no
view imports another view, or a CLI printer, to format an amount.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Final

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from moment_tui.money import amount_text

if TYPE_CHECKING:
    from moment_tui.ui.state import ConsoleState

__all__ = [
    "HIGHLIGHT",
    "HIGHLIGHT_SECONDS",
    "Hanging",
    "amount_text",
    "bar",
    "days_overdue",
    "deliveries_hint",
    "label_of",
    "money",
    "short",
    "status_text",
]

BAR_FULL: Final = "█"
BAR_PARTS: Final = " ▏▎▍▌▋▊▉"
# A delivery's verdict and its payment's state, in every table and pane that shows them.
VERDICT_STYLE: Final = {"verified": "green", "duplicate": "yellow", "rejected": "bold red"}
STATE_STYLE: Final = {"confirmed": "green", "drift": "bold magenta", "unconfirmed": "dim"}
READ_ONLY: Final = "Read-only (--read-only): this console sends no writes."
# What an empty list of deliveries says, as Home's box words it and as the narrower
# event pane does.
EMPTY_DELIVERIES: Final = {
    "failed": ("No deliveries: the console could not start.",) * 2,
    "no-listener": ("No deliveries: the webhook listener is not running.",) * 2,
    "sandbox": (
        "No deliveries yet — press p to simulate a payment.",
        "No deliveries yet — p simulates a payment.",
    ),
    "api": (
        "No deliveries yet — webhooks Moment sends to the address above appear here.",
        "No deliveries yet — webhooks Moment sends appear here.",
    ),
}


def deliveries_hint(state: ConsoleState, *, brief: bool = False) -> str | None:
    """What an empty list of deliveries says now (``brief``: the event pane's words),
    or None before the console has started (the list's "No deliveries yet." stays)."""
    status = state.status
    if status.failure is not None:
        case = "failed"
    elif state.history_problem is not None:
        return f"Earlier deliveries could not be read: {state.history_problem}"
    elif status.started is None:
        return None
    elif not status.started.listener_url:
        case = "no-listener"
    elif status.started.api == "the sandbox" and status.has_api:
        case = "sandbox"
    else:
        case = "api"
    return EMPTY_DELIVERIES[case][brief]


def money(amount: int | None, currency: str | None, *, dash: str = "—") -> str:
    """``R 1,234.50``, or ``dash`` when there is no amount (a balance not tracked)."""
    return amount_text(amount, currency) or dash


def counted(count: int, one: str, many: str = "") -> str:
    """``1 bill``, ``2 bills``, ``1,204 customers`` (``many`` defaults to ``one`` + s)."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def short(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells, cut with "…" (CJK takes two)."""
    if width <= 0:
        return ""
    return text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``width`` cells wide, filled to ``fraction`` (0…1) in eighths."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = BAR_FULL * full + (BAR_PARTS[part] if part else "")
    return text.ljust(width)


def days_overdue(due_date: str | None, today: dt.date) -> int:
    """Days past ``due_date`` (ISO text) as of ``today``; 0 when not yet due or undated."""
    if not due_date:
        return 0
    try:
        due = dt.date.fromisoformat(due_date)
    except ValueError:
        return 0
    return max((today - due).days, 0)


# Where a line's value starts: after its indent and a bullet, or a label and 2+ spaces.
_VALUE_START: Final = re.compile(r" *(?:• |[^ ](?:[^ ]| (?! ))*  +)?")


class Hanging:
    """Plain lines whose long values wrap under the value, not at the left edge."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        for line in self.lines:
            match = _VALUE_START.match(line)
            hang = match.end() if match else 0
            if hang > width // 2:  # a long label: wrap under the line's own indent instead
                hang = min(len(line) - len(line.lstrip(" ")), width // 2)
            head, value = line[:hang], line[hang:]
            for number, part in enumerate(Text(value).wrap(console, width - hang)):
                yield Text(head if number == 0 else " " * hang) + part


HIGHLIGHT_SECONDS: Final = 1.5
HIGHLIGHT: Final = "bold black on green"  # a changed row or timeline entry, briefly


def label_of(obj: Any) -> str:
    """What the trail and the copy menu call an object: its name, else its reference."""
    return str(getattr(obj, "name", None) or obj.external_reference or obj.id)


def status_text(status: str, due_date: str | None, today: dt.date) -> Text:
    """``paid`` green, ``voided`` dim, ``overdue`` red (unpaid past its due date)."""
    if status == "paid":
        return Text("paid", style="green")
    if status == "voided":
        return Text("voided", style="dim")
    if status == "unpaid" and due_date and due_date < today.isoformat():
        return Text("overdue", style="bold red")
    return Text(status)
