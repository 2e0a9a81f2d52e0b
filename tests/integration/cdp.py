"""A headless Chromium driven over the Chrome DevTools Protocol, with aiohttp only.

:func:`launch` starts ``chromium --headless=new`` with ``--remote-debugging-port=0``
and a throwaway profile, reads the port it picked from ``DevToolsActivePort``, finds
the ``about:blank`` page through ``/json/list`` and opens that page's websocket. The
:class:`Page` it yields sends CDP commands (``await page.send(method, **params)``) and
records every event the page sends back, so a test can wait for one that arrives after
a given point (:meth:`Page.mark`, :meth:`Page.wait_for`) instead of sleeping.

Leaving the ``async with`` block — normally or on any error, including a failure to
start — closes the websocket and the HTTP session, ends the browser's whole process
group (SIGTERM, then SIGKILL if it lingers) and removes the profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

START_TIMEOUT = 10.0
COMMAND_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,1024",
    "--remote-debugging-port=0",
)


class CdpError(AssertionError):
    """A CDP command answered with an error, or the page threw."""


class Page:
    """One page target's CDP session over its websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if "id" in data:
                    future = self._pending.pop(data["id"], None)
                    if future is not None and not future.done():
                        future.set_result(data)
                else:
                    self.events.append(data)
                    self._changed.set()
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CdpError("the DevTools websocket closed"))
            self._pending.clear()
            self._changed.set()

    async def send(self, method: str, **params: Any) -> Any:
        """Send one command; return its ``result`` (raise :class:`CdpError` on ``error``)."""
        if self._reader.done():
            raise CdpError(f"{method}: the DevTools websocket is closed")
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                await self._ws.send_str(
                    json.dumps({"id": ident, "method": method, "params": params})
                )
                answer = await future
        except TimeoutError:
            raise CdpError(f"{method}: no answer within {COMMAND_TIMEOUT} s") from None
        finally:
            self._pending.pop(ident, None)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page; return its value (JSON-serialisable)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            thrown = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError(f"the page threw: {thrown}")
        return result["result"].get("value")

    def mark(self) -> int:
        """A point in the event stream; :meth:`wait_for` looks only at later events."""
        return len(self.events)

    async def wait_for(
        self, method: str, after: int, within: float = COMMAND_TIMEOUT
    ) -> dict[str, Any]:
        """The first ``method`` event recorded after ``after``; waits up to ``within`` s."""
        seen = after
        try:
            async with asyncio.timeout(within):
                while True:
                    for event in self.events[seen:]:
                        if event.get("method") == method:
                            return event
                    seen = len(self.events)
                    if self._reader.done():
                        raise CdpError(f"the DevTools websocket closed before {method}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            recent = [e.get("method") for e in self.events[after:]]
            raise CdpError(f"no {method} within {within} s; events since: {recent}") from None

    async def wait_until(self, expression: str, within: float = COMMAND_TIMEOUT) -> Any:
        """Poll the JavaScript ``expression`` until it is truthy; return its value.

        For a page that may be mid-navigation (a back/forward-cache restore fires no
        load event): an evaluation the navigation cuts short counts as "not yet"."""
        deadline = time.monotonic() + within
        last: Any = None
        while True:
            try:
                last = await self.evaluate(expression)
            except CdpError as exc:
                last = exc
            else:
                if last:
                    return last
            if time.monotonic() > deadline:
                raise CdpError(f"{expression!r} not true within {within} s; last: {last!r}")
            await asyncio.sleep(0.02)

    async def navigate(self, url: str, within: float = COMMAND_TIMEOUT) -> None:
        """Open ``url`` and wait for its load event."""
        mark = self.mark()
        result = await self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise CdpError(f"navigating to {url}: {result['errorText']}")
        await self.wait_for("Page.loadEventFired", mark, within)

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _read_port(profile: Path) -> int | None:
    """The port in ``DevToolsActivePort``, once Chromium has written it whole."""
    try:
        lines = (profile / "DevToolsActivePort").read_text().splitlines()
    except FileNotFoundError:
        return None
    return int(lines[0]) if len(lines) >= 2 and lines[0].isdigit() else None


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def _devtools_port(
    process: asyncio.subprocess.Process, profile: Path, log: Path, within: float
) -> int:
    """Poll for the port Chromium writes to ``DevToolsActivePort`` once it listens."""
    deadline = time.monotonic() + within
    while True:
        port = _read_port(profile)
        if port is not None:
            return port
        if process.returncode is not None:
            raise CdpError(
                f"chromium exited with {process.returncode} before listening:\n{_tail(log)}"
            )
        if time.monotonic() > deadline:
            raise CdpError(f"chromium wrote no DevToolsActivePort within {within} s:\n{_tail(log)}")
        await asyncio.sleep(0.02)


def _live_processes(group: int, marker: str) -> list[int]:
    """Running processes of this browser's: those in its process group, and those
    (the crash handlers, which start sessions of their own) whose command line names
    its private directory. Zombies are dead already — reaping them is init's job.
    Empty where there is no ``/proc`` to look in."""
    alive = []
    needle = marker.encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
            if len(fields) < 3 or fields[0] in "ZX":
                continue
            if int(fields[2]) == group or needle in (proc / "cmdline").read_bytes():
                alive.append(int(proc.name))
        except (OSError, ValueError):  # gone meanwhile
            continue
    return alive


async def _stop(process: asyncio.subprocess.Process, marker: str) -> None:
    """End the browser (SIGTERM to its process group; SIGKILL after ``STOP_TIMEOUT``),
    then SIGKILL whatever of its own outlived it. Fails if any survives even that."""
    group = process.pid  # start_new_session: the browser leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_TIMEOUT):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        await process.wait()
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        alive = _live_processes(group, marker)
        if not alive:
            return
        if time.monotonic() > deadline:
            raise CdpError(f"chromium processes outlived a SIGKILL: {alive}")
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.02)


@asynccontextmanager
async def launch(binary: str, within: float = START_TIMEOUT) -> AsyncIterator[Page]:
    """A headless Chromium with one blank page (started within ``within`` s); the
    browser, its helpers and its profile are all gone once the block is left."""
    with tempfile.TemporaryDirectory(prefix="moment-cdp-", ignore_cleanup_errors=True) as tmp:
        profile = Path(tmp) / "profile"
        log_path = Path(tmp) / "chromium.log"
        with log_path.open("wb") as log:
            # XDG_*: the crash handler's database and dconf's cache land in ``tmp``
            # too, not in the home directory.
            env = {
                **os.environ,
                "XDG_CONFIG_HOME": f"{tmp}/config",
                "XDG_CACHE_HOME": f"{tmp}/cache",
            }
            process = await asyncio.create_subprocess_exec(
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                port = await _devtools_port(process, profile, log_path, within)
                async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=COMMAND_TIMEOUT)
                ) as http:
                    async with http.get(f"http://127.0.0.1:{port}/json/list") as answer:
                        answer.raise_for_status()
                        targets: list[dict[str, Any]] = await answer.json()
                    pages = [t for t in targets if t.get("type") == "page"]
                    if not pages:
                        raise CdpError(f"chromium has no page target: {targets}")
                    async with http.ws_connect(
                        pages[0]["webSocketDebuggerUrl"], max_msg_size=0
                    ) as ws:
                        page = Page(ws)
                        try:
                            await page.send("Page.enable")
                            await page.send("Runtime.enable")
                            yield page
                        finally:
                            await page.close()
            finally:
                await _stop(process, tmp)
