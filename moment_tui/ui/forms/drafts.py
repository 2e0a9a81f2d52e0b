"""What was typed into each form this session, and the Idempotency-Key it is sent with.

A form dismissed by mistake comes back filled when opened again; a send that timed
out is sent again with the same key, so Moment (and the sandbox) answer the first
attempt's result instead of creating twice. A draft is forgotten once its request
succeeded, so the next "New bill" starts empty with a new key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class Draft:
    values: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent: bool = False  # a request went out with this key (its answer may be lost)
    defaults: dict[str, str] = field(default_factory=dict)  # what the form opened with
    title: str = ""  # the form's heading, as the quit question names it

    def typed_in(self, defaults: dict[str, str] | None = None) -> bool:
        """Something was typed (a value not its default nor empty; notes such as how
        pick labels were drawn, ``#…``, do not count), or a request went out."""
        defaults = self.defaults if defaults is None else defaults
        return self.sent or any(
            value != defaults.get(path, "")
            for path, value in self.values.items()
            if not path.startswith("#")
        )

    def renew(self) -> None:
        """A new key, after the API refused this one's request outright: it keeps that
        answer for the key, and refuses the key with any changed request as a reuse,
        so the corrected request must go as a new operation."""
        self.idempotency_key = str(uuid.uuid4())
        self.sent = False


class Drafts:
    """Drafts by form name (``new-bill``, ``edit-customer:bcus_…``)."""

    def __init__(self) -> None:
        self._drafts: dict[str, Draft] = {}

    def get(self, name: str, defaults: dict[str, str] | None = None) -> Draft:
        """The draft, or a new one filled with ``defaults`` (a new key with it)."""
        draft = self._drafts.get(name)
        if draft is None:
            given = dict(defaults or {})
            draft = self._drafts[name] = Draft(values=dict(given), defaults=given)
        return draft

    def unsent(self) -> list[Draft]:
        """The drafts typed in and not sent (or sent without an answer): what quitting
        would lose."""
        return [draft for draft in self._drafts.values() if draft.typed_in()]

    def forget(self, name: str) -> None:
        self._drafts.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self._drafts
