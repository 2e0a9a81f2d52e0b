"""``moment-tui``: the console and its subcommands.

Exit codes: 0 success, 1 a failure the user can act on (the API refused, a delivery
was rejected, a file that cannot be opened), 2 bad usage; either way one line on
stderr. Messages go to stderr and data to stdout; nothing here prompts or colours when
the stream is not a terminal.

The top-level console flags (``--api-url``, ``--sandbox``, ``--listen``,
``--read-only``) are parsed once in :func:`main` and apply to every subcommand.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
from collections.abc import Callable, Sequence
from typing import Any

from moment_tui.commands import bulk, demo, doctor, sandbox, serve, webhooks
from moment_tui.commands.base import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandFailed,
    Handler,
    Io,
    Parser,
    UsageError,
    add_version,
)
from moment_tui.config import (
    SECRET_VARIABLES,
    ConfigError,
    Settings,
    parse_api_url,
    parse_listen,
)
from moment_tui.secrets import (
    SecretFileError,
    SecretFormatError,
    SecretName,
    check_api_key,
    check_webhook_secrets,
    is_live_key,
    mask,
    secret_length_note,
)
from moment_tui.ui.demo import run_demo

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailed",
    "Io",
    "UsageError",
    "build_parser",
    "main",
]

NEEDS_A_TERMINAL = (
    "the console needs a terminal; for scripts use `moment-tui listen` or `moment-tui events`"
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="A terminal console for Moment's Billing API. With no API key it runs "
        "on an embedded sandbox.",
    )
    add_version(parser)
    _add_console_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    login = sub.add_parser("login", help="store the API key and webhook secret")
    add_version(login)
    login.set_defaults(handler=cmd_login)

    logout = sub.add_parser("logout", help="forget the stored API key and webhook secret")
    add_version(logout)
    logout.set_defaults(handler=cmd_logout)

    sandbox.register(sub)
    webhooks.register(sub)
    bulk.register(sub)
    doctor.register(sub)
    serve.register(sub)
    demo.register(sub, console=run_demo)

    auth = sub.add_parser("auth", help="show where credentials come from")
    add_version(auth)
    auth_sub = auth.add_subparsers(dest="auth_command", metavar="COMMAND", parser_class=Parser)
    auth_sub.required = True
    status = auth_sub.add_parser("status", help="which key and secret are in use (masked)")
    add_version(status)
    status.set_defaults(handler=cmd_auth_status)
    return parser


def _add_console_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-url", metavar="URL", help="Moment API base URL")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=None,
        help="use the embedded sandbox even if an API key is configured",
    )
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="webhook listener address (default 127.0.0.1:8765)"
    )
    parser.add_argument(
        "--read-only", action="store_true", default=None, help="refuse every write to the API"
    )


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    io = io or Io()
    parser = build_parser()
    # argparse prints --help, --version and usage errors to sys.stdout/sys.stderr;
    # send them to the command's own streams like every other message.
    with contextlib.redirect_stdout(io.stdout), contextlib.redirect_stderr(io.stderr):
        args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", cmd_console)
    try:
        io.flags = console_flags(args)  # typed before any subcommand, they apply to it
        return handler(args, io)
    except (UsageError, ConfigError) as exc:
        io.err(f"{PROG}: {exc}")
        return EXIT_USAGE
    except (CommandFailed, SecretFileError) as exc:
        io.err(f"{PROG}: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        io.err(f"{PROG}: interrupted")
        return 130
    except Exception as exc:  # a bug: still one line, unless the traceback is asked for
        if io.env.get("MOMENT_DEBUG"):
            raise
        io.err(
            f"{PROG}: unexpected error ({type(exc).__name__}: {exc}); "
            "MOMENT_DEBUG=1 shows the traceback — please report it"
        )
        return EXIT_FAILED


# --- the console ---------------------------------------------------------------------


def console_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The top-level flags as settings overrides (None where not given)."""
    flags: dict[str, Any] = {
        "sandbox": args.sandbox,
        "read_only": args.read_only,
    }
    if args.api_url is not None:
        flags["api_url"] = parse_api_url(args.api_url, "--api-url")
    if args.listen is not None:
        flags["listen"] = parse_listen(args.listen, "--listen")
    return flags


def cmd_console(args: argparse.Namespace, io: Io) -> int:
    if not serve.can_draw(io):
        raise UsageError(NEEDS_A_TERMINAL)
    settings = io.settings()
    from moment_tui.ui.factory import create_app

    app = create_app(settings)
    app.run()
    return app.return_code or EXIT_OK


# --- credentials ---------------------------------------------------------------------


def cmd_login(args: argparse.Namespace, io: Io) -> int:
    store = io.secret_store()
    if io.interactive():
        key = _prompt(io, "Moment API key (sk_test_… or sk_…): ", check_api_key)
        secret = _prompt(
            io,
            "Webhook signing secret(s) (whsec_…, space-separated; Enter to skip): ",
            check_webhook_secrets,
            True,
        )
    else:
        if io.stdin.isatty():
            # A person typing, but no prompt allowed (stdout is a pipe or a file):
            # reading lines here would echo the key on their screen.
            raise UsageError(
                "login: standard output is not a terminal; run login at a terminal, "
                "or pipe the key (and secret) on stdin"
            )
        # No terminal: read the key and (optionally) the secret as lines, no prompt.
        lines = [line.strip() for line in io.stdin.read().splitlines() if line.strip()]
        if not lines:
            raise UsageError("login: no terminal to prompt on; pipe the key (and secret) on stdin")
        if len(lines) > 2:
            raise UsageError(
                f"login: {len(lines)} lines on stdin; expected the API key, then optionally "
                "one line of webhook secrets separated by spaces"
            )
        key = _checked(check_api_key, lines[0], "API key")
        secret = ""
        if len(lines) > 1:
            secret = _checked(check_webhook_secrets, lines[1], "webhook secret")
    where = store.set("api_key", key)
    mode = "LIVE" if is_live_key(key) else "test"
    io.err(f"Stored API key {mask(key)} ({mode} mode) in {where}.")
    if secret:
        where = store.set("webhook_secret", secret)
        parts = secret.split()
        label = "webhook secret" if len(parts) == 1 else f"{len(parts)} webhook secrets"
        io.err(f"Stored {label} {' '.join(mask(p) for p in parts)} in {where}.")
        for note in filter(None, map(secret_length_note, parts)):
            io.err(f"Note: {note}.")
    if mode == "LIVE":
        io.err(
            "This key moves real money: the console shows a LIVE banner; "
            "commands that write ask first."
        )
    _env_wins_note(io, ("api_key", "webhook_secret"))
    return EXIT_OK


def _prompt(
    io: Io, label: str, check: Callable[[str], str], optional: bool = False, tries: int = 3
) -> str:
    for _ in range(tries):
        try:
            value = getpass.getpass(label, stream=io.stderr).strip()
        except EOFError:  # Ctrl-D at the prompt
            raise UsageError("login: no value entered (end of input); nothing was stored") from None
        if not value and optional:
            return ""
        try:
            return check(value)
        except SecretFormatError as exc:
            io.err(f"  {exc}")
    raise UsageError("login: no valid value entered")


def _checked(check: Callable[[str], str], value: str, what: str) -> str:
    try:
        return check(value)
    except SecretFormatError as exc:
        raise UsageError(f"login: {what}: {exc}") from None


def cmd_logout(args: argparse.Namespace, io: Io) -> int:
    store = io.secret_store()
    names: tuple[SecretName, ...] = ("api_key", "webhook_secret")
    removed_any = unsure = False
    for name in names:
        label = name.replace("_", " ")
        removal = store.delete(name)
        for place in removal.places:
            removed_any = True
            io.err(f"Removed {label} from {place}.")
        if removal.problem:
            unsure = True
            io.err(f"Could not check or clear the {label} in the keyring: {removal.problem}.")
    if unsure:
        io.err("It may still be stored there; try again, or remove it with your keyring tool.")
    elif not removed_any:
        io.err("Nothing was stored.")
    _env_wins_note(io, names)
    return EXIT_FAILED if unsure else EXIT_OK


def _env_wins_note(io: Io, names: Sequence[SecretName]) -> None:
    for name in names:
        variable = SECRET_VARIABLES[name]
        if io.env.get(variable, "").strip():
            io.err(f"Note: {variable} is set in the environment and takes precedence.")


def cmd_auth_status(args: argparse.Namespace, io: Io) -> int:
    settings = io.settings()
    key = settings.api_key
    url, url_source = settings.api_url, settings.sources.get("api_url", "default")
    if settings.mode == "sandbox":  # the URL is not used: say when it would be
        applies = "without --sandbox" if key is not None else "only with a key"
        api = ("API", f"the embedded sandbox; {url} ({url_source}) applies {applies}")
    else:
        api = ("API URL", f"{url}  ({url_source})")
    rows = [
        ("Mode", _mode_text(settings)),
        api,
        ("API key", f"{key or '(none)'}  ({settings.sources.get('api_key')})"),
    ]
    secrets = settings.webhook_secrets
    secret_text = " ".join(str(s) for s in secrets) if secrets else "(none)"
    rows.append(("Webhook secret", f"{secret_text}  ({settings.sources.get('webhook_secret')})"))
    if settings.read_only:
        source = settings.sources.get("read_only")
        rows.append(("Read-only", f"yes: writes to the API are refused  ({source})"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        io.out(f"{label.ljust(width)}  {value}")
    return EXIT_OK


def _mode_text(settings: Settings) -> str:
    if settings.mode == "sandbox" and settings.api_key is not None:
        return "sandbox (--sandbox: the console runs on the embedded sandbox; the key is unused)"
    return {
        "sandbox": "sandbox (no API key: the console runs on the embedded sandbox)",
        "test": "test (sk_test_ key: no real money moves)",
        "live": "LIVE (real money; the console shows a LIVE banner; commands that write ask first)",
    }[settings.mode]
