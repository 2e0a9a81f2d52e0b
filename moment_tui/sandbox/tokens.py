"""The ``/pay/{bill}`` form's one-time tokens: signed, so rendering a page writes nothing.

A token is ``nonce ‖ issue time ‖ HMAC-SHA256(key, bill id ‖ nonce ‖ issue time)``
(truncated to 128 bits), in URL-safe base64: whoever holds the form can post it, no
one can make one for another bill or another time, and only the sandbox that
issued it can check it. The key is made once per database and kept in it, so a
page rendered before a restart on the same ``--db`` still pays; an in-memory
sandbox starts with a new key, and its earlier pages' tokens are refused.

The database keeps only tokens that have paid (``pay_tokens``: the payment each
made), which is what makes a second post of one form pay nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Final

from moment_tui.sandbox.db import Database

TOKEN_TTL_SECONDS: Final = 24 * 60 * 60
# A clock that runs a little behind the issuing one (NTP stepping it) may see a
# token from just ahead; further ahead than this no token of ours can be.
_CLOCK_SKEW_SECONDS: Final = 60
_NONCE_BYTES: Final = 12
_TIME_BYTES: Final = 8
_MAC_BYTES: Final = 16
_KEY_BYTES: Final = 32
# 36 bytes are exactly 48 base64 characters with no padding and no spare bits, so
# one token has one spelling (the used-token record is keyed by it).
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{48}")


class FormTokens:
    """Mint and check the bill page's form tokens with this database's key."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self._key = _key(db)

    def mint(self, bill_id: str, *, issued: int | None = None) -> str:
        """A new token for ``bill_id``, issued now (or at ``issued``, Unix seconds)."""
        when = int(self.clock()) if issued is None else issued
        body = secrets.token_bytes(_NONCE_BYTES) + when.to_bytes(_TIME_BYTES, "big")
        return base64.urlsafe_b64encode(body + self._mac(bill_id, body)).decode()

    def issued_at(self, token: str, bill_id: str) -> int | None:
        """When ``token`` was issued for ``bill_id``; None when it was not (another
        bill's, another key's, altered, malformed) or is more than a day old."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        raw = base64.urlsafe_b64decode(token)
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(bill_id, body)):
            return None
        issued = int.from_bytes(body[_NONCE_BYTES:], "big")
        now = self.clock()
        if not now - TOKEN_TTL_SECONDS <= issued <= now + _CLOCK_SKEW_SECONDS:
            return None
        return issued

    def _mac(self, bill_id: str, body: bytes) -> bytes:
        message = b"moment-sandbox pay form\0" + bill_id.encode() + b"\0" + body
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _key(db: Database) -> bytes:
    """This database's token key, made the first time a sandbox opens it."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO pay_key (id, key) VALUES (1, ?)",
            (secrets.token_bytes(_KEY_BYTES),),
        )
    row = db.one("SELECT key FROM pay_key WHERE id = 1")
    assert row is not None  # just inserted, or already there
    key: bytes = row["key"]
    return key
