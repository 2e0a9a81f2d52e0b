"""One writer thread per workspace, committing in groups.

Every write is a small function of a :class:`sqlite3.Connection`. Callers submit it
from the event loop and await a future, or call it from any other thread and block.
The writer takes every job that is waiting, runs each inside its own savepoint (a
failing job undoes only itself), commits once — with ``synchronous=FULL`` in WAL
mode that is one ``fsync`` for the whole group — and only then resolves the
futures. So "awaited" means "on disk", and under load many deliveries share one
fsync, which is how the listener gets past the one-commit-per-event ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

MAX_GROUP: Final = 1024


@dataclass
class _Pending:
    job: Job
    future: asyncio.Future[Any] | ThreadFuture[Any]
    loop: asyncio.AbstractEventLoop | None = None
    atomic: bool = False
    result: Any = None
    error: BaseException | None = None


class WriterClosed(RuntimeError):
    """The workspace was closed; nothing more can be written."""


class Writer:
    """Serialises every write to one SQLite file, committing in groups."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str = "writer") -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        # Checking "closed?" and queueing happen under one lock, so close() can never
        # slip its stop mark in between and strand a job that was already accepted.
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.commits = 0
        self.jobs = 0
        self._thread = threading.Thread(target=self._run, name=f"moment-{name}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def submit(
        self,
        job: Callable[[sqlite3.Connection], T],
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        atomic: bool = False,
    ) -> asyncio.Future[T]:
        """From the event loop: a future resolved after the job's group has committed.

        A caller that submits for every delivery passes its ``loop`` (the running one):
        on Python 3.11, finding the running loop costs a system call. ``atomic``: the
        job writes nothing unless it succeeds (a single statement, say), so it needs
        no savepoint of its own — two statements fewer, each of which would hand the
        interpreter lock to the event loop and wait to get it back.
        """
        loop = loop or asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise WriterClosed("the workspace is closed")
            self._queue.put(_Pending(job, future, loop, atomic))
        return future

    def call(self, job: Callable[[sqlite3.Connection], T], timeout: float | None = 30.0) -> T:
        """From any thread but the writer's: run ``job`` and wait for its commit."""
        future: ThreadFuture[T] = ThreadFuture()
        with self._lock:
            if self._closed:
                raise WriterClosed("the workspace is closed")
            self._queue.put(_Pending(job, future))
        return future.result(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    # --- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first]
                stop = self._drain(group)
                self._commit_group(conn, group)
                if stop:
                    return
        finally:
            conn.close()

    def _drain(self, group: list[_Pending]) -> bool:
        while len(group) < MAX_GROUP:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            group.append(item)
        return False

    def _commit_group(self, conn: sqlite3.Connection, group: list[_Pending]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in group:
                self._run_job(conn, item)
            conn.execute("COMMIT")
            self.commits += 1
            self.jobs += len(group)
        except BaseException as exc:  # the commit itself failed: nothing in the group is safe
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            for item in group:
                item.error, item.result = exc, None
        self._resolve(group)

    @staticmethod
    def _run_job(conn: sqlite3.Connection, item: _Pending) -> None:
        if item.atomic:
            try:
                item.result = item.job(conn)
            except BaseException as exc:
                item.error = exc
            return
        conn.execute("SAVEPOINT job")
        try:
            item.result = item.job(conn)
        except BaseException as exc:
            conn.execute("ROLLBACK TO job")
            item.error = exc
        conn.execute("RELEASE job")

    @staticmethod
    def _resolve(group: list[_Pending]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for item in group:
            if item.loop is None:
                future = item.future
                assert isinstance(future, ThreadFuture)
                if item.error is not None:
                    future.set_exception(item.error)
                else:
                    future.set_result(item.result)
            else:
                by_loop.setdefault(item.loop, []).append(item)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[_Pending]) -> None:
    """On the event loop: resolve a committed group's futures in one go."""
    for item in items:
        future = item.future
        assert isinstance(future, asyncio.Future)
        if future.done():
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.result)


def connect(path: Path, *, durable: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode; ``durable`` fsyncs every commit (``synchronous=FULL``)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
    except BaseException:  # not a database we can use: leave nothing open behind
        conn.close()
        raise
    return conn
