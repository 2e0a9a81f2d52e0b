"""The home screen: connection, webhook books and the live delivery list."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from moment_tui.config import Settings
from moment_tui.runtime import Connected, Started
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery
from moment_tui.ui.modals.delivery_detail import DeliveryDetail
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.mode_banner import ModeBanner
from moment_tui.ui.widgets.webhook_panel import WebhookPanel

FLUSH_SECONDS = 0.25


class HomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "app.simulate_payment", "Simulate a payment"),
        Binding("d", "focus_deliveries", "Deliveries", show=False),
    ]

    def __init__(self, settings: Settings, api_label: str) -> None:
        super().__init__()
        self.settings = settings
        self.api_label = api_label
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield ModeBanner(self.settings)
        with Horizontal(id="panels"):
            yield ConnectionPanel(self.api_label)
            yield WebhookPanel()
        yield DeliveryTable()
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)

    # --- what the app tells the screen --------------------------------------------------

    def show_started(self, started: Started, has_api: bool) -> None:
        self.query_one(WebhookPanel).show_address(started.listener_url or "— (not listening)")
        if not has_api:
            self.query_one(ConnectionPanel).show_text(
                "✕ No API: no key is configured and the sandbox did not start."
            )
        for problem in started.problems:
            self.notify(problem, severity="error", timeout=10)

    def show_failure(self, reason: str) -> None:
        self.query_one(ConnectionPanel).show_text(f"✕ The console could not start: {reason}")
        self.query_one(WebhookPanel).show_address("— (not listening)")
        self.notify(reason, severity="error", timeout=30)

    def show_connected(self, connected: Connected) -> None:
        if connected.probe is not None:
            self.query_one(ConnectionPanel).show_probe(connected.probe)
        if connected.problem:
            self.notify(connected.problem, severity="warning", timeout=10)

    def show_counts(self, counts: dict[str, int]) -> None:
        self.query_one(ConnectionPanel).show_counts(counts)

    def add_delivery(self, delivery: Delivery) -> None:
        self.query_one(DeliveryTable).queue(delivery)
        self.query_one(WebhookPanel).tally.count(delivery.verdict)
        self._dirty = True

    def add_history(self, deliveries: list[Delivery]) -> None:
        """Earlier sessions' deliveries, drawn before anything newer; not counted."""
        self.query_one(DeliveryTable).queue_history(deliveries)
        self._dirty = True

    def add_application(self, application: Application) -> None:
        self.query_one(DeliveryTable).queue_result(application)
        self.query_one(WebhookPanel).tally.settle(application.state)
        self._dirty = True

    def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.query_one(DeliveryTable).flush()
        self.query_one(WebhookPanel).refresh_text()

    def action_focus_deliveries(self) -> None:
        self.query_one(DeliveryTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        table = self.query_one(DeliveryTable)
        seq = int(event.row_key.value or 0)
        delivery = table.deliveries.get(seq)
        if delivery is not None:
            self.app.push_screen(DeliveryDetail(delivery, table.applications.get(seq)))
