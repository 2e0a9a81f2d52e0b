"""The event log: every delivery that reached the listener, and what became of it.

A delivery is stored with its raw headers (credentials redacted) and body, the
receive time and the verdict, before the listener answers. Verified deliveries are
unique by ``webhook-id`` (a partial unique index), so a second copy — now or after
a restart — is stored as ``duplicate`` and never applied. Rejected and duplicate
deliveries are kept for debugging up to a retention bound; verified ones are kept.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from moment_tui.api.kinds import ObjectKind
from moment_tui.config import DEFAULT_RETENTION

Verdict = Literal["verified", "rejected", "duplicate"]
REDACTED_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


@dataclass(frozen=True, kw_only=True)
class EventFacts:
    """What a delivery said, as far as it could be read: shared by both stages below."""

    event_id: str | None = None
    event_type: str | None = None
    amount: int | None = None
    currency: str | None = None
    customer_id: str | None = None
    account_id: str | None = None
    bill_id: str | None = None
    matched_secret: str | None = None
    diagnosis: dict[str, Any] | None = None
    # Which configured secret verified it, as this process received it: not stored,
    # so not part of a delivery's identity either.
    secret_index: int | None = field(default=None, compare=False)

    def target(self) -> tuple[ObjectKind, str] | None:
        """What the money went to: the bill, else the account, else the customer."""
        if self.bill_id:
            return "bill", self.bill_id
        if self.account_id:
            return "account", self.account_id
        if self.customer_id:
            return "customer", self.customer_id
        return None


@dataclass(frozen=True, kw_only=True)
class Incoming(EventFacts):
    """One delivery as the listener received and judged it, before it is stored."""

    received_at: str
    remote: str | None
    headers: dict[str, str]
    body: bytes
    body_size: int
    verified: bool
    reason: str | None
    message: str
    status: int
    webhook_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Delivery(EventFacts):
    """A stored delivery (without its raw headers and body)."""

    seq: int
    webhook_id: str | None
    received_at: str
    verdict: Verdict
    reason: str | None
    message: str
    status: int
    duplicate_of: int | None = None
    application: str | None = None  # the application's state, when read back


# Names that say a header carries a credential (X-Webhook-Secret, X-Auth-Token …).
CREDENTIAL_WORDS: Final = ("secret", "token", "password", "passwd", "api-key", "apikey", "auth")


def redact(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored: any that may carry a credential is ``(redacted)``."""
    return {name: "(redacted)" if _credential(name) else value for name, value in headers.items()}


@functools.lru_cache(maxsize=512)  # a sender sends the same few names every time
def _credential(name: str) -> bool:
    lower = name.lower()
    return lower in REDACTED_HEADERS or any(word in lower for word in CREDENTIAL_WORDS)


_COLUMNS: Final = (
    "webhook_id, received_at, verdict, reason, message, status, remote, headers, body,"
    " body_size, event_id, event_type, amount, currency, customer_id, account_id, bill_id,"
    " matched_secret, diagnosis, duplicate_of"
)


def insert(conn: sqlite3.Connection, incoming: Incoming) -> Delivery:
    """Store one delivery; a second verified copy of a ``webhook-id`` becomes ``duplicate``,
    and so does a verified event whose body ``id`` came before under another webhook-id
    (Moment's docs: de-duplicate on ``webhook-id`` and/or the body ``id``)."""
    verdict: Verdict = "verified" if incoming.verified else "rejected"
    same_event = _same_event(conn, incoming) if incoming.verified else None
    if same_event is not None:
        said = (
            f"the same event {incoming.event_id} already arrived at"
            f" {same_event['received_at']} (#{same_event['seq']}) as {same_event['webhook_id']}"
        )
        return _insert_duplicate(conn, incoming, same_event["seq"], said)
    try:
        seq = _insert(conn, incoming, verdict, incoming.reason, incoming.message, None)
    except sqlite3.IntegrityError:
        original = conn.execute(
            "SELECT seq, received_at FROM deliveries WHERE webhook_id = ? AND verdict = 'verified'",
            (incoming.webhook_id,),
        ).fetchone()
        said = f"already received at {original['received_at']} (#{original['seq']})"
        return _insert_duplicate(conn, incoming, original["seq"], said)
    return _stored(incoming, seq, verdict, incoming.reason, incoming.message, None)


def _insert_duplicate(
    conn: sqlite3.Connection, incoming: Incoming, original: int, said: str
) -> Delivery:
    """Store ``incoming`` as a duplicate of delivery ``original``; ``said``: when and how
    that one came."""
    message = f"{said}; acknowledged, not applied again"
    seq = _insert(conn, incoming, "duplicate", "duplicate", message, original)
    return _stored(incoming, seq, "duplicate", "duplicate", message, original)


def _same_event(conn: sqlite3.Connection, incoming: Incoming) -> sqlite3.Row | None:
    """The verified delivery of this event under another webhook-id, if any."""
    if not incoming.event_id:
        return None
    row: sqlite3.Row | None = conn.execute(
        "SELECT seq, received_at, webhook_id FROM deliveries"
        " WHERE event_id = ? AND verdict = 'verified' AND webhook_id IS NOT ? LIMIT 1",
        (incoming.event_id, incoming.webhook_id),
    ).fetchone()
    return row


def _stored(
    incoming: Incoming,
    seq: int,
    verdict: Verdict,
    reason: str | None,
    message: str,
    duplicate_of: int | None,
) -> Delivery:
    return Delivery(
        seq=seq,
        webhook_id=incoming.webhook_id,
        received_at=incoming.received_at,
        verdict=verdict,
        reason=reason,
        message=message,
        status=incoming.status,
        event_id=incoming.event_id,
        event_type=incoming.event_type,
        amount=incoming.amount,
        currency=incoming.currency,
        customer_id=incoming.customer_id,
        account_id=incoming.account_id,
        bill_id=incoming.bill_id,
        matched_secret=incoming.matched_secret,
        duplicate_of=duplicate_of,
        diagnosis=incoming.diagnosis,
        secret_index=incoming.secret_index,
    )


def _insert(
    conn: sqlite3.Connection,
    d: Incoming,
    verdict: Verdict,
    reason: str | None,
    message: str,
    duplicate_of: int | None,
) -> int:
    cursor = conn.execute(
        f"INSERT INTO deliveries ({_COLUMNS}) VALUES ({', '.join('?' * 20)})",  # noqa: S608
        (
            d.webhook_id,
            d.received_at,
            verdict,
            reason,
            message,
            d.status,
            d.remote,
            json.dumps(redact(d.headers)),
            d.body,
            d.body_size,
            d.event_id,
            d.event_type,
            d.amount,
            d.currency,
            d.customer_id,
            d.account_id,
            d.bill_id,
            d.matched_secret,
            json.dumps(d.diagnosis) if d.diagnosis else None,
            duplicate_of,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def trim(conn: sqlite3.Connection, keep: int = DEFAULT_RETENTION) -> int:
    """Drop the oldest rejected and duplicate deliveries beyond ``keep`` of them."""
    row = conn.execute(
        "SELECT seq FROM deliveries WHERE verdict != 'verified' ORDER BY seq DESC LIMIT 1 OFFSET ?",
        (keep,),
    ).fetchone()
    if row is None:
        return 0
    cursor = conn.execute(
        "DELETE FROM deliveries WHERE verdict != 'verified' AND seq <= ?", (row["seq"],)
    )
    return cursor.rowcount


def _delivery(row: sqlite3.Row) -> Delivery:
    diagnosis = json.loads(row["diagnosis"]) if row["diagnosis"] else None
    keys = row.keys()
    return Delivery(
        seq=row["seq"],
        webhook_id=row["webhook_id"],
        received_at=row["received_at"],
        verdict=row["verdict"],
        reason=row["reason"],
        message=row["message"],
        status=row["status"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        amount=row["amount"],
        currency=row["currency"],
        customer_id=row["customer_id"],
        account_id=row["account_id"],
        bill_id=row["bill_id"],
        matched_secret=row["matched_secret"],
        duplicate_of=row["duplicate_of"],
        diagnosis=diagnosis,
        application=row["state"] if "state" in keys else None,
    )


_SELECT: Final = (
    "SELECT d.*, a.state FROM deliveries AS d LEFT JOIN applications AS a ON a.delivery_seq = d.seq"
)


def latest(
    conn: sqlite3.Connection,
    *,
    limit: int = 100,
    verdict: Verdict | None = None,
    before: int | None = None,
) -> list[Delivery]:
    """Newest first; ``before`` pages back by ``seq``."""
    where: list[str] = []
    params: list[object] = []
    if verdict:
        where.append("d.verdict = ?")
        params.append(verdict)
    if before is not None:
        where.append("d.seq < ?")
        params.append(before)
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    rows = conn.execute(sql + " ORDER BY d.seq DESC LIMIT ?", (*params, limit)).fetchall()
    return [_delivery(row) for row in rows]


SQLITE_MAX_INT: Final = 2**63 - 1


def find(conn: sqlite3.Connection, ref: str) -> Delivery | None:
    """By ``seq`` (digits) or ``webhook-id`` (the verified copy first)."""
    if ref.isascii() and ref.isdigit():
        if int(ref) > SQLITE_MAX_INT:  # no such seq; SQLite could not even be asked
            return None
        row = conn.execute(_SELECT + " WHERE d.seq = ?", (int(ref),)).fetchone()
    else:  # each query on its partial index
        row = (
            conn.execute(
                _SELECT + " WHERE d.webhook_id = ? AND d.verdict = 'verified'", (ref,)
            ).fetchone()
            or conn.execute(
                _SELECT
                + " WHERE d.webhook_id = ? AND d.verdict != 'verified' ORDER BY d.seq LIMIT 1",
                (ref,),
            ).fetchone()
        )
    return None if row is None else _delivery(row)


def raw(conn: sqlite3.Connection, seq: int) -> tuple[dict[str, str], bytes] | None:
    """The stored headers and body of a delivery."""
    stored = raw_and_cut(conn, seq)
    return None if stored is None else (stored[0], stored[1])


def raw_and_cut(conn: sqlite3.Connection, seq: int) -> tuple[dict[str, str], bytes, bool] | None:
    """:func:`raw`, and whether only the head of the body was kept (it was over the
    limit), in one read."""
    row = conn.execute(
        "SELECT headers, body, body_size > length(body) AS cut FROM deliveries WHERE seq = ?",
        (seq,),
    ).fetchone()
    if row is None:
        return None
    return json.loads(row["headers"]), bytes(row["body"]), bool(row["cut"])


def unapplied(conn: sqlite3.Connection, limit: int = 1000, *, after: int = 0) -> list[Delivery]:
    """Verified ``obligation.amount_applied`` deliveries not yet applied, oldest first;
    ``after`` pages on by ``seq``."""
    rows = conn.execute(
        _SELECT + " WHERE d.verdict = 'verified' AND d.event_type = 'obligation.amount_applied'"
        " AND a.delivery_seq IS NULL AND d.seq > ? ORDER BY d.seq LIMIT ?",
        (after, limit),
    ).fetchall()
    return [_delivery(row) for row in rows]


@dataclass(frozen=True)
class Books:
    """The counts that must agree: stored, acknowledged, applied."""

    stored: int
    verified: int
    duplicate: int
    rejected: int
    acknowledged: int  # answered 2xx
    applied: int  # verified events with an application record
    confirmed: int
    drift: int
    unconfirmed: int


def count(conn: sqlite3.Connection) -> int:
    """How many deliveries the log holds."""
    return int(conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])


def books(conn: sqlite3.Connection) -> Books:
    by_verdict = dict(
        conn.execute("SELECT verdict, count(*) FROM deliveries GROUP BY verdict").fetchall()
    )
    by_state = dict(
        conn.execute("SELECT state, count(*) FROM applications GROUP BY state").fetchall()
    )
    acknowledged = conn.execute(
        "SELECT count(*) FROM deliveries WHERE status BETWEEN 200 AND 299"
    ).fetchone()[0]
    return Books(
        stored=sum(by_verdict.values()),
        verified=by_verdict.get("verified", 0),
        duplicate=by_verdict.get("duplicate", 0),
        rejected=by_verdict.get("rejected", 0),
        acknowledged=acknowledged,
        applied=sum(by_state.values()),
        confirmed=by_state.get("confirmed", 0),
        drift=by_state.get("drift", 0),
        unconfirmed=by_state.get("unconfirmed", 0),
    )


@dataclass(frozen=True)
class BooksSnapshot:
    """The event log's books as of one moment, and what lets live counts join them.

    ``through`` is the newest delivery the books include; ``unsettled`` are the
    verified deliveries up to it whose application had no final state yet (not
    applied, or applied and not yet confirmed): only those can still settle.
    """

    books: Books
    through: int
    unsettled: frozenset[int]


def read_books(conn: sqlite3.Connection) -> BooksSnapshot:
    """One consistent read (a single transaction) of the books; call in a thread."""
    conn.execute("BEGIN")
    try:
        counts = books(conn)
        through = conn.execute("SELECT coalesce(max(seq), 0) FROM deliveries").fetchone()[0]
        rows = conn.execute(
            "SELECT d.seq FROM deliveries AS d"
            " LEFT JOIN applications AS a ON a.delivery_seq = d.seq"
            " WHERE d.verdict = 'verified' AND d.event_type = 'obligation.amount_applied'"
            " AND (a.state IS NULL OR a.state = 'applied')"
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return BooksSnapshot(counts, int(through), frozenset(row[0] for row in rows))
