"""Async client for Moment's Billing API.

One long-lived :class:`httpx.AsyncClient` per :class:`MomentClient`, built once with
the base URL, timeouts and the ``Authorization`` header. Every POST carries an
``Idempotency-Key`` (uuid4) that stays the same across retries of that call, so a
retried create can never create twice. Connection errors, timeouts, 429 and
502/503/504 are retried with exponential backoff and full jitter, bounded by both
an attempt count and a total time budget; ``Retry-After`` is honoured. The budget
bounds each attempt too (httpx's timeouts are per read, so a server trickling its
answer a byte at a time would otherwise never time out): when it is spent the call
ends with :class:`~moment_tui.api.errors.RequestTimeout`. A 409 that
answers a POST *with* ``Retry-After`` (the idempotency draft's "this key is still in
flight") is retried the same way, with the same key; a 409 without it (a duplicate
``external_reference``) is final.

With ``read_only=True`` the client refuses every POST and PATCH (voiding included)
with :class:`~moment_tui.api.errors.ReadOnlyRefused` before anything is sent; GETs
work as usual.

Every attempt is recorded in :class:`RequestLog` (method, path, query, status, latency,
idempotency key, replayed flag, request and response bodies, problem detail) for the
console's request view. Failures raise the hierarchy in :mod:`moment_tui.api.errors`;
the API key is never part of a repr, a log record or an exception: every text a record
or an error keeps from a body passes through the key scrubber first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json as jsonlib
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from moment_tui import __version__
from moment_tui.api.errors import (
    ApiError,
    Forbidden,
    InvalidReference,
    ListingNotSupported,
    MomentError,
    NotFound,
    Problem,
    RateLimited,
    ReadOnlyRefused,
    RequestTimeout,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    error_class,
)
from moment_tui.api.models import (
    COLLECTION,
    DEFAULT_BASE_URL,
    EXTERNAL_REFERENCE_MAX,
    EXTERNAL_REFERENCE_PATTERN,
    MODEL_FOR,
    Account,
    AccountCreate,
    AccountUpdate,
    Bill,
    BillCreate,
    BillingObject,
    BillUpdate,
    Customer,
    CustomerCreate,
    CustomerUpdate,
    ObjectKind,
)
from moment_tui.api.requestlog import RequestLog as RequestLog
from moment_tui.api.requestlog import RequestRecord as RequestRecord
from moment_tui.secrets import mask

DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# A response body longer than this (bytes) is kept in the request log as its first
# BODY_LIMIT bytes of text and a note: a log of 1000 records must not hold 1000 exports.
BODY_LIMIT: Final = 64 * 1024
# What a path segment may hold: a Moment id (``bcus_…``) or an external reference
# (reference §3.2-3.3) — both fit the reference's rule. Nothing else reaches a URL:
# not "." or "..", which httpx would resolve as dot segments.
PATH_REFERENCE: Final = re.compile(EXTERNAL_REFERENCE_PATTERN)

T = TypeVar("T", bound=BaseModel)
ItemT = TypeVar("ItemT")
ObjectT = TypeVar("ObjectT", Customer, Account, Bill)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    total_budget: float = 20.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """One page of a listing and the cursors around it."""

    items: list[ItemT]
    next_cursor: str | None = None
    prev_cursor: str | None = None


PROBE_REFERENCE: Final = "moment-tui-connection-probe"


@dataclass(frozen=True)
class Probe:
    """Outcome of :meth:`MomentClient.probe`."""

    ok: bool
    summary: str
    latency_ms: float


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    replayed: bool = False


class MomentClient:
    """Typed async access to every Billing endpoint in the reference.

    Paths accept a Moment id (``bcus_…``, ``bacc_…``, ``bill_…``) or the merchant's
    ``external_reference``. Use as ``async with MomentClient(...) as client:`` or call
    :meth:`aclose` when done.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        request_log: RequestLog | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        read_only: bool = False,
    ) -> None:
        self._masked_key = mask(api_key)
        # A server may echo the request back in an error (its Authorization header
        # included): the key is masked out of any text an error carries.
        self._scrub = _scrubber(api_key, self._masked_key)
        self.base_url = base_url.rstrip("/")
        self.read_only = read_only
        self.retry = retry or RetryPolicy()
        self.request_log = request_log if request_log is not None else RequestLog()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"moment-tui/{__version__}",
            },
        )

    def __repr__(self) -> str:
        read_only = ", read_only=True" if self.read_only else ""
        return f"MomentClient(base_url={self.base_url!r}, api_key={self._masked_key!r}{read_only})"

    async def __aenter__(self) -> MomentClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- customers ----------------------------------------------------------------

    async def create_customer(
        self, body: CustomerCreate, *, idempotency_key: str | None = None
    ) -> Customer:
        return await self._create("customer", body, Customer, idempotency_key)

    async def get_customer(self, ref: str) -> Customer:
        return await self._get("customer", ref, Customer)

    async def update_customer(self, ref: str, body: CustomerUpdate) -> Customer:
        return await self._update("customer", ref, body, Customer)

    # --- accounts -----------------------------------------------------------------

    async def create_account(
        self, body: AccountCreate, *, idempotency_key: str | None = None
    ) -> Account:
        return await self._create("account", body, Account, idempotency_key)

    async def get_account(self, ref: str) -> Account:
        return await self._get("account", ref, Account)

    async def update_account(self, ref: str, body: AccountUpdate) -> Account:
        return await self._update("account", ref, body, Account)

    # --- bills --------------------------------------------------------------------

    async def create_bill(self, body: BillCreate, *, idempotency_key: str | None = None) -> Bill:
        return await self._create("bill", body, Bill, idempotency_key)

    async def get_bill(self, ref: str) -> Bill:
        return await self._get("bill", ref, Bill)

    async def update_bill(self, ref: str, body: BillUpdate) -> Bill:
        return await self._update("bill", ref, body, Bill)

    async def void_bill(self, ref: str, *, idempotency_key: str | None = None) -> Bill:
        path = f"{_object_path('bill', ref)}/void"
        response = await self.request("POST", path, idempotency_key=idempotency_key)
        return _parse(Bill, response, "POST", path)

    # --- generic access, used by the catalogue and reconciliation -------------------

    async def get(self, kind: ObjectKind, ref: str) -> BillingObject:
        """Fetch a customer, account or bill by kind."""
        return await self._get(kind, ref, MODEL_FOR[kind])

    async def probe(self) -> Probe:
        """Is the API reachable and the key accepted? Moment has no health endpoint, so
        this asks for a customer that cannot exist: 404 means "reachable, key accepted"."""
        started = time.perf_counter()
        path = _object_path("customer", PROBE_REFERENCE)
        try:
            await self.request("GET", path)
        except NotFound:
            return Probe(True, "connected", _ms(started))
        except (Unauthorized, Forbidden) as exc:
            return Probe(False, f"key refused: {exc.detail or exc.title}", _ms(started))
        except MomentError as exc:
            # Why, without the made-up request it was asked through.
            why = str(exc).replace(f"GET {path}: ", "").replace(f" (GET {path})", "")
            return Probe(False, why, _ms(started))
        return Probe(True, "connected", _ms(started))

    # --- listing (not part of Moment's API; offered by the sandbox) -----------------

    async def list_page(
        self,
        kind: ObjectKind,
        *,
        limit: int = 100,
        cursor: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Page[BillingObject]:
        """One page of ``GET /billing/<kind>s``; raises :class:`ListingNotSupported`."""
        path = COLLECTION[kind]
        params: dict[str, str] = {"limit": str(limit), **(filters or {})}
        if cursor:
            params["cursor"] = cursor
        try:
            response = await self.request("GET", path, params=params)
        except ApiError as exc:
            if exc.status in (404, 405):
                raise ListingNotSupported(
                    f"{self.base_url} does not offer listing {kind}s ({exc.status})"
                ) from None
            raise
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise UnexpectedResponse(f"GET {path}: expected a body with a 'data' list")
        model = MODEL_FOR[kind]
        items: list[BillingObject] = [_validate(model, item, "GET", path) for item in body["data"]]
        return Page(
            items=items,
            next_cursor=response.headers.get("next-cursor") or None,
            prev_cursor=response.headers.get("prev-cursor") or None,
        )

    async def iterate(
        self,
        kind: ObjectKind,
        *,
        page_size: int = 100,
        filters: Mapping[str, str] | None = None,
    ) -> AsyncIterator[BillingObject]:
        """Every object of ``kind`` the server lists, following ``Next-Cursor`` to the end."""
        cursor: str | None = None
        while True:
            page = await self.list_page(kind, limit=page_size, cursor=cursor, filters=filters)
            for item in page.items:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # --- the one place requests are sent --------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Response:
        """Send a request with retries; return the 2xx response or raise.

        The whole call, attempts and waits between them, ends within
        ``retry.total_budget`` seconds: an attempt still unanswered when it runs out
        raises :class:`RequestTimeout`.
        """
        method = method.upper()
        if self.read_only and method not in READ_METHODS:
            raise ReadOnlyRefused(f"read-only: refusing {method} {path}; nothing was sent")
        headers: dict[str, str] = {}
        if method == "POST":
            idempotency_key = idempotency_key or str(uuid.uuid4())
            headers["Idempotency-Key"] = idempotency_key
        # What the log keeps of the request, scrubbed once for every attempt.
        record = _RecordBuilder(
            method,
            path,
            idempotency_key,
            params={self._scrub(str(k)): self._scrub(str(v)) for k, v in (params or {}).items()},
            request_body=_scrub_json(json, self._scrub),
        )
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            remaining = self.retry.total_budget - (time.monotonic() - started)
            try:
                response, body, error = await self._attempt(
                    record, json, params, headers, attempt, remaining
                )
            except TransportError:
                delay = self._retry_delay(attempt, started, None)
                if delay is None:
                    raise
            else:
                if error is None:
                    return Response(
                        status=response.status_code,
                        body=body,
                        headers=response.headers,
                        replayed=_replayed(response),
                    )
                if not _retryable(method, response):
                    raise error
                # Retry-After is a wait the server asked for (429, or a 409 "in flight").
                hint = _retry_after(response) if response.status_code in (409, 429) else None
                delay = self._retry_delay(attempt, started, hint)
                if delay is None:
                    raise error
            await self._sleep(delay)

    async def _attempt(
        self,
        record: _RecordBuilder,
        json: Any,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        attempt: int,
        remaining: float,
    ) -> tuple[httpx.Response, Any, ApiError | None]:
        """One HTTP exchange, given at most ``remaining`` seconds of the call's budget.

        Returns the response, its decoded body (JSON, else text, None when empty; not
        scrubbed: it is the caller's data) and, for a non-2xx answer, the error it means.
        """
        method, path = record.method, record.path
        started = time.perf_counter()
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
        except TimeoutError:
            self.request_log.add(record.done(started, attempt, error="time budget spent"))
            raise RequestTimeout(
                f"{method} {path}: no complete answer within the "
                f"{self.retry.total_budget:g} s time budget"
            ) from None
        except httpx.TimeoutException as exc:
            self.request_log.add(record.done(started, attempt, error="timed out"))
            raise RequestTimeout(
                f"{method} {path}: no answer in time ({type(exc).__name__})"
            ) from None
        except httpx.RequestError as exc:  # transport failures, and bodies that cannot be decoded
            reason = _transport_reason(exc)
            self.request_log.add(record.done(started, attempt, error=reason))
            raise TransportError(f"{method} {path}: {reason}") from None
        body = _json_or_none(response)
        error: ApiError | None = None
        scrubbed: Any = None
        # Scrubbing is a pass over every character: a body too long to log whole is only
        # scrubbed whole when an error needs all of it.
        if not response.is_success or len(response.content) <= BODY_LIMIT:
            scrubbed = _scrub_json(body, self._scrub)
        if not response.is_success:
            error = _api_error(method, path, response, scrubbed)
        self.request_log.add(
            record.done(
                started,
                attempt,
                status=response.status_code,
                replayed=_replayed(response),
                response_body=(
                    scrubbed
                    if len(response.content) <= BODY_LIMIT
                    else _cut_body(body, len(response.content), self._scrub)
                ),
                problem=None if error is None else (error.detail or error.title),
            )
        )
        return response, body, error

    def _retry_delay(self, attempt: int, started: float, hint: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when retries are spent."""
        if attempt >= self.retry.max_attempts:
            return None
        delay = hint if hint is not None else self.retry.backoff(attempt, self._rng)
        # ">=": an attempt that would start with no budget left is not worth making.
        if time.monotonic() - started + delay >= self.retry.total_budget:
            return None
        return delay

    # --- shared shapes ------------------------------------------------------------

    async def _create(
        self, kind: ObjectKind, body: BaseModel, model: type[ObjectT], key: str | None
    ) -> ObjectT:
        path = COLLECTION[kind]
        response = await self.request("POST", path, json=_body(body), idempotency_key=key)
        return _parse(model, response, "POST", path)

    async def _get(self, kind: ObjectKind, ref: str, model: type[T]) -> T:
        path = _object_path(kind, ref)
        return _parse(model, await self.request("GET", path), "GET", path)

    async def _update(
        self, kind: ObjectKind, ref: str, body: BaseModel, model: type[ObjectT]
    ) -> ObjectT:
        path = _object_path(kind, ref)
        response = await self.request("PATCH", path, json=_body(body))
        return _parse(model, response, "PATCH", path)


@dataclass(frozen=True)
class _RecordBuilder:
    """What every attempt of one call shares: its records share ``params`` and
    ``request_body`` too (scrubbed copies made once per call, never changed)."""

    method: str
    path: str
    idempotency_key: str | None
    params: dict[str, str]
    request_body: Any

    def done(
        self,
        started: float,
        attempt: int,
        *,
        status: int | None = None,
        replayed: bool = False,
        error: str | None = None,
        response_body: Any = None,
        problem: str | None = None,
    ) -> RequestRecord:
        return RequestRecord(
            at=dt.datetime.now(dt.UTC),
            method=self.method,
            path=self.path,
            status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempt=attempt,
            idempotency_key=self.idempotency_key,
            replayed=replayed,
            error=error,
            params=self.params,
            request_body=self.request_body,
            response_body=response_body,
            problem=problem,
        )


def _object_path(kind: ObjectKind, ref: str) -> str:
    """``/billing/<kind>s/<ref>``; a ref that is neither id nor reference is refused."""
    if not ref:
        raise InvalidReference(f"a {kind} id or external reference is required")
    if len(ref) > EXTERNAL_REFERENCE_MAX or not PATH_REFERENCE.fullmatch(ref):
        shown = ref if len(ref) <= 40 else f"{ref[:40]}…"
        raise InvalidReference(
            f"{shown!r} is not a {kind} id or external reference: 1–255 letters, digits,"
            " '_' or '-'; nothing was sent"
        )
    return f"{COLLECTION[kind]}/{ref}"


def _body(model: BaseModel) -> Any:
    to_json = getattr(model, "to_json", None)
    return to_json() if callable(to_json) else model.model_dump(mode="json", exclude_none=True)


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _cut_body(body: Any, size: int, scrub: Callable[[str], str]) -> str:
    """A body of ``size`` bytes, over :data:`BODY_LIMIT`, as its first BODY_LIMIT bytes of
    text (scrubbed) and a note of its size.

    Decoded JSON is written out again rather than cut from the raw text: there a key
    spelled in ``\\u`` escapes would survive the scrubber, and a cut text is no longer
    JSON to decode.
    """
    text = body if isinstance(body, str) else jsonlib.dumps(body, ensure_ascii=False)
    # errors="ignore" drops a character the cut split in two.
    kept = text.encode()[:BODY_LIMIT].decode(errors="ignore")
    return f"{scrub(kept)}\n… (cut: {size} bytes in all)"


def _retryable(method: str, response: httpx.Response) -> bool:
    """Worth another attempt: 429 and 502/503/504; and a POST's 409 that carries
    ``Retry-After`` (an earlier attempt with this Idempotency-Key is still in flight)."""
    if response.status_code in RETRY_STATUSES:
        return True
    return (
        response.status_code == 409
        and method == "POST"
        and bool(response.headers.get("retry-after", "").strip())
    )


KEY_FRAGMENT: Final = 12  # this much of the key, echoed in an error, is masked too


def _scrubber(api_key: str, masked: str) -> Callable[[str], str]:
    """Masks the key, and any run of :data:`KEY_FRAGMENT` or more of its characters (a
    server that echoes it cut short), out of a text (an error's, a logged body): one pass
    over the text, finding each run by its first :data:`KEY_FRAGMENT` characters."""
    starts: dict[str, int] = {}
    for at in range(len(api_key) - KEY_FRAGMENT + 1):
        starts.setdefault(api_key[at : at + KEY_FRAGMENT], at)
    # Every run of KEY_FRAGMENT of the key's characters holds one of these whole (they
    # tile the key at half that length), so a text with none of them — nearly every body
    # the request log keeps — is let through by a few searches in C instead of a loop.
    half = KEY_FRAGMENT // 2
    tiles = {api_key[at : at + half] for at in range(0, len(api_key) - half + 1, half)}

    def scrub(text: str) -> str:
        if not starts or not any(tile in text for tile in tiles):
            return text
        out: list[str] = []
        i = kept = 0
        while i <= len(text) - KEY_FRAGMENT:
            at = starts.get(text[i : i + KEY_FRAGMENT])
            if at is None:
                i += 1
                continue
            end = i + KEY_FRAGMENT  # the run goes on as long as the key does
            while (
                end < len(text)
                and at + end - i < len(api_key)
                and (text[end] == api_key[at + end - i])
            ):
                end += 1
            out += (text[kept:i], masked)
            i = kept = end
        out.append(text[kept:])
        return "".join(out)

    return scrub


def _scrub_json(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrub_json(item, scrub) for item in value]
    if isinstance(value, dict):
        return {scrub(str(k)): _scrub_json(v, scrub) for k, v in value.items()}
    return value


def _replayed(response: httpx.Response) -> bool:
    return str(response.headers.get("idempotent-replayed", "")).lower() == "true"


def _transport_reason(exc: httpx.RequestError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _api_error(method: str, path: str, response: httpx.Response, body: Any) -> ApiError:
    """The error a non-2xx ``response`` means; ``body`` is its scrubbed decoded body
    (scrubbed once decoded, since JSON may spell the key in ``\\u`` escapes)."""
    problem = Problem.from_body(response.status_code, body, response.reason_phrase or "Error")
    if response.status_code == 429:
        return RateLimited(method, path, problem, _retry_after(response))
    return error_class(response.status_code)(method, path, problem)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _validate(model: type[T], data: Any, method: str, path: str) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "body" for e in exc.errors()[:5])
        raise UnexpectedResponse(
            f"{method} {path}: the {model.__name__.lower()} in the answer is malformed ({fields})"
        ) from None


def _parse(model: type[T], response: Response, method: str, path: str) -> T:
    return _validate(model, response.body, method, path)
