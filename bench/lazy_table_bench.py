"""LazyTable against a plain DataTable at 100,000 rows: time to open, per keystroke, RSS.

    .venv/bin/python bench/lazy_table_bench.py [--rows 100000] [--no-baseline]

Each table runs headless (``run_test(size=(120, 40))``) in a child process of its own,
so each RSS is that table's alone. The LazyTable's source keeps its rows in memory and
answers each call in a thread after ~2 ms, as a SQLite read would. A time ends when the
screen's update that shows the expected row is made: the app's own frames, encoded for
the terminal as a real one would be, are watched for the row's key (no forced redraws).
Targets: open ≤ 300 ms, each keystroke (and each filter) ≤ 50 ms, scrolling smooth.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.app import App, ComposeResult  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widget import Widget  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from moment_tui.ui.widgets.lazy_table import Column, LazyTable, Row, Sort  # noqa: E402

SIZE = (120, 40)
FETCH_SECONDS = 0.002
COLUMNS = [
    Column("id", "Bill", 22),
    Column("customer", "Customer", 16, flex=True),
    Column("status", "Status", 7, priority=2),
    Column("due", "Due", 10, priority=1),
    Column("amount", "Amount", 12, align="right"),
]
STATUSES = ("unpaid", "paid", "voided")


def key(i: int) -> str:
    return f"bill_{i:017d}"


def make_rows(n: int) -> list[Row]:
    return [
        Row(
            key(i),
            {
                "id": key(i),
                "customer": f"Customer {(i * 7919) % n}",
                "status": STATUSES[i % 3],
                "due": f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                "amount": f"R {i % 99_991:,}.00",
            },
            style="dim" if i % 3 == 2 else "",
        )
        for i in range(n)
    ]


class MemorySource:
    """``rows[start:]`` (a filter's answer, without Python filtering 100,000 rows on
    every keystroke); every call takes FETCH_SECONDS in a thread."""

    def __init__(self, rows: list[Row], start: int = 0) -> None:
        self._rows = rows
        self._start = start

    @staticmethod
    def _wait() -> None:
        time.sleep(FETCH_SECONDS)

    async def count(self, sort: Sort | None) -> int:
        await asyncio.to_thread(self._wait)
        return len(self._rows) - self._start

    async def rows(self, offset: int, limit: int, sort: Sort | None) -> list[Row]:
        await asyncio.to_thread(self._wait)
        start = self._start + offset
        return self._rows[start : start + limit]

    async def rows_by_key(self, keys: Collection[str]) -> dict[str, Row]:
        await asyncio.to_thread(self._wait)
        return {k: self._rows[int(k[5:])] for k in keys}

    async def position(self, key: str, sort: Sort | None) -> int | None:
        await asyncio.to_thread(self._wait)
        index = int(key[5:]) - self._start
        return index if index >= 0 else None


class BenchApp(App[None]):
    def __init__(self, table: Widget, rows: list[Row] | None = None) -> None:
        super().__init__()
        self.table = table
        self.rows = rows  # for the DataTable, added once mounted
        self.started = 0.0
        self.frames: list[tuple[float, str]] = []

    def compose(self) -> ComposeResult:
        self.started = time.perf_counter()
        yield self.table

    def on_mount(self) -> None:
        if isinstance(self.table, DataTable) and self.rows is not None:
            for column in COLUMNS:
                self.table.add_column(column.label, key=column.key)
            self.table.add_rows(tuple(row.cells[c.key] for c in COLUMNS) for row in self.rows)

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        """Every frame the screen makes, as the terminal would get it."""
        super()._display(screen, renderable)
        if renderable is not None:
            self.frames.append((time.perf_counter(), renderable.render_segments(self.console)))


async def shown_after(app: BenchApp, since: float, text: str, seconds: float = 60.0) -> float:
    """Milliseconds from ``since`` to the first frame after it that draws ``text``."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for at, frame in app.frames:
            if at >= since and text in frame:
                return (at - since) * 1000
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"{text!r} never drawn")


async def timed_key(pilot: Pilot[None], app: BenchApp, press: str, text: str) -> float:
    app.frames.clear()
    since = time.perf_counter()
    await pilot.press(press)
    return await shown_after(app, since, text)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def lazy_phase(n: int) -> dict[str, Any]:
    rows = make_rows(n)
    gc.freeze()  # the rows stand for a SQLite file: not the collector's to walk
    before = rss_mib()
    table = LazyTable(COLUMNS, source=MemorySource(rows))
    app = BenchApp(table)
    async with app.run_test(size=SIZE) as pilot:
        opened = await shown_after(app, app.started, key(0))
        height = table.scrollable_content_region.height - 1
        pagedown = [
            await timed_key(pilot, app, "pagedown", key(min(n - 1, i * height)))
            for i in range(1, 51)
        ]
        end_home: list[float] = []
        for _ in range(20):
            end_home.append(await timed_key(pilot, app, "end", key(n - 1)))
            end_home.append(await timed_key(pilot, app, "home", key(0)))
        filtered: list[float] = []
        for i in range(1, 21):
            start = i * 3_331 % n  # each "keystroke" a new result, 96,000+ rows long
            app.frames.clear()
            since = time.perf_counter()
            table.set_source(MemorySource(rows, start))
            filtered.append(await shown_after(app, since, key(start)))
        after = rss_mib()
    return {
        "open": opened,
        "pagedown": pagedown,
        "end_home": end_home,
        "filter": filtered,
        "rss": after,
        "rss_table": after - before,
    }


async def datatable_phase(n: int) -> dict[str, Any]:
    rows = make_rows(n)
    gc.freeze()
    before = rss_mib()
    table = DataTable[str](cursor_type="row", zebra_stripes=True)
    app = BenchApp(table, rows)
    async with app.run_test(size=SIZE) as pilot:
        opened = await shown_after(app, app.started, key(0), seconds=300)
        height = table.scrollable_content_region.height - 1  # it pages as LazyTable does
        pagedown = [await timed_key(pilot, app, "pagedown", key(i * height)) for i in range(1, 11)]
        after = rss_mib()
    return {"open": opened, "pagedown": pagedown, "rss": after, "rss_table": after - before}


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.1f}  p99 {p99:7.1f}  max {ordered[-1]:7.1f} ms"


def child(phase: str, n: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--rows", str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"the {phase} run failed:\n{result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the DataTable")
    parser.add_argument("--phase", choices=["lazy", "datatable"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = lazy_phase if args.phase == "lazy" else datatable_phase
        print(json.dumps(asyncio.run(run(args.rows))))
        return
    n = args.rows
    print(f"{n:,} rows at {SIZE[0]}x{SIZE[1]}, headless; each fetch {FETCH_SECONDS * 1000:.0f} ms")
    lazy = child("lazy", n)
    print("LazyTable")
    print(f"  open (compose → first row drawn) {lazy['open']:8.1f} ms")
    print(f"  pagedown x{len(lazy['pagedown'])}        {spread(lazy['pagedown'])}")
    print(f"  end/home x{len(lazy['end_home'])}        {spread(lazy['end_home'])}")
    print(f"  filter x{len(lazy['filter'])}          {spread(lazy['filter'])}")
    print(f"  RSS {lazy['rss']:.0f} MiB ({lazy['rss_table']:+.0f} MiB for the app and table)")
    if args.no_baseline:
        return
    data = child("datatable", n)
    print("DataTable (same rows)")
    print(f"  open (compose → first row drawn) {data['open']:8.1f} ms")
    print(f"  pagedown x{len(data['pagedown'])}        {spread(data['pagedown'])}")
    print(f"  RSS {data['rss']:.0f} MiB ({data['rss_table']:+.0f} MiB for the app and table)")


if __name__ == "__main__":
    main()
