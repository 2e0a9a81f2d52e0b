"""Fixtures for the sandbox's integration tests.

The sandbox runs as a real HTTP server on an ephemeral loopback port and is driven
through the project's own :class:`~moment_tui.api.client.MomentClient`:

* ``sandbox_url`` — one sandbox for the whole session, on its own thread and event
  loop (:class:`SandboxThread`), so it does not depend on pytest-asyncio's loop
  scope. Tests share it, so each one names its objects with :func:`ref` (unique).
* ``start_sandbox`` — a dedicated :class:`Sandbox` in the test's own loop, for tests
  that need their own configuration (webhooks, latency, a database file).
* ``receiver`` — a real aiohttp webhook receiver on a loopback port that records
  every delivery and answers as the test tells it to.
* :func:`hold_first_answer` — a dedicated sandbox's first answer waits at its
  ``--latency`` pause until the test opens the gate, so "a request still in flight"
  is a state the test controls rather than a race it hopes to win.

Waiting is always :func:`eventually` (poll with a deadline), never a bare sleep. In
the ``test_sandbox_*`` modules, an error the sandbox logs (a 500's traceback) fails
the test: bad input must be a 4xx problem, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web

from moment_tui.api.client import MomentClient, Response, RetryPolicy
from moment_tui.api.errors import ApiError
from moment_tui.sandbox.server import Sandbox, SandboxConfig, SandboxThread
from moment_tui.webhooks.signing import new_webhook_secret

from .pipeline_helpers import eventually as eventually  # one poller for every test

API_KEY = "sk_test_integration4eC39HqLyjWD"
OTHER_API_KEY = "sk_test_integrationOtherKey0002"
NO_RETRY = RetryPolicy(max_attempts=1)
FAST_SCHEDULE = (0.0, 0.2, 0.2, 0.2)

T = TypeVar("T")


def ref(label: str = "ref") -> str:
    """A fresh external reference, so tests sharing one sandbox never collide."""
    return f"{label}-{uuid.uuid4().hex[:16]}"


def new_key() -> str:
    return str(uuid.uuid4())


def make_client(url: str, api_key: str = API_KEY) -> MomentClient:
    return MomentClient(api_key, base_url=url, retry=NO_RETRY, timeout=10.0)


async def post(client: MomentClient, path: str, body: Any, *, key: str | None = None) -> Response:
    """A raw JSON POST (bypassing the typed methods' own validation)."""
    return await client.request("POST", path, json=body, idempotency_key=key or new_key())


async def bill_for_new_customer(
    client: MomentClient,
    amount_due: int = 2000,
    name: str = "Lerato Molefe",
    due_date: str = "2031-03-31",
) -> dict[str, Any]:
    """A ZAR bill with a new customer nested in it, created through the API; its JSON."""
    response = await post(
        client,
        "/billing/bills",
        {
            "external_reference": ref("INV"),
            "currency": "ZAR",
            "amount_due": amount_due,
            "due_date": due_date,
            "customer": {"external_reference": ref("cus"), "name": name},
        },
    )
    bill: dict[str, Any] = response.body
    return bill


async def failure(awaitable: Awaitable[Any], error: type[ApiError] = ApiError) -> ApiError:
    """Await a call that must fail; return its ApiError."""
    with pytest.raises(error) as caught:
        await awaitable
    return caught.value


def fields(exc: ApiError) -> dict[str, str]:
    """``{field: message}`` from a problem's ``errors`` extension."""
    errors = (exc.problem.extensions or {}).get("errors") or []
    return {e["field"]: e["message"] for e in errors}


@pytest.fixture(autouse=True)
def _sandbox_logs_no_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """In test_sandbox_* modules: nothing the sandbox logs at ERROR (its 500 handler
    logs the traceback) — from this test's sandboxes or the shared one's thread."""
    if not request.node.path.name.startswith("test_sandbox_"):
        yield
        return
    caplog: pytest.LogCaptureFixture = request.getfixturevalue("caplog")
    yield
    records = [
        *caplog.get_records("setup"),
        *caplog.get_records("call"),
        *caplog.get_records("teardown"),
    ]
    errors = [
        logging.Formatter().format(record)
        for record in records
        if record.name.startswith("moment_tui.sandbox") and record.levelno >= logging.ERROR
    ]
    assert not errors, "the sandbox logged errors:\n" + "\n".join(errors)


# --- the shared sandbox ---------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    yield url
    thread.stop()


@pytest.fixture
async def client(sandbox_url: str) -> AsyncIterator[MomentClient]:
    async with make_client(sandbox_url) as moment:
        yield moment


@pytest.fixture
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the shared sandbox, authenticated, for header-level checks."""
    async with httpx.AsyncClient(
        base_url=sandbox_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10.0
    ) as plain:
        yield plain


# --- dedicated sandboxes ----------------------------------------------------------------

StartSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def start_sandbox() -> AsyncIterator[StartSandbox]:
    """``await start_sandbox(**SandboxConfig fields)`` → a started Sandbox in this loop;
    every one still running is closed when the test ends."""
    running: list[Sandbox] = []

    async def start(**config: Any) -> Sandbox:
        sandbox = Sandbox(SandboxConfig(**config))
        await sandbox.start()
        running.append(sandbox)
        return sandbox

    yield start
    for sandbox in running:
        await stop(sandbox)


_STOPPED: weakref.WeakSet[Sandbox] = weakref.WeakSet()


def hold_first_answer(sandbox: Sandbox) -> asyncio.Event:
    """Make the first answer of ``sandbox`` (which must run in this test's loop) wait
    at its latency pause — for a POST, after it has claimed its Idempotency-Key —
    until the returned event is set. Later answers do not wait at all."""
    gate = asyncio.Event()
    held: list[float] = []

    async def wait_for_gate(seconds: float) -> None:
        if not held:
            held.append(seconds)
            await gate.wait()

    sandbox.state.latency = 1.0  # any nonzero latency makes every answer pause
    sandbox.state.sleep = wait_for_gate
    return gate


async def stop(sandbox: Sandbox) -> None:
    """Close a sandbox once (a test may stop one early; teardown then skips it)."""
    if sandbox in _STOPPED:
        return
    _STOPPED.add(sandbox)
    await sandbox.close()


# --- a real webhook receiver ------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def timestamp(self) -> int:
        return int(self.headers["webhook-timestamp"])

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers ``statuses`` in turn, then ``status`` forever."""

    status: int = 200
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    reply: str = "ok"
    deliveries: list[Delivery] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.deliveries.append(
            Delivery({k.lower(): v for k, v in request.headers.items()}, body, time.time())
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else self.status
        return web.Response(status=status, text=self.reply)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hooks"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.close()


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()
