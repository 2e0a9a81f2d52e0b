"""What a detail view says, as rich text: the object's fields, its payment rules and
status, and its timeline (each payment applied to it, before → after, and what the API
said). No widgets here: ``detail_base`` draws these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from moment_tui.ui.present import HIGHLIGHT, label_of, money

if TYPE_CHECKING:
    from moment_tui.api.models import PaymentRules
    from moment_tui.store.applications import Application
    from moment_tui.store.browse import Related
    from moment_tui.store.catalogue import Entry
    from moment_tui.store.changes import ObjectChange
    from moment_tui.store.eventlog import Delivery

LABEL_WIDTH: Final = 9
MONEY_FIELDS: Final = frozenset(
    {
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "balance",
        "payment_rules.min_amount",
        "payment_rules.max_amount",
    }
)
FIELD_NAMES: Final = {"amount_due": "due", "amount_paid": "paid", "amount_remaining": "remaining"}
SOURCES: Final = {
    "created": "created from this console",
    "changed": "changed from this console",
    "looked_up": "looked up from the API",
    "listed": "listed from the API",
    "imported": "imported (bulk upload)",
    "webhook": "heard of in a webhook, then fetched",
    "refetched": "re-fetched from the API to check a payment",
    "applied": "changed by a payment",
}
STATES: Final = {
    "applied": ("applied · checking with the API", "yellow"),
    "confirmed": ("confirmed", "green"),
    "drift": ("drift", "bold magenta"),
    "unconfirmed": ("unconfirmed", "dim"),
}


@dataclass(frozen=True)
class Loaded:
    """One load of a view: its object and everything drawn beside it."""

    entry: Entry[Any]
    related: Related
    labels: dict[str, str]  # a name or reference for each id the view mentions
    currencies: dict[str, str]  # the currency of each object shown that has one
    holders: dict[str, Entry[Any] | None] = field(default_factory=dict)  # "customer", "account"

    @property
    def obj(self) -> Any:
        return self.entry.obj


# --- text ------------------------------------------------------------------------------


def rules_text(rules: PaymentRules | None, currency: str | None) -> str:
    """``R 0.01 to R 500.00 · underpayment allowed · overpayment refused``; amounts of
    an object with no currency are given in minor units."""
    if rules is None:
        return "—"

    def amount(value: int) -> str:
        return money(value, currency, dash="") or f"{value:,}"

    units = "" if money(0, currency, dash="") else " minor units"
    parts = []
    low, high = rules.min_amount, rules.max_amount
    if low is not None and high is not None:
        parts.append(f"{amount(low)} to {amount(high)}{units}")
    elif low is not None:
        parts.append(f"min {amount(low)}{units}")
    elif high is not None:
        parts.append(f"max {amount(high)}{units}")
    for name in ("underpayment", "overpayment"):
        allowed = getattr(rules, f"{name}_allowed")
        if allowed is not None:
            parts.append(f"{name} {'allowed' if allowed else 'refused'}")
    return " · ".join(parts) or "—"


def rules_currency(currency: str | None, bills: Sequence[Any]) -> str | None:
    """The currency a customer's or account's payment rules are in: its own, else
    that of its bills when they share one (the sandbox's rules for one without a
    currency are its unpaid bills'); None when it cannot be said."""
    if currency:
        return currency
    currencies = {bill.currency for bill in bills}
    return currencies.pop() if len(currencies) == 1 else None


def metadata_text(metadata: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in metadata.items()) or "—"


class Fields:
    """Label/value pairs, two a line where they fit; a value too long for half the
    width (an email, payment rules) gets a line of its own after them, so the block
    stays short at any width."""

    def __init__(self, pairs: Sequence[tuple[str, str | Text]], columns: int = 2) -> None:
        self.pairs = list(pairs)
        self.columns = columns

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = options.max_width // self.columns - LABEL_WIDTH - 2
        short = [pair for pair in self.pairs if cell_len(str(pair[1])) <= room]
        long = [pair for pair in self.pairs if cell_len(str(pair[1])) > room]
        for group, across in ((short, self.columns), (long, 1)):
            if not group:
                continue
            grid = Table.grid(padding=(0, 1), expand=True)
            for _ in range(across):
                grid.add_column(style="dim", no_wrap=True, min_width=LABEL_WIDTH)
                grid.add_column(ratio=1, overflow="fold")
            for start in range(0, len(group), across):
                cells: list[str | Text] = []
                for label, value in group[start : start + across]:
                    cells += [label, value]
                grid.add_row(*cells)
            yield grid


def when(iso: str | None) -> str:
    """``2026-11-01 09:14:03`` in UTC, as every time in the console is (deliveries,
    requests): one clock on every screen, whatever the machine's time zone."""
    if not iso:
        return "—"
    try:
        at = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso[:19]
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class Lines:
    """Styled lines, each wrapping under its own indent (the timeline's entries)."""

    def __init__(self, lines: Sequence[tuple[int, Text]]) -> None:
        self.lines = list(lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        for indent, text in self.lines:
            hang = min(indent, width // 2)
            for part in text.wrap(console, max(width - hang, 1)):
                yield Text(" " * hang) + part


# --- the timeline ------------------------------------------------------------------------


def timeline(
    loaded: Loaded,
    deliveries: Mapping[int, Delivery],
    fresh: Collection[int] = (),
) -> Lines:
    """What happened to the object, newest first: each payment applied to it or to
    anything under it (each changed field before → after, and what the API said),
    and when the catalogue learned it. ``fresh`` payments are highlighted."""
    entries: list[tuple[str, int, list[tuple[int, Text]]]] = []
    for app, received in loaded.related.applications:
        at = received or app.applied_at
        lines = _payment(app, at, loaded, deliveries.get(app.delivery_seq))
        if app.delivery_seq in fresh:
            for _, text in lines:
                text.stylize(HIGHLIGHT)
        entries.append((at, app.delivery_seq, lines))
    entry = loaded.entry
    for change in loaded.related.changes:
        entries.append((change.at, -1, _change(change, loaded)))
    source = SOURCES.get(entry.source, entry.source)
    said = any(change.at == entry.updated_at for change in loaded.related.changes)
    if entry.updated_at == entry.learned_at:  # one copy so far: its source says how
        entries.append((entry.learned_at, -2, _event(entry.learned_at, "learned", source)))
    else:  # the source is the latest copy's; how it was first met, if it was kept
        first = SOURCES.get(entry.first_source or "", "first seen")
        entries.append((entry.learned_at, -2, _event(entry.learned_at, "learned", first)))
        if entry.source not in ("applied", "refetched") and not said:  # said already
            entries.append((entry.updated_at, -1, _event(entry.updated_at, "updated", source)))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    lines = [line for _, _, block in entries for line in block]
    if not loaded.related.applications:
        lines.append((0, Text(_no_payments(loaded), style="dim")))
    return Lines(lines)


def _no_payments(loaded: Loaded) -> str:
    """What a timeline without payments says: a bill paid in part already was paid
    before this workspace heard of a payment for it (or the payment was recorded)."""
    obj = loaded.obj
    paid = getattr(obj, "amount_paid", 0)
    recorded = any(
        f.field == "amount_paid" for change in loaded.related.changes for f in change.fields
    )
    if paid and recorded:
        return "No payment webhook received here for it: paid as recorded by hand."
    if paid:
        return (
            f"No payment webhook received here for it: the {money(paid, obj.currency)} "
            "paid came before, or was recorded by hand."
        )
    if any(bill.amount_paid for bill in loaded.related.bills):  # a customer or account
        return (
            "No payment webhook received here for it: what its bills show paid came "
            "before, or was recorded by hand."
        )
    return "No payments applied to it yet."


def _event(at: str, what: str, text: str) -> list[tuple[int, Text]]:
    head = Text.assemble((when(at), "dim"), "  ", (what, "cyan"))
    return [(0, head), (2, Text(text[:1].upper() + text[1:]))]


CHANGED_BY: Final = {
    "changed": "Changed from this console",
    "looked_up": "Found changed when looked up from the API",
}


FIRST: Final = frozenset({"amount_due", "amount_paid", "amount_remaining", "balance", "status"})


def _field_name(name: str) -> str:
    """``paid``, ``phone``, ``rules max``, ``metadata.tier``."""
    if name in FIELD_NAMES:
        return FIELD_NAMES[name]
    if name.startswith("payment_rules."):
        rule = name.removeprefix("payment_rules.").removesuffix("_amount")
        return "rules " + rule.replace("_", " ")
    if name.startswith("metadata."):
        return name
    return name.replace("_", " ")


def _change(change: ObjectChange, loaded: Loaded) -> list[tuple[int, Text]]:
    """An edit or a change found by a look-up: each field, before → after."""
    head = Text.assemble((when(change.at), "dim"), "  ", ("changed", "cyan"))
    lines = [(0, head), (2, Text(CHANGED_BY.get(change.source, change.source)))]
    currency = loaded.currencies.get(loaded.obj.id) or getattr(loaded.obj, "currency", None)
    fields = sorted(change.fields, key=lambda f: f.field not in FIRST)  # the money first
    names = [_field_name(f.field) for f in fields]
    width = max(map(len, names), default=0)
    for name, item in zip(names, fields, strict=True):
        before = _value(item.field, item.before, currency)
        after = _value(item.field, item.after, currency)
        lines.append((2, Text(f"{name.ljust(width)} {before} → {after}")))
    return lines


def _payment(
    app: Application, at: str, loaded: Loaded, delivery: Delivery | None
) -> list[tuple[int, Text]]:
    """A payment: when, its delivery's number and what the API said; how much and to
    what; each field it changed, before → after; how it was shared out; any drift."""
    state, style = STATES.get(app.state, (app.state, ""))
    lines = [(0, Text.assemble((when(at), "dim"), f"  #{app.delivery_seq} ", (state, style)))]
    target = ""
    if app.target_id and app.target_id != loaded.obj.id:
        target = f" to {loaded.labels.get(app.target_id, app.target_id)}"
    amount = ""
    if delivery is not None and delivery.amount is not None:
        amount = f" {money(delivery.amount, delivery.currency)}"
    fallback = delivery.currency if delivery is not None else None
    lines.append((2, Text(f"Paid{amount}{target}")))
    if app.outcome != "applied":
        lines.append((2, Text(f"{app.outcome.replace('_', ' ')}", style="dim")))
    # The view's object and the payment's target are named already; others get a heading.
    named = {loaded.obj.id, app.target_id}
    shown: str | None = None
    width = max((len(FIELD_NAMES.get(c.field, c.field)) for c in app.changes), default=0)
    for change in app.changes:
        currency = loaded.currencies.get(change.id, fallback)
        indent = 2
        if change.id not in named:
            indent = 4
            if change.id != shown:
                label = loaded.labels.get(change.id, change.id)
                lines.append((2, Text(f"{change.kind} {label}", style="bold")))
        shown = change.id
        name = FIELD_NAMES.get(change.field, change.field).ljust(width)
        before = _value(change.field, change.before, currency)
        after = _value(change.field, change.after, currency)
        lines.append((indent, Text(f"{name} {before} → {after}")))
    for bill_id, part in app.allocation:
        label = loaded.labels.get(bill_id, bill_id)
        currency = loaded.currencies.get(bill_id, fallback)
        lines.append((2, Text(f"{money(part, currency)} to bill {label}")))
    if app.to_balance:
        lines.append((2, Text(f"{money(app.to_balance, fallback)} to the balance")))
    if app.unallocated:
        lines.append((2, Text(f"{money(app.unallocated, fallback)} not allocated")))
    for drift in app.drift:
        currency = loaded.currencies.get(drift.id, fallback)
        ours = _value(drift.field, drift.ours, currency)
        server = _value(drift.field, drift.server, currency)
        name = FIELD_NAMES.get(drift.field, drift.field)
        label = loaded.labels.get(drift.id, drift.id)
        text = f"drift: {drift.kind} {label} {name} ours {ours}, server {server} (server's kept)"
        lines.append((2, Text(text, style="magenta")))
    if app.note:
        lines.append((2, Text(app.note, style="dim")))
    return lines


def _value(name: str, value: Any, currency: str | None) -> str:
    if value is None:
        return "—"
    if name in MONEY_FIELDS and isinstance(value, int) and currency:
        return money(value, currency)
    return str(value)


# --- tables -------------------------------------------------------------------------------


def holder_text(loaded: Loaded, role: str, object_id: str | None) -> str | Text:
    """The name of a bill's or account's customer (or account), else why there is none."""
    if not object_id:
        return "—"
    holder = loaded.holders.get(role)
    if holder is None:
        return Text(f"{object_id} (unknown to the catalogue and the API)", style="dim")
    return label_of(holder.obj)
