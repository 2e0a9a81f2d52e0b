"""Reading a verified body as an event: the fast parser never changes a verdict."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from moment_tui.webhooks.events import BodyProblem, ParsedEvent, _read_json, parse_event

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _python(body: bytes) -> Any:
    """What Python's own reader makes of a body (the careful path's rule)."""
    return json.loads(body.decode("utf-8"), parse_constant=_refuse)


def _refuse(name: str) -> Any:
    raise ValueError(name)


@given(_JSON, st.booleans())
def test_both_readers_agree_on_every_json_document(value: Any, pretty: bool) -> None:
    body = json.dumps(value, indent=2 if pretty else None).encode()
    assert _read_json(body) == _python(body)


@given(st.binary(max_size=64))
def test_bytes_python_refuses_are_refused_with_a_reason(body: bytes) -> None:
    try:
        expected = _python(body)
    except (ValueError, RecursionError):
        result = _read_json(body)
        assert isinstance(result, BodyProblem)
        assert result.not_json
        return
    assert _read_json(body) == expected


def test_nan_and_infinity_stay_refused() -> None:
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        result = _read_json(b'{"id": "evt_1", "type": "x", "data": {"a": ' + literal + b"}}")
        assert isinstance(result, BodyProblem)
        assert result.message == f"the body is not JSON: {literal.decode()} is not valid JSON"


def test_a_float_too_large_reads_as_infinity_in_both() -> None:
    # Python reads 1e999 as inf; so must the fast path (it is not a NaN/Infinity literal).
    assert _read_json(b"[1e999]") == [math.inf] == _python(b"[1e999]")


def test_duplicate_keys_keep_the_last_value_in_both() -> None:
    body = b'{"id": "evt_1", "id": "evt_2", "type": "t", "data": {}}'
    parsed = parse_event(body)
    assert isinstance(parsed, ParsedEvent)
    assert parsed.event.id == "evt_2" == _python(body)["id"]


def test_a_lone_surrogate_escape_is_read_by_the_careful_path() -> None:
    body = b'{"id": "evt_1", "type": "t", "data": {"note": "\\ud800"}}'
    parsed = parse_event(body)
    assert isinstance(parsed, ParsedEvent)
    assert parsed.event.data == {"note": "\ud800"}
