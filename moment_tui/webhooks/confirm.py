"""Confirming applied events against the API, one re-fetch per object.

After an event has been applied to the catalogue, every object it touched is fetched
again and compared with the catalogue's copy. Checks are kept per object, not per
event: when a burst of payments lands on one bill, a single fetch made after they
were all applied confirms every one of them, so a burst costs the API a handful of
requests instead of one (or two) per event.

A difference may only mean that a later payment reached the server before its
webhook reached us, so a first mismatch is looked at again after ``grace`` seconds
(later events keep being applied meanwhile). A mismatch that persists is drift: the
events waiting on that object are marked ``drift`` with both values, and the server's
copy replaces ours. A fetch answered after our copy changed (an event applied
meanwhile, here or in another process sharing the workspace) may predate that change,
so it is made again, ``stale_delay`` later. Drift settles every event still unchecked
that changed the object, whichever process applied it: the server's copy has replaced
the change, so no later check could see it, let alone confirm it.

A re-fetch that fails — a timeout, a refused connection, a 5xx, a 429 — is tried
again later, backing off (``RECHECK_DELAYS``: 1.5 s, 5 s, 15 s, then 60 s; at least
as long as a 429's ``Retry-After``, up to 60 s); events applied meanwhile wait with
it. Only when every attempt has failed are the events ``unconfirmed``, with the last
error. A 404 is final at once: the object is gone from the API, so there is nothing
to compare with or copy; the events are ``unconfirmed`` saying so, and the catalogue
keeps its copy. Events still waiting when the process stops stay ``applied``; the
next start checks them (:meth:`moment_tui.webhooks.reconcile.Reconciler.catch_up`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Final

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import InvalidReference, MomentError, NotFound, RateLimited
from moment_tui.api.models import BillingObject, BillStatus, ObjectKind
from moment_tui.store import applications, catalogue
from moment_tui.store.applications import Application, Drift, State
from moment_tui.store.catalogue import now_iso
from moment_tui.store.workspace import Workspace

log = logging.getLogger(__name__)

CONCURRENCY: Final = 8  # fetches in flight at once
DRIFT_GRACE: Final = 1.5  # seconds before a mismatch is called drift
# After a fetch our copy overtook: wait this long before fetching again (under a burst
# the copy keeps changing, and fetching at once would only be overtaken again).
STALE_DELAY: Final = 1.0
# After this many overtaken fetches in a row (an object paid faster than it can be
# fetched), the next is compared anyway: agreement confirms; a difference is looked at
# again after the grace, but never called drift on a copy that moved meanwhile.
MAX_OVERTAKEN: Final = 3
# After the n-th failed re-fetch of an object, wait RECHECK_DELAYS[n-1]; give up after
# len(RECHECK_DELAYS) + 1 attempts (about 80 s in all).
RECHECK_DELAYS: Final = (1.5, 5.0, 15.0, 60.0)
MONEY_FIELDS: Final[dict[ObjectKind, tuple[str, ...]]] = {
    "bill": ("amount_paid", "amount_remaining", "status"),
    "account": ("balance",),
    "customer": ("balance",),
}

Target = tuple[ObjectKind, str]
UNPLACED: Final = "not confirmed: the server may have paid bills the catalogue does not know"


class _OwnChecks(Container[int]):
    """The events a drift decision leaves to this process's own checks: its events
    settled by this check, and those it still checks elsewhere, but not those still
    waiting on this object after this check (their change is in the copy that
    differed). Membership only — ``queued`` is never copied (under a burst it holds
    tens of thousands, and this is asked once per check)."""

    def __init__(
        self, queued: set[int], waiting_here: Iterable[_Waiting], settling: Iterable[_Waiting]
    ) -> None:
        self.queued = queued
        self.settling = {w.app.delivery_seq for w in settling}
        self.later_here = {w.app.delivery_seq for w in waiting_here} - self.settling

    def __contains__(self, seq: object) -> bool:
        if seq in self.settling:
            return True
        return seq in self.queued and seq not in self.later_here


class _Stale:
    """A fetch overtaken by a change to our copy: fetch again."""


_STALE: Final = _Stale()


@dataclass(eq=False)  # compared by identity, never field by field
class _Waiting:
    """An applied event and the objects still to be checked for it."""

    app: Application
    targets: set[Target]
    drift: list[Drift] = field(default_factory=list)
    problem: str | None = None


class Confirmer:
    """Re-fetches touched objects in the background and settles the events on them."""

    def __init__(
        self,
        workspace: Workspace,
        client: MomentClient,
        announce: Callable[[Application], object],
        *,
        grace: float = DRIFT_GRACE,
        stale_delay: float = STALE_DELAY,
        retry_delays: tuple[float, ...] = RECHECK_DELAYS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.workspace = workspace
        self.client = client
        self.announce = announce
        self.grace = grace
        self.stale_delay = stale_delay
        self.retry_delays = retry_delays
        self._clock = clock
        self._sleep = sleep
        self._waiting: dict[Target, list[_Waiting]] = {}
        self._queued: set[int] = set()  # delivery seqs of the events waiting
        self._due: dict[Target, float] = {}  # when each object should be fetched
        self._suspect: set[Target] = set()  # mismatched once already
        self._failures: dict[Target, int] = {}  # re-fetches failed in a row
        self._overtaken: dict[Target, int] = {}  # fetches our copy overtook, in a row
        self._running: set[Target] = set()
        self._checks: set[asyncio.Task[None]] = set()  # in flight, cancelled by close()
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="confirmer")

    async def close(self) -> None:
        """Stop the loop and every check in flight (their events stay ``applied``,
        checked again at the next start), so none outlives the client or workspace."""
        tasks = [t for t in (self._task, *self._checks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._checks.clear()

    def add(self, app: Application) -> None:
        """Check what ``app`` touched (the target and any bills it allocated to)."""
        targets: set[Target] = {("bill", bill_id) for bill_id, _ in app.allocation}
        if app.target_kind and app.target_id:
            targets.add((app.target_kind, app.target_id))
        if not targets or app.delivery_seq in self._queued:
            return
        self._queued.add(app.delivery_seq)
        waiting = _Waiting(app, set(targets))
        for target in targets:
            self._waiting.setdefault(target, []).append(waiting)
            self._due.setdefault(target, 0.0)
        self._settled.clear()
        self._wake.set()

    async def idle(self) -> None:
        """Until every event handed in so far is settled."""
        await self._settled.wait()

    # --- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            due = [t for t, at in self._due.items() if at <= now and t not in self._running]
            for target in due[: CONCURRENCY - len(self._running)]:
                self._running.add(target)
                task = asyncio.create_task(self._check(target))
                self._checks.add(task)
                task.add_done_callback(self._checks.discard)
                task.add_done_callback(functools.partial(self._finished, target))
            if not self._due and not self._running:
                self._settled.set()
            # Sleep until the next re-check; a finished fetch or a new event wakes us.
            later = [at - now for t, at in self._due.items() if at > now]
            nap = asyncio.create_task(self._nap(min(later))) if later else None
            try:
                await self._wake.wait()
            finally:
                if nap is not None:
                    nap.cancel()

    async def _nap(self, seconds: float) -> None:
        await self._sleep(seconds)
        self._wake.set()

    def _finished(self, target: Target, _task: asyncio.Task[None]) -> None:
        self._running.discard(target)
        self._wake.set()

    async def _check(self, target: Target) -> None:
        """Fetch one object and settle the events that were applied before the fetch."""
        del self._due[target]
        waiting = list(self._waiting.get(target, ()))
        kind, object_id = target
        started = now_iso()  # a change to our copy from now on may be missing from theirs
        try:
            server = await self.client.get(kind, object_id)
        except (NotFound, InvalidReference) as exc:  # an answer: waiting will not change it
            self._failures.pop(target, None)
            gone = "the API answered 404 (it no longer has it)"
            problem = f"could not re-fetch {kind} {object_id}: " + (
                f"{gone}; the catalogue's copy is kept" if isinstance(exc, NotFound) else str(exc)
            )
            await self._record(self._settle(target, waiting, [], problem))
            return
        except MomentError as exc:  # the API could not be asked: later, unless given up
            failures = self._failures.get(target, 0) + 1
            if failures <= len(self.retry_delays):
                self._failures[target] = failures
                delay = self.retry_delays[failures - 1]
                if isinstance(exc, RateLimited) and exc.retry_after:  # (within bounds)
                    delay = max(delay, min(exc.retry_after, max(self.retry_delays)))
                self._due[target] = self._clock() + delay
                log.info(
                    "re-fetching %s %s failed (%s); again in %.1f s", kind, object_id, exc, delay
                )
                return
            self._failures.pop(target, None)
            problem = f"could not re-fetch {kind} {object_id} ({failures} attempts): {exc}"
            await self._record(self._settle(target, waiting, [], problem))
            return
        except Exception:  # never let one check stop the loop
            log.exception("checking %s %s failed", kind, object_id)
            problem = f"could not check {kind} {object_id}"
            self._failures.pop(target, None)
            await self._record(self._settle(target, waiting, [], problem))
            return
        self._failures.pop(target, None)
        decide = target in self._suspect or self.grace <= 0
        search = self.workspace.search_available

        forced = self._overtaken.get(target, 0) >= MAX_OVERTAKEN
        besides = _OwnChecks(self._queued, self._waiting.get(target, ()), waiting)

        def compare(conn: sqlite3.Connection) -> list[Drift] | _Stale | None:
            ours = catalogue.get(conn, kind, server.id)
            changed = ours is not None and ours.updated_at >= started
            if changed and not forced:
                # Changed while we fetched (an event applied, here or by another
                # process): the server's copy may predate that, so it proves nothing.
                return _STALE
            drift = compare_money(kind, ours.obj, server) if ours is not None else []
            if drift and (changed or not decide):
                return None  # look again shortly (never decide on an overtaken copy)
            catalogue.upsert(conn, server, "refetched", search=search)
            if drift:  # the server's copy wins over every change still unchecked in ours
                applications.settle_as_drift(
                    conn, kind, server.id, tuple(drift), now_iso(), besides=besides
                )
            else:
                applications.mark_agreed(conn, kind, server.id, now_iso() if changed else started)
            return drift

        drift = await self.workspace.writer.submit(compare)
        if isinstance(drift, _Stale):
            self._overtaken[target] = self._overtaken.get(target, 0) + 1
            self._due[target] = self._clock() + self.stale_delay
            return
        self._overtaken.pop(target, None)
        if drift is None:
            self._suspect.add(target)
            self._due[target] = self._clock() + self.grace
            return
        self._suspect.discard(target)
        await self._record(self._settle(target, waiting, drift, None))

    def _settle(
        self, target: Target, waiting: list[_Waiting], drift: list[Drift], problem: str | None
    ) -> list[Application]:
        """Mark ``target`` checked for ``waiting``; returns the events now fully settled."""
        settled = set(waiting)  # by identity (eq=False): a burst makes these lists long
        remaining = [w for w in self._waiting.get(target, ()) if w not in settled]
        if remaining:  # applied while we were fetching: fetch again
            self._waiting[target] = remaining
            self._due.setdefault(target, 0.0)
        else:
            self._waiting.pop(target, None)
        done: list[Application] = []
        for item in waiting:
            item.targets.discard(target)
            item.drift += drift
            item.problem = item.problem or problem
            if not item.targets:
                self._queued.discard(item.app.delivery_seq)
                if not (item.problem or item.drift) and item.app.unallocated:
                    # The holder agrees, but money we could place nowhere may have paid
                    # bills the catalogue has never seen: nothing here confirms that.
                    item.problem = f"{item.app.note}; {UNPLACED}"
                state: State = (
                    "unconfirmed" if item.problem else "drift" if item.drift else "confirmed"
                )
                done.append(item.app.checked(state, tuple(item.drift), now_iso(), item.problem))
        return done

    async def _record(self, checked: list[Application]) -> None:
        """Store the settled states (one write for all of them), then announce them."""
        if not checked:
            return

        def job(conn: sqlite3.Connection) -> list[Application]:
            # One settled meanwhile by another process says what it found instead.
            return [
                app
                if applications.update_check(conn, app)
                else (applications.for_delivery(conn, app.delivery_seq) or app)
                for app in checked
            ]

        for app in await self.workspace.writer.submit(job):
            self.announce(app)


def money(kind: ObjectKind, obj: BillingObject) -> dict[str, object]:
    values = {name: getattr(obj, name, None) for name in MONEY_FIELDS[kind]}
    return {k: (v.value if isinstance(v, BillStatus) else v) for k, v in values.items()}


def compare_money(kind: ObjectKind, ours: BillingObject, server: BillingObject) -> list[Drift]:
    mine, theirs = money(kind, ours), money(kind, server)
    return [Drift(kind, server.id, f, mine[f], theirs[f]) for f in mine if mine[f] != theirs[f]]
