"""The permanent top line: which Moment the console talks to, and how safely."""

from __future__ import annotations

from textual.widgets import Static

from moment_tui.config import Settings


class ModeBanner(Static):
    """``TEST`` / ``SANDBOX`` quietly, ``LIVE`` loudly; always visible."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(self.describe(settings), id="mode-banner", markup=False)
        self.add_class(f"-{settings.mode}")

    @staticmethod
    def describe(settings: Settings) -> str:
        read_only = " · read-only" if settings.read_only else ""
        if settings.mode == "live":
            return f"LIVE MODE · real money · {settings.api_url} · writes ask first{read_only}"
        if settings.mode == "test":
            return f"Test mode · {settings.api_url} · key {settings.api_key}{read_only}"
        return f"Sandbox · no API key: a local Moment on this machine{read_only}"
