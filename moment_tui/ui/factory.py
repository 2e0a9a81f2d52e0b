"""The one place the console is assembled from settings."""

from __future__ import annotations

from moment_tui.config import Settings
from moment_tui.runtime import Runtime, RuntimeOptions
from moment_tui.ui.app import MomentApp


def create_app(settings: Settings, options: RuntimeOptions | None = None) -> MomentApp:
    return MomentApp(settings, Runtime(settings, options))
