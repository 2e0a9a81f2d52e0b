"""Blank create forms made ahead, so that ``n`` shows one already built.

Building a New bill (its fields composed, mounted and styled) took about 100 ms of the
key's time to the form drawn; a form made while the console was idle is only laid out
and drawn when it is shown. One spare per kind (customer, account, bill) is made
after the views, and again after one was used, each in a pause: no form or modal up,
no key for 1.5 s, no webhook delivery for 1 s (building one holds the event loop for
about 100 ms, which a key or a delivery would otherwise wait out).

A spare is what a fresh form would be, or it is not used: it is made only while there
is no draft of that form (nothing typed and dismissed), and taken only while its draft
is still the session's draft for that form, untouched, and while the day and the
theme it was made with still hold (the mask it follows when shown, as any form does).
Otherwise ``n`` builds the form as ever (a dismissed form comes back filled that way).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import datetime as dt

    from textual.app import App

    from moment_tui.api.kinds import ObjectKind
    from moment_tui.ui.console import Console
    from moment_tui.ui.screens.form_base import FormScreen
    from moment_tui.ui.state import Change

KINDS: Final[tuple[ObjectKind, ...]] = ("bill", "customer", "account")
AGAIN_SECONDS: Final = 0.5  # how often a spare to make looks for its pause
REST_SECONDS: Final = 1.5  # … which is this long after the last key
QUIET_SECONDS: Final = 1.0  # … and this long after the last webhook delivery


@dataclass
class Spare:
    form: FormScreen
    day: dt.date
    theme: str


async def _wait(mounted: Awaitable[object]) -> None:
    await mounted


def pristine(form: FormScreen) -> bool:
    """Nothing typed into the form's draft: each value its default or empty (a form
    opened and closed untouched leaves a draft like that), and nothing sent with it."""
    return not form.draft.typed_in(form.initial())


class SpareForms:
    def __init__(
        self,
        app: App[Any],
        console: Console,
        form_class: Callable[[ObjectKind], type[FormScreen]],
    ) -> None:
        self.app = app
        self.console = console
        self.form_class = form_class  # navigate.form_class
        self._spares: dict[ObjectKind, Spare] = {}
        self._mounting: asyncio.Future[None] | None = None  # the last one made, mounting
        self._wanted: list[ObjectKind] = []  # kinds to make, in a pause
        self._ticking = False
        self._busy_at = 0.0  # time.monotonic() of the last delivery heard
        self._settled: Callable[[], None] | None = None

    def mounting(self) -> asyncio.Future[None] | None:
        """The spare being mounted now, if one is (the app waits for it to quit: a
        screen closed half-mounted raised from its widgets' mount handlers)."""
        if self._mounting is not None and self._mounting.done():
            self._mounting = None
        return self._mounting

    def make(self, kind: ObjectKind) -> bool:
        """Make the spare of ``kind`` now, unless there is one, or a draft of that form
        (or writes are off); True when one was made."""
        app = self.app
        if self.console.read_only or kind in self._spares:
            return False
        if not app.is_running or app.return_code is not None:
            return False  # closing: a screen mounted now is torn down half-composed
        form = self.form_class(kind)(self.console)  # its draft: the session's, or a new one
        if not pristine(form):
            return False  # typed in and dismissed: the form is built from its draft
        # Textual mounts a screen when it is first shown; registering it mounts it now,
        # off screen, as the app's views made ahead are (App._init_mode does the same).
        _, mounted = self.app._get_screen(form)
        self._mounting = asyncio.ensure_future(_wait(mounted))
        self._spares[kind] = Spare(form, self.console.today(), self.app.theme)
        return True

    def take(self, kind: ObjectKind) -> FormScreen | None:
        """The spare of ``kind`` if it is what a fresh form would be now, else None (a
        spare no longer fit is closed)."""
        spare = self._spares.pop(kind, None)
        if spare is None:
            return None
        form = spare.form
        drafts = self.console.drafts
        fits = (
            form.draft_name in drafts
            and drafts.get(form.draft_name) is form.draft
            and pristine(form)
            and spare.day == self.console.today()
            and spare.theme == self.app.theme
            and form.is_running
        )
        if not fits:
            form.remove()
            return None
        return form

    # --- when to make them: in a pause ------------------------------------------------------

    def start(self, settled: Callable[[], None]) -> None:
        """Make one of each kind, one per pause; ``settled()`` once all are made (the
        app freezes them for the collector then, as it does its views)."""
        self._settled = settled
        self._wanted.extend(k for k in KINDS if k not in self._wanted)
        self.console.state.subscribe(self._noted)  # as long as the console lives
        self._soon()

    def used(self, kind: ObjectKind) -> None:
        """A form of ``kind`` was taken: the next one is made in a later pause (the
        form closed, the keyboard and the webhooks resting)."""
        if kind not in self._wanted:
            self._wanted.append(kind)
        self._soon()

    def _noted(self, change: Change) -> None:
        if "deliveries" in change.topics:
            self._busy_at = time.monotonic()

    def _soon(self) -> None:
        if not self._ticking and self.app.is_running:
            self._ticking = True
            self.app.set_timer(AGAIN_SECONDS, self._tick)

    def _tick(self) -> None:
        """Make the next spare wanted if this is a pause; else look again later."""
        self._ticking = False
        if not self._wanted or not self.app.is_running or self.app.return_code is not None:
            return
        if self._paused():
            made = self.make(self._wanted.pop(0))
            settled, pending = self._settled, self.mounting()
            if not self._wanted and settled is not None:
                if made and pending is not None:  # once its widgets exist
                    pending.add_done_callback(lambda _: settled())
                else:
                    settled()
        if self._wanted:
            self._soon()

    def _paused(self) -> bool:
        """No form or modal up, no key for REST_SECONDS, no delivery for QUIET_SECONDS:
        building a form (about 100 ms of the event loop) then delays nothing."""
        try:
            screen = self.app.screen
        except Exception:  # closing: no screens
            return False
        now = time.monotonic()
        return not (
            getattr(screen, "is_form", False)
            or screen.is_modal
            or now - getattr(self.app, "last_key_at", 0.0) < REST_SECONDS
            or now - self._busy_at < QUIET_SECONDS
        )
