"""Listener throughput and latency with verification and durable (fsync'd) commits.

    .venv/bin/python bench/listener_bench.py [--seconds 10] [--connections 64]

Runs wrk (Debian package ``wrk``) against, one after another:

* ``bare-group``  — baseline: a bare aiohttp receiver that verifies the signature and
  group-commits each delivery to SQLite (synchronous=FULL) before answering;
* ``bare-each``   — baseline: the same, committing every delivery on its own;
* ``headless``    — ``moment-tui listen`` (verification, event log, duplicate check,
  reconciliation into the catalogue);

and ``console`` — the full console in a real terminal (tmux, 120x40) on its
sandbox while deliveries pour in (each one is applied, re-fetched and, since the
sandbox never saw these synthetic payments, finally marked as drift). Every delivery
is a distinct, correctly signed ``obligation.amount_applied`` for a bill in the
catalogue. Prints requests/s, latency percentiles from wrk, the server's peak RSS, and
the books: sent, 2xx, stored, applied.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moment_tui.api.models import Bill  # noqa: E402
from moment_tui.store.workspace import Workspace, workspace_path  # noqa: E402
from moment_tui.webhooks.outbound import amount_applied_event  # noqa: E402
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, sign  # noqa: E402

LUA = ROOT / "bench" / "wrk_deliveries.lua"
PATH = "/webhooks/moment"
BILLS = 1000


# --- the baselines -------------------------------------------------------------------


def serve_baseline(mode: str, port: int, secret: str, db: Path) -> None:
    """A bare receiver: verify (our Verifier), insert, commit, answer."""
    from aiohttp import web

    from moment_tui.webhooks.verify import Verifier

    verifier = Verifier([secret])
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS d (id TEXT UNIQUE, body BLOB)")
    lock = threading.Lock()
    pending: list[tuple[str, bytes, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
    wake = threading.Condition(lock)

    def writer() -> None:
        while True:
            with wake:
                while not pending:
                    wake.wait()
                batch = pending[:]
                pending.clear()
            conn.execute("BEGIN")
            for item_id, body, _, _ in batch:
                conn.execute("INSERT OR IGNORE INTO d VALUES (?, ?)", (item_id, body))
            conn.execute("COMMIT")
            # One wake-up of the event loop per group, not one per delivery.
            batch[0][3].call_soon_threadsafe(_resolve, [item[2] for item in batch])

    if mode == "bare-group":
        threading.Thread(target=writer, daemon=True).start()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        verdict = verifier.verify(dict(request.headers), body)
        if not verdict.ok:
            return web.json_response({"reason": str(verdict.reason)}, status=verdict.status)
        if mode == "bare-group":
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            with wake:
                pending.append((verdict.webhook_id or "", body, future, loop))
                wake.notify()
            await future
        else:
            await asyncio.to_thread(_insert_one, conn, lock, verdict.webhook_id or "", body)
        return web.json_response({"verdict": "verified"})

    async def serve() -> None:
        app = web.Application()
        app.router.add_post(PATH, receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        bound = runner.addresses[0][1]
        print(f"Listening on http://127.0.0.1:{bound}{PATH}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):  # the bench stops it with SIGINT
        asyncio.run(serve())


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        future.set_result(None)


def _insert_one(conn: sqlite3.Connection, lock: threading.Lock, item_id: str, body: bytes) -> None:
    with lock:
        conn.execute("BEGIN")
        conn.execute("INSERT OR IGNORE INTO d VALUES (?, ?)", (item_id, body))
        conn.execute("COMMIT")


# --- driving it ------------------------------------------------------------------------


def make_deliveries(path: Path, count: int, secret: str, bill_ids: list[str]) -> None:
    now = int(time.time())
    with path.open("w") as out:
        for index in range(count):
            bill = bill_ids[index % len(bill_ids)]
            body = amount_applied_event(100, "ZAR", customer_id="bcus_bench", bill_id=bill)
            webhook_id = new_message_id()
            signature = sign(secret, webhook_id, now, body)
            out.write(f"{webhook_id}\t{now}\t{signature}\t{body.decode()}\n")


def seed_catalogue(data_dir: Path) -> list[str]:
    path = workspace_path(data_dir, "sandbox", "")
    workspace = Workspace(path)
    bills = [
        Bill(
            id=f"bill_bench{i:017d}",
            external_reference=f"BENCH-{i}",
            customer_id="bcus_bench",
            status="unpaid",  # type: ignore[arg-type]
            currency="ZAR",
            amount_due=10**8 - 1,
            amount_paid=0,
            amount_remaining=10**8 - 1,
        )
        for i in range(BILLS)
    ]
    workspace.remember_sync(bills, "imported")
    workspace.close()
    return [b.id for b in bills]


def wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
        if not line and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
    raise TimeoutError(f"no {prefix!r} line")


def run_wrk(url: str, deliveries: Path, seconds: int, connections: int) -> dict[str, float]:
    env = {**os.environ, "DELIVERIES": str(deliveries), "WRK_THREADS": "1"}
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    result: dict[str, float] = {}
    for label in ("50%", "75%", "90%", "99%"):
        match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)", out, re.M)
        if match:
            result[label] = _ms(float(match.group(1)), match.group(2))
    match = re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", out)
    if match:
        result["max"] = _ms(float(match.group(1)), match.group(2))
    result["requests"] = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(bad.group(1)) if bad else 0.0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = 1.0 if errors else 0.0
    return result


def _ms(value: float, unit: str) -> float:
    return {"us": value / 1000, "ms": value, "s": value * 1000}[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else float("nan")


def books(data_dir: Path) -> dict[str, int]:
    db = workspace_path(data_dir, "sandbox", "")
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    verified = conn.execute("SELECT count(*) FROM deliveries WHERE verdict='verified'").fetchone()[
        0
    ]
    duplicate = conn.execute(
        "SELECT count(*) FROM deliveries WHERE verdict='duplicate'"
    ).fetchone()[0]
    applied = conn.execute("SELECT count(*) FROM applications").fetchone()[0]
    conn.close()
    return {"stored": stored, "verified": verified, "duplicate": duplicate, "applied": applied}


def wait_applied(data_dir: Path, timeout: float = 60.0) -> float:
    """Seconds until every verified delivery has its application (the reconciler's
    backlog after the load stops); polls the workspace read-only."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        counts = books(data_dir)
        if counts["applied"] >= counts["verified"]:
            break
        time.sleep(0.1)
    return time.monotonic() - started


def report(name: str, wrk: dict[str, float], rss: float, cpu: float, extra: str = "") -> None:
    """``cpu``: the server's CPU seconds during the run, shown per delivery."""
    per = cpu / wrk["requests"] * 1e6 if wrk["requests"] else float("nan")
    print(
        f"{name:<11} {wrk['rps']:>9,.0f} req/s   p50 {wrk.get('50%', 0):6.2f} ms"
        f"   p99 {wrk.get('99%', 0):6.2f} ms   max {wrk.get('max', 0):7.2f} ms"
        f"   non-2xx {wrk['non2xx']:.0f}   RSS {rss:6.1f} MB   CPU {per:4.0f} µs/delivery"
        f"   {extra}",
        flush=True,
    )


def bench_baseline(mode: str, args: argparse.Namespace, tmp: Path) -> None:
    secret = new_webhook_secret()
    deliveries = tmp / f"{mode}.tsv"
    make_deliveries(deliveries, args.deliveries, secret, ["bill_x"])
    db = tmp / f"{mode}.sqlite3"
    command = [sys.executable, __file__, "--serve", mode, "--port", "0", "--secret", secret]
    process = subprocess.Popen(
        [*command, "--db", str(db)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = wait_for_line(process, "Listening on ").split()[-1]
        cpu = cpu_seconds(process.pid)
        wrk = run_wrk(url, deliveries, args.seconds, args.connections)
        cpu = cpu_seconds(process.pid) - cpu
        rss = peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    stored = sqlite3.connect(db).execute("SELECT count(*) FROM d").fetchone()[0]
    report(mode, wrk, rss, cpu, f"sent {wrk['requests']:.0f} · stored {stored}")


def bench_headless(args: argparse.Namespace, tmp: Path) -> None:
    secret = new_webhook_secret()
    data = tmp / "headless"
    bill_ids = seed_catalogue(data)
    deliveries = tmp / "headless.tsv"
    make_deliveries(deliveries, args.deliveries, secret, bill_ids)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    env.update(XDG_DATA_HOME=str(data.parent / "xdg-data"), XDG_CONFIG_HOME=str(tmp / "cfg"))
    # The workspace lives where `listen` (sandbox mode) will look for it.
    real = workspace_path(Path(env["XDG_DATA_HOME"]) / "moment-tui", "sandbox", "")
    real.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(workspace_path(data, "sandbox", ""), real)
    process = subprocess.Popen(
        [sys.executable, "-m", "moment_tui", "listen", "--port", "0", "--secret", secret],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        url = wait_for_line(process, "Listening on ").split()[-1]
        threading.Thread(target=_drain, args=(process,), daemon=True).start()
        cpu = cpu_seconds(process.pid)
        wrk = run_wrk(url, deliveries, args.seconds, args.connections)
        cpu = cpu_seconds(process.pid) - cpu
        rss = peak_rss_mb(process.pid)
        drained = wait_applied(Path(env["XDG_DATA_HOME"]) / "moment-tui")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    counts = books(Path(env["XDG_DATA_HOME"]) / "moment-tui")
    extra = f"sent {wrk['requests']:.0f} · {json.dumps(counts)} · applied all {drained:.1f} s after"
    report("headless", wrk, rss, cpu, extra)


def bench_console(args: argparse.Namespace, tmp: Path) -> None:
    """The full console in a real terminal (tmux, 120x40) on its sandbox, taking load."""
    if shutil.which("tmux") is None:
        print("console     skipped: tmux is not installed (apt-get install -y tmux)")
        return
    secret = new_webhook_secret()
    port = _free_port()
    data, config = tmp / "console-data", tmp / "console-config"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    env.update(
        XDG_DATA_HOME=str(data),
        XDG_CONFIG_HOME=str(config),
        MOMENT_WEBHOOK_SECRET=secret,
        MOMENT_LISTEN=f"127.0.0.1:{port}",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    session = f"moment-bench-{os.getpid()}"
    exports = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith(("MOMENT_", "XDG_")))
    command = f"env {exports} {sys.executable} -m moment_tui"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command],
        check=True,
        env=env,
    )
    sandbox_db = data / "moment-tui" / "sandbox.sqlite3"
    try:
        bill_ids = _wait_for_bills(sandbox_db, port)
        deliveries = tmp / "console.tsv"
        make_deliveries(deliveries, args.deliveries, secret, bill_ids)
        url = f"http://127.0.0.1:{port}{PATH}"
        pid = int(
            subprocess.run(
                ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[0]
        )
        app_pid = _child_python(pid)
        cpu = cpu_seconds(app_pid)
        wrk = run_wrk(url, deliveries, args.seconds, args.connections)
        cpu = cpu_seconds(app_pid) - cpu
        rss = peak_rss_mb(app_pid)
        drained = wait_applied(data / "moment-tui")
        time.sleep(1)  # a last repaint
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout
        tally = next((line for line in screen.splitlines() if "verified" in line), "")
    finally:
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
        time.sleep(3)
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)
    counts = books(data / "moment-tui")
    extra = f"sent {wrk['requests']:.0f} · {json.dumps(counts)} · applied all {drained:.1f} s after"
    report("console", wrk, rss, cpu, extra)
    print(f"            on screen: {tally.strip(' │')}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_bills(sandbox_db: Path, port: int, timeout: float = 60) -> list[str]:
    """Once the console's sandbox is seeded and its listener answers: unpaid bill ids."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            conn = sqlite3.connect(f"file:{sandbox_db}?mode=ro", uri=True)
            rows = conn.execute("SELECT id FROM bills WHERE status = 'unpaid'").fetchall()
            conn.close()
            if rows:
                return [row[0] for row in rows]
        except (OSError, sqlite3.Error):
            pass
        time.sleep(0.5)
    raise TimeoutError("the console did not start its sandbox and listener in time")


def _child_python(shell_pid: int) -> int:
    """The console's own process under the tmux pane's shell (or the pane itself)."""
    children = Path(f"/proc/{shell_pid}/task/{shell_pid}/children")
    try:
        kids = [int(pid) for pid in children.read_text().split()]
    except OSError:
        return shell_pid
    return _child_python(kids[0]) if kids else shell_pid


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--deliveries", type=int, default=250_000)
    parser.add_argument("--only", choices=["bare-group", "bare-each", "headless", "console"])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_baseline(args.serve, args.port, args.secret, Path(args.db))
        return
    if shutil.which("wrk") is None:
        sys.exit("this benchmark drives the listener with wrk: apt-get install -y wrk")
    print(
        f"{os.cpu_count()} cores · wrk 1 thread, {args.connections} connections, "
        f"{args.seconds} s per target · durable commits (synchronous=FULL)"
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for mode in ("bare-group", "bare-each"):
            if args.only in (None, mode):
                bench_baseline(mode, args, tmp)
        if args.only in (None, "headless"):
            bench_headless(args, tmp)
        if args.only in (None, "console"):
            bench_console(args, tmp)


if __name__ == "__main__":
    main()
