"""Everything the console runs besides its screens: API client, workspace, listener,
reconciler, and (with no API key) the embedded sandbox.

The app creates one :class:`Runtime` through ``ui.factory``, awaits :meth:`start` in a
worker and passes two callbacks that turn deliveries and applications into UI
messages; nothing here imports Textual. Blocking work (starting the sandbox thread,
opening SQLite) runs in threads so the event loop never waits on the disk.

Importing this module is cheap: the client (httpx, pydantic), the sandbox and the
listener (aiohttp), the workspace and the webhook verifier are imported by
:meth:`Runtime.start` — in a thread, so the console keeps painting meanwhile — not
before the console's first paint.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import importlib
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from moment_tui.api.errors import ListingNotSupported, MomentError, Unprocessable
from moment_tui.api.requestlog import RequestLog

if TYPE_CHECKING:
    import httpx

    from moment_tui.api.client import MomentClient, Probe, RetryPolicy
    from moment_tui.api.kinds import ObjectKind
    from moment_tui.api.models import Bill
    from moment_tui.config import Settings
    from moment_tui.sandbox.server import SandboxThread
    from moment_tui.store.applications import Application
    from moment_tui.store.eventlog import Delivery
    from moment_tui.store.workspace import Workspace
    from moment_tui.webhooks.listener import Listener
    from moment_tui.webhooks.reconcile import Reconciler

SANDBOX_KEY = "sk_test_moment_tui_console"  # the embedded sandbox accepts any sk_test_ key
UNPAID_PAGE: Final = 100  # a simulated payment picks one of the first this many unpaid bills
PAY_IN_FULL_BELOW: Final = 5000  # minor units (R 50.00): a smaller remainder is paid in full
HOLDER_SHARE: Final = 0.2  # of simulated payments: to the bill's account (or customer)
FULL_SHARE: Final = 0.4  # … the bill in full; the rest pay part of it

# What start() needs (pydantic, aiohttp, httpx…): imported on a worker thread.
START_MODULES: Final = (
    "moment_tui.store.workspace",
    "moment_tui.webhooks.listener",
    "moment_tui.webhooks.verify",
    "moment_tui.webhooks.reconcile",
    "moment_tui.webhooks.signing",
    "moment_tui.api.client",
)
SANDBOX_MODULES: Final = ("moment_tui.sandbox.server",)
# What httpx's transport imports at the first request, were it not imported here first.
LATER_MODULES: Final = ("httpcore", "anyio", "anyio._backends._asyncio")


def _prepare(names: Sequence[str]) -> None:
    for name in names:
        importlib.import_module(name)
    for name in LATER_MODULES:  # only to save the event loop their time
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(Exception):  # any failure is met again at the first amount
        from moment_tui import money

        money.preload()


async def prepare_in_thread(names: Sequence[str]) -> None:
    """Import ``names`` (and read the currency data) on a worker thread, so the event
    loop — and the screen it paints — is not frozen for the few hundred milliseconds
    they take; a no-op once done."""
    if any(name not in sys.modules for name in names):
        await asyncio.to_thread(_prepare, names)


@dataclass
class Started:
    """What came up, and what did not (each problem is one sentence for the UI)."""

    api: str
    listener_url: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Connected:
    """Whether the API answers, and how much of it the catalogue now knows."""

    probe: Probe | None  # None: there is no API to ask (the sandbox did not start)
    synced: int = 0
    problem: str | None = None


@dataclass
class RuntimeOptions:
    """Overrides for tests and demos; the defaults follow the settings."""

    sandbox_db: Path | None = None  # default: <data>/sandbox.sqlite3
    seed_today: dt.date | None = None
    demo_payments: float | None = None
    workspace: Path | None = None
    listener_port: int | None = None  # default: settings.listen.port
    transport: httpx.AsyncBaseTransport | None = None  # fault injection in tests
    retry: RetryPolicy | None = None
    payment_rng: random.Random | None = None  # simulated payments; seeded in tests
    random_seed: int | None = None  # the sandbox's data and demo payments (`demo --seed`)
    demo_wrong_signatures: bool = False  # demo payments send the odd wrongly signed one
    demo_keep_unpaid: int = 0  # demo traffic keeps this many bills to pay


@dataclass(frozen=True)
class PaymentPlan:
    """One simulated payment: ``amount`` to a bill, or to the holder of one."""

    kind: Literal["bill", "account", "customer"]
    target: str
    amount: int
    bill: Bill  # the bill it was chosen for

    def body(self) -> dict[str, Any]:
        return {self.kind: self.target, "amount": self.amount}


def plan_payment(bills: Sequence[Bill], rng: random.Random) -> PaymentPlan | None:
    """A varied payment, so the sandbox's books visibly move within a few presses.

    A random unpaid bill; then (by ``rng``) the bill's account (or, for a bill held
    directly, its customer) pays what the bill still owes — the sandbox settles the
    holder's bills oldest due date first — or the bill is paid in full, or in part
    (10-90 %, in whole units of 100 minor units). Small remainders are paid in full.
    """
    owing = [b for b in bills if b.amount_remaining > 0]
    if not owing:
        return None
    bill = rng.choice(owing)
    remaining = bill.amount_remaining
    roll = rng.random()
    if roll < HOLDER_SHARE:
        if bill.account_id:
            return PaymentPlan("account", bill.account_id, remaining, bill)
        return PaymentPlan("customer", bill.customer_id, remaining, bill)
    if roll < HOLDER_SHARE + FULL_SHARE or remaining <= PAY_IN_FULL_BELOW:
        return PaymentPlan("bill", bill.id, remaining, bill)
    part = rng.randint(1, 9) * remaining // 10
    return PaymentPlan("bill", bill.id, part - part % 100, bill)


class Runtime:
    def __init__(self, settings: Settings, options: RuntimeOptions | None = None) -> None:
        self.settings = settings
        self.options = options or RuntimeOptions()
        self.client: MomentClient | None = None
        self.workspace: Workspace | None = None
        self.listener: Listener | None = None
        self.reconciler: Reconciler | None = None
        self.sandbox: SandboxThread | None = None
        self._secrets: tuple[str, ...] = tuple(s.reveal() for s in settings.webhook_secrets)
        self._rng = self.options.payment_rng or random.Random()
        self._paying = asyncio.Lock()  # one simulated payment at a time: no double-pays
        # Every call the console's client makes, for the Requests view.
        self.request_log: RequestLog | None = RequestLog()

    @property
    def is_sandbox(self) -> bool:
        return self.settings.mode == "sandbox"

    async def start(
        self,
        on_delivery: Callable[[Delivery], object],
        on_application: Callable[[Application], object],
    ) -> Started:
        modules = START_MODULES + (SANDBOX_MODULES if self.is_sandbox else ())
        await prepare_in_thread(modules)
        from moment_tui.api.client import MomentClient
        from moment_tui.store.workspace import Workspace, workspace_path
        from moment_tui.webhooks.listener import Listener, ListenerConfig
        from moment_tui.webhooks.reconcile import Reconciler
        from moment_tui.webhooks.signing import new_webhook_secret
        from moment_tui.webhooks.verify import Verifier

        settings = self.settings
        path = self.options.workspace or workspace_path(
            settings.data_dir, settings.mode, settings.api_url
        )
        self.workspace = await asyncio.to_thread(
            functools.partial(Workspace, path, retention=settings.event_retention)
        )
        started = Started(api="the sandbox" if self.is_sandbox else settings.api_url)
        listen_port = (
            self.options.listener_port
            if self.options.listener_port is not None
            else settings.listen.port
        )
        if self.is_sandbox and not self._secrets:
            # No secret configured: a private one for this run's sandbox and listener.
            # (With MOMENT_WEBHOOK_SECRET set, `moment-tui trigger` can reach us too.)
            self._secrets = (new_webhook_secret(),)
        verifier = Verifier(
            self._secrets,
            tolerance_seconds=settings.webhook_tolerance,
            max_body_bytes=settings.webhook_max_body,
        )

        def delivered(delivery: Delivery) -> None:
            if self.reconciler is not None:
                self.reconciler.submit(delivery)
            on_delivery(delivery)

        self.listener = Listener(
            ListenerConfig(settings.listen.host, listen_port, settings.listen_path),
            verifier,
            self.workspace,
            delivered,
        )
        try:
            started.listener_url = await self.listener.start()
        except OSError as exc:
            self.listener = None
            busy = exc.errno == errno.EADDRINUSE
            started.problems.append(
                f"the webhook listener could not use {settings.listen}"
                + (" (the port is taken)" if busy else f" ({exc.strerror})")
            )
        if self.is_sandbox:
            await self._start_sandbox(started)
        elif settings.api_key is not None:
            # Built on a thread: httpx loads its transport and TLS context meanwhile.
            self.client = await asyncio.to_thread(
                functools.partial(
                    MomentClient,
                    settings.api_key.reveal(),
                    base_url=settings.api_url,
                    transport=self.options.transport,
                    retry=self.options.retry,
                    read_only=settings.read_only,
                    request_log=self.request_log,
                )
            )
        self.reconciler = Reconciler(self.workspace, self.client, on_application=on_application)
        await self.reconciler.catch_up()
        self.reconciler.start()
        return started

    async def _start_sandbox(self, started: Started) -> None:
        from moment_tui.api.client import MomentClient
        from moment_tui.sandbox.server import SandboxConfig, SandboxThread

        db = self.options.sandbox_db or self.settings.data_dir / "sandbox.sqlite3"
        config = SandboxConfig(
            db_path=str(db),
            webhook_url=started.listener_url,
            webhook_secrets=self._secrets if started.listener_url else (),
            seed=True,
            seed_today=self.options.seed_today,
            demo_payments=self.options.demo_payments,
            random_seed=self.options.random_seed,
            demo_wrong_signatures=self.options.demo_wrong_signatures,
            demo_keep_unpaid=self.options.demo_keep_unpaid,
        )
        sandbox = SandboxThread(config)
        try:
            url = await asyncio.to_thread(sandbox.start)
        except Exception as exc:
            # It may still be coming up (a start that timed out): stop it, so it keeps
            # neither the port nor the secret.
            with contextlib.suppress(Exception):
                await asyncio.to_thread(sandbox.stop)
            started.problems.append(f"the sandbox did not start: {exc}")
            return
        self.sandbox = sandbox
        self.client = await asyncio.to_thread(
            functools.partial(
                MomentClient,
                SANDBOX_KEY,
                base_url=url,
                read_only=self.settings.read_only,
                request_log=self.request_log,
            )
        )

    async def connect(self) -> Connected:
        """Probe the API, then copy what it lists into the catalogue; never raises."""
        if self.client is None:
            return Connected(None)
        probe = await self.client.probe()
        if not probe.ok:
            return Connected(probe)
        try:
            synced = await self.sync_catalogue()
        except MomentError as exc:
            return Connected(probe, problem=f"could not list the catalogue: {exc}")
        return Connected(probe, synced)

    async def sync_catalogue(self) -> int:
        """Copy everything a listing server offers into the catalogue (the sandbox does).

        Payments keep arriving while the listing is read; an object the catalogue
        changed after the listing began keeps its newer copy.
        """
        if self.client is None or self.workspace is None:
            return 0
        from moment_tui.store.catalogue import now_iso

        began = now_iso()
        total = 0
        kinds: tuple[ObjectKind, ...] = ("customer", "account", "bill")
        try:
            for kind in kinds:
                batch = [obj async for obj in self.client.iterate(kind)]
                total += await self.workspace.remember(batch, "listed", unless_changed_since=began)
        except ListingNotSupported:
            return 0
        return total

    def payment_refusal(self) -> str | None:
        """Why a simulated payment would be wrong now; None when it can be made."""
        if self.client is None:
            return "The sandbox is not running."
        if self.settings.read_only:
            return "Read-only: the console makes no payments (see --read-only)."
        if self.listener is None:
            return (
                "The webhook listener is not running, so a payment's webhook could not "
                "reach this console; nothing was paid."
            )
        return None

    async def simulate_payment(self) -> dict[str, Any] | None:
        """Sandbox only: a varied payment (see :func:`plan_payment`). When every bill
        is paid, a new one is raised first for a random customer (as an agent would),
        so a demo never runs dry. Returns the sandbox's payment object, with
        ``raised_bill`` set to the new bill's id in that case; None if the sandbox
        has no customer at all.

        Raises :class:`~moment_tui.api.errors.MomentError` when the sandbox refuses."""
        if self.client is None or not self.is_sandbox:
            return None
        from moment_tui.api.models import Bill

        async with self._paying:
            page = await self.client.list_page(
                "bill", limit=UNPAID_PAGE, filters={"status": "unpaid"}
            )
            plan = plan_payment([b for b in page.items if isinstance(b, Bill)], self._rng)
            raised: Bill | None = None
            if plan is None:
                raised = await self._raise_bill()
                if raised is None:
                    return None
                plan = plan_payment([raised], self._rng)
                assert plan is not None
            try:
                response = await self.client.request("POST", "/sandbox/payments", json=plan.body())
            except Unprocessable:
                if plan.kind == "bill":
                    raise
                # A holder the sandbox cannot pay as a whole (bills in several
                # currencies, say): pay the bill itself instead.
                bill_only = {"bill": plan.bill.id, "amount": plan.amount}
                response = await self.client.request("POST", "/sandbox/payments", json=bill_only)
            result: dict[str, Any] = response.body
            if raised is not None:
                result["raised_bill"] = raised.id
            return result

    async def _raise_bill(self) -> Bill | None:
        """A new bill of R 100–R 5,000, due in 30 days, for a random customer."""
        assert self.client is not None
        from moment_tui.api.models import Customer
        from moment_tui.sandbox.demo import demo_bill

        page = await self.client.list_page("customer", limit=UNPAID_PAGE)
        customers = [c for c in page.items if isinstance(c, Customer)]
        if not customers:
            return None
        customer = self._rng.choice(customers)
        source = {"source": "moment-tui simulated payment"}
        body = demo_bill(self._rng, customer.id, customer.currency, dt.date.today(), source)
        bill = await self.client.create_bill(body)
        if self.workspace is not None:  # known before its payment's webhook arrives
            await self.workspace.remember([bill], "created")
        return bill

    async def close(self) -> None:
        if self.reconciler is not None:
            await self.reconciler.close()
        if self.listener is not None:
            await self.listener.close()
        if self.client is not None:
            with contextlib.suppress(MomentError):
                await self.client.aclose()
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)
        if self.workspace is not None:
            await asyncio.to_thread(self.workspace.close)
