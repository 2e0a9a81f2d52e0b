"""Everything about one delivery: verdict and reason, the signature diagnosis, the
event, and what applying it changed."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from moment_tui.api.models import ObjectKind
from moment_tui.money import amount_text
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery
from moment_tui.ui.present import Hanging

# Fields that hold an amount in minor units: shown as money ("R 1,234.50").
AMOUNT_FIELDS: Final = frozenset({"amount_due", "amount_paid", "amount_remaining", "balance"})
NO_LABELS: Final[Mapping[str, str]] = MappingProxyType({})


def named(object_id: str, labels: Mapping[str, str]) -> str:
    """``INV-2026-0021 · bill_…``: the name or reference the catalogue knows, then the
    id (the id alone when it knows none)."""
    label = labels.get(object_id)
    return f"{label} · {object_id}" if label and label != object_id else object_id


def describe(
    delivery: Delivery, application: Application | None, labels: Mapping[str, str] = NO_LABELS
) -> str:
    """The modal's text; plain lines so it reads the same over any terminal. Objects
    are named as ``labels`` has them (masked by the caller when names are)."""
    d = delivery
    lines = [f"Delivery #{d.seq} · {d.verdict}" + (f" ({d.status} {d.reason})" if d.reason else "")]
    lines.append(f"Received    {d.received_at}")
    lines.append(f"webhook-id  {d.webhook_id or '—'}")
    lines.append(f"Message     {d.message}")
    if d.event_type:
        target = d.target()
        lines += ["", "Event", f"  type      {d.event_type}", f"  event id  {d.event_id or '—'}"]
        if target:
            lines.append(f"  paid to   {target[0]} {named(target[1], labels)}")
        if d.amount is not None:
            lines.append(
                f"  amount    {amount_text(d.amount, d.currency)} ({d.amount} minor units)"
            )
    if d.diagnosis:
        lines += ["", *_diagnosis(d.diagnosis)]
    if application is not None:
        lines += ["", *_application(application, d.currency, labels)]
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


def _application(app: Application, currency: str | None, labels: Mapping[str, str]) -> list[str]:
    lines = [f"Applied     {app.outcome} · {app.state}"]
    if app.note:
        lines.append(f"  note      {app.note}")
    width = max((len(c.field) for c in app.changes), default=0)
    shown: tuple[str, str] | None = None
    for change in app.changes:  # grouped by object, so each change fits on one line
        if (change.kind, change.id) != shown:
            shown = (change.kind, change.id)
            lines.append(f"  {change.kind} {named(change.id, labels)}")
        before = _value(change.field, change.before, currency)
        after = _value(change.field, change.after, currency)
        lines.append(f"    {change.field.ljust(width)}  {before} → {after}")
    for bill_id, part in app.allocation:
        part_text = _value("amount_paid", part, currency)
        lines.append(f"  allocated {part_text} to bill {named(bill_id, labels)}")
    if app.to_balance:
        lines.append(f"  to balance {_value('balance', app.to_balance, currency)}")
    for drift in app.drift:
        ours = _value(drift.field, drift.ours, currency)
        server = _value(drift.field, drift.server, currency)
        lines.append(
            f"  drift: {drift.kind} {named(drift.id, labels)} {drift.field} ours {ours}, "
            f"server {server} (server's copy kept)"
        )
    return lines


def links(delivery: Delivery, application: Application | None) -> list[tuple[ObjectKind, str]]:
    """The objects a delivery named or its application touched: bill, account, customer
    first (as the event named them), then any bill an account payment went to."""
    found: dict[str, ObjectKind] = {}
    named: tuple[tuple[ObjectKind, str | None], ...] = (
        ("bill", delivery.bill_id),
        ("account", delivery.account_id),
        ("customer", delivery.customer_id),
    )
    for kind, object_id in named:
        if object_id:
            found.setdefault(object_id, kind)
    if application is not None:
        for change in application.changes:
            if change.kind in ("customer", "account", "bill"):
                found.setdefault(change.id, change.kind)  # type: ignore[arg-type]
        for bill_id, _ in application.allocation:
            found.setdefault(bill_id, "bill")
    return [(kind, object_id) for object_id, kind in found.items()]


LINK_KEYS: Final[dict[str, str]] = {"bill": "b", "account": "a", "customer": "u"}


class DeliveryDetail(ModalScreen[tuple[str, str] | None]):
    """The inspector. Dismissed with ``(kind, id)`` when a link is chosen: whoever
    opened it opens that object's detail.

    The links are under the text, one a line, each on a key (``b`` bill, ``a`` account,
    ``u`` customer; Enter the object the money went to): whatever the text's length,
    they stay in sight at 80x24 (the text scrolls above them). A bill an account
    payment reached is opened from the account."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", key_display="Esc"),
        Binding("enter", "open_first", "Open", show=False),
        Binding("b", "open('bill')", "Bill"),
        Binding("a", "open('account')", "Account"),
        Binding("u", "open('customer')", "Customer"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(
        self,
        delivery: Delivery,
        application: Application | None,
        labels: Mapping[str, str] = NO_LABELS,
    ) -> None:
        super().__init__()
        self.labels = dict(labels)
        self.text = describe(delivery, application, labels)
        found = links(delivery, application) if delivery.verdict != "rejected" else []
        self.links: dict[str, str] = {}
        for kind, object_id in found:
            self.links.setdefault(kind, object_id)  # the first of each kind

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            with VerticalScroll(id="detail-text"):
                yield Static(Hanging(self.text), markup=False)
            if self.links:
                yield Static(self.links_text(), id="links", markup=False)
        yield Footer()

    def links_text(self) -> Text:
        """One link a line, the key first (``b bill     INV-2026-0021``): three do not
        fit on one line of an 80-column terminal, and a link cut in two reads as two."""
        text = Text()
        width = max(len(kind) for kind in self.links)
        for index, (kind, object_id) in enumerate(self.links.items()):
            text.append("Open  " if index == 0 else "\n      ", style="bold")
            text.append(LINK_KEYS[kind], style="bold reverse")
            # Its name or reference, else its id (the text above has both: a line here
            # must not wrap at 80 columns). A Text: never read as markup.
            text.append(f" {kind.ljust(width)}  {self.labels.get(object_id) or object_id}")
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":  # b, a, u only for what the delivery touched
            return parameters[0] in self.links
        return True

    def action_open(self, kind: str) -> None:
        if kind in self.links:
            self.dismiss((kind, self.links[kind]))

    def action_open_first(self) -> None:
        """Enter: the object the money went to (the first link), else close."""
        if self.links:
            kind, object_id = next(iter(self.links.items()))
            self.dismiss((kind, object_id))
        else:
            self.dismiss(None)
