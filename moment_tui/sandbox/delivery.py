"""Webhook delivery: an outbox in the database and a background sender.

Events are written to the ``events`` table in the same transaction as the payment
that caused them, before any attempt to deliver, so a crash or restart never loses
one; a restarted sandbox picks pending events up again. The sender posts each event
with Standard Webhooks headers signed by every configured secret; ``webhook-id``
stays the same across retries while ``webhook-timestamp`` (and so the signature) is
fresh on every attempt. A 2xx answer is success; anything else, a timeout or a
refused connection is a failure. The first attempt is made at once (as in Standard
Webhooks); the schedule lists the delay before each *retry* — by default a
compressed Standard Webhooks schedule of 1 s, 5 s, 30 s, 2 min, 5 min and 10 min,
so seven attempts in all — after which the event is marked ``failed``. Every
attempt is logged in ``deliveries``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from moment_tui.sandbox.db import Database, dumps
from moment_tui.sandbox.ids import new_id
from moment_tui.sandbox.objects import moment_now
from moment_tui.webhooks.signing import new_message_id, signed_headers

log = logging.getLogger(__name__)

# Seconds before retry 1, 2, …; the first attempt is immediate and not listed.
DEFAULT_SCHEDULE: Final = (1.0, 5.0, 30.0, 120.0, 300.0, 600.0)
RESPONSE_EXCERPT: Final = 500


@dataclass(frozen=True)
class DeliveryConfig:
    url: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)  # whsec_…: never in repr()
    # Delay before retry 1, 2, … (attempt 2, 3, …); () means one attempt, no retries.
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    timeout: float = 5.0
    concurrency: int = 8


def enqueue(db: Database, event_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """Store a new event (inside the caller's transaction); returns (event id, webhook id)."""
    event_id = new_id("event")
    webhook_id = new_message_id()
    payload = dumps({"id": event_id, "type": event_type, "data": data}).encode()
    db.conn.execute(
        "INSERT INTO events (id, webhook_id, type, payload, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, webhook_id, event_type, payload, time.time(), moment_now()),
    )
    return event_id, webhook_id


class Sender:
    """Delivers pending events in creation order, ``concurrency`` at a time."""

    def __init__(
        self, db: Database, config: DeliveryConfig, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.url and self.config.secrets)

    async def start(self) -> None:
        if not self.enabled:
            return
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.config.timeout),
            connector=aiohttp.TCPConnector(limit=self.config.concurrency),
        )
        self._runner = asyncio.create_task(self._run(), name="sandbox-webhook-sender")

    def wake(self) -> None:
        """Called after a transaction that enqueued events has committed."""
        self._wake.set()

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock()
            free = self.config.concurrency - len(self._in_flight)
            due = self._due(now, free) if free > 0 else []
            for row in due:
                self._in_flight.add(row["id"])
                task = asyncio.create_task(self._deliver(row))
                self._tasks.add(task)
                task.add_done_callback(self._finished)
            wait = self._seconds_until_next(now)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
            # that lands as the wake-up completes, and close() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    def _due(self, now: float, limit: int) -> list[sqlite3.Row]:
        rows = self.db.all(
            "SELECT * FROM events WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY seq LIMIT ?",
            (now, limit + len(self._in_flight)),
        )
        return [r for r in rows if r["id"] not in self._in_flight][:limit]

    def _seconds_until_next(self, now: float) -> float:
        """Until the next future attempt; due events beyond our free slots are started
        when a running delivery finishes (which wakes the loop)."""
        row = self.db.one(
            "SELECT MIN(next_attempt_at) AS t FROM events"
            " WHERE state = 'pending' AND next_attempt_at > ?",
            (now,),
        )
        if row is None or row["t"] is None:
            return 60.0
        return min(max(float(row["t"]) - now, 0.0), 60.0)

    async def _deliver(self, row: sqlite3.Row) -> None:
        try:
            await self._attempt(row)
        except Exception:  # never let one delivery stop the sender
            log.exception("delivering %s failed unexpectedly", row["id"])
        finally:
            self._in_flight.discard(row["id"])

    async def _attempt(self, row: sqlite3.Row) -> None:
        assert self._session is not None
        assert self.config.url is not None
        attempt = row["attempts"] + 1
        timestamp = int(self.clock())
        payload: bytes = row["payload"]
        headers = signed_headers(
            self.config.secrets, row["webhook_id"], payload, timestamp=timestamp
        )
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            async with self._session.post(
                self.config.url, data=payload, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                excerpt = (await response.text(errors="replace"))[:RESPONSE_EXCERPT]
        except TimeoutError:
            error = f"no answer within {self.config.timeout:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency = (time.perf_counter() - started) * 1000
        ok = status is not None and 200 <= status < 300
        schedule = self.config.schedule
        if ok:
            state, next_at = "delivered", row["next_attempt_at"]
        elif attempt <= len(schedule):  # attempt N failed: retry N waits schedule[N - 1]
            state, next_at = "pending", self.clock() + schedule[attempt - 1]
        else:
            state, next_at = "failed", row["next_attempt_at"]
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO deliveries (event_id, webhook_id, attempt, url, webhook_timestamp,"
                " status_code, response, error, latency_ms, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    row["id"],
                    row["webhook_id"],
                    attempt,
                    self.config.url,
                    timestamp,
                    status,
                    excerpt,
                    error,
                    latency,
                    moment_now(),
                ),
            )
            conn.execute(
                "UPDATE events SET attempts = ?, state = ?, next_attempt_at = ? WHERE id = ?",
                (attempt, state, next_at, row["id"]),
            )


def delivery_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "event_id": row["event_id"],
        "webhook_id": row["webhook_id"],
        "attempt": row["attempt"],
        "url": row["url"],
        "webhook_timestamp": row["webhook_timestamp"],
        "status_code": row["status_code"],
        "response": row["response"],
        "error": row["error"],
        "latency_ms": round(row["latency_ms"], 2),
        "at": row["at"],
    }


def event_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "webhook_id": row["webhook_id"],
        "type": row["type"],
        "state": row["state"],
        "attempts": row["attempts"],
        "created_at": row["created_at"],
    }
