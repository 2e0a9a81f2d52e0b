"""Demo traffic: random partial and full payments every few seconds.

Keeps a demo's event pane alive: each tick pays an unpaid bill (in full or in part)
or part of a positive account or customer balance, through the same code path as
``POST /sandbox/payments``, so every payment sends a real signed webhook. When
nothing is left to pay, the tick raises a new bill for a random customer instead
(``DEMO-YYYYMMDD-xxxxxxxx``, R 100–R 5,000, due in 30 days), which a later tick pays,
so the traffic never runs dry. Every choice comes from the seeded RNG.

With ``wrong_signatures`` (``moment-tui demo`` only) about one tick in eight — chosen
by the same RNG — also posts a copy of the latest event, with fresh ids, signed with a
random ``whsec_`` secret nobody configured: the receiver refuses it (401
``no_matching_signature``), so its verdict display has something to show. That
delivery bypasses the outbox: it is never stored, retried or counted as an event, and
the good deliveries' retries never see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import sqlite3
import time
from typing import Final

import aiohttp

from moment_tui.api.models import AMOUNT_MAX, BillCreate, SandboxPaymentCreate
from moment_tui.sandbox.db import Database, dumps
from moment_tui.sandbox.delivery import Sender
from moment_tui.sandbox.ids import new_id
from moment_tui.sandbox.payments import Payments
from moment_tui.sandbox.problems import Problem
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, signed_headers

log = logging.getLogger(__name__)

SOURCE: Final = {"source": "sandbox-demo"}  # the metadata of every demo payment and bill
WRONG_SIGNATURE_SHARE: Final = 1 / 8  # of demo ticks, with wrong_signatures on


def demo_bill(
    rng: random.Random,
    customer_id: str,
    currency: str | None,
    today: dt.date,
    metadata: dict[str, str],
) -> BillCreate:
    """A new demo bill of R 100–R 5,000 (in the customer's currency, else ZAR), due in
    30 days: what the demo traffic and the console's simulated payments raise when
    nothing is left to pay."""
    return BillCreate(
        external_reference=f"DEMO-{today:%Y%m%d}-{rng.randrange(16**8):08x}",
        currency=currency or "ZAR",
        amount_due=rng.randint(1, 50) * 10_000,
        customer=customer_id,
        due_date=today + dt.timedelta(days=30),
        metadata=metadata,
    )


class DemoTraffic:
    def __init__(
        self,
        db: Database,
        payments: Payments,
        sender: Sender,
        every_seconds: float,
        rng: random.Random,
        *,
        wrong_signatures: bool = False,
        keep_unpaid: int = 0,
    ) -> None:
        self.db = db
        self.payments = payments
        self.sender = sender
        self.every = every_seconds
        self.rng = rng
        self.wrong_signatures = wrong_signatures
        # With keep_unpaid (the console's demo), a tick raises a bill first while fewer
        # are unpaid: payments land on bills, and Home's figures keep moving.
        self.keep_unpaid = keep_unpaid
        self.made = 0  # payments
        self.raised = 0  # bills raised because nothing was left to pay
        self.forged = 0  # wrongly signed deliveries sent (and answered)
        self._task: asyncio.Task[None] | None = None
        self._forging: set[asyncio.Task[int | None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-demo-payments")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._forging):
            task.cancel()
        if self._forging:
            await asyncio.gather(*self._forging, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                if self.tick():
                    self.sender.wake()
                if self.wrong_signature_due():
                    task = asyncio.create_task(self.send_wrong_signature())
                    self._forging.add(task)
                    task.add_done_callback(self._forging.discard)
            except Exception:  # a demo must keep going
                log.exception("demo payment failed")

    # --- the odd wrongly signed delivery ------------------------------------------------

    def wrong_signature_due(self) -> bool:
        """Whether this tick also sends a wrongly signed delivery: about one in eight,
        from the seeded RNG (drawn on every tick, so the payments that follow are the
        same whether or not webhooks are sent); never without ``wrong_signatures``."""
        if not self.wrong_signatures:
            return False  # the plain sandbox's traffic draws nothing more
        return self.rng.random() < WRONG_SIGNATURE_SHARE and self.sender.enabled

    def forged_body(self) -> bytes | None:
        """The latest event again, with fresh event, obligation and payment ids (so no
        receiver could take it for the real one); None before the first event."""
        row = self.db.one("SELECT payload FROM events ORDER BY seq DESC LIMIT 1")
        if row is None:
            return None
        event = json.loads(row["payload"])
        event["id"] = new_id("event")
        data = event.get("data")
        if isinstance(data, dict):
            data["id"] = new_id("obligation")
            if "payment_id" in data:
                data["payment_id"] = new_id("payment")
        return dumps(event).encode()

    async def send_wrong_signature(self) -> int | None:
        """POST :meth:`forged_body` to the webhook URL, signed with a random secret the
        receiver does not know; its HTTP status (401 from a receiver that checks), or
        None when there was nothing to send or it could not be sent. Sent once, outside
        the outbox: never stored, retried or counted."""
        url = self.sender.config.url
        body = self.forged_body()
        if url is None or body is None:
            return None
        headers = signed_headers(
            (new_webhook_secret(),), new_message_id(), body, timestamp=int(time.time())
        )
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.sender.config.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("demo: the wrongly signed delivery was not answered: %s", exc)
            return None
        self.forged += 1
        log.info("demo: sent a delivery signed with a wrong secret: %d", status)
        return status

    def tick(self) -> bool:
        """Make one payment (True: there is an event to send). When nothing is left to
        pay, raise a new bill instead, for a later tick to pay (False: nothing to send)."""
        if self.keep_unpaid:
            unpaid = self.db.one("SELECT count(*) AS n FROM bills WHERE status = 'unpaid'")
            if unpaid is not None and unpaid["n"] < self.keep_unpaid:
                self._raise_bill()
        request = self._pick()
        if request is None:
            self._raise_bill()
            return False
        try:
            with self.db.transaction():
                self.payments.pay(request, metadata=dict(SOURCE))
        except Problem as problem:
            log.info("demo payment skipped: %s", problem.detail)
            return False
        self.made += 1
        return True

    def _pick(self) -> SandboxPaymentCreate | None:
        """A bill (65%) or a positive balance to pay; the other when there is none."""
        choices = [self._bill_payment, self._holder_payment]
        if self.rng.random() >= 0.65:
            choices.reverse()
        for choose in choices:
            request = choose()
            if request is not None:
                return request
        return None

    def _bill_payment(self) -> SandboxPaymentCreate | None:
        bill = self._any("bills", "status = 'unpaid'", "id, amount_due - amount_paid AS remaining")
        if bill is None:
            return None
        amount = bill["remaining"]
        if self.rng.random() < 0.5 and amount > 200:
            amount = max(100, (amount * self.rng.choice([20, 25, 50])) // 100)
        return SandboxPaymentCreate(bill=bill["id"], amount=amount)

    def _holder_payment(self) -> SandboxPaymentCreate | None:
        kinds = ["account", "customer"]
        self.rng.shuffle(kinds)
        for kind in kinds:
            holder = self._any(f"{kind}s", "balance > 0", "id, balance")
            if holder is None:
                continue
            amount = max(100, (holder["balance"] * self.rng.choice([10, 25, 100])) // 100)
            amount = min(amount, AMOUNT_MAX)  # a balance may exceed what one payment carries
            return SandboxPaymentCreate.model_validate({kind: holder["id"], "amount": amount})
        return None

    def _raise_bill(self) -> sqlite3.Row | None:
        """A new unpaid bill of R 100–R 5,000, due in 30 days, for a random customer
        (as the console's simulated payments raise one), through the sandbox's own
        rules; None when there is no customer to bill."""
        customer = self._any("customers", "1", "id, currency")
        if customer is None:
            return None
        objects = self.payments.objects
        today = objects.today()
        body = demo_bill(self.rng, customer["id"], customer["currency"], today, dict(SOURCE))
        try:
            with self.db.transaction():
                bill = objects.create_bill(body)
        except Problem as problem:  # a reference already taken, say
            log.info("demo bill skipped: %s", problem.detail)
            return None
        self.raised += 1
        log.info(
            "demo: nothing left to pay; raised bill %s (%s, %d %s) for %s",
            bill["id"],
            bill["external_reference"],
            bill["amount_due"],
            bill["currency"],
            customer["id"],
        )
        return bill

    def _any(self, table: str, where: str, columns: str) -> sqlite3.Row | None:
        """One row chosen by the demo's own seeded RNG (not SQLite's random()), so the
        same data and seed give the same traffic."""
        found = self.db.one(f"SELECT count(*) AS n FROM {table} WHERE {where}")  # noqa: S608
        count = found["n"] if found is not None else 0
        if not count:
            return None
        return self.db.one(
            f"SELECT {columns} FROM {table} WHERE {where} ORDER BY seq LIMIT 1 OFFSET ?",  # noqa: S608
            (self.rng.randrange(count),),
        )
