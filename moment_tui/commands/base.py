"""What every subcommand shares: streams, exit codes, one-line usage errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

from moment_tui import __version__
from moment_tui.api.client import MomentClient
from moment_tui.config import Settings, default_config_dir, load_settings
from moment_tui.secrets import SecretStore
from moment_tui.store.workspace import Workspace, workspace_path

PROG = "moment-tui"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage: printed as one line, exit status 2."""


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
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    store: SecretStore | None = None

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def interactive(self) -> bool:
        return self.stdin.isatty() and self.stderr.isatty()

    def settings(self, flags: Mapping[str, Any] | None = None) -> Settings:
        return load_settings(env=self.env, flags=flags, store=self.secret_store())

    def secret_store(self) -> SecretStore:
        if self.store is None:
            self.store = SecretStore(default_config_dir(), notice=self.err)
        return self.store


Handler = Callable[[argparse.Namespace, Io], int]


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")


def open_workspace(settings: Settings) -> Workspace:
    """The workspace of the Moment these settings point at."""
    return Workspace(workspace_path(settings.data_dir, settings.mode, settings.api_url))


def api_client(settings: Settings) -> MomentClient | None:
    """A client for the configured API, or None in sandbox mode (no key)."""
    if settings.mode == "sandbox" or settings.api_key is None:
        return None
    return MomentClient(settings.api_key.reveal(), base_url=settings.api_url)


def port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {text!r}")
    return int(text)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value
