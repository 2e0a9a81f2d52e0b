"""``/pay/{bill}``: a small bill page with a Pay button (sandbox-only).

It stands in for Moment's hosted Electronic Bill Presentment so a demo can show
step 4 of the bill flow: the payer opens the link, sees what is due, and pays. The
form posts back to the same address, which makes a payment exactly as
``POST /sandbox/payments`` does (so a signed webhook follows).

Each rendered form carries a one-time ``token`` (signed, good for 24 hours; see
:mod:`moment_tui.sandbox.tokens`): rendering the page writes nothing, and the token
becomes the payment's idempotency key when it pays. A second post with the same
token (a double click, a resubmitted form) makes no second payment and is
redirected to the page of the payment it already made. A post with no token, or
one this sandbox did not issue for this bill (expired, or from before a restart of
an in-memory sandbox), pays nothing: 400, the page again with a fresh token and the
typed amount kept.
"""

from __future__ import annotations

import datetime as dt
import html
import sqlite3
from typing import Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from moment_tui.api.models import AMOUNT_MAX, SandboxPaymentCreate, field_errors
from moment_tui.money import MoneyError, format_minor, parse_minor
from moment_tui.sandbox.problems import Problem, bad_request
from moment_tui.sandbox.routes import STATE, SandboxState
from moment_tui.sandbox.tokens import TOKEN_TTL_SECONDS

STALE_FORM: Final = (
    "Nothing was paid: this form's payment token is missing, expired or unknown "
    "(a page from before the sandbox restarted, say). Check the amount and press Pay again."
)

_SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Moment sandbox</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d2433}}
main{{max-width:26rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 2px 12px #0001}}
h1{{font-size:1.1rem;margin:0 0 1.5rem;color:#5a6275}}
.due{{font-size:2.2rem;font-weight:700;margin:.2rem 0 1rem}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem;margin:0 0 1.5rem}}
dt{{color:#5a6275}} dd{{margin:0}}
.status{{display:inline-block;padding:.1rem .6rem;border-radius:99px;background:#eef}}
.paid{{background:#dcf5e3}} .voided{{background:#eee}} .overdue{{background:#fde2e1;color:#b00020}}
label{{display:block;margin-bottom:.3rem;color:#5a6275}}
input{{font-size:1.1rem;padding:.5rem;width:100%;box-sizing:border-box;margin-bottom:1rem}}
button{{font-size:1.1rem;padding:.7rem;width:100%;border:0;border-radius:8px;
background:#1f5eff;color:#fff;cursor:pointer}}
.error{{color:#b00020;margin-bottom:1rem}} .note{{color:#1b7a3a;margin-bottom:1rem}}
footer{{margin-top:1.5rem;font-size:.8rem;color:#8a90a0}}
</style></head><body><main>
{content}
<footer>A local simulation of Moment's bill page. No real money moves.</footer>
</main></body></html>
"""

_PAGE = """<h1>Moment sandbox · bill {reference}</h1>
<div>Amount due</div><div class="due" id="remaining">{remaining}</div>
<dl>
<dt>Customer</dt><dd>{customer}</dd>
<dt>Bill total</dt><dd>{due}</dd>
<dt>Paid so far</dt><dd>{paid}</dd>
<dt>Due date</dt><dd>{due_date}</dd>
<dt>Status</dt><dd><span class="status {status}" id="status">{status}</span>{overdue}</dd>
</dl>
{message}{form}"""

_MISSING = """<h1>Moment sandbox</h1>
<p class="error" id="missing">No such bill: {ref}.</p>
<p>Check the link; a bill page's address ends in the bill's id or external reference.</p>"""

_FORM = """<form method="post" action="/pay/{bill}">
<input type="hidden" name="token" value="{token}">
<label for="amount">Amount to pay ({currency})</label>
<input id="amount" name="amount" value="{amount}" inputmode="decimal" autocomplete="off">
<button type="submit" id="pay">Pay</button>
</form>"""


_OVERDUE = ' <span class="status overdue" id="overdue">overdue</span>'


def _page(
    state: SandboxState,
    bill: sqlite3.Row,
    today: dt.date,
    *,
    message: str = "",
    typed: str | None = None,
    token: str | None = None,
) -> str:
    """The page; a form (for an unpaid bill) carries ``token``, or a new one."""
    customer = state.db.one(
        "SELECT name, external_reference FROM customers WHERE id = ?", (bill["customer_id"],)
    )
    assert customer is not None  # bills.customer_id is a foreign key
    currency = bill["currency"]
    remaining = bill["amount_due"] - bill["amount_paid"]
    form = ""
    if bill["status"] == "unpaid":
        default = format_minor(remaining, currency, with_symbol=False).replace(",", "")
        form = _FORM.format(
            bill=html.escape(bill["id"]),
            token=html.escape(token or state.tokens.mint(bill["id"])),
            currency=html.escape(currency),
            amount=html.escape(default if typed is None else typed),
        )
    content = _PAGE.format(
        reference=html.escape(bill["external_reference"]),
        remaining=html.escape(format_minor(remaining, currency)),
        customer=html.escape(customer["name"] or customer["external_reference"]),
        due=html.escape(format_minor(bill["amount_due"], currency)),
        paid=html.escape(format_minor(bill["amount_paid"], currency)),
        due_date=html.escape(bill["due_date"] or "—"),
        status=html.escape(bill["status"]),
        overdue=_OVERDUE if _overdue(bill, today) else "",
        message=message,
        form=form,
    )
    return _SHELL.format(title=f"Bill {html.escape(bill['external_reference'])}", content=content)


def _missing(ref: str) -> web.Response:
    """An unknown bill: a page a payer can read (the link is wrong), not plain text."""
    page = _SHELL.format(title="No such bill", content=_MISSING.format(ref=html.escape(ref)))
    return web.Response(status=404, text=page, content_type="text/html")


def _overdue(bill: sqlite3.Row, today: dt.date) -> bool:
    """Unpaid with its due date before today (the sandbox's today, as bills use)."""
    due = bill["due_date"]
    return bool(bill["status"] == "unpaid" and due and dt.date.fromisoformat(due) < today)


async def show(request: web.Request) -> web.Response:
    state = request.app[STATE]
    bill = state.objects.find("bill", request.match_info["bill"])
    if bill is None:
        return _missing(request.match_info["bill"])
    message = ""
    if _paid_here(state, bill, request.query.get("paid", "")):
        message = '<p class="note" id="note">Payment received. Thank you.</p>'
    page = _page(state, bill, state.objects.today(), message=message)
    return web.Response(text=page, content_type="text/html")


def _paid_here(state: SandboxState, bill: sqlite3.Row, payment_id: str) -> bool:
    """Whether ``?paid=`` names a payment made to this bill: the note thanks a payer
    only for a payment that happened (any other value shows the page as it is)."""
    if not payment_id:
        return False
    row = state.db.one(
        "SELECT 1 FROM payments WHERE id = ? AND target_kind = 'bill' AND target_id = ?",
        (payment_id, bill["id"]),
    )
    return row is not None


async def submit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    bill = state.objects.find("bill", request.match_info["bill"])
    if bill is None:
        return _missing(request.match_info["bill"])
    try:
        form = await request.post()
    except (ValueError, LookupError, HttpProcessingError) as exc:  # bad bytes, charset, parts
        raise bad_request(f"the form could not be read ({type(exc).__name__})") from None
    typed = str(form.get("amount", ""))
    token = str(form.get("token", ""))
    try:
        with state.db.transaction():
            done = _pay_once(state, bill, token, typed)
    except (MoneyError, Problem, ValidationError) as exc:
        # The token is still unused: the re-rendered form keeps it.
        return _refused(state, bill, 422, _reason(exc), typed, token)
    if done is None:
        fresh = state.objects.resolve("bill", bill["id"])
        status = fresh["status"]
        stale = STALE_FORM if status == "unpaid" else f"Nothing was paid: this bill is {status}."
        return _refused(state, fresh, 400, stale, typed, fresh=True)
    payment_id, paid_now = done
    if paid_now:
        state.sender.wake()
    else:
        earlier = state.db.one("SELECT amount, currency FROM payments WHERE id = ?", (payment_id,))
        if earlier is not None and _typed_amount(typed, bill["currency"]) != earlier["amount"]:
            # Back, a new amount, Pay: this form has paid already. Say so, not "received".
            paid = format_minor(earlier["amount"], earlier["currency"])
            used = f"This form already paid {paid} ({payment_id}); nothing more was paid."
            return _refused(state, bill, 409, used, typed)
    raise web.HTTPSeeOther(f"/pay/{bill['id']}?paid={payment_id}")


def _amount(typed: str, currency: str) -> int:
    """The typed amount in minor units (major units typed, ``12.50``); MoneyError."""
    return parse_minor(typed, currency, minimum=1, maximum=AMOUNT_MAX)


def _typed_amount(typed: str, currency: str) -> int | None:
    try:
        return _amount(typed, currency)
    except MoneyError:
        return None


def _pay_once(
    state: SandboxState, bill: sqlite3.Row, token: str, typed: str
) -> tuple[str, bool] | None:
    """Inside the caller's transaction: pay with a form token issued for this bill, or
    find the payment it already made. ``(payment id, paid now)``; None for a token
    that was never issued for this bill, or has expired. Only a token that pays is
    recorded (with its issue time; records past the tokens' lifetime go meanwhile)."""
    issued = state.tokens.issued_at(token, bill["id"])
    if issued is None:
        return None
    used = state.db.one("SELECT payment_id FROM pay_tokens WHERE token = ?", (token,))
    if used is not None:
        return used["payment_id"], False
    amount = _amount(typed, bill["currency"])
    body = SandboxPaymentCreate(bill=bill["id"], amount=amount)
    payment_id: str = state.payments.pay(body)["id"]
    conn = state.db.conn
    conn.execute(
        "DELETE FROM pay_tokens WHERE created_at < ?",
        (state.tokens.clock() - TOKEN_TTL_SECONDS,),
    )
    conn.execute(
        "INSERT INTO pay_tokens (token, bill_id, payment_id, created_at) VALUES (?, ?, ?, ?)",
        (token, bill["id"], payment_id, issued),
    )
    return payment_id, True


def _refused(
    state: SandboxState,
    bill: sqlite3.Row,
    status: int,
    reason: str,
    typed: str,
    token: str | None = None,
    *,
    fresh: bool = False,
) -> web.Response:
    """The page again, as it is now, with the reason and the amount as typed
    (``fresh``: ``bill`` was just read; else it is read again, as the post changed it)."""
    message = f'<p class="error" id="error">{html.escape(reason)}</p>'
    if not fresh:
        bill = state.objects.resolve("bill", bill["id"])
    page = _page(state, bill, state.objects.today(), message=message, typed=typed, token=token)
    return web.Response(status=status, text=page, content_type="text/html")


def _reason(exc: MoneyError | Problem | ValidationError) -> str:
    if isinstance(exc, Problem):
        return exc.for_payer
    if isinstance(exc, ValidationError):
        return "; ".join(field_errors(exc).values())
    return str(exc)


def add_presentment_routes(app: web.Application) -> None:
    app.router.add_get("/pay/{bill}", show)
    app.router.add_post("/pay/{bill}", submit)
