"""``/pay/{bill}`` in a real headless Chromium, driven over the DevTools Protocol.

The HTTP tests in ``test_sandbox_presentment.py`` check the page's HTML and the form
post byte by byte; this one checks what a payer actually gets: the page as a browser
renders it, the amount typed into the field, the Pay button clicked, the browser
following the 303 back to the page — and that the sandbox recorded exactly that one
payment, for exactly the typed amount.

No Python dependency is added: Chromium is driven over its websocket with aiohttp
(:mod:`tests.integration.cdp`). Without a Chromium binary the module is skipped.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from moment_tui.api.client import MomentClient
from moment_tui.api.models import BillStatus
from moment_tui.webhooks.verify import Verifier
from tests.integration.cdp import Page, launch
from tests.integration.conftest import (
    FAST_SCHEDULE,
    Receiver,
    StartSandbox,
    bill_for_new_customer,
    eventually,
    hold_first_answer,
    make_client,
)

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
if CHROMIUM is None:
    pytest.skip(
        "no chromium, chromium-browser or google-chrome on PATH for the headless-browser"
        " test (Debian: apt-get install chromium)",
        allow_module_level=True,
    )

PAID_URL = re.compile(r"/pay/(bill_[A-Za-z0-9]{21})\?paid=(pay_[A-Za-z0-9]{21})$")

# What the test reads off the rendered page: the visible text and the elements the
# page gives ids to (presentment.py: #remaining, #status, #note, #error, #amount, #pay).
READ_PAGE = """(() => {
  const text = (id) => { const e = document.getElementById(id); return e && e.innerText; };
  const field = document.getElementById('amount');
  return {
    url: location.href,
    readyState: document.readyState,
    body: document.body.innerText,
    remaining: text('remaining'),
    status: text('status'),
    note: text('note'),
    error: text('error'),
    field: field && field.value,
    button: text('pay'),
  };
})()"""


def type_amount(amount: str) -> str:
    """JavaScript that types ``amount`` into the field as a user's input would."""
    return f"""(() => {{
  const field = document.getElementById('amount');
  field.focus();
  field.value = {json.dumps(amount)};
  field.dispatchEvent(new Event('input', {{bubbles: true}}));
  field.dispatchEvent(new Event('change', {{bubbles: true}}));
  return field.value;
}})()"""


CLICK_PAY = "document.getElementById('pay').click()"


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh headless Chromium on about:blank; killed (whole process group) and its
    profile removed when the test ends, pass or fail."""
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as blank:
        yield blank


async def _click_pay(page: Page) -> dict[str, Any]:
    """Click Pay; wait for the browser to load the page the 303 leads to; read it."""
    mark = page.mark()
    await page.evaluate(CLICK_PAY)
    await page.wait_for("Page.loadEventFired", mark)
    shown: dict[str, Any] = await page.evaluate(READ_PAGE)
    return shown


async def _events(client: MomentClient) -> list[dict[str, Any]]:
    answer = await client.request("GET", "/sandbox/events")
    events: list[dict[str, Any]] = answer.body["data"]
    return events


async def test_paying_in_the_browser(
    page: Page, start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await start_sandbox(
        webhook_url=receiver.url, webhook_secrets=(secret,), retry_schedule=FAST_SCHEDULE
    )
    async with make_client(sandbox.url) as client:
        bill = await bill_for_new_customer(client, 123_456)
        assert await _events(client) == []

        # The page as rendered: what is due and by when, the field prefilled.
        await page.navigate(f"{sandbox.url}/pay/{bill['id']}")
        shown = await page.evaluate(READ_PAGE)
        assert shown["readyState"] == "complete"
        assert re.search(r"Amount due\s+R 1,234\.56", shown["body"]), shown["body"]
        assert re.search(r"Due date\s+2031-03-31", shown["body"]), shown["body"]
        assert re.search(r"Customer\s+Lerato Molefe", shown["body"]), shown["body"]
        assert (shown["remaining"], shown["status"], shown["field"], shown["button"]) == (
            "R 1,234.56",
            "unpaid",
            "1234.56",
            "Pay",
        )
        assert shown["note"] is None
        assert shown["error"] is None

        # Type an amount, press Pay: the browser posts, follows the 303, shows the page.
        assert await page.evaluate(type_amount("234.56")) == "234.56"
        shown = await _click_pay(page)
        location = PAID_URL.search(shown["url"])
        assert location is not None, shown["url"]
        assert location.group(1) == bill["id"]
        payment_id = location.group(2)
        assert shown["note"] == "Payment received. Thank you."
        assert shown["error"] is None
        assert (shown["remaining"], shown["status"], shown["field"]) == (
            "R 1,000.00",
            "unpaid",
            "1000.00",
        )
        assert re.search(r"Paid so far\s+R 234\.56", shown["body"]), shown["body"]

        # The sandbox: exactly the typed amount, in cents, as one payment.
        after = await client.get_bill(bill["id"])
        assert (after.amount_paid, after.amount_remaining, after.status) == (
            23_456,
            100_000,
            BillStatus.UNPAID,
        )
        events = await _events(client)
        assert [e["type"] for e in events] == ["obligation.amount_applied"]
        await eventually(lambda: receiver.deliveries)
        verdict = Verifier([secret]).verify(
            receiver.deliveries[0].headers, receiver.deliveries[0].body
        )
        assert verdict.ok
        assert verdict.amount_applied is not None
        applied = verdict.amount_applied
        assert (applied.payment_id, applied.bill_id, applied.amount) == (
            payment_id,
            bill["id"],
            23_456,
        )
        assert receiver.deliveries[0].json()["id"] == events[0]["id"]

        # Pay again without typing: the prefilled remainder settles the bill, and the
        # page says so, with no form left to pay with.
        shown = await _click_pay(page)
        assert PAID_URL.search(shown["url"]) is not None, shown["url"]
        assert (shown["remaining"], shown["status"], shown["field"], shown["button"]) == (
            "R 0.00",
            "paid",
            None,
            None,
        )
        assert re.search(r"Status\s+paid", shown["body"]), shown["body"]
        after = await client.get_bill(bill["id"])
        assert (after.amount_paid, after.amount_remaining, after.status) == (
            123_456,
            0,
            BillStatus.PAID,
        )
        assert len(await _events(client)) == 2


# --- the form's one-time token: one form, one payment ------------------------------------

TOKEN = "document.querySelector('form input[name=token]')?.value ?? null"
BUTTON_CENTRE = """(() => {
  const button = document.getElementById('pay');
  button.scrollIntoView({block: 'center'});
  const r = button.getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2];
})()"""


async def _form_page(page: Page, sandbox_url: str, bill: dict[str, Any]) -> str:
    """Open the bill's page with the browser's network log on (and no favicon request,
    so the page's own requests are all the sandbox answers); its form's token."""
    await page.send("Network.enable")
    await page.send("Network.setBlockedURLs", urls=["*/favicon.ico"])
    await page.navigate(f"{sandbox_url}/pay/{bill['id']}")
    token = await page.evaluate(TOKEN)
    assert token, "the form carries no one-time token"
    assert isinstance(token, str)
    return token


def _posts(page: Page) -> list[str]:
    """The URLs of the POSTs the browser has sent."""
    return [
        event["params"]["request"]["url"]
        for event in page.events
        if event["method"] == "Network.requestWillBeSent"
        and event["params"]["request"]["method"] == "POST"
    ]


async def test_back_and_pay_again_does_not_pay_twice(
    page: Page, start_sandbox: StartSandbox
) -> None:
    sandbox = await start_sandbox()
    async with make_client(sandbox.url) as client:
        bill = await bill_for_new_customer(client, 10_000)
        token = await _form_page(page, sandbox.url, bill)
        await page.evaluate(type_amount("25.00"))
        paid = await _click_pay(page)
        first = PAID_URL.search(paid["url"])
        assert first is not None, paid["url"]
        payment_id = first.group(2)

        # Back: the browser shows the form as it was, token and typed amount and all
        # (a back/forward-cache restore fires no load event, hence the polling).
        await page.evaluate("history.back()")
        back = await page.wait_until(
            "!location.search && document.readyState === 'complete'"
            f" && document.getElementById('amount') && {READ_PAGE}"
        )
        assert await page.evaluate(TOKEN) == token
        assert (back["remaining"], back["field"], back["note"]) == ("R 100.00", "25.00", None)

        # Pay again: the form is posted again, and lands on the payment it already made.
        again = await _click_pay(page)
        assert _posts(page) == [f"{sandbox.url}/pay/{bill['id']}"] * 2
        second = PAID_URL.search(again["url"])
        assert second is not None, again["url"]
        assert second.group(2) == payment_id
        assert (again["note"], again["remaining"]) == ("Payment received. Thank you.", "R 75.00")

        after = await client.get_bill(bill["id"])
        assert (after.amount_paid, after.amount_remaining) == (2_500, 7_500)
        assert [e["type"] for e in await _events(client)] == ["obligation.amount_applied"]


async def test_pay_clicked_twice_fast_pays_once(page: Page, start_sandbox: StartSandbox) -> None:
    """A real double click (mouse events at the button) while the first post's answer
    is still on its way: the browser posts the form twice; one payment is made."""
    sandbox = await start_sandbox()
    async with make_client(sandbox.url) as client:
        bill = await bill_for_new_customer(client, 10_000)
        await _form_page(page, sandbox.url, bill)
        await page.evaluate(type_amount("25.00"))
        x, y = await page.evaluate(BUTTON_CENTRE)

        async def click(count: int) -> None:
            for kind in ("mousePressed", "mouseReleased"):
                await page.send(
                    "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=count
                )

        # The first post pays, then its answer waits at the gate: the browser is still
        # showing the form when the second click comes.
        gate = hold_first_answer(sandbox)
        try:
            mark = page.mark()
            await click(1)
            await eventually(lambda: sandbox.db.one("SELECT id FROM payments"))
            await click(2)
            await page.wait_for("Page.loadEventFired", mark)
        finally:
            gate.set()
        shown = await page.evaluate(READ_PAGE)

        assert _posts(page) == [f"{sandbox.url}/pay/{bill['id']}"] * 2
        landed = PAID_URL.search(shown["url"])
        assert landed is not None, shown["url"]
        payments = sandbox.db.all("SELECT id, amount FROM payments")
        assert [(row["id"], row["amount"]) for row in payments] == [(landed.group(2), 2_500)]
        assert (shown["note"], shown["remaining"]) == ("Payment received. Thank you.", "R 75.00")
        after = await client.get_bill(bill["id"])
        assert (after.amount_paid, after.amount_remaining) == (2_500, 7_500)
        assert [e["type"] for e in await _events(client)] == ["obligation.amount_applied"]
