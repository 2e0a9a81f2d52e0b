"""The one place the console is assembled from settings."""

from __future__ import annotations

from moment_tui.api.client import MomentClient
from moment_tui.config import Settings
from moment_tui.ui.app import MomentApp


def create_app(settings: Settings) -> MomentApp:
    client = None
    if settings.mode != "sandbox" and settings.api_key is not None:
        client = MomentClient(settings.api_key.reveal(), base_url=settings.api_url)
    return MomentApp(settings, client)
