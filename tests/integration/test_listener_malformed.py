"""Requests that are broken as HTTP, not as webhooks, over raw sockets to a real listener.

Each one must get a verdict with a reason (never a 500, never aiohttp's own plain-text
answer) and be kept in the event log — a body sent with a ``Content-Encoding``, a
header too long for aiohttp's defaults, a sender that hangs up or breaks its chunked
encoding mid-body — and none of it may log a traceback. Only a request aiohttp cannot
parse at all (a header line over :data:`MAX_HEADER_BYTES`) is answered by aiohttp; it
is logged as one warning line.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import sqlite3
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import http_parser, web_protocol

from moment_tui.webhooks.listener import (
    MAX_HEADER_BYTES,
    STORED_HEADER_VALUE,
    STORED_HEADERS_BUDGET,
    Listener,
)
from moment_tui.webhooks.signing import signed_headers

from .pipeline_helpers import (
    B_BODY,
    B_ID,
    B_LABEL,
    B_SECRET,
    B_TS,
    Pipeline,
    b_headers,
    eventually,
    open_pipeline,
)

Start = Callable[..., Awaitable[Pipeline]]
LISTENER_LOGGERS = ("moment_tui", "aiohttp")


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged at INFO and up; afterwards: no ERROR, and no traceback at all."""
    caplog.set_level(logging.INFO)
    yield caplog
    records = [
        *caplog.get_records("setup"),
        *caplog.get_records("call"),
        *caplog.get_records("teardown"),
    ]
    bad = [
        logging.Formatter().format(record)
        for record in records
        if record.name.startswith(LISTENER_LOGGERS)
        and (record.levelno >= logging.ERROR or record.exc_info)
    ]
    assert not bad, "logged an error or a traceback:\n" + "\n".join(bad)


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """``await start(**open_pipeline options)`` on the clock of example B."""
    async with AsyncExitStack() as stack:

        async def go(**options: Any) -> Pipeline:
            options.setdefault("clock", lambda: float(B_TS))
            return await stack.enter_async_context(
                open_pipeline(tmp_path / "workspace.sqlite3", **options)
            )

        yield go


# --- a bare HTTP/1.1 client ----------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self
        return json.loads(self.body)


def head(url: str, headers: Mapping[str, str], length: int | None) -> bytes:
    """A POST's request line and headers, sent as given; chunked when ``length`` is None."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """The answer, read to the end (every request here says ``Connection: close``)."""
    raw = await asyncio.wait_for(reader.read(), 10)
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


async def post(url: str, headers: Mapping[str, str], body: bytes) -> Answer:
    async with connect(url) as (reader, writer):
        writer.write(head(url, headers, len(body)) + body)
        await writer.drain()
        return await read_answer(reader)


def stored(pipe: Pipeline) -> list[sqlite3.Row]:
    return pipe.rows("SELECT * FROM deliveries ORDER BY seq")


def reading_started(pipe: Pipeline, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set once the listener's handler starts reading a body: every byte sent before
    then has been parsed, so what is sent next arrives mid-body."""
    started = asyncio.Event()
    listener: Listener = pipe.listener
    original = listener._read

    async def read(request: Any) -> Any:
        started.set()
        return await original(request)

    monkeypatch.setattr(listener, "_read", read)
    return started


def signed(body: bytes) -> dict[str, str]:
    return signed_headers([B_SECRET], B_ID, body, timestamp=B_TS)


# --- Content-Encoding: judged on the bytes as sent, refused with 415 ---------------------------

GZIPPED = gzip.compress(B_BODY)
DEFLATED = zlib.compress(B_BODY)
ENCODED = [
    # (case, Content-Encoding, body sent, headers signed over, signature matches as sent)
    ("gzip label on a plain body", "gzip", B_BODY, b_headers(), True),
    ("deflate label on a plain body", "deflate", B_BODY, b_headers(), True),
    ("br (aiohttp has no Brotli here)", "br", B_BODY, b_headers(), True),
    ("zstd (nor zstandard)", "zstd", B_BODY, b_headers(), True),
    ("gzipped after signing (a proxy)", "gzip", GZIPPED, b_headers(), False),
    ("gzipped, signed as compressed", "gzip", GZIPPED, signed(GZIPPED), True),
    ("deflated after signing", "deflate", DEFLATED, b_headers(), False),
    ("a list of codings", "identity, GZIP", GZIPPED, b_headers(), False),
]


@pytest.mark.parametrize(
    ("coding", "body", "headers", "matches"),
    [case[1:] for case in ENCODED],
    ids=[case[0] for case in ENCODED],
)
async def test_an_encoded_body_is_415_judged_as_sent_and_kept(
    start: Start, coding: str, body: bytes, headers: dict[str, str], matches: bool
) -> None:
    pipe = await start()
    answer = await post(pipe.url, headers | {"Content-Encoding": coding}, body)
    assert answer.status == 415
    assert answer.headers["accept-encoding"] == "identity"
    message = (
        f"the body was sent with Content-Encoding: {coding}; webhooks are judged as sent, "
        "not decoded, so send them uncompressed"
        + (" (its signature does match the encoded bytes)" if matches else "")
    )
    assert answer.json() == {
        "verdict": "rejected",
        "webhook_id": B_ID,
        "reason": "unsupported_encoding",
        "message": message,
    }
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["status"], row["message"]) == (
        "rejected",
        "unsupported_encoding",
        415,
        message,
    )
    assert bytes(row["body"]) == body  # the bytes as received, not decoded
    assert row["body_size"] == len(body)
    assert row["matched_secret"] == (B_LABEL if matches else None)
    assert (row["event_id"], row["amount"], row["diagnosis"]) == (None, None, None)
    await eventually(lambda: pipe.announced)
    assert pipe.announced[0].reason == "unsupported_encoding"


async def test_repeated_content_encoding_headers_all_count(start: Start) -> None:
    pipe = await start()
    async with connect(pipe.url) as (reader, writer):
        request = head(pipe.url, b_headers(), len(B_BODY)).replace(
            b"\r\n\r\n", b"\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\n\r\n", 1
        )
        writer.write(request + B_BODY)
        answer = await read_answer(reader)
    assert (answer.status, answer.json()["reason"]) == (415, "unsupported_encoding")
    assert answer.json()["message"].startswith(
        "the body was sent with Content-Encoding: identity, gzip;"
    )


@pytest.mark.parametrize("coding", ["identity", "IDENTITY", ""])
async def test_identity_is_no_encoding(start: Start, coding: str) -> None:
    pipe = await start()
    answer = await post(pipe.url, b_headers() | {"Content-Encoding": coding}, B_BODY)
    assert (answer.status, answer.json()) == (200, {"verdict": "verified", "webhook_id": B_ID})
    [row] = stored(pipe)
    assert row["verdict"] == "verified"


async def test_an_oversize_encoded_body_is_413_first(start: Start) -> None:
    pipe = await start(max_body_bytes=100)
    answer = await post(pipe.url, b_headers() | {"Content-Encoding": "gzip"}, GZIPPED)
    assert answer.status == 413
    assert answer.json()["reason"] == "body_too_large"
    assert "accept-encoding" not in answer.headers
    [row] = stored(pipe)
    assert (row["reason"], row["status"], row["body_size"]) == (
        "body_too_large",
        413,
        len(GZIPPED),
    )


# --- long headers: our verdict up to MAX_HEADER_BYTES, aiohttp's 400 beyond ------------------


@pytest.mark.parametrize(
    ("signature", "status", "reason"),
    [
        ("v1," + "A" * 14_000, 401, "no_matching_signature"),  # base64, but no HMAC
        ("v1," + "*" * 14_000, 400, "malformed_signature"),
        ("v1," + "A" * (MAX_HEADER_BYTES - 100), 401, "no_matching_signature"),
    ],
    ids=["14 KB of base64", "14 KB of junk", "just under the limit"],
)
async def test_a_long_signature_header_gets_our_verdict_and_is_kept(
    start: Start, signature: str, status: int, reason: str
) -> None:
    pipe = await start()
    answer = await post(pipe.url, b_headers(sig=signature), B_BODY)
    assert answer.status == status
    assert (answer.json()["verdict"], answer.json()["reason"]) == ("rejected", reason)
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["webhook_id"]) == ("rejected", reason, B_ID)
    kept = {k.lower(): v for k, v in json.loads(row["headers"]).items()}
    assert kept["webhook-signature"] == signature


async def test_a_long_header_from_a_proxy_does_not_stop_a_good_delivery(start: Start) -> None:
    pipe = await start()
    forwarded = ", ".join(f"10.0.{i // 256}.{i % 256}" for i in range(2_000))  # ~24 KB
    answer = await post(pipe.url, b_headers() | {"X-Forwarded-For": forwarded}, B_BODY)
    assert (answer.status, answer.json()["verdict"]) == (200, "verified")
    [row] = stored(pipe)
    kept = json.loads(row["headers"])["X-Forwarded-For"]
    cut = len(forwarded) - STORED_HEADER_VALUE
    assert kept == f"{forwarded[:STORED_HEADER_VALUE]}… ({cut} more characters not kept)"


async def test_many_long_headers_cost_the_event_log_a_bounded_row(start: Start) -> None:
    """Fifty 10 KB headers (half a megabyte) on a delivery: rejected and kept, but the
    log keeps the webhook-* headers whole and the rest within the headers budget."""
    pipe = await start()
    padding = {f"X-Pad-{i}": "p" * 10_000 for i in range(50)}
    signature = "v1," + "A" * 20_000  # long, and kept whole: the verdict is about it
    answer = await post(pipe.url, b_headers(sig=signature) | padding, B_BODY)
    assert answer.status == 401
    [row] = stored(pipe)
    headers = json.loads(row["headers"])
    assert headers["webhook-signature"] == signature
    assert headers["webhook-id"] == B_ID
    others = sum(len(k) + len(v) for k, v in headers.items() if not k.startswith("webhook-"))
    assert others < STORED_HEADERS_BUDGET + 60 * 50  # the budget, plus the "not kept" notes
    assert headers["X-Pad-49"] == "… (10000 more characters not kept)"


async def test_a_header_over_the_limit_is_aiohttps_400_in_one_log_line(
    start: Start, logs: pytest.LogCaptureFixture
) -> None:
    pipe = await start()
    answer = await post(pipe.url, b_headers(sig="v1," + "A" * MAX_HEADER_BYTES), B_BODY)
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.body.startswith(b"Got more than 65536 bytes when reading")
    assert stored(pipe) == []  # nothing reached the listener's handler
    assert pipe.listener.received == 0
    [warning] = [r for r in logs.records if r.name == "moment_tui.webhooks.listener.http"]
    assert warning.levelno == logging.WARNING
    assert warning.exc_info is None
    assert warning.getMessage().startswith(
        "Error handling request from 127.0.0.1: LineTooLong: Got more than 65536 bytes"
    )
    # The listener carries on.
    after = await post(pipe.url, b_headers(), B_BODY)
    assert (after.status, after.json()["verdict"]) == (200, "verified")


# --- bodies that end early: kept as body_unreadable ----------------------------------------------


def abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


HANG_UPS = [
    # (case, chunked, how the sender goes, message)
    (
        "hang up mid-body",
        False,
        "close",
        "the sender closed the connection after 100 of 393 bytes of the body",
    ),
    (
        "reset mid-body",
        False,
        "reset",
        "the sender closed the connection after 100 of 393 bytes of the body",
    ),
    (
        "half-close mid-body",
        False,
        "write_eof",
        "the sender closed the connection after 100 of 393 bytes of the body",
    ),
    (
        "hang up mid-chunked-body",
        True,
        "close",
        "the sender closed the connection after 100 bytes of the body",
    ),
]


@pytest.mark.parametrize(
    ("chunked", "how", "message"),
    [case[1:] for case in HANG_UPS],
    ids=[case[0] for case in HANG_UPS],
)
async def test_a_sender_that_hangs_up_mid_body_is_kept_as_body_unreadable(
    start: Start, logs: pytest.LogCaptureFixture, chunked: bool, how: str, message: str
) -> None:
    pipe = await start()
    sent = B_BODY[:100]
    async with connect(pipe.url) as (_, writer):
        length = None if chunked else len(B_BODY)
        writer.write(head(pipe.url, b_headers(), length) + (chunk(sent) if chunked else sent))
        await writer.drain()
        if how == "reset":
            abort(writer)
        elif how == "write_eof":
            writer.write_eof()
    await eventually(lambda: pipe.announced)
    [row] = stored(pipe)
    assert (row["verdict"], row["reason"], row["status"], row["message"]) == (
        "rejected",
        "body_unreadable",
        400,
        message,
    )
    assert row["webhook_id"] == B_ID
    assert bytes(row["body"]) == sent  # what did arrive is kept
    assert row["body_size"] == len(sent)
    assert pipe.listener.received == 1
    [line] = [r for r in logs.records if r.name == "moment_tui.webhooks.listener"]
    assert (line.levelno, line.exc_info) == (logging.INFO, None)
    assert line.getMessage() == f"delivery from 127.0.0.1 kept as body_unreadable: {message}"


BROKEN_CHUNK = b"zz\r\n"  # not a chunk size


async def test_a_broken_chunk_mid_body_is_kept_once_the_sender_goes(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp's C parser drops a broken chunk's payload without failing it, so the
    handler cannot answer: the delivery is kept as body_unreadable when the sender
    hangs up (as a sender waiting for its answer does when it times out)."""
    if web_protocol.HttpRequestParser is http_parser.HttpRequestParserPy:
        pytest.skip("aiohttp's C parser is not in use (AIOHTTP_NO_EXTENSIONS?)")
    pipe = await start()
    started = reading_started(pipe, monkeypatch)
    async with connect(pipe.url) as (reader, writer):
        writer.write(head(pipe.url, b_headers(), None) + chunk(B_BODY[:100]))
        await asyncio.wait_for(started.wait(), 10)
        writer.write(BROKEN_CHUNK)
        with pytest.raises(TimeoutError):  # no answer: aiohttp never wakes the handler
            await asyncio.wait_for(reader.read(1), 0.3)
    await eventually(lambda: pipe.announced)
    [row] = stored(pipe)
    assert (row["reason"], row["status"], row["message"]) == (
        "body_unreadable",
        400,
        "the sender closed the connection after 100 bytes of the body",
    )
    assert bytes(row["body"]) == B_BODY[:100]


async def test_a_stalled_body_is_answered_400_after_the_body_timeout(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender that sends part of its body and then waits — or a broken chunk that
    aiohttp's C parser swallows — is answered once the body timeout passes, and what
    did arrive is kept."""
    pipe = await start(body_timeout=0.3)
    started = reading_started(pipe, monkeypatch)
    async with connect(pipe.url) as (reader, writer):
        writer.write(head(pipe.url, b_headers(), len(B_BODY)) + B_BODY[:100])
        await asyncio.wait_for(started.wait(), 10)
        # No hang-up: the answer is read by its length (aiohttp lingers, draining the
        # rest of the body it will never get, before it closes the connection).
        head_bytes = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status_line, *lines = head_bytes.decode("latin-1").strip().split("\r\n")
        fields = {n.strip().lower(): v.strip() for n, _, v in (x.partition(":") for x in lines)}
        body = await reader.readexactly(int(fields["content-length"]))
        answer = Answer(int(status_line.split()[1]), fields, body)
    message = "the body did not arrive within 0.3 s (100 bytes of it did)"
    assert answer.status == 400
    assert answer.json() == {
        "verdict": "rejected",
        "webhook_id": B_ID,
        "reason": "body_unreadable",
        "message": message,
    }
    [row] = stored(pipe)
    assert (row["reason"], row["status"], row["message"]) == ("body_unreadable", 400, message)
    assert bytes(row["body"]) == B_BODY[:100]


async def test_stopping_cuts_a_stalled_body_short_and_keeps_what_arrived(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop (SIGTERM) does not wait out the body timeout for a sender that stalls."""
    pipe = await start(body_timeout=60)
    started = reading_started(pipe, monkeypatch)
    async with connect(pipe.url) as (reader, writer):
        writer.write(head(pipe.url, b_headers(), len(B_BODY)) + B_BODY[:100])
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.wait_for(pipe.listener.close(), 10)  # not 60 s
        answer = await asyncio.wait_for(reader.read(), 10)
    # Our stop, not the sender's mistake: 503 and Retry-After, so it is sent again.
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"\r\nRetry-After: 5\r\n" in answer
    [row] = stored(pipe)
    message = (
        "the listener was stopping before the body arrived (100 bytes of it did);"
        " answered 503 so that it is sent again"
    )
    assert (row["reason"], row["status"], row["message"]) == ("body_unreadable", 503, message)
    assert bytes(row["body"]) == B_BODY[:100]


async def test_a_broken_chunk_mid_body_with_the_python_parser_is_answered_400(
    start: Start, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture
) -> None:
    """aiohttp's pure-Python parser (AIOHTTP_NO_EXTENSIONS=1, or no wheel for the
    platform) fails the body instead, so the sender gets its answer."""
    monkeypatch.setattr(web_protocol, "HttpRequestParser", http_parser.HttpRequestParserPy)
    pipe = await start()
    started = reading_started(pipe, monkeypatch)
    async with connect(pipe.url) as (reader, writer):
        writer.write(head(pipe.url, b_headers(), None) + chunk(B_BODY[:100]))
        await asyncio.wait_for(started.wait(), 10)
        writer.write(BROKEN_CHUNK)
        answer = await read_answer(reader)
    assert answer.status == 400
    assert answer.json() == {
        "verdict": "rejected",
        "webhook_id": B_ID,
        "reason": "body_unreadable",
        "message": "the body could not be read past its first 100 bytes: zz",
    }
    [row] = stored(pipe)
    assert (row["reason"], row["status"], bytes(row["body"])) == (
        "body_unreadable",
        400,
        B_BODY[:100],
    )
    # aiohttp then meets the broken body again while draining it: one line, no traceback.
    await eventually(
        lambda: [r for r in logs.records if r.name == "moment_tui.webhooks.listener.http"]
    )
    [drain] = [r for r in logs.records if r.name == "moment_tui.webhooks.listener.http"]
    assert (drain.levelno, drain.exc_info) == (logging.WARNING, None)
    assert "RequestPayloadError" in drain.getMessage()
