"""``moment-tui sandbox``: run the embedded sandbox on its own."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, Final

from moment_tui.commands.base import (
    EXIT_OK,
    OPEN_ERRORS,
    CommandFailed,
    Io,
    UsageError,
    add_version,
    ascii_digits,
    not_empty,
    open_failure,
    port,
    positive_float,
)
from moment_tui.config import is_loopback, parse_destination_url, parse_host
from moment_tui.secrets import SecretFormatError, check_webhook_secret

MAX_LATENCY_MS: Final = 60_000


def register(sub: Any) -> None:
    sandbox = sub.add_parser(
        "sandbox",
        help="run the local Moment-compatible sandbox API",
        description="Run the embedded sandbox: a local Moment-compatible Billing API on "
        "loopback, backed by SQLite, that sends real signed webhooks. The first line on "
        "stdout is always 'Sandbox API: http://HOST:PORT'.",
    )
    add_version(sandbox)
    sandbox.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=port, default=0, help="port; 0 picks a free one")
    sandbox.add_argument(
        "--db",
        type=not_empty,
        default=":memory:",
        metavar="PATH",
        help="SQLite file, or :memory: (default; everything, pending webhooks included, "
        "is lost when the sandbox stops: pass a file to keep data and resume deliveries)",
    )
    sandbox.add_argument(
        "--webhook-url", type=not_empty, metavar="URL", help="where to deliver webhooks"
    )
    sandbox.add_argument(
        "--webhook-secret",
        type=not_empty,
        metavar="WHSEC",
        help="signing secret(s), space-separated (default: MOMENT_WEBHOOK_SECRET)",
    )
    sandbox.add_argument("--seed", action="store_true", help="fill an empty sandbox with demo data")
    sandbox.add_argument(
        "--demo-payments",
        type=positive_float,
        metavar="EVERY_SECONDS",
        help="make a random payment every so many seconds",
    )
    sandbox.add_argument(
        "--retry-schedule",
        type=_schedule,
        metavar="S,S,…",
        help="seconds to wait before each retry of a failed webhook delivery; the first "
        "attempt is immediate, so N delays mean up to N+1 attempts; 'none' for no retries "
        "(default 1,5,30,120,300,600)",
    )
    sandbox.add_argument(
        "--latency", type=_latency, default=0, metavar="MS", help="delay every API answer by MS"
    )
    sandbox.set_defaults(handler=cmd_sandbox)


def _latency(text: str) -> int:
    if not ascii_digits(text) or int(text) > MAX_LATENCY_MS:
        raise argparse.ArgumentTypeError(
            f"expected whole milliseconds from 0 to {MAX_LATENCY_MS:,}, not {text!r}"
        )
    return int(text)


def _schedule(text: str) -> tuple[float, ...]:
    """The delays before each retry: ``1,5,30`` (seconds), or ``none`` for no retries."""
    if text.strip().lower() == "none":
        return ()
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        delays = ()
    # float() also reads "nan" and "inf": neither is a delay anyone can wait out.
    if not delays or not all(0 <= d < 1e9 for d in delays):
        raise argparse.ArgumentTypeError(
            "expected comma-separated seconds before each retry, e.g. 1,5,30 (or none)"
        )
    return delays


def cmd_sandbox(args: argparse.Namespace, io: Io) -> int:
    from moment_tui.sandbox.delivery import DEFAULT_SCHEDULE
    from moment_tui.sandbox.server import SandboxConfig, serve_forever

    secrets: tuple[str, ...] = ()
    if args.webhook_secret:
        secrets = tuple(args.webhook_secret.split())
        for secret in secrets:
            try:
                check_webhook_secret(secret)
            except SecretFormatError as exc:
                raise UsageError(f"--webhook-secret: {exc}") from None
    elif args.webhook_url:
        secrets = tuple(s.reveal() for s in io.settings().webhook_secrets)
    if args.webhook_url:
        args.webhook_url = parse_destination_url(args.webhook_url, "--webhook-url")
        if not secrets:
            raise UsageError(
                "--webhook-url needs a signing secret: pass --webhook-secret whsec_… "
                "or set MOMENT_WEBHOOK_SECRET"
            )
    host = parse_host(args.host, "--host")
    if not is_loopback(host):
        io.err(
            f"Note: --host {host} lets other machines reach this sandbox, which takes any "
            "sk_test_ key and whose bill pages need none."
        )
    config = SandboxConfig(
        host=host,
        port=args.port,
        db_path=args.db,
        webhook_url=args.webhook_url,
        webhook_secrets=secrets,
        retry_schedule=DEFAULT_SCHEDULE if args.retry_schedule is None else args.retry_schedule,
        seed=args.seed,
        demo_payments=args.demo_payments,
        latency_ms=args.latency,
    )
    try:
        asyncio.run(serve_forever(config, io.out, io.err))
    except OPEN_ERRORS as exc:
        raise _start_failure(exc, args) from None
    return EXIT_OK


def _start_failure(exc: BaseException, args: argparse.Namespace) -> CommandFailed:
    """Why the sandbox did not start, in one line: the address or the database."""
    if _is_bind_error(exc):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return CommandFailed(f"sandbox: cannot listen on {args.host}:{args.port}: {reason}")
    return open_failure("sandbox database", args.db, exc)


def _is_bind_error(exc: BaseException) -> bool:
    """An OSError from the socket (address in use, not available, unresolvable host),
    not from a file: file errors name their file, socket errors do not."""
    return isinstance(exc, OSError) and exc.filename is None and exc.filename2 is None
