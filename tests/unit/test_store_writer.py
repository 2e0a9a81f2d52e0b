"""The workspace writer: group commits, per-job rollback, futures, threads, close, fsync."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from moment_tui.store.workspace import Workspace
from moment_tui.store.writer import Writer, WriterClosed, connect

WAIT = 10.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "writer.sqlite3"
    conn = connect(path)
    conn.execute("CREATE TABLE items (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    conn.close()
    return path


@pytest.fixture
def writer(db: Path) -> Iterator[Writer]:
    w = Writer(lambda: connect(db), name="test-writer")
    yield w
    w.close()


def keys(path: Path) -> list[str]:
    """What a fresh connection sees on disk."""
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT k FROM items ORDER BY k")]
    finally:
        conn.close()


def put(key: str, value: int = 0) -> Callable[[sqlite3.Connection], str]:
    def job(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO items (k, v) VALUES (?, ?)", (key, value))
        return key

    return job


class Gate:
    """A job that holds the writer thread until released, so others queue up behind it."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.release = threading.Event()

    def __call__(self, conn: sqlite3.Connection) -> str:
        self.running.set()
        assert self.release.wait(WAIT), "the gate was never released"
        return "gate"

    async def hold(self, writer: Writer) -> asyncio.Future[str]:
        future = writer.submit(self)
        assert await asyncio.to_thread(self.running.wait, WAIT)
        return future


async def test_jobs_queued_together_share_one_commit(writer: Writer, db: Path) -> None:
    gate = Gate()
    held = await gate.hold(writer)
    futures = [writer.submit(put(f"k{i:03}", i)) for i in range(300)]
    gate.release.set()
    assert await held == "gate"
    assert await asyncio.gather(*futures) == [f"k{i:03}" for i in range(300)]
    # The gate's group, then one group holding all 300 jobs queued behind it.
    assert (writer.commits, writer.jobs) == (2, 301)
    assert len(keys(db)) == 300


async def test_concurrent_submissions_take_fewer_commits_than_jobs(
    writer: Writer, db: Path
) -> None:
    async def one(i: int) -> str:
        return await writer.submit(put(f"c{i:04}", i))

    results = await asyncio.gather(*(one(i) for i in range(2000)))
    assert results == [f"c{i:04}" for i in range(2000)]
    assert writer.jobs == 2000
    assert 1 <= writer.commits < writer.jobs
    assert len(keys(db)) == 2000


async def test_a_failing_job_rolls_back_only_itself(writer: Writer, db: Path) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (k, v) VALUES ('bad-1', 1)")
        conn.execute("INSERT INTO items (k, v) VALUES ('bad-2', 2)")
        raise ValueError("job failed halfway")

    def constraint_violation(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (k, v) VALUES ('null-v', NULL)")

    gate = Gate()
    held = await gate.hold(writer)
    before = writer.commits
    first = writer.submit(put("before", 1))
    failing = writer.submit(half_then_fail)
    violating = writer.submit(constraint_violation)
    last = writer.submit(put("after", 2))
    gate.release.set()
    await held
    assert await first == "before"
    with pytest.raises(ValueError, match="job failed halfway"):
        await failing
    with pytest.raises(sqlite3.IntegrityError):
        await violating
    assert await last == "after"
    assert keys(db) == ["after", "before"]
    assert writer.commits == before + 2  # the gate's group and the four jobs' group


async def test_atomic_jobs_share_the_group_without_savepoints(writer: Writer, db: Path) -> None:
    """A job marked atomic writes all or nothing by itself: its failure (a refused
    statement) still leaves the rest of the group to commit."""
    statements: list[str] = []

    def traced(conn: sqlite3.Connection) -> str:
        conn.set_trace_callback(statements.append)
        return "tracing"

    def refused(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (k, v) VALUES ('null-v', NULL)")

    gate = Gate()
    held = await gate.hold(writer)
    traced_job = writer.submit(traced, atomic=True)
    good = writer.submit(put("atomic-ok", 1), atomic=True)
    bad = writer.submit(refused, atomic=True)
    plain = writer.submit(put("plain", 2))
    gate.release.set()
    await held
    assert await traced_job == "tracing"
    assert await good == "atomic-ok"
    with pytest.raises(sqlite3.IntegrityError):
        await bad
    assert await plain == "plain"
    assert keys(db) == ["atomic-ok", "plain"]
    # Only the non-atomic job paid for a savepoint.
    assert [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))] == [
        "SAVEPOINT job",
        "RELEASE job",
    ]


async def test_each_future_gets_its_own_result(writer: Writer) -> None:
    def compute(i: int) -> Callable[[sqlite3.Connection], tuple[int, int]]:
        def job(conn: sqlite3.Connection) -> tuple[int, int]:
            conn.execute("INSERT INTO items (k, v) VALUES (?, ?)", (f"r{i}", i * i))
            row = conn.execute("SELECT v FROM items WHERE k = ?", (f"r{i}",)).fetchone()
            return i, row[0]

        return job

    futures = {i: writer.submit(compute(i)) for i in range(150)}
    for i, future in futures.items():
        assert await future == (i, i * i)


def test_call_from_threads(writer: Writer, db: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: writer.call(put(f"t{i:03}", i)), range(200)))
    assert results == [f"t{i:03}" for i in range(200)]
    assert len(keys(db)) == 200
    assert writer.jobs == 200
    assert writer.commits <= 200


def test_call_raises_the_jobs_exception_and_keeps_nothing(writer: Writer, db: Path) -> None:
    def fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (k, v) VALUES ('x', 1)")
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        writer.call(fail)
    assert keys(db) == []
    assert writer.call(put("y")) == "y"
    assert keys(db) == ["y"]


async def test_call_works_from_a_worker_thread_of_the_loop(writer: Writer, db: Path) -> None:
    assert await asyncio.to_thread(writer.call, put("from-thread", 7)) == "from-thread"
    assert keys(db) == ["from-thread"]


async def test_close_finishes_queued_work(db: Path) -> None:
    writer = Writer(lambda: connect(db))
    gate = Gate()
    held = await gate.hold(writer)
    futures = [writer.submit(put(f"q{i:03}", i)) for i in range(100)]
    closing = asyncio.ensure_future(asyncio.to_thread(writer.close))

    def refused() -> bool:
        try:
            writer.submit(lambda conn: None)  # accepted: a no-op queued before close()
        except WriterClosed:
            return True
        return False

    for _ in range(2000):  # until close() has begun: then nothing new is accepted
        if refused():
            break
        await asyncio.sleep(0.005)
    else:
        pytest.fail("close() never began")
    gate.release.set()
    await closing
    assert await held == "gate"
    assert await asyncio.gather(*futures) == [f"q{i:03}" for i in range(100)]
    assert len(keys(db)) == 100
    with pytest.raises(WriterClosed):
        writer.submit(put("late"))
    with pytest.raises(WriterClosed):
        writer.call(put("late"))
    writer.close()  # a second close is harmless
    assert len(keys(db)) == 100


class SlowPut:
    """Stands in for the writer's queue: a job's put() is slow, as a thread switch can be."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.putting = threading.Event()

    def put(self, item: Any) -> None:
        if item is not None:
            self.putting.set()
            time.sleep(0.2)
        self.inner.put(item)

    def get(self) -> Any:
        return self.inner.get()

    def get_nowait(self) -> Any:
        return self.inner.get_nowait()


def test_a_job_accepted_while_close_begins_is_still_run(db: Path) -> None:
    """submit()/call() accept a job and queue it atomically with respect to close():
    a job that passed the "closed?" check is run, never stranded behind the stop mark."""
    writer = Writer(lambda: connect(db))
    slow = SlowPut(writer._queue)
    writer._queue = slow  # type: ignore[assignment]
    result: list[Any] = []
    caller = threading.Thread(target=lambda: result.append(writer.call(put("k"), timeout=5)))
    caller.start()
    assert slow.putting.wait(WAIT)
    writer.close()
    caller.join(WAIT)
    assert result == ["k"]
    assert keys(db) == ["k"]


def test_submit_racing_close_never_strands_a_job(db: Path) -> None:
    """Every job accepted before close() is run; every other one is refused at once."""
    for _ in range(20):
        writer = Writer(lambda: connect(db))
        start = threading.Barrier(2)
        outcomes: list[Any] = []

        def submitter(
            w: Writer = writer, b: threading.Barrier = start, outcomes: list[Any] = outcomes
        ) -> None:
            b.wait()
            for _ in range(50):
                try:
                    outcomes.append(w.call(lambda conn: None, timeout=WAIT))
                except WriterClosed:
                    outcomes.append("closed")

        thread = threading.Thread(target=submitter)
        thread.start()
        start.wait()
        writer.close()
        thread.join(WAIT * 2)
        assert not thread.is_alive()
        assert len(outcomes) == 50
        assert set(outcomes) <= {None, "closed"}


def test_writer_connection_fsyncs_every_commit(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws.sqlite3")
    try:
        assert workspace.writer.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 2
        assert workspace.writer.call(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0]) == (
            "wal"
        )
        assert workspace.writer.call(lambda c: c.execute("PRAGMA foreign_keys").fetchone()[0]) == 1
    finally:
        workspace.close()


def test_non_durable_workspace_uses_normal_sync(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws.sqlite3", durable=False)
    try:
        assert workspace.writer.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 1
    finally:
        workspace.close()


def test_a_connection_that_cannot_open_raises_at_construction(tmp_path: Path) -> None:
    def broken() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        Writer(broken)
