"""``moment-tui serve``: the console in a web browser, through textual-serve.

Each browser tab that opens the page starts its own console: a ``moment-tui`` process
run with Textual's web driver (textual-serve sets ``TEXTUAL_DRIVER`` and the size in
``COLUMNS``/``ROWS``), its screen and keys relayed over the page's websocket. The
sessions carry the top-level flags ``serve`` was given (``--api-url``, ``--sandbox``,
``--listen``, ``--read-only``); the API key and secrets reach them through the
environment and the secret store, never on a command line.

One webhook listener address, many consoles: the first session open holds the
configured address (``--listen``, ``MOMENT_LISTEN``, the config file or
127.0.0.1:8765); a session opened while it is held listens on a free port of the same
host instead (each console shows its listener's address). When the holder ends, the
next session to open takes the address again.

The page and its websocket are guarded: bound to loopback, a request must name a
loopback host (a DNS-rebinding page cannot reach the console), and the websocket
must come from the page's own origin (another site open in the same browser cannot
type into the console).

textual-serve, aiohttp and jinja2 are imported when the command runs: the console's
first paint loads none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from io import TextIOBase
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from moment_tui.commands.base import EXIT_OK, CommandFailed, Io, add_version, port
from moment_tui.config import Listen, is_loopback, parse_host

if TYPE_CHECKING:
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

DEFAULT_PORT: Final = 8000
TITLE: Final = "moment-tui"
# What textual-serve (and textual-web) set for the app they run: Textual then speaks
# its packet protocol over stdin/stdout, which are pipes on purpose.
WEB_DRIVER: Final = "textual.drivers.web_driver:WebDriver"
# A session's console gets this long to quit before it is killed.
STOP_TIMEOUT: Final = 5.0
# Terminal sizes a page may ask for (cells); anything else is clamped.
COLUMNS_RANGE: Final = (20, 500)
ROWS_RANGE: Final = (5, 200)


def register(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve the console to a web browser (textual-serve)",
        description="Serve the console as a web page: every browser tab that opens it "
        "runs its own console. The first stdout line is always 'Serving the console at "
        "http://HOST:PORT'. Bound to loopback unless --host says otherwise: anyone who "
        "can reach the address controls the console. Ctrl-C stops it.",
    )
    add_version(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1, loopback)"
    )
    serve.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help=f"port; 0 picks a free one (default {DEFAULT_PORT})",
    )
    serve.set_defaults(handler=cmd_serve)


def web_driver_session(env: Mapping[str, str]) -> bool:
    """Is this process run by textual-serve (Textual's web driver: screen and keys
    travel as packets over stdin/stdout, which are pipes on purpose)?"""
    return env.get("TEXTUAL_DRIVER") == WEB_DRIVER


def can_draw(io: Io) -> bool:
    """A console can be drawn here: a terminal on both ends, or Textual's web driver
    (under ``moment-tui serve`` the pipes are the terminal). Without one the app would
    write kilobytes of escape codes into a pipe."""
    return web_driver_session(io.env) or (io.stdin.isatty() and io.stdout.isatty())


def public_warning(host: str) -> str:
    return (
        f"Warning: --host {host} is not a loopback address: anyone who can reach "
        f"{host} controls the console, with no password"
        " (with a live key, that means real money)."
    )


def cmd_serve(args: argparse.Namespace, io: Io) -> int:
    host = parse_host(args.host, "--host")
    settings = io.settings()  # a bad flag, variable or config file fails here, not per tab
    loopback = is_loopback(host)
    if not loopback:
        io.err(public_warning(host))
    sessions = Sessions(console_command(args), settings.listen, args.listen)
    server = ConsoleServer(sessions, loopback=loopback, note=io.err)
    asyncio.run(server.run(host, args.port, io.out))
    return EXIT_OK


def console_command(args: argparse.Namespace) -> list[str]:
    """The console, with the top-level flags ``serve`` was given (``--listen`` aside:
    :class:`Sessions` decides it per session)."""
    command = [sys.executable, "-m", "moment_tui"]
    if args.api_url is not None:
        command += ["--api-url", args.api_url]
    if args.sandbox:
        command.append("--sandbox")
    if args.read_only:
        command.append("--read-only")
    return command


def shell_line(argv: Sequence[str]) -> str:
    """textual-serve runs a shell command. On POSIX the shell ignores Ctrl-C (the
    console then does too until Textual installs its own handler: no traceback from a
    console still starting) and ``exec``s the console, so killing the process kills it."""
    if os.name == "posix":
        return f"trap '' INT; exec {shlex.join(argv)}"
    return subprocess.list2cmdline(argv)  # pragma: no cover - Windows


@dataclass
class Session:
    number: int
    command: list[str]
    listen: str  # what its webhook listener binds to, as a note for the operator
    holds_address: bool


@dataclass
class Sessions:
    """Which console gets the configured webhook listener address."""

    console: list[str]
    listen: Listen  # the configured address
    listen_flag: str | None = None  # --listen as given to serve
    opened: int = 0
    holder: int | None = None  # the session bound to the configured address

    def open(self) -> Session:
        self.opened += 1
        number = self.opened
        if self.listen.port == 0 or self.holder is None:
            if self.listen.port != 0:
                self.holder = number
            flag = [] if self.listen_flag is None else ["--listen", self.listen_flag]
            return Session(number, [*self.console, *flag], str(self.listen), True)
        free = str(Listen(self.listen.host, 0))
        note = f"{self.listen.host} on a free port ({self.listen} is session {self.holder}'s)"
        return Session(number, [*self.console, "--listen", free], note, False)

    def close(self, session: Session) -> None:
        if self.holder == session.number:
            self.holder = None


def refusal(host_header: str, origin: str | None, *, loopback: bool, websocket: bool) -> str | None:
    """Why a request is refused (None: served). Bound to loopback, the Host must be a
    loopback name: a page whose own name was re-pointed at 127.0.0.1 (DNS rebinding)
    is not. A websocket must come from the page's own origin: browsers let any site
    open one to any address, and send the Origin header to say whose page it is."""
    if loopback and not is_loopback(_hostname(host_header)):
        return "this console is served to this machine only (use a loopback address)"
    if websocket:
        if not origin:
            return "a websocket without an Origin header is refused"
        if _netloc(origin) != host_header.lower():
            shown = _printable(origin)
            return f"a websocket from {shown} is refused: only the console's own page may open one"
    return None


def _printable(text: str, limit: int = 200) -> str:
    """Text a request chose, fit for the operator's terminal: no escape sequences."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _netloc(url: str) -> str | None:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:  # "http://[x": not an origin at all
        return None


def _hostname(host_header: str) -> str:
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:
        return ""


def _address(host: str, number: int) -> str:
    return str(Listen(host, number))


def _announced(host: str, addresses: Sequence[Any]) -> str:
    """HOST:PORT as given, the port as bound. A name bound to several addresses on
    port 0 (``localhost``: 127.0.0.1 and ::1) may get a different port on each: then
    the first address itself, so the line names one socket that is ours."""
    ports = {address[1] for address in addresses}
    if len(ports) == 1:
        return _address(host, addresses[0][1])
    return _address(addresses[0][0], addresses[0][1])


def _clamp(text: object, default: int, bounds: tuple[int, int]) -> int:
    try:
        value = int(str(text))
    except ValueError:
        value = default
    return max(bounds[0], min(bounds[1], value))


class ConsoleServer:
    """The page (textual-serve's template and scripts), and one console per websocket."""

    def __init__(self, sessions: Sessions, *, loopback: bool, note: Callable[[str], None]) -> None:
        self.sessions = sessions
        self.loopback = loopback
        self.note = note
        self._sockets: set[web.WebSocketResponse] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._textual: Server | None = None

    @property
    def textual(self) -> Server:
        """textual-serve's server: its page, static files and downloads."""
        if self._textual is None:
            from textual_serve.server import Server

            self._textual = Server(TITLE, title=TITLE)
        return self._textual

    def build_app(self) -> web.Application:
        import aiohttp_jinja2
        import jinja2
        from aiohttp import web

        textual = self.textual

        @web.middleware
        async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
            websocket = request.path == "/ws"
            origin = request.headers.get("Origin")
            reason = refusal(request.host, origin, loopback=self.loopback, websocket=websocket)
            if reason is not None:
                what = f"{_printable(request.method)} {_printable(request.path)}"
                self.note(f"Refused {what} from {request.remote}: {reason}")
                raise web.HTTPForbidden(text=reason + "\n")
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(textual.templates_path))
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/ws", self.websocket),
                web.get("/download/{key}", textual.handle_download),
                web.static("/static", textual.statics_path),
            ]
        )
        return app

    async def index(self, request: web.Request) -> web.Response:
        """textual-serve's page, its URLs built from the address the browser used (so
        the page works by any name the server answers to, port 0 included)."""
        import aiohttp_jinja2

        base = f"{request.scheme}://{request.host}"
        socket_scheme = "wss" if request.scheme == "https" else "ws"
        context = {
            "font_size": _clamp(request.query.get("fontsize", "16"), 16, (6, 64)),
            "app_websocket_url": f"{socket_scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": TITLE},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        from aiohttp import web
        from textual_serve.app_service import AppService

        socket = web.WebSocketResponse(heartbeat=15)
        width = _clamp(request.query.get("width", "80"), 80, COLUMNS_RANGE)
        height = _clamp(request.query.get("height", "24"), 24, ROWS_RANGE)
        await socket.prepare(request)
        session = self.sessions.open()
        task = asyncio.current_task()
        assert task is not None
        self._sockets.add(socket)
        self._handlers.add(task)
        self.note(
            f"Session {session.number} opened from {request.remote}"
            f" (webhook listener: {session.listen})."
        )

        async def close() -> None:  # the console quit: the page says the session ended
            await socket.close()

        service = AppService(
            shell_line(session.command),
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=close,
            download_manager=self.textual.download_manager,
        )
        try:
            await service.start(width, height)
            await _relay(socket, service)
        except Exception as exc:
            self.note(f"Session {session.number} failed: {type(exc).__name__}: {exc}")
        finally:
            await _stop(service)
            with contextlib.suppress(Exception):
                await socket.close()
            self._sockets.discard(socket)
            self._handlers.discard(task)
            self.sessions.close(session)
            self.note(f"Session {session.number} ended.")
        return socket

    async def run(self, host: str, port_number: int, announce: Callable[[str], None]) -> None:
        """Serve until SIGINT or SIGTERM; ``announce`` the address once listening. On
        the way out every session's console is asked to quit (killed if it lingers)."""
        from aiohttp import web

        runner = web.AppRunner(
            self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        textual_log = logging.getLogger("textual-serve")
        handler = logging.StreamHandler(_NoteStream(self.note))
        handler.setFormatter(logging.Formatter("textual-serve: %(message)s"))
        textual_log.addHandler(handler)
        textual_log.propagate = False
        try:
            site = web.TCPSite(runner, host, port_number)
            try:
                await site.start()
            except OSError as exc:
                # asyncio's strerror repeats the address: the plain reason instead.
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                where = _address(host, port_number)
                raise CommandFailed(f"serve: cannot listen on {where}: {reason}") from None
            announce(f"Serving the console at http://{_announced(host, runner.addresses)}")
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)
            # A console's own error output (textual-serve copies it to stdout when the
            # session ends) goes to stderr: stdout is the address line, for scripts.
            with contextlib.redirect_stdout(_NoteStream(self.note)):
                await stop.wait()
                await self.close_sessions()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            await runner.cleanup()
            textual_log.removeHandler(handler)
            textual_log.propagate = True

    async def close_sessions(self) -> None:
        if self._handlers:
            self.note(f"Stopping: ending {len(self._handlers)} session(s).")
        for socket in list(self._sockets):
            with contextlib.suppress(Exception):
                await socket.close()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=STOP_TIMEOUT + 1)


class _NoteStream(TextIOBase):
    """A text stream whose complete lines go to ``note`` (stderr)."""

    def __init__(self, note: Callable[[str], None]) -> None:
        super().__init__()
        self._note = note
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self._note(line)
        return len(text)

    def flush(self) -> None:
        if self._partial.strip():
            self._note(self._partial)
        self._partial = ""


async def _relay(socket: web.WebSocketResponse, service: AppService) -> None:
    """The page's messages to the console: keys, resizes, focus. Malformed ones are
    dropped (textual-serve's own loop would end the session on them)."""
    from aiohttp import WSMsgType

    async for message in socket:
        if message.type is not WSMsgType.TEXT:
            continue
        try:
            envelope = message.json()
            kind = envelope[0]
        except (ValueError, TypeError, IndexError, KeyError):
            continue
        if kind == "stdin" and len(envelope) > 1 and isinstance(envelope[1], str):
            await service.send_bytes(envelope[1].encode("utf-8"))
        elif kind == "resize" and len(envelope) > 1 and isinstance(envelope[1], dict):
            size = envelope[1]
            await service.set_terminal_size(
                _clamp(size.get("width"), 80, COLUMNS_RANGE),
                _clamp(size.get("height"), 24, ROWS_RANGE),
            )
        elif kind == "ping" and len(envelope) > 1:
            await socket.send_json(["pong", envelope[1]])
        elif kind == "blur":
            await service.blur()
        elif kind == "focus":
            await service.focus()


async def _stop(service: AppService) -> None:
    """Ask the console to quit; kill it if it has not within ``STOP_TIMEOUT``."""
    process = service._process  # textual-serve keeps no other handle on it
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STOP_TIMEOUT):
            await service.stop()
            if process is not None:
                await process.wait()
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
