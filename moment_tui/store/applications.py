"""What each verified event did to the catalogue, and whether the server agreed.

One row per verified ``webhook-id`` (a unique column), written in the same
transaction as the catalogue change it describes: an event is applied exactly once,
however often it is delivered and whatever crashes in between.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Container
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from moment_tui.api.kinds import ObjectKind
from moment_tui.store.schema import select_in

State = Literal["applied", "confirmed", "drift", "unconfirmed"]
Outcome = Literal["applied", "fetched", "unknown_target", "skipped"]


@dataclass(frozen=True)
class Change:
    """One field of one object, before and after an event was applied."""

    kind: str
    id: str
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Drift:
    """A field where the server's copy differs from ours after applying."""

    kind: str
    id: str
    field: str
    ours: Any
    server: Any


@dataclass(frozen=True)
class Application:
    delivery_seq: int
    webhook_id: str
    applied_at: str
    outcome: Outcome
    target_kind: ObjectKind | None
    target_id: str | None
    changes: tuple[Change, ...] = ()
    allocation: tuple[tuple[str, int], ...] = ()  # (bill id, amount) of an account payment
    to_balance: int = 0
    unallocated: int = 0
    note: str | None = None
    state: State = "applied"
    drift: tuple[Drift, ...] = field(default=())
    checked_at: str | None = None

    def checked(
        self, state: State, drift: tuple[Drift, ...], at: str, note: str | None
    ) -> Application:
        return replace(self, state=state, drift=drift, checked_at=at, note=note or self.note)


def insert(conn: sqlite3.Connection, app: Application) -> None:
    conn.execute(
        "INSERT INTO applications (delivery_seq, webhook_id, applied_at, outcome, target_kind,"
        " target_id, changes, allocation, note, state, drift, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            app.delivery_seq,
            app.webhook_id,
            app.applied_at,
            app.outcome,
            app.target_kind,
            app.target_id,
            json.dumps([_change_json(c) for c in app.changes]),
            _allocation_json(app),
            app.note,
            app.state,
            _drift_text(app.drift),
            app.checked_at,
        ),
    )


def _allocation_json(app: Application) -> str | None:
    """How an account or customer payment was shared out; NULL when there was nothing
    to share (a bill payment, a skipped event), which is most events."""
    if not (app.allocation or app.to_balance or app.unallocated):
        return None
    return json.dumps(
        {
            "bills": [list(part) for part in app.allocation],
            "to_balance": app.to_balance,
            "unallocated": app.unallocated,
        }
    )


def _change_json(change: Change) -> dict[str, Any]:
    # By hand: dataclasses.asdict deep-copies and was most of an application's cost.
    return {
        "kind": change.kind,
        "id": change.id,
        "field": change.field,
        "before": change.before,
        "after": change.after,
    }


def _drift_json(drift: Drift) -> dict[str, Any]:
    return {
        "kind": drift.kind,
        "id": drift.id,
        "field": drift.field,
        "ours": drift.ours,
        "server": drift.server,
    }


def update_check(conn: sqlite3.Connection, app: Application) -> bool:
    """Store what the check found, if the application is still ``applied``; False when
    it was settled already — by another process sharing the workspace, which found
    drift on an object this event had changed (:func:`settle_as_drift`)."""
    cursor = conn.execute(
        "UPDATE applications SET state = ?, drift = ?, checked_at = ?, note = ?"
        " WHERE delivery_seq = ? AND state = 'applied'",
        (
            app.state,
            _drift_text(app.drift),
            app.checked_at,
            app.note,
            app.delivery_seq,
        ),
    )
    return cursor.rowcount == 1


def mark_agreed(conn: sqlite3.Connection, kind: ObjectKind, object_id: str, at: str) -> None:
    """The server's copy of this object agreed with ours as it stood at ``at``."""
    conn.execute(
        "INSERT INTO object_checks (kind, id, agreed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, id) DO UPDATE SET agreed_at = max(agreed_at, excluded.agreed_at)",
        (kind, object_id, at),
    )


def settle_as_drift(
    conn: sqlite3.Connection,
    kind: ObjectKind,
    object_id: str,
    drift: tuple[Drift, ...],
    at: str,
    *,
    besides: Container[int],
) -> list[int]:
    """Mark ``drift`` every other application still ``applied`` that changed this
    object since its last agreeing re-fetch: its change was part of the copy found to
    differ from the server's, which has now replaced it, so no later check could see
    that change any more. ``besides``: applications the caller's own checks settle (a
    process knows its own; another process sharing the workspace applies events of
    its own, which only this finds)."""
    agreed = conn.execute(
        "SELECT agreed_at FROM object_checks WHERE kind = ? AND id = ?", (kind, object_id)
    ).fetchone()
    since = agreed[0] if agreed is not None else ""
    rows = conn.execute(
        "SELECT delivery_seq, changes, applied_at FROM applications"
        " WHERE target_id = ? AND state = 'applied'",
        (object_id,),
    ).fetchall()
    if kind == "bill":  # also account and customer payments that paid part of this bill
        rows += conn.execute(
            "SELECT delivery_seq, changes, applied_at FROM applications"
            " INDEXED BY applications_allocating_unchecked"
            " WHERE allocation IS NOT NULL AND state = 'applied' AND instr(allocation, ?) > 0",
            (json.dumps(object_id),),
        ).fetchall()
    seqs = sorted(
        {
            row["delivery_seq"]
            for row in rows
            if row["delivery_seq"] not in besides
            and row["applied_at"] >= since  # before that: a copy the server agreed with
            and any(c["kind"] == kind and c["id"] == object_id for c in json.loads(row["changes"]))
        }
    )
    conn.executemany(
        "UPDATE applications SET state = 'drift', drift = ?, checked_at = ?"
        " WHERE delivery_seq = ? AND state = 'applied'",
        [(_drift_text(drift), at, seq) for seq in seqs],
    )
    return seqs


def _drift_text(drift: tuple[Drift, ...]) -> str | None:
    return json.dumps([_drift_json(d) for d in drift]) if drift else None


def get(conn: sqlite3.Connection, webhook_id: str) -> Application | None:
    row = conn.execute("SELECT * FROM applications WHERE webhook_id = ?", (webhook_id,)).fetchone()
    return None if row is None else from_row(row)


def for_delivery(conn: sqlite3.Connection, seq: int) -> Application | None:
    row = conn.execute("SELECT * FROM applications WHERE delivery_seq = ?", (seq,)).fetchone()
    return None if row is None else from_row(row)


def for_deliveries(conn: sqlite3.Connection, seqs: list[int]) -> dict[int, Application]:
    """The applications of these deliveries (those that have one), by delivery seq."""
    rows = select_in(conn, "SELECT * FROM applications WHERE delivery_seq", seqs)
    return {row["delivery_seq"]: from_row(row) for row in rows}


def as_json(app: Application) -> dict[str, Any]:
    """What an event did, for ``events --json``: before/after values, the allocation
    of an account payment, and what the re-fetch found."""
    return {
        "outcome": app.outcome,
        "state": app.state,
        "note": app.note,
        "target": {"kind": app.target_kind, "id": app.target_id} if app.target_id else None,
        "changes": [_change_json(c) for c in app.changes],
        "allocation": {
            "bills": [{"bill_id": b, "amount": a} for b, a in app.allocation],
            "to_balance": app.to_balance,
            "unallocated": app.unallocated,
        },
        "drift": [_drift_json(d) for d in app.drift],
        "applied_at": app.applied_at,
        "checked_at": app.checked_at,
    }


def unchecked(conn: sqlite3.Connection, limit: int = 1000, *, after: int = 0) -> list[Application]:
    """Applications never checked with the API (state ``applied``: the process stopped
    before their re-fetch succeeded or was given up on), oldest first; ``after`` pages
    on by ``delivery_seq``."""
    rows = conn.execute(
        "SELECT * FROM applications WHERE state = 'applied' AND delivery_seq > ?"
        " ORDER BY delivery_seq LIMIT ?",
        (after, limit),
    ).fetchall()
    return [from_row(row) for row in rows]


def from_row(row: sqlite3.Row) -> Application:
    """An application as stored (any query selecting its columns)."""
    allocation = json.loads(row["allocation"]) if row["allocation"] else {}
    return Application(
        delivery_seq=row["delivery_seq"],
        webhook_id=row["webhook_id"],
        applied_at=row["applied_at"],
        outcome=row["outcome"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        changes=tuple(Change(**c) for c in json.loads(row["changes"])),
        allocation=tuple((str(b), int(a)) for b, a in allocation.get("bills", [])),
        to_balance=int(allocation.get("to_balance", 0)),
        unallocated=int(allocation.get("unallocated", 0)),
        note=row["note"],
        state=row["state"],
        drift=tuple(Drift(**d) for d in json.loads(row["drift"])) if row["drift"] else (),
        checked_at=row["checked_at"],
    )
