"""Pydantic models for Moment's Billing API (see ``../shared/moment-api.md``).

Two families:

* **Requests** (``*Create``, ``*Update``) are strict: unknown fields are refused,
  integers must be integers (not ``"20"``, not ``True``), and every documented rule
  is checked — ``external_reference`` pattern and length, E.164 phone, metadata
  limits, ISO 4217 currency, ``balance``/``amount_paid`` needing ``currency``,
  ``amount_due`` 1…99,999,999, dates as a ``datetime.date`` or ``YYYY-MM-DD`` text only.
  A form can show ``ValidationError.errors()`` by field.
* **Responses** (``Customer``, ``Account``, ``Bill``, events) are tolerant: unknown
  fields are kept (the API may add some) and optional fields may be missing.

Nested creation is first-class: ``AccountCreate.customer`` is an id/reference or a
``CustomerCreate``; ``BillCreate.account`` is an account id (``bacc_…``) or a
``NestedAccountCreate`` that may nest a ``CustomerCreate`` (or name one by id or
reference) in turn. A bill's own ``customer`` is a customer id (``bcus_…``) or a
``CustomerCreate``: reference §12.1 gives a bill's string links as ids only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from moment_tui.api.kinds import (
    AMOUNT_APPLIED,
    COLLECTION,
    DEFAULT_BASE_URL,
    ID_PATTERNS,
    ObjectKind,
)
from moment_tui.money import MoneyError, check_currency

__all__ = ["AMOUNT_APPLIED", "COLLECTION", "DEFAULT_BASE_URL", "ID_PATTERNS", "ObjectKind"]

# --- shared field types -----------------------------------------------------------


AMOUNT_MAX = 99_999_999
# Balances have no documented bound (reference, Unknown 8). We keep them within
# JSON's safe-integer range so no JavaScript consumer ever loses a cent.
BALANCE_LIMIT = 2**53 - 1

METADATA_MAX_KEYS = 10
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500

EXTERNAL_REFERENCE_PATTERN = r"^[a-zA-Z0-9_-]+$"
EXTERNAL_REFERENCE_MAX: Final = 255

ExternalReference = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=EXTERNAL_REFERENCE_MAX, pattern=EXTERNAL_REFERENCE_PATTERN
    ),
]
"""Merchant's own reference: 1–255 of letters, digits, ``_`` and ``-``."""

# An id (``bcus_…``) or an external reference: both fit the reference pattern.
ObjectRef = ExternalReference

# Ids alone (reference §3.2), where the reference allows no external reference: a
# bill's string ``customer`` is ``^bcus_…`` and its ``account`` ``^bacc_…`` (§12.1).
CUSTOMER_ID_PATTERN = ID_PATTERNS["customer"].pattern
ACCOUNT_ID_PATTERN = ID_PATTERNS["account"].pattern
CustomerId = Annotated[str, StringConstraints(max_length=255, pattern=CUSTOMER_ID_PATTERN)]
"""A Moment customer id, ``bcus_`` then letters and digits."""
AccountId = Annotated[str, StringConstraints(max_length=255, pattern=ACCOUNT_ID_PATTERN)]
"""A Moment account id, ``bacc_`` then letters and digits."""

# Unions of "existing object by reference" and "new object" are told apart by JSON
# type, so a validation error names one branch only (``account.customer.phone``).
_REF, _NEW = "by-reference", "new-object"


def _ref_or_new(value: Any) -> str:
    return _REF if isinstance(value, str) else _NEW


Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Email = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")]
# ``[0-9]``, not ``\d``: pydantic's regex engine reads ``\d`` as any Unicode digit.
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
Phone = Annotated[str, StringConstraints(pattern=E164_PATTERN)]

_PATTERN_HINTS = {
    EXTERNAL_REFERENCE_PATTERN: "use letters, digits, '_' and '-' only",
    E164_PATTERN: "use international E.164 form, e.g. +27821234567",
    r"^[^@\s]+@[^@\s]+\.[^@\s.]+$": "enter an email address such as name@example.com",
    CUSTOMER_ID_PATTERN: "use the customer's id (bcus_…), not its external reference",
    ACCOUNT_ID_PATTERN: "use the account's id (bacc_…), not its external reference",
}


def _currency(value: str) -> str:
    if len(value) != 3:  # said in the words of the check below, not pydantic's length
        shown = value if len(value) <= 16 else value[:15] + "…"
        raise ValueError(f"{shown!r} is not an ISO 4217 currency code: three letters (e.g. ZAR)")
    try:
        return check_currency(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


Currency = Annotated[str, AfterValidator(_currency)]
AmountDue = Annotated[StrictInt, Field(ge=1, le=AMOUNT_MAX)]
AmountPaid = Annotated[StrictInt, Field(ge=0, le=AMOUNT_MAX)]
Balance = Annotated[StrictInt, Field(ge=-BALANCE_LIMIT, le=BALANCE_LIMIT)]


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > METADATA_MAX_KEYS:
        raise ValueError(f"at most {METADATA_MAX_KEYS} keys (got {len(value)})")
    for key, item in value.items():
        if not key or len(key) > METADATA_MAX_KEY_LENGTH:
            raise ValueError(f"key {key[:50]!r} must be 1–{METADATA_MAX_KEY_LENGTH} characters")
        if len(item) > METADATA_MAX_VALUE_LENGTH:
            # Pinned to metadata.<key> (the key is valid by now: at most 40 characters).
            raise _rule(key, f"value of {key!r} is longer than {METADATA_MAX_VALUE_LENGTH}")
    return value


Metadata = Annotated[dict[str, Annotated[str, Field(strict=True)]], AfterValidator(_metadata)]

DATE_HINT = "use a date as YYYY-MM-DD"
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_date(value: Any) -> Any:
    """Let through a ``date`` (not a ``datetime``, its subclass) or ``YYYY-MM-DD`` text.

    Pydantic's lax date parsing also takes ``"2025-02-03T00:00:00"`` and Unix times such
    as ``1699920000``; reference §3.6 says a calendar date, so those are refused here.
    A before-validator rather than strict mode, because the sandbox validates parsed
    JSON (python mode), where a date can only arrive as text. Well-formed text that is
    no real day (``2025-13-01``) is left to pydantic, whose message says why.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", DATE_HINT)


RequestDate = Annotated[dt.date, BeforeValidator(_calendar_date)]
"""A request's calendar date: a ``datetime.date`` or ``YYYY-MM-DD``, nothing else."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON body to send: unset optional fields are left out, dates as ISO."""
        return self.model_dump(mode="json", exclude_none=True)


def _rule(field: str, message: str) -> PydanticCustomError:
    """A cross-field rule's error, pinned to the field a form should highlight."""
    return PydanticCustomError("rule", message, {"field": field})


def _currency_needed_for(model: BaseModel, field: str) -> None:
    if getattr(model, field) is not None and getattr(model, "currency", None) is None:
        raise _rule("currency", f"currency is required when {field} is given")


class _BalanceNeedsCurrency(_Request):
    """``balance`` is minor units of some currency: it cannot come without ``currency``."""

    @model_validator(mode="after")
    def _balance_needs_currency(self) -> Self:
        _currency_needed_for(self, "balance")
        return self


def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{"account.customer.phone": "String should match …"}``: one message per field.

    Cross-field rules name their field through the error context, so a form can put
    every message beside the input it concerns; ``""`` holds whole-object errors.
    """
    result: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if part not in (_REF, _NEW)]
        ctx = error.get("ctx") or {}
        if error["type"] == "rule" and "field" in ctx:
            loc.append(str(ctx["field"]))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "string_pattern_mismatch":
            message = _PATTERN_HINTS.get(str(ctx.get("pattern")), message)
        elif error["type"] == "model_type" and error["loc"][-1:] == (_NEW,) and loc:
            # Neither a string nor an object: pydantic would name our class.
            message = (
                f"should name an existing {loc[-1]} (a string) or describe a new one (an object)"
            )
        result.setdefault(".".join(loc), message)
    return result


# --- customers --------------------------------------------------------------------


class CustomerCreate(_BalanceNeedsCurrency):
    external_reference: ExternalReference
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    currency: Currency | None = None
    balance: Balance | None = None
    metadata: Metadata | None = None


class CustomerUpdate(_BalanceNeedsCurrency):
    """PATCH body; ``balance`` replaces the stored value, ``metadata`` merges."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    currency: Currency | None = None
    balance: Balance | None = None
    metadata: Metadata | None = None


NewOrExistingCustomer = Annotated[
    Annotated[ObjectRef, Tag(_REF)] | Annotated[CustomerCreate, Tag(_NEW)],
    Discriminator(_ref_or_new),
]

# --- accounts ---------------------------------------------------------------------


class _AccountFields(_BalanceNeedsCurrency):
    external_reference: ExternalReference
    name: Name | None = None
    currency: Currency | None = None
    balance: Balance | None = None
    metadata: Metadata | None = None


class AccountCreate(_AccountFields):
    """``customer`` is an existing customer (id or external reference) or a new one."""

    customer: NewOrExistingCustomer


class NestedAccountCreate(_AccountFields):
    """A new account inside a bill create; its customer may be given here or on the bill."""

    customer: NewOrExistingCustomer | None = None


class AccountUpdate(_BalanceNeedsCurrency):
    name: Name | None = None
    currency: Currency | None = None
    balance: Balance | None = None
    metadata: Metadata | None = None


# --- bills ------------------------------------------------------------------------


# A bill's links (reference §12.1): an existing object by id only, or a new one.
BillCustomer = Annotated[
    Annotated[CustomerId, Tag(_REF)] | Annotated[CustomerCreate, Tag(_NEW)],
    Discriminator(_ref_or_new),
]
BillAccount = Annotated[
    Annotated[AccountId, Tag(_REF)] | Annotated[NestedAccountCreate, Tag(_NEW)],
    Discriminator(_ref_or_new),
]


class BillStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    VOIDED = "voided"


class BillCreate(_Request):
    """A bill against an account or directly against a customer.

    Rules (reference §12.1 and our choices for Unknown 19): at least one of
    ``account``/``customer``; as strings they are ids (``bacc_…``, ``bcus_…``), never
    external references; a new account object needs a customer, given either inside
    it (there by id or reference, as for any account) or as ``customer`` here but not
    both; ``due_date`` not before ``bill_date``.
    """

    external_reference: ExternalReference
    currency: Currency
    amount_due: AmountDue
    customer: BillCustomer | None = None
    account: BillAccount | None = None
    bill_date: RequestDate | None = None
    due_date: RequestDate | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _links(self) -> Self:
        if self.account is None and self.customer is None:
            raise _rule("account", "a bill needs an account or a customer")
        if isinstance(self.account, NestedAccountCreate):
            if self.account.customer is None and self.customer is None:
                raise _rule("customer", "the new account needs a customer (in account or here)")
            if self.account.customer is not None and self.customer is not None:
                raise _rule("customer", "give the new account's customer once, not twice")
        if self.bill_date and self.due_date and self.due_date < self.bill_date:
            raise _rule("due_date", "due_date cannot be before bill_date")
        return self


class BillUpdate(_Request):
    """PATCH body; ``amount_paid`` is the new total paid (not an increment)."""

    currency: Currency | None = None
    amount_paid: AmountPaid | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _paid_needs_currency(self) -> Self:
        _currency_needed_for(self, "amount_paid")
        return self


# --- response objects -------------------------------------------------------------


class PaymentRules(BaseModel):
    model_config = ConfigDict(extra="allow")

    min_amount: int | None = None
    max_amount: int | None = None
    underpayment_allowed: bool | None = None
    overpayment_allowed: bool | None = None


def _tolerant_metadata(value: Any) -> Any:
    """Missing or null metadata is empty; non-string values are shown as JSON text."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    return value


ResponseMetadata = Annotated[dict[str, str], BeforeValidator(_tolerant_metadata)]


class _Object(BaseModel):
    """A server object: unknown fields are kept, optional ones may be missing."""

    model_config = ConfigDict(extra="allow", frozen=True)
    KIND: ClassVar[ObjectKind]

    id: str
    external_reference: str
    payment_rules: PaymentRules | None = None
    metadata: ResponseMetadata = Field(default_factory=dict)


class Customer(_Object):
    KIND: ClassVar[ObjectKind] = "customer"

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    currency: str | None = None
    balance: int | None = None


class Account(_Object):
    KIND: ClassVar[ObjectKind] = "account"

    customer_id: str
    name: str | None = None
    currency: str | None = None
    balance: int | None = None


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class Bill(_Object):
    KIND: ClassVar[ObjectKind] = "bill"

    customer_id: str
    account_id: str | None = None
    status: Annotated[BillStatus, BeforeValidator(_lower)]
    currency: str
    amount_due: int
    amount_paid: int = 0
    amount_remaining: int
    bill_date: dt.date | None = None
    due_date: dt.date | None = None

    def is_overdue(self, today: dt.date) -> bool:
        return (
            self.status is BillStatus.UNPAID and self.due_date is not None and self.due_date < today
        )


BillingObject = Customer | Account | Bill

# --- webhooks ---------------------------------------------------------------------


class EventEnvelope(BaseModel):
    """``{id, type, data}``: the body of every Moment webhook."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Annotated[str, StringConstraints(min_length=1)]
    type: Annotated[str, StringConstraints(min_length=1)]
    data: dict[str, Any]


class AmountAppliedData(BaseModel):
    """``data`` of ``obligation.amount_applied``; any of the three ids may be absent."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    amount: Annotated[StrictInt, Field(ge=-BALANCE_LIMIT, le=BALANCE_LIMIT)]
    currency: str
    payment_id: str | None = None
    customer_id: str | None = None
    account_id: str | None = None
    bill_id: str | None = None
    metadata: ResponseMetadata = Field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def target(self) -> tuple[ObjectKind, str] | None:
        """The object the money was applied to: bill, else account, else customer."""
        if self.bill_id:
            return ("bill", self.bill_id)
        if self.account_id:
            return ("account", self.account_id)
        if self.customer_id:
            return ("customer", self.customer_id)
        return None


class AmountAppliedEvent(BaseModel):
    """A whole ``obligation.amount_applied`` event, ``data`` parsed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Annotated[str, StringConstraints(min_length=1)]
    type: Literal["obligation.amount_applied"]
    data: AmountAppliedData


# --- sandbox extensions (not part of Moment's API) ------------------------------------


class SandboxPaymentCreate(_Request):
    """``POST /sandbox/payments``: pay exactly one bill, account or customer.

    ``amount`` in minor units; absent means "in full" (the bill's remaining amount,
    or an account's/customer's unpaid bills plus any positive balance).
    """

    bill: ObjectRef | None = None
    account: ObjectRef | None = None
    customer: ObjectRef | None = None
    amount: AmountDue | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        named = [name for name in ("bill", "account", "customer") if getattr(self, name)]
        if len(named) != 1:
            raise _rule("bill", "name exactly one of bill, account or customer")
        return self

    def target(self) -> tuple[ObjectKind, str]:
        kinds: tuple[ObjectKind, ...] = ("bill", "account", "customer")
        for kind in kinds:
            ref = getattr(self, kind)
            if ref:
                return kind, ref
        raise AssertionError("validated to name one target")


# --- where the API keeps them -----------------------------------------------------------

MODEL_FOR: Final[dict[ObjectKind, type[BillingObject]]] = {
    "customer": Customer,
    "account": Account,
    "bill": Bill,
}
