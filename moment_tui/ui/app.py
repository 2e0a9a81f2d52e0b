"""The Textual app: wiring only. Behaviour lives in screens, widgets and core packages."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer

from moment_tui.api.client import MomentClient
from moment_tui.config import Settings
from moment_tui.ui.messages import ConnectionChecked
from moment_tui.ui.styles import stylesheets
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.mode_banner import ModeBanner


class MomentApp(App[int]):
    """moment-tui's console. Everything it uses is passed in; see ``ui.factory``."""

    TITLE = "moment-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
    ]

    def __init__(self, settings: Settings, client: MomentClient | None) -> None:
        super().__init__(css_path=stylesheets())
        self.settings = settings
        self.client = client

    def compose(self) -> ComposeResult:
        yield ModeBanner(self.settings)
        yield ConnectionPanel(self.settings.api_url if self.client else "the sandbox")
        yield Footer()

    def on_mount(self) -> None:
        if self.client is None:
            self.query_one(ConnectionPanel).show_text(
                "No API key is configured. Run `moment-tui login`, or set MOMENT_API_KEY."
            )
            return
        self.run_worker(self._probe(self.client), exclusive=True, group="probe")

    async def _probe(self, client: MomentClient) -> None:
        self.post_message(ConnectionChecked(await client.probe()))

    def on_connection_checked(self, message: ConnectionChecked) -> None:
        self.query_one(ConnectionPanel).show_probe(message.probe)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()
