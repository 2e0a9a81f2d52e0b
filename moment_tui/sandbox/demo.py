"""Demo traffic: random partial and full payments every few seconds.

Keeps a demo's event pane alive: each tick pays an unpaid bill (in full or in part)
or part of a positive account or customer balance, through the same code path as
``POST /sandbox/payments``, so every tick sends a real signed webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from moment_tui.api.models import AMOUNT_MAX, SandboxPaymentCreate
from moment_tui.sandbox.db import Database
from moment_tui.sandbox.delivery import Sender
from moment_tui.sandbox.payments import Payments
from moment_tui.sandbox.problems import Problem

log = logging.getLogger(__name__)


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
        self.made = 0
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
        """Make one payment; False when there is nothing left to pay."""
        request = self._pick()
        if request is None:
            return False
        try:
            with self.db.transaction():
                self.payments.pay(request, metadata={"source": "sandbox-demo"})
        except Problem as problem:
            log.info("demo payment skipped: %s", problem.detail)
            return False
        self.made += 1
        return True

    def _pick(self) -> SandboxPaymentCreate | None:
        if self.rng.random() < 0.65:
            bill = self.db.one(
                "SELECT id, amount_due - amount_paid AS remaining FROM bills"
                " WHERE status = 'unpaid' ORDER BY random() LIMIT 1"
            )
            if bill is not None:
                amount = bill["remaining"]
                if self.rng.random() < 0.5 and amount > 200:
                    amount = max(100, (amount * self.rng.choice([20, 25, 50])) // 100)
                return SandboxPaymentCreate(bill=bill["id"], amount=amount)
        kind = self.rng.choice(["account", "customer"])
        holder = self.db.one(
            f"SELECT id, balance FROM {kind}s WHERE balance > 0"  # noqa: S608
            " ORDER BY random() LIMIT 1"
        )
        if holder is None:
            return None
        amount = max(100, (holder["balance"] * self.rng.choice([10, 25, 100])) // 100)
        amount = min(amount, AMOUNT_MAX)  # a balance may exceed what one payment carries
        return SandboxPaymentCreate.model_validate({kind: holder["id"], "amount": amount})
