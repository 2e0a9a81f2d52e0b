"""The API's kinds of object, their id patterns and where they live: plain constants,
no pydantic, so modules the console needs before its first paint can import them
cheaply (``api.models`` re-exports them)."""

from __future__ import annotations

import re
from typing import Final, Literal

ObjectKind = Literal["customer", "account", "bill"]

ID_PATTERNS: Final = {
    "customer": re.compile(r"^bcus_[a-zA-Z0-9]+$"),
    "account": re.compile(r"^bacc_[a-zA-Z0-9]+$"),
    "bill": re.compile(r"^bill_[a-zA-Z0-9]+$"),
}
DEFAULT_BASE_URL: Final = "https://api.momentpay.net"
COLLECTION: Final[dict[ObjectKind, str]] = {
    "customer": "/billing/customers",
    "account": "/billing/accounts",
    "bill": "/billing/bills",
}
AMOUNT_APPLIED: Final = "obligation.amount_applied"
