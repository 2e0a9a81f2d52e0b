"""Reading the three Standard Webhooks headers; every function is total (never raises)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from moment_tui.webhooks.diagnose import show
from moment_tui.webhooks.signing import HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP

NAMES: Final = (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)
MAX_ID_LENGTH: Final = 255
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class SignatureHeader:
    """A parsed ``webhook-signature``: the usable ``v1`` entries, or what is wrong."""

    v1: tuple[tuple[str, bytes], ...]  # (base64 text as received, decoded bytes)
    problem: str | None


def parse_signature_header(value: str) -> SignatureHeader:
    """Split on single spaces; keep ``v1,<value>`` entries whose value is base64."""
    v1: list[tuple[str, bytes]] = []
    other_versions: list[str] = []
    bad_v1: list[str] = []
    for entry in value.split(" "):
        version, comma, signature = entry.partition(",")
        if not comma or not version:
            continue
        if version != "v1":
            other_versions.append(version)
        elif (raw := _base64(signature)) is not None:
            v1.append((signature, raw))
        else:
            bad_v1.append(signature)
    if v1:
        return SignatureHeader(tuple(v1), None)
    if bad_v1:
        problem = f"the v1 signature in webhook-signature is not base64 (v1,{show(bad_v1[0])})"
    elif other_versions:
        seen = ", ".join(show(v, 10) for v in dict.fromkeys(other_versions[:5]))
        problem = f"no v1 signature in webhook-signature (only {seen})"
    else:
        problem = f"webhook-signature has no '<version>,<signature>' entry (got '{show(value)}')"
    return SignatureHeader((), problem)


def _base64(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw or None


def find_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The three headers by lower-case name; the first of duplicates wins."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower() if isinstance(name, str) else None
        if key in NAMES and key not in found:
            raw: object = value  # frameworks differ: be safe with bytes or None
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", "surrogateescape")
            found[key] = raw if isinstance(raw, str) else ""
    return found


def missing_problem(found: Mapping[str, str]) -> str | None:
    absent = [name for name in NAMES if name not in found]
    empty = [name for name in NAMES if name in found and not found[name]]
    parts = []
    if absent:
        parts.append(f"missing header{'s' if len(absent) > 1 else ''} {', '.join(absent)}")
    if empty:
        parts.append(f"empty header{'s' if len(empty) > 1 else ''} {', '.join(empty)}")
    return "; ".join(parts) or None


def id_problem(msg_id: str) -> str | None:
    if len(msg_id) > MAX_ID_LENGTH:
        return f"webhook-id is {len(msg_id)} characters long; at most {MAX_ID_LENGTH} allowed"
    if "." in msg_id:
        return f"webhook-id '{show(msg_id)}' contains '.', which would make signatures ambiguous"
    # str.isprintable() is False for every separator but the ASCII space.
    if " " in msg_id or not msg_id.isprintable():
        return f"webhook-id '{show(msg_id)}' contains whitespace or control characters"
    return None


def timestamp_problem(text: str) -> str | None:
    if _TIMESTAMP.fullmatch(text):
        return None
    shown = show(text)
    if text.isascii() and text.isdigit():
        return (
            f"webhook-timestamp '{shown}' has {len(text)} digits: it must be Unix time in "
            "seconds (milliseconds?)"
        )
    return f"webhook-timestamp '{shown}' is not Unix time in whole seconds (digits only)"
