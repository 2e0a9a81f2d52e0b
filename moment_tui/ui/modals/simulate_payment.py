"""``p`` on a detail view (sandbox only): pay this bill, its account or its customer.

The payment is made by the sandbox (``POST /sandbox/payments``, through the console's
client, so it shows in the Requests view): in full when the amount is left empty,
else the amount typed, in currency units. The sandbox then sends its signed
``obligation.amount_applied`` webhook, which arrives in the live pane and updates the
rows and the open view, as the home screen's ``p`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static

from moment_tui.ui.present import money

if TYPE_CHECKING:
    from moment_tui.api.kinds import ObjectKind
    from moment_tui.ui.console import Console


# What a payment left empty ("in full") pays, by what it is paid to.
HOLDER_FULL: Final = "its unpaid bills, oldest due first, then any positive balance"
CUSTOMER_FULL: Final = "its own unpaid bills (not those on its accounts), then any positive balance"


@dataclass(frozen=True)
class PayTarget:
    """Something a payment can be made to, and what paying it in full means."""

    kind: ObjectKind
    id: str
    label: str
    currency: str | None  # what a typed amount is in (None: only "in full")
    in_full: str  # what an empty amount pays
    remaining: int | None = None  # a bill: the most it takes

    @property
    def title(self) -> str:
        return f"{self.kind} {self.label}"


class SimulatePayment(ModalScreen[dict[str, Any] | None]):
    """Dismissed with the sandbox's payment, or None (cancelled)."""

    is_form: ClassVar[bool] = True  # the app's q, g and 1-5 do nothing here (no stray quit)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", key_display="Esc"),
    ]

    def __init__(self, console: Console, targets: Sequence[PayTarget], note: str = "") -> None:
        super().__init__()
        self.console = console
        self.targets = list(targets)
        self.note = note  # why the view's own object is not among the targets
        self.paying = False

    def compose(self) -> ComposeResult:
        with Vertical(id="simulate-payment"):
            yield Static("Simulate a payment · sandbox", classes="title", markup=False)
            if self.note:
                yield Static(self.note, id="pay-why", markup=False)
            with Horizontal(classes="row"):
                yield Label("Pay", classes="label")
                if len(self.targets) > 1:
                    yield Select(
                        [(t.title, str(i)) for i, t in enumerate(self.targets)],
                        value="0",
                        allow_blank=False,
                        compact=True,
                        id="pay-target",
                    )
                else:
                    yield Static(self.targets[0].title, markup=False)
            with Horizontal(classes="row"):
                yield Label("Amount", classes="label")
                yield Input(placeholder="empty: in full", compact=True, id="pay-amount")
            yield Static("", id="pay-note", markup=False)
            yield Static("", id="pay-status", markup=False)
            yield Static(
                "Enter pays; the sandbox then sends its signed webhook, and the figures on"
                " screen follow when it is applied.",
                classes="hint",
                markup=False,
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pay-amount", Input).focus()
        self._explain()

    @property
    def target(self) -> PayTarget:
        if len(self.targets) == 1:
            return self.targets[0]
        chosen = self.query_one("#pay-target", Select).value
        return self.targets[int(str(chosen))] if chosen is not Select.BLANK else self.targets[0]

    def on_select_changed(self, event: Select.Changed) -> None:
        self._explain()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._explain()

    def amount(self) -> int | None:
        """The typed amount in minor units (None: in full); raises ValueError."""
        from moment_tui.api.models import AMOUNT_MAX
        from moment_tui.money import MoneyError, parse_minor

        text = self.query_one("#pay-amount", Input).value.strip()
        if not text:
            return None
        target = self.target
        if not target.currency:
            raise ValueError(
                f"{target.title} has no currency to type an amount in: leave it empty "
                "to pay in full"
            )
        try:
            minor = parse_minor(text, target.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        if minor < 1:
            raise ValueError("a payment is at least the smallest unit of the currency")
        if minor > AMOUNT_MAX:
            raise ValueError(f"at most {money(AMOUNT_MAX, target.currency)} in one payment")
        if target.remaining is not None and minor > target.remaining:
            left = money(target.remaining, target.currency)
            raise ValueError(f"more than the bill's remaining {left}: a bill cannot be overpaid")
        return minor

    def _explain(self) -> None:
        note = self.query_one("#pay-note", Static)
        target = self.target
        try:
            minor = self.amount()
        except ValueError as exc:
            note.set_class(True, "-error")
            note.update(str(exc))
            return
        note.set_class(False, "-error")
        if minor is None:
            note.update(f"In full: {target.in_full}")
            return
        text = f"sends {minor} ({money(minor, target.currency)})"
        if target.remaining is not None:
            text += f" · remaining after {money(target.remaining - minor, target.currency)}"
        note.update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.paying:
            return
        refusal = self.console.runtime.payment_refusal()
        if refusal is not None:
            self._status(refusal)
            return
        try:
            minor = self.amount()
        except ValueError as exc:
            self._status(str(exc))
            return
        target = self.target
        body: dict[str, Any] = {target.kind: target.id}
        if minor is not None:
            body["amount"] = minor
        self.paying = True
        self._status("Paying …", error=False)
        self.pay(body)

    @work(group="simulate-pay", exclusive=True, exit_on_error=False)
    async def pay(self, body: dict[str, Any]) -> None:
        from moment_tui.api.errors import MomentError

        client = self.console.runtime.client
        try:
            if client is None:
                raise RuntimeError("the sandbox is not running")
            response = await client.request("POST", "/sandbox/payments", json=body)
        except (MomentError, RuntimeError) as exc:
            self.paying = False
            self._status(f"The sandbox refused the payment: {exc}")
            return
        self.dismiss(response.body if isinstance(response.body, dict) else {})

    def _status(self, text: str, *, error: bool = True) -> None:
        status = self.query_one("#pay-status", Static)
        status.set_class(error, "-error")
        status.update(text)


def paid_text(payment: dict[str, Any], target: str, *, applied: bool = False) -> str:
    """``Paid R 500.00 to bill INV-1: its webhook follows, and the figures with it
    (pay_…).`` (the payment's id last: a line cut at 80 columns keeps what happened);
    once its webhook was applied, ``… : its webhook came and was applied (pay_…).``"""
    amount = payment.get("amount")
    currency = payment.get("currency")
    shown = money(amount, currency) if isinstance(amount, int) and currency else "it"
    ident = f" ({payment['id']})" if payment.get("id") else ""
    if applied:
        return f"Paid {shown} to {target}: its webhook came and was applied{ident}."
    return f"Paid {shown} to {target}: its webhook follows, and the figures with it{ident}."
