"""``/pay/{bill}``: the bill page and its Pay form, over plain HTTP (no API key)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import Unprocessable
from moment_tui.api.models import BillStatus
from moment_tui.sandbox.presentment import STALE_FORM
from moment_tui.sandbox.server import Sandbox
from moment_tui.webhooks.verify import Verifier
from tests.integration.conftest import (
    FAST_SCHEDULE,
    Receiver,
    StartSandbox,
    bill_for_new_customer,
    eventually,
    failure,
    make_client,
    post,
    ref,
    stop,
)

PAID_LOCATION = re.compile(r"^/pay/(bill_[A-Za-z0-9]{21})\?paid=(pay_[A-Za-z0-9]{21})$")
TOKEN = re.compile(r'<input type="hidden" name="token" value="([A-Za-z0-9_-]{48})">')


@asynccontextmanager
async def api_and_page(
    sandbox: Sandbox,
) -> AsyncIterator[tuple[MomentClient, httpx.AsyncClient]]:
    """The API client, and a browser-like client that sees each redirect itself."""
    async with (
        make_client(sandbox.url) as client,
        httpx.AsyncClient(base_url=sandbox.url, follow_redirects=False) as page,
    ):
        yield client, page


def token_of(page: str) -> str:
    """The one-time token a rendered form carries."""
    match = TOKEN.search(page)
    assert match is not None, page
    return match.group(1)


async def press_pay(http: httpx.AsyncClient, path: str, amount: str) -> httpx.Response:
    """What a payer does: open the page, type an amount, press Pay (once)."""
    page = await http.get(path)
    assert page.status_code == 200
    return await http.post(path, data={"amount": amount, "token": token_of(page.text)})


@pytest.fixture
async def browser(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """What a payer's browser is: no Authorization header, no automatic redirects."""
    async with httpx.AsyncClient(base_url=sandbox_url, follow_redirects=False) as http:
        yield http


async def test_bill_page_shows_amount_status_and_form(
    client: MomentClient, browser: httpx.AsyncClient
) -> None:
    bill = await bill_for_new_customer(client, 123_456)
    page = await browser.get(f"/pay/{bill['id']}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.startswith("<!doctype html>")
    assert f"<title>Bill {bill['external_reference']} · Moment sandbox</title>" in html
    assert '<div class="due" id="remaining">R 1,234.56</div>' in html
    assert '<span class="status unpaid" id="status">unpaid</span>' in html
    assert "<dd>Lerato Molefe</dd>" in html
    assert "<dd>2031-03-31</dd>" in html
    assert f'<form method="post" action="/pay/{bill["id"]}">' in html
    assert '<input id="amount" name="amount" value="1234.56"' in html
    # The button says what it does; the amount is in the field above it and the
    # remaining amount stands at the top of the page.
    assert '<button type="submit" id="pay">Pay</button>' in html
    assert "<dd>R 1,234.56</dd>" in html  # the bill total
    assert 'id="overdue"' not in html  # due in 2031
    # The same page by the bill's external reference.
    by_ref = await browser.get(f"/pay/{bill['external_reference']}")
    assert by_ref.status_code == 200
    # ... except for the form's one-time token: every rendering mints its own.
    assert token_of(by_ref.text) != token_of(html)
    assert TOKEN.sub("", by_ref.text) == TOKEN.sub("", html)


async def test_form_post_pays_and_redirects(
    client: MomentClient, browser: httpx.AsyncClient
) -> None:
    bill = await bill_for_new_customer(client, 2000)
    answer = await press_pay(browser, f"/pay/{bill['id']}", "12.50")
    assert answer.status_code == 303
    match = PAID_LOCATION.match(answer.headers["location"])
    assert match is not None
    assert match.group(1) == bill["id"]
    after = await client.get_bill(bill["id"])
    assert (after.amount_paid, after.amount_remaining, after.status) == (
        1250,
        750,
        BillStatus.UNPAID,
    )

    landing = await browser.get(answer.headers["location"])
    assert landing.status_code == 200
    assert '<p class="note" id="note">Payment received. Thank you.</p>' in landing.text
    assert 'id="remaining">R 7.50<' in landing.text
    assert 'value="7.50"' in landing.text
    assert '<button type="submit" id="pay">Pay</button>' in landing.text

    # Paying the rest (typed with a currency symbol) settles the bill; the form goes away.
    rest = await press_pay(browser, f"/pay/{bill['external_reference']}", "R 7.50")
    assert rest.status_code == 303
    done = await browser.get(f"/pay/{bill['id']}")
    assert '<span class="status paid" id="status">paid</span>' in done.text
    assert 'id="remaining">R 0.00<' in done.text
    assert "<form" not in done.text
    assert (await client.get_bill(bill["id"])).status is BillStatus.PAID


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "&#x27;abc&#x27; is not an amount"),
        ("", "enter an amount"),
        ("0", "the amount must be at least R 0.01"),
        ("-5", "the amount cannot be negative"),
        ("1.234", "too many decimals"),
        # Amounts on the page are money, not the API's minor units (2001, 2000).
        ("20.01", "R 20.01 is more than the R 20.00 remaining on the bill"),
        ("999999.00", "R 999,999.00 is more than the R 20.00 remaining on the bill"),
        # Beyond the largest amount a bill can have: a message, not a 500.
        ("99999999999", "the amount must be at most R 999,999.99"),
        ("1000000", "the amount must be at most R 999,999.99"),
        pytest.param("9" * 5000, "too many digits", id="5000-digits"),
    ],
)
async def test_bad_amount_rerenders_with_error_and_typed_text(
    client: MomentClient, browser: httpx.AsyncClient, typed: str, message: str
) -> None:
    bill = await bill_for_new_customer(client, 2000)
    answer = await press_pay(browser, f"/pay/{bill['id']}", typed)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    error = re.search(r'<p class="error" id="error">(.*?)</p>', answer.text)
    assert error is not None
    assert message in error.group(1)
    assert f'<input id="amount" name="amount" value="{typed}"' in answer.text
    assert 'id="remaining">R 20.00<' in answer.text
    assert (await client.get_bill(bill["id"])).amount_paid == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"amount=\xff\xfe", "application/x-www-form-urlencoded; charset=utf-8"),
        (b"amount=1", "application/x-www-form-urlencoded; charset=no-such-charset"),
        (b"--edge\r\nno headers, no end", "multipart/form-data; boundary=edge"),
    ],
)
async def test_unreadable_form_is_a_400_problem(
    client: MomentClient, browser: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    bill = await bill_for_new_customer(client, 2000)
    answer = await browser.post(
        f"/pay/{bill['id']}", content=content, headers={"Content-Type": content_type}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["detail"].startswith("the form could not be read")
    assert (problem["status"], problem["instance"]) == (400, f"/pay/{bill['id']}")
    assert (await client.get_bill(bill["id"])).amount_paid == 0


async def test_overdue_unpaid_bill_is_marked_overdue(start_sandbox: StartSandbox) -> None:
    """Overdue: unpaid with its due date before the sandbox's today (due today is not)."""
    sandbox = await start_sandbox()
    sandbox.objects.today = lambda: dt.date(2031, 4, 1)
    overdue = '<span class="status overdue" id="overdue">overdue</span>'
    async with api_and_page(sandbox) as (client, http):
        late = await bill_for_new_customer(client, 2000, due_date="2031-03-31")
        page = (await http.get(f"/pay/{late['id']}")).text
        assert f'<span class="status unpaid" id="status">unpaid</span> {overdue}' in page
        assert '<form method="post"' in page  # still payable

        # A refused payment re-renders the page, still marked.
        refused = await press_pay(http, f"/pay/{late['id']}", "abc")
        assert refused.status_code == 422
        assert overdue in refused.text

        due_today = await bill_for_new_customer(client, 2000, due_date="2031-04-01")
        assert 'id="overdue"' not in (await http.get(f"/pay/{due_today['id']}")).text

        paid_late = await bill_for_new_customer(client, 2000, due_date="2031-01-31")
        assert overdue in (await http.get(f"/pay/{paid_late['id']}")).text
        paid = await press_pay(http, f"/pay/{paid_late['id']}", "20")
        assert paid.status_code == 303
        paid_page = (await http.get(f"/pay/{paid_late['id']}")).text
        assert '<span class="status paid" id="status">paid</span>' in paid_page
        assert 'id="overdue"' not in paid_page

        voided_late = await bill_for_new_customer(client, 2000, due_date="2031-01-31")
        await client.void_bill(voided_late["id"])
        assert 'id="overdue"' not in (await http.get(f"/pay/{voided_late['id']}")).text


async def test_page_escapes_what_it_shows(client: MomentClient, browser: httpx.AsyncClient) -> None:
    bill = await bill_for_new_customer(client, 500, name="<script>alert('x')</script>")
    page = await browser.get(f"/pay/{bill['id']}")
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page.text
    typed = '"><img src=x onerror=alert(1)>'
    answer = await press_pay(browser, f"/pay/{bill['id']}", typed)
    assert answer.status_code == 422
    assert "<img" not in answer.text
    assert 'value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in answer.text


async def test_voided_bill_page_has_no_form_and_refuses_payment(
    client: MomentClient, browser: httpx.AsyncClient
) -> None:
    bill = await bill_for_new_customer(client, 900)
    token = token_of((await browser.get(f"/pay/{bill['id']}")).text)  # opened while unpaid
    await client.void_bill(bill["id"])
    page = await browser.get(f"/pay/{bill['id']}")
    assert page.status_code == 200
    assert '<span class="status voided" id="status">voided</span>' in page.text
    assert "<form" not in page.text
    answer = await browser.post(f"/pay/{bill['id']}", data={"amount": "1.00", "token": token})
    assert answer.status_code == 422
    assert "is voided and cannot be paid" in answer.text
    assert "<form" not in answer.text


async def test_unknown_bill_is_404(browser: httpx.AsyncClient) -> None:
    missing = ref("nobill")
    for response in (
        await browser.get(f"/pay/{missing}"),
        await browser.post(f"/pay/{missing}", data={"amount": "1"}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert f"No such bill: {missing}." in response.text
        assert "<form" not in response.text


async def test_paying_on_the_page_sends_a_signed_webhook(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await start_sandbox(
        webhook_url=receiver.url, webhook_secrets=(secret,), retry_schedule=FAST_SCHEDULE
    )
    async with api_and_page(sandbox) as (client, http):
        bill = await bill_for_new_customer(client, 1000)
        answer = await press_pay(http, f"/pay/{bill['id']}", "4.00")
        assert answer.status_code == 303
        match = PAID_LOCATION.match(answer.headers["location"])
        assert match is not None
        await eventually(lambda: receiver.deliveries)
    delivery = receiver.deliveries[0]
    verdict = Verifier([secret]).verify(delivery.headers, delivery.body)
    assert verdict.ok
    assert verdict.amount_applied is not None
    applied = verdict.amount_applied
    assert (applied.payment_id, applied.bill_id, applied.amount) == (
        match.group(2),
        bill["id"],
        400,
    )


async def test_the_page_pays_exactly_as_the_payments_endpoint_does(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    """The form post and ``POST /sandbox/payments`` share one code path: the same
    refusals (word for word, but for amounts: minor units in the API's detail, money
    on the page), the same payment record, the same webhook."""
    sandbox = await start_sandbox(
        webhook_url=receiver.url, webhook_secrets=(secret,), retry_schedule=FAST_SCHEDULE
    )
    async with api_and_page(sandbox) as (client, page):
        by_api = await bill_for_new_customer(client, 1000)
        by_page = await bill_for_new_customer(client, 1000)

        refused = await failure(
            post(client, "/sandbox/payments", {"bill": by_api["id"], "amount": 1001}),
            Unprocessable,
        )
        api_detail = refused.detail
        too_much = await press_pay(page, f"/pay/{by_page['id']}", "10.01")
        assert too_much.status_code == 422
        assert (
            api_detail
            == "1001 is more than the 1000 remaining on the bill (bills take no overpayment)"
        )
        page_detail = (
            "R 10.01 is more than the R 10.00 remaining on the bill (bills take no overpayment)"
        )
        assert f'<p class="error" id="error">{page_detail}</p>' in too_much.text

        api_payment = (
            await post(client, "/sandbox/payments", {"bill": by_api["id"], "amount": 400})
        ).body
        answer = await press_pay(page, f"/pay/{by_page['id']}", "4.00")
        assert answer.status_code == 303
        match = PAID_LOCATION.match(answer.headers["location"])
        assert match is not None
        page_payment_id = match.group(2)
        await eventually(lambda: len(receiver.deliveries) == 2)
        for bill in (by_api, by_page):
            after = await client.get_bill(bill["id"])
            assert (after.amount_paid, after.amount_remaining, after.status) == (
                400,
                600,
                BillStatus.UNPAID,
            )

    rows = {row["id"]: row for row in sandbox.db.all("SELECT * FROM payments ORDER BY seq")}
    assert list(rows) == [api_payment["id"], page_payment_id]
    api_row, page_row = rows[api_payment["id"]], rows[page_payment_id]
    for column in ("target_kind", "amount", "currency"):
        assert api_row[column] == page_row[column]
    assert json.loads(page_row["allocation"]) == {
        "bills": [{"bill_id": by_page["id"], "amount": 400}],
        "balance": 0,
    }

    events: dict[str, dict[str, Any]] = {}
    for delivery in receiver.deliveries:
        verdict = Verifier([secret]).verify(delivery.headers, delivery.body)
        assert verdict.ok
        events[delivery.json()["data"]["payment_id"]] = delivery.json()
    api_event, page_event = events[api_payment["id"]], events[page_payment_id]
    assert api_event["id"] == api_payment["event_id"]
    assert page_event["id"] == page_row["event_id"]

    def shape(event: dict[str, Any], bill: dict[str, Any], payment_id: str) -> dict[str, Any]:
        data = dict(event["data"])
        assert (data.pop("bill_id"), data.pop("customer_id"), data.pop("payment_id")) == (
            bill["id"],
            bill["customer_id"],
            payment_id,
        )
        assert data.pop("id").startswith("ob_")
        data.pop("created_at")
        data.pop("updated_at")
        return {"type": event["type"], **data}

    assert (
        shape(page_event, by_page, page_payment_id)
        == shape(api_event, by_api, api_payment["id"])
        == {
            "type": "obligation.amount_applied",
            "amount": 400,
            "currency": "ZAR",
            "metadata": {},
        }
    )


# --- the form's one-time token ------------------------------------------------------------


def _payments_on(sandbox: Sandbox, bill_id: str) -> list[int]:
    rows = sandbox.db.all(
        "SELECT amount FROM payments WHERE target_id = ? ORDER BY seq", (bill_id,)
    )
    return [row["amount"] for row in rows]


async def test_a_double_submit_pays_once(start_sandbox: StartSandbox) -> None:
    """Two posts of one rendered form (a double click) — even at the same moment —
    make one payment and one event; both are redirected to that payment's page."""
    sandbox = await start_sandbox()
    async with api_and_page(sandbox) as (client, http):
        bill = await bill_for_new_customer(client, 2000)
        path = f"/pay/{bill['id']}"
        form = {"amount": "5.00", "token": token_of((await http.get(path)).text)}
        first, second = await asyncio.gather(http.post(path, data=form), http.post(path, data=form))
        assert (first.status_code, second.status_code) == (303, 303)
        assert first.headers["location"] == second.headers["location"]
        match = PAID_LOCATION.match(first.headers["location"])
        assert match is not None
        assert _payments_on(sandbox, bill["id"]) == [500]
        assert (await client.get_bill(bill["id"])).amount_paid == 500
        events = sandbox.db.all("SELECT payload FROM events")
        assert len(events) == 1
        assert json.loads(events[0]["payload"])["data"]["payment_id"] == match.group(2)

        # Later, the same form again (the Back button, a resubmit): still that one
        # payment, and the page shows it.
        again = await http.post(path, data=form)
        assert again.status_code == 303
        assert again.headers["location"] == first.headers["location"]
        landing = await http.get(again.headers["location"])
        assert '<p class="note" id="note">Payment received. Thank you.</p>' in landing.text
        assert 'id="remaining">R 15.00<' in landing.text
        assert _payments_on(sandbox, bill["id"]) == [500]

        # Back, another amount typed, Pay: nothing more is paid, and the page says so
        # (not "Payment received"), with a fresh form to pay the new amount.
        changed = await http.post(path, data={**form, "amount": "7.00"})
        assert changed.status_code == 409
        used = f"This form already paid R 5.00 ({match.group(2)}); nothing more was paid."
        assert f'<p class="error" id="error">{used}</p>' in changed.text
        assert 'value="7.00"' in changed.text  # what was typed is kept
        assert token_of(changed.text) != form["token"]
        assert _payments_on(sandbox, bill["id"]) == [500]

        # A fresh page is a fresh token: paying the rest works.
        rest = await press_pay(http, path, "15.00")
        assert rest.status_code == 303
        assert rest.headers["location"] != first.headers["location"]
        assert _payments_on(sandbox, bill["id"]) == [500, 1500]


@pytest.mark.parametrize("case", ["missing", "unknown", "another-bill", "expired", "altered"])
async def test_a_post_without_a_token_this_page_issued_pays_nothing(
    start_sandbox: StartSandbox, case: str
) -> None:
    """No token, or one this sandbox never issued for this bill (or issued more than a
    day ago): 400 and nothing paid — it may be a stale page whose payment already went
    through. The page comes back with the typed amount and a fresh token to pay with.
    (A token is signed for its bill and issue time: altering one breaks it.)"""
    sandbox = await start_sandbox()
    async with api_and_page(sandbox) as (client, http):
        bill = await bill_for_new_customer(client, 2000)
        other = await bill_for_new_customer(client, 2000)
        path = f"/pay/{bill['id']}"
        issued = token_of((await http.get(path)).text)
        form = {"amount": "3.25"}
        if case == "unknown":
            form["token"] = "A" * 24
        elif case == "another-bill":
            form["token"] = token_of((await http.get(f"/pay/{other['id']}")).text)
        elif case == "expired":  # signed by this sandbox for this bill, a day and a second ago
            form["token"] = sandbox.state.tokens.mint(bill["id"], issued=int(time.time()) - 86401)
        elif case == "altered":
            form["token"] = issued[:-1] + ("A" if issued[-1] != "A" else "B")
        answer = await http.post(path, data=form)
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        error = re.search(r'<p class="error" id="error">(.*?)</p>', answer.text)
        assert error is not None
        assert error.group(1) == escape(STALE_FORM)
        assert '<input id="amount" name="amount" value="3.25"' in answer.text
        assert 'id="remaining">R 20.00<' in answer.text
        fresh = token_of(answer.text)
        assert fresh not in (issued, form.get("token"))
        assert _payments_on(sandbox, bill["id"]) == []
        assert sandbox.db.all("SELECT 1 FROM events") == []

        paid = await http.post(path, data={"amount": "3.25", "token": fresh})
        assert paid.status_code == 303
        assert _payments_on(sandbox, bill["id"]) == [325]


async def test_a_refused_amount_keeps_the_forms_token(start_sandbox: StartSandbox) -> None:
    """A refused amount pays nothing, so the re-rendered form keeps its token: the
    corrected amount pays with it, once."""
    sandbox = await start_sandbox()
    async with api_and_page(sandbox) as (client, http):
        bill = await bill_for_new_customer(client, 2000)
        path = f"/pay/{bill['id']}"
        token = token_of((await http.get(path)).text)
        refused = await http.post(path, data={"amount": "20.01", "token": token})
        assert refused.status_code == 422
        assert token_of(refused.text) == token
        paid = await http.post(path, data={"amount": "20.00", "token": token})
        assert paid.status_code == 303
        again = await http.post(path, data={"amount": "20.00", "token": token})
        assert (again.status_code, again.headers["location"]) == (303, paid.headers["location"])
        done = await http.get(again.headers["location"])
        assert '<span class="status paid" id="status">paid</span>' in done.text
        assert "<form" not in done.text
        assert _payments_on(sandbox, bill["id"]) == [2000]


async def test_a_tokenless_post_for_a_settled_bill_says_so(start_sandbox: StartSandbox) -> None:
    """A stale page's post for a bill paid or voided meanwhile: 400, nothing paid, and
    the page says what the bill is now rather than inviting another try."""
    sandbox = await start_sandbox()
    async with api_and_page(sandbox) as (client, http):
        paid = await bill_for_new_customer(client, 2000)
        voided = await bill_for_new_customer(client, 2000)
        await post(client, "/sandbox/payments", {"bill": paid["id"]})
        await client.void_bill(voided["id"])
        for bill, status in ((paid, "paid"), (voided, "voided")):
            answer = await http.post(f"/pay/{bill['id']}", data={"amount": "1.00"})
            assert answer.status_code == 400
            assert (
                f'<p class="error" id="error">Nothing was paid: this bill is {status}.</p>'
                in answer.text
            )
            assert "<form" not in answer.text
        assert _payments_on(sandbox, paid["id"]) == [2000]
        assert _payments_on(sandbox, voided["id"]) == []


async def test_viewing_the_page_writes_nothing(start_sandbox: StartSandbox) -> None:
    """GET and HEAD are safe (RFC 9110 §9.2.1): rendering a form, token and all, changes
    no row of the database; only a token that pays is recorded."""
    sandbox = await start_sandbox()
    async with api_and_page(sandbox) as (client, http):
        bill = await bill_for_new_customer(client, 2000)
        path = f"/pay/{bill['id']}"
        before = sandbox.db.conn.total_changes
        pages = [await http.get(path) for _ in range(5)]
        assert (await http.head(path)).status_code == 200
        assert sandbox.db.conn.total_changes == before
        assert sandbox.db.all("SELECT 1 FROM pay_tokens") == []
        tokens = {token_of(page.text) for page in pages}
        assert len(tokens) == 5  # still one token per rendering

        first = pages[0]
        paid = await http.post(path, data={"amount": "1.00", "token": token_of(first.text)})
        assert paid.status_code == 303
        used = sandbox.db.all("SELECT token, bill_id, payment_id FROM pay_tokens")
        match = PAID_LOCATION.match(paid.headers["location"])
        assert match is not None
        assert [tuple(row) for row in used] == [(token_of(first.text), bill["id"], match.group(2))]


async def test_used_token_records_go_when_the_tokens_expire(start_sandbox: StartSandbox) -> None:
    """A paid token's record is kept as long as the token could be posted (24 h from its
    issue), then deleted by a later payment: an expired token is refused anyway."""
    sandbox = await start_sandbox()
    async with api_and_page(sandbox) as (client, http):
        bill = await bill_for_new_customer(client, 2000)
        path = f"/pay/{bill['id']}"
        old = sandbox.state.tokens.mint(bill["id"], issued=int(time.time()) - 86000)
        assert (await http.post(path, data={"amount": "1.00", "token": old})).status_code == 303
        assert (await press_pay(http, path, "1.00")).status_code == 303
        assert len(sandbox.db.all("SELECT 1 FROM pay_tokens")) == 2
        sandbox.state.tokens.clock = lambda: time.time() + 401  # the old token's day is up
        assert (await press_pay(http, path, "1.00")).status_code == 303
        kept = sandbox.db.all("SELECT token FROM pay_tokens")
        assert old not in {row["token"] for row in kept}
        assert len(kept) == 2
        # That token, posted again, is past its day: refused, nothing paid twice.
        again = await http.post(path, data={"amount": "1.00", "token": old})
        assert again.status_code == 400
        assert _payments_on(sandbox, bill["id"]) == [100, 100, 100]


async def test_a_page_rendered_before_a_restart_on_the_same_db_still_pays(
    start_sandbox: StartSandbox, tmp_path: Path
) -> None:
    """The signing key lives in the database: a form from before a restart on the same
    ``--db`` pays (once); an in-memory sandbox's new key refuses an older one's forms."""
    db = str(tmp_path / "sandbox.db")
    first = await start_sandbox(db_path=db)
    async with make_client(first.url) as client:
        bill = await bill_for_new_customer(client, 2000)
    async with httpx.AsyncClient(base_url=first.url) as http:
        path = f"/pay/{bill['id']}"
        token = token_of((await http.get(path)).text)
        paid_token = token_of((await http.get(path)).text)
        assert (await http.post(path, data={"amount": "1.00", "token": paid_token})).is_redirect
    await stop(first)

    second = await start_sandbox(db_path=db)
    async with httpx.AsyncClient(base_url=second.url, follow_redirects=False) as http:
        paid = await http.post(path, data={"amount": "2.00", "token": token})
        assert paid.status_code == 303
        replayed = await http.post(path, data={"amount": "1.00", "token": paid_token})
        assert replayed.status_code == 303  # still that first payment, not a second
        assert _payments_on(second, bill["id"]) == [100, 200]

    memory = await start_sandbox()
    other = await start_sandbox()
    async with make_client(memory.url) as client:
        bill = await bill_for_new_customer(client, 2000)
    async with httpx.AsyncClient(base_url=memory.url) as http:
        token = token_of((await http.get(f"/pay/{bill['id']}")).text)
    # Another sandbox (another key) would refuse it even for a bill of the same id.
    assert other.state.tokens.issued_at(token, bill["id"]) is None
    assert memory.state.tokens.issued_at(token, bill["id"]) is not None


async def test_the_thank_you_note_needs_a_payment_of_that_bill(
    client: MomentClient, browser: httpx.AsyncClient
) -> None:
    """``?paid=`` shows "Payment received" only when it names a payment made to this
    bill; anything else (made up, another bill's) shows the page as it is."""
    bill = await bill_for_new_customer(client, 2000)
    other = await bill_for_new_customer(client, 2000)
    path = f"/pay/{bill['id']}"
    theirs = (await post(client, "/sandbox/payments", {"bill": other["id"], "amount": 100})).body
    note = '<p class="note" id="note">Payment received. Thank you.</p>'
    plain = (await browser.get(path)).text
    for paid in ("anything", "pay_" + "A" * 21, theirs["id"], "", " "):
        page = await browser.get(path, params={"paid": paid})
        assert page.status_code == 200
        assert note not in page.text, paid
        assert TOKEN.sub("", page.text) == TOKEN.sub("", plain)

    answer = await press_pay(browser, path, "1.00")
    match = PAID_LOCATION.match(answer.headers["location"])
    assert match is not None
    assert note in (await browser.get(answer.headers["location"])).text
    # The same payment id on another bill's page thanks no one there.
    assert note not in (await browser.get(f"/pay/{other['id']}?paid={match.group(2)}")).text
    # A payment to the bill made through the API counts: the bill was paid.
    mine = (await post(client, "/sandbox/payments", {"bill": bill["id"], "amount": 100})).body
    assert note in (await browser.get(path, params={"paid": mine["id"]})).text
