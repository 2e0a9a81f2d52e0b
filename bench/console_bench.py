"""The console's browse views under load: 100,000 bills, and payments arriving live.

    .venv/bin/python bench/console_bench.py [scale|live|burst|all] [--bills 100000]
        [--rate 100] [--seconds 10]

Everything runs headless (``run_test(size=(120, 40))``) on the real console: the
embedded sandbox, its signed webhooks, the listener, the reconciler, SQLite.

* ``scale``: a workspace filled with ``--bills`` bills (as ``catalogue_bench`` fills
  it; kept in /tmp between runs), then: ``4`` opens the bills view (until its first
  row is drawn), a filter typed one key at a time (until each count is drawn),
  PageDown ×20 (until the expected row is drawn). Targets: open ≤ 300 ms, each
  filter keystroke ≤ 50 ms, scrolling smooth.
* ``live``: payments of R 1.00 on the seeded bills at ``--rate`` per second for
  ``--seconds``, through a sandbox running in its own process (as Moment would be),
  paid from a third process, so each arrives as a real signed webhook; the console
  runs with a test key against it. Measured: from the listener receiving a delivery to the frame
  that shows the bill's row updated. Target: p99 ≤ 50 ms at up to 100/s.
* ``burst``: as many payments as the sandbox takes for ``--seconds``, while ``j``/``k``
  are pressed every 100 ms; measured from each press to the frame showing the cursor
  moved. Target: ≤ 100 ms.

A time ends at the first frame, as the terminal would receive it, drawn after the
change (``App._display`` is watched); nothing is forced to redraw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from textual import events  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.screen import Screen  # noqa: E402

from moment_tui.config import Settings, parse_listen  # noqa: E402
from moment_tui.runtime import RuntimeOptions  # noqa: E402
from moment_tui.secrets import Secret  # noqa: E402
from moment_tui.store.workspace import Workspace  # noqa: E402
from moment_tui.ui.app import MomentApp  # noqa: E402
from moment_tui.ui.factory import create_app  # noqa: E402
from moment_tui.ui.screens.browse import ListScreen  # noqa: E402
from moment_tui.ui.widgets.lazy_table import LazyTable  # noqa: E402
from moment_tui.webhooks.signing import new_webhook_secret  # noqa: E402

SIZE = (120, 40)
TEST_KEY = "sk_test_bench0console0key0000"
FILL_TODAY = dt.date(2026, 11, 25)  # catalogue_bench's day
FILTER = "Mokoena 12"
WAIT = 60.0


class Frames:
    """Every frame the app draws, with when (perf_counter), as plain text segments."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, str]] = []
        self.paints: list[float] = []

    def install(self) -> None:
        original = MomentApp._display
        frames = self

        def display(app: MomentApp, screen: Screen[Any], renderable: Any) -> None:
            original(app, screen, renderable)
            if renderable is not None:
                now = time.perf_counter()
                frames.paints.append(now)
                frames.frames.append((now, renderable.render_segments(app.console)))
                del frames.frames[:-200]

        MomentApp._display = display  # type: ignore[method-assign]

    async def shown(self, since: float, text: str) -> float:
        """Milliseconds from ``since`` to the first frame after it that draws ``text``."""
        deadline = time.perf_counter() + WAIT
        while time.perf_counter() < deadline:
            for at, frame in self.frames:
                if at >= since and text in frame:
                    return (at - since) * 1000
            await asyncio.sleep(0.0005)
        last = self.frames[-1][1] if self.frames else ""
        raise TimeoutError(f"{text!r} never drawn; the last frame:\n{last!r}"[:3000])

    def first_paint_after(self, since: float) -> float | None:
        for at in self.paints:
            if at >= since:
                return at
        return None


def spread(label: str, values: list[float], target: str = "") -> None:
    if not values:
        print(f"  {label:<44} (no samples)")
        return
    ordered = sorted(values)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    print(
        f"  {label:<44} n={len(values):<5} median {statistics.median(values):7.1f} ms"
        f"   p99 {p99:7.1f} ms   max {ordered[-1]:7.1f} ms  {target}"
    )


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sandbox_console(folder: Path, workspace: Path | None = None) -> MomentApp:
    settings = Settings(config_dir=folder, data_dir=folder)
    options = RuntimeOptions(
        listener_port=0,
        seed_today=FILL_TODAY,
        sandbox_db=folder / "sandbox.sqlite3",
        workspace=workspace or folder / "ws.sqlite3",
    )
    return create_app(settings, options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnSandbox:
    """The sandbox in a process of its own (``moment-tui sandbox``), as Moment is to a
    real console: its payments, webhooks and re-fetch answers take none of the
    console's interpreter; the console talks to it with a test key, like any API."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.secret = new_webhook_secret()
        self.listen_port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> OwnSandbox:
        hook = f"http://127.0.0.1:{self.listen_port}/webhooks/moment"
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("moment-tui")),
                "sandbox",
                "--port",
                "0",
                "--db",
                str(self.folder / "own-sandbox.sqlite3"),
                "--seed",
                "--webhook-url",
                hook,
                "--webhook-secret",
                self.secret,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split(": ", 1)[1].strip()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def console(self) -> MomentApp:
        settings = Settings(
            api_key=Secret(TEST_KEY),
            api_url=self.url,
            webhook_secrets=(Secret(self.secret),),
            listen=parse_listen(f"127.0.0.1:{self.listen_port}", "bench"),
            config_dir=self.folder,
            data_dir=self.folder,
        )
        options = RuntimeOptions(workspace=self.folder / "ws.sqlite3", seed_today=FILL_TODAY)
        return create_app(settings, options)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    deadline = time.perf_counter() + WAIT
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        await pilot.pause(0.01)


def connected(app: MomentApp) -> bool:
    connection = app.moment.state.status.connected
    return connection is not None and connection.probe is not None and connection.probe.ok


# --- scale ---------------------------------------------------------------------------------


def filled_workspace(bills: int) -> Path:
    import catalogue_bench

    path = Path(tempfile.gettempdir()) / f"moment-console-bench-{bills}.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        workspace = Workspace(path)
        catalogue_bench.fill(workspace, bills, random.Random(1))
        workspace.close()
        print(f"  filled {bills:,} bills in {time.perf_counter() - started:.0f} s ({path})")
    return path


async def scale(bills: int) -> None:
    print(f"scale: {bills:,} bills in the catalogue")
    frames = Frames()
    frames.install()
    with tempfile.TemporaryDirectory() as folder:
        app = sandbox_console(Path(folder), filled_workspace(bills))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: connected(app), "the sandbox synced")
            # The console makes each view's screen ahead of time, once connected: a
            # person pressing 4 a second after the start finds it made.
            await until(pilot, lambda: "requests" in app._screen_stacks, "the views made")
            await pilot.pause(1.0)
            queries = app.moment.queries
            first = (await queries.bill_ids(queries.filter(), None))[0]
            reference = (await queries.bill_rows([first]))[first].external_reference
            since = time.perf_counter()
            await pilot.press("4")
            spread(
                "open the bills view (first row drawn)",
                [await frames.shown(since, reference)],
                "target ≤ 300 ms",
            )
            await pilot.press("slash")
            keystrokes: list[float] = []
            typed = ""
            for character in FILTER:
                typed += character
                if character == " ":  # the filter is stripped: a space changes nothing
                    await pilot.press("space")
                    continue
                f = queries.filter(text=typed)
                count = len(await queries.bill_ids(f, None))
                since = time.perf_counter()
                await pilot.press("space" if character == " " else character)
                keystrokes.append(await frames.shown(since, f"{count:,} bills"))
            spread(f"filter keystroke ({FILTER!r}, count drawn)", keystrokes, "target ≤ 50 ms")
            await pilot.press("escape")  # the whole list again
            await until(
                pilot,
                lambda: isinstance(app.screen, ListScreen) and (app.screen.count or 0) > bills,
                "the whole list",
            )
            table = app.screen.query_one(LazyTable)
            ids = await queries.bill_ids(queries.filter(), None)
            pages: list[float] = []
            for _ in range(20):
                since = time.perf_counter()
                await pilot.press("pagedown")
                await until(pilot, lambda: table.cursor_key is not None, "a row under the cursor")
                wanted = (await queries.bill_rows([ids[table.cursor_row]]))[
                    ids[table.cursor_row]
                ].external_reference
                pages.append(await frames.shown(since, wanted))
            spread("PageDown (the cursor's row drawn)", pages, "smooth: ≤ 50 ms")
            print(f"  RSS {rss_mib():.0f} MiB")


# --- live and burst ----------------------------------------------------------------------------


async def pay(client: httpx.AsyncClient, bill: str) -> None:
    response = await client.post(
        "/sandbox/payments",
        json={"bill": bill, "amount": 100},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    if response.status_code >= 400:
        raise httpx.HTTPStatusError(
            f"{response.status_code} {response.text[:300]}",
            request=response.request,
            response=response,
        )


async def drive(base_url: str, bills: list[str], rate: float, seconds: float) -> int:
    """Pay from another process (its own event loop and interpreter lock), as Moment
    would, so the console's loop does only the console's work. Returns how many."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "drive",
        "--url",
        base_url,
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--bills-to-pay",
        ",".join(bills),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    return int(out.decode().strip() or 0)


async def driver(base_url: str, bills: list[str], rate: float, seconds: float) -> int:
    """The child: payments at ``rate`` per second (0: as fast as it can, 16 at once)."""
    sent = 0
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {TEST_KEY}"}
    ) as client:
        started = time.perf_counter()
        if rate <= 0:

            async def flood() -> None:
                nonlocal sent
                while time.perf_counter() - started < seconds:
                    with contextlib.suppress(httpx.HTTPError):  # a paid bill refuses more
                        await pay(client, bills[sent % len(bills)])
                    sent += 1

            await asyncio.gather(*(flood() for _ in range(16)))
            return sent
        tasks = []
        while time.perf_counter() - started < seconds:
            due = started + sent / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(pay(client, bills[sent % len(bills)])))
            sent += 1
        await asyncio.gather(*tasks, return_exceptions=True)
    return sent


async def bills_view(pilot: Pilot[Any], app: MomentApp) -> LazyTable:
    """Once synced and settled, ``4``: the Bills view's table, rows on screen."""
    await until(pilot, lambda: connected(app), "the sandbox synced")
    # The steady state: the other views are made ahead, one per idle moment, in the
    # first seconds after connecting; measured meanwhile, their building is counted.
    await until(pilot, lambda: "requests" in app._screen_stacks, "the views made")
    await pilot.press("4")
    await until(
        pilot,
        lambda: isinstance(app.screen, ListScreen) and app.screen.count is not None,
        "bills",
    )
    table = app.screen.query_one(LazyTable)
    await until(pilot, lambda: len(table.visible_keys()) > 5, "rows on screen")
    return table


def received_epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def live(rate: float, seconds: float, *, pane: bool = True) -> None:
    print(f"live: R 1.00 payments at {rate:g}/s for {seconds:g} s, bills view open")
    frames = Frames()
    frames.install()
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as folder, OwnSandbox(Path(folder)) as own:
        app = own.console()
        async with app.run_test(size=SIZE) as pilot:
            table = await bills_view(pilot, app)
            if not pane:
                await pilot.press("e")
            unpaid = [
                key
                for key in table.visible_keys()
                if (row := table.get_row(table.visible_keys().index(key))) is not None
                and str(row.cells.get("status")) == "unpaid"
            ]
            # When each bill's row was last redrawn with fresh data (perf_counter).
            original = LazyTable._refresh_rows
            redrawn: dict[str, list[float]] = {}

            async def refresh(self: LazyTable, *args: Any, **kwargs: Any) -> None:
                await original(self, *args, **kwargs)
                now = time.perf_counter()
                for key in args[2] if len(args) > 2 else ():
                    redrawn.setdefault(key, []).append(now)

            LazyTable._refresh_rows = refresh  # type: ignore[method-assign]
            state = app.moment.state
            offset = time.time() - time.perf_counter()  # wall clock ↔ perf_counter
            pending: list[tuple[str, float]] = []  # (bill, received at, perf_counter)

            def heard(change: Any) -> None:
                for delivery in change.deliveries:
                    if delivery.bill_id:
                        pending.append(
                            (delivery.bill_id, received_epoch(delivery.received_at) - offset)
                        )

            state.subscribe(heard)
            base_url = app.moment.runtime.client.base_url  # type: ignore[union-attr]
            sent = await drive(base_url, unpaid, rate, seconds)
            await pilot.pause(2.0)
            LazyTable._refresh_rows = original  # type: ignore[method-assign]
            for bill, received in pending:
                times = [t for t in redrawn.get(bill, []) if t >= received]
                if not times:
                    continue
                painted = frames.first_paint_after(times[0])
                if painted is not None:
                    latencies.append((painted - received) * 1000)
            print(f"  sent {sent}, heard {len(pending)}, matched {len(latencies)}")
            spread("delivery received → bill row drawn", latencies, "target p99 ≤ 50 ms")
            print(f"  RSS {rss_mib():.0f} MiB")


async def burst(seconds: float) -> None:
    print(f"burst: payments as fast as the sandbox takes them for {seconds:g} s, j/k pressed")
    frames = Frames()
    frames.install()
    with tempfile.TemporaryDirectory() as folder, OwnSandbox(Path(folder)) as own:
        app = own.console()
        async with app.run_test(size=SIZE) as pilot:
            table = await bills_view(pilot, app)
            bills = table.visible_keys()
            base_url = app.moment.runtime.client.base_url  # type: ignore[union-attr]
            flood = asyncio.create_task(drive(base_url, bills, 0, seconds))
            keys: list[float] = []
            started = time.perf_counter()
            press = "j"
            while time.perf_counter() - started < seconds:
                await asyncio.sleep(0.1)
                before = table.cursor_row
                since = time.perf_counter()
                # As the terminal driver posts a key: Pilot.press would also wait for
                # the app to be idle, which under a burst it never quite is.
                app.post_message(events.Key(press, press))
                while table.cursor_row == before and time.perf_counter() - since < WAIT:
                    await asyncio.sleep(0.0005)
                moved = time.perf_counter()
                while (painted := frames.first_paint_after(moved)) is None:
                    await asyncio.sleep(0.0005)
                keys.append((painted - since) * 1000)
                press = "k" if press == "j" else "j"
            sent = await flood
            await pilot.pause(1.0)
            tally = app.moment.state.tally
            print(f"  payments sent {sent}; deliveries verified {tally.verified}")
            spread("keystroke → cursor drawn, under the burst", keys, "target ≤ 100 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "phase", nargs="?", default="all", choices=["scale", "live", "burst", "all", "drive"]
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--no-pane", action="store_true", help="hide the event pane (e)")
    parser.add_argument("--bills-to-pay", dest="pay", help=argparse.SUPPRESS)
    parser.add_argument("--bills", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.phase == "drive":
        print(asyncio.run(driver(args.url, args.pay.split(","), args.rate, args.seconds)))
        return
    if args.phase in ("scale", "all"):
        asyncio.run(scale(args.bills))
    if args.phase in ("live", "all"):
        asyncio.run(live(args.rate, args.seconds, pane=not args.no_pane))
    if args.phase in ("burst", "all"):
        asyncio.run(burst(args.seconds))


if __name__ == "__main__":
    main()
