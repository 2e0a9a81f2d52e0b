"""What the edit forms share: a form filled with the object's current values that
sends (``PATCH``) only what was changed, after showing each change, before → after.

* Only changed fields go in the body. ``balance`` and ``amount_paid`` are minor units
  of a currency, so the object's currency is sent with them (the API requires it).
* Metadata merges on Moment's side (reference §3.4): only keys added or changed are
  sent. A key deleted in the form is not removed — Moment documents no way to remove
  one — and the form says so rather than pretend.
* A field emptied is left as it is: Moment has no way to clear a field (a ``null``
  is refused), and the form says that too.
* Outside LIVE mode the changes are confirmed with Enter or ``y``; LIVE mode shows the
  request and asks for typed confirmation, as every form does.
* After success the form closes and the detail underneath reloads from the
  catalogue, which :func:`~moment_tui.ui.forms.submit.send` has updated.
* With the mask on (``Ctrl+N``) a customer's name, email and phone are drawn masked
  in the line naming what is edited and in the changes confirmed (before → after,
  and the request); the fields themselves show the real values, being edited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual.widgets import Input

from moment_tui.ui.forms.spec import Checked, parse_metadata, visible_fields
from moment_tui.ui.present import money
from moment_tui.ui.screens.form_base import FormScreen
from moment_tui.ui.widgets.form_field import FormField, field_id

if TYPE_CHECKING:
    from textual.screen import ModalScreen

    from moment_tui.api.models import BillingObject
    from moment_tui.ui.console import Console
    from moment_tui.ui.forms.submit import Sent

STAMP: Final = "#before"  # the draft's record of the values it was filled from
NEEDS_CURRENCY: Final = ("balance", "amount_paid")
MERGE_NOTE: Final = "merged on Moment's side: only keys you add or change are sent; the others stay"
CLEAR_NOTE: Final = "empty: left as it is (Moment has no way to clear a field)"
NEEDED_NOTE: Final = "empty: nothing to send; type the new value"  # a required field


def shown(value: Any, path: str, currency: str | None) -> str:
    """A value as the confirmation shows it: money as money, nothing as ``—``."""
    if value is None or value == "":
        return "—"
    if path in NEEDS_CURRENCY and isinstance(value, int):
        return money(value, currency)
    return str(value)


INTRO: Final = (
    "Only what you change is sent. Balance replaces the stored one. Metadata merges: "
    "keys you add or change are sent, a key you delete stays (the API cannot remove it)."
)


class EditForm(FormScreen):
    """A PATCH form for one object. Subclasses set the class attributes of a form
    (``sections``, ``model``, ``kind``, ``heading``) and :attr:`draft_prefix`."""

    method: ClassVar[str] = "PATCH"
    draft_prefix: ClassVar[str] = "edit"

    def __init__(self, console: Console, obj: BillingObject) -> None:
        self.obj = obj
        self.before: dict[str, Any] = self.current()
        self.changes: dict[str, Any] = {}
        name = f"{self.draft_prefix}:{obj.id}"
        # A draft typed over other values (the object changed since) is not reused:
        # its untouched fields would now send the old values back.
        stamp = json.dumps(self.before, sort_keys=True, default=str)
        if name in console.drafts and console.drafts.get(name).values.get(STAMP) != stamp:
            console.drafts.forget(name)
        super().__init__(console, draft_name=name)
        self.draft.values[STAMP] = stamp

    # --- the object's values ---------------------------------------------------------

    def current(self) -> dict[str, Any]:
        """The object's value for each field of the form (by path)."""
        values: dict[str, Any] = {}
        for section in self.sections:
            for spec in section.fields:
                value = getattr(self.obj, spec.path, None)
                values[spec.path] = dict(value) if isinstance(value, Mapping) else value
        return values

    @property
    def currency(self) -> str | None:
        return getattr(self.obj, "currency", None)

    def defaults(self) -> dict[str, str]:
        from moment_tui.money import format_minor
        from moment_tui.ui.forms.spec import metadata_text

        values: dict[str, str] = {}
        for section in self.sections:
            for spec in section.fields:
                value = self.before.get(spec.path)
                if value is None:
                    values[spec.path] = ""
                elif spec.kind == "metadata":
                    values[spec.path] = metadata_text(value)
                elif spec.kind == "money" and self.currency:
                    values[spec.path] = format_minor(value, self.currency, with_symbol=False)
                else:
                    values[spec.path] = str(value)
        return values

    def path(self) -> str:
        from moment_tui.api.kinds import COLLECTION

        return f"{COLLECTION[self.kind]}/{self.obj.id}"

    @property
    def label(self) -> str:
        """``Thabo Mokoena (UCR0042)``, as drawn now (a customer's name masked with the
        mask on)."""
        name = getattr(self.obj, "name", None)
        reference = self.obj.external_reference
        return f"{self.privacy.label(self.obj.id, name)} ({reference})" if name else reference

    def drawn(self, path: str, text: str) -> str:
        """A value of the form as the confirmation draws it: a customer's name, email
        or phone masked with the mask on."""
        from moment_tui.ui.privacy import MASKS

        mask = MASKS.get(path)
        if mask is None or text == "—" or self.kind != "customer" or not self.privacy.masked:
            return text
        return mask(text)

    def intro(self) -> str:
        """What is edited, then how an edit is sent (a bill's says what cannot change)."""
        return f"{self.label} · {self.obj.id}\n{INTRO}"

    def on_mount(self) -> None:
        """The object's currency is shown, not edited: a balance is typed in it. An
        object with none may be given one (a balance needs it)."""
        if self.currency:
            for field in self.query(FormField):
                if field.id == field_id("currency"):
                    field.query_one(Input).disabled = True

    # --- only what changed -------------------------------------------------------------

    def review(self, checked: Checked, values: Mapping[str, str]) -> Checked:
        notes = dict(checked.notes)
        errors = dict(checked.errors)
        for spec in visible_fields(self.sections, values):
            path = spec.path
            typed = values.get(path, "").strip()
            if spec.kind == "metadata":
                notes[path] = self._metadata_note(typed, path in errors)
            elif not typed and self.before.get(path) not in (None, ""):
                notes[path] = NEEDED_NOTE if spec.required else CLEAR_NOTE
            elif spec.kind == "currency" and self.currency:
                notes[path] = f"the {self.kind}'s currency: sent with a changed amount"
        body = checked.body
        if body is None:
            self.changes = {}
            return Checked(None, errors, notes)
        changes: dict[str, Any] = {}
        for path, value in body.items():
            if path == "currency":
                continue
            if path == "metadata":
                old = self.before.get("metadata") or {}
                sent = {k: v for k, v in value.items() if old.get(k) != v}
                if sent:
                    changes["metadata"] = sent
            elif value != self.before.get(path):
                changes[path] = value
        if "currency" in body and (
            body["currency"] != self.before.get("currency")
            or any(p in changes for p in NEEDS_CURRENCY)
        ):
            changes["currency"] = body["currency"]
        for path in NEEDS_CURRENCY:
            if path in notes and path not in changes:
                notes[path] = "unchanged: not sent"
            elif path in changes and self.before.get(path) is not None:
                notes[path] = (
                    f"{notes.get(path, '')} · was {shown(self.before[path], path, self.currency)}"
                )
        self.changes = changes
        return Checked(changes, errors, notes)

    def _metadata_note(self, typed: str, bad: bool) -> str:
        old = self.before.get("metadata") or {}
        if bad:
            return ""
        try:
            now = parse_metadata(typed)
        except ValueError:
            return ""
        gone = [key for key in old if key not in now]
        if not gone:
            return MERGE_NOTE
        keys = ", ".join(gone)
        return (
            f"{MERGE_NOTE}. Removing a key is not possible through the API: "
            f"{keys} will stay as {'it is' if len(gone) == 1 else 'they are'}"
        )

    def change_lines(self, body: dict[str, Any]) -> list[tuple[str, str, str]]:
        """``(what, before, after)`` for each change the body makes."""
        labels = {spec.path: spec.label for s in self.sections for spec in s.fields}
        currency = body.get("currency") or self.currency
        lines: list[tuple[str, str, str]] = []
        for path, value in body.items():
            if path == "currency" and value == self.before.get("currency"):
                continue  # sent only because the amount needs it: no change to show
            if path == "metadata":
                old = self.before.get("metadata") or {}
                for key, item in value.items():
                    lines.append((f"metadata {key}", shown(old.get(key), path, None), item))
            else:
                before = self.drawn(path, shown(self.before.get(path), path, currency))
                after = self.drawn(path, shown(value, path, currency))
                lines.append((labels.get(path, path).lower(), before, after))
        return lines

    def changes_text(self, body: dict[str, Any]) -> str:
        lines = self.change_lines(body)
        width = max((len(what) for what, _, _ in lines), default=0)
        text = [f"  {what.ljust(width)}  {before} → {after}" for what, before, after in lines]
        return "\n".join(text)

    def what(self) -> str:
        """The confirmation's title: what is about to be written."""
        return f"Change {self.kind} {self.label}"

    def summary(self, body: dict[str, Any]) -> str:
        return f"{self.what()}:\n{self.changes_text(body)}"

    def confirmation(self, body: dict[str, Any]) -> ModalScreen[bool] | None:
        from moment_tui.ui.modals.confirm_action import ConfirmAction

        drawn = json.dumps(self.masked_json(body), ensure_ascii=False)
        request = f"{self.method} {self.path()}\n{drawn}"
        return ConfirmAction(
            self.what(),
            f"{self.changes_text(body)}\n\n{request}",
            verb="send the change",
        )

    # --- sending -------------------------------------------------------------------------

    def action_send(self) -> None:
        if not self.sending and not self.console.read_only:
            self._recheck()
            if self.checked.body == {}:
                self.say("Nothing changed: there is nothing to send.", error=True)
                return
        super().action_send()

    def done_text(self, sent: Sent) -> str:
        fields = sorted({path for path in self.changes if path != "currency"} or {"currency"})
        return f"Saved {self.kind} {sent.obj.external_reference}: {', '.join(fields)}"

    async def done(self, sent: Sent) -> None:
        """Back to the detail underneath: it reloads, showing the new values."""
        if self.app.screen is self:
            self.app.pop_screen()
