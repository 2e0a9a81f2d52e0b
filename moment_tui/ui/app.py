"""The Textual app: wiring only. Behaviour lives in screens, widgets and the runtime."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import ClassVar, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen

from moment_tui.api.errors import MomentError
from moment_tui.batching import TurnBatch
from moment_tui.config import Settings, screenshot_dir
from moment_tui.runtime import Runtime
from moment_tui.store import catalogue, eventlog
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery, read_books
from moment_tui.ui.messages import (
    ApiConnected,
    ApplicationsChanged,
    BooksLoaded,
    CountsLoaded,
    DeliveriesReceived,
    HistoryLoaded,
    ReadFailed,
    RuntimeFailed,
    RuntimeStarted,
)
from moment_tui.ui.screens.home import HomeScreen
from moment_tui.ui.styles import stylesheets

HISTORY = 200  # deliveries from earlier sessions shown at start
COUNTS_SECONDS = 1.0  # the catalogue counts are refreshed at most this often
T = TypeVar("T")


class MomentApp(App[int]):
    """moment-tui's console. Everything it uses is passed in; see ``ui.factory``."""

    TITLE = "moment-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
    ]

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        super().__init__(css_path=stylesheets())
        self.settings = settings
        self.runtime = runtime
        self.home = HomeScreen(
            settings,
            "the sandbox" if runtime.is_sandbox else settings.api_url,
        )
        self._counts_stale = False

    def get_default_screen(self) -> HomeScreen:
        return self.home

    def on_mount(self) -> None:
        self.run_worker(self._start(), group="runtime", exit_on_error=False)
        self.set_interval(COUNTS_SECONDS, self._refresh_counts)

    async def _start(self) -> None:
        # One message per turn of the loop, not one per delivery: a burst of
        # webhooks must not flood the message queue.
        deliveries: TurnBatch[Delivery] = TurnBatch(
            lambda items: self.post_message(DeliveriesReceived(items))
        )
        applications: TurnBatch[Application] = TurnBatch(
            lambda items: self.post_message(ApplicationsChanged(items))
        )
        try:
            started = await self.runtime.start(on_delivery=deliveries, on_application=applications)
        except Exception as exc:  # no workspace (disk full, newer schema…): say so, keep running
            self.post_message(RuntimeFailed(str(exc) or type(exc).__name__))
            return
        self.post_message(RuntimeStarted(started))
        # Both before anything else is read: the table and its tally fill at once.
        self._read(
            "history",
            lambda c: eventlog.latest(c, limit=HISTORY)[::-1],
            HistoryLoaded,
            "the earlier deliveries",
        )
        self._read("books", read_books, BooksLoaded, "the event log's counts")
        self.post_message(ApiConnected(await self.runtime.connect()))
        self._counts_stale = True

    def _refresh_counts(self) -> None:
        if self.runtime.workspace is not None and self._counts_stale:
            self._counts_stale = False
            self._read("counts", catalogue.counts, CountsLoaded, "the catalogue counts")

    def _read(
        self,
        group: str,
        read: Callable[[sqlite3.Connection], T],
        message: Callable[[T], Message],
        what: str,
    ) -> None:
        """``read`` the workspace in a thread; its result arrives as ``message``."""
        workspace = self.runtime.workspace
        if workspace is None:
            return

        def work() -> None:
            try:
                result = workspace.query(read)
            except Exception as exc:  # a broken workspace: say so, keep running
                self.post_message(ReadFailed(group, what, str(exc) or type(exc).__name__))
            else:
                self.post_message(message(result))

        self.run_worker(work, thread=True, group=group, exclusive=True, exit_on_error=False)

    # --- messages from workers and the listener -----------------------------------------

    def on_runtime_started(self, message: RuntimeStarted) -> None:
        self.home.show_started(message.started, has_api=self.runtime.client is not None)

    def on_runtime_failed(self, message: RuntimeFailed) -> None:
        self.home.show_failure(message.reason)

    def on_api_connected(self, message: ApiConnected) -> None:
        self.home.show_connected(message.connected)

    def on_deliveries_received(self, message: DeliveriesReceived) -> None:
        self.home.add_deliveries(message.deliveries)

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.home.add_history(message.deliveries)

    def on_applications_changed(self, message: ApplicationsChanged) -> None:
        self.home.add_applications(message.applications)
        self._counts_stale = True

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        self.home.show_counts(message.counts)

    def on_books_loaded(self, message: BooksLoaded) -> None:
        self.home.show_books(message.snapshot)

    def on_read_failed(self, message: ReadFailed) -> None:
        self.home.show_read_failure(message.group, message.reason)
        self.notify(
            f"Could not read {message.what}: {message.reason}", severity="error", timeout=30
        )

    # --- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Off a sandbox, ``p`` (and its footer entry) is hidden: it could do nothing there."""
        if action == "simulate_payment":
            return self.runtime.is_sandbox
        return True

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette offers what the keys do, so typing "pay" finds it too."""
        yield from super().get_system_commands(screen)
        if self.runtime.is_sandbox:
            yield SystemCommand(
                "Simulate a payment",
                "Pay an unpaid bill on the sandbox; its signed webhook arrives here (p)",
                self.action_simulate_payment,
            )

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """The palette's Screenshot: Textual saves to ~/Downloads, which a server
        reached over SSH rarely has; then it goes to the data directory instead."""
        self.deliver_screenshot(filename, path or str(screenshot_dir(self.runtime.settings)))

    def action_simulate_payment(self) -> None:
        if self.runtime.is_sandbox:
            self.run_worker(self._simulate(), group="payments", exit_on_error=False)

    async def _simulate(self) -> None:
        refusal = self.runtime.payment_refusal()
        if refusal is not None:
            self.notify(refusal, severity="warning")
            return
        try:
            payment = await self.runtime.simulate_payment()
        except MomentError as exc:
            self.notify(f"The sandbox refused the payment: {exc}", severity="error")
            return
        if payment is None:
            self.notify("The sandbox has no customers to bill.", severity="warning")
        elif payment.get("raised_bill"):
            self.notify(f"Every bill was paid: raised {payment['raised_bill']} to pay.")

    async def on_unmount(self) -> None:
        await self.runtime.close()
