"""One field of a form: its label, the input, and under it the error or a note.

A text, money, date, currency or metadata field is an ``Input``; a choice is a
``Select``; a pick (a customer or account chosen from the catalogue) is an ``Input``
to search with and a short list of matches under it. The field knows nothing of the
request: the form reads :attr:`FormField.value` and tells each field its error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from moment_tui.ui.forms.spec import FieldSpec

if TYPE_CHECKING:
    from textual.widget import Widget


def field_id(path: str) -> str:
    """A widget id from a body path: ``account.customer.phone`` → ``f-account-customer-phone``."""
    return "f-" + path.replace(".", "-").replace("_", "-")


class FormField(Vertical):
    """Label, input and message line for one :class:`FieldSpec`."""

    # Compact, for 80x24: the label beside a borderless input, one line a field; the
    # line under it only when there is an error or a note to show.
    DEFAULT_CSS = """
    FormField {
        height: auto;
        & > .row { height: 1; }
        & .label { width: 22; color: $text-muted; }
        & Input, & Select { width: 1fr; }
        & > .message { height: auto; padding-left: 22; color: $text-muted; display: none; }
        & > .message.-shown { display: block; }
        &.-error > .message { color: $error; }
        &.-error .label { color: $error; }
        & > OptionList { height: auto; max-height: 6; margin-left: 22; }
    }
    """

    class Picked(Message):
        """A pick field's match was chosen (its value is the object's id)."""

        def __init__(self, field: FormField) -> None:
            super().__init__()
            self.field = field

    def __init__(
        self, spec: FieldSpec, value: str = "", label: str = "", *, classes: str | None = None
    ) -> None:
        super().__init__(id=field_id(spec.path), classes=classes)
        self.spec = spec
        self._value = value
        self.picked_label = label  # a pick: what the chosen id is called
        self.touched = bool(value)  # errors show once a field was typed in (or sent)
        # Found once (every keystroke reads every field's value and sets its message).
        self._control: Input | Select[str] | None = None
        self._line: Static | None = None
        self._shown: tuple[str, bool] | None = None  # the message line as drawn

    def compose(self) -> ComposeResult:
        spec = self.spec
        required = " *" if spec.required else ""
        with Horizontal(classes="row"):
            yield Label(f"{spec.label}{required}", classes="label")
            if spec.kind == "choice":
                yield Select(
                    [(label, value) for value, label in spec.choices],
                    value=self._value or spec.choices[0][0],
                    allow_blank=False,
                    compact=True,
                )
            else:
                shown = self.picked_label or self._value
                yield Input(value=shown, placeholder=spec.placeholder, compact=True)
        if spec.kind == "pick":
            yield OptionList(markup=False)
        yield Static("", classes="message", markup=False)

    def on_mount(self) -> None:
        if self.spec.kind == "pick":
            self.query_one(OptionList).display = False

    # --- value --------------------------------------------------------------------------

    @property
    def value(self) -> str:
        if self.spec.kind == "pick":
            return self._value  # the chosen id, not the search text
        control = self._input_or_select()
        if isinstance(control, Select):
            chosen = control.value
            return chosen if isinstance(chosen, str) else ""  # the blank is no choice
        return control.value

    @property
    def control(self) -> Widget:
        """What takes the focus: the input or the select."""
        return self._input_or_select()

    def _input_or_select(self) -> Input | Select[str]:
        if self._control is None:
            if self.spec.kind == "choice":
                self._control = self.query_one(Select)
            else:
                self._control = self.query_one(Input)
        return self._control

    def show(self, error: str | None, note: str | None = None) -> None:
        """The field's error (only once touched), else its note, else its hint."""
        shown = error if error and self.touched else None
        message = shown or note or (self.spec.hint if self.has_focus_within else "")
        if self._shown == (message, shown is not None):
            return  # unchanged: no relayout (each keystroke shows every field again)
        self._shown = (message, shown is not None)
        self.set_class(shown is not None, "-error")
        if self._line is None:
            self._line = self.query_one(".message", Static)
        self._line.set_class(bool(message), "-shown")
        self._line.update(message)

    # --- pick: search the catalogue ---------------------------------------------------------

    def show_matches(self, matches: list[tuple[str, str]]) -> None:
        """``(id, label)`` pairs under the search text; Enter or ↓ then Enter picks."""
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(label, id=object_id) for object_id, label in matches])
        options.display = bool(matches)

    def pick(self, object_id: str, label: str) -> None:
        self._value = object_id
        self.picked_label = label
        self.touched = True
        field = self.query_one(Input)
        with field.prevent(Input.Changed):
            field.value = label
        self.query_one(OptionList).display = False
        self.post_message(self.Picked(self))

    def unpick(self) -> None:
        """Typing again after a pick: the choice is gone until a new one is made."""
        self._value = ""
        self.picked_label = ""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option.id or "", str(event.option.prompt))

    def first_match(self) -> tuple[str, str] | None:
        options = self.query_one(OptionList)
        if not options.display or options.option_count == 0:
            return None
        option = options.get_option_at_index(0)
        return option.id or "", str(option.prompt)

    def focus_matches(self) -> bool:
        options = self.query_one(OptionList)
        if options.display and options.option_count:
            options.focus()
            options.highlighted = 0
            return True
        return False
