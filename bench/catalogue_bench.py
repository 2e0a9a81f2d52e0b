"""Catalogue queries at 100,000 bills: what the console asks of its workspace.

    .venv/bin/python bench/catalogue_bench.py [--bills 100000] [--probes 2000]

Fills a workspace with customers, accounts and bills (through ``remember``, as
listing or importing would), then times each query the UI makes, one at a time on a
reader connection, and prints p50/p99/max in milliseconds and the process RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moment_tui.api.models import Account, Bill, BillStatus, Customer  # noqa: E402
from moment_tui.store import catalogue  # noqa: E402
from moment_tui.store.catalogue import BillQuery  # noqa: E402
from moment_tui.store.workspace import Workspace  # noqa: E402

FIRST = ["Thabo", "Naledi", "Sipho", "Zanele", "Pieter", "Anele", "Lerato", "Johan", "Ayesha"]
LAST = ["Mokoena", "Dlamini", "Nkosi", "Khumalo", "Botha", "Ndlovu", "Molefe", "Patel"]
STATUSES = [BillStatus.UNPAID, BillStatus.PAID, BillStatus.VOIDED]


def fill(workspace: Workspace, bills: int, rng: random.Random) -> tuple[list[str], list[str]]:
    customers = [
        Customer(
            id=f"bcus_{i:021d}",
            external_reference=f"UCR{i:08d}",
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
            email=f"person{i}@example.com",
        )
        for i in range(max(bills // 50, 1))
    ]
    accounts = [
        Account(id=f"bacc_{i:021d}", external_reference=f"UAR{i:08d}", customer_id=c.id)
        for i, c in enumerate(customers)
    ]
    workspace.remember_sync(customers, "listed")
    workspace.remember_sync(accounts, "listed")
    today = dt.date(2026, 11, 25)
    batch: list[Bill] = []
    for i in range(bills):
        owner = i % len(customers)
        status = STATUSES[0] if rng.random() < 0.5 else rng.choice(STATUSES[1:])
        due = today + dt.timedelta(days=rng.randint(-90, 60))
        paid = 10_000 if status is BillStatus.PAID else 0
        batch.append(
            Bill(
                id=f"bill_{i:021d}",
                external_reference=f"INV-{i:08d}",
                customer_id=customers[owner].id,
                account_id=accounts[owner].id if i % 2 else None,
                status=status,
                currency="ZAR",
                amount_due=10_000,
                amount_paid=paid,
                amount_remaining=10_000 - paid,
                bill_date=due - dt.timedelta(days=30),
                due_date=due,
            )
        )
        if len(batch) == 5_000:
            workspace.remember_sync(batch, "imported")
            batch = []
    if batch:
        workspace.remember_sync(batch, "imported")
    return [c.id for c in customers], [a.id for a in accounts]


def timed(label: str, probes: int, query: Callable[[int], Any]) -> None:
    samples = []
    for n in range(probes):
        started = time.perf_counter()
        query(n)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(
        f"  {label:<38} p50 {statistics.median(samples):6.2f} ms   p99 {p99:6.2f} ms"
        f"   max {samples[-1]:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace(Path(folder) / "workspace.sqlite3")
        started = time.perf_counter()
        customers, accounts = fill(workspace, args.bills, rng)
        print(
            f"filled {args.bills:,} bills, {len(customers):,} customers and accounts "
            f"in {time.perf_counter() - started:.1f} s (trigram search: "
            f"{workspace.search_available})"
        )
        query = workspace.query
        n_bills = args.bills
        today = dt.date(2026, 11, 25)
        probes = args.probes

        def page_after(status: BillStatus) -> Callable[[int], Any]:
            def run(n: int) -> Any:
                first = query(lambda c: catalogue.bills(c, BillQuery(status=status, limit=50)))
                last = first[-1].obj
                after = (last.due_date.isoformat() if last.due_date else "9999-12-31", last.id)
                return query(
                    lambda c: catalogue.bills(c, BillQuery(status=status, limit=50, after=after))
                )

            return run

        timed(
            "bill by id",
            probes,
            lambda n: query(
                lambda c: catalogue.get(c, "bill", f"bill_{(n * 7919) % n_bills:021d}")
            ),
        )
        timed(
            "bill by external reference",
            probes,
            lambda n: query(lambda c: catalogue.get(c, "bill", f"INV-{(n * 7919) % n_bills:08d}")),
        )
        timed(
            "unpaid bills, first page of 50",
            probes,
            lambda n: query(
                lambda c: catalogue.bills(c, BillQuery(status=BillStatus.UNPAID, limit=50))
            ),
        )
        timed("unpaid bills, two pages (keyset)", probes // 4, page_after(BillStatus.UNPAID))
        timed(
            "overdue bills, first page of 50",
            probes,
            lambda n: query(lambda c: catalogue.bills(c, BillQuery(overdue_on=today, limit=50))),
        )
        timed(
            "bills of one customer",
            probes,
            lambda n: query(
                lambda c: catalogue.bills(
                    c, BillQuery(customer_id=customers[n % len(customers)], limit=100)
                )
            ),
        )
        timed(
            "bills of one account",
            probes,
            lambda n: query(
                lambda c: catalogue.bills(
                    c, BillQuery(account_id=accounts[n % len(accounts)], limit=100)
                )
            ),
        )
        timed(
            "search 'Mokoena 12' (trigram)",
            probes,
            lambda n: query(lambda c: catalogue.search(c, f"Mokoena {n % 2000}", limit=20)),
        )
        timed(
            "search 'INV-0004' (reference part)",
            probes,
            lambda n: query(lambda c: catalogue.search(c, f"INV-000{n % 10}4", limit=20)),
        )
        timed(
            "search 'Th' (short: name/reference prefix)",
            probes,
            lambda n: query(lambda c: catalogue.search(c, "Th", limit=20)),
        )
        timed(
            "search 'Qz' (short, matches nothing)",
            probes // 4,
            lambda n: query(lambda c: catalogue.search(c, "Qz", limit=20)),
        )
        timed("counts for the header", probes // 10, lambda n: query(catalogue.counts))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS {rss:.0f} MB")
        workspace.close()


if __name__ == "__main__":
    main()
