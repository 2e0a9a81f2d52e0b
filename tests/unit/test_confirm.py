"""Confirmation is per object: one re-fetch settles a whole burst of events on it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.api.models import Bill, BillStatus
from moment_tui.store import applications
from moment_tui.store.applications import Application, Drift
from moment_tui.store.catalogue import now_iso
from moment_tui.store.eventlog import Incoming
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.confirm import Confirmer

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


def server(bill: dict[str, Any], gets: list[str], *, fail: bool = False) -> MomentClient:
    def answer(request: httpx.Request) -> httpx.Response:
        gets.append(request.url.path)
        if fail:
            return httpx.Response(503, json={"title": "Unavailable", "status": 503})
        return httpx.Response(200, json=bill)

    return MomentClient(
        "sk_test_confirm12345678",
        base_url="https://moment.test",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
    )


async def applied_events(workspace: Workspace, count: int) -> list[Application]:
    """``count`` stored deliveries with an "applied" application each, all on BILL."""
    apps = []
    for index in range(count):
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
    tmp_path: Path, bill: dict[str, Any], *, fail: bool = False
) -> tuple[list[Application], list[str], Workspace]:
    workspace = Workspace(tmp_path / "ws.sqlite3")
    await workspace.remember([BILL], "listed")
    gets: list[str] = []
    announced: list[Application] = []
    client = server(bill, gets, fail=fail)
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


async def test_an_unreachable_api_leaves_events_unconfirmed_with_the_reason(
    tmp_path: Path,
) -> None:
    announced, gets, workspace = await settle(tmp_path, {}, fail=True)
    try:
        assert len(gets) == 1
        assert {a.state for a in announced} == {"unconfirmed"}
        assert announced[0].note is not None
        assert "could not re-fetch bill" in announced[0].note
        assert "503" in announced[0].note
    finally:
        workspace.close()
