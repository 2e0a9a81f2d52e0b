"""What every form shares: fields in sections, checked as you type, a preview of the
request, sending it safely, and nothing typed ever lost.

* Each keystroke checks the whole form with the request model the client sends
  (``ui/forms/spec.py``); a field shows its error once it has been typed in, and a
  money field shows the minor units that will be sent.
* ``F2`` shows the JSON body and the equivalent curl (the key is never in it); until
  the form is valid, it names the fields to fix instead (and shows no curl). With the
  mask on (``Ctrl+N``) its names, emails and phones are drawn masked; what is sent
  stays real.
* ``Ctrl+S`` sends; with errors, it goes to the first field to fix (scrolled into
  view with its message) and the line under the form names them all. In LIVE mode
  the request is shown first and sending needs typed confirmation. An error from the
  API is put beside the field it names; a timeout is sent again with the same
  Idempotency-Key ("sent again safely" when Moment answers with the first attempt's
  result); a duplicate external reference offers to open the object that has it.
* ``Esc`` closes; what was typed is kept for the session (the draft), and the form
  comes back filled when opened again. A successful request forgets the draft and
  opens the new (or changed) object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Input, Select, Static

from moment_tui.ui.forms.spec import Checked, Section, check, in_words, visible_fields
from moment_tui.ui.present import READ_ONLY
from moment_tui.ui.screens.base import ConsoleScreen
from moment_tui.ui.widgets.form_field import FormField

if TYPE_CHECKING:
    from textual.screen import ModalScreen
    from textual.widget import Widget

    from moment_tui.api.kinds import ObjectKind
    from moment_tui.ui.console import Console
    from moment_tui.ui.forms.drafts import Draft
    from moment_tui.ui.forms.spec import FieldSpec
    from moment_tui.ui.forms.submit import Sent
    from moment_tui.ui.state import Change

MASKED: str = "#masked"  # the draft's note of how its pick labels were drawn ("1": masked)


def fix_line(name: str, error: str) -> str:
    """``Phone: use international E.164 form …``; an error that starts with the field's
    name is said once ("External reference is required")."""
    if not name:
        return error
    if error.lower().startswith(name.lower()):
        return error[:1].upper() + error[1:]
    return f"{name}: {error}"


class FormScreen(ConsoleScreen):
    """A form. Subclasses set the class attributes and :meth:`path` (and may give
    defaults, fixed values, rules and a summary for the confirmation)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("f2", "preview", "Preview", priority=True),
        Binding("ctrl+o", "open_existing", "Open existing", show=False, priority=True),
        # ? is text in a field: the keys' list is on F1 in a form.
        Binding("f1", "keys", "Keys", priority=True),
        # Priority, so the focus moves as the app reads the key: Textual forwards each
        # key to the focused widget's queue and a plain Tab moved the focus only once it
        # had bubbled back up, so text typed right after it (fast, pasted, or sent by
        # tmux) went into the field it left.
        Binding("tab", "next_field", show=False, priority=True),
        Binding("shift+tab", "previous_field", show=False, priority=True),
    ]
    EXTRA_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("Tab / Shift+Tab", "next / previous field"),
        ("Ctrl+S", "send the request (LIVE: shown first, confirmed by typing)"),
        ("F2", "show or hide the JSON body and the equivalent curl"),
        ("Esc", "close a search's matches, else the form: what you typed comes back"),
    )
    heading: ClassVar[str] = ""
    sections: ClassVar[Sequence[Section]] = ()
    model: ClassVar[type[BaseModel]]
    method: ClassVar[str] = "POST"
    kind: ClassVar[ObjectKind]  # what the answer is
    draft_name: str = ""
    is_form: ClassVar[bool] = True  # the app keeps its single-letter keys out of forms

    def __init__(self, console: Console, *, draft_name: str = "") -> None:
        super().__init__(console)
        self.draft_name = draft_name or self.draft_name or type(self).__name__
        self.draft: Draft = console.drafts.get(self.draft_name, self.initial())
        self.checked = Checked(None, {}, {})
        self.sending = False
        self.existing: tuple[ObjectKind, str] | None = None
        # The API's last refusal: a message per field path with the value it was
        # about (shown until that field is changed), and the whole problem with the
        # values it answered (in the status line until anything is changed).
        self.refusal: dict[str, tuple[str, str]] = {}
        self.refusal_text = ""
        self.refused_values: dict[str, str] = {}
        self._field_list: list[FormField] = []
        self._built: set[int] = set()  # sections composed, or being mounted
        self._mounted: set[int] = set()  # sections in the DOM
        self._sections_shown: dict[int, list[Widget]] = {}
        self._said: tuple[str, bool] | None = None
        self._shown_once = False
        # Whether the pick fields' labels and matches were drawn masked: they are drawn
        # again when the mask is turned on or off (a draft's, when it comes back).
        known = self.draft.values.get(MASKED)
        self._drawn_masked = console.state.masked if known is None else known == "1"
        self.crumb = self.heading

    # --- what a form gives ---------------------------------------------------------------

    def path(self) -> str:
        raise NotImplementedError

    def defaults(self) -> dict[str, str]:
        return {}

    def initial(self) -> dict[str, str]:
        """What the form opens with: each choice at its first option (as drawn), then
        :meth:`defaults`. A draft holding only these was not typed in."""
        first = {
            spec.path: spec.choices[0][0]
            for section in self.sections
            for spec in section.fields
            if spec.kind == "choice" and spec.choices
        }
        return {**first, **self.defaults()}

    def fixed(self, values: Mapping[str, str]) -> dict[str, Any]:
        """Values sent as they are (ids chosen elsewhere)."""
        return {}

    def rules(self, body: dict[str, Any], values: Mapping[str, str]) -> dict[str, str]:
        return {}

    def summary(self, body: dict[str, Any]) -> str:
        """One line naming what is about to be written (the confirmation's text)."""
        return f"{self.method} {self.path()}"

    def confirmation_word(self, body: dict[str, Any]) -> str:
        """What LIVE mode asks the person to type: the bill's reference, else ``yes``."""
        return str(body.get("external_reference") or "yes")

    def intro(self) -> str:
        """Text under the heading (what the form does, what it cannot); none by default.
        Drawn again when the mask is turned on or off (it may name a customer)."""
        return ""

    def hint(self, field: FormField, values: Mapping[str, str]) -> str:
        """The line under the focused field when it has nothing else to say: the
        field's own hint by default."""
        return field.hint

    def masked_json(self, body: Any) -> Any:
        """``body`` as it is drawn now: with the mask on, names, emails and phones
        masked (a customer form's top-level name too); the request sent stays real."""
        from moment_tui.ui.privacy import mask_json

        if not self.privacy.masked:
            return body
        return mask_json(body, customer=self.kind == "customer")

    def review(self, checked: Checked, values: Mapping[str, str]) -> Checked:
        """A last look at the checked form before it is shown or sent (an edit form
        keeps only what changed, and notes what it cannot do). As checked by default."""
        return checked

    def confirmation(self, body: dict[str, Any]) -> ModalScreen[bool] | None:
        """Outside LIVE mode: a confirmation to show before sending (None: send at
        once). LIVE mode always asks for typed confirmation (ConfirmAction, live)."""
        return None

    async def done(self, sent: Sent) -> None:
        """After success: open what was made or changed (in place of the form), read
        before it is shown so that it is drawn once, with the object in it."""
        from moment_tui.ui.navigate import detail_screen

        screen = detail_screen(self.console, sent.obj.KIND, sent.obj.id)
        await screen.prepare()
        if self.app.screen is self:  # not dismissed meanwhile
            self.app.switch_screen(screen)

    # --- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        values = self.draft.values
        # Not focusable itself: Tab and Shift+Tab go from field to field, never to the
        # scroll container (a stop that shows nothing); a focused field scrolls into view.
        with VerticalScroll(id="form", can_focus=False):
            yield Static(self.heading, classes="form-title", markup=False)
            intro = self.intro()
            if intro:
                yield Static(intro, id="form-intro", classes="form-intro", markup=False)
            for index, section in enumerate(self.sections):
                # A section hidden now is built when first shown: a field costs its
                # share of the opening (≈ 10 ms), and most variants show few sections.
                if section.when(values):
                    self._built.add(index)
                    self._mounted.add(index)
                    yield from self._section_widgets(index)
            yield Static("", id="form-preview", markup=False)
        # Under the form, not at its end: what Ctrl+S says (the fields to fix, the
        # API's refusal) is seen whatever part of the form is on screen.
        yield Static("", id="form-status", classes="-empty", markup=False)

    def _section_widgets(self, index: int) -> ComposeResult:
        section, values = self.sections[index], self.draft.values
        if section.title:
            yield Static(section.title, classes=f"form-section s{index}", markup=False)
        for spec in section.fields:
            yield FormField(
                spec,
                values.get(spec.path, ""),
                values.get(f"{spec.path}#label", ""),
                classes=f"s{index}",  # given, not added: add_class restyles
            )

    def _build_shown(self, values: Mapping[str, str]) -> bool:
        """Build the sections shown now that were hidden until now (after this turn);
        True while some are still being built."""
        new = [i for i, s in enumerate(self.sections) if i not in self._built and s.when(values)]
        if new:
            self._built.update(new)
            self.call_later(self._mount_sections, new)
        return self._built != self._mounted

    async def _mount_sections(self, indexes: list[int]) -> None:
        if not self.is_attached:
            return  # closed meanwhile
        form = self.query_one("#form", VerticalScroll)
        for index in indexes:
            # In its place: before the first section after it that is on the form.
            later = [n for i in sorted(self._mounted) if i > index for n in self._section_nodes(i)]
            before = later[0] if later else self.query_one("#form-preview")
            await form.mount_all(list(self._section_widgets(index)), before=before)
            self._mounted.add(index)
        self._field_list, self._sections_shown = [], {}
        self._recheck()

    @on(events.ScreenResume)
    def _first_showing(self, event: events.ScreenResume) -> None:
        """The first showing needs no restyle of every widget (Textual's default on each
        resume, for a screen that was away): they were styled as they were mounted, a
        moment ago, and restyling a form's few hundred nodes was a third of its opening.
        Later showings (back from a modal, or a detail opened by Ctrl+O) do restyle."""
        if not self._shown_once:
            self._shown_once = True
            event.refresh_styles = False

    def on_mount(self) -> None:
        previews = self.query("#form-preview")
        if not previews:  # composed in part: the app closed under a form made ahead
            return
        previews.first().display = False
        self._recheck()
        fields = [f for f in self.query(FormField) if f.display]
        if fields:
            self.set_focus(fields[0].control)  # now: a Tab typed ahead moves on from it

    # --- as you type ---------------------------------------------------------------------

    def _fields(self) -> list[FormField]:
        """The form's fields, found once composed (each keystroke re-checks them all:
        a DOM query per use cost more than the check itself)."""
        if not self._field_list:
            self._field_list = list(self.query(FormField))
        return self._field_list

    def _section_nodes(self, index: int) -> list[Widget]:
        """A section's title and fields, found once composed."""
        if index not in self._mounted:
            return []  # not built (hidden since the form opened): nothing to query
        nodes = self._sections_shown.get(index)
        if not nodes:
            nodes = self._sections_shown[index] = list(self.query(f".s{index}"))
        return nodes

    def _values(self) -> dict[str, str]:
        """Each field's value; a field not built yet (its section never shown) holds
        what the draft does."""
        values = {spec.path: "" for section in self.sections for spec in section.fields}
        values.update({p: v for p, v in self.draft.values.items() if p in values})
        values.update({f.spec.path: f.value for f in self._fields()})
        return values

    def on_input_changed(self, event: Input.Changed) -> None:
        field = self._field_of(event.input)
        if field is None:
            return
        field.touched = True
        # A pick's input shows the chosen object's label (set on mount when restored or
        # pre-filled, which posts Changed too): only other text is a new search.
        if field.spec.kind == "pick" and not (
            field.picked_label and event.value == field.picked_label
        ):
            field.unpick()
            self.search(field, event.value)
        self._recheck()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._recheck()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._recheck()  # the focused field shows its hint

    def on_form_field_picked(self, event: FormField.Picked) -> None:
        """On to the field after the picked one. Not ``focus_next()``: a match chosen in
        the list was focused, and that list is hidden now (out of the focus chain)."""
        self._recheck()
        shown = [f for f in self._fields() if f.display]
        if event.field in shown:
            after = shown[shown.index(event.field) + 1 :]
            (after[0].control if after else event.field.control).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: in a pick field, take the first match; elsewhere, the next field."""
        field = self._field_of(event.input)
        if field is not None and field.spec.kind == "pick":
            first = field.first_match()
            if first is not None:
                field.pick(*first)
                return
        self.focus_next()

    def on_key(self, event: events.Key) -> None:
        """↓ in a pick field goes to its matches."""
        focused = self.focused
        if event.key == "down" and isinstance(focused, Input):
            field = self._field_of(focused)
            if field is not None and field.spec.kind == "pick" and field.focus_matches():
                event.stop()

    def _field_of(self, widget: Any) -> FormField | None:
        for node in widget.ancestors_with_self:
            if isinstance(node, FormField):
                return node
        return None

    @work(group="form-search", exclusive=True, exit_on_error=False)
    async def search(self, field: FormField, text: str) -> None:
        if len(text.strip()) < 1:
            field.show_matches([])
            return
        matches = await self.console.queries.search(text, field.spec.pick, privacy=self.privacy)
        field.show_matches(matches)

    # --- the mask (Ctrl+N) ------------------------------------------------------------------

    def changed(self, change: Change) -> None:
        if "privacy" in change.topics:
            self._follow_privacy()

    def resumed(self) -> None:
        self._follow_privacy()  # turned on or off while the form was away

    def _follow_privacy(self) -> None:
        """Draw again what the mask covers: the intro, the preview, the pick fields'
        matches (searched again) and chosen labels."""
        intro = self.intro()
        if intro:
            line = self.query_one("#form-intro", Static)
            if str(line.content) != intro:
                line.update(intro)
        self._show_preview()
        masked = self.console.state.masked
        if masked == self._drawn_masked:
            return
        self._drawn_masked = masked
        self.draft.values[MASKED] = "1" if masked else ""
        for field in self._fields():
            if field.spec.kind != "pick" or not field.is_mounted:
                continue
            if field.value:
                self.run_worker(self._relabel(field), group=f"relabel-{field.id}", exclusive=True)
            else:
                control = field.control
                if isinstance(control, Input) and control.value.strip():
                    self.search(field, control.value)

    async def _relabel(self, field: FormField) -> None:
        """A chosen object's label as drawn now, from the catalogue's copy."""
        from moment_tui.ui.navigate import kind_of
        from moment_tui.ui.queries import pick_label

        object_id = field.value
        kind = kind_of(object_id)
        entry = await self.console.queries.entry(kind, object_id) if kind else None
        privacy = self.privacy
        if entry is not None:
            label = pick_label(entry.obj, privacy)
        elif privacy.masked:
            label = privacy.label(object_id, field.picked_label)
        else:
            return  # not known here: its label cannot be drawn unmasked
        if field.value == object_id and field.is_attached:
            field.relabel(label)
            self._recheck()

    # --- typing on a choice -----------------------------------------------------------------

    def on_form_field_typed_on(self, event: FormField.TypedOn) -> None:
        """A key typed on a choice goes on into the next field that takes text, as if
        Tab had come first (the focus moves there, where it is seen)."""
        shown = [f for f in self._fields() if f.display]
        if event.field not in shown:
            return
        after = shown[shown.index(event.field) + 1 :]
        boxes = [f.text_box for f in after]
        target = next((box for box in boxes if box is not None and not box.disabled), None)
        if target is None:
            return
        if self.focused is not target:
            self.set_focus(target)
        # After the focus event in its queue, so it lands in the field as a key would.
        target.post_message(events.Key(event.key, event.character))

    def _recheck(self) -> None:
        values = self._values()
        building = self._build_shown(values)
        for field in self._fields():
            if building and field.spec.kind == "choice":
                continue  # the draft takes a choice once the sections it shows are built
            self.draft.values[field.spec.path] = field.value
            if field.spec.kind == "pick":
                self.draft.values[f"{field.spec.path}#label"] = field.draft_label
        self.draft.values[MASKED] = "1" if self._drawn_masked else ""
        self.draft.title = self.crumb  # as the quit question names it
        if building:
            # Checked once the sections just shown are on the form: until then their
            # fields cannot be read, shown or focused.
            return
        for index, section in enumerate(self.sections):
            shown = section.when(values)
            for node in self._section_nodes(index):
                node.display = shown
        checked = self.review(
            check(self.sections, values, self.model, fixed=self.fixed(values), rules=self.rules),
            values,
        )
        # In the form's words: its labels, not the API's names of the fields.
        specs = visible_fields(self.sections, values)
        errors = {path: in_words(message, specs) for path, message in checked.errors.items()}
        self.checked = Checked(checked.body, errors, checked.notes)
        self.refusal = {p: mv for p, mv in self.refusal.items() if values.get(p, "") == mv[1]}
        if self.refusal_text and values != self.refused_values:
            self.refusal_text = ""
        shown_paths = {spec.path for spec in visible_fields(self.sections, values)}
        for field in self._fields():
            path = field.spec.path
            if path in shown_paths:
                error = self.checked.errors.get(path) or self.refusal.get(path, ("", ""))[0]
                hint = self.hint(field, values) if field.has_focus_within else ""
                field.show(error or None, self.checked.notes.get(path), hint)
        whole = self.checked.errors.get("")
        if whole and any(f.touched for f in self._fields()):
            self.say(whole, error=True)
        elif self.refusal_text:
            self.say(self.refusal_text, error=True)
        elif not self.sending:
            self.say("")
        self._show_preview()

    def say(self, text: str, *, error: bool = False) -> None:
        if self._said == (text, error):
            return  # every keystroke says again what is said: no layout for nothing
        self._said = (text, error)
        status = self.query_one("#form-status", Static)
        status.set_class(error, "-error")
        status.set_class(not text, "-empty")
        status.update(text)

    def named(self, path: str, values: Mapping[str, str]) -> str:
        """A field as the person knows it: its label, and its section's title when
        another field shown has the same label ("Phone (New customer)")."""
        shown = [
            (section.title, spec)
            for section in self.sections
            if section.when(values)
            for spec in section.fields
        ]
        for title, spec in shown:
            if spec.path == path:
                twins = [s for _, s in shown if s.label == spec.label]
                return f"{spec.label} ({title})" if title and len(twins) > 1 else spec.label
        return path

    def to_fix(self, values: Mapping[str, str]) -> list[tuple[str, str]]:
        """``(field, error)`` for each field in error, top to bottom (the whole form's
        error, if any, last)."""
        errors = self.checked.errors
        specs: list[FieldSpec] = visible_fields(self.sections, values)
        found = [(self.named(s.path, values), errors[s.path]) for s in specs if s.path in errors]
        if "" in errors:
            found.append(("", errors[""]))
        return found

    def go_to(self, field: FormField) -> None:
        """Focus ``field`` and bring it into view whole, the message under it too (the
        focus alone scrolls only as far as its input: at the foot of the screen, the
        message stayed below it)."""
        # The cursor at the end of what is there, not the whole text selected (as Tab
        # does): the first key typed to mend it would have replaced it all.
        field.mend_on_focus = True
        field.control.focus(scroll_visible=False)
        form = self.query_one("#form", VerticalScroll)
        self.call_after_refresh(form.scroll_to_widget, field, animate=False)

    # --- preview --------------------------------------------------------------------------

    def action_preview(self) -> None:
        preview = self.query_one("#form-preview")
        preview.display = not preview.display
        self._show_preview()
        if preview.display:
            self.query_one("#form", VerticalScroll).scroll_end(animate=False)

    def _show_preview(self) -> None:
        preview = self.query_one("#form-preview", Static)
        if not preview.display:
            return
        preview.update(self.preview_text())

    def preview_text(self) -> str:
        from moment_tui.api.curl import curl_command
        from moment_tui.ui.modals.copy import KEY_LABEL

        title = f"Request · {self.method} {self.path()}"
        body = self.checked.body
        if body is None:
            lines = [f"  {fix_line(name, error)}" for name, error in self.to_fix(self._values())]
            return "\n".join(
                [title, "Not valid yet: nothing to send until these are fixed:", *lines]
            )
        shown = self.masked_json(body)
        client = self.console.runtime.client
        base = client.base_url if client is not None else "https://api.momentpay.net"
        key = self.draft.idempotency_key if self.method == "POST" else None
        curl = curl_command(
            self.method, base, self.path(), body=shown, idempotency_key=key, key_label=KEY_LABEL
        )
        return f"{title}\n{json.dumps(shown, indent=2, ensure_ascii=False)}\n\ncurl\n{curl}"

    def action_back(self) -> None:
        """Esc: an open list of a pick's matches closes first, then the form (its
        draft kept)."""
        if any(f.hide_matches() for f in self._fields() if f.spec.kind == "pick"):
            return
        super().action_back()

    def action_keys(self) -> None:
        self.app.action_help()  # type: ignore[attr-defined]

    def action_next_field(self) -> None:
        self.focus_next()

    def action_previous_field(self) -> None:
        self.focus_previous()

    # --- sending --------------------------------------------------------------------------

    def action_send(self) -> None:
        if self.sending or self._built != self._mounted:
            return  # sending, or a section just shown is being built (a blink: press again)
        if self.console.read_only:
            self.say(READ_ONLY, error=True)
            return
        for field in self._fields():
            field.touched = True
        self._recheck()
        body = self.checked.body
        if body is None:
            values = self._values()
            fix = self.to_fix(values)
            names = [name for name, _ in fix if name]
            # Kept as a refusal is (until the form changes): the focus moving to the
            # first field to fix re-checks the form, which would wipe a line only said.
            said = []
            if names:
                many = "s" if len(names) > 1 else ""
                said.append(f"{len(names)} field{many} to fix before sending: {', '.join(names)}.")
            whole = self.checked.errors.get("")
            if whole or not said:
                said.append(f"Not sent: {whole or 'the form is not valid yet'}")
            self.refusal_text = " ".join(said)
            self.refused_values = values
            self._recheck()
            bad = [f for f in self._fields() if f.display and f.has_class("-error")]
            if bad:
                self.go_to(bad[0])
            return
        if self.console.settings.is_live:
            from moment_tui.ui.modals.confirm_action import ConfirmAction

            word = self.confirmation_word(body)
            preview = self.preview_text()
            self.app.push_screen(
                ConfirmAction(self.summary(body), preview, word=word, live=True),
                lambda ok: self._send(body) if ok else self.say("Not sent."),
            )
            return
        ask = self.confirmation(body)
        if ask is not None:
            self.app.push_screen(ask, lambda ok: self._send(body) if ok else self.say("Not sent."))
            return
        self._send(body)

    def _send(self, body: dict[str, Any]) -> None:
        self.sending = True
        self.refusal, self.refusal_text = {}, ""
        again = self.draft.sent
        self.say("Sending again with the same Idempotency-Key …" if again else "Sending …")
        self.send(body)

    @work(group="form-send", exclusive=True, exit_on_error=False)
    async def send(self, body: dict[str, Any]) -> None:
        from moment_tui.ui.forms.submit import Refused, send

        key = self.draft.idempotency_key if self.method == "POST" else None
        self.draft.sent = True
        typed = {path: value for path, value in self._values().items() if value}
        try:
            sent = await send(
                self.console,
                self.method,
                self.path(),
                body,
                self.kind,
                idempotency_key=key,
                references=typed,
            )
        except Refused as exc:
            self.sending = False
            if exc.settled:  # a corrected request is a new operation: a new key
                self.draft.renew()
            self.refused(exc)
            return
        self.sending = False
        self.console.drafts.forget(self.draft_name)
        self.draft.sent = False
        replay = " — sent again safely: Moment answered the first attempt" if sent.replayed else ""
        self.notify(f"{self.done_text(sent)}{replay}", timeout=6)
        await self.done(sent)

    def done_text(self, sent: Sent) -> str:
        verb = "Created" if self.method == "POST" else "Saved"
        return f"{verb} {sent.obj.KIND} {sent.obj.external_reference}"

    def refused(self, exc: Any) -> None:
        """The API's errors beside their fields; the whole problem in the status line."""
        self.existing = exc.existing
        paths = {f.spec.path: f for f in self._fields()}
        # Kept (not only shown): moving the focus re-checks the form, which would
        # otherwise wipe the API's words before they were read.
        self.refused_values = values = self._values()
        self.refusal = {p: (m, values.get(p, "")) for p, m in exc.fields.items() if p in paths}
        for path in self.refusal:
            paths[path].touched = True
        tail = ""
        if exc.existing is not None:
            tail = f" Ctrl+O opens the {exc.existing[0]} that has it."
        elif exc.timed_out:
            tail = " Ctrl+S sends it again (safely)."
        self.refusal_text = f"{exc.message}{tail}"
        self._recheck()
        bad = [paths[p] for p in exc.fields if p in paths]
        if bad:
            self.go_to(bad[0])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_existing":  # only once a 409 named the object (F1 lists it)
            return self.existing is not None
        return super().check_action(action, parameters)

    def action_open_existing(self) -> None:
        """After a 409: open the object that already has the external reference."""
        if self.existing is None:
            return
        self.open_existing(*self.existing)

    @work(group="form-open", exclusive=True, exit_on_error=False)
    async def open_existing(self, kind: ObjectKind, reference: str) -> None:
        from moment_tui.api.errors import MomentError
        from moment_tui.ui.navigate import open_detail
        from moment_tui.ui.queries import Unavailable

        # By its kind: references are unique per kind only, so a customer and a bill
        # may share one (Go to's resolve would open the customer first).
        queries = self.console.queries
        try:
            entry = await queries.entry(kind, reference) or await queries.fetch(kind, reference)
        except (MomentError, Unavailable) as exc:
            self.say(f"Could not open {reference}: {exc}", error=True)
            return
        open_detail(self.app, self.console, entry.obj.KIND, entry.obj.id)
