"""Sending signed deliveries: ``trigger``, ``events replay`` and ``listen --forward-to``.

Each send signs the exact body bytes with fresh Standard Webhooks headers (a retry or
replay keeps its ``webhook-id`` but gets a new timestamp, as Moment's retries do);
:func:`send_as_received` instead re-sends a stored delivery with its own headers.
``tamper`` alters the body after signing and ``stale`` back-dates the timestamp, for
drilling a handler's rejections.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from moment_tui.api.models import AMOUNT_APPLIED
from moment_tui.sandbox.ids import new_id
from moment_tui.webhooks.signing import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    signed_headers,
)

SEND_TIMEOUT: Final = 15.0  # seconds for a handler to answer one delivery
STALE_SECONDS: Final = 600  # well past Moment's 3 and Standard Webhooks' 5 minutes
EXCERPT: Final = 300


@dataclass(frozen=True)
class SendResult:
    webhook_id: str
    status: int | None
    latency_ms: float
    response: str | None = None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_json(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "status": self.status,
            "accepted": self.accepted,
            "latency_ms": round(self.latency_ms, 2),
            "response": self.response,
            "error": self.error,
        }


def amount_applied_event(
    amount: int,
    currency: str,
    *,
    customer_id: str | None = None,
    account_id: str | None = None,
    bill_id: str | None = None,
    metadata: dict[str, str] | None = None,
) -> bytes:
    """A Moment-shaped ``obligation.amount_applied`` body (compact JSON bytes)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data: dict[str, Any] = {
        "id": new_id("obligation"),
        "amount": amount,
        "currency": currency,
        "payment_id": new_id("payment"),
    }
    for name, value in (("customer_id", customer_id), ("account_id", account_id)):
        if value:
            data[name] = value
    if bill_id:
        data["bill_id"] = bill_id
    data.update(metadata=metadata or {}, created_at=now, updated_at=now)
    event = {"id": new_id("event"), "type": AMOUNT_APPLIED, "data": data}
    return json.dumps(event, separators=(",", ":")).encode()


def tampered(body: bytes) -> bytes:
    """The same body with one character changed after signing."""
    if b'"amount":' in body:
        head, _, tail = body.partition(b'"amount":')
        digits = tail[: len(tail) - len(tail.lstrip(b"0123456789"))]
        if digits:
            return head + b'"amount":' + str(int(digits) + 1).encode() + tail[len(digits) :]
    return body + b" "


def _reason(exc: BaseException) -> str:
    """``OverflowError: connect(): port must be 0-65535``, not "unhandled errors in a
    TaskGroup" (anyio wraps connection failures in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


async def send(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    secrets: Sequence[str],
    webhook_id: str,
    *,
    tamper: bool = False,
    stale: bool = False,
) -> SendResult:
    """POST one signed delivery; never raises for network trouble."""
    timestamp = int(time.time()) - (STALE_SECONDS if stale else 0)
    headers = signed_headers(secrets, webhook_id, body, timestamp=timestamp)
    return await _post(http, url, tampered(body) if tamper else body, headers, webhook_id)


# What a delivery sent as received carries over: the Standard Webhooks headers, the
# content type and encoding (a gzip body is stored as it came, still compressed).
# Transport headers (Host, Content-Length, …) are the new request's.
_AS_RECEIVED: Final = frozenset(
    {HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE, "content-type", "content-encoding"}
)


async def send_as_received(
    http: httpx.AsyncClient, url: str, body: bytes, received: Mapping[str, str]
) -> SendResult:
    """POST a stored delivery exactly as it arrived: its own ``webhook-*`` headers and
    body bytes, signed by nobody here. Replaying a rejected delivery this way shows a
    handler the same fault; it can never turn a forgery into a good signature."""
    headers = {k.lower(): v for k, v in received.items() if k.lower() in _AS_RECEIVED}
    return await _post(http, url, body, headers, headers.get(HEADER_ID, ""))


async def _post(
    http: httpx.AsyncClient, url: str, payload: bytes, headers: dict[str, str], webhook_id: str
) -> SendResult:
    headers["user-agent"] = "moment-tui"
    started = time.perf_counter()
    try:
        response = await http.post(url, content=payload, headers=headers)
    except Exception as exc:  # network trouble and unusable addresses become a result
        latency = (time.perf_counter() - started) * 1000
        return SendResult(webhook_id, None, latency, error=_reason(exc))
    latency = (time.perf_counter() - started) * 1000
    return SendResult(webhook_id, response.status_code, latency, response.text[:EXCERPT])
