"""Everything about one delivery: verdict and reason, the signature diagnosis, the
event, and what applying it changed."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery
from moment_tui.webhooks.report import amount_text

# Fields that hold an amount in minor units: shown as money ("R 1,234.50").
AMOUNT_FIELDS: Final = frozenset({"amount_due", "amount_paid", "amount_remaining", "balance"})


def describe(delivery: Delivery, application: Application | None) -> str:
    """The modal's text; plain lines so it reads the same over any terminal."""
    d = delivery
    lines = [f"Delivery #{d.seq} · {d.verdict}" + (f" ({d.status} {d.reason})" if d.reason else "")]
    lines.append(f"Received    {d.received_at}")
    lines.append(f"webhook-id  {d.webhook_id or '—'}")
    lines.append(f"Message     {d.message}")
    if d.event_type:
        target = d.target()
        lines += ["", "Event", f"  type      {d.event_type}", f"  event id  {d.event_id or '—'}"]
        if target:
            lines.append(f"  paid to   {target[0]} {target[1]}")
        if d.amount is not None:
            lines.append(
                f"  amount    {amount_text(d.amount, d.currency)} ({d.amount} minor units)"
            )
    if d.diagnosis:
        lines += ["", *_diagnosis(d.diagnosis)]
    if application is not None:
        lines += ["", *_application(application, d.currency)]
    return "\n".join(lines)


def _diagnosis(diagnosis: dict[str, Any]) -> list[str]:
    lines = ["Signature check", f"  signed content  {diagnosis.get('signed_content_prefix', '')}"]
    lines += [f"  expected        {e}" for e in diagnosis.get("expected", [])]
    lines += [f"  received        {r}" for r in diagnosis.get("received", [])] or [
        "  received        (none)"
    ]
    lines.append(f"  clock skew      {diagnosis.get('skew_seconds', 0):+d} s")
    hints = diagnosis.get("hints", [])
    if hints:
        lines.append("  hints")
        lines += [f"   • {hint}" for hint in hints]
    return lines


def _value(field: str, value: Any, currency: str | None) -> str:
    """An amount field as money in the event's currency; anything else as it is."""
    if value is None:
        return "—"
    if field in AMOUNT_FIELDS and isinstance(value, int) and currency:
        return amount_text(value, currency)
    return str(value)


def _application(app: Application, currency: str | None) -> list[str]:
    lines = [f"Applied     {app.outcome} · {app.state}"]
    if app.note:
        lines.append(f"  note      {app.note}")
    width = max((len(c.field) for c in app.changes), default=0)
    shown: tuple[str, str] | None = None
    for change in app.changes:  # grouped by object, so each change fits on one line
        if (change.kind, change.id) != shown:
            shown = (change.kind, change.id)
            lines.append(f"  {change.kind} {change.id}")
        before = _value(change.field, change.before, currency)
        after = _value(change.field, change.after, currency)
        lines.append(f"    {change.field.ljust(width)}  {before} → {after}")
    for bill_id, part in app.allocation:
        lines.append(f"  allocated {_value('amount_paid', part, currency)} to bill {bill_id}")
    if app.to_balance:
        lines.append(f"  to balance {_value('balance', app.to_balance, currency)}")
    for drift in app.drift:
        ours = _value(drift.field, drift.ours, currency)
        server = _value(drift.field, drift.server, currency)
        lines.append(
            f"  drift: {drift.kind} {drift.id} {drift.field} ours {ours}, "
            f"server {server} (server's copy kept)"
        )
    return lines


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


class DeliveryDetail(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", key_display="Esc"),
        Binding("enter", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, delivery: Delivery, application: Application | None) -> None:
        super().__init__()
        self.text = describe(delivery, application)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(Hanging(self.text), markup=False)
        yield Footer()
