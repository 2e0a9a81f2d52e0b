"""Masking personal data on screen, for recordings and screen shares (plain Python).

With the mask on (``Ctrl+N``, or ``moment-tui demo --masked``) the console draws
customers' names, emails and phone numbers masked wherever they appear: lists, detail
views, the live event pane, the breadcrumb. Each keeps its shape, so a viewer can
still tell one customer from another and what kind of value it is::

    Thabo Mokoena        →  T•••• M••••••
    thabo@example.com    →  t••••@e••••••.com
    +27821234567         →  +27•••••••67

Ids, external references, amounts and account names stay as they are: they are what a
demo shows. Only what is drawn is masked: the catalogue and copies (``c``) hold the
real values. A form's choices of an existing customer (its search matches, and the
customer a New bill from a detail view starts with) are drawn masked too; what a form
holds to edit (an Edit customer's name, email and phone) is shown as it is, since it
is there to be changed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

DOT: Final = "•"
CUSTOMER_PREFIX: Final = "bcus_"
PERSONAL_FIELDS: Final = ("name", "email", "phone")
KEPT_DIGITS: Final = 2  # a phone number keeps this many digits at each end
_EMAIL: Final = re.compile(r"[^\s\"'<>()@,;:]+@[^\s\"'<>()@,;:]+\.[A-Za-z]{2,}")
# A JSON "name" or "phone" in text (a cut body's last may have lost its closing quote).
_FIELD_IN_TEXT: Final = re.compile(r'"(name|phone)"\s*:\s*"((?:[^"\\\n]|\\.)*)')


def _word(word: str) -> str:
    return word[:1] + DOT * (len(word) - 1)


def mask_name(name: str) -> str:
    """Each word's first letter, then one dot per letter: ``T•••• M••••••``."""
    return " ".join(_word(word) for word in name.split(" "))


def mask_email(email: str) -> str:
    """``t••••@e••••••.com``: the first letter of the mailbox and of each domain label;
    the top-level domain stays. Text without an ``@`` is masked as a name."""
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return mask_name(email)
    *labels, top = domain.split(".")
    if not labels:  # "user@localhost": no top-level domain to keep
        return f"{_word(local)}@{_word(domain)}"
    return f"{_word(local)}@{'.'.join(_word(label) for label in labels)}.{top}"


def mask_phone(phone: str) -> str:
    """``+27•••••••67``: the first and last two digits stay (the country code and enough
    to tell numbers apart), every other digit is a dot; spaces and signs stay. A number
    of six digits or fewer is masked whole."""
    count = sum(ch.isdigit() for ch in phone)
    if count <= 2 * KEPT_DIGITS + 2:
        return "".join(DOT if ch.isdigit() else ch for ch in phone)
    out: list[str] = []
    seen = 0
    for ch in phone:
        if ch.isdigit():
            seen += 1
            keep = seen <= KEPT_DIGITS or seen > count - KEPT_DIGITS
            out.append(ch if keep else DOT)
        else:
            out.append(ch)
    return "".join(out)


MASKS: Final = {"name": mask_name, "email": mask_email, "phone": mask_phone}


@dataclass(frozen=True)
class Privacy:
    """How a screen draws personal data now: as it is, or masked. Empty values (None,
    "") are returned as they are, so ``privacy.name(c.name) or "—"`` reads naturally."""

    masked: bool = False

    def name(self, text: str | None) -> str | None:
        return mask_name(text) if self.masked and text else text

    def email(self, text: str | None) -> str | None:
        return mask_email(text) if self.masked and text else text

    def phone(self, text: str | None) -> str | None:
        return mask_phone(text) if self.masked and text else text

    def label(self, object_id: str, label: str) -> str:
        """A label the console drew for an object (its name, else its reference): a
        customer's is masked as a name (a nameless customer's reference with it: the
        safe side), an account's or bill's stays."""
        if self.masked and label and object_id.startswith(CUSTOMER_PREFIX):
            return mask_name(label)
        return label

    def labels(self, names: Mapping[str, str]) -> dict[str, str]:
        """:meth:`label` for each of ``names`` (id → name or reference)."""
        return {object_id: self.label(object_id, name) for object_id, name in names.items()}


NO_MASK: Final = Privacy()  # everything drawn as it is


def mask_json(value: Any, *, customer: bool = False) -> Any:
    """A JSON value (an API call's body, as the Requests view shows it) with personal
    data masked: the ``name`` of every customer (an object with a ``bcus_`` id, an email
    or a phone, or the value of a ``customer`` key), every ``email`` and ``phone``, and
    any email address in text (a body that was not JSON, or was cut, is text).

    ``customer``: the value is a customer, or a listing of them, whatever it holds (a
    call under ``/billing/customers``: ``{"name": "…"}`` alone is a customer's update).
    Its ``data`` items are customers too, and in text every ``"name": "…"`` is masked
    (text's ``"phone": "…"`` always is).
    """
    if isinstance(value, str):
        text = _EMAIL.sub(lambda found: mask_email(found.group()), value)
        return _FIELD_IN_TEXT.sub(lambda found: _field_in_text(found, customer), text)
    if isinstance(value, list):
        return [mask_json(item, customer=customer) for item in value]
    if not isinstance(value, dict):
        return value
    is_customer = (
        customer
        or str(value.get("id", "")).startswith(CUSTOMER_PREFIX)
        or "email" in value
        or "phone" in value
    )
    masked: dict[str, Any] = {}
    for key, item in value.items():
        if key in MASKS and isinstance(item, str) and item and (key != "name" or is_customer):
            masked[key] = MASKS[key](item)
        else:
            holds_customers = key in ("customer", "customers") or (customer and key == "data")
            masked[key] = mask_json(item, customer=holds_customers)
    return masked


def _field_in_text(found: re.Match[str], customer: bool) -> str:
    field, value = found[1], found[2]
    if field == "name" and not customer:
        return found[0]
    return found[0][: found.start(2) - found.start()] + MASKS[field](value)


def masked_object(obj: Any) -> Any:
    """A copy of a customer (a pydantic model) with its name, email and phone masked;
    any other object as it is. The copy is for drawing only: never send or store it."""
    if not str(getattr(obj, "id", "")).startswith(CUSTOMER_PREFIX):
        return obj
    update = {
        field: MASKS[field](value)
        for field in PERSONAL_FIELDS
        if isinstance(value := getattr(obj, field, None), str) and value
    }
    return obj.model_copy(update=update) if update else obj


def masked_view(loaded: Any) -> Any:
    """A detail view's load (``detail_base.Loaded``) as it is drawn with the mask on:
    its object, the holders beside it and the labels of every customer it mentions."""
    entry = dataclasses.replace(loaded.entry, obj=masked_object(loaded.entry.obj))
    holders = {
        role: None if held is None else dataclasses.replace(held, obj=masked_object(held.obj))
        for role, held in loaded.holders.items()
    }
    privacy = Privacy(masked=True)
    known = [loaded.entry.obj, *(held.obj for held in loaded.holders.values() if held)]
    # A nameless customer's label is its reference: that stays.
    nameless = {obj.id for obj in known if not getattr(obj, "name", None)}
    labels = {
        key: label if key in nameless else privacy.label(key, label)
        for key, label in loaded.labels.items()
    }
    return dataclasses.replace(loaded, entry=entry, holders=holders, labels=labels)
