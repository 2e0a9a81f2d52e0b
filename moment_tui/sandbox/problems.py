"""RFC 9457 problem details, the sandbox's only error format."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from moment_tui.api.models import field_errors
from moment_tui.sandbox.db import dumps

PROBLEM_TYPE_BASE = "urn:moment-sandbox:problem:"
# Exactly this on every problem, whichever way it is answered (raised, or stored and
# replayed for an Idempotency-Key): RFC 9457 registers the type with no parameters,
# and JSON is UTF-8 by definition (RFC 8259 §8.1), so no "; charset=utf-8".
CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """Raised anywhere in the sandbox; becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        for_payer: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        # The detail as the bill page shows it: amounts as money (R 20.01), where the
        # API's detail keeps the minor units its fields are in (2001).
        self.for_payer = for_payer or detail

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self, instance: str) -> web.Response:
        return web.Response(
            status=self.status,
            body=dumps(self.body(instance)).encode(),  # bytes: aiohttp adds no charset
            content_type=CONTENT_TYPE,
            headers=self.headers,
        )


def invalid(exc: ValidationError) -> Problem:
    """A request body that breaks the reference's rules: 400 naming every field."""
    errors = [{"field": f or "body", "message": m} for f, m in field_errors(exc).items()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(400, "validation", "Invalid request", detail, errors=errors)


def nulls_refused(names: list[str]) -> Problem:
    """A PATCH that sends ``null``: 400 naming each such field. Moment documents no way
    to clear a field, and quietly ignoring the null would let the caller believe it
    cleared (or set) something; leaving the field out is how to keep its value."""
    message = "cannot be null; leave the field out to keep its value"
    errors = [{"field": name, "message": message} for name in names]
    detail = "; ".join(f"{name}: {message}" for name in names)
    return Problem(400, "validation", "Invalid request", detail, errors=errors)


def bad_request(detail: str, field: str | None = None) -> Problem:
    errors = [{"field": field, "message": detail}] if field else None
    return Problem(400, "bad-request", "Bad request", detail, errors=errors)


def not_found(kind: str, ref: str) -> Problem:
    return Problem(
        404, "not-found", f"{kind.capitalize()} not found", f"{kind} {ref!r} doesn't exist"
    )


def unprocessable(
    detail: str, field: str | None = None, *, for_payer: str | None = None
) -> Problem:
    errors = [{"field": field, "message": detail}] if field else None
    return Problem(
        422,
        "unprocessable",
        "Request could not be processed",
        detail,
        errors=errors,
        for_payer=for_payer,
    )


def conflict(slug: str, detail: str, field: str | None = None) -> Problem:
    errors = [{"field": field, "message": detail}] if field else None
    return Problem(409, slug, "Conflict", detail, errors=errors)
