"""Every failure the API client reports, as one exception hierarchy.

::

    MomentError                  anything the client raises; str() is safe to show
    ├── TransportError           no usable answer: connection refused, DNS, TLS …
    │   └── RequestTimeout       the server did not answer in time
    ├── ApiError                 the server answered with an error (RFC 9457 fields)
    │   ├── BadRequest           400  a parameter is missing or malformed
    │   ├── Unauthorized         401  no valid API key
    │   ├── RequestFailed        402  valid parameters, but the request failed
    │   ├── Forbidden            403  the key may not do this (or is deleted/expired)
    │   ├── NotFound             404  no such customer, account or bill
    │   ├── Conflict             409  duplicate external_reference, key in flight …
    │   │                             (retried when it carries Retry-After)
    │   ├── Unprocessable        422  valid JSON the server will not act on
    │   ├── RateLimited          429  too many requests (``retry_after`` seconds)
    │   └── ServerError          5xx  Moment's side failed
    ├── ListingNotSupported      the server has no list endpoints (Moment has none)
    ├── ReadOnlyRefused          a write refused by a read-only client; nothing was sent
    ├── InvalidReference         a path id/reference that cannot be one (also a ValueError);
    │                             nothing was sent
    └── UnexpectedResponse       a success whose body is not what the reference says

``ApiError`` carries the problem-details fields ``type``, ``title``, ``status``,
``detail`` and ``instance`` so the UI can show the server's own words. No exception
here ever holds request headers, so the API key cannot leak through one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class MomentError(Exception):
    """Base of every error the Moment client raises."""


class TransportError(MomentError):
    """The request got no usable HTTP answer (after any retries)."""


class RequestTimeout(TransportError):
    """The server did not answer within the timeout (after any retries)."""


class ListingNotSupported(MomentError):
    """The server has no ``GET /billing/<kind>`` list endpoint (Moment itself has none)."""


class ReadOnlyRefused(MomentError):
    """The client is read-only and refused a write (POST, PATCH …) before sending it."""


class InvalidReference(MomentError, ValueError):
    """A ``{customer}``/``{account}``/``{bill}`` path value that is neither a Moment id nor
    an external reference (1–255 of letters, digits, ``_``, ``-``); nothing was sent.

    A ``ValueError`` (the caller passed a bad argument) that is also a
    :class:`MomentError`, so code that reports every client failure reports this too.
    """


class UnexpectedResponse(MomentError):
    """A 2xx answer whose body does not match the documented object."""


@dataclass(frozen=True)
class Problem:
    """RFC 9457 problem details, as much of them as the server sent."""

    status: int
    title: str
    detail: str | None = None
    type: str | None = None
    instance: str | None = None
    extensions: dict[str, Any] | None = None

    @classmethod
    def from_body(cls, status: int, body: Any, fallback_title: str) -> Problem:
        if not isinstance(body, dict):
            text = str(body).strip() if body else ""
            return cls(status=status, title=fallback_title, detail=text[:500] or None)
        known = {"status", "title", "detail", "type", "instance"}
        extras = {k: v for k, v in body.items() if k not in known}
        return cls(
            status=status,
            title=_text(body.get("title")) or fallback_title,
            detail=_text(body.get("detail")),
            type=_text(body.get("type")),
            instance=_text(body.get("instance")),
            extensions=extras or None,
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class ApiError(MomentError):
    """The server refused the request; fields follow RFC 9457."""

    def __init__(self, method: str, path: str, problem: Problem) -> None:
        self.method = method
        self.path = path
        self.problem = problem
        super().__init__(self._message())

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str | None:
        return self.problem.detail

    @property
    def instance(self) -> str | None:
        return self.problem.instance

    @property
    def type(self) -> str | None:
        return self.problem.type

    def _message(self) -> str:
        text = f"{self.problem.status} {self.problem.title}"
        if self.problem.detail:
            text += f": {self.problem.detail}"
        return f"{text} ({self.method} {self.path})"


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class RequestFailed(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class Unprocessable(ApiError):
    pass


class RateLimited(ApiError):
    def __init__(
        self, method: str, path: str, problem: Problem, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(method, path, problem)


class ServerError(ApiError):
    pass


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: RequestFailed,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
}


def error_class(status: int) -> type[ApiError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
