"""The writes a detail view offers, by key: edit, new bill, void, record a payment,
simulate a payment (sandbox) and the bill's payment page (sandbox).

Under ``--read-only`` none is offered: :func:`allowed` hides each key from the
footer, the palette and ``?`` (and the key does nothing); off the sandbox the
sandbox's two are hidden likewise. An action reached some other way says why it
will not run (:func:`refusal`), as does one that the object's state forbids (a
voided bill cannot change).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from moment_tui.ui.present import READ_ONLY, label_of, money

if TYPE_CHECKING:
    from moment_tui.api.models import Bill
    from moment_tui.ui.modals.simulate_payment import PayTarget
    from moment_tui.ui.screens.base import ConsoleScreen
    from moment_tui.ui.screens.detail_base import DetailScreen

WRITES: Final = frozenset({"edit", "new_bill", "pay", "void", "record_payment", "present"})
SANDBOX_ONLY: Final = frozenset({"pay", "present"})
VOIDED: Final = "{ref} is voided: a voided bill cannot be changed, paid or voided again."
PAID: Final = "{ref} is paid: a paid bill cannot be voided."
IRREVERSIBLE: Final = (
    "Voiding is irreversible: the bill can no longer be paid or changed, and nothing "
    "brings it back."
)


def allowed(screen: DetailScreen, action: str) -> bool:
    """Whether the key is offered at all (False: gone from footer, palette and ``?``):
    not under ``--read-only``, the sandbox's keys only on the sandbox, and none the
    object's state forbids (a voided bill's writes, a paid bill's void)."""
    console = screen.console
    if console.read_only:
        return False
    if action in SANDBOX_ONLY and not console.is_sandbox:
        return False
    if screen.loaded is None:
        return False
    return forbidden(screen.kind, screen.loaded.obj, action) is None


def forbidden(kind: str, obj: Any, action: str) -> str | None:
    """Why the object's state forbids ``action`` (None: it does not)."""
    if kind != "bill":
        return None
    status = obj.status.value
    if status == "voided" and action != "present":
        return VOIDED.format(ref=obj.external_reference)
    if status == "paid" and action == "void":
        return PAID.format(ref=obj.external_reference)
    return None


def refusal(screen: DetailScreen, action: str) -> str | None:
    """Why ``action`` will not run now; None when it can."""
    console = screen.console
    if console.read_only:
        return READ_ONLY
    if action in SANDBOX_ONLY and not console.is_sandbox:
        return "Only the sandbox simulates payments and serves bill pages."
    if screen.loaded is None:
        return "Not loaded yet: nothing to change."
    return forbidden(screen.kind, screen.loaded.obj, action)


def run(screen: DetailScreen, action: str) -> None:
    """Run a write key's action, or say why not."""
    why = refusal(screen, action)
    if why is not None:
        screen.say(why, error=True)
        screen.notify(why, severity="warning", timeout=6)
        return
    screen.say("")  # what the last write said is old news now
    {
        "edit": edit,
        "new_bill": new_bill,
        "pay": pay,
        "void": void,
        "record_payment": record_payment,
        "present": present,
    }[action](screen)


# --- edit, new bill, record a payment: forms ------------------------------------------------


def edit(screen: DetailScreen) -> None:
    assert screen.loaded is not None
    obj, console = screen.loaded.obj, screen.console
    if screen.kind == "customer":
        from moment_tui.ui.screens.edit_customer import EditCustomer

        screen.app.push_screen(EditCustomer(console, obj))
    elif screen.kind == "account":
        from moment_tui.ui.screens.edit_account import EditAccount

        screen.app.push_screen(EditAccount(console, obj))
    else:
        from moment_tui.ui.screens.edit_bill import EditBillMetadata

        screen.app.push_screen(EditBillMetadata(console, obj))


def new_bill(screen: DetailScreen) -> None:
    """The new-bill form, on this account or customer, in its currency."""
    from moment_tui.ui.screens.new_bill import NewBill

    assert screen.loaded is not None
    obj = screen.loaded.obj
    holder = (obj.id, screen.privacy.label(obj.id, label_of(obj)), obj.currency)
    if screen.kind == "account":
        screen.app.push_screen(NewBill(screen.console, account=holder))
    else:
        screen.app.push_screen(NewBill(screen.console, customer=holder))


def record_payment(screen: DetailScreen) -> None:
    from moment_tui.ui.screens.record_payment import RecordPayment

    assert screen.loaded is not None
    screen.app.push_screen(RecordPayment(screen.console, screen.loaded.obj))


# --- void ---------------------------------------------------------------------------------


def void_text(screen: DetailScreen, bill: Bill) -> str:
    """The bill named as a person knows it: customer, account, amounts, request."""
    assert screen.loaded is not None
    holders = screen.loaded.holders
    customer = holders.get("customer")
    account = holders.get("account")
    currency = bill.currency
    named = screen.privacy.label(bill.customer_id, label_of(customer.obj)) if customer else None
    lines = [
        f"Customer   {named or bill.customer_id}",
    ]
    if bill.account_id:
        lines.append(f"Account    {label_of(account.obj) if account else bill.account_id}")
    lines += [
        f"Amount     {money(bill.amount_due, currency)} due · "
        f"{money(bill.amount_paid, currency)} paid · "
        f"{money(bill.amount_remaining, currency)} remaining",
        f"Status     {bill.status.value}",
        "",
        f"POST /billing/bills/{bill.id}/void (no body, with an Idempotency-Key)",
    ]
    return "\n".join(lines)


def void(screen: DetailScreen) -> None:
    from moment_tui.ui.modals.confirm_action import ConfirmAction

    assert screen.loaded is not None
    bill: Bill = screen.loaded.obj
    live = screen.console.settings.is_live
    amount = money(bill.amount_due, bill.currency)
    warning = IRREVERSIBLE
    if bill.status.value == "paid":
        warning += (
            " It is paid in full: the sandbox refuses to void a paid bill (422)."
            if screen.console.is_sandbox
            else " It is paid in full: Moment may refuse to void it."
        )
    screen.app.push_screen(
        ConfirmAction(
            f"Void bill {bill.external_reference} · {amount}",
            void_text(screen, bill),
            word=bill.external_reference if live else None,
            verb="void it",
            live=live,
            warning=warning,
            enter=False,  # irreversible: one deliberate key, not the Enter that ends a form
        ),
        lambda ok: _start_void(screen, bill) if ok else screen.say("Not voided."),
    )


def _start_void(screen: DetailScreen, bill: Bill) -> None:
    screen.run_worker(_void(screen, bill), group="detail-void", exclusive=True, exit_on_error=False)


async def _void(screen: DetailScreen, bill: Bill) -> None:
    from moment_tui.ui.forms.submit import Refused, send

    console = screen.console
    name = f"void:{bill.id}"
    draft = console.drafts.get(name)  # its key: a retry after a timeout voids once
    again = draft.sent
    draft.sent = True
    screen.say(
        f"Voiding {bill.external_reference} again (same Idempotency-Key) …"
        if again
        else f"Voiding {bill.external_reference} …"
    )
    try:
        sent = await send(
            console,
            "POST",
            f"/billing/bills/{bill.id}/void",
            None,
            "bill",
            idempotency_key=draft.idempotency_key,
        )
    except Refused as exc:
        if not exc.timed_out:  # answered: that key now stands for this refusal
            console.drafts.forget(name)
        tail = " v sends it again, safely (the same Idempotency-Key)." if exc.timed_out else ""
        screen.say(f"Not voided: {exc.message}{tail}", error=True)
        return
    console.drafts.forget(name)
    replay = " (Moment answered the first attempt)" if sent.replayed else ""
    text = f"Voided bill {bill.external_reference}{replay}."
    screen.say(text)
    screen.notify(text, timeout=6)
    screen.reload()


# --- simulate a payment (sandbox) -------------------------------------------------------------


def pay_targets(screen: DetailScreen) -> list[PayTarget]:
    """What the view's object lets a payment go to: a bill, its account and customer;
    an account and its customer; a customer."""
    from moment_tui.ui.modals.simulate_payment import CUSTOMER_FULL, HOLDER_FULL, PayTarget

    assert screen.loaded is not None
    loaded = screen.loaded
    obj = loaded.obj
    holders = loaded.holders
    account, customer = holders.get("account"), holders.get("customer")
    if screen.kind == "bill":
        bill: Bill = obj
        return bill_targets(
            bill,
            None if account is None else (label_of(account.obj), account.obj.currency),
            None if customer is None else (label_of(customer.obj), customer.obj.currency),
        )
    bills = loaded.related.bills
    currency = obj.currency or next((b.currency for b in bills), None)
    full = CUSTOMER_FULL if screen.kind == "customer" else HOLDER_FULL
    targets = [PayTarget(screen.kind, obj.id, label_of(obj), currency, full)]
    if screen.kind == "account" and customer is not None:
        own = customer.obj.currency or currency
        targets.append(
            PayTarget("customer", customer.obj.id, label_of(customer.obj), own, CUSTOMER_FULL)
        )
    return targets


def bill_targets(
    bill: Any,
    account: tuple[str, str | None] | None,
    customer: tuple[str, str | None] | None,
) -> list[PayTarget]:
    """A bill (while unpaid), its account and its customer; ``account``/``customer``
    are ``(label, currency)`` (a currency of None: the bill's). ``bill`` is a
    :class:`Bill` or a list's row of one (the same fields)."""
    from moment_tui.ui.modals.simulate_payment import CUSTOMER_FULL, HOLDER_FULL, PayTarget

    status = getattr(bill.status, "value", bill.status)
    targets: list[PayTarget] = []
    if status == "unpaid":
        left = money(bill.amount_remaining, bill.currency)
        targets.append(
            PayTarget(
                "bill",
                bill.id,
                bill.external_reference,
                bill.currency,
                f"{left} (what remains)",
                bill.amount_remaining,
            )
        )
    if account is not None and bill.account_id:
        label, currency = account
        targets.append(
            PayTarget("account", bill.account_id, label, currency or bill.currency, HOLDER_FULL)
        )
    if customer is not None:
        label, currency = customer
        full = CUSTOMER_FULL
        if bill.account_id:
            full += f"; it does not reach {bill.external_reference}, which is on an account"
        targets.append(
            PayTarget("customer", bill.customer_id, label, currency or bill.currency, full)
        )
    return targets


def pay(screen: DetailScreen) -> None:
    note = bill_note(screen.loaded.obj) if screen.kind == "bill" and screen.loaded else ""
    offer_payment(screen, pay_targets(screen), screen.say, note)


def offer_payment(
    screen: ConsoleScreen,
    targets: list[PayTarget],
    say: Callable[..., None] | None = None,
    note: str = "",
) -> None:
    """The simulate-a-payment dialog over ``targets`` (on the sandbox), or why not.
    What happened is said with ``say(text, error=…)`` if given (a view's status line),
    else notified."""

    def refuse(why: str) -> None:
        if say is not None:
            say(why, error=True)
        else:  # said once: a toast as well covered the view's foot (at 80x24, its timeline)
            screen.notify(why, severity="warning", timeout=8)

    why = screen.console.runtime.payment_refusal()
    if why is not None:
        refuse(why)
        return
    offer = _offer(screen, targets, refuse, say, note)
    screen.run_worker(offer, group="pay-offer", exclusive=True)


def bill_note(bill: Any) -> str:
    """Why a paid or voided bill is not offered itself (``bill``: a Bill or a row)."""
    status = getattr(bill.status, "value", bill.status)
    if status == "unpaid":
        return ""
    return f"Bill {bill.external_reference} is {status}: nothing is left to pay on it."


async def _offer(
    screen: ConsoleScreen,
    targets: list[PayTarget],
    refuse: Callable[[str], None],
    say: Callable[..., None] | None,
    note: str,
) -> None:
    """Leave out an account or customer that owes nothing (the sandbox refuses a
    payment to one), then open the dialog, or say there is nothing to pay."""
    from moment_tui.ui.modals.simulate_payment import SimulatePayment, paid_text

    queries = screen.console.queries
    try:
        owing = {
            kind: await queries.owing(kind, [t.id for t in targets if t.kind == kind])
            for kind in ("account", "customer")
            if any(t.kind == kind for t in targets)
        }
    except Exception:  # a catalogue that cannot say: offer them all
        owing = {}
    payable = [t for t in targets if t.kind == "bill" or t.id in owing.get(t.kind, {t.id})]
    privacy = screen.privacy  # a customer's name is masked in the modal and the notes too
    if not payable:
        names = [f"{t.kind} {privacy.label(t.id, t.label)}" for t in targets]
        owes = "owes" if len(names) == 1 else "owe"
        owed = f"{' and '.join(names)} {owes} nothing" if names else "nothing else here is owed"
        refuse(f"{note or 'Nothing to pay here.'} And {owed}.")
        return
    shown = [dataclasses.replace(t, label=privacy.label(t.id, t.label)) for t in payable]

    def paid(payment: dict[str, Any] | None) -> None:
        if payment is None:
            return
        kind = next((k for k in ("bill", "account", "customer") if k in payment), None)
        target = next((t for t in shown if kind and t.id == payment.get(kind)), None)
        title = target.title if target is not None else "it"
        text = paid_text(payment, title)
        if say is not None:
            say(text)
            from moment_tui.ui.screens.detail_base import DetailScreen

            if isinstance(screen, DetailScreen):  # said again once its webhook is applied
                screen.after_payment = paid_text(payment, title, applied=True)
        else:
            screen.notify(text, timeout=6)

    screen.app.push_screen(SimulatePayment(screen.console, shown, note), paid)


# --- the bill's payment page (sandbox) ----------------------------------------------------------


def present(screen: DetailScreen) -> None:
    from moment_tui.ui.modals.present_bill import PresentBill, pay_link

    assert screen.loaded is not None
    bill: Bill = screen.loaded.obj
    client = screen.console.runtime.client
    if client is None:
        screen.say("The sandbox is not running: there is no bill page.", error=True)
        return
    link = pay_link(client.base_url, bill.id)
    screen.app.push_screen(PresentBill(bill.external_reference, link, bill.status.value))
