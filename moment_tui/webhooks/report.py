"""One line per delivery, for people (``listen``, ``events``) or for scripts (``--json``)."""

from __future__ import annotations

from typing import Any

from moment_tui.api.kinds import AMOUNT_APPLIED
from moment_tui.money import amount_text
from moment_tui.store.eventlog import Delivery

__all__ = ["amount_text", "as_json", "line"]


def line(delivery: Delivery, *, from_log: bool = False) -> str:
    """``14:02:11  verified    obligation.amount_applied  bill bill_…  R 20.00``.

    ``from_log``: the line is read back from the event log (``events``), where a
    verified payment without an application is one still waiting to be applied (the
    API could not be asked, or the object is not known yet), so it says so."""
    clock = delivery.received_at[11:19]
    target = delivery.target()
    parts = [
        clock,
        delivery.verdict.ljust(9),
        (delivery.event_type or "-").ljust(26),
        f"{target[0]} {target[1]}" if target else "-",
        amount_text(delivery.amount, delivery.currency),
    ]
    text = "  ".join(parts).rstrip()
    if delivery.verdict == "rejected":
        text += f"  [{delivery.status} {delivery.reason}] {delivery.message}"
    elif delivery.verdict == "duplicate":
        text += f"  ({delivery.message})"
    if delivery.application:
        text += f"  · {delivery.application}"
    elif from_log and delivery.verdict == "verified" and delivery.event_type == AMOUNT_APPLIED:
        text += "  · not applied yet"
    return text


def as_json(delivery: Delivery) -> dict[str, Any]:
    """The documented fields of ``listen --json`` (and ``events --json``)."""
    return {
        "seq": delivery.seq,
        "received_at": delivery.received_at,
        "webhook_id": delivery.webhook_id,
        "verdict": delivery.verdict,
        "reason": None if delivery.verdict == "verified" else delivery.reason,
        "message": delivery.message,
        "status": delivery.status,
        "type": delivery.event_type,
        "event_id": delivery.event_id,
        "amount": delivery.amount,
        "currency": delivery.currency,
        "customer_id": delivery.customer_id,
        "account_id": delivery.account_id,
        "bill_id": delivery.bill_id,
        "matched_secret": delivery.matched_secret,
        "application": delivery.application,
        "diagnosis": delivery.diagnosis,
    }
