"""The one place the console is assembled from settings."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from moment_tui.ui.console import Console

if TYPE_CHECKING:
    from moment_tui.config import Settings
    from moment_tui.runtime import RuntimeOptions
    from moment_tui.ui.app import MomentApp


def create_app(settings: Settings, options: RuntimeOptions | None = None) -> MomentApp:
    """The app, its console and runtime. A sandbox seeded for a fixed day (tests,
    demos) makes that day the console's today too, so "overdue" agrees with the seed."""
    from moment_tui.runtime import Runtime
    from moment_tui.ui.app import MomentApp

    runtime = Runtime(settings, options)
    seeded = runtime.options.seed_today
    today = (lambda: seeded) if seeded is not None else dt.date.today
    return MomentApp(Console(settings, runtime, today=today))
