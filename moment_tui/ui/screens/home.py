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
from moment_tui.store.eventlog import BooksSnapshot, Delivery
from moment_tui.ui.modals.delivery_detail import DeliveryDetail
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_list import DeliveryList
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.mode_banner import ModeBanner
from moment_tui.ui.widgets.webhook_panel import WebhookPanel

FLUSH_SECONDS = 0.25
SANDBOX_HINT = "No deliveries yet — press p to simulate a payment."
API_HINT = "No deliveries yet — webhooks Moment sends to the address above appear here."
NO_LISTENER_HINT = "No deliveries: the webhook listener is not running."


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
        yield DeliveryList()
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)
        source = self.settings.sources.get("api_key", "")
        if self.settings.api_key is None and source.startswith("not found: "):
            # The keyring (or the secrets file) could not be read: a key may exist.
            why = source.removeprefix("not found: ")
            self.notify(f"No API key was found ({why}).", severity="warning", timeout=20)

    # --- what the app tells the screen --------------------------------------------------

    def show_started(self, started: Started, has_api: bool) -> None:
        self.query_one(WebhookPanel).show_address(started.listener_url or "— (not listening)")
        sandbox = self.settings.mode == "sandbox"
        hint = SANDBOX_HINT if sandbox and has_api else API_HINT
        self.query_one(DeliveryList).set_hint(hint if started.listener_url else NO_LISTENER_HINT)
        if not has_api:
            self.query_one(ConnectionPanel).show_text(
                "✕ No API: no key is configured and the sandbox did not start."
            )
        for problem in started.problems:
            self.notify(problem, severity="error", timeout=10)

    def show_failure(self, reason: str) -> None:
        self.query_one(ConnectionPanel).show_text(f"✕ The console could not start: {reason}")
        self.query_one(WebhookPanel).show_address("— (not listening)")
        self.query_one(WebhookPanel).show_unavailable("no event log to count")
        deliveries = self.query_one(DeliveryList)
        deliveries.set_hint("No deliveries: the console could not start.")
        deliveries.history_known = True
        deliveries.show_empty()
        self.notify(reason, severity="error", timeout=30)

    def show_read_failure(self, group: str, reason: str) -> None:
        """A start-up read failed: say so where its figures would be, not "reading…"."""
        if group == "books":
            self.query_one(WebhookPanel).show_unavailable(f"could not read the counts: {reason}")
        elif group == "history":
            deliveries = self.query_one(DeliveryList)
            deliveries.set_hint(f"Earlier deliveries could not be read: {reason}")
            deliveries.history_known = True
            deliveries.show_empty()

    def show_connected(self, connected: Connected) -> None:
        if connected.probe is not None:
            self.query_one(ConnectionPanel).show_probe(connected.probe)
            if not connected.probe.ok:  # whole here, where the panel may cut it
                target = self.query_one(ConnectionPanel).target
                reason = connected.probe.summary
                self.notify(f"Cannot use {target}: {reason}", severity="error", timeout=30)
        if connected.problem:
            self.notify(connected.problem, severity="warning", timeout=10)

    def show_counts(self, counts: dict[str, int]) -> None:
        self.query_one(ConnectionPanel).show_counts(counts)

    def show_books(self, snapshot: BooksSnapshot) -> None:
        """The event log's counts so far; deliveries since are counted as they come."""
        self.query_one(WebhookPanel).tally.load(snapshot)
        self._dirty = True

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        table, tally = self.query_one(DeliveryTable), self.query_one(WebhookPanel).tally
        for delivery in deliveries:
            table.queue(delivery)
            tally.count(delivery.seq, delivery.verdict)
        self._dirty = True

    def add_history(self, deliveries: list[Delivery]) -> None:
        """Earlier sessions' deliveries, drawn before anything newer (the books, not
        these rows, count them: the table shows only the newest)."""
        self.query_one(DeliveryTable).queue_history(deliveries)
        self.query_one(DeliveryList).history_known = True
        self._dirty = True

    def add_applications(self, applications: list[Application]) -> None:
        table, tally = self.query_one(DeliveryTable), self.query_one(WebhookPanel).tally
        for application in applications:
            table.queue_result(application)
            tally.settle(application.delivery_seq, application.state)
        self._dirty = True

    def flush(self) -> None:
        if not self._dirty:
            return
        # A burst's rows wait for their second: dirty until they are drawn.
        self._dirty = not self.query_one(DeliveryTable).flush()
        self.query_one(DeliveryList).show_empty()
        self.query_one(WebhookPanel).refresh_text()

    def action_focus_deliveries(self) -> None:
        self.query_one(DeliveryTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        table = self.query_one(DeliveryTable)
        seq = int(event.row_key.value or 0)
        delivery = table.deliveries.get(seq)
        if delivery is not None:
            self.app.push_screen(DeliveryDetail(delivery, table.applications.get(seq)))
