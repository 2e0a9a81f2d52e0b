"""Confirmation is per object: one re-fetch settles a whole burst of events on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.api.models import Bill, BillStatus
from moment_tui.store import applications, catalogue
from moment_tui.store.applications import Application, Change, Drift
from moment_tui.store.catalogue import now_iso
from moment_tui.store.eventlog import Incoming
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.confirm import MAX_OVERTAKEN, RECHECK_DELAYS, Confirmer

BILL = Bill(
    id="bill_confirm0000000000001",
    external_reference="INV-1",
    customer_id="bcus_1",
    status=BillStatus.UNPAID,
    currency="ZAR",
    amount_due=10_000,
    amount_paid=2_500,
    amount_remaining=7_500,
)


def server(bill: dict[str, Any], gets: list[str]) -> MomentClient:
    def answer(request: httpx.Request) -> httpx.Response:
        gets.append(request.url.path)
        return httpx.Response(200, json=bill)

    return MomentClient(
        "sk_test_confirm12345678",
        base_url="https://moment.test",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
    )


async def applied_events(workspace: Workspace, count: int, first: int = 0) -> list[Application]:
    """``count`` stored deliveries with an "applied" application each, all on BILL."""
    apps = []
    for index in range(first, first + count):
        delivery = await workspace.record(
            Incoming(
                received_at=now_iso(),
                remote=None,
                headers={},
                body=b"{}",
                body_size=2,
                verified=True,
                reason=None,
                message="verified",
                status=200,
                webhook_id=f"msg_confirm_{index}",
                event_type="obligation.amount_applied",
                amount=100,
                currency="ZAR",
                bill_id=BILL.id,
            )
        )
        app = Application(
            delivery_seq=delivery.seq,
            webhook_id=f"msg_confirm_{index}",
            applied_at=now_iso(),
            outcome="applied",
            target_kind="bill",
            target_id=BILL.id,
        )
        await workspace.writer.submit(lambda conn, app=app: applications.insert(conn, app))
        apps.append(app)
    return apps


async def settle(
    tmp_path: Path, bill: dict[str, Any]
) -> tuple[list[Application], list[str], Workspace]:
    workspace = Workspace(tmp_path / "ws.sqlite3")
    await workspace.remember([BILL], "listed")
    gets: list[str] = []
    announced: list[Application] = []
    client = server(bill, gets)
    confirmer = Confirmer(workspace, client, announced.append, grace=0.05)
    for app in await applied_events(workspace, 50):
        confirmer.add(app)  # all queued before the confirmer runs: one burst
    confirmer.start()
    try:
        await asyncio.wait_for(confirmer.idle(), 10)
    finally:
        await confirmer.close()
        await client.aclose()
    return announced, gets, workspace


async def test_one_fetch_confirms_a_burst(tmp_path: Path) -> None:
    announced, gets, workspace = await settle(tmp_path, BILL.model_dump(mode="json"))
    try:
        assert gets == [f"/billing/bills/{BILL.id}"]
        assert len(announced) == 50
        assert {a.state for a in announced} == {"confirmed"}
        stored = await workspace.read(lambda c: applications.get(c, "msg_confirm_49"))
        assert stored is not None
        assert stored.state == "confirmed"
    finally:
        workspace.close()


async def test_a_lasting_difference_is_drift_for_every_waiting_event(tmp_path: Path) -> None:
    moved = BILL.model_dump(mode="json") | {"amount_paid": 4_000, "amount_remaining": 6_000}
    announced, gets, workspace = await settle(tmp_path, moved)
    try:
        assert len(gets) == 2  # looked again after the grace, then called it drift
        assert {a.state for a in announced} == {"drift"}
        assert announced[0].drift == (
            Drift("bill", BILL.id, "amount_paid", 2_500, 4_000),
            Drift("bill", BILL.id, "amount_remaining", 7_500, 6_000),
        )
    finally:
        workspace.close()


# --- a re-fetch that fails: tried again later, with backoff ------------------------------


class FakeTime:
    """A clock and a sleep the test moves by hand: backoffs of a minute take no time."""

    def __init__(self) -> None:
        self.now = 100.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    def next_wake(self) -> float | None:
        """How far ahead the confirmer is asleep until (None: not waiting on time)."""
        waiting = [at for at, future in self._sleepers if not future.done()]
        return min(waiting) - self.now if waiting else None

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for at, future in self._sleepers:
            if at <= self.now and not future.done():
                future.set_result(None)


async def until(condition: Callable[[], object]) -> None:
    """Poll (the writer works on its own thread); a deadline, never a fixed wait."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


Answer = Callable[[httpx.Request], httpx.Response]


def scripted(answers: list[Answer], gets: list[str]) -> MomentClient:
    """Answers in turn; the last one for every later request."""

    def answer(request: httpx.Request) -> httpx.Response:
        gets.append(request.url.path)
        return answers[min(len(gets), len(answers)) - 1](request)

    return MomentClient(
        "sk_test_confirm12345678",
        base_url="https://moment.test",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
    )


def ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=BILL.model_dump(mode="json"))


def unavailable(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def rate_limited(_request: httpx.Request) -> httpx.Response:
    body = {"title": "Too Many Requests", "status": 429}
    return httpx.Response(429, headers={"Retry-After": "7"}, json=body)


def gone(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"title": "Not Found", "status": 404})


@dataclass
class Run:
    confirmer: Confirmer
    workspace: Workspace
    time: FakeTime
    gets: list[str]
    announced: list[Application]

    async def stored_states(self) -> set[str]:
        def states(conn: Any) -> set[str]:
            return {row[0] for row in conn.execute("SELECT state FROM applications")}

        found: set[str] = await self.workspace.read(states)
        return found


@pytest.fixture
async def run_with(tmp_path: Path) -> AsyncIterator[Callable[[list[Answer]], Awaitable[Run]]]:
    """``await run_with([answers…])``: 5 events on BILL handed to a started confirmer
    whose clock and sleep are a :class:`FakeTime`."""
    workspace = Workspace(tmp_path / "ws.sqlite3")
    await workspace.remember([BILL], "listed")
    started: list[tuple[Confirmer, MomentClient]] = []

    async def start(answers: list[Answer]) -> Run:
        fake, gets, announced = FakeTime(), [], []
        client = scripted(answers, gets)
        confirmer = Confirmer(
            workspace, client, announced.append, grace=0.05, clock=fake.clock, sleep=fake.sleep
        )
        started.append((confirmer, client))
        for app in await applied_events(workspace, 5):
            confirmer.add(app)
        confirmer.start()
        return Run(confirmer, workspace, fake, gets, announced)

    yield start
    for confirmer, client in started:
        await confirmer.close()
        await client.aclose()
    workspace.close()


async def test_a_failed_re_fetch_is_tried_again_later(run_with: Any) -> None:
    run: Run = await run_with([unavailable, refused, ok])
    await until(lambda: run.time.next_wake() is not None)
    assert len(run.gets) == 1
    assert run.time.next_wake() == RECHECK_DELAYS[0]
    assert run.announced == []  # not given up on
    assert await run.stored_states() == {"applied"}
    run.time.advance(RECHECK_DELAYS[0])
    await until(lambda: len(run.gets) == 2 and run.time.next_wake() is not None)
    assert run.time.next_wake() == RECHECK_DELAYS[1]  # backing off
    assert run.announced == []
    run.time.advance(RECHECK_DELAYS[1])
    await asyncio.wait_for(run.confirmer.idle(), 10)
    assert len(run.gets) == 3
    assert [a.state for a in run.announced] == ["confirmed"] * 5
    assert await run.stored_states() == {"confirmed"}


async def test_after_every_attempt_fails_the_events_are_unconfirmed_with_the_last_error(
    run_with: Any,
) -> None:
    run: Run = await run_with([refused, unavailable])
    waits = []
    for attempt in range(1, len(RECHECK_DELAYS) + 1):
        await until(lambda a=attempt: len(run.gets) == a and run.time.next_wake() is not None)
        wait = run.time.next_wake()
        assert wait is not None
        waits.append(wait)
        assert run.announced == []
        run.time.advance(wait)
    await asyncio.wait_for(run.confirmer.idle(), 10)
    assert waits == list(RECHECK_DELAYS)
    assert len(run.gets) == len(RECHECK_DELAYS) + 1
    assert {a.state for a in run.announced} == {"unconfirmed"}
    assert len(run.announced) == 5
    note = run.announced[0].note
    assert note is not None
    assert f"could not re-fetch bill {BILL.id}" in note
    assert f"{len(RECHECK_DELAYS) + 1} attempts" in note
    assert "503" in note  # the last error, not the first
    assert await run.stored_states() == {"unconfirmed"}


async def test_a_429_waits_at_least_as_long_as_it_asks(run_with: Any) -> None:
    run: Run = await run_with([rate_limited, ok])
    await until(lambda: run.time.next_wake() is not None)
    assert run.time.next_wake() == 7.0
    run.time.advance(7.0)
    await asyncio.wait_for(run.confirmer.idle(), 10)
    assert [a.state for a in run.announced] == ["confirmed"] * 5


async def test_an_event_applied_during_a_backoff_waits_with_the_others(run_with: Any) -> None:
    run: Run = await run_with([unavailable, ok])
    await until(lambda: run.time.next_wake() is not None)
    [later] = await applied_events(run.workspace, 1, first=5)
    run.confirmer.add(later)
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(run.gets) == 1  # not fetched again before the backoff is over
    run.time.advance(RECHECK_DELAYS[0])
    await asyncio.wait_for(run.confirmer.idle(), 10)
    assert len(run.gets) == 2
    assert [a.state for a in run.announced] == ["confirmed"] * 6


async def test_a_404_on_re_fetch_is_final(run_with: Any) -> None:
    """The object is gone from the API: nothing to compare with or to copy, and waiting
    will not bring it back. Unconfirmed, saying so; the catalogue's copy is kept."""
    run: Run = await run_with([gone])
    await asyncio.wait_for(run.confirmer.idle(), 10)
    assert len(run.gets) == 1
    assert {a.state for a in run.announced} == {"unconfirmed"}
    assert run.announced[0].note == (
        f"could not re-fetch bill {BILL.id}: the API answered 404 (it no longer has it);"
        " the catalogue's copy is kept"
    )
    entry = await run.workspace.read(lambda c: catalogue.get(c, "bill", BILL.id))
    assert entry is not None


async def test_a_confirmer_adds_an_event_once(run_with: Any) -> None:
    """Handing in an application already waiting (a catch-up finding it unchecked while
    it is) settles it once."""
    run: Run = await run_with([unavailable, ok])
    await until(lambda: run.time.next_wake() is not None)
    again = await run.workspace.read(lambda c: applications.get(c, "msg_confirm_0"))
    run.confirmer.add(again)
    run.time.advance(RECHECK_DELAYS[0])
    await asyncio.wait_for(run.confirmer.idle(), 10)
    assert len(run.announced) == 5


async def test_close_stops_the_checks_in_flight(tmp_path: Path) -> None:
    """A re-fetch still waiting for its answer when the confirmer closes is cancelled
    with it: nothing outlives the client and the workspace it uses."""
    asked = asyncio.Event()

    async def never_answers(request: httpx.Request) -> httpx.Response:
        asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    workspace = Workspace(tmp_path / "ws.sqlite3")
    client = MomentClient(
        "sk_test_confirm12345678",
        base_url="https://moment.test",
        transport=httpx.MockTransport(never_answers),
        retry=RetryPolicy(max_attempts=1),
    )
    confirmer = Confirmer(workspace, client, lambda app: None)
    try:
        [app] = await applied_events(workspace, 1)
        confirmer.add(app)
        confirmer.start()
        await asyncio.wait_for(asked.wait(), 10)
        await confirmer.close()
        alive = [t.get_name() for t in asyncio.all_tasks() if "Confirmer" in repr(t)]
        assert alive == []
        stored = await workspace.read(lambda c: applications.get(c, app.webhook_id))
        assert stored is not None
        assert stored.state == "applied"  # not settled: checked again at the next start
    finally:
        await client.aclose()
        workspace.close()


# --- a copy that changes while it is fetched, and other processes' events ----------------


async def confirm_one(workspace: Workspace, answer: Any) -> list[Application]:
    """One applied event on BILL, checked against ``answer`` (a MockTransport handler)
    with a minute's drift grace and no wait after an overtaken fetch; what was announced."""
    client = MomentClient(
        "sk_test_confirm12345678",
        base_url="https://moment.test",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
    )
    announced: list[Application] = []
    confirmer = Confirmer(workspace, client, announced.append, grace=60, stale_delay=0)
    try:
        [app] = await applied_events(workspace, 1)
        confirmer.add(app)
        confirmer.start()
        await asyncio.wait_for(confirmer.idle(), 10)  # far inside the minute's grace
    finally:
        await confirmer.close()
        await client.aclose()
    return announced


async def test_a_fetch_overtaken_by_a_change_to_our_copy_is_made_again(tmp_path: Path) -> None:
    """An event applied while the re-fetch is in flight: the answer may predate the
    payment, so it is no evidence either way; it is fetched again at once (not after
    the drift grace, which here is a minute)."""
    workspace = Workspace(tmp_path / "ws.sqlite3")
    await workspace.remember([BILL], "listed")
    paid = BILL.model_copy(update={"amount_paid": 3_000, "amount_remaining": 7_000})
    gets: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        gets.append(request.url.path)
        if len(gets) == 1:  # the payment lands in our copy meanwhile; this answer predates it
            await workspace.remember([paid], "looked_up")
            return httpx.Response(200, json=BILL.model_dump(mode="json"))
        return httpx.Response(200, json=paid.model_dump(mode="json"))

    try:
        announced = await confirm_one(workspace, answer)
        # Fetched again (twice, if the next fetch began in the same millisecond as the
        # change: "changed since" cannot tell them apart), never compared with the first.
        assert 2 <= len(gets) <= 3
        assert [(a.state, a.drift) for a in announced] == [("confirmed", ())]
    finally:
        workspace.close()


async def test_drift_settles_every_unchecked_event_that_changed_the_object(
    tmp_path: Path,
) -> None:
    """What another process sharing the workspace applied is part of the copy that
    differed; once the server's copy replaces it, those events are drift too, and a
    later check of theirs keeps what was found rather than calling them confirmed."""
    workspace = Workspace(tmp_path / "ws.sqlite3")
    try:
        mine, theirs, elsewhere, via_account = await applied_events(workspace, 4)
        touched = (Change("bill", BILL.id, "amount_paid", 0, 100),)
        other_bill = (Change("bill", "bill_other", "amount_paid", 0, 100),)
        split = (Change("bill", BILL.id, "amount_paid", 100, 200),)

        def rewrite(conn: Any) -> None:
            for app, changes, target, allocation in (
                (mine, touched, BILL.id, None),
                (theirs, touched, BILL.id, None),
                (elsewhere, other_bill, "bill_other", None),
                (via_account, split, "bacc_1", f'{{"bills": [["{BILL.id}", 100]]}}'),
            ):
                conn.execute(
                    "UPDATE applications SET changes = ?, target_id = ?, allocation = ?"
                    " WHERE delivery_seq = ?",
                    (
                        json.dumps([asdict(c) for c in changes]),
                        target,
                        allocation,
                        app.delivery_seq,
                    ),
                )

        await workspace.writer.submit(rewrite)
        drift = (Drift("bill", BILL.id, "amount_paid", 200, 0),)
        settled = await workspace.writer.submit(
            lambda c: applications.settle_as_drift(
                c, "bill", BILL.id, drift, now_iso(), besides={mine.delivery_seq}
            )
        )
        assert settled == sorted([theirs.delivery_seq, via_account.delivery_seq])

        def states(conn: Any) -> dict[str, str]:
            return {
                a.webhook_id: a.state
                for a in applications.for_deliveries(
                    conn, [x.delivery_seq for x in (mine, theirs, elsewhere, via_account)]
                ).values()
            }

        assert await workspace.read(states) == {
            mine.webhook_id: "applied",  # its own check settles it
            theirs.webhook_id: "drift",
            elsewhere.webhook_id: "applied",  # another bill
            via_account.webhook_id: "drift",
        }
        # Their process's check comes later and finds nothing amiss any more: the
        # stored drift stands.
        late = theirs.checked("confirmed", (), now_iso(), None)
        assert not await workspace.writer.submit(lambda c: applications.update_check(c, late))
        stored = await workspace.read(lambda c: applications.get(c, theirs.webhook_id))
        assert stored is not None
        assert (stored.state, stored.drift) == ("drift", drift)
    finally:
        workspace.close()


async def test_an_object_paid_faster_than_it_can_be_fetched_is_still_confirmed(
    tmp_path: Path,
) -> None:
    """Every fetch is overtaken (a payment lands during each one, and the server has
    it): after MAX_OVERTAKEN of them the next is compared anyway, and agreeing, settles."""
    workspace = Workspace(tmp_path / "ws.sqlite3")
    await workspace.remember([BILL], "listed")
    gets: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        gets.append(request.url.path)
        paid = BILL.model_copy(
            update={"amount_paid": BILL.amount_paid + 10 * len(gets)}
        ).model_copy(update={"amount_remaining": BILL.amount_remaining - 10 * len(gets)})
        await workspace.remember([paid], "looked_up")  # ours moves during the fetch
        return httpx.Response(200, json=paid.model_dump(mode="json"))  # and theirs has it

    try:
        announced = await confirm_one(workspace, answer)
        assert len(gets) == MAX_OVERTAKEN + 1
        assert [a.state for a in announced] == ["confirmed"]
    finally:
        workspace.close()


async def test_drift_spares_events_of_a_copy_the_server_agreed_with(tmp_path: Path) -> None:
    """An account payment that paid part of the bill was confirmed on the bill (the
    re-fetch agreed) while it still waits on its account; a later payment's drift on
    the bill is not its drift."""
    workspace = Workspace(tmp_path / "ws.sqlite3")
    try:
        earlier, later = await applied_events(workspace, 2)
        change = (Change("bill", BILL.id, "amount_paid", 0, 100),)

        def setup(conn: Any) -> None:
            for app in (earlier, later):
                conn.execute(
                    "UPDATE applications SET changes = ? WHERE delivery_seq = ?",
                    (json.dumps([asdict(c) for c in change]), app.delivery_seq),
                )
            # The bill's re-fetch agreed after the earlier one was applied …
            applications.mark_agreed(conn, "bill", BILL.id, "9000-01-01T00:00:00.000Z")
            # … and the later one came after that.
            conn.execute(
                "UPDATE applications SET applied_at = ? WHERE delivery_seq = ?",
                ("9999-12-31T23:59:59.999Z", later.delivery_seq),
            )

        await workspace.writer.submit(setup)
        drift = (Drift("bill", BILL.id, "amount_paid", 200, 100),)
        settled = await workspace.writer.submit(
            lambda c: applications.settle_as_drift(
                c, "bill", BILL.id, drift, now_iso(), besides=set()
            )
        )
        assert settled == [later.delivery_seq]
    finally:
        workspace.close()
