"""Render every view of the console to SVG (and PNG, with rsvg-convert) in this folder.

    .venv/bin/python screenshots/make_screenshots.py [--out DIR] [--no-png]

One headless run of the real console on a fresh sandbox seeded for ``SEED_TODAY``, in
temp directories and with no API key, as the UI tests run it; then ``moment-tui doctor``
run in-process against that sandbox. In the order they are taken:

* ``bill-paid-120x40``        the first unpaid bill's detail, then a simulated payment
                              of all of it (a real signed webhook, applied and
                              confirmed): PAID, the payment in its timeline;
* ``customer-detail-120x40``  ``o`` from that bill: its customer, her accounts and bills;
* ``customers-120x40``        ``2``: the seeded customers;
* ``bills-120x40``            ``4``, ``p`` (a second payment, paid from the list) and a
                              delivery signed with the wrong secret: the bills with
                              the event pane showing two verified and a rejected one;
* ``event-pane-80x24``        the same at 80x24, the pane focused on the rejection;
* ``rejected-detail-120x40``  Enter on it: the inspector's signature diagnosis;
* ``verified-detail-80x24``   the first payment's inspector: what it changed, its links;
* ``bills-overdue-80x24``     ``f`` twice: the overdue bills;
* ``new-bill-80x24``          ``n``: a bill for "a new account for a new customer",
                              filled, the phone typed as ``+27 82`` and refused;
* ``home-120x40``, ``home-80x24``  ``1``: connection, webhooks, the outstanding bills at
                              a glance, payments, every delivery;
* ``requests-120x40``         ``5``: the API calls (fixed records, as the snapshot
                              tests show them: a 404, a create, a timed-out one replayed);
* ``doctor-100``              the doctor's checklist with a test key for that sandbox
                              and this run's webhook secret, as a 100-column terminal
                              shows it (drawn by rich, not Textual).

What keeps the pictures stable from run to run: the seeded data (names, amounts,
references, counts); ``now_iso`` runs on the seeded day (from 09:14:00 UTC, at the
real pace) and local time is UTC, so stamps read like the data's; simulated payments
pay the first unpaid bill in full. Webhook ids, signatures and latencies are live.

Every picture is taken once the screen shows what it is of and has then been still
(``wait_still``), and only after checking the screen, and then the SVG's text, for the
run's webhook secret, the test key and anything shaped like a key or secret.

PNGs need ``rsvg-convert`` (Debian: ``apt-get install librsvg2-bin``) and look right
with the font the SVGs name, Fira Code (``apt-get install fonts-firacode``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import html
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout: moment_tui and tests.ui.ui_helpers

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.text import Text  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Static  # noqa: E402

from moment_tui.api.models import BillStatus  # noqa: E402
from moment_tui.cli import main as cli_main  # noqa: E402
from moment_tui.commands.base import Io  # noqa: E402
from moment_tui.sandbox.server import SandboxConfig, SandboxThread  # noqa: E402
from moment_tui.secrets import SecretStore  # noqa: E402
from moment_tui.store import catalogue  # noqa: E402
from moment_tui.ui.app import MomentApp  # noqa: E402
from moment_tui.ui.modals.delivery_detail import DeliveryDetail  # noqa: E402
from moment_tui.ui.modals.go_to import GoTo  # noqa: E402
from moment_tui.ui.screens.bill_detail import BillDetail  # noqa: E402
from moment_tui.ui.screens.customer_detail import CustomerDetail  # noqa: E402
from moment_tui.ui.screens.form_base import FormScreen  # noqa: E402
from moment_tui.ui.widgets.delivery_table import DeliveryTable  # noqa: E402
from moment_tui.ui.widgets.event_pane import EventPane  # noqa: E402
from moment_tui.ui.widgets.glance import GlancePanel  # noqa: E402
from moment_tui.ui.widgets.lazy_table import LazyTable  # noqa: E402
from moment_tui.ui.widgets.payments_spark import PaymentsSpark  # noqa: E402
from moment_tui.webhooks import confirm, listener, reconcile  # noqa: E402
from moment_tui.webhooks.outbound import amount_applied_event, send  # noqa: E402
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret  # noqa: E402
from tests.ui.ui_helpers import (  # noqa: E402
    SECRET_ON_SCREEN,
    SEED_TODAY,
    SEEDED,
    TEST_KEY,
    assert_no_secret,
    cell,
    connected,
    detail_shown,
    footer_drawn,
    full_payments,
    list_shown,
    list_still,
    nested_bill_refused,
    on_screen,
    requests_shown,
    sandbox_app,
    shows,
    table_settled,
    wait_still,
    wait_until,
)

DEFAULT_PORT = 8765  # the console's default listener port, when it is free
WIDE, SMALL = (120, 40), (80, 24)
DOCTOR_WIDTH = 100
CLOCK_START = dt.datetime.combine(SEED_TODAY, dt.time(9, 14), tzinfo=dt.UTC)
NAMES = [
    "bill-paid-120x40",
    "customer-detail-120x40",
    "customers-120x40",
    "bills-120x40",
    "event-pane-80x24",
    "rejected-detail-120x40",
    "verified-detail-80x24",
    "bills-overdue-80x24",
    "new-bill-80x24",
    "home-120x40",
    "home-80x24",
    "requests-120x40",
    "doctor-100",
]
REPLACED = ["rejected-detail"]  # the previous script's names no longer made


class ShotFailed(Exception):
    """A picture that must not be written (or kept): a secret in it, doctor failing."""


# --- the run's clock ----------------------------------------------------------------------


class SeededDayClock:
    """``now_iso`` on the seeded day: CLOCK_START, moving on at the real pace."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    def __call__(self) -> str:
        now = CLOCK_START + dt.timedelta(seconds=time.monotonic() - self.began)
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextlib.contextmanager
def seeded_day() -> Iterator[None]:
    """Every ``now_iso`` the console calls on the seeded day, local time UTC (as the
    snapshot tests' ``clock`` fixture pins them); undone after."""
    clock = SeededDayClock()
    # catalogue's own callers (and queries/runtime, which import it when they call it)
    # look the name up in catalogue; these modules imported it at their top.
    modules = (catalogue, reconcile, confirm, listener)
    saved = [module.now_iso for module in modules]
    saved_tz = os.environ.get("TZ")
    for module in modules:
        module.now_iso = clock  # type: ignore[attr-defined]
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.now_iso = original  # type: ignore[attr-defined]
        if saved_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved_tz
        time.tzset()


# --- secrets -------------------------------------------------------------------------------


def never_shown(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """What must not be in any picture: the secrets and key, and their bodies."""
    values = [*secrets, TEST_KEY]
    return tuple(
        part
        for value in values
        for part in (value, value.removeprefix("whsec_").removeprefix("sk_test_"))
    )


def check_svg(svg: Path, secrets: tuple[str, ...]) -> None:
    """The SVG's text holds no secret: as written, with entities read, and with its
    text runs joined (a secret cut by a change of colour would be split in two)."""
    raw = svg.read_text(encoding="utf-8")
    read = html.unescape(raw).replace("\xa0", " ")
    joined = html.unescape(re.sub(r"<[^>]*>", "", raw)).replace("\xa0", " ")
    for text in (raw, read, joined):
        if any(value in text for value in never_shown(secrets)):
            raise ShotFailed(f"{svg.name}: a secret is in the picture")
        found = SECRET_ON_SCREEN.findall(text)
        if found:
            raise ShotFailed(f"{svg.name}: unmasked secret-like text: {found}")


# --- the console ----------------------------------------------------------------------------


class Camera:
    """Takes the pictures: the screen still, no secret on it, at the size its name says."""

    def __init__(self, pilot: Pilot[Any], folder: Path) -> None:
        app = pilot.app
        assert isinstance(app, MomentApp)
        self.pilot, self.app, self.folder = pilot, app, folder
        self.written: list[Path] = []
        self.notes: list[str] = []  # what looked wrong on screen, said after the run

    @property
    def secrets(self) -> tuple[str, ...]:
        sandbox = self.app.runtime.sandbox
        return tuple(sandbox.config.webhook_secrets) if sandbox is not None else ()

    async def resize(self, size: tuple[int, int]) -> None:
        if self.app.size != size:
            await self.pilot.resize_terminal(*size)
            await wait_until(self.pilot, lambda: self.app.size == size, f"the {size} terminal")

    async def take(self, name: str) -> None:
        width, height = self.app.size
        assert name.endswith(f"-{width}x{height}"), f"{name} at {width}x{height}"
        await wait_until(self.pilot, lambda: footer_drawn(self.app), "the footer")
        await wait_still(self.pilot)
        assert_no_secret(self.app, *never_shown(self.secrets))
        self.app.save_screenshot(f"{name}.svg", path=str(self.folder))
        svg = self.folder / f"{name}.svg"
        check_svg(svg, self.secrets)
        self.written.append(svg)


async def run_console(folder: Path, work: Path, port: int) -> Camera:
    """Every picture of the console; the camera holds them, the run's webhook
    secrets, and what looked wrong."""
    app = sandbox_app(work, port=port, rng=full_payments())
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox, synced")
        camera = Camera(pilot, folder)
        await bill_paid_live(camera)
        await customer_of_the_bill(camera)
        await customers(camera)
        await bills_with_deliveries(camera)
        await event_pane(camera)
        await rejected_detail(camera)
        await verified_detail(camera)
        await overdue_bills(camera)
        await new_bill(camera)
        await home(camera)
        await requests(camera)
        return camera


async def bill_paid_live(camera: Camera) -> None:
    """The first unpaid bill's detail, then a real payment of all of it."""
    pilot, app = camera.pilot, camera.app
    assert app.runtime.client is not None
    page = await app.runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
    bill = page.items[0]  # the one the scripted payments pay first
    await pilot.press("g")  # Go to, by its reference
    await wait_until(pilot, lambda: isinstance(app.screen, GoTo), "the Go to prompt")
    await pilot.press(*bill.external_reference, "enter")
    await wait_until(pilot, lambda: detail_shown(app, BillDetail, bill.id), "the bill")
    screen = app.screen
    assert isinstance(screen, BillDetail)
    assert await app.moment.simulate_payment() is None
    await wait_until(
        pilot,
        lambda: (
            screen.loaded is not None
            and screen.loaded.obj.status is BillStatus.PAID
            and [a.state for a, _ in screen.loaded.related.applications] == ["confirmed"]
        ),
        "the payment applied and confirmed",
    )
    await wait_until(pilot, lambda: detail_shown(app, BillDetail, bill.id), "the paid bill drawn")
    assert on_screen(app, "PAID", "Timeline · 1 payment", "#1 confirmed")
    await camera.take("bill-paid-120x40")


async def customer_of_the_bill(camera: Camera) -> None:
    pilot, app = camera.pilot, camera.app
    bill = app.screen
    assert isinstance(bill, BillDetail)
    assert bill.loaded is not None
    customer_id = bill.loaded.obj.customer_id
    assert customer_id is not None
    await pilot.press("o")
    await wait_until(pilot, lambda: detail_shown(app, CustomerDetail, customer_id), "the customer")
    await camera.take("customer-detail-120x40")
    await back_home(camera)


async def back_home(camera: Camera) -> None:
    """Esc until Home's own screen is up (its mode keeps the details opened on it)."""
    pilot, app = camera.pilot, camera.app
    while app.screen is not app.home:
        await close(pilot, app.screen)


async def close(pilot: Pilot[Any], screen: object) -> None:
    await pilot.press("escape")
    await wait_until(pilot, lambda: pilot.app.screen is not screen, "the screen closed")


async def customers(camera: Camera) -> None:
    pilot, app = camera.pilot, camera.app
    await pilot.press("2")
    count = SEEDED["customer"]
    await wait_until(pilot, lambda: list_shown(app, "customers", count), "the customers")
    await camera.take("customers-120x40")


async def bills_with_deliveries(camera: Camera) -> None:
    """Bills; a second simulated payment (``p`` on Home's), and a delivery signed with a
    secret the console does not have is refused: the pane shows both payments and the
    rejection."""
    pilot, app = camera.pilot, camera.app
    await pilot.press("4")
    await wait_until(pilot, lambda: list_shown(app, "bills", SEEDED["bill"]), "the bills")
    pane = app.screen.query_one(EventPane)
    assert await app.moment.simulate_payment() is None
    await wait_until(
        pilot,
        lambda: [a.state for a in pane.applications.values()] == ["confirmed", "confirmed"],
        "the second payment applied and confirmed",
    )
    paid = pane.deliveries[2].target()
    assert paid is not None
    assert app.runtime.listener is not None
    kind, paid_id = paid
    body = amount_applied_event(
        25000,
        "ZAR",
        bill_id=paid_id if kind == "bill" else None,
        account_id=paid_id if kind == "account" else None,
        customer_id=paid_id if kind == "customer" else None,
    )
    async with httpx.AsyncClient() as http:
        url = app.runtime.listener.url
        await send(http, url, body, [new_webhook_secret()], new_message_id())
    await wait_until(
        pilot,
        lambda: list(pane.deliveries) == [1, 2, 3] and pane.deliveries[3].verdict == "rejected",
        "the rejected delivery in the pane",
    )
    await pane_drawn(camera, pane)
    await wait_until(pilot, lambda: list_still(app), "the paid bill's row read again")
    await wait_until(pilot, lambda: list_shown(app, "bills", SEEDED["bill"]), "the bills drawn")
    await camera.take("bills-120x40")


async def pane_drawn(camera: Camera, pane: EventPane) -> None:
    """Each delivery's line drawn whole: names looked up, results in."""
    pilot, app = camera.pilot, camera.app

    def drawn() -> bool:
        ids = {i for d in pane.deliveries.values() for i in (d.bill_id, d.customer_id) if i}
        if not ids <= set(pane.names):
            return False
        lines = [
            " ".join(pane._line(d, pane.content_size.width).plain.split())
            for d in pane.deliveries.values()
        ]
        return all(shows(app, pane, line) for line in lines)

    await wait_until(pilot, drawn, "the pane's lines drawn")


async def event_pane(camera: Camera) -> None:
    """At 80x24, the pane focused: its cursor on the newest row, the rejection."""
    pilot, app = camera.pilot, camera.app
    await camera.resize(SMALL)
    pane = app.screen.query_one(EventPane)
    pane.focus()
    await wait_until(pilot, lambda: pane.has_focus, "the pane focused")
    await pane_drawn(camera, pane)
    await wait_until(pilot, lambda: list_shown(app, "bills", SEEDED["bill"]), "the bills drawn")
    await camera.take("event-pane-80x24")


async def inspect(camera: Camera, seq: int) -> DeliveryDetail:
    """Enter in the pane on delivery ``seq``: its inspector, drawn."""
    pilot, app = camera.pilot, camera.app
    pane = app.screen.query_one(EventPane)
    for _ in pane.deliveries:  # the cursor (None: on the newest) moved onto ``seq``
        at = pane.cursor or max(pane.deliveries)
        if at == seq:
            break
        await pilot.press("up" if at > seq else "down")
    assert (pane.cursor or max(pane.deliveries)) == seq
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, DeliveryDetail), "the inspector")
    detail = app.screen
    assert isinstance(detail, DeliveryDetail)
    first_line = detail.text.splitlines()[0]
    assert first_line.startswith(f"Delivery #{seq} · ")
    await wait_until(pilot, lambda: on_screen(app, first_line), "the inspector drawn")
    return detail


async def close_inspector(camera: Camera) -> None:
    pilot, app = camera.pilot, camera.app
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(app.screen, DeliveryDetail), "it closed")


async def rejected_detail(camera: Camera) -> None:
    pilot, app = camera.pilot, camera.app
    await inspect(camera, 3)
    await camera.resize(WIDE)
    await wait_until(
        pilot,
        lambda: on_screen(app, "Signature check", "no_matching_signature", "hints"),
        "the diagnosis drawn",
    )
    await camera.take("rejected-detail-120x40")
    await close_inspector(camera)


async def verified_detail(camera: Camera) -> None:
    pilot, app = camera.pilot, camera.app
    await camera.resize(SMALL)
    detail = await inspect(camera, 1)
    assert detail.links
    links = [f"{kind} {object_id}" for kind, object_id in detail.links.items()]
    await wait_until(pilot, lambda: on_screen(app, "Open ", links[0].split()[1]), "its links")
    await wait_still(pilot)
    cut = [link.split()[0] for link in links if not on_screen(app, link.split()[1])]
    if cut:  # the console's fault, not the picture's: say so
        camera.notes.append(f"verified-detail-80x24: links not on screen: {', '.join(cut)}")
    await camera.take("verified-detail-80x24")
    await close_inspector(camera)


async def overdue_bills(camera: Camera) -> None:
    """``f`` twice: all → unpaid → overdue."""
    pilot, app = camera.pilot, camera.app
    table = app.screen.query_one(LazyTable)
    table.focus()
    await wait_until(pilot, lambda: table.has_focus, "the list focused")
    queries = app.moment.queries
    overdue = len(await queries.bill_ids(queries.filter(status="overdue"), None))
    await pilot.press("f", "f")
    await wait_until(pilot, lambda: list_shown(app, "bills", overdue), "the overdue bills")
    await wait_until(pilot, lambda: on_screen(app, f"{overdue} bills · overdue"), "the note")
    await camera.take("bills-overdue-80x24")


async def new_bill(camera: Camera) -> None:
    """``n`` on Bills: a new account for a new customer, filled, the phone refused."""
    pilot, app = camera.pilot, camera.app
    await nested_bill_refused(pilot)
    await camera.take("new-bill-80x24")
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(app.screen, FormScreen), "the form closed")


async def home(camera: Camera) -> None:
    """Home, with what the run did: two payments confirmed, one delivery rejected."""
    pilot, app = camera.pilot, camera.app
    await pilot.press("1")
    await wait_until(pilot, lambda: app.screen is app.home, "Home")
    for size in (WIDE, SMALL):
        await camera.resize(size)
        await home_drawn(camera)
        await camera.take(f"home-{size[0]}x{size[1]}")


async def home_drawn(camera: Camera) -> None:
    """Both panels, the glance of the catalogue as it is now, the payments box, every
    delivery whole."""
    pilot, app = camera.pilot, camera.app
    tallies = ("2 verified · 0 dup · 1 rejected", "2 confirmed · 0 drift · 0 unchecked")
    await wait_until(pilot, lambda: on_screen(app, *tallies), "the tally drawn")
    glance = app.home.query_one(GlancePanel)
    final = await app.moment.queries.glance()
    await wait_until(pilot, lambda: glance.glance == final, "the glance of the catalogue")
    await wait_until(
        pilot,
        lambda: (
            on_screen(app, glance.drawing().title)
            and all(shows(app, glance, line) for line in glance.drawing().plain.splitlines())
        ),
        "the glance drawn",
    )
    label = app.home.query_one(PaymentsSpark).query_one("#payments-total", Static)
    await wait_until(pilot, lambda: shows(app, label, str(label.content)), "the payments box")
    table = app.home.query_one(DeliveryTable)
    await wait_until(pilot, lambda: table.row_count == 3, "the deliveries listed")
    await wait_until(pilot, lambda: cell(app, 3, "verdict") == "rejected", "the rejection")
    await wait_until(pilot, lambda: table_settled(app), "the rows drawn whole")


async def requests(camera: Camera) -> None:
    """The Requests view over fixed records: the run's own calls are hundreds of
    listing pages and re-fetches; these show a 404, a create and a replayed retry."""
    pilot = camera.pilot
    await camera.resize(WIDE)
    await requests_shown(pilot)
    await camera.take("requests-120x40")


# --- doctor ---------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    """Doctor's stdout as a terminal: it marks checks ✓ ✕ rather than OK FAIL."""

    def isatty(self) -> bool:
        return True


def run_doctor(work: Path, secrets: tuple[str, ...], port: int) -> str:
    """``moment-tui doctor`` against the run's sandbox (its data, started again), with
    a test key for it and the run's webhook secret; its output, as a terminal shows it."""
    sandbox = SandboxThread(SandboxConfig(db_path=str(work / "sandbox.sqlite3")))
    url = sandbox.start()
    config = work / "doctor" / "config.toml"  # empty: no setting from this machine's
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("", encoding="utf-8")
    env = {
        "MOMENT_API_KEY": TEST_KEY,
        "MOMENT_API_URL": url,
        "MOMENT_WEBHOOK_SECRET": " ".join(secrets),
        "MOMENT_CONFIG": str(config),
    }
    out, err = _Terminal(), io.StringIO()
    store = SecretStore(config.parent)
    try:
        code = cli_main(
            ["--listen", f"127.0.0.1:{port}", "doctor"],
            Io(stdout=out, stderr=err, env=env, store=store),
        )
    finally:
        sandbox.stop()
    text = out.getvalue()
    if code != 0 or err.getvalue():
        raise ShotFailed(f"doctor failed ({code}):\n{text}{err.getvalue()}")
    return text


MARKS = {"✓": "bold green", "!": "bold yellow", "✕": "bold red", "–": "dim"}


def doctor_svg(folder: Path, output: str, secrets: tuple[str, ...]) -> Path:
    """Doctor's output drawn as a 100-column terminal shows it, its marks coloured."""
    console = Console(
        width=DOCTOR_WIDTH,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(Text.assemble(("$ ", "dim"), ("moment-tui doctor", "bold")))
    for line in output.rstrip("\n").splitlines():
        text = Text(line)
        mark = line[:1]
        if mark in MARKS:
            text.stylize(MARKS[mark], 0, 1)
            text.stylize("bold", 2, 2 + len("Webhook secret"))
        elif line.lstrip().startswith("→"):
            text.stylize("yellow", 0, len(line))
        elif line.startswith("Send Moment"):
            text.stylize("bold", 0, len(line))
        # Wrapped a column short: the frame around the SVG hides the last one.
        console.print(text, highlight=False, width=DOCTOR_WIDTH - 1)
    svg = folder / f"doctor-{DOCTOR_WIDTH}.svg"
    svg.write_text(console.export_svg(title="moment-tui doctor"), encoding="utf-8")
    check_svg(svg, secrets)
    return svg


# --- files ----------------------------------------------------------------------------------


def free_port(preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` if nothing uses it (the pictures then show the usual address),
    else a free one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the listener binds: a port whose last connections are closing is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def to_png(svg: Path) -> Path:
    """``svg`` as PNG beside it (rsvg-convert)."""
    tool = shutil.which("rsvg-convert")
    assert tool is not None
    # Textual writes spaces as &#160;; without xml:space librsvg drops them at line starts.
    text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    png = svg.with_suffix(".png")
    subprocess.run(  # noqa: S603 - a fixed tool on our own file
        [tool, "--format=png", "--output", str(png)], input=text.encode(), check=True
    )
    return png


def clear(folder: Path, *, png: bool) -> None:
    """The pictures this script makes (PNGs only when it makes them again), and those
    it made before under other names."""
    for name in NAMES:
        for suffix in (".svg", ".png") if png else (".svg",):
            (folder / f"{name}{suffix}").unlink(missing_ok=True)
    for name in REPLACED:
        for suffix in (".svg", ".png"):
            (folder / f"{name}{suffix}").unlink(missing_ok=True)


def make(folder: Path) -> tuple[list[Path], list[str]]:
    """Every SVG, in ``folder``; and what looked wrong on the console's screen."""
    with tempfile.TemporaryDirectory(prefix="moment-tui-shots-") as scratch, seeded_day():
        work = Path(scratch)
        port = free_port()
        camera = asyncio.run(run_console(folder, work, port))
        output = run_doctor(work, camera.secrets, free_port(port))
        written = [*camera.written, doctor_svg(folder, output, camera.secrets)]
    if [svg.stem for svg in written] != NAMES:
        raise ShotFailed(f"made {[svg.stem for svg in written]}, not {NAMES}")
    return written, camera.notes


def main(out: Path = HERE, *, png: bool = True, say: Callable[[str], None] = print) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tool = shutil.which("rsvg-convert") if png else None
    clear(out, png=tool is not None)
    svgs, notes = make(out)
    for svg in svgs:
        made = to_png(svg) if tool else None
        shown = svg.relative_to(HERE.parent) if svg.is_relative_to(HERE.parent) else svg
        say(f"{shown}" + (f" + {made.name}" if made else ""))
    if png and tool is None:
        say("no PNGs: rsvg-convert is missing (apt-get install librsvg2-bin)")
    elif tool and shutil.which("fc-list") and "Fira Code" not in _fonts():
        say("note: the PNGs use a fallback font; apt-get install fonts-firacode for Fira Code")
    for note in notes:
        say(f"note: {note}")
    return 0


def _fonts() -> str:
    listing = subprocess.run(["fc-list"], capture_output=True, text=True, check=False)  # noqa: S607
    return listing.stdout


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="folder (default: this one)")
    parser.add_argument("--no-png", action="store_true", help="SVGs only")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = _arguments(sys.argv[1:])
    sys.exit(main(arguments.out, png=not arguments.no_png))
