"""Shared by the UI tests and screenshots/make_screenshots.py: apps on the real sandbox
(or a mocked Moment), waiting with a deadline, reading the whole screen as text, and
fixed deliveries for pictures that must not change from run to run."""

from __future__ import annotations

import asyncio
import io
import random
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from textual.css.query import NoMatches
from textual.pilot import Pilot

from moment_tui.api.client import RetryPolicy
from moment_tui.config import Settings
from moment_tui.runtime import RuntimeOptions
from moment_tui.secrets import Secret
from moment_tui.store.applications import Application, Change, Drift
from moment_tui.store.eventlog import Delivery
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.webhook_panel import WebhookPanel

SEED_TODAY = date(2026, 11, 1)
# What the sandbox seeds for SEED_TODAY, as the ConnectionPanel holds it.
SEEDED = {
    "customer": 38,
    "account": 29,
    "bill": 31,
    "bills_unpaid": 16,
    "bills_paid": 10,
    "bills_voided": 5,
}
# … and shows it: in full at 120 columns, without the total at 80.
SEEDED_WIDE = "38 customers · 29 accounts\n31 bills · 16 unpaid · 10 paid · 5 voided"
SEEDED_NARROW = "38 customers · 29 accounts\nBills 16 unpaid · 10 paid · 5 voided"
PAYMENT_SEED = 7  # simulated payments are random, from this seed in tests
WAIT_SECONDS = 20.0  # a deadline, not a sleep: waits end as soon as the condition holds
TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
LIVE_KEY = "sk_4eC39HqLyjWDarjtT1zdp7dc"
API_URL = "https://example.test"
# A whsec_ secret, or an sk_ key, with more of it than a masked label shows.
SECRET_ON_SCREEN = re.compile(
    r"whsec_[A-Za-z0-9+/=]{4,}|sk_(?:test|live)_[A-Za-z0-9]{4,}|sk_(?!(?:test|live)_)[A-Za-z0-9]{4,}"
)


# --- apps ---------------------------------------------------------------------------


class ScriptedRng(random.Random):
    """Plans the same kind of payment every time, on the first unpaid bill listed.

    ``roll`` picks the kind (see ``runtime.plan_payment``): below 0.2 the bill's
    holder pays, below 0.6 the bill is paid in full, else ``tenths``/10 of it.
    """

    def __init__(self, roll: float, tenths: int = 2) -> None:
        super().__init__(0)
        self.roll = roll
        self.tenths = tenths

    def choice(self, seq: Any) -> Any:
        return seq[0]

    def random(self) -> float:
        return self.roll

    def randint(self, a: int, b: int) -> int:
        return self.tenths


def part_payments() -> ScriptedRng:
    """A fifth of the first unpaid bill, press after press."""
    return ScriptedRng(0.9)


def sandbox_app(
    tmp: Path,
    *,
    port: int = 0,
    rng: random.Random | None = None,
    sources: dict[str, str] | None = None,
    read_only: bool = False,
) -> MomentApp:
    """No API key: the real embedded sandbox (seeded for SEED_TODAY), listener and reconciler.

    Everything lives under ``tmp``, so a second app on the same ``tmp`` sees the first
    one's sandbox and workspace. Simulated payments come from ``rng`` (default: seeded
    with PAYMENT_SEED, so they are the same on every run).
    """
    settings = Settings(config_dir=tmp, data_dir=tmp, sources=sources or {}, read_only=read_only)
    options = RuntimeOptions(
        listener_port=port,
        seed_today=SEED_TODAY,
        sandbox_db=tmp / "sandbox.sqlite3",
        workspace=tmp / "ws.sqlite3",
        payment_rng=rng or random.Random(PAYMENT_SEED),
    )
    return create_app(settings, options)


def keyed_app(key: str, tmp: Path, *, port: int = 0, read_only: bool = False) -> MomentApp:
    """A test or live key against a Moment that answers every request 404 (so: connected)."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"title": "Not Found", "status": 404, "detail": "no such customer"}
        return httpx.Response(404, json=body, headers={"content-type": "application/problem+json"})

    settings = Settings(
        api_key=Secret(key),
        api_url=API_URL,
        config_dir=tmp,
        data_dir=tmp,
        read_only=read_only,
    )
    options = RuntimeOptions(
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
        listener_port=port,
        workspace=tmp / "ws.sqlite3",
        sandbox_db=tmp / "sandbox.sqlite3",
    )
    return create_app(settings, options)


# --- waiting and reading --------------------------------------------------------------


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS
) -> None:
    """Let the app run until ``condition()`` holds; fail with the screen after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(
                f"gave up after {seconds:.0f} s waiting for {what}; the screen:\n"
                + screen_text(pilot.app)
            )
        await pilot.pause(0.02)


def screen_text(app: MomentApp | Any) -> str:
    """The whole screen as plain text, modal and what shows behind it included.

    The same rendering as ``App.export_screenshot`` (Textual is pinned), exported as
    text instead of SVG.
    """
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def text_of(app: MomentApp, widget: type[ConnectionPanel] | type[WebhookPanel]) -> str:
    """A panel's text ("" before the home screen is composed)."""
    try:
        return str(app.home.query_one(widget).content)
    except NoMatches:
        return ""


def connected(app: MomentApp) -> bool:
    """Connected, the catalogue counts and the event log's books are in."""
    text = text_of(app, ConnectionPanel)
    return text.startswith("● Connected") and "voided" in text and books_loaded(app)


def books_loaded(app: MomentApp) -> bool:
    try:
        return app.home.query_one(WebhookPanel).tally.loaded
    except NoMatches:
        return False


def counts_of(app: MomentApp) -> dict[str, int]:
    """The catalogue counts the Moment panel shows."""
    return app.home.query_one(ConnectionPanel).counts


def bill_counts(app: MomentApp) -> tuple[int, int, int]:
    """(unpaid, paid, voided), as the Moment panel shows them."""
    c = counts_of(app)
    return c["bills_unpaid"], c["bills_paid"], c["bills_voided"]


def cell(app: MomentApp, seq: int, column: str) -> str:
    """The text of one cell of the delivery table ("" while the row is not drawn)."""
    try:
        table = app.home.query_one(DeliveryTable)
    except NoMatches:
        return ""
    if seq not in table.deliveries:
        return ""
    return str(table.get_cell(str(seq), column))


def on_screen(app: MomentApp, *texts: str) -> bool:
    """Each of ``texts`` is drawn (whole, on one line) on the screen as it is now."""
    shown = screen_text(app)
    return all(text in shown for text in texts)


def table_settled(app: MomentApp) -> bool:
    """Every drawn delivery shows whole on screen (all but "Paid to", cut when narrow;
    the tests and screenshots have fewer rows than the table has lines).

    DataTable sizes its columns when idle, after rows are added, and repaints later
    still: until then a frame shows new rows cut to the old widths. So this reads the
    screen itself; pictures and row checks wait for it.
    """
    try:
        table = app.home.query_one(DeliveryTable)
    except NoMatches:
        return False
    rows = screen_text(app).splitlines()
    for seq in table.deliveries:
        keys = ("time", "verdict", "amount", "result")
        cells = [str(table.get_cell(str(seq), key)) for key in keys]
        if not any(all(text in row for text in cells) for row in rows):
            return False
    return True


def assert_no_secret(app: MomentApp, *secrets: str) -> None:
    """Neither the given secrets (nor their bodies) nor any unmasked key is on screen."""
    text = screen_text(app)
    for secret in secrets:
        assert secret not in text
        assert secret.removeprefix("whsec_") not in text
    found = SECRET_ON_SCREEN.findall(text)
    assert not found, f"unmasked secret-like text on screen: {found}"


# --- fixed deliveries, for snapshots and screenshots ------------------------------------

BILL = "bill_2Ri9L7z6uPSankOvmWLlz"
ACCOUNT = "bacc_5Hq2ZkT8wN3dVbX6mRcYp"
CUSTOMER = "bcus_8Jf4LpQ2sW9kHn3TzRbVx"
SECRET_LABEL = "whsec_…gM="  # a masked label, as the listener stores it


def fixed_deliveries() -> list[tuple[Delivery, Application | None]]:
    """Five deliveries covering every verdict and result, with fixed ids and times."""

    def verified(seq: int, at: str, amount: int, **target: str) -> Delivery:
        return Delivery(
            seq=seq,
            webhook_id=f"msg_2k7QfXbH9cT{seq}mWnY4pLsRzEaVd",
            received_at=f"2026-11-01T{at}Z",
            verdict="verified",
            reason=None,
            message=f"verified with secret {SECRET_LABEL}",
            status=200,
            event_id=f"evt_9TbQm2Xc{seq}KfWz7HnL4pRsVa",
            event_type="obligation.amount_applied",
            amount=amount,
            currency="ZAR",
            matched_secret=SECRET_LABEL,
            **target,
        )

    def application(seq: int, state: Any, changes: tuple[Change, ...], **extra: Any) -> Application:
        delivery_target = extra.pop("target", ("bill", BILL))
        return Application(
            delivery_seq=seq,
            webhook_id=f"msg_2k7QfXbH9cT{seq}mWnY4pLsRzEaVd",
            applied_at="2026-11-01T09:14:03.600Z",
            outcome="applied",
            target_kind=delivery_target[0],
            target_id=delivery_target[1],
            changes=changes,
            state=state,
            checked_at="2026-11-01T09:14:04.100Z",
            **extra,
        )

    first = verified(1, "09:14:03.512", 160350, bill_id=BILL, customer_id=CUSTOMER)
    second = verified(2, "09:15:41.007", 45000, account_id=ACCOUNT, customer_id=CUSTOMER)
    duplicate = Delivery(
        seq=3,
        webhook_id=first.webhook_id,
        received_at="2026-11-01T09:16:12.250Z",
        verdict="duplicate",
        reason="duplicate",
        message=(
            "already received at 2026-11-01T09:14:03.512Z (#1); acknowledged, not applied again"
        ),
        status=200,
        event_id=first.event_id,
        event_type=first.event_type,
        amount=first.amount,
        currency="ZAR",
        bill_id=BILL,
        customer_id=CUSTOMER,
        duplicate_of=1,
    )
    rejected = Delivery(
        seq=4,
        webhook_id="msg_bad7Rk2PqW9sXzT4vLmN8cYh",
        received_at="2026-11-01T09:17:30.845Z",
        verdict="rejected",
        reason="no_matching_signature",
        message="no v1 signature in webhook-signature matches the 1 configured secret",
        status=401,
        diagnosis={
            "signed_content_prefix": (
                'msg_bad7Rk2PqW9sXzT4vLmN8cYh.1793524650.{"id":"evt_4WcN8pQ2rT6yHb3XkLm9Z",'
                '"type":"obligation.amount_applied","data":{"id…'
            ),
            "expected": [f"{SECRET_LABEL} → v1,Rs4NL0vjMjcCHyqhoKtz3YsmeuE+92xzK51zh5bOGQg="],
            "received": ["v1,xngB8iRBr0zHq7vKO17QQO3O5MIq52K1qPaZxNNd5Zk="],
            "skew_seconds": -1,
            "hints": [
                "no configured secret produces this signature: the sender probably uses a "
                "different secret (check the endpoint's secret, or whether it was rotated)"
            ],
        },
    )
    fifth = verified(5, "09:18:05.330", 25000, customer_id=CUSTOMER)
    return [
        (
            first,
            application(
                1,
                "confirmed",
                (
                    Change("bill", BILL, "amount_paid", 0, 160350),
                    Change("bill", BILL, "amount_remaining", 641400, 481050),
                ),
            ),
        ),
        (
            second,
            application(
                2,
                "confirmed",
                (Change("account", ACCOUNT, "balance", 120000, 75000),),
                target=("account", ACCOUNT),
            ),
        ),
        (duplicate, None),
        (rejected, None),
        (
            fifth,
            application(
                5,
                "drift",
                (Change("customer", CUSTOMER, "balance", 80000, 55000),),
                target=("customer", CUSTOMER),
                drift=(Drift("customer", CUSTOMER, "balance", 55000, 30000),),
                note="the server's balance differs; another payment was applied first",
            ),
        ),
    ]
