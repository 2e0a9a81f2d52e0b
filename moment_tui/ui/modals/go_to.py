"""Go to: any id (``bcus_``, ``bacc_``, ``bill_``) or external reference, opened in
its detail view; fetched from the API when the catalogue does not know it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from moment_tui.ui.navigate import open_detail

if TYPE_CHECKING:
    from moment_tui.ui.console import Console

PROMPT = "An id (bcus_…, bacc_…, bill_…) or an external reference; Enter opens it."


class GoTo(ModalScreen[None]):
    """``g``: an id or an external reference, and Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", key_display="Esc"),
    ]

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def compose(self) -> ComposeResult:
        with Vertical(id="go-to"):
            yield Static("Go to", classes="title")
            yield Input(placeholder="bill_…, INV-2026-0042, UCR…", id="go-to-input")
            yield Static(PROMPT, id="go-to-status", markup=False)
        yield Footer()  # its own keys, not those of the view behind it

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.query_one(Input).disabled = True
            self.say(f"Looking up {text} …")
            self.look_up(text)

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#go-to-status", Static)
        status.set_class(error, "-error")
        status.update(text)

    @work(group="go-to", exclusive=True, exit_on_error=False)
    async def look_up(self, text: str) -> None:
        from moment_tui.api.errors import MomentError
        from moment_tui.ui.queries import NotFoundAnywhere, Unavailable

        try:
            found = await self.console.queries.resolve(text)
        except (NotFoundAnywhere, Unavailable, MomentError) as exc:
            self.say(f"{exc}", error=True)
            field = self.query_one(Input)
            field.disabled = False
            field.focus()
            return
        obj = found.entry.obj
        if found.fetched:
            self.console.state.catalogue_changed()
            self.notify(f"{obj.id} was not in the catalogue: fetched from the API and kept.")
        if found.other_case:
            self.notify(f"No {text!r}, exactly: opened {obj.external_reference}.")
        self.dismiss()
        open_detail(self.app, self.console, obj.KIND, obj.id)
