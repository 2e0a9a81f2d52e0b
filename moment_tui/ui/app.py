"""The Textual app: wiring only. Behaviour lives in screens, widgets and the runtime."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from moment_tui.config import Settings
from moment_tui.runtime import Runtime
from moment_tui.store import catalogue, eventlog
from moment_tui.ui.messages import (
    ApplicationChanged,
    ConnectionChecked,
    CountsLoaded,
    DeliveryReceived,
    HistoryLoaded,
    RuntimeStarted,
)
from moment_tui.ui.screens.home import HomeScreen
from moment_tui.ui.styles import stylesheets
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.webhook_panel import WebhookPanel

HISTORY = 200  # deliveries from earlier sessions shown at start


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
        self.home = HomeScreen(settings, "the sandbox" if runtime.is_sandbox else settings.api_url)

    def get_default_screen(self) -> HomeScreen:
        return self.home

    def on_mount(self) -> None:
        self.run_worker(self._start(), group="runtime", exit_on_error=False)

    async def _start(self) -> None:
        started = await self.runtime.start(
            on_delivery=lambda d: self.post_message(DeliveryReceived(d)),
            on_application=lambda a: self.post_message(ApplicationChanged(a)),
        )
        self.post_message(RuntimeStarted(started))
        self._load_history()
        if self.runtime.client is not None:
            self.post_message(ConnectionChecked(await self.runtime.client.probe()))
        await self.runtime.sync_catalogue()
        self._load_counts()

    def _load_history(self) -> None:
        workspace = self.runtime.workspace
        if workspace is not None:
            self.run_worker(
                lambda: self.post_message(
                    HistoryLoaded(
                        workspace.query(lambda c: eventlog.latest(c, limit=HISTORY))[::-1]
                    )
                ),
                thread=True,
                group="history",
            )

    def _load_counts(self) -> None:
        workspace = self.runtime.workspace
        if workspace is not None:
            self.run_worker(
                lambda: self.post_message(CountsLoaded(workspace.query(catalogue.counts))),
                thread=True,
                group="counts",
                exclusive=True,
            )

    # --- messages from workers and the listener -----------------------------------------

    def on_runtime_started(self, message: RuntimeStarted) -> None:
        started = message.started
        panel = self.home.query_one(WebhookPanel)
        panel.show_address(started.listener_url or "— (not listening)")
        if self.runtime.client is None:
            self.home.query_one(ConnectionPanel).show_text(
                "No API key is configured and the sandbox did not start."
            )
        for problem in started.problems:
            self.notify(problem, severity="error", timeout=10)

    def on_connection_checked(self, message: ConnectionChecked) -> None:
        self.home.query_one(ConnectionPanel).show_probe(message.probe)

    def on_delivery_received(self, message: DeliveryReceived) -> None:
        self.home.add_delivery(message.delivery)

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.home.add_history(message.deliveries)

    def on_application_changed(self, message: ApplicationChanged) -> None:
        self.home.add_application(message.application)
        if message.application.state != "applied":
            self._load_counts()

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        self.home.query_one(ConnectionPanel).show_counts(message.counts)

    # --- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Off a sandbox, ``p`` (and its footer entry) is hidden: it could do nothing there."""
        if action == "simulate_payment":
            return self.runtime.is_sandbox
        return True

    def action_simulate_payment(self) -> None:
        if not self.runtime.is_sandbox:
            self.notify("Simulated payments exist only on the sandbox.", severity="warning")
            return
        self.run_worker(self._simulate(), group="payments")

    async def _simulate(self) -> None:
        payment = await self.runtime.simulate_payment()
        if payment is None:
            self.notify("Every sandbox bill is paid.")

    async def on_unmount(self) -> None:
        await self.runtime.close()
