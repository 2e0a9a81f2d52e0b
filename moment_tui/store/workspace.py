"""A workspace: the catalogue and event log of one Moment (API mode + base URL).

All writes go through one :class:`~moment_tui.store.writer.Writer` thread that
commits in groups; reads use one connection per reading thread. Async callers
``await`` writes (the future resolves after the commit is on disk) and run reads
with :meth:`Workspace.read` (in a thread, so the event loop never waits on the disk).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, TypeVar

from moment_tui.api.models import BillingObject
from moment_tui.config import DEFAULT_RETENTION
from moment_tui.store import catalogue, eventlog, schema
from moment_tui.store.catalogue import Source
from moment_tui.store.eventlog import Delivery, Incoming
from moment_tui.store.writer import Writer, connect

T = TypeVar("T")
TRIM_EVERY: Final = 500


def workspace_path(data_dir: Path, mode: str, base_url: str) -> Path:
    """``<data>/workspaces/test-api.momentpay.net-1a2b3c4d.sqlite3``; the sandbox has one."""
    if mode == "sandbox":
        return data_dir / "workspaces" / "sandbox.sqlite3"
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", base_url.split("://", 1)[-1]).strip("-")[:60]
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return data_dir / "workspaces" / f"{mode}-{host}-{digest}.sqlite3"


class Workspace:
    """The console's SQLite workspace. Open with :meth:`open`; :meth:`close` when done."""

    def __init__(
        self, path: Path, *, durable: bool = True, retention: int = DEFAULT_RETENTION
    ) -> None:
        self.path = path
        self.retention = retention
        self._durable = durable
        path.parent.mkdir(parents=True, exist_ok=True)
        setup = connect(path, durable=durable)
        try:
            self.search_available = schema.create(setup)
            # The bound holds across runs, however short: many brief `listen` runs
            # (in CI, say) would never reach TRIM_EVERY rejections in one of them.
            eventlog.trim(setup, retention)
        finally:
            setup.close()
        self.writer = Writer(lambda: connect(path, durable=durable), name="workspace-writer")
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._since_trim = 0

    def close(self) -> None:
        self.writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    # --- reading ----------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, durable=self._durable)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def query(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read on this thread's connection (call from a worker thread)."""
        return fn(self._reader())

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read in a thread and await it (call from the event loop)."""
        return await asyncio.to_thread(self.query, fn)

    # --- the event log ----------------------------------------------------------------

    async def record(
        self, incoming: Incoming, loop: asyncio.AbstractEventLoop | None = None
    ) -> Delivery:
        """Store a delivery; returns once it is committed (fsync'd). ``loop``: the
        running loop, if the caller has it at hand (see :meth:`Writer.submit`)."""
        # atomic: insert() writes one row or nothing, whatever goes wrong.
        delivery = await self.writer.submit(
            lambda conn: eventlog.insert(conn, incoming), loop, atomic=True
        )
        if self._trim_due(delivery):
            self.writer.submit(lambda conn: eventlog.trim(conn, self.retention), loop)
        return delivery

    def record_sync(self, incoming: Incoming) -> Delivery:
        delivery = self.writer.call(lambda conn: eventlog.insert(conn, incoming))
        if self._trim_due(delivery):
            self.writer.call(lambda conn: eventlog.trim(conn, self.retention))
        return delivery

    def _trim_due(self, delivery: Delivery) -> bool:
        """Every TRIM_EVERY rejected or duplicate deliveries, the oldest beyond the
        retention bound go (verified ones are kept)."""
        if delivery.verdict == "verified":
            return False
        self._since_trim += 1
        if self._since_trim < TRIM_EVERY:
            return False
        self._since_trim = 0
        return True

    # --- the catalogue ----------------------------------------------------------------

    async def remember(
        self,
        objects: Iterable[BillingObject],
        source: Source,
        *,
        unless_changed_since: str | None = None,
    ) -> int:
        """Keep these copies; with ``unless_changed_since``, an entry updated after that
        moment (say by a payment applied meanwhile) keeps its newer copy."""
        items = list(objects)
        return await self.writer.submit(
            lambda conn: catalogue.remember_all(
                conn,
                items,
                source,
                search=self.search_available,
                unless_changed_since=unless_changed_since,
            )
        )

    def remember_sync(self, objects: Iterable[BillingObject], source: Source) -> int:
        items = list(objects)
        return self.writer.call(
            lambda conn: catalogue.remember_all(conn, items, source, search=self.search_available)
        )
