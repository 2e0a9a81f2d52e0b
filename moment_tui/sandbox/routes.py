"""The sandbox's HTTP surface: Moment's Billing endpoints plus ``/sandbox/…`` extensions."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from pydantic import BaseModel, ValidationError

from moment_tui.api.models import (
    COLLECTION,
    AccountCreate,
    AccountUpdate,
    BillCreate,
    BillUpdate,
    CustomerCreate,
    CustomerUpdate,
    ObjectKind,
    SandboxPaymentCreate,
)
from moment_tui.sandbox.db import Database, dumps
from moment_tui.sandbox.delivery import Sender, delivery_json, event_json
from moment_tui.sandbox.idempotency import Keys, check_key, fingerprint, scope_for
from moment_tui.sandbox.listing import list_objects, parse_limit, refuse_unknown
from moment_tui.sandbox.objects import Objects, to_json
from moment_tui.sandbox.payments import Payments
from moment_tui.sandbox.problems import CONTENT_TYPE, Problem, bad_request, invalid, nulls_refused
from moment_tui.sandbox.tokens import FormTokens

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)
STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state")
# Whether the request being answered has waited its --latency. A context variable:
# aiohttp runs a request's middlewares and handler in one task, one request at a time.
_WAITED: ContextVar[bool] = ContextVar("sandbox_waited", default=False)
# ``limit`` on /sandbox/deliveries and /sandbox/events (newest first).
LOG_LIMIT: Final = 50
LOG_MAX_LIMIT: Final = 500


@dataclass
class SandboxState:
    db: Database
    objects: Objects
    payments: Payments
    keys: Keys
    sender: Sender
    tokens: FormTokens  # the bill page's form tokens
    latency: float = 0.0  # seconds every answer waits (--latency)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # how it waits; tests inject


# --- middleware -----------------------------------------------------------------------


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as RFC 9457 problem details, never as an HTML page."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response(_instance(request))
    except (RequestPayloadError, HttpProcessingError) as exc:  # a body that can't be decoded
        reason = getattr(exc, "message", "") or str(exc) or type(exc).__name__
        response = bad_request(f"the request body could not be read: {reason}").response(
            _instance(request)
        )
        response.force_close()  # the rest of this connection's stream is unreadable too
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
        # A 405 must say which methods the resource allows (RFC 9110 §15.5.6).
        kept = {name: exc.headers[name] for name in ("Allow",) if name in exc.headers}
        return Problem(exc.status, "http", exc.reason, detail or exc.reason, headers=kept).response(
            _instance(request)
        )
    except Exception:
        log.exception("sandbox failed on %s %s", request.method, request.path)
        return Problem(
            500, "internal", "Internal error", "the sandbox failed; see its log"
        ).response(_instance(request))


@web.middleware
async def latency(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``--latency``: every answer — errors and redirects too — waits once. An API
    POST waits inside its handler instead, while it holds its Idempotency-Key (so a
    retry meanwhile sees the key in flight); everything else waits here."""
    token = _WAITED.set(False)
    try:
        try:
            response = await handler(request)
        except Exception:
            await pause(request)
            raise
        await pause(request)
        return response
    finally:
        _WAITED.reset(token)


# RFC 9110 §11.6.1: a 401 names the scheme to use; RFC 6750 §3.1: a token that was
# sent and refused is error="invalid_token" (a request with none gets no error code).
_CHALLENGE: Final = 'Bearer realm="moment-sandbox"'
_INVALID_TOKEN: Final = _CHALLENGE + ', error="invalid_token"'
_KEY_CHARS: Final = re.compile(r"[!-~]+")  # printable ASCII, no spaces: one token


def _unauthorized(detail: str, challenge: str) -> Problem:
    return Problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": challenge}
    )


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``Authorization: Bearer sk_test_…`` on the API; live keys are refused."""
    if request.path.startswith(("/billing", "/sandbox")):
        token = _bearer(request)
        if not token:
            raise _unauthorized("send Authorization: Bearer sk_test_…", _CHALLENGE)
        if token.startswith("sk_test_"):
            if len(token) == len("sk_test_") or not _KEY_CHARS.fullmatch(token):
                raise _unauthorized("invalid API key", _INVALID_TOKEN)
        elif token.startswith("sk_"):
            raise Problem(
                403,
                "live-key",
                "Forbidden",
                "this is a local sandbox and refuses live keys; use an sk_test_ key",
            )
        else:
            raise _unauthorized("invalid API key", _INVALID_TOKEN)
    return await handler(request)


def _instance(request: web.Request) -> str:
    """A problem's ``instance``: the path as sent, still percent-encoded (a URI reference)."""
    return request.rel_url.raw_path


def _bearer(request: web.Request) -> str:
    """The token of ``Authorization: Bearer <token>``, or ``""``."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# --- helpers --------------------------------------------------------------------------


def _json(raw: bytes) -> Any:
    if not raw.strip():
        raise bad_request("the request body must be a JSON object")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the request body is not valid JSON ({exc})") from None
    except RecursionError:
        raise bad_request("the request body's JSON is nested too deeply") from None
    if not isinstance(value, dict):
        raise bad_request("the request body must be a JSON object")
    try:  # "\ud800" parses, but no UTF-8 text (SQLite's, a webhook's) can hold it
        dumps(value).encode()
    except UnicodeEncodeError:
        raise bad_request("the request body's JSON has an unpaired surrogate (\\ud800…)") from None
    return value


def _model(model: type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None


def _respond(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    kind = CONTENT_TYPE if status >= 400 else "application/json"
    return web.Response(status=status, body=body, content_type=kind, headers=headers)


def _state(request: web.Request) -> SandboxState:
    return request.app[STATE]


async def pause(request: web.Request) -> None:
    """``--latency``: wait before answering, once per request (later calls return)."""
    if _WAITED.get():
        return
    _WAITED.set(True)
    state = _state(request)
    if state.latency:
        await state.sleep(state.latency)


# --- POST: idempotent, transactional ------------------------------------------------------


Operation = Callable[[SandboxState, Any], dict[str, Any]]


async def _post(
    request: web.Request, operation: Operation, status: int, *, parse_body: bool = True
) -> web.Response:
    state = _state(request)
    raw = await request.read()
    key = check_key(request.headers.get("Idempotency-Key"))
    scope = scope_for(_bearer(request))  # authenticate() admitted this key
    # A body the operation ignores (void's) is no part of what the key stands for.
    signed = raw if parse_body else b""
    replay = state.keys.begin(scope, key, fingerprint(request.method, request.path, signed))
    if replay is not None:
        return _respond(replay.status, replay.body, {"Idempotent-Replayed": "true"})
    try:
        await pause(request)  # --latency: while the key is held (see latency())
        with state.db.transaction():
            try:
                with state.db.savepoint():
                    result = operation(state, _json(raw) if parse_body else None)
                code, body = status, dumps(result).encode()
            except Problem as problem:
                code, body = problem.status, dumps(problem.body(_instance(request))).encode()
            state.keys.finish(scope, key, code, body)
    except BaseException:
        state.keys.abandon(scope, key)
        raise
    state.sender.wake()
    return _respond(code, body)


def _create_customer(state: SandboxState, payload: Any) -> dict[str, Any]:
    row = state.objects.create_customer(_model(CustomerCreate, payload))
    return to_json("customer", row, state.objects)


def _create_account(state: SandboxState, payload: Any) -> dict[str, Any]:
    row = state.objects.create_account_request(_model(AccountCreate, payload))
    return to_json("account", row, state.objects)


def _create_bill(state: SandboxState, payload: Any) -> dict[str, Any]:
    row = state.objects.create_bill(_model(BillCreate, payload))
    return to_json("bill", row, state.objects)


def _pay(state: SandboxState, payload: Any) -> dict[str, Any]:
    return state.payments.pay(_model(SandboxPaymentCreate, payload))


# --- handlers -------------------------------------------------------------------------

_CREATES: dict[ObjectKind, Operation] = {
    "customer": _create_customer,
    "account": _create_account,
    "bill": _create_bill,
}
_UPDATES: dict[ObjectKind, type[CustomerUpdate | AccountUpdate | BillUpdate]] = {
    "customer": CustomerUpdate,
    "account": AccountUpdate,
    "bill": BillUpdate,
}


def _handlers(kind: ObjectKind) -> tuple[Handler, Handler, Handler, Handler]:
    """create, listing, retrieve and update for one kind of object."""

    async def create(request: web.Request) -> web.Response:
        return await _post(request, _CREATES[kind], 201)

    async def listing(request: web.Request) -> web.Response:
        return await _listing(request, kind)

    async def retrieve(request: web.Request) -> web.Response:
        state = _state(request)
        row = state.objects.resolve(kind, request.match_info["ref"])
        return web.json_response(to_json(kind, row, state.objects), dumps=dumps)

    async def update(request: web.Request) -> web.Response:
        state = _state(request)
        model = _UPDATES[kind]
        payload = _json(await request.read())
        nulls = [
            name for name, value in payload.items() if value is None and name in model.model_fields
        ]
        if nulls:
            raise nulls_refused(nulls)
        body = _model(model, payload)
        ref = request.match_info["ref"]
        with state.db.transaction():
            if isinstance(body, BillUpdate):
                row = state.objects.update_bill(ref, body)
            else:
                row = state.objects.update_holder(kind, ref, body)
        return web.json_response(to_json(kind, row, state.objects), dumps=dumps)

    return create, listing, retrieve, update


async def void(request: web.Request) -> web.Response:
    """Void has no documented body: whatever is sent is ignored."""
    ref = request.match_info["ref"]

    def operation(state: SandboxState, _payload: Any) -> dict[str, Any]:
        return to_json("bill", state.objects.void_bill(ref), state.objects)

    return await _post(request, operation, 200, parse_body=False)


async def _listing(request: web.Request, kind: ObjectKind) -> web.Response:
    state = _state(request)
    page = list_objects(state.objects, kind, request.query)
    headers = {}
    if page.next_cursor:
        headers["Next-Cursor"] = page.next_cursor
    if page.prev_cursor:
        headers["Prev-Cursor"] = page.prev_cursor
    return web.json_response({"data": page.data}, dumps=dumps, headers=headers)


async def pay(request: web.Request) -> web.Response:
    return await _post(request, _pay, 201)


async def deliveries(request: web.Request) -> web.Response:
    state = _state(request)
    refuse_unknown(request.query, frozenset({"limit", "event"}))
    limit = parse_limit(request.query.get("limit"), default=LOG_LIMIT, maximum=LOG_MAX_LIMIT)
    event = request.query.get("event")
    if event:
        rows = state.db.all(
            "SELECT * FROM deliveries WHERE event_id = ? ORDER BY seq DESC LIMIT ?", (event, limit)
        )
    else:
        rows = state.db.all("SELECT * FROM deliveries ORDER BY seq DESC LIMIT ?", (limit,))
    return web.json_response({"data": [delivery_json(r) for r in rows]}, dumps=dumps)


async def events(request: web.Request) -> web.Response:
    state = _state(request)
    refuse_unknown(request.query, frozenset({"limit"}))
    limit = parse_limit(request.query.get("limit"), default=LOG_LIMIT, maximum=LOG_MAX_LIMIT)
    rows = state.db.all("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,))
    return web.json_response({"data": [event_json(r) for r in rows]}, dumps=dumps)


def add_routes(app: web.Application) -> None:
    for kind, base in COLLECTION.items():
        create, listing, retrieve, update = _handlers(kind)
        app.router.add_post(base, create)
        app.router.add_get(base, listing)
        app.router.add_get(base + "/{ref}", retrieve)
        app.router.add_patch(base + "/{ref}", update)
    app.router.add_post("/billing/bills/{ref}/void", void)
    app.router.add_post("/sandbox/payments", pay)
    app.router.add_get("/sandbox/deliveries", deliveries)
    app.router.add_get("/sandbox/events", events)
