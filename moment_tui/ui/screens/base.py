"""What every console screen shares: the banner, the breadcrumb, the footer, the
state subscription, and Escape to go back.

A screen is subscribed to the :class:`~moment_tui.ui.state.ConsoleState` only while it
is shown (from ``ScreenResume`` to ``ScreenSuspend``): a view in another mode does no
work for changes nobody can see, and catches up in :meth:`ConsoleScreen.resumed`.
Widgets that follow the state themselves (:class:`~moment_tui.ui.follows.Follows`)
get the same calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult, ScreenStackError, UnknownModeError
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from moment_tui.ui.follows import Follows
from moment_tui.ui.privacy import Privacy
from moment_tui.ui.widgets.breadcrumb import Breadcrumb
from moment_tui.ui.widgets.delivery_list import OpenObject
from moment_tui.ui.widgets.mode_banner import ModeBanner

if TYPE_CHECKING:
    from moment_tui.ui.console import Console
    from moment_tui.ui.state import Change


class ConsoleScreen(Screen[None]):
    """A screen of the console. Subclasses give :attr:`crumb` and :meth:`compose_body`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", key_display="Esc"),
    ]
    crumb: str = ""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self._unsubscribe: Callable[[], None] | None = None
        self._composed = False
        self._followers: list[Follows] = []

    def compose(self) -> ComposeResult:
        yield ModeBanner(self.console.settings)
        yield Breadcrumb()
        yield from self.compose_body()
        key_log = getattr(self.app, "key_log", None)  # moment-tui demo --keys
        if key_log is not None:
            from moment_tui.ui.widgets.key_strip import KeyStrip

            yield KeyStrip(key_log)
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    # --- following the state ------------------------------------------------------------

    def on_mount(self) -> None:
        self._composed = True
        if self._on_top():
            self._follow()

    def on_screen_resume(self) -> None:
        # Not before its widgets exist, nor for a view made ahead of time and not shown
        # yet (see MomentApp.warm): on_mount, or the resume when it is shown, does it.
        if self._composed and self._on_top():
            self._follow()

    def _on_top(self) -> bool:
        """Shown: on top of the current view's stack (never, while the app closes and
        its stacks are emptied — a form made ahead may finish mounting then)."""
        try:
            return self.app.screen is self
        except (ScreenStackError, UnknownModeError):
            return False

    def _follow(self) -> None:
        if self._unsubscribe is not None:
            return  # following already (mounted and resumed in the same breath)
        self._unsubscribe = self.console.state.subscribe(self._changed)
        self.show_trail()
        # Found once per showing: a DOM query for every change costs, under a stream of
        # payments, more than the changes themselves.
        self._followers = [w for w in self.query("*") if isinstance(w, Follows)]
        for widget in self._followers:
            widget.follow(self.console.state)
        self.resumed()

    def on_screen_suspend(self) -> None:
        self._stop_following()

    def on_unmount(self) -> None:
        self._stop_following()

    def _stop_following(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _changed(self, change: Change) -> None:
        # Not while the app closes: its screens' widgets are being removed, and demo
        # payments (moment-tui demo) keep arriving until the runtime stops.
        if not self.is_mounted or not self.app.is_running:
            return
        if "privacy" in change.topics:
            self.show_trail()  # the crumbs and the "masked" mark
        for widget in self._followers:
            widget.changed(change, self.console.state)
        self.changed(change)

    def resumed(self) -> None:
        """The screen is shown (again): catch up with what it missed."""

    def changed(self, change: Change) -> None:
        """One change to the state, while the screen is shown."""

    # --- personal data ----------------------------------------------------------------

    @property
    def privacy(self) -> Privacy:
        """How names, emails and phones are drawn now: as they are, or masked."""
        return Privacy(self.console.state.masked)

    # --- where we are -------------------------------------------------------------------

    def crumb_shown(self, privacy: Privacy) -> str:
        """The crumb as drawn (a detail view masks a customer's name in it)."""
        return self.crumb

    def trail(self) -> list[str]:
        privacy = self.privacy
        return [
            s.crumb_shown(privacy)
            for s in self.app.screen_stack
            if isinstance(s, ConsoleScreen) and s.crumb
        ]

    def show_trail(self) -> None:
        views = getattr(self.app, "views", ())
        current = getattr(self.app, "current_mode", "")
        tabs = [(v.key, v.title, v.mode == current) for v in views]
        self.query_one(Breadcrumb).show(self.trail(), tabs, masked=self.console.state.masked)

    def set_crumb(self, crumb: str) -> None:
        """A detail view learned its object's name: the trail says it."""
        self.crumb = crumb
        if self._composed:  # (its on_mount included: a view read before it was shown)
            self.show_trail()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # on a view's first screen there is nowhere to go back to
            return sum(isinstance(s, ConsoleScreen) for s in self.app.screen_stack) > 1
        return True

    def on_open_object(self, message: OpenObject) -> None:
        from moment_tui.ui.navigate import kind_of, open_detail

        kind = kind_of(message.object_id)
        if kind is not None:
            open_detail(self.app, self.console, kind, message.object_id)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
