"""One field of a form: its label, the input, and under it the error or a note.

A text, money, date, currency or metadata field is an ``Input``; a choice is a
``Select`` (:class:`Choice`: a letter typed on it goes on into the next field, where
it was meant to be typed, instead of being lost); a pick (a customer or account
chosen from the catalogue) is an ``Input`` to search with and a short list of matches
under it. The field knows nothing of the request: the form reads
:attr:`FormField.value` and tells each field its error.
"""

from __future__ import annotations

from typing import Final

from textual import events
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from moment_tui.ui.forms.spec import FieldSpec

CHOICE_HINT: Final = "Enter or ↓ to choose · typing goes to the next field"


def field_id(path: str) -> str:
    """A widget id from a body path: ``account.customer.phone`` → ``f-account-customer-phone``."""
    return "f-" + path.replace(".", "-").replace("_", "-")


class Choice(Select[str]):
    """A form's compact Select. Closed, it takes Enter, Space and the arrows; a letter
    (or any printable key) typed on it is meant for a field, so the form is told
    (:class:`FormField.TypedOn`) and types it into the next one."""

    def on_key(self, event: events.Key) -> None:
        if self.expanded or not event.is_printable or event.key == "space":
            return
        field = self.parent
        if isinstance(field, FormField):
            event.stop()
            event.prevent_default()
            self.screen.post_message(FormField.TypedOn(field, event.key, event.character))


class FormField(Widget):
    """Label, input and message line for one :class:`FieldSpec`."""

    # Compact, for 80x24: the label beside a borderless input, one line a field; the
    # line under it only when there is an error or a note to show. A grid, not rows in
    # a column: every widget is a share of a form's opening (a New bill has 20 fields),
    # so a field is three of them, and its matches and message line are added when
    # first shown.
    DEFAULT_CSS = """
    FormField {
        layout: grid;
        grid-size: 2;
        grid-columns: 22 1fr;
        grid-rows: auto;
        height: auto;
        & > .label { color: $text-muted; }
        & > Input, & > Select { width: 1fr; }
        & > .message {
            column-span: 2; height: auto; padding-left: 22; color: $text-muted; display: none;
        }
        & > .message.-shown { display: block; }
        &.-error > .message { color: $error; }
        &.-error > .label { color: $error; }
        & > OptionList { column-span: 2; height: auto; max-height: 6; margin-left: 22; }
    }
    """

    class Picked(Message):
        """A pick field's match was chosen (its value is the object's id)."""

        def __init__(self, field: FormField) -> None:
            super().__init__()
            self.field = field

    class TypedOn(Message):
        """A printable key typed on a choice (sent to the screen, in the order typed)."""

        def __init__(self, field: FormField, key: str, character: str | None) -> None:
            super().__init__()
            self.field = field
            self.key = key
            self.character = character

    def __init__(
        self, spec: FieldSpec, value: str = "", label: str = "", *, classes: str | None = None
    ) -> None:
        super().__init__(id=field_id(spec.path), classes=classes)
        self.spec = spec
        self._value = value
        # A pick: what the chosen id is called; with no choice, ``label`` is the search
        # text typed before the form was closed (drawn again, nothing chosen).
        self.picked_label = label if value else ""
        self._typed = label
        self.touched = bool(value)  # errors show once a field was typed in (or sent)
        # Found once (every keystroke reads every field's value and sets its message).
        self._control: Input | Select[str] | None = None
        self._line: Static | None = None
        self._options: OptionList | None = None  # a pick's matches, once there were some
        self._shown: tuple[str, bool] | None = None  # the message line as drawn
        self.mend_on_focus = False  # focused to be mended: the cursor at the end

    def compose(self) -> ComposeResult:
        spec = self.spec
        required = " *" if spec.required else ""
        yield Label(f"{spec.label}{required}", classes="label")
        if spec.kind == "choice":
            yield Choice(
                [(label, value) for value, label in spec.choices],
                value=self._value or spec.choices[0][0],
                allow_blank=False,
                compact=True,
            )
        else:
            shown = self._typed or self._value
            yield Input(value=shown, placeholder=spec.placeholder, compact=True)

    # --- focus: the form draws the focused field apart (styles/forms.tcss) --------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focused")
        box = self.text_box
        if self.mend_on_focus and box is not None and event.widget is box:
            # After the input selected its text on focus: the cursor at its end instead.
            box.cursor_position = len(box.value)
        self.mend_on_focus = False

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focused")

    # --- value --------------------------------------------------------------------------

    @property
    def value(self) -> str:
        if self.spec.kind == "pick":
            return self._value  # the chosen id, not the search text
        control = self._composed()
        if control is None:
            return self._value  # mounted with its section, not composed yet: as given
        if isinstance(control, Select):
            chosen = control.value
            return chosen if isinstance(chosen, str) else ""  # the blank is no choice
        return control.value

    @property
    def control(self) -> Widget:
        """What takes the focus: the input or the select."""
        control = self._composed()
        if control is None:
            raise NoMatches(f"{self.id} is not composed yet")
        return control

    @property
    def text_box(self) -> Input | None:
        """The input text is typed in (None: a choice, or not composed yet)."""
        control = self._composed()
        return control if isinstance(control, Input) else None

    def _composed(self) -> Input | Select[str] | None:
        """The input or select, once composed (a section shown late mounts its fields
        while the form goes on being checked)."""
        if self._control is None:
            kind = Select if self.spec.kind == "choice" else Input
            found = [child for child in self.children if isinstance(child, kind)]
            self._control = found[0] if found else None
        return self._control

    @property
    def hint(self) -> str:
        """What the line under the field says while it has the focus (and nothing else
        to say): the spec's hint; a choice says how to choose."""
        return self.spec.hint or (CHOICE_HINT if self.spec.kind == "choice" else "")

    def show(self, error: str | None, note: str | None = None, hint: str | None = None) -> None:
        """The field's error (only once touched), else its note, else (focused) its
        hint: ``hint``, or :attr:`hint` when None."""
        shown = error if error and self.touched else None
        if hint is None:
            hint = self.hint
        message = shown or note or (hint if self.has_focus_within else "")
        if self._shown == (message, shown is not None):
            return  # unchanged: no relayout (each keystroke shows every field again)
        self._shown = (message, shown is not None)
        self.set_class(shown is not None, "-error")
        if self._line is None:
            # Not composed yet, or closing (the app quit while a form made ahead was
            # still being mounted): not drawn, said again once composed.
            if self._composed() is None or not self.is_attached or not self.app.is_running:
                self._shown = None
                return
            if not message:
                return
            self._line = Static(message, classes="message -shown", markup=False)
            self.mount(self._line)  # under the matches, if any
            return
        self._line.set_class(bool(message), "-shown")
        self._line.update(message)

    # --- pick: search the catalogue ---------------------------------------------------------

    def show_matches(self, matches: list[tuple[str, str]]) -> None:
        """``(id, label)`` pairs under the search text; Enter or ↓ then Enter picks."""
        found = [Option(label, id=object_id) for object_id, label in matches]
        options = self._options
        if options is not None and options.is_mounted:
            options.clear_options()
            options.add_options(found)
            options.display = bool(found)
            return
        if options is not None:  # typed on before the first list was up: replace it
            options.remove()
            self._options = None
        if found:
            self._options = OptionList(*found, markup=False)
            self.mount(self._options, before=self._line)  # above the message line

    def pick(self, object_id: str, label: str) -> None:
        self._value = object_id
        self.picked_label = label
        self.touched = True
        field = self.query_one(Input)
        with field.prevent(Input.Changed):
            field.value = label
        self._hide_matches()
        self.post_message(self.Picked(self))

    def relabel(self, label: str) -> None:
        """The chosen object's label drawn anew (the mask turned on or off); the
        choice stays."""
        if not self._value or label == self.picked_label:
            return
        self.picked_label = label
        field = self.query_one(Input)
        with field.prevent(Input.Changed):
            field.value = label

    def unpick(self) -> None:
        """Typing again after a pick: the choice is gone until a new one is made."""
        self._value = ""
        self.picked_label = ""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option.id or "", str(event.option.prompt))

    def _hide_matches(self) -> None:
        if self._options is not None:
            self._options.display = False

    def hide_matches(self) -> bool:
        """Close a pick's list of matches; whether one was open (Esc closes it first,
        not the form; the focus goes back to the search text)."""
        options = self._shown_matches()
        if options is None:
            return False
        refocus = options.has_focus
        self._hide_matches()
        box = self.text_box
        if refocus and box is not None:
            box.focus()
        return True

    @property
    def draft_label(self) -> str:
        """What a draft keeps beside a pick's value: the chosen object's name, or with
        nothing chosen the search text as typed."""
        if self._value:
            return self.picked_label
        box = self.text_box
        return box.value if box is not None else self._typed

    def _shown_matches(self) -> OptionList | None:
        options = self._options
        if options is None or not options.display or options.option_count == 0:
            return None
        return options

    def first_match(self) -> tuple[str, str] | None:
        options = self._shown_matches()
        if options is None:
            return None
        option = options.get_option_at_index(0)
        return option.id or "", str(option.prompt)

    def focus_matches(self) -> bool:
        options = self._shown_matches()
        if options is None:
            return False
        options.focus()
        options.highlighted = 0
        return True
