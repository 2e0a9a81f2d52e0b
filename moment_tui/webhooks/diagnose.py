"""What a developer needs to fix a rejected signature or timestamp.

:class:`Diagnosis` is attached to timestamp and signature failures only. Its hints
recognise the classic mistakes by recomputing the signature the way a mistaken sender
would have and comparing with what was received: the secret text used as the key
instead of its base64-decoded bytes, a body re-serialised between signing and
sending, a timestamp a few seconds off or in milliseconds inside the signed content,
a hex digest instead of base64. They are computed only on failure, and the ones that
hash the body again only for bodies up to :data:`HINT_BODY_LIMIT` bytes, so a flood
of large bad deliveries cannot cost much.

Nothing here ever shows a secret: secrets are named by their masked label
(``whsec_…SE=``); expected signatures are HMAC outputs and fine to show.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from moment_tui.secrets import mask
from moment_tui.webhooks.signing import SECRET_PREFIX, decode_secret, format_signature, mac

HINT_BODY_LIMIT: Final = 64 * 1024
PREFIX_BODY_CHARS: Final = 80
MAX_SHOWN_SIGNATURES: Final = 10
DAY: Final = 86_400
_TIMESTAMP_NUDGE: Final = 5


@dataclass(frozen=True)
class Diagnosis:
    """Why a signature or timestamp was refused, with what to compare."""

    signed_content_prefix: str
    expected: tuple[str, ...]
    received: tuple[str, ...]
    skew_seconds: int
    hints: tuple[str, ...]


class Key:
    """A configured secret: the decoded HMAC key and a masked label, never the text."""

    __slots__ = ("_text", "label", "raw")

    def __init__(self, secret: str) -> None:
        self._text = secret.strip()
        self.raw = decode_secret(self._text)
        self.label = mask(self._text)

    def __repr__(self) -> str:
        return f"Key({self.label!r})"

    def mistaken_keys(self) -> Iterator[tuple[str, bytes]]:
        """The keys a sender gets by not base64-decoding, each with a description."""
        if self._text.startswith(SECRET_PREFIX):
            yield "the whole secret text (whsec_ included)", self._text.encode("utf-8")
            payload = self._text.removeprefix(SECRET_PREFIX)
            yield "the text after whsec_ (not base64-decoded)", payload.encode("utf-8")
        else:
            yield "the secret text (not base64-decoded)", self._text.encode("utf-8")


def show(text: str, limit: int = 40) -> str:
    """``text`` fit for one line of a message: non-printables escaped, cut with "…"."""
    cut = len(text) > limit
    escaped = "".join(c if c.isprintable() else _escape(c) for c in text[:limit])
    return escaped + ("…" if cut else "")


def _escape(char: str) -> str:
    return repr(char)[1:-1]  # "\n", "\x00", "\u200b", "\ud800"


def signed_content_prefix(msg_id: str, timestamp: str, body: bytes) -> str:
    """``id.timestamp.`` and the start of the body as received, escaped."""
    # 5 bytes per character is more than enough: any 400 bytes decode to ≥ 100 characters,
    # so a longer body is always shown cut, with "…".
    head = body[: PREFIX_BODY_CHARS * 5].decode("utf-8", "backslashreplace")
    return f"{msg_id}.{timestamp}.{show(head, PREFIX_BODY_CHARS)}"


def diagnose(
    keys: Sequence[Key],
    msg_id: str,
    timestamp: str,
    body: bytes,
    received: Sequence[tuple[str, bytes]],
    skew: int,
    hints: Sequence[str],
) -> Diagnosis:
    """Assemble a :class:`Diagnosis`; ``received`` is ``(base64 text, bytes)`` per v1 entry."""
    expected = tuple(
        f"{key.label} → {format_signature(mac(key.raw, msg_id, timestamp, body))}" for key in keys
    )
    return Diagnosis(
        signed_content_prefix=signed_content_prefix(msg_id, timestamp, body),
        expected=expected,
        received=tuple(f"v1,{show(text, 100)}" for text, _ in received[:MAX_SHOWN_SIGNATURES]),
        skew_seconds=skew,
        hints=tuple(hints),
    )


def timestamp_hints(skew: int, tolerance: int, signature_valid_with: str | None) -> list[str]:
    """Hints for a timestamp outside tolerance (``skew`` = timestamp − now)."""
    if skew < 0:
        hints = [
            f"the delivery was signed {-skew} s ago: the sender's clock is {-skew} s behind "
            f"ours, or the delivery was delayed or replayed (tolerance is {tolerance} s)"
        ]
    else:
        hints = [
            f"the sender's clock is {skew} s ahead of ours (tolerance is {tolerance} s); "
            "check that both clocks are synchronised (NTP)"
        ]
    if abs(skew) > DAY:
        hints.append(
            "the skew is more than a day: check the sender's clock, and that "
            "webhook-timestamp is in Unix seconds (not milliseconds or another unit)"
        )
    if signature_valid_with is not None:
        hints.append(
            f"the signature itself is valid with secret {signature_valid_with}: "
            "only the time is wrong"
        )
    else:
        hints.append("the signature does not match any configured secret either")
    return hints


def signature_hints(
    keys: Sequence[Key],
    msg_id: str,
    timestamp: str,
    body: bytes,
    received: Sequence[tuple[str, bytes]],
) -> list[str]:
    """Hints for a signature that no configured secret produces."""
    sigs = [raw for _, raw in received]

    def signed_by(key: bytes, ts: str = timestamp, content: bytes = body) -> bool:
        computed = mac(key, msg_id, ts, content)
        return any(hmac.compare_digest(computed, sig) for sig in sigs)

    hints: list[str] = []
    for key in keys:
        for description, mistaken in key.mistaken_keys():
            if signed_by(mistaken):
                hints.append(
                    f"the sender used {description} of secret {key.label} as the HMAC key; "
                    "the key must be the base64-decoded bytes of the part after whsec_"
                )
        expected_hex = mac(key.raw, msg_id, timestamp, body).hex()
        if any(text.lower() == expected_hex for text, _ in received):
            hints.append(
                f"the signature is the hex digest for secret {key.label}; "
                "Standard Webhooks wants the 32 MAC bytes in standard base64"
            )
    if len(body) <= HINT_BODY_LIMIT:
        for description, content in _body_variants(body):
            for key in keys:
                if signed_by(key.raw, content=content):
                    hints.append(
                        f"the signature matches the body {description} (secret {key.label}): "
                        "the sender signed a different serialisation than it sent; it must "
                        "sign the exact bytes it sends"
                    )
        for description, ts in _timestamp_variants(timestamp):
            for key in keys:
                if signed_by(key.raw, ts=ts):
                    hints.append(
                        f"the signature matches timestamp {ts} ({description}, secret "
                        f"{key.label}) but webhook-timestamp says {timestamp}: the sender must "
                        "sign the same timestamp it sends"
                    )
    if hints:
        return hints
    if sigs and all(len(sig) != 32 for sig in sigs):
        lengths = ", ".join(str(n) for n in sorted({len(sig) for sig in sigs}))
        return [
            f"the received signature decodes to {lengths} bytes; "
            "an HMAC-SHA256 is 32 bytes (44 base64 characters)"
        ]
    return [
        "no configured secret produces this signature: the sender probably uses a "
        "different secret (check the endpoint's secret, or whether it was rotated)"
    ]


def _body_variants(body: bytes) -> Iterator[tuple[str, bytes]]:
    seen = {body}
    candidates: list[tuple[str, bytes]] = []
    parsed = _json(body)
    if parsed is not None:
        obj = parsed[0]
        for description, options in (
            ("re-serialised compactly (no spaces)", {"separators": (",", ":")}),
            ("re-serialised with json.dumps defaults", {}),
            ("re-serialised with sorted keys", {"separators": (",", ":"), "sort_keys": True}),
            ("re-serialised with sorted keys and spaces", {"sort_keys": True}),
        ):
            try:
                candidates.append((description, json.dumps(obj, **options).encode("utf-8")))
            except (ValueError, RecursionError):  # nested too deeply to re-serialise
                break
    candidates.append(("without its trailing newline", body.rstrip(b"\r\n")))
    candidates.append(("with a trailing newline", body + b"\n"))
    for description, content in candidates:
        if content not in seen:
            seen.add(content)
            yield description, content


def _timestamp_variants(timestamp: str) -> Iterator[tuple[str, str]]:
    value = int(timestamp)
    for delta in range(-_TIMESTAMP_NUDGE, _TIMESTAMP_NUDGE + 1):
        if delta:
            yield f"{delta:+d} s", str(value + delta)
    yield "in milliseconds", str(value * 1000)


def _json(body: bytes) -> tuple[Any] | None:
    try:
        return (json.loads(body.decode("utf-8")),)
    except (ValueError, RecursionError):
        return None
