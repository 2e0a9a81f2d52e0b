"""Webhook delivery to a real local receiver: signatures, retries, the log, restarts."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import BadRequest
from moment_tui.sandbox.server import Sandbox
from moment_tui.webhooks.signing import new_webhook_secret
from moment_tui.webhooks.verify import Reason, Verifier
from tests.integration.conftest import (
    FAST_SCHEDULE,
    Delivery,
    Receiver,
    StartSandbox,
    eventually,
    make_client,
    post,
    ref,
    stop,
)

OB_ID = re.compile(r"^ob_[A-Za-z0-9]{21}$")
MSG_ID = re.compile(r"^msg_[A-Za-z0-9]{27}$")
SIGNATURE = re.compile(r"^v1,[A-Za-z0-9+/]{43}=$")


async def _webhook_sandbox(
    start_sandbox: StartSandbox, receiver: Receiver, *secrets: str, **config: Any
) -> Sandbox:
    config.setdefault("retry_schedule", FAST_SCHEDULE)
    return await start_sandbox(webhook_url=receiver.url, webhook_secrets=tuple(secrets), **config)


async def _bill_payment(
    client: MomentClient, amount: int = 1500
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A bill on a new account of a new customer, paid in part; (bill, payment)."""
    bill = await post(
        client,
        "/billing/bills",
        {
            "external_reference": ref("bill"),
            "currency": "ZAR",
            "amount_due": 2000,
            "account": {
                "external_reference": ref("acc"),
                "customer": {"external_reference": ref("cus")},
            },
        },
    )
    payment = await post(client, "/sandbox/payments", {"bill": bill.body["id"], "amount": amount})
    return bill.body, payment.body


async def _event(client: MomentClient, event_id: str) -> dict[str, Any]:
    events = (await client.request("GET", "/sandbox/events", params={"limit": "500"})).body
    matching = [e for e in events["data"] if e["id"] == event_id]
    assert len(matching) == 1
    event: dict[str, Any] = matching[0]
    return event


async def _log(client: MomentClient, event_id: str) -> list[dict[str, Any]]:
    response = await client.request("GET", "/sandbox/deliveries", params={"event": event_id})
    entries: list[dict[str, Any]] = response.body["data"]
    return entries


async def _state_is(client: MomentClient, event_id: str, state: str) -> dict[str, Any] | None:
    event = await _event(client, event_id)
    return event if event["state"] == state else None


def _verifies(delivery: Delivery, secret: str) -> bool:
    try:
        Webhook(secret).verify(delivery.body, delivery.headers)
    except WebhookVerificationError:
        return False
    return True


# --- signing --------------------------------------------------------------------------


async def test_delivery_is_signed_and_verifies(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret)
    async with make_client(sandbox.url) as client:
        bill, payment = await _bill_payment(client)
        await eventually(lambda: receiver.deliveries)
        delivered = await eventually(lambda: _state_is(client, payment["event_id"], "delivered"))
        log = await _log(client, payment["event_id"])

    assert len(receiver.deliveries) == 1
    delivery = receiver.deliveries[0]
    assert MSG_ID.match(delivery.webhook_id)
    assert delivery.webhook_id == delivered["webhook_id"]
    assert abs(delivery.timestamp - delivery.received_at) <= 1.5
    assert SIGNATURE.match(delivery.headers["webhook-signature"])
    assert delivery.headers["content-type"].startswith("application/json")

    verdict = Verifier([secret]).verify(delivery.headers, delivery.body)
    assert verdict.ok, verdict.message
    assert verdict.webhook_id == delivery.webhook_id
    assert verdict.event is not None
    assert verdict.event.id == payment["event_id"]
    assert verdict.amount_applied is not None
    assert verdict.amount_applied.target() == ("bill", bill["id"])
    # Independently, the Standard Webhooks reference library agrees.
    assert Webhook(secret).verify(delivery.body, delivery.headers) == delivery.json()

    body = delivery.json()
    assert set(body) == {"id", "type", "data"}
    assert (body["id"], body["type"]) == (payment["event_id"], "obligation.amount_applied")
    data = body["data"]
    assert OB_ID.match(data.pop("id"))
    assert data.pop("created_at") == data.pop("updated_at") == payment["created_at"]
    assert data == {
        "amount": 1500,
        "currency": "ZAR",
        "payment_id": payment["id"],
        "customer_id": bill["customer_id"],
        "account_id": bill["account_id"],
        "bill_id": bill["id"],
        "metadata": {},
    }
    assert delivered["attempts"] == 1
    assert len(log) == 1
    entry = log[0]
    assert entry["attempt"] == 1
    assert entry["status_code"] == 200
    assert (entry["response"], entry["error"]) == ("ok", None)
    assert entry["url"] == receiver.url
    assert entry["webhook_id"] == delivery.webhook_id
    assert entry["webhook_timestamp"] == delivery.timestamp
    assert entry["latency_ms"] >= 0


async def test_wrong_secret_does_not_verify(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret)
    async with make_client(sandbox.url) as client:
        await _bill_payment(client)
        await eventually(lambda: receiver.deliveries)
    delivery = receiver.deliveries[0]
    other = new_webhook_secret()
    verdict = Verifier([other]).verify(delivery.headers, delivery.body)
    assert not verdict.ok
    assert verdict.reason is Reason.NO_MATCHING_SIGNATURE
    assert not _verifies(delivery, other)
    tampered = Delivery(delivery.headers, delivery.body.replace(b"1500", b"1501"), 0)
    assert not _verifies(tampered, secret)


async def test_every_configured_secret_signs(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    sandbox = await _webhook_sandbox(start_sandbox, receiver, old, new)
    async with make_client(sandbox.url) as client:
        await _bill_payment(client)
        await eventually(lambda: receiver.deliveries)
    delivery = receiver.deliveries[0]
    entries = delivery.headers["webhook-signature"].split(" ")
    assert len(entries) == 2
    assert all(SIGNATURE.match(e) for e in entries)
    for secret in (old, new):
        assert Verifier([secret]).verify(delivery.headers, delivery.body).ok
        assert _verifies(delivery, secret)
    assert Verifier([new, old]).verify(delivery.headers, delivery.body).matched_secret == 0


async def test_event_data_names_what_was_paid(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret)
    async with make_client(sandbox.url) as client:
        customer = (
            await post(
                client,
                "/billing/customers",
                {"external_reference": ref("cus"), "currency": "ZAR", "balance": 900},
            )
        ).body
        account = (
            await post(
                client,
                "/billing/accounts",
                {
                    "external_reference": ref("acc"),
                    "customer": customer["id"],
                    "currency": "ZAR",
                    "balance": 800,
                },
            )
        ).body
        direct = (
            await post(
                client,
                "/billing/bills",
                {
                    "external_reference": ref("bill"),
                    "currency": "ZAR",
                    "amount_due": 700,
                    "customer": customer["id"],
                },
            )
        ).body
        payments = {
            "bill": (await post(client, "/sandbox/payments", {"bill": direct["id"]})).body,
            "account": (
                await post(client, "/sandbox/payments", {"account": account["id"], "amount": 50})
            ).body,
            "customer": (
                await post(client, "/sandbox/payments", {"customer": customer["id"], "amount": 60})
            ).body,
        }
        await eventually(lambda: len(receiver.deliveries) == 3)
    by_event = {d.json()["id"]: d.json()["data"] for d in receiver.deliveries}
    assert len(by_event) == 3
    assert len({d.webhook_id for d in receiver.deliveries}) == 3
    expected_ids = {
        "bill": {"customer_id": customer["id"], "bill_id": direct["id"]},  # no account
        "account": {"customer_id": customer["id"], "account_id": account["id"]},
        "customer": {"customer_id": customer["id"]},
    }
    amounts = {"bill": 700, "account": 50, "customer": 60}
    for kind, payment in payments.items():
        data = by_event[payment["event_id"]]
        ids = {k: v for k, v in data.items() if k in ("customer_id", "account_id", "bill_id")}
        assert ids == expected_ids[kind], kind
        assert (data["amount"], data["currency"], data["payment_id"]) == (
            amounts[kind],
            "ZAR",
            payment["id"],
        )


# --- retries ----------------------------------------------------------------------------


async def test_failing_receiver_gets_every_retry_then_event_fails(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    receiver.status, receiver.reply = 500, "boom"
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret)
    async with make_client(sandbox.url) as client:
        _, payment = await _bill_payment(client)
        failed = await eventually(lambda: _state_is(client, payment["event_id"], "failed"))
        log = await _log(client, payment["event_id"])
    attempts = 1 + len(FAST_SCHEDULE)  # the first attempt, then one retry per delay
    assert failed["attempts"] == attempts
    assert len(receiver.deliveries) == attempts
    assert len({d.webhook_id for d in receiver.deliveries}) == 1  # stable across retries
    assert len({d.body for d in receiver.deliveries}) == 1
    assert all(Verifier([secret]).verify(d.headers, d.body).ok for d in receiver.deliveries)
    # The log is newest first, one entry per attempt.
    assert [e["attempt"] for e in log] == list(range(attempts, 0, -1))
    assert all(e["status_code"] == 500 and e["response"] == "boom" for e in log)
    assert all(e["error"] is None and e["latency_ms"] >= 0 for e in log)
    assert [e["webhook_timestamp"] for e in reversed(log)] == [
        d.timestamp for d in receiver.deliveries
    ]


async def test_retry_recovers_with_same_id_and_fresh_timestamp(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    receiver.statuses = [503]
    # The timestamp has whole-second resolution: wait a little over a second to see it move.
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret, retry_schedule=(1.05,))
    async with make_client(sandbox.url) as client:
        _, payment = await _bill_payment(client)
        delivered = await eventually(
            lambda: _state_is(client, payment["event_id"], "delivered"), within=8
        )
        log = await _log(client, payment["event_id"])
    first, second = receiver.deliveries
    assert first.webhook_id == second.webhook_id
    assert second.timestamp > first.timestamp
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    for delivery in (first, second):
        assert Verifier([secret]).verify(delivery.headers, delivery.body).ok
        assert _verifies(delivery, secret)
    assert delivered["attempts"] == 2
    assert [(e["attempt"], e["status_code"]) for e in log] == [(2, 200), (1, 503)]


async def test_first_attempt_is_immediate_and_retries_follow_the_schedule(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    """The schedule lists the delay before each *retry*: (1.2, 0.3) is an attempt at
    once, a retry 1.2 s after it fails and another 0.3 s after that — three in all."""
    receiver.status = 500
    schedule = (1.2, 0.3)
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret, retry_schedule=schedule)
    async with make_client(sandbox.url) as client:
        paid_at = time.time()
        _, payment = await _bill_payment(client)
        failed = await eventually(
            lambda: _state_is(client, payment["event_id"], "failed"), within=10
        )
        log = await _log(client, payment["event_id"])
    assert failed["attempts"] == 1 + len(schedule)
    first, second, third = receiver.deliveries
    # Each retry waits at least its own delay after the attempt before it. (Only lower
    # bounds: a busy machine makes every wait longer, so upper bounds would be timing
    # guesses; the attempt count shows the first went out unscheduled.)
    assert first.received_at >= paid_at
    assert second.received_at - first.received_at >= schedule[0]
    assert third.received_at - second.received_at >= schedule[1]
    # One message: the same webhook-id and body every time, a fresh timestamp each attempt.
    assert {d.webhook_id for d in receiver.deliveries} == {failed["webhook_id"]}
    assert len({d.body for d in receiver.deliveries}) == 1
    assert second.timestamp > first.timestamp  # 1.2 s apart: the whole second moved
    assert third.timestamp >= second.timestamp
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    for delivery in receiver.deliveries:
        assert abs(delivery.timestamp - delivery.received_at) <= 1.5
        assert Verifier([secret]).verify(delivery.headers, delivery.body).ok
    assert [(e["attempt"], e["status_code"]) for e in log] == [(3, 500), (2, 500), (1, 500)]
    assert [e["webhook_timestamp"] for e in reversed(log)] == [
        d.timestamp for d in receiver.deliveries
    ]


async def test_an_empty_schedule_means_one_attempt(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    receiver.status = 503
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret, retry_schedule=())
    async with make_client(sandbox.url) as client:
        _, payment = await _bill_payment(client)
        failed = await eventually(lambda: _state_is(client, payment["event_id"], "failed"))
        assert (await _log(client, payment["event_id"]))[0]["status_code"] == 503
    assert failed["attempts"] == 1
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize("status", [302, 400, 410, 500])
async def test_non_2xx_is_a_failed_attempt(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str, status: int
) -> None:
    receiver.status = status
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret, retry_schedule=())
    async with make_client(sandbox.url) as client:
        _, payment = await _bill_payment(client)
        await eventually(lambda: _state_is(client, payment["event_id"], "failed"))
        log = await _log(client, payment["event_id"])
    assert [(e["attempt"], e["status_code"]) for e in log] == [(1, status)]
    assert len(receiver.deliveries) == 1


async def test_timeout_is_a_failed_attempt(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    receiver.delay = 0.6
    sandbox = await _webhook_sandbox(
        start_sandbox, receiver, secret, retry_schedule=(), delivery_timeout=0.2
    )
    async with make_client(sandbox.url) as client:
        _, payment = await _bill_payment(client)
        await eventually(lambda: _state_is(client, payment["event_id"], "failed"))
        log = await _log(client, payment["event_id"])
    assert len(log) == 1
    assert (log[0]["status_code"], log[0]["response"]) == (None, None)
    assert log[0]["error"] == "no answer within 0.2 s"
    # It waited for the timeout (the receiver would have answered only after 0.6 s).
    assert log[0]["latency_ms"] >= 150


async def test_refused_connection_is_retried(start_sandbox: StartSandbox, secret: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on that port now: every attempt is refused.
    sandbox = await start_sandbox(
        webhook_url=f"http://127.0.0.1:{port}/hooks",
        webhook_secrets=(secret,),
        retry_schedule=(0.1,),
    )
    async with make_client(sandbox.url) as client:
        _, payment = await _bill_payment(client)
        failed = await eventually(lambda: _state_is(client, payment["event_id"], "failed"))
        log = await _log(client, payment["event_id"])
    assert failed["attempts"] == 2
    assert [e["attempt"] for e in log] == [2, 1]
    assert all(e["status_code"] is None and "Connect" in e["error"] for e in log)


async def test_deliveries_log_is_newest_first_and_filterable(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret)
    async with make_client(sandbox.url) as client:
        _, one = await _bill_payment(client, 100)
        await eventually(lambda: _state_is(client, one["event_id"], "delivered"))
        _, two = await _bill_payment(client, 200)
        await eventually(lambda: _state_is(client, two["event_id"], "delivered"))
        everything = (await client.request("GET", "/sandbox/deliveries")).body["data"]
        assert [e["event_id"] for e in everything] == [two["event_id"], one["event_id"]]
        limited = (await client.request("GET", "/sandbox/deliveries", params={"limit": "1"})).body
        assert [e["event_id"] for e in limited["data"]] == [two["event_id"]]
        assert await _log(client, one["event_id"]) == [everything[1]]
        assert await _log(client, "evt_doesnotexist000000000") == []
        events = (await client.request("GET", "/sandbox/events")).body["data"]
        assert [(e["id"], e["state"]) for e in events] == [
            (two["event_id"], "delivered"),
            (one["event_id"], "delivered"),
        ]
        for bad in ("0", "501", "x"):
            with pytest.raises(BadRequest):
                await client.request("GET", "/sandbox/deliveries", params={"limit": bad})
            with pytest.raises(BadRequest):
                await client.request("GET", "/sandbox/events", params={"limit": bad})


# --- restarts ---------------------------------------------------------------------------


async def test_restarted_sandbox_resumes_a_failing_delivery(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str, tmp_path: Path
) -> None:
    db_file = tmp_path / "sandbox.db"  # resuming needs a database file; :memory: is gone
    db = str(db_file)
    schedule = (0.3,) * 9  # ten attempts in all
    receiver.status = 500
    first = await _webhook_sandbox(
        start_sandbox, receiver, secret, db_path=db, retry_schedule=schedule
    )
    async with make_client(first.url) as client:
        bill, payment = await _bill_payment(client)
        await eventually(lambda: _log(client, payment["event_id"]))
    await stop(first)
    assert db_file.stat().st_size > 0
    failures = len(receiver.deliveries)
    assert failures >= 1
    assert len(receiver.deliveries) < 1 + len(schedule)

    receiver.status = 200
    second = await _webhook_sandbox(
        start_sandbox, receiver, secret, db_path=db, retry_schedule=schedule
    )
    async with make_client(second.url) as client:
        delivered = await eventually(lambda: _state_is(client, payment["event_id"], "delivered"))
        log = await _log(client, payment["event_id"])
        # The data survived the restart too.
        assert (await client.get_bill(bill["id"])).amount_paid == 1500
    assert receiver.deliveries[-1].timestamp >= receiver.deliveries[0].timestamp
    assert len({d.webhook_id for d in receiver.deliveries}) == 1
    assert (
        Verifier([secret]).verify(receiver.deliveries[-1].headers, receiver.deliveries[-1].body).ok
    )
    assert log[0]["status_code"] == 200
    assert log[0]["attempt"] == delivered["attempts"]
    assert all(e["status_code"] == 500 for e in log[1:])
    assert [e["attempt"] for e in log] == list(range(len(log), 0, -1))


async def test_events_stored_without_a_receiver_are_delivered_after_restart(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str, tmp_path: Path
) -> None:
    db = str(tmp_path / "sandbox.db")
    quiet = await start_sandbox(db_path=db)  # no webhook URL: events wait in the outbox
    async with make_client(quiet.url) as client:
        _, payment = await _bill_payment(client)
        assert (await _event(client, payment["event_id"]))["state"] == "pending"
    await stop(quiet)
    sandbox = await _webhook_sandbox(start_sandbox, receiver, secret, db_path=db)
    async with make_client(sandbox.url) as client:
        await eventually(lambda: _state_is(client, payment["event_id"], "delivered"))
    assert [d.json()["id"] for d in receiver.deliveries] == [payment["event_id"]]


async def test_close_while_the_sender_is_being_woken_does_not_hang(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    """A wake-up (a payment, a finished delivery) landing as the sandbox closes must not
    swallow the sender's cancellation (asyncio.wait_for does that on Python 3.11)."""
    for _ in range(3):
        sandbox = await _webhook_sandbox(start_sandbox, receiver, secret)
        await asyncio.sleep(0.01)  # the sender is now waiting for work
        sandbox.sender.wake()
        await asyncio.sleep(0)  # the wake-up completes …
        closing = asyncio.create_task(stop(sandbox))  # … as close() cancels the sender
        done, _ = await asyncio.wait({closing}, timeout=3)
        if closing not in done:  # free the stuck close() before failing
            closing.cancel()
            await asyncio.gather(closing, return_exceptions=True)
        assert closing in done, "closing the sandbox hung"
