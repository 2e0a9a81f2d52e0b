"""``listen``, ``trigger`` and ``events``: webhook debugging without the UI."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from moment_tui.api.kinds import AMOUNT_APPLIED
from moment_tui.commands.base import (
    EXIT_FAILED,
    EXIT_OK,
    CommandFailed,
    Io,
    UsageError,
    add_version,
    api_client,
    ascii_digits,
    not_empty,
    open_workspace,
    port,
    positive_int,
    read_workspace,
)
from moment_tui.config import Settings, parse_destination_url, parse_host, parse_path
from moment_tui.money import MoneyError, check_currency, parse_minor
from moment_tui.secrets import SecretFormatError, check_webhook_secret, secret_length_note

if TYPE_CHECKING:  # the listener, HTTP client and stores load when a command runs
    from moment_tui.api.kinds import ObjectKind
    from moment_tui.store.applications import Application
    from moment_tui.store.eventlog import Delivery
    from moment_tui.webhooks.outbound import SendResult


EVENTS_LIMIT = 20  # deliveries `events` shows unless --limit says otherwise


def register(sub: Any) -> None:
    listen = sub.add_parser(
        "listen",
        help="receive, verify and log webhooks without the UI",
        description="Run the webhook listener headless. The first stdout line is always "
        "'Listening on http://HOST:PORT/PATH'; then one line per delivery.",
    )
    add_version(listen)
    listen.add_argument("--host", help="bind address (default from MOMENT_LISTEN or 127.0.0.1)")
    listen.add_argument("--port", type=port, help="port; 0 picks a free one (default 8765)")
    listen.add_argument("--path", help="webhook path (default /webhooks/moment)")
    _secret_option(listen)
    listen.add_argument(
        "--forward-to", type=not_empty, metavar="URL", help="re-post verified events here"
    )
    listen.add_argument("--json", action="store_true", help="one JSON object per line")
    listen.set_defaults(handler=cmd_listen)

    trigger = sub.add_parser(
        "trigger",
        help="send a correctly signed event about one of your objects",
        description="Send signed obligation.amount_applied deliveries to a webhook handler. "
        "Exit status 1 if the handler rejected any of them.",
    )
    add_version(trigger)
    trigger.add_argument("event_type", choices=[AMOUNT_APPLIED], metavar=AMOUNT_APPLIED)
    trigger.add_argument("--to", required=True, metavar="URL", help="the handler's URL")
    _secret_option(trigger)
    trigger.add_argument("--amount", required=True, help="amount in major units, e.g. 20.00")
    trigger.add_argument("--currency", default="ZAR", help="ISO 4217 code (default ZAR)")
    target = trigger.add_mutually_exclusive_group(required=True)
    for kind in ("bill", "account", "customer"):
        target.add_argument(
            f"--{kind}", type=not_empty, metavar="ID", help=f"the {kind} (id or reference)"
        )
    trigger.add_argument("--repeat", type=positive_int, default=1, metavar="N")
    trigger.add_argument("--same-id", action="store_true", help="redeliver one webhook-id")
    trigger.add_argument("--tamper", action="store_true", help="alter the body after signing")
    trigger.add_argument("--stale", action="store_true", help="sign 10 minutes in the past")
    trigger.add_argument("--json", action="store_true", help="one JSON object per delivery")
    trigger.set_defaults(handler=cmd_trigger)

    events = sub.add_parser("events", help="read (and replay) the webhook event log")
    add_version(events)
    events.add_argument(
        "--limit",
        type=positive_int,
        default=EVENTS_LIMIT,
        metavar="N",
        help=f"show the newest N deliveries (default {EVENTS_LIMIT})",
    )
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(handler=cmd_events)
    events_sub = events.add_subparsers(dest="events_command", metavar="COMMAND")
    replay = events_sub.add_parser(
        "replay",
        help="re-send a stored delivery",
        description="Re-send a stored delivery: a verified one signed afresh (same body and "
        "webhook-id, new timestamp, as Moment retries); a rejected one exactly as it arrived.",
    )
    add_version(replay)
    replay.add_argument("id", metavar="ID", help="the delivery's number or webhook-id")
    replay.add_argument("--to", metavar="URL", help="where to send it (default: the listener)")
    replay.add_argument("--json", action="store_true", help="print the result as JSON")
    replay.set_defaults(handler=cmd_replay)


def _secret_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secret",
        action="append",
        type=not_empty,
        metavar="WHSEC",
        help="webhook signing secret (repeat for rotation; default MOMENT_WEBHOOK_SECRET)",
    )


def answer_text(result: SendResult) -> str:
    """The handler's answer in one short line: the send error, else status and body."""
    return result.error or f"{result.status} {(result.response or '').strip()[:200]}"


def _secrets(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    given: Sequence[str] = [part for value in (args.secret or []) for part in value.split()]
    if not given:
        return tuple(s.reveal() for s in settings.webhook_secrets)
    for secret in given:
        try:
            check_webhook_secret(secret)
        except SecretFormatError as exc:
            raise UsageError(f"--secret: {exc}") from None
    return tuple(given)


# --- listen -----------------------------------------------------------------------------


def cmd_listen(args: argparse.Namespace, io: Io) -> int:
    from moment_tui.webhooks.headless import ListenOptions, run_listen

    settings = io.settings()
    secrets = _secrets(args, settings)
    if args.forward_to:
        args.forward_to = parse_destination_url(args.forward_to, "--forward-to")
    path = settings.listen_path if args.path is None else parse_path(args.path, "--path")
    host = settings.listen.host if args.host is None else parse_host(args.host, "--host")
    options = ListenOptions(
        host=host,
        port=settings.listen.port if args.port is None else args.port,
        path=path,
        secrets=secrets,
        tolerance=settings.webhook_tolerance,
        max_body=settings.webhook_max_body,
        forward_to=args.forward_to,
        json=args.json,
    )
    if not secrets:
        io.err(
            "No webhook secret configured: every delivery will be rejected "
            "(no_secret_configured). Pass --secret or set MOMENT_WEBHOOK_SECRET."
        )
    for note in filter(None, map(secret_length_note, secrets)):
        io.err(f"Note: {note}.")
    workspace = open_workspace(settings)
    client = api_client(settings)
    io.closed_note = "still listening, deliveries are kept (see moment-tui events)"

    async def run() -> None:
        try:
            await run_listen(options, workspace, client, io.out)
        finally:
            if client is not None:
                await client.aclose()

    try:
        asyncio.run(run())
    except OSError as exc:
        io.err(f"moment-tui: listen: cannot listen on {options.host}:{options.port}: {exc}")
        return EXIT_FAILED
    finally:
        workspace.close()
    return EXIT_OK


# --- trigger ----------------------------------------------------------------------------


def cmd_trigger(args: argparse.Namespace, io: Io) -> int:
    from moment_tui.webhooks.trigger import TriggerError, build_body, fire, resolve

    settings = io.settings()
    secrets = _secrets(args, settings)
    if not secrets:
        raise UsageError(
            "trigger needs a signing secret: --secret whsec_… or MOMENT_WEBHOOK_SECRET"
        )
    args.to = parse_destination_url(args.to, "--to")
    try:
        currency = check_currency(args.currency)
        amount = parse_minor(args.amount, currency, minimum=1, maximum=99_999_999)
    except MoneyError as exc:
        raise UsageError(f"--amount/--currency: {exc}") from None
    kind: ObjectKind = (
        "bill" if args.bill is not None else "account" if args.account is not None else "customer"
    )
    ref = {"bill": args.bill, "account": args.account, "customer": args.customer}[kind]
    workspace = open_workspace(settings)
    client = api_client(settings)

    def show(result: SendResult) -> None:
        if args.json:
            io.out(json.dumps(result.as_json(), separators=(",", ":"), ensure_ascii=False))
        else:
            io.out(f"{result.webhook_id} → {answer_text(result)} ({result.latency_ms:.0f} ms)")

    async def run() -> list[SendResult]:
        try:
            target = await resolve(kind, ref, workspace, client)
            build_body(target, amount, currency)  # check the currency before sending
            io.err(f"{kind} {target.id}: ids {target.source}")
            return await fire(
                args.to,
                lambda: build_body(target, amount, currency),
                secrets,
                repeat=args.repeat,
                same_id=args.same_id,
                tamper=args.tamper,
                stale=args.stale,
                report=show,
            )
        finally:
            if client is not None:
                await client.aclose()

    try:
        results = asyncio.run(run())
    except TriggerError as exc:
        io.err(f"moment-tui: trigger: {exc}")
        return EXIT_FAILED
    finally:
        workspace.close()
    rejected = [r for r in results if not r.accepted]
    if rejected:
        io.err(f"{len(rejected)} of {len(results)} deliveries were not accepted")
        return EXIT_FAILED
    return EXIT_OK


# --- events -----------------------------------------------------------------------------


def cmd_events(args: argparse.Namespace, io: Io) -> int:
    from moment_tui.store import applications, eventlog
    from moment_tui.store.workspace import workspace_path
    from moment_tui.webhooks import report

    settings = io.settings()

    def read(conn: sqlite3.Connection) -> tuple[list[Delivery], dict[int, Application], int]:
        rows = eventlog.latest(conn, limit=args.limit)
        apps = applications.for_deliveries(conn, [d.seq for d in rows]) if args.json else {}
        total = len(rows)
        if total == args.limit and not args.json:  # perhaps more: the note says how many
            total = eventlog.count(conn)
        return rows, apps, total

    nothing: tuple[list[Delivery], dict[int, Application], int] = ([], {}, 0)
    rows, apps, total = read_workspace(settings, read, missing=nothing)
    for delivery in reversed(rows):
        if args.json:
            item = report.as_json(delivery)
            app = apps.get(delivery.seq)
            item["applied"] = None if app is None else applications.as_json(app)
            io.out(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
        else:
            io.out(f"#{delivery.seq:<6} {report.line(delivery, from_log=True)}")
    if args.json:  # stdout is the data and stderr stays quiet: scripts pass --limit
        return EXIT_OK
    if not rows:
        path = workspace_path(settings.data_dir, settings.mode, settings.api_url)
        io.err(f"No deliveries yet in {path}")
    elif total > len(rows):
        io.err(f"Showing the last {len(rows)} of {total} deliveries (--limit N for more).")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace, io: Io) -> int:
    """Re-send a stored delivery. A verified (or duplicate) one goes out as Moment's own
    retry would: the same body and ``webhook-id``, signed afresh with a new timestamp.
    A rejected one goes out exactly as it arrived, its own headers and body, so the
    handler meets the same fault; signing it here would vouch for a forgery."""
    import httpx

    from moment_tui.store import eventlog
    from moment_tui.webhooks.outbound import SEND_TIMEOUT, send_as_received
    from moment_tui.webhooks.signing import new_message_id
    from moment_tui.webhooks.trigger import fire

    settings = io.settings()
    _check_delivery_ref(args.id)
    secrets = tuple(s.reveal() for s in settings.webhook_secrets)
    url = args.to or f"http://{settings.listen}{settings.listen_path}"
    url = parse_destination_url(url, "--to")

    def find(conn: sqlite3.Connection) -> tuple[Delivery, dict[str, str], bytes, bool] | None:
        delivery = eventlog.find(conn, args.id)
        stored = eventlog.raw_and_cut(conn, delivery.seq) if delivery else None
        if delivery is None or stored is None:
            return None
        return delivery, *stored

    found = read_workspace(settings, find, missing=None)
    if found is None:
        raise UsageError(f"no delivery {args.id!r} in the event log (see moment-tui events)")
    delivery, headers, body, cut = found
    as_received = delivery.verdict == "rejected"
    if as_received and cut:
        raise CommandFailed(
            f"replay: #{delivery.seq} was over the size limit and only the head of its body "
            "was kept; it cannot be sent again"
        )
    if as_received and delivery.reason == "body_unreadable":
        # Sent whole, the part that arrived would meet another fault (a bad signature).
        raise CommandFailed(
            f"replay: #{delivery.seq}'s body did not arrive whole (only what did is kept); "
            "it cannot be sent again as it arrived"
        )
    if not as_received and not secrets:
        raise UsageError("replay signs afresh and needs MOMENT_WEBHOOK_SECRET (or login)")
    webhook_id = delivery.webhook_id or new_message_id()
    how = f" as received (rejected: {delivery.reason})" if as_received else ""

    def show(result: SendResult) -> None:
        if args.json:
            data = {**result.as_json(), "as_received": as_received}
            io.out(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
        else:
            io.out(f"replayed #{delivery.seq} ({webhook_id}){how} → {answer_text(result)}")

    async def resend() -> list[SendResult]:
        if not as_received:
            return await fire(url, lambda: body, secrets, webhook_id=webhook_id, report=show)
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as http:
            result = await send_as_received(http, url, body, headers)
        show(result)
        return [result]

    results = asyncio.run(resend())
    return EXIT_OK if all(r.accepted for r in results) else EXIT_FAILED


def _check_delivery_ref(ref: str) -> None:
    """A delivery number (ASCII digits) or a webhook-id. Digits that are not ASCII
    ("²", "٣") are neither: the event log would read them as a number and fail."""
    if not ref.strip() or (ref.isdigit() and not ascii_digits(ref)):
        raise UsageError(
            f"replay: {ref!r} is not a delivery number or a webhook-id (see moment-tui events)"
        )
