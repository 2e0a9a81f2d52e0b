"""Everything a screen may use, passed in once: settings, runtime, state, queries.

:class:`Console` is built by ``ui.factory`` and handed to every screen the app
registers; nothing is read from globals. It also runs the console's life behind the
screens (plain asyncio, no Textual): :meth:`run` starts the runtime after the first
paint, feeds what it reports into :class:`~moment_tui.ui.state.ConsoleState`, reads
the event log's history and books, connects to the API, then keeps the catalogue
counts current.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from moment_tui.batching import TurnBatch
from moment_tui.ui.forms.drafts import Drafts
from moment_tui.ui.queries import Queries
from moment_tui.ui.state import Change, ConsoleState

if TYPE_CHECKING:
    from moment_tui.config import Settings
    from moment_tui.runtime import Runtime
    from moment_tui.store.applications import Application
    from moment_tui.store.eventlog import Delivery

HISTORY: Final = 200  # deliveries from earlier sessions shown at start
COUNTS_SECONDS: Final = 1.0  # the catalogue counts are read again at most this often


class Console:
    """The console's dependencies and its background life; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        runtime: Runtime,
        *,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.today = today
        self.state = ConsoleState()
        self.queries = Queries(runtime, today)
        self.drafts = Drafts()  # what each form holds, for the session
        self._counts_stale = asyncio.Event()
        self.state.subscribe(self._note_change)

    @property
    def is_sandbox(self) -> bool:
        return self.settings.mode == "sandbox"

    @property
    def read_only(self) -> bool:
        return self.settings.read_only

    @property
    def api_label(self) -> str:
        return "the sandbox" if self.is_sandbox else self.settings.api_url

    def _note_change(self, change: Change) -> None:
        if change.topics & {"applications", "catalogue"}:
            self._counts_stale.set()

    # --- the life behind the screens --------------------------------------------------

    async def run(self, report: Callable[[str, str], Any]) -> None:
        """Start everything, then keep the counts current until cancelled.

        ``report(severity, text)`` tells the person about a problem (a notification).
        """
        state = self.state
        # One call per turn of the loop, not one per delivery: a burst of webhooks
        # must not flood the screens.
        deliveries: TurnBatch[Delivery] = TurnBatch(state.add_deliveries)
        applications: TurnBatch[Application] = TurnBatch(state.add_applications)
        try:
            started = await self.runtime.start(on_delivery=deliveries, on_application=applications)
        except Exception as exc:  # no workspace (disk full, newer schema…): say so, keep running
            reason = str(exc) or type(exc).__name__
            self.queries.failed(reason)
            state.fail(reason)
            report("error", reason)
            return
        if self.runtime.request_log is not None:
            state.watch_requests(self.runtime.request_log)
        self.queries.opened()
        state.status.has_api = self.runtime.client is not None
        state.start(started)
        for problem in started.problems:
            report("error", problem)
        await asyncio.gather(self._read_history(report), self._read_books(report))
        connected = await self.runtime.connect()
        state.connect(connected)
        if connected.probe is not None and not connected.probe.ok:  # whole, where a panel cuts it
            report("error", f"Cannot use {self.api_label}: {connected.probe.summary}")
        if connected.problem:
            report("warning", connected.problem)
        self._counts_stale.set()
        await self.keep_counts(report)

    async def _read_history(self, report: Callable[[str, str], Any]) -> None:
        try:
            history = await self.queries.history(HISTORY)
        except Exception as exc:  # a broken workspace: say so, keep running
            reason = str(exc) or type(exc).__name__
            self.state.history_failed(reason)
            report("error", f"Could not read the earlier deliveries: {reason}")
        else:
            self.state.load_history(history)

    async def _read_books(self, report: Callable[[str, str], Any]) -> None:
        try:
            books = await self.queries.books()
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            self.state.books_failed(reason)
            report("error", f"Could not read the event log's counts: {reason}")
        else:
            self.state.load_books(books)

    async def keep_counts(self, report: Callable[[str, str], Any]) -> None:
        """Read the catalogue counts whenever something may have changed them, at most
        once every :data:`COUNTS_SECONDS`."""
        failed = False
        while True:
            await self._counts_stale.wait()
            self._counts_stale.clear()
            try:
                self.state.set_counts(await self.queries.counts())
                failed = False
            except Exception as exc:
                if not failed:  # once, not every second
                    report("error", f"Could not read the catalogue counts: {exc}")
                failed = True
            await asyncio.sleep(COUNTS_SECONDS)

    async def simulate_payment(self) -> tuple[str, str] | None:
        """Sandbox only: a varied payment (see ``runtime.plan_payment``). Returns what to
        tell the person, as ``(severity, text)``, or None when all went as expected
        (the payment's webhook then shows it)."""
        from moment_tui.api.errors import MomentError

        refusal = self.runtime.payment_refusal()
        if refusal is not None:
            return "warning", refusal
        try:
            payment = await self.runtime.simulate_payment()
        except MomentError as exc:
            return "error", f"The sandbox refused the payment: {exc}"
        if payment is None:
            return "warning", "The sandbox has no customers to bill."
        if payment.get("raised_bill"):
            self.state.catalogue_changed()
            return "information", f"Every bill was paid: raised {payment['raised_bill']} to pay."
        return None

    async def close(self) -> None:
        await self.runtime.close()
