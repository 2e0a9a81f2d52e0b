"""Applying ``obligation.amount_applied`` events to the catalogue, then checking them.

For each verified event, in arrival order:

1. **Find the target**: ``bill_id``, else ``account_id``, else ``customer_id``. If the
   catalogue does not know it, fetch it from the API first; that copy already
   includes this payment, so it is stored as it is (outcome ``fetched``) — in the
   same transaction as the record of the application, so a crash in between can
   never leave the copy without the record (and the payment applied on top later).
   An unknown account or customer may have open bills the catalogue does know, which
   the server settled first: their server copies are fetched and stored with it, and
   the application records what they changed. A known target is fetched the same way
   when its copy may or may not include the payment: the event waited for the API, or
   the copy came from the API (a listing, a lookup) after the event arrived.

   Only an answer about the object itself is final: a 404 (or a reference that can
   never name one) records the event as ``unknown_target``. When the API cannot be
   asked — a timeout, a refused connection, a 5xx, a 429, a refused key, or no API
   client at all — the event is left *unapplied*, with no record, and the reason is
   logged and kept in :attr:`Reconciler.pending`; the idle retry and the next start's
   :meth:`Reconciler.catch_up` (this process's, or the console's sharing the
   workspace) apply it later, once. After such a failure the API is not asked again
   for the rest of the batch, nor for ``API_PAUSE`` seconds.
2. **Apply** at once, in one transaction with the record of what changed: a bill's
   ``amount_paid``/``amount_remaining``/``status``; for an account (or customer) the
   unpaid bills the catalogue knows, oldest due date first, then the balance
   (:mod:`moment_tui.billing`, the rules the sandbox uses too). The record's unique
   ``webhook_id`` makes a second application impossible.
3. **Confirm** in the background (:mod:`moment_tui.webhooks.confirm`): re-fetch every
   object touched — once per object for a whole burst — and compare. Equal →
   ``confirmed``; a difference that persists past a short grace → ``drift`` with both
   values, and the server's copy replaces ours. A re-fetch that fails is tried again,
   backing off, before the application is called ``unconfirmed``; one a stop left
   unchecked is checked by the next start's :meth:`Reconciler.catch_up`. Without an
   API to ask, the application is ``unconfirmed`` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import InvalidReference, MomentError, NotFound, RateLimited
from moment_tui.api.models import Account, Bill, BillingObject, BillStatus, Customer, ObjectKind
from moment_tui.billing import OpenBill, allocate, settle
from moment_tui.money import amount_text
from moment_tui.store import applications, catalogue, eventlog
from moment_tui.store.applications import Application, Change, Outcome
from moment_tui.store.catalogue import now_iso
from moment_tui.store.eventlog import Delivery
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.confirm import DRIFT_GRACE, Confirmer, Target, compare_money

log = logging.getLogger(__name__)

BATCH: Final = 16  # events per writer job: small, so deliveries never wait long behind
CATCH_UP_PAGE: Final = 1000
MAX_REFRESHED_BILLS: Final = 100  # of an unknown holder's known open bills, re-fetched
RETRY_SECONDS: Final = 30.0  # when idle this long, retry events a failure left unapplied
# Sources of catalogue copies the API gave other than the confirmer's re-fetches (a
# "webhook" copy is an unknown target's fetch, maybe by another process's reconciler).
LEARNED_ELSEWHERE: Final = frozenset(
    {"created", "changed", "looked_up", "listed", "imported", "webhook"}
)
API_PAUSE: Final = 5.0  # after the API failed, seconds before unknown targets are asked for
NO_API: Final = "not in the catalogue, and there is no API to fetch it from"


@dataclass
class _Lookups:
    """What step 1 learned about the targets it had to fetch."""

    fetched: dict[Target, BillingObject] = field(default_factory=dict)
    answered: dict[Target, str] = field(default_factory=dict)  # 404: why it is unknown
    failed: dict[Target, str] = field(default_factory=dict)  # could not ask: why
    # Targets the catalogue knows but whose copy may or may not include the payment
    # (see _fetch_targets): fetched, and the server's copy is stored over it.
    retried: set[Target] = field(default_factory=set)


class Reconciler:
    """Applies events in order on a background task; see the module docs."""

    def __init__(
        self,
        workspace: Workspace,
        client: MomentClient | None,
        *,
        on_application: Callable[[Application], object] | None = None,
        drift_grace: float = DRIFT_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workspace = workspace
        self.client = client
        self.on_application = on_application
        self.drift_grace = drift_grace
        self._clock = clock
        self._pause_until = 0.0  # the API failed: not asked again before this
        self._pause_reason = ""
        self._pending: dict[str, str] = {}  # webhook-id → why it is not applied yet
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._queued: set[str] = set()  # webhook-ids in the queue, not yet taken
        self._task: asyncio.Task[None] | None = None
        self._confirmer = (
            Confirmer(workspace, client, self._announce, grace=drift_grace) if client else None
        )
        self._idle = asyncio.Event()
        self._idle.set()

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reconciler")
        if self._confirmer is not None:
            self._confirmer.start()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._confirmer is not None:
            await self._confirmer.close()

    def submit(self, delivery: Delivery) -> None:
        """Queue a stored delivery; anything but a verified amount_applied is ignored."""
        if delivery.verdict == "verified" and delivery.event_type == "obligation.amount_applied":
            if delivery.webhook_id in self._queued:  # a retry found it still waiting here
                return
            self._queued.add(delivery.webhook_id or "")
            self._idle.clear()
            self._queue.put_nowait(delivery)

    async def catch_up(self) -> int:
        """Queue verified events stored but never applied (the process stopped between,
        or the API could not be asked); returns how many. Also hands the confirmer the
        applications a stop left unchecked (state ``applied``).

        All of them, page by page: a crash in the middle of a burst can leave thousands.
        """
        await self._recheck()
        return await self._queue_unapplied()

    async def _recheck(self) -> None:
        if self._confirmer is None:
            return
        after = 0
        while True:
            page = await self.workspace.read(
                functools.partial(applications.unchecked, limit=CATCH_UP_PAGE, after=after)
            )
            for app in page:
                self._confirmer.add(app)  # (one already waiting is not added twice)
            if len(page) < CATCH_UP_PAGE:
                return
            after = page[-1].delivery_seq

    async def _queue_unapplied(self) -> int:
        total, after = 0, 0
        seen: set[str] = set()
        while True:
            pending = await self.workspace.read(functools.partial(_unapplied, after=after))
            for delivery in pending:
                self.submit(delivery)
                seen.add(delivery.webhook_id or "")
            total += len(pending)
            if len(pending) < CATCH_UP_PAGE:
                break
            after = pending[-1].seq
        # Applied meanwhile by another process sharing the workspace (the console).
        for webhook_id in [w for w in self._pending if w not in seen]:
            del self._pending[webhook_id]
        return total

    @property
    def pending(self) -> Mapping[str, str]:
        """Events this reconciler tried and had to leave unapplied: webhook-id → why."""
        return self._pending

    async def idle(self) -> None:
        """Wait until everything submitted so far is applied and checked."""
        await self._idle.wait()
        if self._confirmer is not None:
            await self._confirmer.idle()

    async def _run(self) -> None:
        retried = self._clock()
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), RETRY_SECONDS)
            except TimeoutError:
                # Quiet for a while: pick up anything a failure left unapplied.
                await self._queue_unapplied()
                retried = self._clock()
                continue
            batch = [first]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._queued.difference_update(d.webhook_id or "" for d in batch)
            try:
                await self.process(batch)
            except Exception:  # keep going; the events stay unapplied for catch_up
                log.exception("applying %d events failed", len(batch))
            if self._clock() - retried >= RETRY_SECONDS:
                # Under steady traffic the loop is never quiet: events left unapplied
                # (the API could not be asked, a write failed) are retried on this
                # deadline too, which new deliveries do not move.
                await self._queue_unapplied()
                retried = self._clock()
            if self._queue.empty():
                self._idle.set()

    # --- the work ---------------------------------------------------------------------

    async def process(self, deliveries: list[Delivery]) -> list[Application]:
        """Apply a batch; returns the new applications. Their confirmation runs in the
        background, so applying the next batch never waits on the API."""
        lookups = await self._fetch_targets(deliveries)
        left: list[Delivery] = []  # could not be applied now (target unknown, API silent)
        # atomic: _apply_each keeps its own savepoint and never raises.
        applied = await self.workspace.writer.submit(
            lambda conn: self._apply_each(conn, deliveries, lookups, left), atomic=True
        )
        self._left_unapplied(left, lookups)
        results: list[Application] = []
        for app, fresh in applied:
            self._pending.pop(app.webhook_id, None)
            if fresh:
                self._announce(app)
                results.append(app)
                if app.state == "applied" and self._confirmer is not None:
                    self._confirmer.add(app)
        return results

    def _announce(self, app: Application) -> None:
        if self.on_application is not None:
            self.on_application(app)

    async def _fetch_targets(self, deliveries: list[Delivery]) -> _Lookups:
        """Step 1: fetch targets the catalogue has never seen, and those of events that
        waited for the API (when an API is at hand).

        A 404 is an answer (``answered``); any other failure (``failed``) means the API
        could not be asked, and then it is not asked again for the rest of the batch
        or for ``API_PAUSE`` seconds: a failing API costs one request per retry, not
        one per event (each of which may wait out the client's timeouts and retries).
        """
        lookups = _Lookups()
        if self.client is None:
            return lookups
        waited = {d.webhook_id for d in deliveries if d.webhook_id in self._pending}

        def plan(conn: sqlite3.Connection) -> list[tuple[Target, str | None]]:
            missing: dict[tuple[Target, str | None], None] = {}
            for d in deliveries:
                target = d.target()
                if target is None:
                    continue
                entry = catalogue.get(conn, *target)
                # Fetched again, not applied to the catalogue's copy, when nothing says
                # whether that copy includes the payment: the event waited for the API
                # (in this process), or the copy came from the API after the event
                # arrived (say, the console listed it while this process was stopped).
                # Not for the confirmer's own re-fetches: under load they come every
                # moment for a busy bill, and what they race with shows up as drift.
                if entry is not None and (
                    d.webhook_id in waited
                    or (entry.source in LEARNED_ELSEWHERE and entry.updated_at > d.received_at)
                ):
                    lookups.retried.add(target)
                if entry is None or target in lookups.retried:
                    missing[(target, d.currency)] = None
            return list(missing)

        missing = await self.workspace.read(plan)
        failed = False
        for (kind, ref), currency in sorted(missing, key=lambda t: (t[0], t[1] or "")):
            if failed or self._clock() < self._pause_until:
                lookups.failed[(kind, ref)] = self._pause_reason
                continue
            try:
                obj = await self.client.get(kind, ref)
                found: dict[Target, BillingObject] = {}
                if kind != "bill" and currency:
                    await self._fetch_open_bills(kind, obj.id, currency, found)
            except (NotFound, InvalidReference) as exc:
                lookups.answered[(kind, ref)] = _unknown_note(kind, exc)
            except MomentError as exc:
                lookups.failed[(kind, ref)] = self._pause(exc)
                failed = True
            else:
                # By id, and by the reference the event named it with (if not its id).
                lookups.fetched.update(found)
                lookups.fetched[(obj.KIND, obj.id)] = lookups.fetched[(kind, ref)] = obj
        return lookups

    def _pause(self, exc: MomentError) -> str:
        """The API could not be asked: stop asking for a while; the reason to show."""
        pause = API_PAUSE
        if isinstance(exc, RateLimited) and exc.retry_after:
            pause = max(pause, min(exc.retry_after, RETRY_SECONDS))
        self._pause_until = self._clock() + pause
        # str() of a client error never holds the key (moment_tui.api.errors).
        self._pause_reason = f"it had to be fetched, and the API could not be asked: {exc}"
        return self._pause_reason

    async def _fetch_open_bills(
        self,
        kind: ObjectKind,
        holder_id: str,
        currency: str,
        fetched: dict[Target, BillingObject],
    ) -> None:
        """An unknown account or customer may still have bills the catalogue knows: the
        server settled those first, so their server copies are fetched too. A bill the
        API no longer has is left as it is; any other failure is raised, and the
        holder's event waits for the API (applying it without those copies would leave
        them stale for good)."""
        assert self.client is not None
        known = await self.workspace.read(
            lambda conn: catalogue.open_bills(conn, kind, holder_id, currency)
        )
        for bill, _ in known[:MAX_REFRESHED_BILLS]:
            with contextlib.suppress(NotFound):
                fetched[("bill", bill.id)] = await self.client.get("bill", bill.id)

    def _left_unapplied(self, left: list[Delivery], lookups: _Lookups) -> None:
        """Keep (and log, once per event) why these events are not applied yet."""
        fresh: dict[tuple[Target, str], list[Delivery]] = {}
        for delivery in left:
            assert delivery.webhook_id is not None
            target = delivery.target()
            assert target is not None
            reason = lookups.failed.get(target) or (
                NO_API if self.client is None else "not in the catalogue yet"
            )
            if delivery.webhook_id not in self._pending:
                fresh.setdefault((target, reason), []).append(delivery)
            self._pending[delivery.webhook_id] = reason
        for ((kind, ref), reason), items in fresh.items():
            shown = ", ".join(f"#{d.seq} ({d.webhook_id})" for d in items[:3])
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            log.warning(
                "%s %s: %s; event %s%s left unapplied (tried again after %.0f s without"
                " deliveries, and at the next start)",
                kind,
                ref,
                reason,
                shown,
                more,
                RETRY_SECONDS,
            )

    def _apply_each(
        self,
        conn: sqlite3.Connection,
        deliveries: list[Delivery],
        lookups: _Lookups,
        left: list[Delivery],
    ) -> list[tuple[Application, bool]]:
        """Step 2 for a batch, on the writer thread: (application, whether it is new)
        for each delivery, in order; those that cannot be applied yet (their target is
        unknown and the API could not be asked) are put in ``left``, unrecorded.

        The batch runs in one savepoint. The application's unique ``webhook_id`` is
        the guard: an event applied before fails to insert; so does one that cannot
        be applied. Either rolls the batch back, and the batch is applied again
        without that event — whose changes are never kept, and which (if it was not
        applied before) stays unapplied for ``catch_up``. One savepoint per batch
        rather than per event: each statement hands the interpreter lock to the
        event loop and waits to get it back, and under load that wait is most of
        what applying costs.
        """
        now = now_iso()  # one clock reading for the batch
        first: dict[str, Delivery] = {}  # a webhook-id offered twice is applied once
        for delivery in deliveries:
            assert delivery.webhook_id is not None
            first.setdefault(delivery.webhook_id, delivery)
        todo = list(first.values())
        known: dict[str, Application] = {}  # applied before this batch
        bill_ids = [d.bill_id for d in todo if d.bill_id]
        while True:
            # The batch's bills in one read; an event takes its bill's copy (a second
            # event on the same bill, or a retry after a rollback, reads it afresh).
            bills = catalogue.get_many(conn, "bill", bill_ids)
            conn.execute("SAVEPOINT batch")
            applied: dict[str, Application] = {}
            failure: tuple[Delivery, Exception] | None = None
            left.clear()
            for delivery in todo:
                try:
                    app = self._plan(conn, delivery, lookups, now, bills)
                    if app is None:  # changed nothing: no need to roll anything back
                        left.append(delivery)
                        continue
                    applications.insert(conn, app)
                except Exception as exc:
                    failure = (delivery, exc)
                    break
                applied[app.webhook_id] = app
            if failure is None:
                conn.execute("RELEASE batch")
                return self._in_order(deliveries, applied, known)
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            delivery, error = failure
            todo.remove(delivery)
            assert delivery.webhook_id is not None
            existing = (
                applications.get(conn, delivery.webhook_id)
                if isinstance(error, sqlite3.IntegrityError)
                else None
            )
            if existing is not None:
                known[delivery.webhook_id] = existing
            else:
                log.error(
                    "applying delivery #%d (%s) failed",
                    delivery.seq,
                    delivery.webhook_id,
                    exc_info=error,
                )

    @staticmethod
    def _in_order(
        deliveries: list[Delivery],
        applied: Mapping[str, Application],
        known: Mapping[str, Application],
    ) -> list[tuple[Application, bool]]:
        results: list[tuple[Application, bool]] = []
        reported: set[str] = set()
        for delivery in deliveries:
            webhook_id = delivery.webhook_id or ""
            if webhook_id in applied:
                # New for the first copy in the batch; a second copy was not applied.
                results.append((applied[webhook_id], webhook_id not in reported))
                reported.add(webhook_id)
            elif webhook_id in known:
                results.append((known[webhook_id], False))
        return results

    def _plan(
        self,
        conn: sqlite3.Connection,
        d: Delivery,
        lookups: _Lookups,
        now: str,
        bills: dict[str, catalogue.Entry[Any]],
    ) -> Application | None:
        """What one event does — None when it cannot be applied yet; ``bills``: the
        batch's bills read ahead, each taken (and so read afresh the next time) once an
        event has used it."""
        fetched = lookups.fetched
        target = d.target()
        base: dict[str, Any] = {
            "delivery_seq": d.seq,
            "webhook_id": d.webhook_id,
            "applied_at": now,
            "target_kind": target[0] if target else None,
            "target_id": target[1] if target else None,
        }
        if target is None or d.amount is None or d.currency is None:
            return Application(**base, outcome="skipped", state="unconfirmed", note="no target")
        if d.amount <= 0:
            refused = f"the amount {d.amount} is not positive: not applied"
            return Application(**base, outcome="skipped", state="unconfirmed", note=refused)
        kind, target_id = target
        entry = bills.pop(target_id, None) if kind == "bill" else None
        entry = entry or catalogue.get(conn, kind, target_id)
        server_copy = fetched.get((kind, entry.obj.id if entry else target_id))
        if kind != "bill":
            bills.clear()  # a holder's payment may change any of its bills
        if server_copy is not None:
            # Always stored (the server's copy wins; storing it again for a second
            # event of the batch changes nothing): a bill fetched for its unknown
            # holder must not depend on the holder's event to be stored.
            catalogue.upsert(conn, server_copy, "webhook", search=self.workspace.search_available)
            changes = () if kind == "bill" else self._refresh_bills(conn, server_copy, fetched)
            fresh = "fetched from the API; its copy already includes this payment"
            if changes:
                fresh += "; its bills' copies too"
            return Application(
                **base, outcome="fetched", state="confirmed", note=fresh, changes=changes
            )
        if target in lookups.failed:  # it had to be asked, and could not be: later
            return None
        if entry is None:
            unknown = lookups.answered.get(target)
            if unknown is None:  # the API could not be asked (or there is none): later
                return None
            return Application(**base, outcome="unknown_target", state="unconfirmed", note=unknown)
        if isinstance(entry.obj, Bill):
            changes, note = _apply_bill(conn, entry.obj, d.amount, d.currency, now)
            # Nothing changed (another currency, a voided bill): still checked with the API.
            outcome: Outcome = "applied" if changes else "skipped"
            return self._applied(base, note, outcome=outcome, changes=changes)
        holder: Customer | Account = entry.obj
        applied = _apply_holder(conn, kind, holder, d.amount, d.currency, now)
        return self._applied(base, applied.pop("note"), **applied)

    def _applied(self, base: dict[str, Any], note: str | None, **fields: Any) -> Application:
        """An application to be confirmed by the Confirmer — or, with no API to ask,
        settled at once as ``unconfirmed``."""
        if self.client is not None:
            return Application(**base, note=note, **fields)
        return Application(
            **base,
            **fields,
            state="unconfirmed",
            checked_at=base["applied_at"],
            note=note or "no API to confirm against",
        )

    def _refresh_bills(
        self,
        conn: sqlite3.Connection,
        holder: BillingObject,
        fetched: Mapping[Target, BillingObject],
    ) -> tuple[Change, ...]:
        """Store the server's copies of a fetched holder's bills; what they changed."""
        changes: list[Change] = []
        for (kind, _), server in fetched.items():
            if kind != "bill" or not isinstance(server, Bill):
                continue
            if holder.id not in (server.account_id, server.customer_id):
                continue
            ours = catalogue.get(conn, "bill", server.id)
            if ours is None:
                continue
            changes += [
                Change(d.kind, d.id, d.field, d.ours, d.server)
                for d in compare_money("bill", ours.obj, server)
            ]
            catalogue.upsert(conn, server, "refetched", search=self.workspace.search_available)
        return tuple(changes)


def _unknown_note(kind: str, exc: MomentError) -> str:
    if isinstance(exc, NotFound):
        return f"not in the catalogue, and the API answered 404: it has no such {kind}"
    return f"not in the catalogue, and it cannot be fetched: {exc}"


def _unapplied(conn: sqlite3.Connection, *, after: int) -> list[Delivery]:
    return eventlog.unapplied(conn, CATCH_UP_PAGE, after=after)


def _apply_bill(
    conn: sqlite3.Connection, bill: Bill, amount: int, currency: str, now: str
) -> tuple[tuple[Change, ...], str | None]:
    if bill.currency != currency:
        return (), f"event is in {currency}, the bill in {bill.currency}: not applied"
    if bill.status is BillStatus.VOIDED:
        return (), "the bill is voided in the catalogue: not applied"
    note = "more than the bill's remaining amount" if amount > bill.amount_remaining else None
    return _settle_bill(conn, bill, amount, now), note


def _settle_bill(conn: sqlite3.Connection, bill: Bill, amount: int, now: str) -> tuple[Change, ...]:
    """Add ``amount`` to a bill in the catalogue; the changes it made."""
    after = settle(bill.amount_due, bill.amount_paid + amount)
    catalogue.set_bill_money(
        conn,
        bill.id,
        amount_paid=after.amount_paid,
        amount_remaining=after.amount_remaining,
        status=after.status.value,
        source="applied",
        now=now,
    )
    before = (bill.amount_paid, bill.amount_remaining, bill.status.value)
    later = (after.amount_paid, after.amount_remaining, after.status.value)
    fields = ("amount_paid", "amount_remaining", "status")
    return tuple(
        Change("bill", bill.id, name, old, new)
        for name, old, new in zip(fields, before, later, strict=True)
        if old != new
    )


def _apply_holder(
    conn: sqlite3.Connection,
    kind: ObjectKind,
    holder: Customer | Account,
    amount: int,
    currency: str,
    now: str,
) -> dict[str, Any]:
    """Share an account's or customer's payment out; the application's fields."""
    bills = catalogue.open_bills(conn, kind, holder.id, currency)
    candidates = [
        OpenBill(b.id, b.amount_remaining, b.due_date, b.bill_date, order, b.currency)
        for b, order in bills
    ]
    tracked = holder.balance is not None and holder.currency in (None, currency)
    allocation = allocate(amount, candidates, balance_tracked=tracked)
    changes: list[Change] = []
    by_id = {b.id: b for b, _ in bills}
    for bill_id, part in allocation.bills:
        changes += _settle_bill(conn, by_id[bill_id], part, now)
    if allocation.to_balance:
        assert holder.balance is not None
        balance = holder.balance - allocation.to_balance
        catalogue.set_balance(conn, kind, holder.id, balance, source="applied", now=now)
        changes.append(Change(kind, holder.id, "balance", holder.balance, balance))
    note = None
    if allocation.unallocated:
        left = amount_text(allocation.unallocated, currency)
        note = f"{left} could not be allocated (no open bills or balance left)"
    return {
        "outcome": "applied",
        "changes": tuple(changes),
        "allocation": allocation.bills,
        "to_balance": allocation.to_balance,
        "unallocated": allocation.unallocated,
        "note": note,
    }
