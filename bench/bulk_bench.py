"""How long a bulk-upload CSV takes to parse and validate, and to import.

    .venv/bin/python bench/bulk_bench.py [--rows 100000] [--import-rows 1000]

Generates a realistic file (valid SA ID numbers, local phone numbers, decimal
amounts, a metadata column), parses it with ``load_bulk``, then imports the first
``--import-rows`` rows into a local sandbox on its own thread and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moment_tui.api.client import MomentClient  # noqa: E402
from moment_tui.sandbox.server import SandboxConfig, SandboxThread  # noqa: E402
from moment_tui.store.bulk import load_bulk, luhn_valid  # noqa: E402
from moment_tui.store.bulk_import import import_bulk_file  # noqa: E402
from moment_tui.store.workspace import Workspace  # noqa: E402

HEADER = (
    "first_name,last_name,sa_identification_number,mobile_phone_number,email,"
    "due_date,amount_due,branch"
)


def sa_id(stem: str) -> str:
    """A 13-digit SA ID number with a valid Luhn check digit."""
    return next(stem + str(d) for d in range(10) if luhn_valid(stem + str(d)))


def write_file(folder: Path, rows: int) -> Path:
    path = folder / "za_bench_moment_all-customers_2026-11-01.csv"
    people = [sa_id(f"800101{n:04d}08") for n in range(1000)]
    lines = [HEADER]
    lines += [
        f"Name{n},Surname,{people[n % 1000]},082 123 {n % 10000:04d},p{n}@example.co.za,"
        f"2026-12-{1 + n % 28:02d},{n % 9000 + 1}.50,Sandton"
        for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--import-rows", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        big = write_file(tmp, args.rows)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            bulk = load_bulk(big)
            timings.append(time.perf_counter() - started)
        print(
            f"parse {args.rows:,} rows ({big.stat().st_size / 1e6:.1f} MB): "
            f"median {statistics.median(timings):.2f} s over 3 runs, "
            f"{len(bulk.rows):,} good rows, {len(bulk.errors)} errors"
        )
        small_dir = tmp / "small"
        small_dir.mkdir()
        small = write_file(small_dir, args.import_rows)
        sandbox = SandboxThread(SandboxConfig(db_path=str(tmp / "sandbox.sqlite3")))
        url = sandbox.start()
        workspace = Workspace(tmp / "workspace.sqlite3")
        try:
            for label in ("import", "re-import"):
                started = time.perf_counter()
                report = asyncio.run(_import(small, url, workspace))
                print(
                    f"{label} {args.import_rows:,} rows into the sandbox: "
                    f"{time.perf_counter() - started:.1f} s — {report}"
                )
        finally:
            workspace.close()
            sandbox.stop()


async def _import(path: Path, url: str, workspace: Workspace) -> str:
    async with MomentClient("sk_test_bench_bulk", base_url=url) as client:
        report = await import_bulk_file(path, client, workspace)
    return report.summary()


if __name__ == "__main__":
    main()
