"""The Requests view (key 5) and a request's detail, driven with Pilot.

The sandbox tests run the real embedded sandbox: the rows are the calls the console made
to come up. The keyed tests use a mocked Moment (every call answers 404, or echoes
secrets back) so each failure is known in advance.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from moment_tui.api.client import RequestLog, RequestRecord, RetryPolicy
from moment_tui.api.models import CustomerUpdate
from moment_tui.config import Settings
from moment_tui.runtime import RuntimeOptions
from moment_tui.secrets import Secret, mask
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.modals.copy import CopyMenu
from moment_tui.ui.modals.request_detail import RequestDetail, copy_menu, hide_secrets
from moment_tui.ui.screens.requests import HINT, RequestList, RequestsScreen, RequestTable
from tests.ui.ui_helpers import (
    API_URL,
    SECRET_ON_SCREEN,
    TEST_KEY,
    assert_no_secret,
    connected,
    keyed_app,
    on_screen,
    sandbox_app,
    screen_text,
    wait_until,
)

PROBE = "/billing/customers/moment-tui-connection-probe"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a signing secret a server leaks
OTHER_KEY = "sk_live_9xQ2mZ7vT4kR8pL3nW6yB1cD"  # someone else's key, echoed back
AT = dt.datetime(2026, 11, 1, 9, 14, 3, 512000, tzinfo=dt.UTC)
NEW_NAME = "Second Person Jr"  # a customer's new name, sent alone in its update
MASKED_NAME = "S••••• P••••• J•"


# --- helpers ---------------------------------------------------------------------------


def table(app: MomentApp) -> RequestTable:
    assert isinstance(app.screen, RequestsScreen), type(app.screen)
    return app.screen.query_one(RequestTable)


def box(app: MomentApp) -> RequestList:
    assert isinstance(app.screen, RequestsScreen)
    return app.screen.query_one(RequestList)


def rows(app: MomentApp) -> list[dict[str, str]]:
    """Every row's cells as text, by column key, oldest first ([] off the view)."""
    if not isinstance(app.screen, RequestsScreen):
        return []
    t = table(app)
    keys = [str(key.value) for key in t.columns]
    return [{k: str(t.get_cell(row, k)) for k in keys} for row in t.records]


def row_where(app: MomentApp, **cells: str) -> dict[str, str] | None:
    return next((r for r in rows(app) if all(r.get(k) == v for k, v in cells.items())), None)


def probe_row(app: MomentApp) -> dict[str, str] | None:
    return row_where(app, path=PROBE)


def drawn(app: MomentApp, start: str) -> str:
    """The cell drawn on screen from ``start`` (as cut to fit): up to two spaces or the
    box's edge; "" when nothing on screen holds ``start``."""
    for line in screen_text(app).splitlines():
        if start in line:
            return line[line.index(start) :].split("  ")[0].rstrip(" │")
    return ""


def record(
    path: str = "/billing/bills/bill_2Ri9L7z6uPSankOvmWLlz", **fields: object
) -> RequestRecord:
    values: dict[str, Any] = {
        "at": AT,
        "method": "GET",
        "path": path,
        "status": 200,
        "latency_ms": 12.4,
        "attempt": 1,
    }
    values.update(fields)
    return RequestRecord(**values)


def log_of(app: MomentApp) -> RequestLog:
    log = app.moment.state.requests
    assert log is not None
    return log


def echoing_app(key: str, tmp: Path) -> MomentApp:
    """Like ``keyed_app``, but every answer echoes the key (as a server repeating the
    request's headers might), a signing secret and another key."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = {
            "title": "Not Found",
            "status": 404,
            "detail": f"nothing for {request.headers['authorization']}",
            "echo": {"authorization": f"Bearer {key}", "key": key},
            "webhook_secret": WHSEC,
            "note": f"also seen: {OTHER_KEY}",
        }
        return httpx.Response(404, json=body, headers={"content-type": "application/problem+json"})

    settings = Settings(api_key=Secret(key), api_url=API_URL, config_dir=tmp, data_dir=tmp)
    options = RuntimeOptions(
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
        listener_port=0,
        workspace=tmp / "ws.sqlite3",
        sandbox_db=tmp / "sandbox.sqlite3",
    )
    return create_app(settings, options)


def assert_nothing_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
    assert not SECRET_ON_SCREEN.findall(text), SECRET_ON_SCREEN.findall(text)


# --- the sandbox ----------------------------------------------------------------------------


async def test_the_view_lists_the_calls_the_console_made_at_start(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        await pilot.press("5")
        await wait_until(
            pilot,
            lambda: row_where(app, path="/billing/customers?limit=100") is not None,
            "the customers listing",
        )
        listing = row_where(app, path="/billing/customers?limit=100")
        assert listing is not None
        assert listing["method"] == "GET"
        assert listing["status"] == "200"
        assert re.fullmatch(r"\d\d:\d\d:\d\d", listing["time"])
        assert listing["latency"].isdigit()
        assert listing["problem"] == listing["attempt"] == listing["key"] == ""
        assert listing["replayed"] == ""
        for path in ("/billing/accounts?limit=100", "/billing/bills?limit=100"):
            assert row_where(app, method="GET", path=path, status="200") is not None
        # The probe Moment has no health endpoint for: a customer that cannot exist.
        probe = row_where(app, status="404")
        assert probe is not None
        assert probe["path"] == PROBE
        (refused,) = [r for r in log_of(app) if r.status == 404]
        assert refused.problem == "customer 'moment-tui-connection-probe' doesn't exist"
        # Its 404 is the answer hoped for: the row says so rather than show a problem.
        assert probe["problem"] == "connection check: a 404 means the key works"
        # Every call the log holds, in its order, newest at the bottom.
        assert list(table(app).records.values()) == list(log_of(app))
        assert app.focused is table(app)
        assert table(app).cursor_row == table(app).row_count - 1
        await wait_until(
            pilot, lambda: on_screen(app, "Time UTC", "Idem. key", "Problem"), "the headings"
        )
        # Path and problem are cut with "…" to share the width: the path gives way first.
        path = drawn(app, "/billing/customers/moment-tui")
        problem = drawn(app, "connection check")
        assert path.endswith("…")
        assert PROBE.startswith(path[:-1])
        assert problem.endswith("…")
        assert probe["problem"].startswith(problem[:-1])
        assert len(path) > len(problem) >= len("Problem")
        text = screen_text(app)
        assert " Requests " in text.splitlines()[1]  # the breadcrumb
        assert f"API calls · {table(app).row_count}" in text
        for key in ("↑↓ Move", "Enter Open", "c Copy"):
            assert key in text.splitlines()[-1]
        assert not on_screen(app, HINT)
        assert_no_secret(app)


async def test_with_the_mask_on_a_customers_new_name_is_nowhere_in_its_call(
    tmp_path: Path,
) -> None:
    """A customer's update sends only the name: nothing in the body says "customer" but
    the path, and the mask (Ctrl+N) must hide it in the bodies and the curl."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        client = app.runtime.client
        assert client is not None
        customer = (await client.list_page("customer", limit=1)).items[0]
        await client.update_customer(customer.id, CustomerUpdate(name=NEW_NAME))
        await pilot.press("ctrl+n", "5")
        path = f"/billing/customers/{customer.id}"
        await wait_until(
            pilot, lambda: row_where(app, method="PATCH", path=path) is not None, "the PATCH"
        )
        assert app.moment.state.masked
        keys = list(table(app).records)
        patch = next(k for k, r in table(app).records.items() if r.method == "PATCH")
        table(app).move_cursor(row=keys.index(patch))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestDetail), "the detail")
        assert isinstance(app.screen, RequestDetail)
        text = app.screen.text
        assert f"PATCH {path}" in text
        assert f'"name": "{MASKED_NAME}"' in text  # the body sent, and the answer
        assert f'"name":"{MASKED_NAME}"' in text  # the curl's compact body
        assert NEW_NAME not in text
        assert customer.name is None or customer.name not in text
        await wait_until(pilot, lambda: on_screen(app, "Request body"), "the detail drawn")
        assert NEW_NAME not in screen_text(app)
        # The detail scrolls: every line of it, drawn, holds no name either.
        await pilot.press("end")
        await wait_until(pilot, lambda: on_screen(app, "curl (the key as"), "the curl drawn")
        assert NEW_NAME not in screen_text(app)
        # Copying is of the call as it was made (the mask is for what is drawn).
        await pilot.press("c")
        await wait_until(pilot, lambda: on_screen(app, "Copy · PATCH"), "the copy menu")
        assert NEW_NAME not in screen_text(app)  # no preview of the bodies while masked
        await pilot.press("b")
        await wait_until(pilot, lambda: NEW_NAME in app._clipboard, "the body copied")
        said = [str(n.message) for n in app._notifications]
        assert [n for n in said if n.startswith("Copied body sent")] == [
            "Copied body sent (json): 3 lines"
        ]
        assert not any(NEW_NAME in n for n in said)  # the notice names no one either


async def test_the_mask_covers_a_rows_query_and_problem_as_it_is_turned_on(
    tmp_path: Path,
) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 2, "the probe and listing")
        log_of(app).add(
            record(
                "/billing/customers",
                params={"email": "thabo@example.com"},
                status=409,
                problem='{"name": "Thabo Mokoena"} is taken',
            )
        )
        await wait_until(pilot, lambda: table(app).row_count == 3, "the call")
        await wait_until(pilot, lambda: on_screen(app, "thabo%40example.com"), "drawn")
        assert rows(app)[-1]["problem"] == '{"name": "Thabo Mokoena"} is taken'
        await pilot.press("ctrl+n")
        dots = urllib.parse.quote("t••••@e••••••.com")
        await wait_until(pilot, lambda: rows(app)[-1]["path"].endswith(dots), "the query masked")
        assert rows(app)[-1]["problem"] == '{"name": "T•••• M••••••"} is taken'
        await wait_until(pilot, lambda: on_screen(app, "T•••• M••••••"), "drawn masked")
        assert "Thabo" not in screen_text(app)
        assert "thabo" not in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_screen(app, "Thabo Mokoena"), "drawn as it is")


# --- a failing Moment -------------------------------------------------------------------------


async def test_a_failing_call_shows_its_problem_and_opens_whole(tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: probe_row(app) is not None, "the probe")
        probe = probe_row(app)
        assert probe is not None
        # The connection check's 404 is the answer hoped for: its row says so (its
        # problem is whole in the detail, below).
        assert (probe["method"], probe["status"], probe["problem"]) == (
            "GET",
            "404",
            "connection check: a 404 means the key works",
        )
        # Then the listing, which this Moment does not offer: a problem, shown as one.
        await wait_until(pilot, lambda: table(app).row_count == 2, "the listing")
        assert rows(app)[1]["path"] == "/billing/customers?limit=100"
        assert rows(app)[1]["status"] == "404"
        assert rows(app)[1]["problem"] == "no such customer"
        await wait_until(pilot, lambda: on_screen(app, "no such customer"), "the problem drawn")
        assert_no_secret(app, TEST_KEY)

        await pilot.press("up", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestDetail), "the detail")
        assert isinstance(app.screen, RequestDetail)
        lines = app.screen.text.splitlines()
        assert lines[0] == f"GET {PROBE}"
        assert f"URL          {API_URL}{PROBE}" in lines
        assert "Status       404 Not Found — no such customer" in lines
        assert "Attempt      1" in lines
        assert "Idempotency  —" in lines
        assert "Replayed     no" in lines
        request = lines.index("Request body")
        assert lines[request + 1] == "  (none)"
        response = lines.index("Response body")
        assert lines[response + 1 : response + 6] == [
            "  {",
            '    "title": "Not Found",',
            '    "status": 404,',
            '    "detail": "no such customer"',
            "  }",
        ]
        curl = lines.index("curl (the key as $MOMENT_API_KEY)")
        assert lines[curl + 1] == f"  curl {API_URL}{PROBE} \\"
        assert lines[curl + 2] == '    -H "Authorization: Bearer $MOMENT_API_KEY" \\'
        await wait_until(pilot, lambda: on_screen(app, '"detail": "no such customer"'), "drawn")
        assert "Esc Close" in screen_text(app).splitlines()[-1]
        assert_no_secret(app, TEST_KEY)

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestsScreen), "back")
        assert table(app).cursor_row == 0


async def test_a_narrow_terminal_cuts_the_path_and_folds_the_try_into_status(
    tmp_path: Path,
) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 2, "the probe and listing")
        assert [str(c.value) for c in table(app).columns] == [
            "time",
            "method",
            "path",
            "status",
            "latency",
            "problem",
        ]
        assert rows(app)[0]["path"] == PROBE  # whole in the table, cut when drawn
        await wait_until(pilot, lambda: drawn(app, "/billing/cu").endswith("…"), "the cut")
        narrow = drawn(app, "/billing/customers/moment")
        assert narrow.endswith("…")
        assert PROBE.startswith(narrow[:-1])
        assert drawn(app, "/billing/customers?") == "/billing/customers?limit=100"  # whole
        log_of(app).add(
            record(
                "/billing/bills",
                method="POST",
                status=201,
                attempt=2,
                replayed=True,
                idempotency_key="5c7e0d1a-95f3-4c2e-8d1b-2f6a9e3b7c40",
            )
        )
        await wait_until(pilot, lambda: table(app).row_count == 3, "the POST")
        assert rows(app)[2]["status"] == "201 try 2 replayed"
        await wait_until(pilot, lambda: on_screen(app, "201 try 2 replayed"), "the POST drawn")
        # Nothing runs off the right edge: every row ends inside the box.
        for line in screen_text(app).splitlines()[3:7]:
            assert line.rstrip().endswith("│")
            assert len(line.rstrip()) == 80

        # Wider: the try, key and replay get their own columns again.
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: "attempt" in rows(app)[0], "the wide columns")
        post = rows(app)[2]
        assert (post["status"], post["attempt"], post["key"], post["replayed"]) == (
            "201",
            "2",
            "5c7e0d1a…",
            "✓",
        )
        await wait_until(
            pilot, lambda: len(drawn(app, "/billing/customers/moment")) > len(narrow), "wider"
        )


async def test_a_key_or_secret_echoed_back_never_reaches_the_screen(tmp_path: Path) -> None:
    app = echoing_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: probe_row(app) is not None, "the probe")
        # And a record the client did not scrub: the key typed as a reference.
        log_of(app).add(record(f"/billing/customers/{TEST_KEY}", status=404, problem=TEST_KEY))
        await wait_until(pilot, lambda: table(app).row_count >= 3, "the typed key")
        typed = rows(app)[-1]
        assert typed["path"] == f"/billing/customers/{mask(TEST_KEY)}"
        assert typed["problem"] == mask(TEST_KEY)
        await wait_until(pilot, lambda: on_screen(app, mask(TEST_KEY)), "the masked key drawn")
        assert_no_secret(app, TEST_KEY, WHSEC, OTHER_KEY)

        # The probe's detail: the server echoed the key, a signing secret and another key.
        table(app).move_cursor(row=0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestDetail), "the detail")
        assert isinstance(app.screen, RequestDetail)
        text = app.screen.text
        assert f'"webhook_secret": "{mask(WHSEC)}"' in text
        assert f'"key": "{mask(TEST_KEY)}"' in text
        assert f"also seen: {mask(OTHER_KEY)}" in text
        assert_nothing_secret(text, TEST_KEY, WHSEC, OTHER_KEY)
        await wait_until(pilot, lambda: on_screen(app, "Response body"), "the detail drawn")
        assert_no_secret(app, TEST_KEY, WHSEC, OTHER_KEY)

        # Copying from the detail: the menu and what it copies are masked too.
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CopyMenu), "the copy menu")
        await wait_until(pilot, lambda: on_screen(app, "Response body (JSON)"), "drawn")
        assert_no_secret(app, TEST_KEY, WHSEC, OTHER_KEY)
        await pilot.press("r")
        await wait_until(pilot, lambda: app._clipboard.startswith("{"), "the body copied")
        assert f'"key": "{mask(TEST_KEY)}"' in app._clipboard
        assert_nothing_secret(app._clipboard, TEST_KEY, WHSEC, OTHER_KEY)


async def test_new_calls_never_move_a_cursor_that_left_the_newest_row(tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 2, "the probe and listing")
        t = table(app)
        assert t.cursor_row == 1  # on the newest: it follows
        log_of(app).add(record())
        await wait_until(pilot, lambda: t.row_count == 3, "a third call")
        assert t.cursor_row == 2

        await pilot.press("up")
        assert t.cursor_row == 1
        for n in range(3):
            log_of(app).add(record(f"/billing/bills/bill_{n}"))
        await wait_until(pilot, lambda: t.row_count == 6, "three more calls")
        assert t.cursor_row == 1  # not pulled down
        assert app.focused is t  # nor focus taken
        assert box(app).border_subtitle == "3 new below ↓"
        await wait_until(pilot, lambda: on_screen(app, "3 new below ↓"), "the count drawn")

        await pilot.press("down", "down", "down", "down")
        await wait_until(pilot, lambda: box(app).border_subtitle == "", "the count cleared")
        log_of(app).add(record("/billing/bills/bill_last"))
        await wait_until(pilot, lambda: t.row_count == 7, "one more")
        assert t.cursor_row == 6  # back on the newest: following again
        assert rows(app)[6]["path"] == "/billing/bills/bill_last"


async def test_the_oldest_rows_go_with_the_log_and_the_cursor_keeps_its_call(
    tmp_path: Path,
) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.moment.state.requests is not None, "the start")
        small = RequestLog(maxlen=30)
        app.moment.state.watch_requests(small)
        for n in range(30):
            small.add(record(f"/billing/bills/bill_{n}"))
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 30, "thirty calls")
        t = table(app)
        t.move_cursor(row=10)
        await pilot.pause()
        reading = t.highlighted
        assert reading is not None
        assert reading.path == "/billing/bills/bill_10"

        for n in range(30, 33):  # three drop off the top
            small.add(record(f"/billing/bills/bill_{n}"))
        await wait_until(pilot, lambda: rows(app)[-1]["path"] == "/billing/bills/bill_32", "new")
        assert t.row_count == 30
        assert list(t.records.values()) == list(small)
        assert t.highlighted is reading  # the same call, three rows up
        assert t.cursor_row == 7

        for n in range(33, 58):  # a burst: the call read goes too
            small.add(record(f"/billing/bills/bill_{n}"))
        await wait_until(pilot, lambda: rows(app)[-1]["path"] == "/billing/bills/bill_57", "burst")
        assert list(t.records.values()) == list(small)
        assert [r["path"] for r in rows(app)][:2] == [
            "/billing/bills/bill_28",
            "/billing/bills/bill_29",
        ]
        assert t.cursor_row == 0  # its call is gone: the oldest left, not the newest
        assert box(app).border_subtitle == "28 new below ↓"


async def test_calls_made_while_the_view_was_hidden_are_there_when_it_is_back(
    tmp_path: Path,
) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 2, "the probe and listing")
        view = app.screen
        await pilot.press("1")
        await wait_until(pilot, lambda: not isinstance(app.screen, RequestsScreen), "home")
        for n in range(4):
            log_of(app).add(record(f"/billing/accounts/bacc_{n}"))
        await pilot.pause()
        assert view.query_one(RequestTable).row_count == 2  # hidden: no work done
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 6, "the catch-up")
        assert app.screen is view
        assert [r["path"] for r in rows(app)[2:]] == [
            f"/billing/accounts/bacc_{n}" for n in range(4)
        ]
        assert table(app).cursor_row == 5  # it was on the newest: still is


async def test_c_copies_the_highlighted_call_as_curl_without_the_key(tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 2, "the probe and listing")
        await pilot.press("up", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CopyMenu), "the copy menu")
        await wait_until(pilot, lambda: on_screen(app, f"Copy · GET {PROBE}"), "drawn")
        assert_no_secret(app, TEST_KEY)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestsScreen), "copied")
        assert app._clipboard == (
            f"curl {API_URL}{PROBE} \\\n"
            '  -H "Authorization: Bearer $MOMENT_API_KEY" \\\n'
            "  -H 'Accept: application/json'"
        )

        # A POST: its body, its idempotency key; and the path with its query.
        log_of(app).add(
            record(
                "/billing/bills",
                method="POST",
                status=201,
                idempotency_key="5c7e0d1a-95f3-4c2e-8d1b-2f6a9e3b7c40",
                request_body={"customer_id": "bcus_8Jf4LpQ2sW9kHn3TzRbVx", "amount_due": 5000},
                response_body={"id": "bill_2Ri9L7z6uPSankOvmWLlz"},
            )
        )
        await wait_until(pilot, lambda: table(app).row_count == 3, "the POST")
        assert table(app).cursor_row == 0  # the reader stayed on the probe
        table(app).move_cursor(row=2)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CopyMenu), "the copy menu")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestsScreen), "copied")
        assert "Idempotency-Key: 5c7e0d1a-95f3-4c2e-8d1b-2f6a9e3b7c40" in app._clipboard
        assert '"amount_due":5000' in app._clipboard
        await pilot.press("c", "b")
        await wait_until(pilot, lambda: app._clipboard.startswith("{\n"), "the body copied")
        assert '"amount_due": 5000' in app._clipboard
        table(app).move_cursor(row=1)
        await pilot.press("c", "p")
        await wait_until(pilot, lambda: app._clipboard.startswith("/"), "the path copied")
        assert app._clipboard == "/billing/customers?limit=100"


async def test_what_a_server_sends_is_shown_as_text_never_as_markup(tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await wait_until(pilot, lambda: table(app).row_count == 2, "the probe and listing")
        body = "[/b] [@click=app.quit]bad gateway\x1b[31m"
        log_of(app).add(record("/billing/bills", status=502, problem="[b]x", response_body=body))
        await wait_until(pilot, lambda: table(app).row_count == 3, "the 502")
        assert rows(app)[2]["problem"] == "[b]x"
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CopyMenu), "the copy menu")
        preview = "Response body  [/b] [@click=app.quit]bad gateway"
        await wait_until(pilot, lambda: on_screen(app, preview), "the body's first line, as text")
        await pilot.press("escape", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestDetail), "the detail")
        assert isinstance(app.screen, RequestDetail)
        # Control characters are not sent to the terminal: the escape shows as "�".
        assert "  [/b] [@click=app.quit]bad gateway\N{REPLACEMENT CHARACTER}[31m" in (
            app.screen.text.splitlines()
        )
        await wait_until(pilot, lambda: on_screen(app, "[@click=app.quit]bad gateway"), "drawn")


async def test_an_empty_log_says_what_will_appear(tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.moment.state.requests is not None, "the start")
        empty = RequestLog()
        app.moment.state.watch_requests(empty)
        await pilot.press("5")
        await wait_until(pilot, lambda: on_screen(app, HINT), "the hint")
        rows_on_screen = screen_text(app).splitlines()
        headings = next(i for i, row in enumerate(rows_on_screen) if "Time UTC" in row)
        assert HINT in rows_on_screen[headings + 2]  # under the headings, a line between
        assert table(app).row_count == 0
        assert app.screen.check_action("copy", ()) is None  # c is shown greyed out
        await pilot.press("c", "enter")
        assert isinstance(app.screen, RequestsScreen)

        empty.add(record())
        await wait_until(pilot, lambda: table(app).row_count == 1, "the first call")
        await wait_until(pilot, lambda: not on_screen(app, HINT), "the hint to go")
        assert app.screen.check_action("copy", ()) is True


def test_the_mask_hides_keys_and_secrets_but_not_ids_or_labels() -> None:
    text = f"key {TEST_KEY}, {OTHER_KEY}, sk_4eC39HqLyjWDarjtT1zdp7dc; {WHSEC}; Bearer{TEST_KEY}"
    assert hide_secrets(text) == (
        "key sk_test_…7dc, sk_…1cD, sk_…7dc; whsec_…aSw; Bearersk_test_…7dc"
    )
    assert_nothing_secret(hide_secrets(f"{TEST_KEY} {OTHER_KEY} {WHSEC} x_{TEST_KEY}"))
    # Labels already masked, ids, and words that merely hold "sk_" stay as they are.
    kept = "sk_test_…7dc sk_…7dc whsec_…gM= bcus_8Jf4LpQ2sW9kHn3TzRbVx desk_4200 risk_score"
    assert hide_secrets(kept) == kept


def test_while_masked_the_copy_menu_previews_nothing() -> None:
    """A text body's first line (a cut answer, say) may hold a name: with the mask on,
    the copy menu shows only what each choice is, and the notice only how long."""
    at = dt.datetime(2026, 11, 1, 9, 14, 3, tzinfo=dt.UTC)
    record = RequestRecord(
        at,
        "POST",
        "/billing/customers",
        502,
        12.0,
        1,
        response_body="upstream said: Thabo Mokoena thabo@example.com",
    )
    assert copy_menu(record, "http://127.0.0.1:9", masked=False).preview
    menu = copy_menu(record, "http://127.0.0.1:9", masked=True)
    assert not menu.preview
    assert menu._start("upstream said: Thabo Mokoena") == ""
    assert CopyMenu("x", []).preview  # unmasked, as before
