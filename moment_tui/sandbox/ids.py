"""Identifiers in Moment's shapes: a prefix and 21 base62 characters."""

from __future__ import annotations

import random
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

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
    pick = rng.choice if rng is not None else secrets.choice
    return PREFIX[kind] + "".join(pick(_ALPHABET) for _ in range(length))
