"""Sending a form's request, and reading the answer back into fields: no Textual.

Every write the console makes goes through :func:`send`: one request (with the
draft's Idempotency-Key on a POST), the answer parsed into the object, the object and
any object created inside it (a bill's new account and customer) kept in the
catalogue, and the screens told. An error comes back as :class:`Refused`: a message
per field where the API named the field (the sandbox names it in ``errors``; Moment's
documented problems name none, so ``"field: …"`` at the start of ``detail`` is read
too), the whole problem otherwise, and for a duplicate external reference (409) the
object that already has it, so the form can offer to open it.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from moment_tui.api.errors import ApiError
    from moment_tui.api.kinds import ObjectKind
    from moment_tui.api.models import BillingObject
    from moment_tui.ui.console import Console

_FIELD_IN_DETAIL: Final = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): ")
KIND_OF_PATH: Final[dict[str, ObjectKind]] = {
    "customer": "customer",
    "account": "account",
}


@dataclass(frozen=True)
class Sent:
    """What the API answered: the object, and whether it was a replay of an earlier
    attempt with the same Idempotency-Key ("sent again safely")."""

    obj: BillingObject
    replayed: bool
    status: int


class Refused(Exception):
    """The write did not happen (or its answer was lost): what to show, and where."""

    def __init__(
        self,
        message: str,
        fields: dict[str, str] | None = None,
        *,
        timed_out: bool = False,
        existing: tuple[ObjectKind, str] | None = None,
        status: int | None = None,
        settled: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.timed_out = timed_out  # it may have arrived: send again with the same key
        self.existing = existing  # (kind, external reference) that already has it
        self.status = status
        self.settled = settled  # a definite no: nothing made; a corrected request needs a new key


def settled(error: ApiError) -> bool:
    """The API refused the request itself (4xx): nothing was made, and the answer is
    kept for its Idempotency-Key. Not a 5xx (part of it may have been done), nor a
    problem with the key (in flight: the first attempt may still succeed; reused: an
    earlier attempt's fate is unknown), which keep the key."""
    about = f"{error.type or ''} {error.title} {error.detail or ''}".lower()
    return 400 <= error.status < 500 and "idempotency" not in about


def field_errors_of(error: ApiError) -> dict[str, str]:
    """``{"account.customer.phone": "…"}`` from a problem's ``errors``, else from a
    ``detail`` that starts with a field's name."""
    found: dict[str, str] = {}
    extensions = error.problem.extensions or {}
    listed = extensions.get("errors")
    if isinstance(listed, list):
        for item in listed:
            if isinstance(item, dict) and isinstance(item.get("field"), str):
                name = item["field"] if item["field"] != "body" else ""
                found.setdefault(name, str(item.get("message") or error.detail or ""))
    if not found and error.detail:
        match = _FIELD_IN_DETAIL.match(error.detail)
        if match:
            found[match.group(1)] = error.detail[match.end() :]
    return found


def _owner(path: str, kind: ObjectKind) -> ObjectKind:
    """Which kind of object a field path belongs to, in a form that makes ``kind``:
    ``account.customer.x`` → customer; a top-level field is the form's own object."""
    for part in path.split(".")[:-1]:
        kind = KIND_OF_PATH.get(part, kind)
    return kind


async def send(
    console: Console,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    kind: ObjectKind,
    *,
    idempotency_key: str | None = None,
    references: dict[str, str] | None = None,
) -> Sent:
    """Send one write and keep what it made or changed; raises :class:`Refused`.

    ``references`` maps field paths to what was typed there, to name the object a
    409 says already has that external reference. ``body`` None sends none (a void)."""
    from moment_tui.api.errors import (
        ApiError,
        Conflict,
        MomentError,
        ReadOnlyRefused,
        RequestTimeout,
    )
    from moment_tui.api.models import COLLECTION, MODEL_FOR

    client = console.runtime.client
    workspace = console.runtime.workspace
    if client is None or workspace is None:
        raise Refused("There is no API to send to (no key, and the sandbox is not running).")
    try:
        response = await client.request(method, path, json=body, idempotency_key=idempotency_key)
    except ReadOnlyRefused as exc:
        raise Refused(f"Read-only: nothing was sent ({exc}).") from None
    except RequestTimeout as exc:
        raise Refused(
            f"No answer in time ({exc}). It may have arrived: send again — the same "
            "Idempotency-Key makes Moment answer the first attempt, never create twice.",
            timed_out=True,
        ) from None
    except Conflict as exc:
        fields = field_errors_of(exc)
        existing = None
        for field_path in fields:
            if field_path.endswith("external_reference") and references:
                typed = references.get(field_path)
                if typed:
                    existing = (_owner(field_path, kind), typed)
        raise Refused(
            f"{exc.title}: {exc.detail or ''}".strip(": "),
            fields,
            existing=existing,
            status=409,
            settled=settled(exc),
        ) from None
    except ApiError as exc:
        raise Refused(
            f"{exc.status} {exc.title}: {exc.detail or ''}".strip(": "),
            field_errors_of(exc),
            status=exc.status,
            settled=settled(exc),
        ) from None
    except MomentError as exc:
        raise Refused(str(exc), timed_out=True) from None
    model = MODEL_FOR[kind]
    try:
        obj = model.model_validate(response.body)
    except Exception:
        raise Refused(f"{method} {path}: the answer is not a {kind}") from None
    # A POST to a collection made it; a PATCH (or a void) changed what was there.
    made = method == "POST" and path.rstrip("/") == COLLECTION[kind]
    await workspace.remember([obj], "created" if made else "changed")
    # A bill or account created with a new customer (or account) inside it: those are
    # new too, and the catalogue should know them by name, not only by id.
    # Both at once (a three-level bill made both): the new bill shows the sooner.
    holders = (
        ("customer", getattr(obj, "customer_id", None)),
        ("account", getattr(obj, "account_id", None)),
    )
    nested = _nested(body) if made else set()
    await asyncio.gather(
        *(
            console.queries.ensure(holder, i, "created" if holder in nested else "looked_up")  # type: ignore[arg-type]
            for holder, i in holders
            if i
        )
    )
    console.state.catalogue_changed()
    return Sent(obj, response.replayed, response.status)


def _nested(body: Any) -> set[str]:
    """The kinds a create's body made inside itself: a new ``account`` object (with, or
    under, a new ``customer``), or a new ``customer`` object; a string is an id."""
    made: set[str] = set()
    if not isinstance(body, dict):
        return made
    account = body.get("account")
    if isinstance(account, dict):
        made.add("account")
        if isinstance(account.get("customer"), dict):
            made.add("customer")
    if isinstance(body.get("customer"), dict):
        made.add("customer")
    return made
