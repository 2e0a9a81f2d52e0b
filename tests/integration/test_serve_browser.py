"""``moment-tui serve``: the console in a real headless Chromium, and the command's edges.

The browser tests start ``moment-tui serve --port 0`` as a process (HOME and XDG
directories in tmp, no key: the sandbox), read the address from its first line, and
drive Chromium over the DevTools Protocol (:mod:`tests.integration.cdp`, as
``test_sandbox_browser.py`` does): the page loads, xterm.js draws the console, a key
pressed in the page reaches it, and ``q`` ends the session.

xterm.js draws on a canvas, so the test reads what it draws from the terminal's own
buffer (``terminal.buffer.active``, xterm.js's public API). textual-serve's script
keeps the ``Terminal`` in a local object (``this.terminal = new Terminal(…)``); a
setter placed on ``Object.prototype`` before the page's scripts run (see ``CATCH``)
records it as it is assigned.

Without a Chromium binary the browser tests are skipped; the rest run anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from moment_tui.cli import NEEDS_A_TERMINAL, main
from moment_tui.commands.base import Io
from moment_tui.commands.serve import WEB_DRIVER, Sessions, refusal
from moment_tui.config import Listen
from tests.integration.cdp import Page, launch

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium, chromium-browser or google-chrome on PATH for the headless-browser"
    " test (Debian: apt-get install chromium)",
)

START_WITHIN = 30.0  # the server's first line; a console's first paint (2 shared cores)
STOP_WITHIN = 15.0

SERVING = re.compile(r"^Serving the console at (http://(\S+):(\d+))$")
LISTENER = re.compile(r"127\.0\.0\.1:(\d+)/webhooks/moment")
SHOWS_LISTENER = f"new RegExp({json.dumps(LISTENER.pattern)}).test(s.lines.join('\\n'))"

# Before the page's scripts: record every object assigned to a ``terminal`` property
# (textual.js assigns its xterm.js Terminal exactly so), then make it a plain property.
CATCH = """(() => {
  window.__terminals = [];
  Object.defineProperty(Object.prototype, 'terminal', {
    configurable: true,
    set(value) {
      Object.defineProperty(
        this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
      window.__terminals.push(value);
    },
  });
})()"""


def read_screen(window: str = "window") -> str:
    """JavaScript: the terminal's visible rows as text, with its size and the page's
    state (textual.js adds ``-first-byte`` to the body once the console has drawn, and
    ``-closed`` when the session ends)."""
    return f"""(() => {{
  const w = {window};
  const t = w && w.__terminals && w.__terminals.find((x) => x && x.buffer);
  if (!t) return null;
  const buffer = t.buffer.active;
  const rows = [];
  for (let i = 0; i < t.rows; i++) {{
    const line = buffer.getLine(buffer.viewportY + i);
    rows.push(line ? line.translateToString(true) : '');
  }}
  return {{
    cols: t.cols,
    rows: t.rows,
    lines: rows,
    body: w.document.body.className,
    canvases: w.document.querySelectorAll('.xterm-screen canvas').length,
  }};
}})()"""


@dataclass
class Served:
    process: asyncio.subprocess.Process
    url: str
    port: int
    stderr: list[str] = field(default_factory=list)

    async def stderr_line(self, pattern: str, within: float = START_WITHIN) -> str:
        """The first stderr line matching ``pattern`` (a regular expression)."""
        deadline = time.monotonic() + within
        while True:
            for line in self.stderr:
                if re.search(pattern, line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no stderr line like {pattern!r}: {self.stderr}")
            await asyncio.sleep(0.05)

    def children(self) -> list[int]:
        """The server's child processes (one console per open session)."""
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError, ValueError):
                fields = (proc / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == self.process.pid and fields[0] not in "ZX":
                    found.append(int(proc.name))
        return found


def _env() -> dict[str, str]:
    # The autouse ``home`` fixture has pointed HOME and XDG_* at a tmp directory and
    # removed MOMENT_API_KEY: the consoles run on the embedded sandbox.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOMENT_", "TEXTUAL"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@asynccontextmanager
async def serving(*flags: str, serve: tuple[str, ...] = ("--port", "0")) -> AsyncIterator[Served]:
    """``moment-tui FLAGS serve --port 0``; stopped with SIGINT (killed if it lingers)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moment_tui",
        *flags,
        "serve",
        *serve,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines: list[str] = []

    async def collect(stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            lines.append(raw.decode(errors="replace").rstrip("\n"))

    collector = asyncio.create_task(collect(process.stderr))
    try:
        async with asyncio.timeout(START_WITHIN):
            first = (await process.stdout.readline()).decode().rstrip("\n")
        found = SERVING.match(first)
        assert found, f"first line {first!r}; stderr: {lines}"
        yield Served(process, found.group(1), int(found.group(3)), lines)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(STOP_WITHIN):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_WITHIN):
                await collector


async def stop(served: Served) -> int:
    """Ctrl-C, as at a terminal; the exit status."""
    served.process.send_signal(signal.SIGINT)
    async with asyncio.timeout(STOP_WITHIN):
        return await served.process.wait()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as blank:
        await blank.send("Page.addScriptToEvaluateOnNewDocument", source=CATCH)
        # The page asks Google for a font; no test should need the network.
        await blank.send("Network.enable")
        await blank.send("Network.setBlockedURLs", urls=["*fonts.googleapis.com*"])
        yield blank


async def screen_until(
    page: Page, test: str, window: str = "window", within: float = START_WITHIN
) -> dict[str, Any]:
    """Poll the terminal until ``test`` (JavaScript over ``s``, the screen) holds."""
    shown: dict[str, Any] = await page.wait_until(
        f"((s) => s && ({test}) && s)({read_screen(window)})", within
    )
    return shown


def text(shown: dict[str, Any]) -> str:
    return "\n".join(shown["lines"])


async def press(page: Page, key: str) -> None:
    """A key typed into the terminal: keyDown (with its text) and keyUp, as a keyboard
    sends them, with xterm.js's input focused."""
    await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
    code = f"Digit{key}" if key.isdigit() else f"Key{key.upper()}"
    await page.send(
        "Input.dispatchKeyEvent",
        type="keyDown",
        key=key,
        code=code,
        text=key,
        windowsVirtualKeyCode=ord(key.upper()),
    )
    await page.send(
        "Input.dispatchKeyEvent",
        type="keyUp",
        key=key,
        code=code,
        windowsVirtualKeyCode=ord(key.upper()),
    )


def running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- in the browser ---------------------------------------------------------------------


@needs_chromium
@pytest.mark.slow
async def test_the_console_in_the_browser(page: Page) -> None:
    async with serving("--listen", "127.0.0.1:0") as served:
        assert served.url == f"http://127.0.0.1:{served.port}"
        await page.navigate(served.url + "/")

        # The console draws in the page, at the page's size (not the 80×24 default).
        home = await screen_until(
            page, "s.body.includes('-first-byte') && s.lines.join('\\n').includes('Quit')"
        )
        assert home["canvases"] > 0
        assert home["cols"] > 100, home
        assert home["lines"][0].startswith(" Sandbox · no API key"), text(home)
        assert home["lines"][1].split()[0] == "Home", text(home)
        # The view keys end at the right edge: the console knows the terminal's width.
        assert home["lines"][1].rstrip().endswith("5 Requests"), text(home)
        assert len(home["lines"][1].rstrip()) > home["cols"] - 5, text(home)
        await served.stderr_line(r"^Session 1 opened from 127\.0\.0\.1 ")
        [console] = served.children()

        # A key pressed in the page reaches the console: 4 is the Bills view.
        await press(page, "4")
        bills = await screen_until(page, "s.lines[1].trim().startsWith('Bills')")
        assert "Reference" in text(bills), text(bills)
        assert "Due date" in text(bills), text(bills)

        # q quits the console: the session ends, the page says so, the process is gone.
        await press(page, "q")
        await screen_until(page, "s.body.includes('-closed')")
        closed = await page.evaluate("document.querySelector('.closed-dialog').innerText")
        assert "Session ended." in closed
        await served.stderr_line(r"^Session 1 ended\.$")
        assert served.children() == []
        assert not running(console)  # exited, and reaped by the server

        assert await stop(served) == 0
    assert not [line for line in served.stderr if "Traceback" in line], served.stderr


@needs_chromium
@pytest.mark.slow
async def test_two_tabs_and_the_webhook_listener(page: Page) -> None:
    """The first session holds the configured listener address; a second one, open at
    the same time, listens on a free port; once both end, the next one holds it again.
    Stopping the server ends the sessions still open."""
    configured = free_port()
    async with serving("--listen", f"127.0.0.1:{configured}") as served:
        await page.navigate(served.url + "/")
        first = await screen_until(page, SHOWS_LISTENER)
        assert LISTENER.findall(text(first)) == [str(configured)], text(first)

        # A second tab: the same page in a frame of this one (same origin), sized.
        await page.evaluate(
            f"""(() => {{
  const frame = document.createElement('iframe');
  frame.style = 'position: fixed; left: 0; top: 0; width: 1200px; height: 700px; z-index: 99';
  frame.src = {json.dumps(served.url + "/")};
  document.body.appendChild(frame);
}})()"""
        )
        frame = "document.querySelector('iframe').contentWindow"
        second = await screen_until(page, SHOWS_LISTENER, frame)
        [other] = LISTENER.findall(text(second))
        assert int(other) not in (0, configured), text(second)
        await served.stderr_line(
            rf"^Session 2 opened from 127\.0\.0\.1 \(webhook listener: 127\.0\.0\.1 on a free"
            rf" port \(127\.0\.0\.1:{configured} is session 1's\)\)\.$"
        )
        assert len(served.children()) == 2

        # Both tabs gone: both consoles end; the next session gets the address back.
        await page.navigate("about:blank")
        await served.stderr_line(r"^Session 1 ended\.$")
        await served.stderr_line(r"^Session 2 ended\.$")
        await page.navigate(served.url + "/")
        third = await screen_until(page, SHOWS_LISTENER)
        assert LISTENER.findall(text(third)) == [str(configured)], text(third)
        await served.stderr_line(rf"^Session 3 opened .*listener: 127\.0\.0\.1:{configured}\)")

        # Ctrl-C with a session open: it is ended, the server exits 0.
        assert await stop(served) == 0
        assert "Stopping: ending 1 session(s)." in served.stderr
        assert served.stderr[-1] == "Session 3 ended.", served.stderr
    assert not [line for line in served.stderr if "Traceback" in line], served.stderr


@needs_chromium
async def test_another_site_cannot_open_the_console(page: Page) -> None:
    """Any page may open a websocket to any address; the server refuses one that does
    not come from its own page (the browser's Origin header says whose it is)."""
    async with serving("--listen", "127.0.0.1:0") as served:
        # about:blank is not the console's origin (its Origin is "null").
        closed = await page.evaluate(
            f"""new Promise((resolve) => {{
  const socket = new WebSocket({json.dumps(f"ws://127.0.0.1:{served.port}/ws")});
  socket.onopen = () => resolve('open');
  socket.onclose = (event) => resolve('closed ' + event.code);
}})"""
        )
        assert closed == "closed 1006"
        await served.stderr_line(r"^Refused GET /ws from 127\.0\.0\.1: a websocket from null")
        assert served.children() == []
        assert not [line for line in served.stderr if line.startswith("Session")]


# --- without a browser ------------------------------------------------------------------


def test_a_bad_host_is_bad_usage() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = main(["serve", "--host", "999.1.1.1"], Io(stdout=out, stderr=err, env={}))
    assert status == 2
    assert out.getvalue() == ""
    assert err.getvalue() == "moment-tui: --host: '999.1.1.1' is not a host name or address\n"


def test_a_bad_port_is_bad_usage() -> None:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "70000"], Io(stdout=out, stderr=err, env={}))
    assert exited.value.code == 2
    assert len(err.getvalue().splitlines()) == 1
    assert "a port is 0-65535, not '70000'" in err.getvalue()


async def test_a_public_host_warns_then_serves() -> None:
    public = ("--host", "0.0.0.0", "--port", "0")  # noqa: S104 - the case under test
    async with serving("--listen", "127.0.0.1:0", serve=public) as served:
        assert served.url == f"http://0.0.0.0:{served.port}"
        warning = await served.stderr_line("^Warning:")
        assert warning == (
            "Warning: --host 0.0.0.0 is not a loopback address: anyone who can reach 0.0.0.0"
            " controls the console, with no password (with a live key, that means real money)."
        )
        # Served on every address; no loopback-only Host check once told so.
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{served.port}/", headers={"Host": f"demo.example:{served.port}"}
            ) as answer,
        ):
            assert answer.status == 200
            assert f'data-session-websocket-url="ws://demo.example:{served.port}/ws"' in (
                await answer.text()
            )
        assert await stop(served) == 0


async def test_loopback_refuses_other_host_names() -> None:
    """Bound to loopback, a page reached by another name (DNS rebinding) gets nothing."""
    async with serving("--listen", "127.0.0.1:0") as served, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{served.port}"
        async with http.get(base + "/", headers={"Host": f"rebound.example:{served.port}"}) as no:
            assert no.status == 403
        async with http.get(base + "/", headers={"Host": f"localhost:{served.port}"}) as yes:
            assert yes.status == 200
        async with http.get(base + "/static/js/textual.js") as script:
            assert script.status == 200
        await served.stderr_line(r"^Refused GET / from 127\.0\.0\.1: this console is served")


async def test_a_taken_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "moment_tui",
            "serve",
            "--port",
            str(port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        out, err = await asyncio.wait_for(done.communicate(), START_WITHIN)
    assert done.returncode == 1
    assert out == b""
    assert err.decode().splitlines() == [
        f"moment-tui: serve: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


# --- the console under textual-serve (cli.cmd_console) -----------------------------------


def test_the_console_still_wants_a_terminal_without_the_web_driver() -> None:
    for env in ({}, {"TEXTUAL_DRIVER": "textual.drivers.linux_driver:LinuxDriver"}):
        out, err = io.StringIO(), io.StringIO()
        status = main([], Io(stdin=io.StringIO(), stdout=out, stderr=err, env=env))
        assert status == 2
        assert err.getvalue() == f"moment-tui: {NEEDS_A_TERMINAL}\n"


def _packet(kind: bytes, payload: dict[str, Any]) -> bytes:
    """A message to Textual's web driver, as textual-serve frames it."""
    data = json.dumps(payload).encode()
    return kind + len(data).to_bytes(4, "big") + data


async def test_the_console_runs_on_pipes_under_the_web_driver() -> None:
    """What ``serve`` runs per session: the console on pipes, Textual's web driver
    speaking textual-serve's protocol (a ``__GANGLION__`` line, then packets)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moment_tui",
        "--listen",
        "127.0.0.1:0",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**_env(), "TEXTUAL_DRIVER": WEB_DRIVER, "COLUMNS": "100", "ROWS": "30"},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_WITHIN):
            assert await process.stdout.readline() == b"__GANGLION__\n"
            drawn = b""
            while b"Quit" not in drawn:
                kind = await process.stdout.readexactly(1)
                size = int.from_bytes(await process.stdout.readexactly(4), "big")
                payload = await process.stdout.readexactly(size)
                if kind == b"D":
                    drawn += payload
        process.stdin.write(_packet(b"M", {"type": "quit"}))
        await process.stdin.drain()
        async with asyncio.timeout(STOP_WITHIN):
            _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# --- the parts, one by one --------------------------------------------------------------


def test_sessions_share_the_listener_address() -> None:
    console = ["python", "-m", "moment_tui"]
    sessions = Sessions(console, Listen("127.0.0.1", 8765))
    first, second = sessions.open(), sessions.open()
    assert (first.command, first.holds_address) == (console, True)
    assert second.command == [*console, "--listen", "127.0.0.1:0"]
    assert second.listen == "127.0.0.1 on a free port (127.0.0.1:8765 is session 1's)"
    sessions.close(first)
    third = sessions.open()  # the address is free again
    assert (third.command, third.holds_address) == (console, True)
    sessions.close(second)
    assert sessions.open().command[-2:] == ["--listen", "127.0.0.1:0"]

    given = Sessions(console, Listen("::1", 9000), "[::1]:9000")
    assert given.open().command == [*console, "--listen", "[::1]:9000"]
    assert given.open().command == [*console, "--listen", "[::1]:0"]

    anywhere = Sessions(console, Listen("127.0.0.1", 0), "127.0.0.1:0")
    assert (
        anywhere.open().command == anywhere.open().command == [*console, "--listen", "127.0.0.1:0"]
    )


@pytest.mark.parametrize(
    ("host", "origin", "loopback", "websocket", "refused"),
    [
        ("127.0.0.1:8000", None, True, False, False),
        ("localhost:8000", None, True, False, False),
        ("[::1]:8000", None, True, False, False),
        ("rebound.example:8000", None, True, False, True),
        ("rebound.example:8000", None, False, False, False),
        ("127.0.0.1:8000", "http://127.0.0.1:8000", True, True, False),
        ("127.0.0.1:8000", "http://LOCALHOST:8000", True, True, True),
        ("127.0.0.1:8000", "https://evil.example", True, True, True),
        ("127.0.0.1:8000", "null", True, True, True),
        ("127.0.0.1:8000", None, True, True, True),
        ("demo.example:8000", "http://demo.example:8000", False, True, False),
        ("demo.example:8000", "http://evil.example", False, True, True),
        ("[::1", None, True, False, True),
        ("127.0.0.1:8000", "http://[x", True, True, True),
    ],
)
def test_refusal(
    host: str, origin: str | None, loopback: bool, websocket: bool, refused: bool
) -> None:
    reason = refusal(host, origin, loopback=loopback, websocket=websocket)
    assert (reason is not None) is refused, reason


def test_a_refusal_prints_no_escape_sequences() -> None:
    reason = refusal("127.0.0.1:8000", "http://x\x1b]0;owned\x07", loopback=True, websocket=True)
    assert reason == (
        "a websocket from http://x?]0;owned? is refused: only the console's own page may open one"
    )
