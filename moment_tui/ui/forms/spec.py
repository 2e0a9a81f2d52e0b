"""What a form asks for, and how what was typed becomes the request body: no Textual.

A form is sections of fields. Each field's ``path`` is where its value goes in the
JSON body (``account.customer.phone``), which is also where pydantic reports an error
about it, so every message lands beside the field it concerns. Amounts are typed in
major units and converted with ``money.parse_minor`` in the currency the form names;
dates stay ``YYYY-MM-DD`` text; metadata is ``key=value`` pairs, one per line or
separated by ``;``. Validation uses the same request models the client sends
(``CustomerCreate``, ``BillCreate`` …): what the form accepts, the API would too, as
far as the reference says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from moment_tui.api.kinds import ObjectKind
from moment_tui.api.models import METADATA_MAX_KEYS, field_errors
from moment_tui.money import MoneyError, check_currency, format_minor, parse_minor

Kind = Literal["text", "money", "date", "metadata", "currency", "choice", "pick"]
Values = Mapping[str, str]


@dataclass(frozen=True)
class FieldSpec:
    """One input. ``path`` names its place in the body; ``choices`` are (value, label)
    for a choice; a ``pick`` field holds an id chosen by searching the catalogue."""

    path: str
    label: str
    kind: Kind = "text"
    required: bool = False
    placeholder: str = ""
    hint: str = ""
    currency: str = "currency"  # money: the path of the currency it is typed in
    allow_negative: bool = False  # money: balances may be negative (a credit)
    # money: the bounds, in minor units, refused in the currency's own words
    # ("at most R 999,999.99") before the model would say "≤ 99999999".
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    pick: tuple[ObjectKind, ...] = ()  # pick: the kinds it searches
    send: bool = True  # False: steers the form (a choice), never part of the body


@dataclass(frozen=True)
class Section:
    """Fields shown together; ``when`` decides, from the values, whether it is shown."""

    title: str
    fields: tuple[FieldSpec, ...]
    when: Callable[[Values], bool] = field(default=lambda values: True)


@dataclass(frozen=True)
class Checked:
    """A form's values, checked: the body to send (when there are no errors), an error
    per field path (``""`` for the whole form), and a note per money field (the minor
    units that will be sent)."""

    body: dict[str, Any] | None
    errors: dict[str, str]
    notes: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.body is not None and not self.errors


def visible_fields(sections: Sequence[Section], values: Values) -> list[FieldSpec]:
    return [f for s in sections if s.when(values) for f in s.fields]


_API_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def in_words(message: str, specs: Sequence[FieldSpec]) -> str:
    """A message in the form's words: the API's name of one of its fields
    (``due_date``) becomes the field's label, as a sentence reads it ("Due date" first,
    "the bill date" after), so "due_date cannot be before bill_date" reads "Due date
    cannot be before the bill date"."""
    labels = {spec.path.rpartition(".")[2]: spec.label for spec in specs}

    def label(found: re.Match[str]) -> str:
        name = labels.get(found.group())
        if name is None:
            return found.group()
        return name if found.start() == 0 else f"the {name.lower()}"

    return _API_NAME.sub(label, message)


def parse_metadata(text: str) -> dict[str, str]:
    """``plan=gold; region=KZN`` (or one pair per line) → a dict; raises ValueError."""
    result: dict[str, str] = {}
    for part in text.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"write key=value pairs separated by ';' ({part.strip()!r})")
        result[key.strip()] = value.strip()
    if len(result) > METADATA_MAX_KEYS:
        raise ValueError(f"at most {METADATA_MAX_KEYS} keys (got {len(result)})")
    return result


def metadata_text(metadata: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in metadata.items())


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def check(
    sections: Sequence[Section],
    values: Values,
    model: type[BaseModel],
    *,
    fixed: Mapping[str, Any] | None = None,
    rules: Callable[[dict[str, Any], Values], dict[str, str]] | None = None,
) -> Checked:
    """Build the body from what is typed in the shown fields, and check it.

    ``fixed`` values go in as they are (a chosen customer's id); ``rules`` adds the
    form's own checks (a due date offered before the bill date …) as field errors.
    """
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    for path, value in (fixed or {}).items():
        _set(body, path, value)
    visible = visible_fields(sections, values)
    paths = {spec.path for spec in visible}
    for spec in visible:
        raw = values.get(spec.path, "").strip()
        if not spec.send:
            continue
        if not raw:
            if spec.kind == "pick" and spec.required:
                errors[spec.path] = "type to search, then pick a match (Enter takes the first)"
            elif spec.required:
                errors[spec.path] = f"{spec.label.lower()} is required"
            continue
        try:
            value = _convert(spec, raw, values)
        except (MoneyError, ValueError) as exc:
            errors[spec.path] = str(exc)
            continue
        if spec.kind == "money":
            notes[spec.path] = _money_note(value, values.get(spec.currency, ""))
        _set(body, spec.path, value)
    try:
        model.model_validate(body)
    except ValidationError as exc:
        for path, message in field_errors(exc).items():
            errors.setdefault(*_beside(path, message, paths))
    if rules is not None:
        for path, message in rules(body, values).items():
            errors.setdefault(*_beside(path, message, paths))
    return Checked(None if errors else body, errors, notes)


def _beside(path: str, message: str, paths: Collection[str]) -> tuple[str, str]:
    """Where an error at ``path`` is shown: that field, else the nearest field holding
    it (``metadata.plan`` → ``metadata``), else the whole form (``""``), naming it."""
    parts = path.split(".") if path else []
    while parts:
        if ".".join(parts) in paths:
            return ".".join(parts), message
        parts.pop()
    return "", f"{path}: {message}" if path else message


def _convert(spec: FieldSpec, raw: str, values: Values) -> Any:
    if spec.kind == "money":
        currency = values.get(spec.currency, "").strip().upper()
        try:
            check_currency(currency)
        except MoneyError:
            raise ValueError("choose the currency first (it decides the decimals)") from None
        return parse_minor(
            raw,
            currency,
            allow_negative=spec.allow_negative,
            minimum=spec.minimum,
            maximum=spec.maximum,
        )
    if spec.kind == "metadata":
        return parse_metadata(raw)
    if spec.kind == "currency":
        return raw.upper()
    return raw


def _money_note(minor: int, currency: str) -> str:
    code = currency.strip().upper()
    return f"sends {minor} ({format_minor(minor, code)})"
