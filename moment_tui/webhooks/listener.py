"""The webhook listener: receive, verify, store durably, then answer.

For every POST to the listener's path: read at most ``max_body + 1`` bytes, judge
the delivery with :class:`~moment_tui.webhooks.verify.Verifier`, commit it to the
event log (the store marks a second verified copy of a ``webhook-id`` as a
duplicate), and only then answer — 200 for verified and duplicate deliveries, the
verdict's 4xx with a JSON reason otherwise. If the delivery cannot be stored the
answer is 503 with ``Retry-After``, so the sender tries again; nothing is ever
acknowledged that is not on disk. After answering, ``on_delivery`` is called with
the stored :class:`~moment_tui.store.eventlog.Delivery`.

Two verdicts are the listener's own, about the HTTP request rather than the webhook
(:class:`Refusal`): a body that could not be read to its end (``body_unreadable``,
400: the sender hung up, broke its chunked encoding or stalled; what arrived is kept;
503 with ``Retry-After`` when the listener's own stop cut it short), and a
body sent with a ``Content-Encoding`` (``unsupported_encoding``, 415). aiohttp is told
not to decompress (``auto_decompress=False``), so the bytes judged are the bytes
received: Standard Webhooks signs the body as sent and Moment sends plain JSON, so a
compressed body was changed on the way (a proxy) or by a sender that is not Moment's.
Header lines may be up to :data:`MAX_HEADER_BYTES` long, so an oversized
``webhook-signature`` gets a verdict like any other; a request aiohttp cannot parse at
all (beyond that limit, or not HTTP) is answered by aiohttp's plain-text 400, never
reaches the event log, and is logged as one warning line without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from moment_tui.config import DEFAULT_LISTEN_PATH
from moment_tui.store.catalogue import now_iso
from moment_tui.store.eventlog import Delivery, Incoming
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.verify import Reason, Verification, Verifier

log = logging.getLogger(__name__)

STORED_BODY_LIMIT: Final = 64 * 1024  # of an over-size body, this much is kept
# Of the other headers (the webhook-* ones are kept whole: a verdict is about them),
# each value is kept up to this many characters, and all of them up to the budget:
# headers may be 64 KiB a line, and a rejected delivery must not cost megabytes.
STORED_HEADER_VALUE: Final = 2048
STORED_HEADERS_BUDGET: Final = 16 * 1024
_READ_CHUNK: Final = 64 * 1024
MAX_HEADER_BYTES: Final = 64 * 1024  # one header line (name and value), or the request line
_IDENTITY: Final = frozenset({"", "identity"})


class Refusal(StrEnum):
    """The listener's own reasons: the HTTP request, not the webhook, is at fault."""

    BODY_UNREADABLE = "body_unreadable"
    UNSUPPORTED_ENCODING = "unsupported_encoding"


REFUSAL_STATUS: Final = {Refusal.BODY_UNREADABLE: 400, Refusal.UNSUPPORTED_ENCODING: 415}


class _OneLineRequestErrors(logging.Filter):
    """aiohttp logs a request it cannot parse (a header over the limit, not HTTP, a
    broken chunk) at ERROR with a traceback; that is the sender's mistake, not ours,
    so it becomes one WARNING line. Any other error keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError | RequestPayloadError):
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {_one_line(exc)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_http_log = logging.getLogger(f"{__name__}.http")
_http_log.addFilter(_OneLineRequestErrors())


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:200]


@dataclass(frozen=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    path: str = DEFAULT_LISTEN_PATH
    # A body that has not fully arrived this long after its headers is judged on what
    # did (body_unreadable), so a stalled sender cannot hold a request open forever.
    body_timeout: float = 30.0


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers=headers,
    )


def incoming_from(
    verification: Verification,
    headers: dict[str, str],
    body: bytes,
    body_size: int,
    *,
    remote: str | None,
    received_at: str,
) -> Incoming:
    """What the event log keeps of one judged delivery."""
    data = verification.amount_applied
    event = verification.event
    return Incoming(
        received_at=received_at,
        remote=remote,
        headers=stored_headers(headers),
        body=body[:STORED_BODY_LIMIT] if not verification.ok else body,
        body_size=body_size,
        verified=verification.ok,
        reason=verification.reason.value if verification.reason else None,
        message=verification.message,
        status=verification.status,
        webhook_id=verification.webhook_id or _header(headers, "webhook-id"),
        event_id=event.id if event else None,
        event_type=event.type if event else None,
        amount=data.amount if data else None,
        currency=data.currency if data else None,
        customer_id=data.customer_id if data else None,
        account_id=data.account_id if data else None,
        bill_id=data.bill_id if data else None,
        matched_secret=verification.matched_secret_label,
        secret_index=verification.matched_secret,
        diagnosis=asdict(verification.diagnosis) if verification.diagnosis else None,
    )


def stored_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as the event log keeps them: ``webhook-*`` whole, the others cut to
    :data:`STORED_HEADER_VALUE` characters each and :data:`STORED_HEADERS_BUDGET` in
    all (a cut value says how much was left out)."""
    kept: dict[str, str] = {}
    budget = STORED_HEADERS_BUDGET
    for name, value in headers.items():
        if name.lower().startswith("webhook-"):
            kept[name] = value
            continue
        room = max(0, min(STORED_HEADER_VALUE, budget - len(name)))
        if len(value) > room:
            value = f"{value[:room]}… ({len(value) - room} more characters not kept)"
        kept[name] = value
        budget = max(0, budget - len(name) - min(len(value), room))
    return kept


def refused(incoming: Incoming, reason: Refusal, message: str) -> Incoming:
    """``incoming`` rejected for ``reason``: what the body said is not trusted, but
    which secret its signature matched (if any) is kept, as for ``body_not_json``."""
    return replace(
        incoming,
        body=incoming.body[:STORED_BODY_LIMIT],
        verified=False,
        reason=reason.value,
        message=message,
        status=REFUSAL_STATUS[reason],
        event_id=None,
        event_type=None,
        amount=None,
        currency=None,
        customer_id=None,
        account_id=None,
        bill_id=None,
        diagnosis=None,
    )


def content_coding(request: web.Request) -> str | None:
    """The request's ``Content-Encoding`` when it is anything but identity."""
    values = request.headers.getall("Content-Encoding", ())
    if not values:  # nearly every delivery: no generator, no list
        return None
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    if all(c in _IDENTITY for c in codings):
        return None
    return ", ".join(v.strip() for v in values)[:100]


def _header(headers: dict[str, str], name: str) -> str | None:
    """A raw header's text for the event log. Bytes that were not UTF-8 arrive as
    surrogate escapes, which SQLite cannot store: they are kept as ``\\udcff`` text,
    so such a delivery is rejected and kept like any other, not answered 503."""
    for key, value in headers.items():
        if key.lower() == name:
            return value[:255].encode("utf-8", "backslashreplace").decode("utf-8")
    return None


@dataclass(frozen=True)
class _Body:
    """What :meth:`Listener._read` got: ``data`` (at most the limit + a chunk); the
    body's ``size``, ``exact`` when read to its end or declared by Content-Length; and
    ``broken``, why it could not be read to its end (None when it could); ``stopped``
    when that was because the listener was stopping."""

    data: bytes
    size: int
    exact: bool
    broken: str | None = None
    stopped: bool = False


class Listener:
    """An aiohttp server with ``start()``/``close()``, usable inside any asyncio loop."""

    def __init__(
        self,
        config: ListenerConfig,
        verifier: Verifier,
        workspace: Workspace,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.config = config
        self.verifier = verifier
        self.workspace = workspace
        self.on_delivery = on_delivery
        self._runner: web.AppRunner | None = None
        self._reading: set[asyncio.Timeout] = set()  # the body timers of reads under way
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.url = ""
        self.received = 0

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.verifier.max_body_bytes + 1)
        app.router.add_post(self.config.path, self.receive)
        app.router.add_route("*", self.config.path, self._wrong_method)
        app.router.add_route("*", "/{tail:.*}", self._wrong_path)
        return app

    async def start(self) -> str:
        self._loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            handle_signals=False,
            logger=_http_log,
            auto_decompress=False,  # judge (and keep) the bytes as they were sent
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, backlog=1024)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        host = f"[{host}]" if ":" in host else host
        self.url = f"http://{host}:{port}{self.config.path}"
        return self.url

    async def close(self) -> None:
        # A body still arriving is not waited for (up to body_timeout): its read ends
        # now, and what did arrive is judged, kept and answered like any stalled body.
        self._stopping = True
        for reading in list(self._reading):
            with contextlib.suppress(RuntimeError):  # (one that has just expired)
                reading.reschedule(asyncio.get_running_loop().time())
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def receive(self, request: web.Request) -> web.Response:
        received_at = now_iso()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers.setdefault(name, value)  # a repeated header: the first one counts
        incoming = self._judge(request, headers, await self._read(request), received_at)
        try:
            delivery = await self.workspace.record(incoming, self._loop)
        except Exception as exc:
            if isinstance(exc, sqlite3.OperationalError):  # locked, disk full: one line
                log.error("could not store a delivery (answered 503): %s", _one_line(exc))
            else:  # a bug: its traceback is what a report needs
                log.exception("could not store a delivery")
            return _json(
                503,
                {"verdict": "error", "message": "the delivery could not be stored; retry"},
                {"Retry-After": "5"},
            )
        self.received += 1
        if self.on_delivery is not None:
            (self._loop or asyncio.get_running_loop()).call_soon(self.on_delivery, delivery)
        answer: dict[str, Any] = {"verdict": delivery.verdict, "webhook_id": delivery.webhook_id}
        if delivery.verdict != "verified":
            answer.update(reason=delivery.reason, message=delivery.message)
        # RFC 9110 §15.5.16: a 415 for a content coding says which codings would do.
        extra = (
            {"Accept-Encoding": "identity"}
            if delivery.reason == Refusal.UNSUPPORTED_ENCODING
            else None
        )
        if delivery.status == 503:
            extra = {"Retry-After": "5"}
        return _json(200 if delivery.verdict != "rejected" else delivery.status, answer, extra)

    def _judge(
        self, request: web.Request, headers: dict[str, str], read: _Body, received_at: str
    ) -> Incoming:
        """The verifier's verdict, unless the request itself is at fault: a body that
        could not be read, else one sent encoded (an over-size body is 413 either way)."""
        verification = self.verifier.verify(headers, read.data)
        too_large = read.broken is None and verification.reason is Reason.BODY_TOO_LARGE
        if too_large:
            # The verifier saw only the head we read; say how big the body really is.
            limit = self.verifier.max_body_bytes
            verification = replace(
                verification,
                message=f"the body is {read.size} bytes; the limit is {limit} bytes"
                if read.exact
                else f"the body is larger than the limit of {limit} bytes",
            )
        incoming = incoming_from(
            verification,
            headers,
            read.data,
            read.size,
            remote=request.remote,
            received_at=received_at,
        )
        if read.broken is not None:
            log.info("delivery from %s kept as body_unreadable: %s", request.remote, read.broken)
            cut = refused(incoming, Refusal.BODY_UNREADABLE, read.broken)
            # Cut short by our own stop, not the sender's fault: 503, so it is sent again.
            return replace(cut, status=503) if read.stopped else cut
        coding = content_coding(request)
        if coding is not None and not too_large:
            message = _encoding_message(coding, verification)
            return refused(incoming, Refusal.UNSUPPORTED_ENCODING, message)
        return incoming

    async def _read(self, request: web.Request) -> _Body:
        """The body, or its first ``max + 1`` (or more) bytes when it is too large; or,
        when it cannot be read to its end, what did arrive and why not."""
        limit = self.verifier.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        ended = stopped = False
        broken: str | None = None
        timeout = self.config.body_timeout
        timer = asyncio.timeout(timeout)  # one timer for the whole body
        self._reading.add(timer)
        try:
            async with timer:
                if self._stopping:
                    timer.reschedule(asyncio.get_running_loop().time())
                while size <= limit:
                    try:
                        chunk = await request.content.read(_READ_CHUNK)
                    except (ConnectionError, RequestPayloadError, HttpProcessingError) as exc:
                        # ConnectionResetError: the sender hung up (aiohttp's C parser
                        # also leaves a broken chunk to end this way); the pure-Python
                        # parser raises TransferEncodingError and the like for one.
                        broken = _broken_message(exc, size, request.content_length)
                        break
                    if not chunk:
                        ended = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except TimeoutError:
            stopped = self._stopping
            broken = (
                f"the listener was stopping before the body arrived ({size} bytes of it did);"
                " answered 503 so that it is sent again"
                if stopped
                else f"the body did not arrive within {timeout:g} s ({size} bytes of it did)"
            )
        finally:
            self._reading.discard(timer)
        data = b"".join(chunks)
        declared = request.content_length
        if broken is None and declared is not None and declared >= size:
            return _Body(data, declared, exact=True)
        return _Body(data, size, exact=ended, broken=broken, stopped=stopped)

    async def _wrong_method(self, request: web.Request) -> web.Response:
        return _json(
            405,
            {"error": f"{request.method} is not accepted here; Moment POSTs webhooks"},
            {"Allow": "POST"},
        )

    async def _wrong_path(self, request: web.Request) -> web.Response:
        return _json(404, {"error": f"webhooks are received at {self.config.path}"})


def _broken_message(exc: BaseException, size: int, declared: int | None) -> str:
    if isinstance(exc, ConnectionError):
        of = f" of {declared}" if declared is not None else ""
        return f"the sender closed the connection after {size}{of} bytes of the body"
    return f"the body could not be read past its first {size} bytes: {_one_line(exc)}"


def _encoding_message(coding: str, verification: Verification) -> str:
    matched = verification.matched_secret is not None
    return (
        f"the body was sent with Content-Encoding: {coding}; webhooks are judged as sent, "
        "not decoded, so send them uncompressed"
        + (" (its signature does match the encoded bytes)" if matched else "")
    )
