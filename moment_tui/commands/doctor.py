"""``moment-tui doctor``: is this machine ready for Moment to register its webhook URL?

Moment registers a merchant's webhook URL by hand. Before asking, a developer needs: an
API key the API accepts, a well-formed webhook signing secret, a listener address that
is free, a clock in step with Moment's (deliveries are judged within a 3-minute window),
and, when testing locally, a tunnel that carries a delivery to the listener. Each check
prints one line, and a failure its fix on the next; then what to send Moment. ``--json``
prints one object instead. Exit status 0 when nothing failed, 1 otherwise, 2 for bad
usage (a ``--public-url`` that is not an http(s) URL, or plain http off this machine).

Doctor is about a real Moment: with no API key it does not fall back to the sandbox, it
says how to add one and skips the checks that need it. It never writes to the API (one
read-only probe, plus one request for the clock), and the test delivery goes to a
listener with a throwaway workspace in a temporary directory, so the workspace's
catalogue and event log are untouched. Keys and secrets appear only masked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import errno
import json
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from moment_tui.api.kinds import AMOUNT_APPLIED
from moment_tui.commands.base import (
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    Io,
    UsageError,
    add_version,
    positive_float,
)
from moment_tui.config import (
    SECRET_VARIABLES,
    Listen,
    Settings,
    is_loopback,
    load_settings,
    locate_secret,
    parse_destination_url,
    parse_listen,
)
from moment_tui.secrets import (
    Located,
    Secret,
    SecretFormatError,
    SecretName,
    SecretStore,
    check_api_key,
    check_webhook_secret,
    is_live_key,
    mask,
    secret_length_note,
)

if TYPE_CHECKING:  # the HTTP client, listener and store load when the command runs
    from moment_tui.store.eventlog import Delivery
    from moment_tui.webhooks.outbound import SendResult

Status = Literal["ok", "warn", "fail", "skipped"]

CLOCK_FAIL: Final = 180  # seconds: Moment's window for a delivery's timestamp
CLOCK_WARN: Final = 30
DEFAULT_TIMEOUT: Final = 15.0  # seconds for the test delivery to come back
# The listener reports a delivery before it answers it, so by the time its answer has
# come back through a tunnel the report is in; this is for a tunnel that answers early.
ARRIVAL_GRACE: Final = 0.5
TEST_EVENT_TYPE: Final = "moment_tui.doctor.test"  # no handler can take it for a payment
EVENTS_WANTED: Final = (AMOUNT_APPLIED,)
KEY_VARIABLE: Final = SECRET_VARIABLES["api_key"]
SECRET_VARIABLE: Final = SECRET_VARIABLES["webhook_secret"]
TUNNEL_EXAMPLES: Final = "cloudflared tunnel --url http://{listen}, or ngrok http {listen}"


def register(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check what Moment needs before it registers your webhook URL",
        description="Check the API key, the API, the webhook secret, the listener "
        "address and this machine's clock, and with --public-url that a signed test "
        "delivery comes back through your tunnel; then print what to send Moment. "
        "Exit status 0 when nothing failed, 1 when something needs fixing.",
    )
    add_version(doctor)
    doctor.add_argument(
        "--public-url",
        metavar="URL",
        help="your tunnel's public https:// URL (ending in the listener path, "
        "/webhooks/moment by default): send one signed test delivery through it",
    )
    doctor.add_argument(
        "--listen",
        dest="doctor_listen",
        metavar="HOST:PORT",
        help="listener address to check (default: the --listen before the command, "
        "MOMENT_LISTEN, config.toml, or 127.0.0.1:8765)",
    )
    doctor.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long the test delivery may take (default {DEFAULT_TIMEOUT:g})",
    )
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(handler=cmd_doctor)


# --- the checklist ---------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str  # stable, for scripts: api_key, api, clock, webhook_secret, listener, tunnel
    label: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool | None:
        """True (ok, or a warning), False (failed), None (skipped)."""
        return None if self.status == "skipped" else self.status != "fail"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Credential:
    """A key or secret as found (env first, then the secret store), checked here
    rather than by the settings loader, which refuses a malformed one outright."""

    value: Secret | None = field(repr=False)
    source: str

    @property
    def where(self) -> str:
        """Where it came from, said briefly: from the keyring, from MOMENT_API_KEY…"""
        if self.source.endswith("(environment)"):
            return f"from {self.source.removesuffix(' (environment)')}"
        if self.source.startswith("keyring"):
            return "from the keyring"
        return f"from {self.source.removeprefix('file ')}"


def cmd_doctor(args: argparse.Namespace, io: Io) -> int:
    public_url = _public_url(args.public_url) if args.public_url is not None else None
    flags: dict[str, Any] = {}
    if args.doctor_listen is not None:
        flags["listen"] = parse_listen(args.doctor_listen, "--listen")
    settings, key, secret = _load(io, flags)
    symbols = _Symbols.for_stream(io.stdout)
    width = max(len(label) for label in LABELS.values())

    def show(check: Check) -> None:
        if not args.json:
            for line in _lines(check, symbols, width):
                io.out(line)

    checks = asyncio.run(_run(settings, key, secret, public_url, args.timeout, show))
    tunnel_passed = any(c.name == "tunnel" and c.status == "ok" for c in checks)
    failed = [c for c in checks if c.status == "fail"]
    send_to = _send_to_moment(settings, public_url, tunnel_passed, secret, not failed)
    if args.json:
        report = {
            "ok": not failed,
            "checks": [c.as_json() for c in checks],
            "send_to_moment": send_to,
        }
        io.out(json.dumps(report, separators=(",", ":"), ensure_ascii=False))
    else:
        io.out()
        for line in _send_lines(send_to):
            io.out(line)
        if not failed:
            io.out()
            io.out(_all_passed(send_to))
    if failed:
        names = ", ".join(c.label for c in failed)
        what = "check" if len(failed) == 1 else "checks"
        io.err(f"{PROG}: doctor: {len(failed)} {what} to fix: {names}")
        return EXIT_FAILED
    return EXIT_OK


LABELS: Final = {
    "api_key": "API key",
    "api": "API",
    "clock": "Clock",
    "webhook_secret": "Webhook secret",
    "listener": "Listener",
    "tunnel": "Tunnel",
}


def _check(name: str, status: Status, detail: str, fix: str | None = None) -> Check:
    return Check(name, LABELS[name], status, detail, fix)


async def _run(
    settings: Settings,
    key: Credential,
    secret: Credential,
    public_url: str | None,
    within: float,
    show: Callable[[Check], None],
) -> list[Check]:
    checks: list[Check] = []

    def done(check: Check) -> None:
        checks.append(check)
        show(check)

    key_check, usable_key = _key_check(key)
    done(key_check)
    if usable_key is None:
        why = "needs a usable API key"
        done(_check("api", "skipped", why))
        done(_check("clock", "skipped", f"{why} (the API's Date header is the reference)"))
    else:
        api_check, answered = await _api_check(settings.api_url, usable_key)
        done(api_check)
        if answered:
            done(await _clock_check(settings.api_url, usable_key))
        else:  # unreachable, or failing: not worth another wait
            done(_check("clock", "skipped", "needs an answer from the API"))
    secret_check, secrets = _secret_check(secret)
    done(secret_check)
    listener_check = _listener_check(settings)
    done(listener_check)
    if public_url is None:
        path = settings.listen_path
        done(_check("tunnel", "skipped", f"not checked: pass --public-url https://…{path}"))
    elif listener_check.status == "fail":
        done(_check("tunnel", "skipped", "the listener address is not free"))
    else:
        done(await _tunnel_check(settings, secrets, public_url, within))
    return checks


# --- settings, leniently ----------------------------------------------------------------


class _NoSecrets(SecretStore):
    """A store that holds nothing: the settings loader then leaves the key and secret
    to doctor, which reports a malformed one as a failed check instead of exiting 2."""

    def get(self, name: SecretName) -> Located:
        return Located(None, "checked by doctor")


def _load(io: Io, flags: Mapping[str, Any]) -> tuple[Settings, Credential, Credential]:
    store = io.secret_store()
    env = {k: v for k, v in io.env.items() if k not in SECRET_VARIABLES.values()}
    settings = load_settings(
        env=env, flags={**io.flags, **flags}, store=_NoSecrets(store.config_dir)
    )
    return settings, _locate(io, store, "api_key"), _locate(io, store, "webhook_secret")


def _locate(io: Io, store: SecretStore, name: SecretName) -> Credential:
    """As the settings loader finds it: the environment wins, then the store."""
    located = locate_secret(io.env, store, name)
    return Credential(located.value, located.source)


# --- the API key, the API and the clock ---------------------------------------------------


def _not_found(credential: Credential) -> str:
    """Why the store could not say, when it could not (a keyring that failed)."""
    why = credential.source.removeprefix("not found: ")
    return f" ({why})" if credential.source.startswith("not found: ") else ""


def _key_check(key: Credential) -> tuple[Check, str | None]:
    if key.value is None:
        detail = "not set" + _not_found(key)
        fix = f"run {PROG} login with your sk_test_… key from Moment, or set {KEY_VARIABLE}"
        return _check("api_key", "fail", detail, fix), None
    raw = key.value.reveal()
    try:
        check_api_key(raw)
    except SecretFormatError as exc:
        fix = f"run {PROG} login with the secret key (sk_test_… or sk_…) Moment gave you"
        if key.source.endswith("(environment)"):
            fix = f"set {KEY_VARIABLE} to the secret key (sk_test_… or sk_…) Moment gave you"
        return _check("api_key", "fail", f"{mask(raw)} {key.where} is not usable: {exc}", fix), None
    mode = "LIVE mode: real money" if is_live_key(raw) else "test mode"
    return _check("api_key", "ok", f"{mask(raw)} ({mode}, {key.where})"), raw


async def _api_check(api_url: str, key: str) -> tuple[Check, bool]:
    """The check, and whether the API answered at all (then its clock can be read)."""
    from moment_tui.api.client import MomentClient, RetryPolicy

    retry = RetryPolicy(max_attempts=2, total_budget=10.0)
    async with MomentClient(key, base_url=api_url, retry=retry, read_only=True) as client:
        probe = await client.probe()
    if probe.ok:
        detail = f"{api_url} answered in {probe.latency_ms:.0f} ms, key accepted"
        return _check("api", "ok", detail), True
    if probe.summary.startswith("key refused"):  # MomentClient.probe's words for 401/403
        fix = (
            f"check the key is current and meant for {api_url} ({PROG} auth status shows "
            f"which one is used); {PROG} login stores a new one"
        )
        return _check("api", "fail", f"{api_url}: {probe.summary}", fix), True
    fix = (
        "check the network and the API URL (--api-url, MOMENT_API_URL or api_url in "
        "config.toml; Moment's is https://api.momentpay.net)"
    )
    return _check("api", "fail", f"{api_url}: {probe.summary}", fix), False


async def _clock_check(api_url: str, key: str) -> Check:
    """This machine's UTC clock against the ``Date`` of an API answer (any status)."""
    import httpx

    from moment_tui import __version__
    from moment_tui.api.client import PROBE_REFERENCE

    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json",
        "Cache-Control": "no-cache",  # a cached answer carries an old Date
        "User-Agent": f"moment-tui/{__version__} (doctor)",
    }
    url = f"{api_url}/billing/customers/{PROBE_REFERENCE}"
    try:
        async with httpx.AsyncClient(timeout=10.0) as http, asyncio.timeout(15.0):
            sent = time.time()
            response = await http.get(url, headers=headers)
            received = time.time()
    except (httpx.HTTPError, TimeoutError) as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return _check("clock", "skipped", f"no answer from the API to compare with ({why})")
    date = response.headers.get("date", "")
    try:
        server = _http_date(date)
    except ValueError:
        return _check("clock", "skipped", "the API's answer has no usable Date header")
    # Date is the server's time rounded down to the second, taken while it answered.
    skew = (sent + received) / 2 - (server + 0.5)
    return _clock_verdict(skew)


def _http_date(text: str) -> float:
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(text) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _clock_verdict(skew: float) -> Check:
    seconds = round(abs(skew))
    if seconds <= 2:
        return _check("clock", "ok", "in step with the API's clock (within 2 s)")
    way = "ahead of" if skew > 0 else "behind"
    detail = f"this machine is {_duration(seconds)} {way} the API's clock"
    fix = (
        "turn on network time (Linux: timedatectl set-ntp true; macOS and Windows: set "
        "the date and time automatically)"
    )
    if seconds > CLOCK_FAIL:
        detail += f"; Moment's deliveries would fail the {CLOCK_FAIL // 60}-minute window"
        return _check("clock", "fail", detail, fix)
    if seconds > CLOCK_WARN:
        detail += f" (the window is {CLOCK_FAIL // 60} minutes)"
        return _check("clock", "warn", detail, fix)
    return _check("clock", "ok", detail)


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


# --- the webhook secret ----------------------------------------------------------------------


def _secret_check(secret: Credential) -> tuple[Check, tuple[str, ...]]:
    """The check, and the secrets to sign the test delivery with (none if unusable)."""
    fix = f"run {PROG} login, or set {SECRET_VARIABLE}"
    if secret.value is None:
        detail = "not set" + _not_found(secret)
        fix += " (Moment gives you the signing secret, whsec_…, when it registers the URL)"
        return _check("webhook_secret", "fail", detail, fix), ()
    parts = secret.value.reveal().split()
    labels = " ".join(mask(p) for p in parts)
    for part in parts:
        try:
            check_webhook_secret(part)
        except SecretFormatError as exc:
            detail = f"{mask(part)} {secret.where} is malformed: {exc}"
            fix = "copy the secret Moment gave you again, whole (whsec_ then base64); " + fix
            return _check("webhook_secret", "fail", detail, fix), ()
    rotation = f" ({len(parts)} secrets: a rotation)" if len(parts) > 1 else ""
    detail = f"{labels}{rotation} {secret.where}"
    notes = [n for n in map(secret_length_note, parts) if n]
    if notes:
        return _check("webhook_secret", "warn", f"{detail}; {'; '.join(notes)}"), tuple(parts)
    return _check("webhook_secret", "ok", detail), tuple(parts)


# --- the listener address ---------------------------------------------------------------------


def _listener_check(settings: Settings) -> Check:
    listen = settings.listen
    url = f"http://{listen}{settings.listen_path}"
    problem = _bind(listen)
    if problem is None:
        note = " (port 0: any free port; a tunnel needs a fixed one)" if not listen.port else ""
        return _check("listener", "ok", f"{listen} is free; webhooks at {url}{note}")
    detail, fix = problem
    return _check("listener", "fail", detail, fix)


def _bind(listen: Listen) -> tuple[str, str] | None:
    """Bind (and listen on) every address ``listen`` resolves to, as the listener
    does, then release them; None if all could be, else the problem and its fix."""
    try:
        infos = socket.getaddrinfo(
            listen.host, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        return (
            f"{listen.host} is not a name this machine can resolve ({exc})",
            "use an address such as 127.0.0.1: --listen 127.0.0.1:8765",
        )
    seen: set[tuple[int, Any]] = set()
    for family, kind, proto, _, address in infos:
        if (family, address) in seen:
            continue
        seen.add((family, address))
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(1)
        except OSError as exc:
            return _bind_problem(listen, exc)
        finally:
            sock.close()
    return None


def _bind_problem(listen: Listen, exc: OSError) -> tuple[str, str]:
    why = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{listen} is in use ({why})",
            f"another {PROG} console or listen is running (stop it), or pick --listen HOST:PORT",
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{listen.host} is not an address of this machine ({why})",
            "listen on 127.0.0.1 (a tunnel on this machine reaches it): "
            f"--listen 127.0.0.1:{listen.port}",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"may not listen on {listen} ({why})",
            "ports below 1024 need privileges: pick --listen HOST:PORT with a port from 1024 up",
        )
    return (f"cannot listen on {listen} ({why})", "pick --listen HOST:PORT")


# --- the tunnel ---------------------------------------------------------------------------------


def _public_url(text: str) -> str:
    url = parse_destination_url(text, "--public-url")
    parts = urlsplit(url)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise UsageError(
            "--public-url: Moment delivers to https:// URLs only; give your tunnel's "
            "https:// address (http:// is for this machine only: localhost, 127.0.0.1, ::1)"
        )
    return url


def doctor_event() -> bytes:
    """The test delivery's body: an event no handler can mistake for a payment."""
    from moment_tui.sandbox.ids import new_id

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "id": new_id("event"),
        "type": TEST_EVENT_TYPE,
        "data": {
            "note": f"a test delivery from {PROG} doctor; not a payment, nothing to apply",
            "created_at": now,
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


async def _tunnel_check(
    settings: Settings, secrets: tuple[str, ...], public_url: str, within: float
) -> Check:
    from moment_tui.webhooks.signing import new_message_id, new_webhook_secret

    listen = settings.listen
    tunnel_fix = f"start a tunnel to the listener, e.g. {TUNNEL_EXAMPLES.format(listen=listen)}"
    if not listen.port:
        return _check(
            "tunnel",
            "fail",
            "the listen port is 0 (any free port): a tunnel needs to know the port",
            "pick a fixed port: --listen 127.0.0.1:8765",
        )
    note = ""
    if not secrets:  # still worth knowing whether the tunnel works
        secrets, note = (new_webhook_secret(),), " (signed with a one-off secret: none is usable)"
    webhook_id = new_message_id()
    try:
        result, delivery = await _deliver_through(settings, secrets, public_url, webhook_id, within)
    except OSError as exc:
        return _check(
            "tunnel",
            "fail",
            f"could not start the listener on {listen}: {exc.strerror or exc}",
            "pick --listen HOST:PORT",
        )
    return _tunnel_verdict(settings, public_url, result, delivery, within, tunnel_fix, note)


async def _deliver_through(
    settings: Settings,
    secrets: tuple[str, ...],
    public_url: str,
    webhook_id: str,
    within: float,
) -> tuple[SendResult | None, Delivery | None]:
    """Start a listener (with a throwaway workspace), send one signed delivery to
    ``public_url`` and wait for its answer; the answer (None when there was none in
    ``within`` seconds) and what the listener received with that ``webhook-id``, if anything."""
    import httpx

    from moment_tui.store.workspace import Workspace
    from moment_tui.webhooks.listener import Listener, ListenerConfig
    from moment_tui.webhooks.outbound import send
    from moment_tui.webhooks.verify import Verifier

    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[Delivery] = loop.create_future()

    def on_delivery(delivery: Delivery) -> None:
        if delivery.webhook_id == webhook_id and not arrived.done():
            arrived.set_result(delivery)

    verifier = Verifier(
        secrets,
        tolerance_seconds=settings.webhook_tolerance,
        max_body_bytes=settings.webhook_max_body,
    )
    listen = settings.listen
    with tempfile.TemporaryDirectory(prefix="moment-tui-doctor-") as scratch:
        workspace = Workspace(Path(scratch) / "doctor.sqlite3", durable=False)
        listener = Listener(
            ListenerConfig(listen.host, listen.port, settings.listen_path),
            verifier,
            workspace,
            on_delivery,
        )
        try:
            await listener.start()
            result: SendResult | None = None
            with contextlib.suppress(TimeoutError):  # then no answer: result stays None
                async with httpx.AsyncClient(timeout=within) as http, asyncio.timeout(within):
                    result = await send(http, public_url, doctor_event(), secrets, webhook_id)
            if not arrived.done():
                grace = ARRIVAL_GRACE if result is not None and result.status else 0.1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(arrived), grace)
            return result, arrived.result() if arrived.done() else None
        finally:
            await listener.close()
            workspace.close()


def _tunnel_verdict(
    settings: Settings,
    public_url: str,
    result: SendResult | None,
    delivery: Delivery | None,
    timeout: float,
    tunnel_fix: str,
    note: str,
) -> Check:
    path = settings.listen_path
    if delivery is not None and delivery.verdict != "rejected":
        if result is not None and result.accepted:
            latency = f" in {result.latency_ms:.0f} ms" if result.latency_ms else ""
            detail = f"a signed test delivery came back verified through {public_url}{latency}"
            return _check("tunnel", "ok", detail + note)
        answer = _answer(result, timeout)
        return _check(
            "tunnel",
            "fail",
            f"the listener verified the test delivery, but {public_url} answered {answer}",
            "the tunnel must pass the listener's answer back (Moment retries anything but 2xx)",
        )
    if delivery is not None:  # reached the listener, and rejected by it
        return _check(
            "tunnel",
            "fail",
            f"reached the listener but was rejected: {delivery.reason} ({delivery.message})",
            "the tunnel changed the delivery on its way: make it pass requests through "
            "unchanged (no rewriting, no compression)",
        )
    if result is None:
        return _check(
            "tunnel", "fail", f"no answer from {public_url} within {timeout:g} s", tunnel_fix
        )
    if result.status is None:
        return _check("tunnel", "fail", f"{public_url} not reached: {result.error}", tunnel_fix)
    sent_path = urlsplit(public_url).path or "/"
    if result.status == 404 and f"webhooks are received at {path}" in (result.response or ""):
        right = urlunsplit(urlsplit(public_url)._replace(path=path))
        return _check(
            "tunnel",
            "fail",
            f"wrong path: reached the listener at {sent_path}, but it receives webhooks at {path}",
            f"use {right} (the public URL's path must be the listener path), or set "
            f'listen_path = "{sent_path}" in config.toml',
        )
    return _check(
        "tunnel",
        "fail",
        f"{public_url} answered {_answer(result, timeout)}, but the delivery never reached "
        "the listener",
        f"the URL leads somewhere else: {tunnel_fix}",
    )


def _answer(result: SendResult | None, timeout: float) -> str:
    if result is None:
        return f"nothing within {timeout:g} s"
    if result.status is None:
        return f"nothing ({result.error})"
    text = " ".join((result.response or "").split())
    return f"{result.status}" + (f" {text[:120]!r}" if text else "")


# --- what to send Moment -----------------------------------------------------------------------


def _send_to_moment(
    settings: Settings, public_url: str | None, tested: bool, secret: Credential, all_ok: bool
) -> dict[str, Any]:
    """What Moment needs to register the URL; ``ready`` when every check passed and
    the URL is https:// and came back through the tunnel."""
    https = None if public_url is None else urlsplit(public_url).scheme == "https"
    note = None
    if public_url is None:
        note = (
            f"your tunnel's (or server's) public https:// URL ending in {settings.listen_path}; "
            f"check it first with {PROG} doctor --public-url URL"
        )
    elif not https:
        note = "a loopback URL only tests this machine: give Moment your tunnel's https:// URL"
    return {
        "url": public_url,
        "https": https,
        "tested": tested,
        "ready": bool(all_ok and tested and https),
        "path": settings.listen_path,
        "method": "POST",
        "events": list(EVENTS_WANTED),
        "ask_for_secret": secret.value is None,
        "note": note,
    }


def _all_passed(send_to: Mapping[str, Any]) -> str:
    if send_to["ready"]:
        return "Ready: send Moment the details above."
    if send_to["url"] is None:
        return (
            "No problems found. Before sending Moment a URL, test it: "
            f"{PROG} doctor --public-url https://…{send_to['path']}"
        )
    return "No problems found. Run again with your tunnel's https:// URL before sending it."


def _send_lines(send_to: Mapping[str, Any]) -> list[str]:
    url = send_to["url"] or "(not given)"
    if send_to["url"] and send_to["tested"]:
        url += "  (tested)"
    https = {True: "yes", False: "no: Moment needs https://", None: "required"}[send_to["https"]]
    lines = [
        "Send Moment (webhook URLs are registered by hand):",
        f"  URL     {url}",
        f"  HTTPS   {https}",
        f"  Method  {send_to['method']}, JSON body, Standard Webhooks signatures",
        f"  Events  {', '.join(send_to['events'])}",
    ]
    if send_to["ask_for_secret"]:
        lines.append(f"  Ask     for the signing secret (whsec_…), then run {PROG} login")
    if send_to["note"]:
        lines.append(f"  Note    {send_to['note']}")
    return lines


# --- printing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Symbols:
    marks: Mapping[Status, str]
    arrow: str

    @classmethod
    def for_stream(cls, stream: Any) -> _Symbols:
        """✓ ✕ at a terminal that can show them; plain words in a pipe or a log."""
        fancy: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✕", "skipped": "–"}
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            "✓✕–→".encode(encoding)
            can_show = True
        except (UnicodeEncodeError, LookupError):
            can_show = False
        if stream.isatty() and can_show:
            return cls(fancy, "→")
        plain: dict[Status, str] = {"ok": "OK", "warn": "WARN", "fail": "FAIL", "skipped": "SKIP"}
        return cls(plain, "fix:")


def _lines(check: Check, symbols: _Symbols, width: int) -> list[str]:
    mark_width = max(len(m) for m in symbols.marks.values())
    mark = symbols.marks[check.status].ljust(mark_width)
    lines = [f"{mark} {check.label.ljust(width)}  {check.detail}"]
    if check.fix:
        lines.append(f"{' ' * (mark_width + 1 + width + 2)}{symbols.arrow} {check.fix}")
    return lines
