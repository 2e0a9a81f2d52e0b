"""``moment-tui demo``'s console: the app on the demo's settings and options, with the
mask and the key strip as asked. ``commands.demo`` prepares the run (commands never
import the UI); the CLI hands it this function.

Importing this module is free: Textual and the app are imported when the demo starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moment_tui.commands.demo import DemoSetup


def run_demo(setup: DemoSetup) -> int:
    """Run the console until it quits; its exit status."""
    from moment_tui.ui.factory import create_app

    app = create_app(setup.settings, setup.options)
    app.moment.state.set_masked(setup.masked)  # before the first screen: nothing to redraw
    if setup.keys:
        app.show_keys()
    app.run()
    return app.return_code or 0
