"""The home screen: connection, webhook books, the catalogue at a glance and the live
delivery list."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal

from moment_tui.ui.screens.base import ConsoleScreen
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_list import DeliveryList
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.glance import GlancePanel
from moment_tui.ui.widgets.payments_spark import PaymentsSpark
from moment_tui.ui.widgets.webhook_panel import WebhookPanel


class HomeScreen(ConsoleScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "app.simulate_payment", "Simulate a payment"),
        Binding("d", "focus_deliveries", "Deliveries", show=False),
    ]
    crumb = "Home"
    # Classes home.tcss sizes the "at a glance" row by: the sparkline leaves a narrow
    # screen to the glance, and a short one keeps its lines for the deliveries. (Textual
    # declares these as instance variables, so no ClassVar: mypy refuses the override.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (72, "-medium"), (116, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (20, "-short"), (34, "-tall")]  # noqa: RUF012

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="panels"):
            yield ConnectionPanel(self.console.api_label)
            yield WebhookPanel()
        with Horizontal(id="glance-row"):
            yield GlancePanel(self.console.queries)
            yield PaymentsSpark()
        # Whom each payment went to by name (a worker asks the catalogue, never the draw).
        yield DeliveryList(queries=self.console.queries)

    def on_mount(self) -> None:
        settings = self.console.settings
        source = settings.sources.get("api_key", "")
        if settings.api_key is None and source.startswith("not found: "):
            # The keyring (or the secrets file) could not be read: a key may exist.
            why = source.removeprefix("not found: ")
            self.notify(f"No API key was found ({why}).", severity="warning", timeout=20)

    def flush(self) -> None:
        """Draw what has arrived now (tests; the list draws by itself when idle)."""
        self.query_one(DeliveryList).flush()

    def action_focus_deliveries(self) -> None:
        self.query_one(DeliveryTable).focus()
