"""``/pay/{bill}``: a small bill page with a Pay button (sandbox-only).

It stands in for Moment's hosted Electronic Bill Presentment so a demo can show
step 4 of the bill flow: the payer opens the link, sees what is due, and pays. The
form posts back to the same address, which makes a payment exactly as
``POST /sandbox/payments`` does (so a signed webhook follows).
"""

from __future__ import annotations

import datetime as dt
import html
import sqlite3

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError

from moment_tui.api.models import AMOUNT_MAX, SandboxPaymentCreate, field_errors
from moment_tui.money import MoneyError, format_minor, parse_minor
from moment_tui.sandbox.problems import Problem, bad_request
from moment_tui.sandbox.routes import STATE

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bill {reference} · Moment sandbox</title>
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
<h1>Moment sandbox · bill {reference}</h1>
<div>Amount due</div><div class="due" id="remaining">{remaining}</div>
<dl>
<dt>Customer</dt><dd>{customer}</dd>
<dt>Bill total</dt><dd>{due}</dd>
<dt>Paid so far</dt><dd>{paid}</dd>
<dt>Due date</dt><dd>{due_date}</dd>
<dt>Status</dt><dd><span class="status {status}" id="status">{status}</span>{overdue}</dd>
</dl>
{message}{form}
<footer>A local simulation of Moment's bill page. No real money moves.</footer>
</main></body></html>
"""

_FORM = """<form method="post" action="/pay/{bill}">
<label for="amount">Amount to pay ({currency})</label>
<input id="amount" name="amount" value="{amount}" inputmode="decimal" autocomplete="off">
<button type="submit" id="pay">Pay</button>
</form>"""


_OVERDUE = ' <span class="status overdue" id="overdue">overdue</span>'


def _page(
    conn: sqlite3.Connection,
    bill: sqlite3.Row,
    today: dt.date,
    *,
    message: str = "",
    typed: str | None = None,
) -> str:
    customer = conn.execute(
        "SELECT name, external_reference FROM customers WHERE id = ?", (bill["customer_id"],)
    ).fetchone()
    currency = bill["currency"]
    remaining = bill["amount_due"] - bill["amount_paid"]
    form = ""
    if bill["status"] == "unpaid":
        default = format_minor(remaining, currency, with_symbol=False).replace(",", "")
        form = _FORM.format(
            bill=html.escape(bill["id"]),
            currency=html.escape(currency),
            amount=html.escape(default if typed is None else typed),
        )
    return _PAGE.format(
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


def _overdue(bill: sqlite3.Row, today: dt.date) -> bool:
    """Unpaid with its due date before today (the sandbox's today, as bills use)."""
    due = bill["due_date"]
    return bool(bill["status"] == "unpaid" and due and dt.date.fromisoformat(due) < today)


async def show(request: web.Request) -> web.Response:
    state = request.app[STATE]
    bill = state.objects.find("bill", request.match_info["bill"])
    if bill is None:
        return web.Response(status=404, text="No such bill.", content_type="text/plain")
    message = ""
    if request.query.get("paid"):
        message = '<p class="note" id="note">Payment received. Thank you.</p>'
    page = _page(state.db.conn, bill, state.objects.today(), message=message)
    return web.Response(text=page, content_type="text/html")


async def submit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    bill = state.objects.find("bill", request.match_info["bill"])
    if bill is None:
        return web.Response(status=404, text="No such bill.", content_type="text/plain")
    try:
        form = await request.post()
    except (ValueError, LookupError, HttpProcessingError) as exc:  # bad bytes, charset, parts
        raise bad_request(f"the form could not be read ({type(exc).__name__})") from None
    typed = str(form.get("amount", ""))
    try:
        amount = parse_minor(typed, bill["currency"], minimum=1, maximum=AMOUNT_MAX)
        body = SandboxPaymentCreate(bill=bill["id"], amount=amount)
        with state.db.transaction():
            payment = state.payments.pay(body)
    except (MoneyError, Problem, ValidationError) as exc:
        message = f'<p class="error" id="error">{html.escape(_reason(exc))}</p>'
        fresh = state.objects.resolve("bill", bill["id"])
        page = _page(state.db.conn, fresh, state.objects.today(), message=message, typed=typed)
        return web.Response(status=422, text=page, content_type="text/html")
    state.sender.wake()
    raise web.HTTPSeeOther(f"/pay/{bill['id']}?paid={payment['id']}")


def _reason(exc: MoneyError | Problem | ValidationError) -> str:
    if isinstance(exc, Problem):
        return exc.detail
    if isinstance(exc, ValidationError):
        return "; ".join(field_errors(exc).values())
    return str(exc)


def add_presentment_routes(app: web.Application) -> None:
    app.router.add_get("/pay/{bill}", show)
    app.router.add_post("/pay/{bill}", submit)
