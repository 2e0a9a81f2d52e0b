"""Import a bulk file into Moment and into the console's catalogue.

:func:`import_bulk` takes a :class:`~moment_tui.store.bulk.BulkFile` (parsed and
validated by :mod:`moment_tui.store.bulk`) and, for each good row in file order:

1. asks Moment for the row's bill by its external reference; if it exists the row
   is **already imported** — the bill (and its customer) are remembered, nothing is
   created, and a note says so when the file's amount, currency or due date differ
   from Moment's copy (the API cannot change ``amount_due`` or ``due_date``);
2. otherwise finds the customer: one already met during this import, else
   ``GET /billing/customers/{reference}``. Moment is asked rather than the
   catalogue, because the catalogue can outlive the server's data (a sandbox
   restarted in memory) and a bill naming a customer the server lacks would fail;
3. creates the bill against that customer's id, or with a new ``CustomerCreate``
   nested inside (one request creates both), then fetches the new customer so the
   catalogue has it;
4. remembers the customer and the bill in the workspace with source ``"imported"``.

Customer details are never changed by an import. When a row's customer already
exists — in Moment before the import, or created by an earlier row of the same file
(the same ID number or reference) — and the row gives a name, email or phone that
differs from Moment's copy, the bill still goes to that customer and the row gets a
note naming each difference ("customer details differ from Moment's copy (email:
file other@example.com, Moment thandi@example.co.za); … the customer was not
changed") and :attr:`RowResult.customer_differences` lists them. Names compare
ignoring case and spacing, emails ignoring case; an empty cell in the file is "not
given", not a difference. Why not update the customer: the reference's bulk-upload
section does not say that a re-upload changes customer details, whether ``email``
may be sent on a customer update is unknown, and with two rows of one file
disagreeing there is no telling which is right — so the file's values are reported,
not applied. The ID number is never shown: the customer is named by its reference
(a hash of the number unless the file has a reference column). A dry run, which
asks Moment nothing, compares a row with the first row of the file for the same
customer.

Choices:

* **Idempotency-Key** — deterministic: a uuid5 of (file name, file date, bill
  reference, SHA-256 of the request body). A re-run after a crash sends the same
  key for the same request, and the bill's unique reference backs that up (step 1,
  and a ``409`` is treated as "already imported"). The body is part of the key on
  purpose: Moment keeps a key's first answer — errors included — for 24 hours and
  refuses the key with a different body, so a row corrected after a server-side
  refusal, or one whose customer now exists (reference instead of nested object),
  must get a fresh key.
* **Errors** — an :class:`~moment_tui.api.errors.ApiError` on a row becomes that
  row's error with the server's status and detail; other rows go on. A lost
  connection or timeout (after the client's own retries), a refused key (401/403)
  or rate limiting (429 after retries) stop the import: rows not yet sent are
  reported as "not attempted". Re-running the import finishes the job safely.
* **Concurrency** — rows are grouped by customer; a customer's rows run in file
  order, different customers run side by side (``concurrency`` at a time, default
  4; 1 is strictly sequential). Results are reported in file order regardless.
* **Dry run** — validates and reports what would be sent; no request is made.
* File reading and parsing happen before any request (:func:`import_bulk_file`
  parses in a worker thread), so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import ValidationError

from moment_tui.api.client import MomentClient
from moment_tui.api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    MomentError,
    NotFound,
    RateLimited,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
)
from moment_tui.api.models import (
    COLLECTION,
    Bill,
    BillingObject,
    Customer,
    CustomerCreate,
    field_errors,
)
from moment_tui.money import format_minor
from moment_tui.store.bulk import (
    AMOUNT,
    DUE_DATE,
    EMAIL,
    FIRST_NAME,
    PHONE,
    BulkFile,
    BulkRow,
    RowError,
    load_bulk,
)
from moment_tui.store.workspace import Workspace

IDEMPOTENCY_NAMESPACE: Final = uuid.UUID("22a0d98c-9c68-5931-b2c6-1fc57d3e9cde")
DEFAULT_CONCURRENCY: Final = 4

RowStatus = Literal["created", "already_imported", "valid", "error", "not_attempted"]
CustomerField = Literal["name", "email", "phone"]

# API field names (in a problem's ``errors`` extension, when a server sends one)
# mapped back to the file's columns.
_API_FIELD_COLUMN: Final = {
    "amount_due": AMOUNT,
    "due_date": DUE_DATE,
    "bill_date": DUE_DATE,
    "customer.email": EMAIL,
    "customer.phone": PHONE,
    "customer.name": FIRST_NAME,
}


@dataclass(frozen=True)
class CustomerDifference:
    """A customer detail the row gives that the customer it belongs to does not have:
    ``file`` is the row's value, ``kept`` the customer's (``None``: it has none),
    which stays — an import never changes a customer."""

    field: CustomerField
    file: str
    kept: str | None


@dataclass
class RowResult:
    """What happened to one data row of the file."""

    line_number: int
    status: RowStatus
    customer_reference: str | None = None
    bill_reference: str | None = None
    bill: Bill | None = None
    customer: Customer | None = None
    customer_created: bool = False
    errors: list[RowError] = field(default_factory=list)
    note: str | None = None
    customer_differences: list[CustomerDifference] = field(default_factory=list)

    def add_note(self, text: str) -> None:
        """Add a sentence to :attr:`note` (parts are joined with ``"; "``)."""
        self.note = text if self.note is None else f"{self.note}; {text}"


@dataclass
class ImportReport:
    """The outcome of an import (or a dry run) of one bulk file."""

    file_name: str | None
    file_date: dt.date
    rows_total: int
    created: int = 0
    already_imported: int = 0
    customers_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)
    dry_run: bool = False
    stopped: str | None = None
    file_errors: list[RowError] = field(default_factory=list)

    def _count(self, status: RowStatus) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def rows_with_errors(self) -> int:
        return self._count("error")

    @property
    def not_attempted(self) -> int:
        return self._count("not_attempted")

    @property
    def valid(self) -> int:
        """Rows that passed validation (in a dry run: would be sent)."""
        return self._count("valid")

    def summary(self) -> str:
        """``"12 rows: 9 imported, 2 already imported, 1 with errors"``."""
        if self.file_errors:
            return "file not imported: " + "; ".join(str(e) for e in self.file_errors)
        rows = f"{self.rows_total} row{'' if self.rows_total == 1 else 's'}"
        if self.dry_run:
            return (
                f"{rows}: {self.valid} valid, {self.rows_with_errors} with errors "
                "(dry run: nothing sent)"
            )
        text = (
            f"{rows}: {self.created} imported, {self.already_imported} already imported, "
            f"{self.rows_with_errors} with errors"
        )
        if self.not_attempted:
            text += f", {self.not_attempted} not attempted (stopped: {self.stopped})"
        return text


def idempotency_key(
    file_name: str | None, file_date: dt.date, bill_reference: str, body: Mapping[str, Any]
) -> str:
    """The same request from the same row of the same file → the same uuid5 key."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    name = "\n".join((file_name or "", file_date.isoformat(), bill_reference, digest))
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, name))


async def import_bulk_file(
    path: str | Path,
    client: MomentClient | None,
    workspace: Workspace | None,
    *,
    currency: str = "ZAR",
    file_date: dt.date | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_row: Callable[[RowResult], object] | None = None,
) -> ImportReport:
    """Read and parse ``path`` in a worker thread, then :func:`import_bulk` it."""
    bulk = await asyncio.to_thread(
        load_bulk, path, currency=currency, file_date=file_date, today=today
    )
    return await import_bulk(
        bulk, client, workspace, dry_run=dry_run, concurrency=concurrency, on_row=on_row
    )


async def import_bulk(
    bulk: BulkFile,
    client: MomentClient | None,
    workspace: Workspace | None,
    *,
    dry_run: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_row: Callable[[RowResult], object] | None = None,
) -> ImportReport:
    """Create every good row's customer and bill in Moment and remember them.

    ``client`` may be ``None`` only for a dry run; ``workspace`` ``None`` skips the
    catalogue. ``on_row`` is called as each row finishes (in completion order).
    """
    if client is None and not dry_run:
        raise ValueError("a client is needed unless dry_run=True")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    report = ImportReport(
        file_name=bulk.file_name,
        file_date=bulk.file_date,
        rows_total=bulk.rows_total,
        dry_run=dry_run,
        file_errors=list(bulk.file_errors),
    )
    if bulk.file_errors:
        report.errors = bulk.all_errors()
        return report

    results: dict[int, RowResult] = {}
    for error in bulk.errors:
        failed = results.setdefault(error.line_number, RowResult(error.line_number, "error"))
        failed.errors.append(error)
    if on_row is not None:
        for failed in results.values():
            on_row(failed)

    if dry_run or client is None:
        first_rows: dict[str, BulkRow] = {}
        for row in bulk.rows:
            valid = RowResult(row.line_number, "valid", row.customer_reference, row.bill_reference)
            first = first_rows.setdefault(row.customer_reference, row)
            if first is not row:
                valid.customer_differences = customer_differences(row.customer, first.customer)
                if valid.customer_differences:
                    valid.add_note(
                        _customer_note(
                            valid.customer_differences,
                            f"line {first.line_number}",
                            f"line {first.line_number}'s for the same customer",
                            "an import adds the bill to that customer and does not change "
                            "its details",
                        )
                    )
            results[row.line_number] = valid
            if on_row is not None:
                on_row(results[row.line_number])
    else:
        importer = _Importer(bulk, client, workspace)
        await importer.run(concurrency, results, on_row)
        report.stopped = importer.stop_reason
        report.customers_created = importer.customers_created

    report.results = [results[line] for line in sorted(results)]
    report.created = report._count("created")
    report.already_imported = report._count("already_imported")
    report.errors = sorted(
        (error for result in report.results for error in result.errors),
        key=lambda e: e.line_number,
    )
    return report


class _Importer:
    def __init__(self, bulk: BulkFile, client: MomentClient, workspace: Workspace | None) -> None:
        self.bulk = bulk
        self.client = client
        self.workspace = workspace
        self.by_reference: dict[str, Customer] = {}
        self.by_id: dict[str, Customer] = {}
        self.remembered: set[str] = set()
        self.created_from: dict[str, int] = {}  # customer reference → the line that made it
        self.stop_reason: str | None = None
        self.customers_created = 0

    async def run(
        self,
        concurrency: int,
        results: dict[int, RowResult],
        on_row: Callable[[RowResult], object] | None,
    ) -> None:
        groups: dict[str, list[BulkRow]] = {}
        for row in self.bulk.rows:
            groups.setdefault(row.customer_reference, []).append(row)
        pending = iter(groups.values())

        async def worker() -> None:
            for group in pending:  # shared: each group goes to exactly one worker
                for row in group:
                    result = await self.row(row)
                    results[row.line_number] = result
                    if on_row is not None:
                        on_row(result)

        async with asyncio.TaskGroup() as tasks:
            for _ in range(min(concurrency, len(groups))):
                tasks.create_task(worker())

    async def row(self, row: BulkRow) -> RowResult:
        result = RowResult(row.line_number, "error", row.customer_reference, row.bill_reference)
        if self.stop_reason is not None:
            result.status = "not_attempted"
            result.errors.append(
                RowError(row.line_number, "", f"not attempted: {self.stop_reason}")
            )
            return result
        try:
            await self._import(row, result)
        except (Unauthorized, Forbidden, RateLimited, TransportError) as exc:
            self.stop_reason = self.stop_reason or str(exc)
            result.status = "error"
            result.errors.append(RowError(row.line_number, "", _api_message(exc)))
        except ApiError as exc:
            result.status = "error"
            result.errors.append(RowError(row.line_number, _api_field(exc), _api_message(exc)))
        except (MomentError, ValidationError) as exc:
            result.status = "error"
            result.errors.append(RowError(row.line_number, "", _message(exc)))
        return result

    async def _import(self, row: BulkRow, result: RowResult) -> None:
        existing = await self._find_bill(row.bill_reference)
        if existing is not None:
            await self._already(row, existing, result)
            return
        customer = await self._customer_by_reference(row.customer_reference)
        try:
            bill, replayed = await self._create(row, customer)
        except Conflict:
            # Someone created the bill or the customer since we looked.
            existing = await self._find_bill(row.bill_reference)
            if existing is not None:
                await self._already(row, existing, result)
                return
            if customer is not None:
                raise
            customer = await self._customer_by_reference(row.customer_reference)
            if customer is None:
                raise
            bill, replayed = await self._create(row, customer)
        if replayed:
            # An earlier run's identical request already created it.
            await self._already(row, await self.client.get_bill(bill.id), result)
            return
        result.status = "created"
        result.bill = bill
        if customer is None:
            result.customer_created = True
            self.customers_created += 1
            self.created_from.setdefault(row.customer_reference, row.line_number)
            try:
                customer = await self._customer_by_id(bill.customer_id)
            except MomentError as exc:
                result.add_note(f"bill created; its new customer could not be fetched: {exc}")
        else:
            self._compare_customer(row, customer, result, "the bill was added to")
        result.customer = customer
        await self._remember(customer, bill)

    async def _create(self, row: BulkRow, customer: Customer | None) -> tuple[Bill, bool]:
        nested: str | CustomerCreate = row.customer if customer is None else customer.id
        body = row.bill(nested).to_json()
        key = idempotency_key(self.bulk.file_name, self.bulk.file_date, row.bill_reference, body)
        path = COLLECTION["bill"]
        response = await self.client.request("POST", path, json=body, idempotency_key=key)
        try:
            bill = Bill.model_validate(response.body)
        except ValidationError:
            raise UnexpectedResponse(f"POST {path}: the bill in the answer is malformed") from None
        return bill, response.replayed

    async def _already(self, row: BulkRow, bill: Bill, result: RowResult) -> None:
        result.status = "already_imported"
        result.bill = bill
        try:
            result.customer = await self._customer_by_id(bill.customer_id)
        except MomentError as exc:
            result.add_note(f"its customer could not be fetched: {exc}")
        differences = _differences(row, bill)
        if differences:
            result.add_note(
                "already in Moment with different values (not changed): " + "; ".join(differences)
            )
        if result.customer is not None:
            self._compare_customer(row, result.customer, result, "the bill belongs to")
        await self._remember(result.customer, bill)

    def _compare_customer(
        self, row: BulkRow, customer: Customer, result: RowResult, bill_goes: str
    ) -> None:
        """Note (never apply) the row's customer details that differ from Moment's."""
        result.customer_differences = customer_differences(row.customer, customer)
        if not result.customer_differences:
            return
        line = self.created_from.get(customer.external_reference)
        whose = (
            "the existing customer"
            if line is None or line == row.line_number
            else f"the customer created from line {line}"
        )
        result.add_note(
            _customer_note(
                result.customer_differences,
                "Moment",
                "Moment's copy",
                f"{bill_goes} {whose}, which was not changed",
            )
        )

    async def _find_bill(self, reference: str) -> Bill | None:
        try:
            return await self.client.get_bill(reference)
        except NotFound:
            return None

    async def _customer_by_reference(self, reference: str) -> Customer | None:
        known = self.by_reference.get(reference)
        if known is not None:
            return known
        try:
            customer = await self.client.get_customer(reference)
        except NotFound:
            return None
        self._keep(customer)
        return customer

    async def _customer_by_id(self, customer_id: str) -> Customer:
        known = self.by_id.get(customer_id)
        if known is not None:
            return known
        customer = await self.client.get_customer(customer_id)
        self._keep(customer)
        return customer

    def _keep(self, customer: Customer) -> None:
        self.by_reference[customer.external_reference] = customer
        self.by_id[customer.id] = customer

    async def _remember(self, customer: Customer | None, bill: Bill) -> None:
        if self.workspace is None:
            return
        objects: list[BillingObject] = []
        if customer is not None and customer.id not in self.remembered:
            self.remembered.add(customer.id)
            objects.append(customer)
        objects.append(bill)
        await self.workspace.remember(objects, "imported")


def customer_differences(
    row: CustomerCreate, kept: Customer | CustomerCreate
) -> list[CustomerDifference]:
    """The row's name, email and phone that differ from ``kept``'s, in that order.

    Names compare ignoring case and runs of spaces, emails ignoring case, phones as
    given (both sides are E.164). A detail the row leaves empty is not a difference.
    """
    found: list[CustomerDifference] = []
    if row.name and _folded(row.name) != _folded(kept.name):
        found.append(CustomerDifference("name", row.name, kept.name))
    if row.email and _folded(row.email) != _folded(kept.email):
        found.append(CustomerDifference("email", row.email, kept.email))
    if row.phone and row.phone != kept.phone:
        found.append(CustomerDifference("phone", row.phone, kept.phone))
    return found


def _folded(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split()).casefold()


def _customer_note(
    differences: list[CustomerDifference], label: str, source: str, outcome: str
) -> str:
    """``customer details differ from <source> (email: file x, <label> y); <outcome>``."""

    def shown(name: CustomerField, value: str | None) -> str:
        if value is None:
            return "none"
        return f'"{value}"' if name == "name" else value

    parts = "; ".join(
        f"{d.field}: file {shown(d.field, d.file)}, {label} {shown(d.field, d.kept)}"
        for d in differences
    )
    return f"customer details differ from {source} ({parts}); {outcome}"


def _differences(row: BulkRow, bill: Bill) -> list[str]:
    found: list[str] = []
    if bill.currency != row.currency:
        found.append(f"currency {bill.currency} in Moment, {row.currency} in the file")
    elif bill.amount_due != row.amount_due:
        found.append(
            f"amount due {format_minor(bill.amount_due, bill.currency)} in Moment, "
            f"{format_minor(row.amount_due, row.currency)} in the file"
        )
    if row.due_date is not None and bill.due_date != row.due_date:
        shown = bill.due_date.isoformat() if bill.due_date else "none"
        found.append(f"due date {shown} in Moment, {row.due_date.isoformat()} in the file")
    return found


def _api_message(exc: MomentError) -> str:
    if isinstance(exc, ApiError):
        text = f"Moment refused it ({exc.status} {exc.title})"
        return f"{text}: {exc.detail}" if exc.detail else text
    return str(exc)


def _api_field(exc: ApiError) -> str:
    errors = (exc.problem.extensions or {}).get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        name = str(errors[0].get("field") or "")
        return _API_FIELD_COLUMN.get(name, "")
    return ""


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k or 'bill'}: {v}" for k, v in field_errors(exc).items())
    return str(exc)
