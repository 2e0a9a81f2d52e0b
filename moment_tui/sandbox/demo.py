"""Demo traffic: random partial and full payments every few seconds.

Keeps a demo's event pane alive: each tick pays an unpaid bill (in full or in part)
or part of a positive account or customer balance, through the same code path as
``POST /sandbox/payments``, so every payment sends a real signed webhook. When
nothing is left to pay, the tick raises a new bill for a random customer instead
(``DEMO-YYYYMMDD-xxxxxxxx``, R 100–R 5,000, due in 30 days), which a later tick pays,
so the traffic never runs dry. Every choice comes from the seeded RNG.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import sqlite3
from typing import Final

from moment_tui.api.models import AMOUNT_MAX, BillCreate, SandboxPaymentCreate
from moment_tui.sandbox.db import Database
from moment_tui.sandbox.delivery import Sender
from moment_tui.sandbox.payments import Payments
from moment_tui.sandbox.problems import Problem

log = logging.getLogger(__name__)

SOURCE: Final = {"source": "sandbox-demo"}  # the metadata of every demo payment and bill


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
    ) -> None:
        self.db = db
        self.payments = payments
        self.sender = sender
        self.every = every_seconds
        self.rng = rng
        self.made = 0  # payments
        self.raised = 0  # bills raised because nothing was left to pay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-demo-payments")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                if self.tick():
                    self.sender.wake()
            except Exception:  # a demo must keep going
                log.exception("demo payment failed")

    def tick(self) -> bool:
        """Make one payment (True: there is an event to send). When nothing is left to
        pay, raise a new bill instead, for a later tick to pay (False: nothing to send)."""
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
