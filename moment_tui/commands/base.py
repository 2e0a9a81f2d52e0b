"""What every subcommand shares: streams, exit codes, one-line errors, the workspace."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from moment_tui import __version__
from moment_tui.config import Settings, default_config_dir, load_settings
from moment_tui.secrets import SecretStore

if TYPE_CHECKING:
    from moment_tui.api.client import MomentClient
    from moment_tui.store.workspace import Workspace

PROG = "moment-tui"
T = TypeVar("T")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage: printed as one line, exit status 2."""


class CommandFailed(Exception):
    """A failure the user can act on (a file that cannot be opened, a refused write):
    printed as one line, exit status 1."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


@dataclass
class Io:
    """The streams and environment a command uses; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    # Not in repr: it holds MOMENT_API_KEY and MOMENT_WEBHOOK_SECRET in clear.
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    store: SecretStore | None = None
    # The top-level console flags (--api-url, --sandbox, --listen, --read-only), parsed
    # once by ``main()``; every command's settings honour them.
    flags: Mapping[str, Any] = field(default_factory=dict)

    # Said once on stderr if stdout is closed (`… | head -1`); a command that goes on
    # working after that (listen) says what becomes of its work.
    closed_note: str = "output stops here"
    stdout_closed: bool = field(default=False, init=False)

    def out(self, text: str = "") -> None:
        if self.stdout_closed:
            return
        try:
            print(text, file=self.stdout, flush=True)
        except BrokenPipeError:
            self.stdout_closed = True
            _discard_stdout(self.stdout)
            self.err(f"{PROG}: standard output was closed; {self.closed_note}")

    def err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def interactive(self) -> bool:
        """May a command prompt? Only with a person at a terminal on every stream: the
        answer is read from stdin, the prompt goes to stderr, and a stdout that is not a
        terminal (a pipe, a file, a script) means no prompt at all."""
        return self.stdin.isatty() and self.stdout.isatty() and self.stderr.isatty()

    def settings(self, flags: Mapping[str, Any] | None = None) -> Settings:
        """Settings from the console flags (``flags`` added on top), env, file, defaults."""
        merged = {**self.flags, **(flags or {})}
        return load_settings(env=self.env, flags=merged, store=self.secret_store())

    def secret_store(self) -> SecretStore:
        if self.store is None:
            self.store = SecretStore(default_config_dir(), notice=self.err)
        return self.store


def _discard_stdout(stream: TextIO) -> None:
    """Point a closed process stdout at /dev/null, so the interpreter's flush at exit
    does not fail again (the Python docs' advice for SIGPIPE)."""
    if stream is not sys.stdout:
        return
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


Handler = Callable[[argparse.Namespace, Io], int]


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")


# What opening a SQLite file can raise: a directory or unreadable path (OSError or
# sqlite3.OperationalError), a file that is not a database (sqlite3.DatabaseError),
# a schema from a newer moment-tui (RuntimeError).
OPEN_ERRORS = (OSError, sqlite3.Error, RuntimeError)


def open_failure(what: str, path: object, exc: BaseException) -> CommandFailed:
    """One line saying why ``path`` could not be opened."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return CommandFailed(f"cannot open the {what} {path}: {reason or type(exc).__name__}")


def __getattr__(name: str) -> Any:
    """``Workspace`` is imported when a command first opens one, not with this module:
    the console's first paint does not need the store (or pydantic behind it)."""
    if name == "Workspace":
        from moment_tui.store.workspace import Workspace

        globals()[name] = Workspace
        return Workspace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_workspace(settings: Settings) -> Workspace:
    """The workspace of the Moment these settings point at; :class:`CommandFailed` if
    it cannot be opened."""
    from moment_tui.store.workspace import workspace_path

    path = workspace_path(settings.data_dir, settings.mode, settings.api_url)
    # Looked up here, not bound at import: see __getattr__ (tests replace it too).
    workspace_class: type[Workspace] = globals().get("Workspace") or __getattr__("Workspace")
    try:
        return workspace_class(path, retention=settings.event_retention)
    except OPEN_ERRORS as exc:
        raise open_failure("workspace", path, exc) from None


def read_workspace(settings: Settings, read: Callable[[sqlite3.Connection], T], missing: T) -> T:
    """Open the workspace, run one read, close it; ``missing`` when there is no
    workspace yet (a read creates none); :class:`CommandFailed` on a database that opens
    but cannot be read (say, tables from another program)."""
    from moment_tui.store.workspace import workspace_path

    if not workspace_path(settings.data_dir, settings.mode, settings.api_url).exists():
        return missing
    workspace = open_workspace(settings)
    try:
        return workspace.query(read)
    except sqlite3.Error as exc:
        raise open_failure("workspace", workspace.path, exc) from None
    finally:
        workspace.close()


def api_client(settings: Settings) -> MomentClient | None:
    """A client for the configured API, or None in sandbox mode (no key). With
    ``read_only`` the client refuses every write before sending it."""
    if settings.mode == "sandbox" or settings.api_key is None:
        return None
    from moment_tui.api.client import MomentClient

    return MomentClient(
        settings.api_key.reveal(), base_url=settings.api_url, read_only=settings.read_only
    )


def ascii_digits(text: str) -> bool:
    """True for ``"123"``; False for ``"²"`` or ``"٣"``, which ``str.isdigit`` accepts but
    ``int`` does not (or reads as a number nobody typed on purpose)."""
    return text.isascii() and text.isdigit()


def port(text: str) -> int:
    if not ascii_digits(text) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {text!r}")
    return int(text)


MAX_COUNT = 1_000_000  # --limit, --repeat: more is a typo, not a plan


def not_empty(text: str) -> str:
    """A value that must say something: ``--bill ''`` is a mistake, not "no bill"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a value, not an empty string")
    return text.strip()


def positive_int(text: str) -> int:
    if not ascii_digits(text) or not 1 <= int(text) <= MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAX_COUNT:,}, not {text!r}"
        )
    return int(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value
