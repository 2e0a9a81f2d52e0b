"""``Idempotency-Key`` on POST, following draft-ietf-httpapi-idempotency-key-header.

* Required on every POST (Moment's reference marks it required): missing → 400.
* Scoped per API key. The first response for a key — success or error — is kept for
  24 hours; a repeat gets the same status and body plus ``Idempotent-Replayed: true``.
* The same key with a different request (method, path or JSON body) → 422.
* The same key while the first request is still being processed → 409.

The stored response is written in the same transaction as the request's own
changes, so "created but not remembered" cannot happen. A key left in flight by a
crash is cleared when the sandbox starts again; expired keys are deleted then and
every :data:`EXPIRE_EVERY` claims.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from moment_tui.sandbox.db import Database
from moment_tui.sandbox.problems import Problem, bad_request

TTL_SECONDS: Final = 24 * 60 * 60
EXPIRE_EVERY: Final = 1000  # claims between sweeps of expired keys
_KEY = re.compile(r"^[a-zA-Z0-9-]{1,255}$")


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


def check_key(value: str | None) -> str:
    if value is None or not value.strip():
        raise bad_request(
            "the Idempotency-Key header is required on POST (a fresh uuid4 per operation)",
            "Idempotency-Key",
        )
    if not _KEY.match(value):
        raise bad_request(
            "Idempotency-Key must be 1-255 letters, digits and hyphens", "Idempotency-Key"
        )
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Same request → same fingerprint; JSON whitespace and key order do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): the raw bytes
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def scope_for(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


class Keys:
    """The idempotency table. Keys older than :data:`TTL_SECONDS` are deleted when the
    sandbox starts and then every ``expire_every`` claims, so the table stays bounded."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        expire_every: int = EXPIRE_EVERY,
    ) -> None:
        self.db = db
        self.clock = clock
        self.expire_every = expire_every
        self._claims = 0
        # Nothing can be in flight in a sandbox that is only now starting.
        self.db.conn.execute("DELETE FROM idempotency WHERE state = 'in_flight'")
        self.expire()

    def begin(self, scope: str, key: str, print_: str) -> Replay | None:
        """Claim ``key`` (committed at once), or return the stored response to replay."""
        self._claims += 1
        if self._claims % self.expire_every == 0:
            self.expire()
        now = self.clock()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM idempotency WHERE scope = ? AND key = ?", (scope, key)
            ).fetchone()
            if row is not None and row["created_at"] < now - TTL_SECONDS:
                conn.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))
                row = None
            if row is None:
                conn.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, state, created_at)"
                    " VALUES (?, ?, ?, 'in_flight', ?)",
                    (scope, key, print_, now),
                )
                return None
        if row["fingerprint"] != print_:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new operation",
            )
        if row["state"] == "in_flight":
            raise Problem(
                409,
                "idempotency-key-in-flight",
                "Request in progress",
                "a request with this Idempotency-Key is still being processed; retry later",
                headers={"Retry-After": "1"},
            )
        return Replay(int(row["status"]), bytes(row["body"]))

    def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        """Record the response; call inside the request's own transaction."""
        self.db.conn.execute(
            "UPDATE idempotency SET state = 'done', status = ?, body = ?"
            " WHERE scope = ? AND key = ?",
            (status, body, scope, key),
        )

    def abandon(self, scope: str, key: str) -> None:
        """The request failed unexpectedly (500): let a retry run it afresh."""
        self.db.conn.execute(
            "DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'in_flight'",
            (scope, key),
        )

    def expire(self) -> int:
        """Delete every key older than the TTL; returns how many went."""
        cursor = self.db.conn.execute(
            "DELETE FROM idempotency WHERE created_at < ?", (self.clock() - TTL_SECONDS,)
        )
        return cursor.rowcount
