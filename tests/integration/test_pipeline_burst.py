"""A burst of 5,000 concurrent signed deliveries, 5 % of them redeliveries: the books of
stored, acknowledged and applied events must agree exactly."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import aiohttp
import pytest

from moment_tui.api.models import Bill, BillStatus
from moment_tui.store import catalogue, eventlog
from moment_tui.store.eventlog import Books
from moment_tui.webhooks.outbound import amount_applied_event
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, signed_headers

from .pipeline_helpers import eventually, open_pipeline

TOTAL = 5_000
DUPLICATES = TOTAL * 5 // 100  # 250
CONCURRENCY = 200
BILLS = 8


@pytest.mark.slow
async def test_burst_of_5000_with_5_percent_duplicates(tmp_path: Path) -> None:
    secret = new_webhook_secret()
    rng = random.Random(5000)
    bills = [
        Bill(
            id=f"bill_burst{i}",
            external_reference=f"burst-{i}",
            customer_id="bcus_burst",
            status=BillStatus.UNPAID,
            currency="ZAR",
            amount_due=99_999_999,
            amount_remaining=99_999_999,
        )
        for i in range(BILLS)
    ]
    # 4,750 distinct events and 250 redeliveries of some of them (same id and body,
    # fresh timestamp and signature, as Moment's retries are).
    originals: list[tuple[str, bytes, int]] = []
    for _ in range(TOTAL - DUPLICATES):
        target = rng.randrange(BILLS)
        amount = rng.randint(1, 9)
        body = amount_applied_event(amount, "ZAR", bill_id=bills[target].id)
        originals.append((new_message_id(), body, target))
    redelivered = rng.sample(originals, DUPLICATES)
    plan = [(msg_id, body) for msg_id, body, _ in originals]
    plan += [(msg_id, body) for msg_id, body, _ in redelivered]
    prepared = [(signed_headers([secret], msg_id, body), body) for msg_id, body in plan]
    expected_paid = [0] * BILLS
    for _, body, target in originals:
        expected_paid[target] += json.loads(body)["data"]["amount"]

    async with open_pipeline(tmp_path / "burst.sqlite3", (secret,), reconcile=True) as pipe:
        await pipe.workspace.remember(bills, "listed")
        statuses: list[int] = []
        verdicts: dict[str, int] = {}
        gate = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def deliver(headers: dict[str, str], body: bytes) -> None:
                async with gate, session.post(pipe.url, data=body, headers=headers) as response:
                    answer = await response.json()
                    statuses.append(response.status)
                    verdicts[answer["verdict"]] = verdicts.get(answer["verdict"], 0) + 1

            # All at once, in a shuffled order: a redelivery may race its original
            # (whichever is stored first is the verified one, the other the duplicate).
            rng.shuffle(prepared)
            await asyncio.gather(*(deliver(h, b) for h, b in prepared))
        sent_in = time.perf_counter() - started
        assert pipe.reconciler is not None
        await eventually(lambda: len(pipe.announced) == TOTAL, within=30)
        await asyncio.wait_for(pipe.reconciler.idle(), 60)
        settled_in = time.perf_counter() - started

        assert len(statuses) == TOTAL
        assert statuses.count(200) == TOTAL
        assert verdicts == {"verified": TOTAL - DUPLICATES, "duplicate": DUPLICATES}
        books = await pipe.workspace.read(eventlog.books)
        assert books == Books(
            stored=TOTAL,
            verified=TOTAL - DUPLICATES,
            duplicate=DUPLICATES,
            rejected=0,
            acknowledged=TOTAL,
            applied=TOTAL - DUPLICATES,
            confirmed=0,
            drift=0,
            unconfirmed=TOTAL - DUPLICATES,
        )
        twice = pipe.rows(
            "SELECT webhook_id, count(*) AS n FROM applications GROUP BY webhook_id HAVING n > 1"
        )
        assert twice == []
        distinct = pipe.rows("SELECT count(DISTINCT webhook_id) FROM applications")
        assert distinct[0][0] == TOTAL - DUPLICATES
        orphans = pipe.rows(
            "SELECT count(*) FROM applications AS a JOIN deliveries AS d ON d.seq = a.delivery_seq"
            " WHERE d.verdict != 'verified'"
        )
        assert orphans[0][0] == 0
        # Every cent landed exactly once on the bill it was meant for.
        paid_now = await pipe.workspace.read(
            lambda c: [catalogue.get(c, "bill", b.id) for b in bills]
        )
        assert [entry.obj.amount_paid if entry else None for entry in paid_now] == expected_paid
        # Deliveries shared commits: far fewer fsyncs than deliveries.
        assert pipe.workspace.writer.commits < TOTAL
    print(
        f"\nburst: {TOTAL} deliveries answered in {sent_in:.2f} s "
        f"({TOTAL / sent_in:.0f}/s), all applied after {settled_in:.2f} s; "
        f"{pipe.workspace.writer.commits} commits for {pipe.workspace.writer.jobs} writes"
    )
