"""Benchmark the embedded sandbox (not part of the test suite).

Two parts, both against a real sandbox HTTP server on loopback backed by a SQLite
file in a temporary directory (as the console runs it):

* ``load`` — a bounded concurrent load generator (asyncio + aiohttp, ``--workers``
  closed-loop workers, default 32) drives a mix of creates (customers; bills with a
  nested new account and customer), payments (bills, accounts) and GETs (by id, by
  external reference, a listing page) for ``--duration`` seconds, then prints
  requests/s, p50/p99/max latency and the server's RSS. With ``--rate N`` it runs
  open-loop instead: N requests/s on a fixed schedule, latency measured from each
  request's scheduled start (so queueing counts).
* ``scale`` — 100,000 bills (plus 1,000 customers and 2,000 accounts) are inserted
  *directly* through the sandbox's own ``Objects.create_*`` in bulk transactions (not
  over HTTP), then a fresh server on that file is asked, one request at a time, for
  bills by id and by external reference and for listing pages (first pages, deep
  cursors, with and without ``status``/``customer``/``account`` filters), and p50/p99
  are printed per kind of request.

By default the server runs in a separate process (``--server process``), so the load
generator and the server each get a core of the 2; ``--server thread`` runs it on a
thread of the benchmark process instead (they then share one GIL).

Targets (issue 3): ≥ 1,000 mixed requests/s on 2 cores with p99 < 50 ms; listing
and lookup p99 < 10 ms with 100,000 bills.

    .venv/bin/python bench/sandbox_bench.py              # both parts
    .venv/bin/python bench/sandbox_bench.py load --rate 1000
    .venv/bin/python bench/sandbox_bench.py scale --bills 100000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import aiohttp

from moment_tui.api.models import (
    AccountCreate,
    BillCreate,
    CustomerCreate,
)
from moment_tui.sandbox.db import Database
from moment_tui.sandbox.objects import Objects
from moment_tui.sandbox.server import SandboxConfig, SandboxThread, serve_forever

API_KEY = "sk_test_benchmark000000000001"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


# --- the server -----------------------------------------------------------------------


def serve(db: str, profile: str | None) -> None:
    """``sandbox_bench.py serve``: run one sandbox until SIGTERM (optionally profiled)."""
    config = SandboxConfig(port=0, db_path=db)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve_forever(
                config,
                lambda line: print(line, flush=True),
                lambda line: print(line, file=sys.stderr, flush=True),
            )

    if not profile:
        asyncio.run(main())
        return
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(main())
    profiler.disable()
    profiler.dump_stats(profile)


@dataclass
class Server:
    url: str
    pid: int
    stop: Callable[[], None]

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


class CpuShare:
    """How busy the machine was with *other* processes over an interval (Linux).

    The benchmark shares its 2 cores with whatever else runs; a busy neighbour skews
    every figure, so each part reports this next to its numbers.
    """

    def __init__(self, pids: tuple[int, ...]) -> None:
        self.pids = pids
        self._start = self._sample()

    @staticmethod
    def _busy_and_total() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def _ours(self) -> int:
        ticks = 0
        for pid in set(self.pids):
            with contextlib.suppress(OSError):
                parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(parts[11]) + int(parts[12])  # utime + stime
        return ticks

    def _sample(self) -> tuple[int, int, int]:
        busy, total = self._busy_and_total()
        return busy, total, self._ours()

    def others_percent(self) -> float:
        """Share of the machine's CPU time used by other processes since creation."""
        busy, total, ours = self._sample()
        start_busy, start_total, start_ours = self._start
        elapsed = max(total - start_total, 1)
        return max(0.0, (busy - start_busy) - (ours - start_ours)) / elapsed * 100


@contextmanager
def server(db: str, mode: str, profile: str | None = None) -> Iterator[Server]:
    if mode == "thread":
        thread = SandboxThread(SandboxConfig(port=0, db_path=db))
        url = thread.start()
        try:
            yield Server(url, os.getpid(), thread.stop)
        finally:
            thread.stop()
        return
    command = [sys.executable, __file__, "serve", "--db", db]
    if profile:
        command += ["--profile", profile]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith("Sandbox API: "):
            raise RuntimeError(f"the sandbox did not start: {first!r}")
        yield Server(first.removeprefix("Sandbox API: "), process.pid, process.terminate)
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- measuring ------------------------------------------------------------------------


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[index]


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"{name:<44} n={len(ordered):>6}  p50={percentile(ordered, 50):7.2f} ms  "
        f"p99={percentile(ordered, 99):7.2f} ms  max={ordered[-1] if ordered else 0:7.2f} ms"
    )


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recording: bool = True

    def add(self, op: str, ms: float, ok: bool) -> None:
        if not self.recording:
            return
        self.latencies[op].append(ms)
        if not ok:
            self.errors[op] += 1

    @property
    def all(self) -> list[float]:
        return [ms for values in self.latencies.values() for ms in values]


# --- the mixed load -------------------------------------------------------------------


@dataclass
class Pools:
    bills: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    customer_refs: list[str] = field(default_factory=list)


class Load:
    """The request mix; each op returns (status expected?)."""

    WEIGHTS: ClassVar[dict[str, int]] = {
        "POST customer": 15,
        "POST bill (nested account+customer)": 20,
        "POST payment (bill)": 20,
        "POST payment (account)": 5,
        "GET bill by id": 20,
        "GET customer by reference": 10,
        "GET bills page (status filter)": 10,
    }

    def __init__(self, session: aiohttp.ClientSession, url: str, rng: random.Random) -> None:
        self.session = session
        self.url = url
        self.rng = rng
        self.pools = Pools()
        self.run = uuid.uuid4().hex[:8]
        self.counter = 0
        self.ops: dict[str, Callable[[], Awaitable[bool]]] = {
            "POST customer": self.create_customer,
            "POST bill (nested account+customer)": self.create_bill,
            "POST payment (bill)": self.pay_bill,
            "POST payment (account)": self.pay_account,
            "GET bill by id": self.get_bill,
            "GET customer by reference": self.get_customer,
            "GET bills page (status filter)": self.list_bills,
        }
        self.names = list(self.WEIGHTS)
        self.weights = [self.WEIGHTS[n] for n in self.names]

    def pick(self) -> str:
        return self.rng.choices(self.names, self.weights)[0]

    def _ref(self, kind: str) -> str:
        self.counter += 1
        return f"bench-{self.run}-{kind}-{self.counter}"

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        async with self.session.post(self.url + path, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def _get(self, path: str, params: dict[str, str] | None = None) -> int:
        async with self.session.get(self.url + path, params=params) as response:
            await response.read()
            return response.status

    async def create_customer(self) -> bool:
        reference = self._ref("cus")
        status, _ = await self._post(
            "/billing/customers",
            {
                "external_reference": reference,
                "name": "Bench Customer",
                "phone": "+27821234567",
                "currency": "ZAR",
                "balance": 250_000,
                "metadata": {"source": "bench"},
            },
        )
        if status == 201:
            self.pools.customer_refs.append(reference)
        return status == 201

    async def create_bill(self) -> bool:
        status, body = await self._post(
            "/billing/bills",
            {
                "external_reference": self._ref("bill"),
                "currency": "ZAR",
                "amount_due": 90_000_000,
                "due_date": "2031-12-31",
                "account": {
                    "external_reference": self._ref("acc"),
                    "name": "Fibre",
                    "customer": {"external_reference": self._ref("cus"), "name": "Nested"},
                },
            },
        )
        if status == 201:
            self.pools.bills.append(body["id"])
            self.pools.accounts.append(body["account_id"])
        return status == 201

    async def pay_bill(self) -> bool:
        bill = self.rng.choice(self.pools.bills)
        status, _ = await self._post("/sandbox/payments", {"bill": bill, "amount": 100})
        return status == 201

    async def pay_account(self) -> bool:
        account = self.rng.choice(self.pools.accounts)
        status, _ = await self._post("/sandbox/payments", {"account": account, "amount": 100})
        return status == 201

    async def get_bill(self) -> bool:
        return await self._get(f"/billing/bills/{self.rng.choice(self.pools.bills)}") == 200

    async def get_customer(self) -> bool:
        pool = self.pools.customer_refs
        return await self._get(f"/billing/customers/{self.rng.choice(pool)}") == 200

    async def list_bills(self) -> bool:
        return await self._get("/billing/bills", {"status": "unpaid", "limit": "20"}) == 200


async def timed(load: Load, recorder: Recorder, op: str, scheduled: float | None = None) -> None:
    started = time.perf_counter() if scheduled is None else scheduled
    try:
        ok = await load.ops[op]()
    except aiohttp.ClientError:
        ok = False
    recorder.add(op, (time.perf_counter() - started) * 1000, ok)


async def closed_loop(load: Load, recorder: Recorder, workers: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await timed(load, recorder, load.pick())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


async def open_loop(
    load: Load, recorder: Recorder, rate: float, seconds: float, max_in_flight: int
) -> float:
    """``rate`` requests/s on a fixed schedule; latency counts from the scheduled time."""
    total = int(rate * seconds)
    gate = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()

    async def one(op: str, scheduled: float) -> None:
        async with gate:
            await timed(load, recorder, op, scheduled)

    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(load.pick(), scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return time.perf_counter() - start


async def run_load(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        db = str(Path(tmp) / "sandbox.db")
        with server(db, args.server, args.profile) as srv:
            connector = aiohttp.TCPConnector(limit=max(args.workers, 64))
            async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:
                load = Load(session, srv.url, random.Random(1))
                recorder = Recorder(recording=False)
                # Warm-up: targets to pay and fetch, and a second of the mix.
                for _ in range(200):
                    await load.create_bill()
                    await load.create_customer()
                await closed_loop(load, recorder, args.workers, 1.0)
                recorder = Recorder()
                share = CpuShare((srv.pid, os.getpid()))
                if args.rate:
                    mode = f"open loop at {args.rate:g} req/s (max {args.workers * 8} in flight)"
                    elapsed = await open_loop(
                        load, recorder, args.rate, args.duration, args.workers * 8
                    )
                else:
                    mode = f"closed loop, {args.workers} workers"
                    elapsed = await closed_loop(load, recorder, args.workers, args.duration)
                rss = srv.rss_mib()
                others = share.others_percent()
            samples = recorder.all
            print(f"\n== mixed load: {mode}, server in a {args.server}, {elapsed:.1f} s ==")
            print(
                f"requests {len(samples)}  throughput {len(samples) / elapsed:,.0f} req/s  "
                f"errors {sum(recorder.errors.values())}  server RSS {rss:.1f} MiB  "
                f"other processes used {others:.0f}% of the CPUs"
            )
            print(summary("all requests", samples))
            for op in Load.WEIGHTS:
                if recorder.latencies.get(op):
                    line = summary(op, recorder.latencies[op])
                    errors = recorder.errors.get(op, 0)
                    print(line + (f"  errors={errors}" if errors else ""))


# --- 100,000 bills --------------------------------------------------------------------


@dataclass
class Population:
    bills: list[tuple[str, str]]  # (id, external reference)
    customers: list[str]
    accounts: list[str]
    seconds: float
    mib: float


def populate(db_path: str, bills: int, customers: int = 1000, accounts: int = 2000) -> Population:
    """Insert through the sandbox's own Objects, in transactions of 5,000 rows."""
    started = time.perf_counter()
    db = Database(db_path)
    objects = Objects(db, today=lambda: dt.date(2026, 11, 1))
    rng = random.Random(42)
    customer_ids: list[str] = []
    account_ids: list[str] = []
    bill_rows: list[tuple[str, str]] = []
    with db.transaction():
        for n in range(customers):
            row = objects.create_customer(
                CustomerCreate(external_reference=f"SCUS{n:06d}", name=f"Customer {n}")
            )
            customer_ids.append(row["id"])
        for n in range(accounts):
            owner = customer_ids[n % customers]
            row = objects.create_account(
                AccountCreate(customer=owner, external_reference=f"SACC{n:06d}"), owner
            )
            account_ids.append(row["id"])
    batch = 5000
    for start in range(0, bills, batch):
        with db.transaction():
            for n in range(start, min(start + batch, bills)):
                on_account = n % 5 < 3  # 60 % of bills on an account, 40 % on a customer
                bill_date = dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)
                row = objects.create_bill(
                    BillCreate(
                        external_reference=f"SBILL{n:07d}",
                        currency="ZAR",
                        amount_due=1000 + n % 50_000,
                        bill_date=bill_date,
                        due_date=bill_date + dt.timedelta(days=30),
                        metadata={"batch": str(start // batch)},
                        account=account_ids[rng.randrange(accounts)] if on_account else None,
                        customer=None if on_account else customer_ids[rng.randrange(customers)],
                    )
                )
                bill_rows.append((row["id"], row["external_reference"]))
    with db.transaction() as conn:
        conn.execute(
            "UPDATE bills SET amount_paid = amount_due, status = 'paid' WHERE seq % 10 < 3"
        )
        conn.execute("UPDATE bills SET status = 'voided' WHERE seq % 10 = 3")
        conn.execute("UPDATE bills SET amount_paid = amount_due / 2 WHERE seq % 10 = 4")
    db.close()
    seconds = time.perf_counter() - started
    return Population(
        bill_rows, customer_ids, account_ids, seconds, os.path.getsize(db_path) / 2**20
    )


async def sequential(
    session: aiohttp.ClientSession, url: str, paths: list[tuple[str, dict[str, str]]]
) -> tuple[list[float], list[dict[str, str]]]:
    """One request at a time; returns latencies and each answer's cursor headers."""
    latencies: list[float] = []
    cursors: list[dict[str, str]] = []
    for path, params in paths:
        started = time.perf_counter()
        async with session.get(url + path, params=params) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} {params}: {response.status}")
            cursors.append(
                {k: v for k, v in response.headers.items() if k.lower().endswith("-cursor")}
            )
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, cursors


async def walk(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], direction: str = "Next"
) -> tuple[list[float], list[str]]:
    """Follow ``Next-Cursor`` to the end; latencies per page and every cursor seen."""
    latencies: list[float] = []
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        timings, headers = await sequential(session, url, [("/billing/bills", query)])
        latencies += timings
        cursor = headers[0].get(f"{direction}-Cursor")
        if not cursor:
            return latencies, seen
        seen.append(cursor)


async def run_scale(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="sandbox-scale-") as tmp:
        db = str(Path(tmp) / "scale.db")
        population = populate(db, args.bills)
        print(
            f"\n== scale: {len(population.bills):,} bills, {len(population.customers):,} "
            f"customers, {len(population.accounts):,} accounts inserted via Objects in "
            f"{population.seconds:.1f} s ({population.mib:.0f} MiB file); "
            f"server in a {args.server} =="
        )
        n = args.samples
        with server(db, args.server, args.profile) as srv:
            async with aiohttp.ClientSession(headers=HEADERS) as session:
                url = srv.url
                await sequential(session, url, [("/billing/bills", {})] * 50)  # warm-up
                share = CpuShare((srv.pid, os.getpid()))
                results: list[tuple[str, list[float]]] = []

                async def measure(name: str, paths: list[tuple[str, dict[str, str]]]) -> None:
                    latencies, _ = await sequential(session, url, paths)
                    results.append((name, latencies))
                    print(summary(name, latencies), flush=True)

                bills = population.bills
                await measure(
                    "GET /billing/bills/{id}",
                    [(f"/billing/bills/{rng.choice(bills)[0]}", {}) for _ in range(n)],
                )
                await measure(
                    "GET /billing/bills/{external_reference}",
                    [(f"/billing/bills/{rng.choice(bills)[1]}", {}) for _ in range(n)],
                )
                await measure(
                    "GET /billing/customers/{external_reference}",
                    [(f"/billing/customers/SCUS{rng.randrange(1000):06d}", {}) for _ in range(n)],
                )
                page = {"limit": "100"}
                await measure("list bills, first page (limit 100)", [("/billing/bills", page)] * n)
                walk_ms, deep = await walk(session, url, page)
                results.append(("list bills, walk all pages", walk_ms))
                print(summary("list bills, walk all pages (limit 100)", walk_ms), flush=True)
                await measure(
                    "list bills, random deep cursor (limit 100)",
                    [("/billing/bills", {**page, "cursor": rng.choice(deep)}) for _ in range(n)],
                )
                await measure(
                    "list bills, status=unpaid first page",
                    [("/billing/bills", {**page, "status": "unpaid"})] * n,
                )
                walk_ms, unpaid_deep = await walk(session, url, {**page, "status": "unpaid"})
                print(summary("list bills, status=unpaid walk all pages", walk_ms), flush=True)
                await measure(
                    "list bills, status=voided deep cursor",
                    [
                        ("/billing/bills", {**page, "status": "voided", "cursor": c})
                        for c in [rng.choice(unpaid_deep) for _ in range(n)]
                    ],
                )
                await measure(
                    "list bills, customer=<id>",
                    [
                        ("/billing/bills", {**page, "customer": rng.choice(population.customers)})
                        for _ in range(n)
                    ],
                )
                await measure(
                    "list bills, customer=<ref>&status=unpaid",
                    [
                        (
                            "/billing/bills",
                            {
                                **page,
                                "customer": f"SCUS{rng.randrange(1000):06d}",
                                "status": "unpaid",
                            },
                        )
                        for _ in range(n)
                    ],
                )
                await measure(
                    "list bills, account=<id>",
                    [
                        ("/billing/bills", {**page, "account": rng.choice(population.accounts)})
                        for _ in range(n)
                    ],
                )
                # Prefixes matching nothing, ~100, 10,000 and all 100,000 bills.
                prefixes: dict[str, Callable[[], str]] = {
                    "none": lambda: f"SBILL9{rng.randrange(10)}",
                    "~100": lambda: f"SBILL000{rng.randrange(10)}{rng.randrange(10)}",
                    "10k": lambda: f"SBILL00{rng.randrange(10)}",
                    "all": lambda: "SBILL",
                }
                for label, make_prefix in prefixes.items():
                    await measure(
                        f"list bills, external_reference_prefix ({label})",
                        [
                            ("/billing/bills", {**page, "external_reference_prefix": make_prefix()})
                            for _ in range(n // 2)
                        ],
                    )
                back_ms, _ = await walk(
                    session, url, {**page, "cursor": deep[-1]}, direction="Prev"
                )
                print(summary("list bills, walk back via Prev-Cursor", back_ms), flush=True)
                await measure(
                    "list customers, first page (limit 100)",
                    [("/billing/customers", page)] * (n // 4),
                )
                rss = srv.rss_mib()
                others = share.others_percent()
        worst = max(percentile(sorted(ms), 99) for _, ms in results)
        print(
            f"worst p99 above: {worst:.2f} ms (target < 10 ms); server RSS {rss:.1f} MiB; "
            f"other processes used {others:.0f}% of the CPUs"
        )


# --- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", nargs="?", default="all", choices=["all", "load", "scale", "serve"])
    parser.add_argument("--server", choices=["process", "thread"], default="process")
    parser.add_argument("--duration", type=float, default=10.0, help="load seconds (10)")
    parser.add_argument("--workers", type=int, default=32, help="concurrent workers (32)")
    parser.add_argument("--rate", type=float, default=0.0, help="open-loop requests/s")
    parser.add_argument("--bills", type=int, default=100_000, help="bills for the scale part")
    parser.add_argument("--samples", type=int, default=2000, help="requests per scale probe")
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help="write the server's cProfile stats to this file")
    args = parser.parse_args(argv)
    if args.part == "serve":
        serve(args.db, args.profile)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.part in ("all", "load"):
        asyncio.run(run_load(args))
    if args.part in ("all", "scale"):
        asyncio.run(run_scale(args))


if __name__ == "__main__":
    main()
