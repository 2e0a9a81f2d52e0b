"""Identifiers in Moment's shapes: a prefix and 21 base62 characters."""

from __future__ import annotations

import random
import secrets
import string
from typing import Final

_ALPHABET: Final = string.ascii_letters + string.digits
# Bytes below this are used (``b % 62`` is then uniform); the rest are thrown away.
_UNBIASED_BELOW: Final = 256 - 256 % len(_ALPHABET)

PREFIX = {
    "customer": "bcus_",
    "account": "bacc_",
    "bill": "bill_",
    "event": "evt_",
    "payment": "pay_",
    "obligation": "ob_",
}


def new_id(kind: str, length: int = 21, *, rng: random.Random | None = None) -> str:
    """``bcus_H4jp6KnU5cPw263v1jyz4``-shaped; random unless a seeded ``rng`` is given."""
    if rng is not None:  # the seeded, reproducible sequence the demo data relies on
        return PREFIX[kind] + "".join(rng.choice(_ALPHABET) for _ in range(length))
    # One urandom call per id rather than one per character (ids are made on every write).
    chars: list[str] = []
    while len(chars) < length:
        chars += [
            _ALPHABET[b % len(_ALPHABET)]
            for b in secrets.token_bytes(length + 8)
            if b < _UNBIASED_BELOW
        ]
    return PREFIX[kind] + "".join(chars[:length])
