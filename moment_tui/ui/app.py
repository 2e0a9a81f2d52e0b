"""The Textual app: wiring only. Views register in ``ui.views``; behaviour lives in
screens, widgets, the console state and ``ui.console``."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import events
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from moment_tui.config import screenshot_dir
from moment_tui.ui.navigate import form_class
from moment_tui.ui.spares import SpareForms
from moment_tui.ui.styles import stylesheets
from moment_tui.ui.views import VIEWS, View

if TYPE_CHECKING:
    from rich.console import RenderableType
    from textual.dom import DOMNode

    from moment_tui.api.kinds import ObjectKind
    from moment_tui.config import Settings
    from moment_tui.runtime import Runtime
    from moment_tui.ui.console import Console
    from moment_tui.ui.screens.home import HomeScreen
    from moment_tui.ui.state import Change
    from moment_tui.ui.widgets.key_strip import KeyLog

Severity = Literal["information", "warning", "error"]
WRITES: tuple[tuple[ObjectKind, str], ...] = (
    ("customer", "Create a customer (n on the Customers view)"),
    ("account", "Create an account, for an existing or a new customer (n on Accounts)"),
    ("bill", "Raise a bill on an account or customer, new or existing: one request (n on Bills)"),
)
WARM_SECONDS = 0.2  # between views made ahead of time, so keys stay answered
# Masks names, emails and phones on screen. Not Ctrl+X (Input's "cut"); a priority
# binding, so it works in every view, form and modal alike.
MASK_KEY = "ctrl+n"


class MomentApp(App[int]):
    """moment-tui's console. Everything it uses is passed in; see ``ui.factory``."""

    TITLE = "moment-tui"
    DEFAULT_MODE = "home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit_key", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        # Priority: Go to is pushed as the app reads "g", so the reference typed right
        # after it reaches its field (a plain binding acted only once the key had
        # bubbled back up, and the keys read meanwhile went to the old screen's focus).
        # Not while typing (check_action).
        Binding("g", "go_to", "Go to", priority=True),
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding(MASK_KEY, "toggle_mask", show=False, priority=True),
    ]

    def __init__(self, moment: Console, views: Sequence[View] = VIEWS) -> None:
        super().__init__(css_path=stylesheets())
        self.moment = moment
        self.views = tuple(views)
        self.key_log: KeyLog | None = None  # the keys pressed, with a strip: show_keys()
        self.spares = SpareForms(self, moment, form_class)  # blank forms made ahead
        self.last_key_at = 0.0  # time.monotonic() of the last key read
        for view in self.views:
            self.add_mode(view.mode, view.factory(moment))
            self.bind(view.key, f"view('{view.mode}')", description=view.title, show=False)

    @property
    def settings(self) -> Settings:
        return self.moment.settings

    @property
    def runtime(self) -> Runtime:
        return self.moment.runtime

    @property
    def home(self) -> HomeScreen:
        """The home view's screen (created with the app's first screen)."""
        from moment_tui.ui.screens.home import HomeScreen

        screen = self._screen_stacks.get("home", [None])[0]
        if not isinstance(screen, HomeScreen):
            raise LookupError("the home screen is not up yet")
        return screen

    def show_keys(self) -> None:
        """Show the last keys pressed in a strip above every view's footer (screencasts);
        call it before the app runs."""
        from moment_tui.ui.widgets.key_strip import KeyLog

        self.key_log = KeyLog()

    @contextmanager
    def batch_update(self) -> Iterator[None]:
        """Textual's batch (no painting while widgets are swapped), and then a nudge
        to the screen on top. A screen that goes idle inside a batch (a modal pushed
        while some Footer recomposed, in this or a view being made ahead) leaves its
        first paint pending until its next message, and Textual's batch end wakes
        only the app: ``?`` then opened its keys unseen until another key came."""
        with super().batch_update():
            yield
        with suppress(ScreenStackError):  # closing, or not started
            self.screen.check_idle()  # paints what is pending, once no batch is open

    def exit(
        self, result: int | None = None, return_code: int = 0, message: RenderableType | None = None
    ) -> None:
        """Quit; if a form made ahead (ui.spares) is being mounted, as soon as it is
        (a few milliseconds): closed half-mounted, its widgets raised as they mounted."""
        pending = self.spares.mounting()
        if pending is None:
            super().exit(result, return_code, message)
            return
        pending.add_done_callback(lambda _: self.exit(result, return_code, message))

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        """Restyle ``node`` after a class change, unless it is not mounted yet.

        Textual restyles a widget whose class changes even while it is being made
        (``Input(compact=True)`` toggles a class in its constructor) and restyles it
        again when it is mounted. For a form, with an Input per field, the first
        of the two was a third of the time its key took to show it. Mounting is the
        one that counts; a widget is styled then whatever its classes."""
        if node is not self and not node.is_attached:
            return
        super().update_styles(node, animate)

    async def on_event(self, event: events.Event) -> None:
        """Every key the terminal sends reaches the app here first, not yet forwarded
        to a binding or widget: the key strip notes it, then Textual handles it as ever.
        (Forwarded copies bubbling back up are not counted twice.)"""
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.last_key_at = time.monotonic()  # ui.spares builds only in a pause
            if self.key_log is not None:
                self.key_log.add(event.key, event.character)
        await super().on_event(event)

    def on_mount(self) -> None:
        # Paint first: the runtime (sandbox, listener, workspace) starts behind it.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.run_worker(self.moment.run(self.report), group="console", exit_on_error=False)
        self._unwatch = self.moment.state.subscribe(self._warm_when_connected)

    def _warm_when_connected(self, change: Change) -> None:
        if "connection" in change.topics and self.moment.state.status.connected is not None:
            self._unwatch()
            self.set_timer(WARM_SECONDS, self.warm)

    def warm(self) -> None:
        """Make the next view's screen ahead of time, one per idle moment, so its key
        switches to a screen already built (building one costs a few hundred ms)."""
        if not self.is_running or self.return_code is not None:
            return  # closing: no new screens (the stacks are being emptied)
        for view in self.views:
            if view.mode not in self._screen_stacks:
                self._init_mode(view.mode)
                self.set_timer(WARM_SECONDS, self.warm)
                return
        # Settled: everything made so far (the views, the runtime, the imports) lives
        # as long as the console. Frozen, the collector stops walking it: a full
        # collection over it took 115-165 ms under live traffic, a stall every key
        # and delivery waited out (bench/console_bench.py live).
        gc.freeze()
        # Then a blank form of each kind, each in a pause (ui.spares), frozen in turn.
        self.spares.start(settled=gc.freeze)

    def report(self, severity: str, text: str) -> None:
        """A problem the console ran into, as a notification (errors stay 30 s)."""
        level: Severity = "error" if severity == "error" else "warning"
        if severity == "information":
            level = "information"
        self.notify(text, severity=level, timeout=30 if level == "error" else 10)

    # --- actions ------------------------------------------------------------------------

    async def action_quit_key(self) -> None:
        """``q``: quit (a key of its own, so forms can leave it to typing)."""
        await self.action_quit()

    async def action_quit(self) -> None:
        """Quit (``q``, Ctrl+Q, the palette); with forms typed in and not sent, only
        once that is confirmed: drafts live as long as the console."""
        from moment_tui.ui.modals.confirm_action import ConfirmAction

        unsent = self.moment.drafts.unsent()
        if not unsent:
            self.exit()
            return
        if isinstance(self.screen, ConfirmAction) and self.screen.verb == "quit":
            self.exit()  # asked already: the quit key again means it
            return
        names = sorted({draft.title or "a form" for draft in unsent})
        text = (
            f"Typed in and not sent: {', '.join(names)}.\n"
            "What was typed is kept for this session only: it is lost when the console "
            "closes."
        )
        self.push_screen(
            ConfirmAction("Quit moment-tui?", text, verb="quit"),
            lambda yes: self.exit() if yes else None,
        )

    def action_view(self, mode: str) -> None:
        if mode != self.current_mode:
            self.switch_mode(mode)
            return
        # The view's own key again, deep in it (a bill, its customer, …): back to its
        # list in one key, as a tab's key does in a browser. (A form or a modal takes
        # its keys itself: it is never closed by this.)
        if isinstance(self.screen, ModalScreen):
            return
        for _ in range(len(self.screen_stack) - 1):
            self.pop_screen()

    def action_go_to(self) -> None:
        from moment_tui.ui.modals.go_to import GoTo

        self.push_screen(GoTo(self.moment))

    def action_help(self) -> None:
        from moment_tui.ui.modals.keys import KeysHelp

        if not isinstance(self.screen, KeysHelp):
            self.push_screen(KeysHelp(self.screen))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Off a sandbox, ``p`` (and its footer entry) is hidden: it could do nothing there.
        In a form, single letters are for typing: q, g and 1-5 do nothing there (a
        stray q on a choice must not quit with the form half-filled; Ctrl+C still does)."""
        in_form = bool(getattr(self.screen, "is_form", False))
        if action == "go_to" and isinstance(self.focused, Input):
            return False  # a "g" typed in a field (a filter, the Go to prompt) is text
        if action == "simulate_payment":
            return self.moment.is_sandbox and not in_form
        # ? is text in a form, where F1 lists the keys (its own binding).
        return not (in_form and action in ("quit_key", "go_to", "view", "help"))

    def action_toggle_mask(self) -> None:
        """Mask names, emails and phones on screen (for recordings), or show them again."""
        state = self.moment.state
        state.set_masked(not state.masked)

    def action_simulate_payment(self) -> None:
        if self.moment.is_sandbox:
            self.run_worker(self._simulate(), group="payments", exit_on_error=False)

    async def _simulate(self) -> None:
        said = await self.moment.simulate_payment()
        if said is not None:
            self.report(*said)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Textual saves to ~/Downloads, which a server reached over SSH rarely has;
        then it goes to the data directory instead."""
        self.deliver_screenshot(filename, path or str(screenshot_dir(self.settings)))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette offers every view and every key of the screen it was opened on,
        so typing "bills", "pay" or "filter" finds it."""
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # Textual's would skip action_screenshot
                yield SystemCommand(
                    "Screenshot",
                    "Save an SVG of the screen (~/Downloads, else the data directory)",
                    lambda: self.set_timer(0.1, self.action_screenshot),
                )
            else:
                yield command
        for view in self.views:
            yield SystemCommand(
                view.title, f"{view.description} ({view.key})", self._switcher(view.mode)
            )
        yield SystemCommand(
            "Go to",
            "Open a customer, account or bill by id or external reference (g)",
            self.action_go_to,
        )
        yield SystemCommand("Help", "The keys of this view (?)", self.action_help)
        if self.moment.state.masked:
            yield SystemCommand(
                "Show personal data",
                "Show names, emails and phones unmasked again (Ctrl+N)",
                self.action_toggle_mask,
            )
        else:
            yield SystemCommand(
                "Mask personal data",
                "Mask names, emails and phones on screen, for recordings (Ctrl+N)",
                self.action_toggle_mask,
            )
        if not self.moment.read_only:  # read-only: no write is offered anywhere
            for kind, what in WRITES:
                yield SystemCommand(f"New {kind}", what, self._creator(kind))
        if self.moment.is_sandbox:
            yield SystemCommand(
                "Simulate a payment",
                "Pay an unpaid bill on the sandbox; its signed webhook arrives here (p)",
                self.action_simulate_payment,
            )
        yield from screen_commands(screen)

    def _switcher(self, mode: str) -> Callable[[], None]:
        return lambda: self.action_view(mode)

    def _creator(self, kind: ObjectKind) -> Callable[[], None]:
        def open_form() -> None:
            from moment_tui.ui.navigate import new_form

            self.push_screen(new_form(self, self.moment, kind))

        return open_form

    async def on_unmount(self) -> None:
        # What was frozen is the collector's again: whatever of it is left once the
        # console is gone (another console in the same process, as in the tests, or
        # the interpreter's exit) can be collected.
        gc.unfreeze()
        await self.moment.close()


APP_ACTIONS = frozenset(
    {"quit", "quit_key", "go_to", "help", "simulate_payment", "command_palette", "toggle_mask"}
)


def screen_commands(screen: Screen[object]) -> Iterable[SystemCommand]:
    """The screen's own keys (those with a description), as palette commands."""
    seen: set[str] = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        action = binding.action.split("(")[0].removeprefix("app.")
        if not binding.description or action in APP_ACTIONS or action.startswith("view"):
            continue
        if binding.description in seen or not active.enabled:
            continue
        seen.add(binding.description)
        shown = binding.key_display or key

        def run(node: object = active.node, action: str = binding.action) -> None:
            screen.app.call_later(screen.app.run_action, action, node)

        about = f"{binding.tooltip} ({shown})" if binding.tooltip else f"This view's key {shown}"
        yield SystemCommand(binding.description, about, run)
