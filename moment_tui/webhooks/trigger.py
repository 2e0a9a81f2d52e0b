"""``moment-tui trigger``: send correctly signed events about your real objects.

The target is looked up — in the workspace catalogue first, then through the API
when a key is configured — so the event carries the ids Moment would send together
(a bill's ``account_id`` and ``customer_id``; an account's ``customer_id``) and the
currency is checked against the object's. ``--repeat N`` sends N events, each with a
new ``webhook-id`` unless ``--same-id`` (then it is one event redelivered N times,
as Moment's retries are: same id and body, fresh timestamp), which drills a
handler's idempotency. ``--tamper`` and ``--stale`` send deliberately bad deliveries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import MomentError, NotFound
from moment_tui.api.models import Account, Bill, BillingObject, Customer, ObjectKind
from moment_tui.store import catalogue
from moment_tui.store.workspace import Workspace
from moment_tui.webhooks.outbound import SEND_TIMEOUT, SendResult, amount_applied_event, send
from moment_tui.webhooks.signing import new_message_id


class TriggerError(Exception):
    """The event could not be built (unknown object, currency mismatch…)."""


@dataclass(frozen=True)
class Target:
    kind: ObjectKind
    id: str
    customer_id: str | None
    account_id: str | None
    currency: str | None
    source: str  # where the ids came from


async def resolve(
    kind: ObjectKind, ref: str, workspace: Workspace | None, client: MomentClient | None
) -> Target:
    """Find the object; without a catalogue entry or an API, use ``ref`` as given."""
    obj: BillingObject | None = None
    source = "as given (no catalogue entry, no API key)"
    if workspace is not None:
        entry = await workspace.read(lambda conn: catalogue.get(conn, kind, ref))
        if entry is not None:
            obj, source = entry.obj, "from the workspace catalogue"
    if obj is None and client is not None:
        try:
            obj = await client.get(kind, ref)
        except NotFound:
            raise TriggerError(f"{kind} {ref!r} does not exist at {client.base_url}") from None
        except MomentError as exc:
            raise TriggerError(f"could not look up {kind} {ref!r}: {exc}") from None
        source = f"from {client.base_url}"
        if workspace is not None:
            await workspace.remember([obj], "looked_up")
    if obj is None:
        return Target(kind, ref, None, None, None, source)
    if isinstance(obj, Bill):
        return Target(kind, obj.id, obj.customer_id, obj.account_id, obj.currency, source)
    if isinstance(obj, Account):
        return Target(kind, obj.id, obj.customer_id, None, obj.currency, source)
    assert isinstance(obj, Customer)
    return Target(kind, obj.id, None, None, obj.currency, source)


def build_body(target: Target, amount: int, currency: str) -> bytes:
    if target.currency and target.currency != currency:
        raise TriggerError(
            f"{target.kind} {target.id} is in {target.currency}, not {currency}; "
            "pass --currency to match"
        )
    ids = {"customer_id": target.customer_id, "account_id": target.account_id, "bill_id": None}
    ids[f"{target.kind}_id"] = target.id
    return amount_applied_event(amount, currency, **ids, metadata={"source": "moment-tui trigger"})


async def fire(
    url: str,
    body_factory: Callable[[], bytes],
    secrets: Sequence[str],
    *,
    repeat: int = 1,
    same_id: bool = False,
    webhook_id: str | None = None,
    tamper: bool = False,
    stale: bool = False,
    report: Callable[[SendResult], None] | None = None,
) -> list[SendResult]:
    """Send ``repeat`` deliveries, one after another; returns every result.

    The first uses ``webhook_id`` when given (a replay keeps its original id).
    """
    results: list[SendResult] = []
    webhook_id, body = webhook_id or new_message_id(), body_factory()
    async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as http:
        for index in range(repeat):
            if index and not same_id:
                webhook_id, body = new_message_id(), body_factory()
            result = await send(http, url, body, secrets, webhook_id, tamper=tamper, stale=stale)
            results.append(result)
            if report is not None:
                report(result)
    return results
