"""Run the sandbox: inside any asyncio program, on its own thread, or standalone.

``Sandbox(config).start()`` binds (port 0 picks a free one) and returns the base URL;
``close()`` stops it. :class:`SandboxThread` runs one on a private event loop so the
console's loop never waits on the sandbox's disk writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from moment_tui.sandbox.db import Database
from moment_tui.sandbox.delivery import DEFAULT_SCHEDULE, DeliveryConfig, Sender
from moment_tui.sandbox.demo import DemoTraffic
from moment_tui.sandbox.idempotency import Keys
from moment_tui.sandbox.objects import Objects
from moment_tui.sandbox.payments import Payments
from moment_tui.sandbox.presentment import add_presentment_routes
from moment_tui.sandbox.routes import (
    STATE,
    SandboxState,
    add_routes,
    authenticate,
    latency,
    problems,
)
from moment_tui.sandbox.seed import seed_if_empty
from moment_tui.sandbox.tokens import FormTokens
from moment_tui.secrets import mask

MAX_BODY: Final = 1024 * 1024


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    db_path: str = ":memory:"
    webhook_url: str | None = None
    # whsec_… signing secrets: kept out of repr(), which tracebacks and logs print.
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    retry_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    delivery_timeout: float = 5.0
    delivery_concurrency: int = 8
    seed: bool = False
    seed_today: dt.date | None = None
    demo_payments: float | None = None  # seconds between simulated payments
    latency_ms: int = 0
    # Seeds the demo data and the demo payments (None: the data's SEED, traffic seed 7).
    random_seed: int | None = None
    # Demo payments also send the odd delivery signed with a wrong secret (the demo's).
    demo_wrong_signatures: bool = False
    demo_keep_unpaid: int = 0  # demo traffic raises bills while fewer are unpaid


class Sandbox:
    """A Moment-compatible Billing API on loopback, backed by SQLite."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.db = Database(config.db_path)
        self.objects = Objects(self.db)
        self.payments = Payments(self.db, self.objects)
        self.sender = Sender(
            self.db,
            DeliveryConfig(
                url=config.webhook_url,
                secrets=config.webhook_secrets,
                schedule=config.retry_schedule,
                timeout=config.delivery_timeout,
                concurrency=config.delivery_concurrency,
            ),
        )
        self.state = SandboxState(
            db=self.db,
            objects=self.objects,
            payments=self.payments,
            keys=Keys(self.db),
            sender=self.sender,
            tokens=FormTokens(self.db),
            latency=config.latency_ms / 1000,
        )
        self.demo: DemoTraffic | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.seeded = 0

    def build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[problems, latency, authenticate], client_max_size=MAX_BODY
        )
        app[STATE] = self.state
        add_routes(app)
        add_presentment_routes(app)
        return app

    async def start(self) -> str:
        """Bind and start serving; returns the base URL. On failure (say the port is
        taken) everything opened so far is closed again before the error propagates."""
        try:
            return await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> str:
        if self.config.seed:
            self.seeded = seed_if_empty(
                self.db, self.objects, today=self.config.seed_today, seed=self.config.random_seed
            )
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        host = f"[{host}]" if ":" in host else host
        self.url = f"http://{host}:{port}"
        await self.sender.start()
        if self.config.demo_payments:
            seed = 7 if self.config.random_seed is None else self.config.random_seed
            self.demo = DemoTraffic(
                self.db,
                self.payments,
                self.sender,
                self.config.demo_payments,
                random.Random(seed),
                wrong_signatures=self.config.demo_wrong_signatures,
                keep_unpaid=self.config.demo_keep_unpaid,
            )
            self.demo.start()
        return self.url

    async def close(self) -> None:
        if self.demo is not None:
            await self.demo.close()
        await self.sender.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.db.close()


class SandboxThread:
    """A :class:`Sandbox` on its own thread and event loop, for embedding in the console."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="moment-sandbox", daemon=True)
        self.url = ""

    def start(self, timeout: float = 15.0) -> str:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the sandbox did not start in time")
        if self._error is not None:
            raise self._error
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread; safe to call twice, or after a failed start."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile: done
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            sandbox = Sandbox(self.config)
            self.url = await sandbox.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await sandbox.close()


MEMORY_WEBHOOKS_WARNING: Final = (
    "moment-tui: warning: with --db :memory: pending webhooks are lost when the sandbox "
    "stops; pass --db PATH to resume them after a restart"
)


async def serve_forever(
    config: SandboxConfig,
    announce: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    """Run until cancelled (Ctrl-C), printing the address line first (``announce``,
    stdout); warnings go to ``warn`` (stderr)."""
    sandbox = Sandbox(config)
    url = await sandbox.start()
    try:
        announce(f"Sandbox API: {url}")
        if config.webhook_url and config.db_path == ":memory:":
            warn(MEMORY_WEBHOOKS_WARNING)
        if sandbox.seeded:
            announce(f"Seeded {sandbox.seeded} demo customers with accounts and bills")
        if config.webhook_url:
            signed = ", ".join(mask(s) for s in config.webhook_secrets)
            announce(f"Webhooks: {config.webhook_url} (signed with {signed})")
        else:
            announce("Webhooks: no --webhook-url; events are stored, not delivered")
        sample = sandbox.db.one("SELECT id FROM bills WHERE status = 'unpaid' ORDER BY seq LIMIT 1")
        if sample is not None:
            announce(f"Bill page: {url}/pay/{sample['id']}")
        await asyncio.Event().wait()
    finally:
        await sandbox.close()
