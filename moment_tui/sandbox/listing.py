"""``GET /billing/{customers,accounts,bills}``: a sandbox-only extension.

Moment's Billing API has no list endpoints. The sandbox offers them in Moment's
house style (the Collect product's): ``limit`` (default 20, max 100) and an opaque
``cursor``; the body is ``{"data": [...]}`` and the neighbouring pages' cursors come
back in the ``Next-Cursor`` and ``Prev-Cursor`` headers. Items are in creation order,
so paging to the end visits every object exactly once.

Filters: ``external_reference_prefix`` on all three; ``customer`` (id or reference)
on accounts and bills; ``account`` and ``status`` on bills.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from moment_tui.api.models import BillStatus, ObjectKind
from moment_tui.sandbox.objects import TABLE, Objects, to_json_many
from moment_tui.sandbox.problems import bad_request

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100
# Cursors carry a row's seq, an SQLite INTEGER: a signed 64-bit number.
_MAX_SEQ: Final = 2**63 - 1
FILTERS: Final[dict[ObjectKind, frozenset[str]]] = {
    "customer": frozenset({"external_reference_prefix"}),
    "account": frozenset({"external_reference_prefix", "customer"}),
    "bill": frozenset({"external_reference_prefix", "customer", "account", "status"}),
}
# external_reference is [A-Za-z0-9_-]; "~" sorts after every one of those characters.
_AFTER_ANY_REFERENCE_CHAR: Final = "~"
# A prefix matching fewer rows than this is listed from the external_reference index
# (cost grows with the matches); a broader one by walking creation order (cost grows
# with the rows skipped between matches, few when matches are this common).
_SPARSE_PREFIX: Final = 20_000


@dataclass(frozen=True)
class Listing:
    data: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None


def refuse_unknown(query: Mapping[str, str], allowed: frozenset[str]) -> None:
    """400 naming the first query parameter not in ``allowed``: a misspelt filter
    must not quietly list everything. Every sandbox listing checks this."""
    unknown = sorted(set(query) - allowed)
    if unknown:
        names = ", ".join(sorted(allowed))
        raise bad_request(f"unknown query parameter {unknown[0]!r} (allowed: {names})", unknown[0])


def list_objects(objects: Objects, kind: ObjectKind, query: Mapping[str, str]) -> Listing:
    refuse_unknown(query, FILTERS[kind] | {"limit", "cursor"})
    limit = parse_limit(query.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    where, params = _filters(objects, kind, query)
    direction, position = _cursor(query.get("cursor"))
    table = TABLE[kind]

    if direction == "before":
        page_where = [*where, "seq < ?"]
        rows = objects.db.all(
            f"SELECT * FROM {table} WHERE {' AND '.join(page_where)} "  # noqa: S608
            "ORDER BY seq DESC LIMIT ?",
            (*params, position, limit + 1),
        )
        has_more_before = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_more_after = True
    else:
        page_where = [*where, "seq > ?"]
        rows = objects.db.all(
            f"SELECT * FROM {table} WHERE {' AND '.join(page_where)} "  # noqa: S608
            "ORDER BY seq ASC LIMIT ?",
            (*params, position, limit + 1),
        )
        has_more_after = len(rows) > limit
        rows = rows[:limit]
        has_more_before = position > 0 and _exists(objects, table, where, params, position)

    next_cursor = _encode("after", rows[-1]["seq"]) if rows and has_more_after else None
    prev_cursor = _encode("before", rows[0]["seq"]) if rows and has_more_before else None
    return Listing(to_json_many(kind, rows, objects), next_cursor, prev_cursor)


def _exists(objects: Objects, table: str, where: list[str], params: list[Any], below: int) -> bool:
    row = objects.db.one(
        f"SELECT 1 FROM {table} WHERE {' AND '.join([*where, 'seq <= ?'])} LIMIT 1",  # noqa: S608
        (*params, below),
    )
    return row is not None


def parse_limit(text: str | None, *, default: int, maximum: int) -> int:
    """The ``limit`` query parameter of every sandbox listing: ASCII digits, 1…maximum.

    ``str.isdigit`` alone admits ``"²"`` and other digits ``int`` refuses, and ``int``
    refuses more than 4,300 digits; both are a 400 here, never an exception.
    """
    if text is None:
        return default
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
    if not 1 <= value <= maximum:
        raise bad_request(f"limit must be a whole number from 1 to {maximum}", "limit")
    return value


def _filters(
    objects: Objects, kind: ObjectKind, query: Mapping[str, str]
) -> tuple[list[str], list[Any]]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    prefix = query.get("external_reference_prefix")
    if prefix:
        table = TABLE[kind]
        bounds = (prefix, prefix + _AFTER_ANY_REFERENCE_CHAR)
        in_range = "external_reference >= ? AND external_reference < ?"
        matches = objects.db.one(
            f"SELECT count(*) AS n FROM (SELECT 1 FROM {table} WHERE {in_range} LIMIT ?)",  # noqa: S608
            (*bounds, _SPARSE_PREFIX),
        )
        if matches is not None and matches["n"] < _SPARSE_PREFIX:
            where.append(f"seq IN (SELECT seq FROM {table} WHERE {in_range})")  # noqa: S608
        else:
            where.append(in_range)
        params += bounds
    for name in ("customer", "account"):
        if name in query:
            row = objects.find(name, query[name])
            where.append(f"{name}_id = ?")
            params.append(row["id"] if row is not None else "")  # unknown: an empty page
    if "status" in query:
        try:
            status = BillStatus(query["status"])
        except ValueError:
            raise bad_request("status must be one of unpaid, paid, voided", "status") from None
        where.append("status = ?")
        params.append(status.value)
    return where, params


def _encode(direction: str, seq: int) -> str:
    raw = json.dumps({"d": direction, "s": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(text: str | None) -> tuple[str, int]:
    if not text:
        return "after", 0
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        direction, seq = data["d"], data["s"]
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise bad_request("cursor is not one this server issued", "cursor") from None
    if direction not in ("after", "before") or type(seq) is not int or not 0 <= seq <= _MAX_SEQ:
        raise bad_request("cursor is not one this server issued", "cursor")
    return direction, seq
