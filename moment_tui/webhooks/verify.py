"""Verify a webhook delivery: one :class:`Verification` for any input, never an exception.

Checks run in this order, and the first failure is the verdict (reference §15.3, §16):

1. body size (``BODY_TOO_LARGE``, 413);
2. ``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` present and non-empty,
   names matched case-insensitively (``MISSING_HEADER``, 400);
3. the id has no ``.``, whitespace or control characters and ≤ 255 characters
   (``MALFORMED_ID``, 400);
4. the timestamp is 1–12 ASCII digits (``MALFORMED_TIMESTAMP``, 400);
5. the signature header holds at least one ``v1,<base64>`` entry; other versions and
   junk beside it are ignored (``MALFORMED_SIGNATURE``, 400);
6. a secret is configured (``NO_SECRET``, 401);
7. the timestamp is within tolerance either way (``TIMESTAMP_TOO_OLD``/``_NEW``, 401);
   the signature is still checked, and the hints say whether it was right (only the
   time is off) or, if not, what is wrong with it, as for step 8;
8. some received ``v1`` equals the signature under some configured secret, compared
   in constant time (``NO_MATCHING_SIGNATURE``, 401);
9. the body is UTF-8 JSON (``BODY_NOT_JSON``, 400) shaped as an event ``{id, type,
   data}``, and an ``obligation.amount_applied`` has a valid ``data``
   (``NOT_AN_EVENT``, 400).

:meth:`Verifier.check_signature` stops after step 8, for bodies that need not be
Moment events. A rejection after step 8 keeps ``matched_secret``: the signature was
good, the body was not.

The expected signature is computed by the ``standardwebhooks`` package: one
``Webhook`` per configured secret, built once from the decoded key, whose
``Webhook.sign`` gives the ``v1`` signature. That is done only where the package signs
exactly what was received, the header texts and the raw body bytes: a UTF-8 body and a
canonical timestamp text (:func:`moment_tui.webhooks.signing.library_input`). Otherwise
(a body that is not UTF-8, a timestamp like ``0123``) the same HMAC is computed over the
bytes as received (:func:`moment_tui.webhooks.signing.mac`). Everything around it is
ours: parsing, the tolerance, which secret matched, verdicts and diagnosis; we do not
call ``Webhook.verify`` (it raises on a malformed entry, has a fixed 5-minute tolerance,
cannot say which secret matched, and reads ``0123`` as ``123``).
"""

from __future__ import annotations

import hmac
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from standardwebhooks import Webhook

from moment_tui.api.models import AmountAppliedData, EventEnvelope
from moment_tui.config import DEFAULT_MAX_BODY, DEFAULT_TOLERANCE
from moment_tui.secrets import Secret
from moment_tui.webhooks import diagnose
from moment_tui.webhooks.diagnose import Diagnosis, Key
from moment_tui.webhooks.events import BodyProblem, parse_event
from moment_tui.webhooks.headers import (
    SignatureHeader,
    find_headers,
    id_problem,
    missing_problem,
    parse_signature_header,
    timestamp_problem,
)
from moment_tui.webhooks.signing import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    library_input,
    library_mac,
    mac,
)

__all__ = [
    "Diagnosis",
    "Reason",
    "SignatureHeader",
    "Verification",
    "Verifier",
    "parse_signature_header",
]


class Reason(StrEnum):
    MISSING_HEADER = "missing_header"
    MALFORMED_ID = "malformed_id"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    MALFORMED_SIGNATURE = "malformed_signature"
    NO_SECRET = "no_secret_configured"  # noqa: S105 - a reason, not a secret
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_TOO_NEW = "timestamp_too_new"
    NO_MATCHING_SIGNATURE = "no_matching_signature"
    BODY_TOO_LARGE = "body_too_large"
    BODY_NOT_JSON = "body_not_json"
    NOT_AN_EVENT = "not_an_event"


STATUS: Final[Mapping[Reason, int]] = {
    Reason.BODY_TOO_LARGE: 413,
    Reason.MISSING_HEADER: 400,
    Reason.MALFORMED_ID: 400,
    Reason.MALFORMED_TIMESTAMP: 400,
    Reason.MALFORMED_SIGNATURE: 400,
    Reason.NO_SECRET: 401,
    Reason.TIMESTAMP_TOO_OLD: 401,
    Reason.TIMESTAMP_TOO_NEW: 401,
    Reason.NO_MATCHING_SIGNATURE: 401,
    Reason.BODY_NOT_JSON: 400,
    Reason.NOT_AN_EVENT: 400,
}


@dataclass(frozen=True)
class Verification:
    """The verdict on one delivery; ``status`` is the HTTP status to answer."""

    ok: bool
    reason: Reason | None
    message: str
    status: int
    webhook_id: str | None = None
    timestamp: int | None = None
    matched_secret: int | None = None
    matched_secret_label: str | None = None
    event: EventEnvelope | None = None
    amount_applied: AmountAppliedData | None = None
    diagnosis: Diagnosis | None = None


class Verifier:
    """Checks deliveries against the configured secrets (several during a rotation)."""

    def __init__(
        self,
        secrets: Sequence[str | Secret],
        *,
        tolerance_seconds: int = DEFAULT_TOLERANCE,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Raises ``SecretFormatError`` for a secret that is not ``whsec_<base64>``."""
        if tolerance_seconds < 0 or max_body_bytes < 0:
            raise ValueError("tolerance_seconds and max_body_bytes cannot be negative")
        self._keys = tuple(
            Key(s.reveal() if isinstance(s, Secret) else s)
            for s in ([secrets] if isinstance(secrets, str) else secrets)
        )
        # Masked labels show three characters: two secrets may look alike. Then each
        # says which it is (#2 = the second configured), so "matched" is never ambiguous.
        looks = Counter(key.label for key in self._keys)
        for number, key in enumerate(self._keys, 1):
            if looks[key.label] > 1:
                key.label = f"{key.label} (#{number})"
        # One package signer per secret, from the already decoded key (no re-decoding).
        self._webhooks = tuple(Webhook(key.raw) for key in self._keys)
        self.tolerance_seconds = tolerance_seconds
        self.max_body_bytes = max_body_bytes
        self._clock = clock

    @property
    def secret_labels(self) -> tuple[str, ...]:
        return tuple(key.label for key in self._keys)

    def __repr__(self) -> str:
        return (
            f"Verifier(secrets={list(self.secret_labels)!r}, "
            f"tolerance_seconds={self.tolerance_seconds}, max_body_bytes={self.max_body_bytes})"
        )

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verification:
        """Every check, signature and event shape; never raises."""
        verdict = self.check_signature(headers, body)
        if not verdict.ok:
            return verdict
        parsed = parse_event(body)
        if isinstance(parsed, BodyProblem):
            reason = Reason.BODY_NOT_JSON if parsed.not_json else Reason.NOT_AN_EVENT
            return replace(
                verdict, ok=False, reason=reason, message=parsed.message, status=STATUS[reason]
            )
        # Built afresh rather than with dataclasses.replace: this is every good delivery.
        return Verification(
            ok=True,
            reason=None,
            message=verdict.message,
            status=verdict.status,
            webhook_id=verdict.webhook_id,
            timestamp=verdict.timestamp,
            matched_secret=verdict.matched_secret,
            matched_secret_label=verdict.matched_secret_label,
            event=parsed.event,
            amount_applied=parsed.amount_applied,
        )

    def check_signature(self, headers: Mapping[str, str], body: bytes) -> Verification:
        """Checks 1–8 only (size, headers, timestamp, signature): any body is fine.

        For payloads that need not be Moment events (the Standard Webhooks test
        vector, other products' events being forwarded); never raises.
        """
        if len(body) > self.max_body_bytes:
            return _reject(
                Reason.BODY_TOO_LARGE,
                f"the body is {len(body)} bytes; the limit is {self.max_body_bytes} bytes",
            )
        found = find_headers(headers)
        if problem := missing_problem(found):
            return _reject(Reason.MISSING_HEADER, problem)
        msg_id, ts_text = found[HEADER_ID], found[HEADER_TIMESTAMP]
        if problem := id_problem(msg_id):
            return _reject(Reason.MALFORMED_ID, problem)
        if problem := timestamp_problem(ts_text):
            return _reject(Reason.MALFORMED_TIMESTAMP, problem, _Known(msg_id))
        ts = int(ts_text)
        known = _Known(msg_id, ts)
        signatures = parse_signature_header(found[HEADER_SIGNATURE])
        if signatures.problem is not None:
            return _reject(Reason.MALFORMED_SIGNATURE, signatures.problem, known)
        if not self._keys:
            return _reject(
                Reason.NO_SECRET,
                "no webhook signing secret is configured: set MOMENT_WEBHOOK_SECRET "
                "or run `moment-tui login`",
                known,
            )
        matched = self._match(msg_id, ts_text, body, signatures.v1)
        skew = _skew(ts - self._clock())
        if abs(skew) > self.tolerance_seconds:
            old = skew < 0
            label = self._keys[matched].label if matched is not None else None
            hints = diagnose.timestamp_hints(skew, self.tolerance_seconds, label)
            if matched is None:  # two problems: say what is wrong with the signature too
                hints += diagnose.signature_hints(self._keys, msg_id, ts_text, body, signatures.v1)
            return _reject(
                Reason.TIMESTAMP_TOO_OLD if old else Reason.TIMESTAMP_TOO_NEW,
                f"webhook-timestamp is {abs(skew)} s {'old' if old else 'in the future'}; "
                f"tolerance is {self.tolerance_seconds} s",
                known,
                diagnosis=self._diagnosis(msg_id, ts_text, body, signatures, skew, hints),
            )
        if matched is None:
            hints = diagnose.signature_hints(self._keys, msg_id, ts_text, body, signatures.v1)
            count = len(self._keys)
            return _reject(
                Reason.NO_MATCHING_SIGNATURE,
                f"no v1 signature in webhook-signature matches the {count} configured "
                f"secret{'s' if count > 1 else ''}",
                known,
                diagnosis=self._diagnosis(msg_id, ts_text, body, signatures, skew, hints),
            )
        label = self._keys[matched].label
        return Verification(
            ok=True,
            reason=None,
            message=f"verified with secret {label}",
            status=200,
            webhook_id=msg_id,
            timestamp=ts,
            matched_secret=matched,
            matched_secret_label=label,
        )

    def _match(
        self, msg_id: str, ts_text: str, body: bytes, received: Sequence[tuple[str, bytes]]
    ) -> int | None:
        """Index of the first secret whose signature is among ``received``, else None."""
        prepared = library_input(ts_text, body)  # once per delivery, not per secret
        for index, (key, webhook) in enumerate(zip(self._keys, self._webhooks, strict=True)):
            if prepared is None:  # the package would not sign these exact bytes
                expected = mac(key.raw, msg_id, ts_text, body)
            else:
                expected = library_mac(webhook, msg_id, *prepared)
            # Every entry is compared (no early exit inside one secret's comparisons).
            hits = [hmac.compare_digest(expected, raw) for _, raw in received]
            if any(hits):
                return index
        return None

    def _diagnosis(
        self,
        msg_id: str,
        ts_text: str,
        body: bytes,
        signatures: SignatureHeader,
        skew: int,
        hints: Sequence[str],
    ) -> Diagnosis:
        return diagnose.diagnose(self._keys, msg_id, ts_text, body, signatures.v1, skew, hints)


@dataclass(frozen=True)
class _Known:
    """What has been established about a delivery when it is rejected."""

    webhook_id: str | None = None
    timestamp: int | None = None


def _reject(
    reason: Reason, message: str, known: _Known = _Known(), *, diagnosis: Diagnosis | None = None
) -> Verification:
    return Verification(
        ok=False,
        reason=reason,
        message=message,
        status=STATUS[reason],
        webhook_id=known.webhook_id,
        timestamp=known.timestamp,
        diagnosis=diagnosis,
    )


def _skew(seconds: float) -> int:
    """Whole seconds, rounded away from zero so that 180.5 s counts as 181."""
    return math.ceil(seconds) if seconds > 0 else math.floor(seconds)
