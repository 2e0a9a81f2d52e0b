"""``moment-tui listen``: the listener without the UI, for terminals, scripts and CI.

The first stdout line is always ``Listening on http://HOST:PORT/PATH``; then one line
per delivery (or one JSON object per line with ``--json``). Verified events are
applied to the workspace catalogue exactly as in the console. With ``--forward-to``
each verified event is re-posted to a local handler with fresh headers signed by the
secret that verified it, and the handler's answer is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from moment_tui.api.client import MomentClient
from moment_tui.batching import TurnBatch
from moment_tui.config import DEFAULT_MAX_BODY, DEFAULT_TOLERANCE
from moment_tui.store import eventlog
from moment_tui.store.eventlog import Delivery
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks import report
from moment_tui.webhooks.listener import Listener, ListenerConfig
from moment_tui.webhooks.outbound import SendResult, send
from moment_tui.webhooks.reconcile import Reconciler
from moment_tui.webhooks.verify import Verifier


@dataclass(frozen=True)
class ListenOptions:
    host: str
    port: int
    path: str
    secrets: tuple[str, ...] = field(repr=False)
    tolerance: int = DEFAULT_TOLERANCE
    max_body: int = DEFAULT_MAX_BODY
    forward_to: str | None = None
    json: bool = False


async def run_listen(
    options: ListenOptions,
    workspace: Workspace,
    client: MomentClient | None,
    write: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or SIGTERM/SIGINT arrives); ``write`` prints and
    flushes a line (or several, newline-separated)."""
    stop = stop or asyncio.Event()
    # Lines written once per turn of the loop: under a burst, one write (and flush)
    # per turn instead of one per delivery.
    out: TurnBatch[str] = TurnBatch(lambda lines: write("\n".join(lines)))
    verifier = Verifier(
        options.secrets, tolerance_seconds=options.tolerance, max_body_bytes=options.max_body
    )
    reconciler = Reconciler(workspace, client)
    http = httpx.AsyncClient(timeout=10.0) if options.forward_to else None
    forwards: set[asyncio.Task[None]] = set()

    def on_delivery(delivery: Delivery) -> None:
        reconciler.submit(delivery)
        if http is not None and options.forward_to and delivery.verdict == "verified":
            task = asyncio.create_task(_forward(delivery, http, options, workspace, out))
            forwards.add(task)
            task.add_done_callback(forwards.discard)
        else:
            _print(delivery, None, options.json, out)

    listener = Listener(
        ListenerConfig(options.host, options.port, options.path), verifier, workspace, on_delivery
    )
    url = await listener.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        write(f"Listening on {url}")
        await reconciler.catch_up()
        reconciler.start()
        await stop.wait()
    finally:
        await listener.close()
        if forwards:
            await asyncio.gather(*forwards, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reconciler.idle(), 5.0)
        await reconciler.close()
        if http is not None:
            await http.aclose()
        out.flush()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _forward(
    delivery: Delivery,
    http: httpx.AsyncClient,
    options: ListenOptions,
    workspace: Workspace,
    out: Callable[[str], None],
) -> None:
    assert options.forward_to is not None
    stored = await workspace.read(lambda conn: eventlog.raw(conn, delivery.seq))
    # The secret that verified it (masked labels can collide; the index cannot).
    secret = options.secrets[delivery.secret_index or 0]
    result = None
    if stored is not None and delivery.webhook_id:
        body = stored[1]
        result = await send(http, options.forward_to, body, [secret], delivery.webhook_id)
    _print(delivery, result, options.json, out)


def _print(
    delivery: Delivery, forward: SendResult | None, as_json: bool, out: Callable[[str], None]
) -> None:
    if as_json:
        data = report.as_json(delivery)
        if forward is not None:
            data["forward"] = forward.as_json()
        out(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
        return
    out(report.line(delivery))
    if forward is not None:
        answer = forward.error or f"{forward.status} {(forward.response or '').strip()[:200]}"
        out(f"    → forwarded: {answer}")
