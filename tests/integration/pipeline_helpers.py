"""Shared pieces for the webhook pipeline's integration tests.

* :func:`open_pipeline` — a real :class:`Listener` on an ephemeral loopback port over a
  real :class:`Workspace` file, optionally with a :class:`Reconciler`; every delivery
  the listener announces is kept in ``Pipeline.announced``.
* :class:`LoopThread` — an event loop on its own thread, for sync tests (hypothesis)
  that talk to a listener with a blocking HTTP client.
* :class:`ListenProcess` — ``python -m moment_tui listen`` as a subprocess whose
  stdout lines are collected by a reader thread.
* :func:`eventually` / :func:`wait_until` — poll with a deadline, never a bare sleep.

The reference's worked examples (moment-api.md §15.4) are spelled out here so that
these tests do not depend on another test module.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from moment_tui.api.client import MomentClient
from moment_tui.store.catalogue import now_iso
from moment_tui.store.eventlog import Delivery
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.listener import Listener, ListenerConfig, incoming_from
from moment_tui.webhooks.reconcile import Reconciler
from moment_tui.webhooks.signing import new_message_id, signed_headers
from moment_tui.webhooks.verify import Verifier

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]

# --- reference §15.4 A: the Standard Webhooks test vector -------------------------------
REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REF_LABEL = "whsec_…aSw"
REF_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REF_TS = 1614265330
REF_BODY = b'{"test": 2432232314}'
REF_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
REF_BAD_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="

# --- reference §15.4 B: a Moment-shaped event ------------------------------------------
B_SECRET = "whsec_bW9tZW50LXNhbmRib3gtd2ViaG9vay1rZXktMDAwMSE="
B_LABEL = "whsec_…SE="
B_ID = "msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh"
B_TS = 1750236300
B_BODY = (
    b'{"id":"evt_2341234567890abcdefgh","type":"obligation.amount_applied","data":'
    b'{"id":"ob_N2a38DJQWPL8K4X42354234","amount":1500,"currency":"ZAR",'
    b'"payment_id":"pay_1313235234843nmafdsa","customer_id":"bcus_H4jp6KnU5cPw263v1jyz4",'
    b'"account_id":"bacc_H4jp6KnU5cPw263v1jyz4","bill_id":"bill_H4jp6KnU5cPw263v1jyz4",'
    b'"metadata":{},"created_at":"2025-06-18T08:45:00Z","updated_at":"2025-06-18T08:45:00Z"}}'
)
B_SIG = "v1,Qa3exPFRonIhe2nvvqWn7g0NldpTlFIDqs1JtGxcqc0="
B_TAMPERED_BODY = B_BODY.replace(b'"amount":1500', b'"amount":1501')

# A second secret for rotation tests (32 bytes of key).
ROT_SECRET = "whsec_" + base64.b64encode(b"rotated-key-for-moment-tui-tests").decode()
ROT_LABEL = "whsec_…HM="


def b_headers(sig: str = B_SIG, *, msg_id: str = B_ID, ts: int | str = B_TS) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sig,
        "content-type": "application/json",
    }


# --- polling ------------------------------------------------------------------------------


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T]], within: float = ..., interval: float = ...
) -> T: ...
@overload
async def eventually(
    predicate: Callable[[], T], within: float = ..., interval: float = ...
) -> T: ...
async def eventually(
    predicate: Callable[[], Any], within: float = 10.0, interval: float = 0.02
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; return that.

    Fails with the last value seen when ``within`` seconds pass first.
    """
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s; last value: {value!r}")
        await asyncio.sleep(interval)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """The blocking twin of :func:`eventually`, for sync tests."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        time.sleep(interval)


# --- an in-process pipeline -----------------------------------------------------------------


@dataclass
class Pipeline:
    workspace: Workspace
    listener: Listener
    reconciler: Reconciler | None
    url: str
    announced: list[Delivery] = field(default_factory=list)

    async def attach(self, reconciler: Reconciler) -> None:
        """Apply what is stored but unapplied, then everything delivered from now on."""
        self.reconciler = reconciler
        await reconciler.catch_up()
        reconciler.start()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """A read on a fresh connection to the file: what is really on disk."""
        conn = sqlite3.connect(self.workspace.path)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


@asynccontextmanager
async def open_pipeline(
    path: Path,
    secrets: list[str] | tuple[str, ...] = (B_SECRET,),
    *,
    clock: Callable[[], float] | None = None,
    client: MomentClient | None = None,
    reconcile: bool = False,
    max_body_bytes: int | None = None,
    tolerance: int | None = None,
    workspace: Workspace | None = None,
    body_timeout: float = 30.0,
) -> AsyncIterator[Pipeline]:
    """A started listener (and reconciler, when ``reconcile``) over a workspace file.

    Deliveries go to whatever ``Pipeline.reconciler`` is at the time, so a test may
    attach one later (when its API client needs the listener's URL first).
    """
    options: dict[str, Any] = {}
    if clock is not None:
        options["clock"] = clock
    if max_body_bytes is not None:
        options["max_body_bytes"] = max_body_bytes
    if tolerance is not None:
        options["tolerance_seconds"] = tolerance
    verifier = Verifier(list(secrets), **options)
    own_workspace = workspace is None
    ws = workspace if workspace is not None else Workspace(path)
    pipe: Pipeline | None = None

    def on_delivery(delivery: Delivery) -> None:
        assert pipe is not None
        pipe.announced.append(delivery)
        if pipe.reconciler is not None:
            pipe.reconciler.submit(delivery)

    listener = Listener(
        ListenerConfig(port=0, body_timeout=body_timeout), verifier, ws, on_delivery
    )
    url = await listener.start()
    pipe = Pipeline(ws, listener, None, url)
    if reconcile:
        await pipe.attach(Reconciler(ws, client))
    try:
        yield pipe
    finally:
        await listener.close()
        if pipe.reconciler is not None:
            await pipe.reconciler.close()
        if own_workspace:
            await asyncio.to_thread(ws.close)


def raw_post(
    url: str, headers: list[tuple[str, str]], body: bytes, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """POST over a bare socket, header values sent exactly as given (no client-side
    validation or trimming; characters up to U+00FF go out as single raw bytes).

    Returns (status, headers, body) of the answer as soon as its Content-Length bytes
    are in, without waiting for the server to close the connection.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers)
        + "\r\n"
    )
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + body)
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before the answer's headers: {received!r}"
            received += chunk
        head_bytes, _, payload = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
        answer_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        length = int(answer_headers.get("content-length", "0"))
        while len(payload) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the answer's body"
            payload += chunk
    return int(status_line.split()[1]), answer_headers, payload


# --- an event loop on a thread ----------------------------------------------------------------


class LoopThread:
    """Run coroutines on a private loop from sync code: ``thread.run(coro)``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def drain() -> None:
            await self.loop.shutdown_default_executor()
            await self.loop.shutdown_asyncgens()

        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# --- the command line as subprocesses -----------------------------------------------------------


def cli_env(root: Path, **extra: str) -> dict[str, str]:
    """A child environment: home, config and data under ``root``; no MOMENT_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    env.update(
        HOME=str(root / "home"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_DATA_HOME=str(root / "data"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: Mapping[str, str], timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moment_tui", *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


LISTENING = re.compile(r"Listening on (http://127\.0\.0\.1:(\d+)/webhooks/moment)")


class ListenProcess:
    """``moment-tui listen …`` in a subprocess; stdout and stderr lines are collected."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moment_tui", "listen", *args],
            env=dict(env),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.first_line = ""
        self.url = ""

    @property
    def data_dir(self) -> Path:
        """The XDG data directory the process keeps its workspace under."""
        return Path(self.env["XDG_DATA_HOME"])

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_started(self, timeout: float = 15.0) -> str:
        """The first stdout line; fails if the process exits or is silent."""
        self.first_line = self.wait_line(lambda _line: True, timeout=timeout)
        match = LISTENING.fullmatch(self.first_line)
        assert match is not None, (self.first_line, self.stderr)
        self.url = match.group(1)
        return self.first_line

    def wait_line(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> str:
        """The first stdout line satisfying ``predicate`` (waiting for it if need be)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.stdout:
                    if predicate(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._more_coming()):
                    raise AssertionError(
                        f"no matching line within {timeout} s; stdout={self.stdout!r} "
                        f"stderr={self.stderr!r}"
                    )
                self._changed.wait(min(left, 0.1))

    def _more_coming(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def json_lines(
        self, webhook_id: str, count: int, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The first ``count`` JSON lines about ``webhook_id``, waiting for them."""

        def found() -> list[dict[str, Any]]:
            with self._changed:
                lines = list(self.stdout[1:])
            items = [json.loads(line) for line in lines]
            return [item for item in items if item.get("webhook_id") == webhook_id]

        return wait_until(lambda: found() if len(found()) >= count else [], timeout)[:count]

    def terminate(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._join()
        return code

    def kill(self) -> int:
        self.proc.kill()
        code = self.proc.wait(10)
        self._join()
        return code

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def output(self) -> str:
        return "\n".join(self.stdout + self.stderr)


def listen_process(args: list[str], env: Mapping[str, str]) -> Iterator[ListenProcess]:
    """Start, wait for the first line, yield, terminate (for fixtures)."""
    process = ListenProcess(args, env)
    try:
        process.wait_started()
        yield process
    finally:
        if process.proc.poll() is None:
            process.terminate()
        else:
            process._join()


async def store_signed(workspace: Workspace, secret: str, body: bytes) -> Delivery:
    """Record ``body`` as a verified delivery, as the listener would (no reconciler)."""
    headers = signed_headers([secret], new_message_id(), body)
    verification = Verifier([secret]).verify(headers, body)
    assert verification.ok
    incoming = incoming_from(
        verification, headers, body, len(body), remote=None, received_at=now_iso()
    )
    return await workspace.record(incoming)
