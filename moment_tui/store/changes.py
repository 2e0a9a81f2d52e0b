"""What each new copy of an object changed, field by field: the timeline's edits.

A payment keeps its own before → after (:mod:`moment_tui.store.applications`). Every
other change reaches the catalogue as a new copy of the whole object; when that copy
comes from an edit in this console (``changed``) or a look-up (``looked_up``: ``r``,
Go to), :func:`moment_tui.store.catalogue.upsert` compares it with the copy it
replaces and keeps the fields that differ here, so a detail view can say *phone
+27 82 000 0001 → +27 82 000 0002* rather than only "updated". Copies from listings,
imports and payment checks are not compared: they arrive in bulk, and a payment's
own entry already says what it changed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# Fields that change on every write and say nothing to a reader.
IGNORED: Final = frozenset({"id", "created_at", "updated_at", "object", "livemode"})
LIMIT: Final = 200  # changes shown on one detail page


@dataclass(frozen=True)
class FieldChange:
    field: str  # a top-level field, or ``metadata.key`` / ``payment_rules.key``
    before: Any
    after: Any


@dataclass(frozen=True)
class ObjectChange:
    at: str
    source: str
    fields: tuple[FieldChange, ...]


def _flat(data: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level fields, with a mapping's keys one level down (``metadata.tier``)."""
    flat: dict[str, Any] = {}
    for name, value in data.items():
        if name in IGNORED:
            continue
        if isinstance(value, Mapping):
            for key, inner in value.items():
                flat[f"{name}.{key}"] = inner
        else:
            flat[name] = value
    return flat


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The fields whose values differ, in the new copy's order (a removed one last)."""
    old, new = _flat(before), _flat(after)
    names = list(new) + [name for name in old if name not in new]
    return tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in names
        if old.get(name) != new.get(name)
    )


def record(
    conn: sqlite3.Connection,
    kind: str,
    object_id: str,
    at: str,
    source: str,
    fields: tuple[FieldChange, ...],
) -> None:
    conn.execute(
        "INSERT INTO object_changes (kind, id, at, source, changes) VALUES (?, ?, ?, ?, ?)",
        (
            kind,
            object_id,
            at,
            source,
            json.dumps([[f.field, f.before, f.after] for f in fields], ensure_ascii=False),
        ),
    )


def for_object(
    conn: sqlite3.Connection, object_id: str, *, limit: int = LIMIT
) -> list[ObjectChange]:
    """The object's recorded changes, newest first."""
    rows = conn.execute(
        "SELECT at, source, changes FROM object_changes WHERE id = ? ORDER BY seq DESC LIMIT ?",
        (object_id, limit),
    ).fetchall()
    return [
        ObjectChange(row[0], row[1], tuple(FieldChange(f, b, a) for f, b, a in json.loads(row[2])))
        for row in rows
    ]
