"""Moment's bulk-upload CSV format: parsing and row-level validation (no I/O).

The format is the reference's "Bulk upload" section (§18): one row per customer and
bill, columns ``first_name``, ``last_name``, ``passport_number`` or
``sa_identification_number``, ``mobile_phone_number``, ``email``, ``due_date``,
``amount_due`` (decimal major units, ``240.00``), and any other column is
biller-specific metadata. :func:`parse_bulk` turns the text into :class:`BulkRow`
objects ready for the API (a :class:`~moment_tui.api.models.CustomerCreate` and the
bill's fields) plus a list of :class:`RowError`. The importer
(:mod:`moment_tui.store.bulk_import`) sends the good rows.

Choices (the reference leaves these open):

* **Encoding** — UTF-8; a byte-order mark is tolerated. Bytes that are not UTF-8 are
  a file-level error naming the line ("save as CSV UTF-8"), never guessed at.
* **Delimiter** — comma; semicolon when the header line has more ``;`` than ``,``
  (spreadsheets in comma-decimal locales export that way).
* **Header** — names match case-insensitively, surrounding spaces trimmed, and runs
  of inner spaces or hyphens read as ``_`` (``"First Name"`` is ``first_name``). A
  missing required column (``first_name``, ``last_name``, ``amount_due``, and one
  of ``passport_number``/``sa_identification_number``) or a column named twice is a
  *file-level* error at line 1: nothing is imported. Leading blank lines are
  skipped; the header is the first non-blank line.
* **Line numbers** — every :class:`RowError` carries the 1-based physical line where
  its record starts (the header is line 1 in a normal file; a quoted value that
  spans lines moves the following records down). Blank records (no cell with
  text) are skipped and not counted. Missing trailing cells read as empty; a value
  beyond the header's last column, or under a column without a name, is an error.
* **Every problem at once** — each row is checked completely and reports all of
  its problems; good rows are kept even when others are bad.
* **Names** — customer name is ``"first_name last_name"``, trimmed, inner
  whitespace collapsed to single spaces; both parts are required.
* **Identity numbers** — ``sa_identification_number``: spaces and hyphens removed,
  then exactly 13 digits, a real date of birth in the first six (``YYMMDD``, valid
  in either the 1900s or the 2000s) and a valid Luhn check digit.
  ``passport_number``: spaces removed, upper-cased, 6–20 letters or digits. When
  both are given both are checked, and the SA ID number identifies the customer.
* **Customer reference** — a biller column ``reference``, ``customer_reference`` or
  ``account_number`` (the first of those present in the header, in that order)
  gives the customer's ``external_reference`` when its value fits the API's
  pattern ``^[a-zA-Z0-9_-]+$`` and is at most 240 characters (so the bill reference
  built from it stays within 255). Otherwise the reference is derived:
  ``"CSV-" + sha256(normalised ID or passport number)[:16]`` (hex). The same person
  gets the same reference in every row and file, and the number itself is not
  shown. Caveat: an unsalted hash of a 13-digit SA ID number can be reversed by
  brute force; it keeps the number out of sight, it is not a secure pseudonym.
* **Phone** — spaces and hyphens removed; ``+…`` must be E.164; a South African
  local number (``0`` and nine digits) becomes ``+27…``; anything else is an error.
* **Email** — optional; checked with the API models' own pattern (``CustomerCreate``).
* **Amount** — :func:`moment_tui.money.parse_minor` in the file's currency: no
  negatives, at least 0.01 and at most 999,999.99 (the API's 1…99,999,999 minor
  units).
* **Dates** — ``due_date`` is optional and strictly ``YYYY-MM-DD``. The file's "as
  of" date comes from the ``file_date`` argument, else the file name
  (``[country]_[merchant]_moment_all-customers_YYYY-MM-DD.csv``,
  ``[country]_[merchant]_dailyfile_YYYY-MM-DD.csv``, or any name whose stem ends
  in ``YYYY-MM-DD``), else today. A name whose date is not a real date is a
  file-level error. The bill's ``bill_date`` is the file date, or the due date when
  that is earlier (a bill already overdue in the file: it cannot be dated after it
  was due, and the API would date it today).
* **Bill reference** — ``f"{customer_reference}-{due_date or file_date:%Y%m%d}"``,
  stable across re-imports of the same data. When two rows of one file produce the
  same reference, later ones get ``-2``, ``-3``… in file order. A row takes its
  reference even when it has other errors, so fixing a bad row later does not
  shift the references of rows already imported. Caveat: with no due date and no
  date in the file name, the reference contains the import day, so importing the
  same file on another day creates new bills; pass ``file_date`` to pin it.
* **Metadata** — every column that is not one of the eight standard ones
  (including the reference columns) is bill metadata under its header text as
  written (trimmed); empty cells are left out. The API's limits apply per row: at
  most 10 keys, key ≤ 40 characters, value ≤ 500 characters.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Final, Literal

from pydantic import ValidationError

from moment_tui.api.models import (
    AMOUNT_MAX,
    E164_PATTERN,
    METADATA_MAX_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LENGTH,
    BillCreate,
    CustomerCreate,
    field_errors,
)
from moment_tui.money import MoneyError, check_currency, parse_minor

# --- columns --------------------------------------------------------------------------

FIRST_NAME: Final = "first_name"
LAST_NAME: Final = "last_name"
PASSPORT: Final = "passport_number"
SA_ID: Final = "sa_identification_number"
PHONE: Final = "mobile_phone_number"
EMAIL: Final = "email"
DUE_DATE: Final = "due_date"
AMOUNT: Final = "amount_due"

STANDARD_COLUMNS: Final = (FIRST_NAME, LAST_NAME, PASSPORT, SA_ID, PHONE, EMAIL, DUE_DATE, AMOUNT)
REQUIRED_COLUMNS: Final = (FIRST_NAME, LAST_NAME, AMOUNT)
REFERENCE_COLUMNS: Final = ("reference", "customer_reference", "account_number")

DERIVED_PREFIX: Final = "CSV-"
MAX_CUSTOMER_REFERENCE: Final = 240  # leaves room for "-YYYYMMDD-NNNNN" within 255

FileKind = Literal["all-customers", "dailyfile"]
FileDateSource = Literal["argument", "file name", "today"]

_REFERENCE = re.compile(r"^[a-zA-Z0-9_-]+$")
_E164 = re.compile(E164_PATTERN)
_LOCAL_ZA = re.compile(r"^0[0-9]{9}$")
_PHONE_NOISE = re.compile(r"[\s-]+")
_ID_NOISE = re.compile(r"[\s-]+")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,20}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_SPACES = re.compile(r"\s+")
_HEADER_NOISE = re.compile(r"[\s-]+")
_SCIENTIFIC = re.compile(r"^[0-9.,]+[eE]\+?[0-9]+$")
_FILE_NAME = re.compile(
    r"^(?P<country>[A-Za-z]+)_(?P<merchant>.+)_(?P<kind>moment_all-customers|dailyfile)"
    r"_(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})$",
    re.IGNORECASE,
)
_PLACEHOLDER_REFERENCE: Final = "unknown"
_CUSTOMER_FIELD_COLUMN: Final = {"email": EMAIL, "phone": PHONE, "name": FIRST_NAME}
_LUHN_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_TRAILING_DATE = re.compile(r"(?:^|[^0-9])(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})$")


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class RowError:
    """One problem: the physical line its record starts on (header = 1), the column
    (or ``""`` for the whole row or file) and a sentence for the user."""

    line_number: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line_number}"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass(frozen=True)
class BulkRow:
    """A valid row, ready to send: the customer to create (or reuse) and the bill."""

    line_number: int
    customer_reference: str
    bill_reference: str
    customer: CustomerCreate
    currency: str
    amount_due: int
    due_date: dt.date | None
    bill_date: dt.date | None
    metadata: dict[str, str]

    def bill(self, customer: str | CustomerCreate) -> BillCreate:
        """The ``POST /billing/bills`` body, against an existing customer (its id: a
        bill names one by id only) or with a new customer nested inside."""
        return BillCreate(
            external_reference=self.bill_reference,
            currency=self.currency,
            amount_due=self.amount_due,
            customer=customer,
            bill_date=self.bill_date,
            due_date=self.due_date,
            metadata=self.metadata or None,
        )


@dataclass(frozen=True)
class FileName:
    """What a file name says: the "as of" date and, for the documented patterns,
    the country, merchant and kind of file."""

    date: dt.date | None = None
    country: str | None = None
    merchant: str | None = None
    kind: FileKind | None = None


@dataclass
class BulkFile:
    """A parsed bulk file: good rows, every error, and what the file is."""

    file_name: str | None
    file_date: dt.date
    file_date_source: FileDateSource
    currency: str
    name_info: FileName = field(default_factory=FileName)
    columns: tuple[str, ...] = ()
    metadata_columns: tuple[str, ...] = ()
    rows: list[BulkRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[RowError] = field(default_factory=list)
    rows_total: int = 0

    @property
    def importable(self) -> bool:
        """False when a file-level problem means nothing may be imported."""
        return not self.file_errors

    @property
    def rows_with_errors(self) -> int:
        return len({error.line_number for error in self.errors})

    def all_errors(self) -> list[RowError]:
        return sorted([*self.file_errors, *self.errors], key=lambda e: e.line_number)


# --- single-value rules (public so forms and tests can use them) --------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by South African ID numbers (ASCII digits only)."""
    plain = sum(ord(char) - 48 for char in digits[-1::-2])
    doubled = sum(_LUHN_DOUBLED[ord(char) - 48] for char in digits[-2::-2])
    return (plain + doubled) % 10 == 0


def _birth_date_valid(yymmdd: str) -> bool:
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    for century in (1900, 2000):
        try:
            dt.date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def check_sa_id(value: str) -> str:
    """The normalised 13-digit SA ID number, or :class:`ValueError` with a sentence."""
    number = _ID_NOISE.sub("", value)
    if _SCIENTIFIC.match(number):
        raise ValueError(
            f"{value!r} looks like a spreadsheet turned the number into scientific "
            "notation; format the column as text"
        )
    if not number.isascii() or not number.isdigit():
        raise ValueError("must be 13 digits")
    if len(number) != 13:
        hint = "; a spreadsheet may have dropped a leading 0" if len(number) == 12 else ""
        raise ValueError(f"must be 13 digits (got {len(number)}){hint}")
    if not _birth_date_valid(number[:6]):
        raise ValueError(f"the first six digits ({number[:6]}) are not a real date of birth")
    if not luhn_valid(number):
        raise ValueError("the check digit is wrong: not a valid SA ID number")
    return number


def check_passport(value: str) -> str:
    """The normalised passport number (no spaces, upper case), or :class:`ValueError`."""
    number = _ID_NOISE.sub("", value).upper()
    if not number.isascii() or not _PASSPORT.match(number):
        raise ValueError("must be 6–20 letters or digits")
    return number


def normalise_phone(value: str) -> str:
    """``082 123-4567`` → ``+27821234567``; E.164 passes through; else :class:`ValueError`."""
    number = _PHONE_NOISE.sub("", value)
    if number.startswith("+"):
        if _E164.match(number):
            return number
    elif _LOCAL_ZA.match(number):
        return "+27" + number[1:]
    raise ValueError(
        "use international form (+27821234567) or a South African number of 10 digits "
        "starting with 0"
    )


def derived_reference(id_number: str) -> str:
    """``CSV-`` and 16 hex digits of the SHA-256 of the normalised ID/passport number."""
    return DERIVED_PREFIX + hashlib.sha256(id_number.encode()).hexdigest()[:16]


def usable_reference(value: str) -> bool:
    """Can a biller's reference value be the customer's external_reference as it is?"""
    return 0 < len(value) <= MAX_CUSTOMER_REFERENCE and _REFERENCE.match(value) is not None


def parse_iso_date(value: str) -> dt.date:
    if not _ISO_DATE.match(value):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None


def parse_file_name(name: str) -> FileName:
    """The date (and country, merchant, kind) a bulk file's name carries.

    Raises :class:`ValueError` when the name has a date that is not a real date.
    """
    stem = PurePath(name).name
    if stem.lower().endswith(".csv"):
        stem = stem[:-4]
    match = _FILE_NAME.match(stem)
    if match:
        kind: FileKind = "dailyfile" if match["kind"].lower() == "dailyfile" else "all-customers"
        return FileName(
            date=parse_iso_date(match["date"]),
            country=match["country"].upper(),
            merchant=match["merchant"],
            kind=kind,
        )
    trailing = _TRAILING_DATE.search(stem)
    if trailing:
        return FileName(date=parse_iso_date(trailing["date"]))
    return FileName()


def header_key(name: str) -> str:
    """How a header cell is matched: ``" First Name "`` → ``"first_name"``."""
    return _HEADER_NOISE.sub("_", name.strip().lower())


# --- parsing ----------------------------------------------------------------------------


def load_bulk(
    path: str | Path,
    *,
    currency: str = "ZAR",
    file_date: dt.date | None = None,
    today: dt.date | None = None,
) -> BulkFile:
    """Read and parse a bulk file from disk (blocking: run it in a thread from async code)."""
    target = Path(path)
    return parse_bulk_bytes(
        target.read_bytes(),
        file_name=target.name,
        currency=currency,
        file_date=file_date,
        today=today,
    )


def parse_bulk_bytes(
    data: bytes,
    *,
    file_name: str | None = None,
    currency: str = "ZAR",
    file_date: dt.date | None = None,
    today: dt.date | None = None,
) -> BulkFile:
    """Decode (UTF-8, BOM tolerated) and parse; undecodable bytes are a file-level error."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bulk = _start(file_name, currency, file_date, today)
        line = data[: exc.start].count(b"\n") + 1
        bulk.file_errors.append(
            RowError(line, "", "the file is not UTF-8 text; save it as CSV UTF-8")
        )
        return bulk
    return parse_bulk(
        text, file_name=file_name, currency=currency, file_date=file_date, today=today
    )


def parse_bulk(
    text: str,
    *,
    file_name: str | None = None,
    currency: str = "ZAR",
    file_date: dt.date | None = None,
    today: dt.date | None = None,
) -> BulkFile:
    """Parse and validate a whole bulk file.

    ``file_name`` (only its last part is used) supplies the file date unless
    ``file_date`` is given; ``today`` is the fallback (default: the local date).
    ``currency`` must be an ISO 4217 code (raises :class:`~moment_tui.money.MoneyError`).
    """
    check_currency(currency)
    bulk = _start(file_name, currency, file_date, today)
    if bulk.file_errors:
        return bulk
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        _parse_records(bulk, _records(reader))
    except csv.Error as exc:
        bulk.rows.clear()
        bulk.file_errors.append(
            RowError(reader.line_num, "", f"the file is not valid CSV here: {exc}")
        )
    return bulk


def _delimiter(text: str) -> str:
    """``;`` when the header line (the first with text) has more of them than ``,``."""
    start = 0
    while True:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip() or end < 0:
            return ";" if line.count(";") > line.count(",") else ","
        start = end + 1


def _start(
    file_name: str | None, currency: str, file_date: dt.date | None, today: dt.date | None
) -> BulkFile:
    name = PurePath(file_name).name if file_name else None
    info = FileName()
    problem: RowError | None = None
    if name:
        try:
            info = parse_file_name(name)
        except ValueError as exc:
            problem = RowError(1, "file_name", f"the date in the file name: {exc}")
    source: FileDateSource
    if file_date is not None:
        chosen, source = file_date, "argument"
    elif info.date is not None:
        chosen, source = info.date, "file name"
    else:
        chosen, source = today or dt.date.today(), "today"
    bulk = BulkFile(
        file_name=name,
        file_date=chosen,
        file_date_source=source,
        currency=currency,
        name_info=info,
    )
    if problem is not None and file_date is None:
        bulk.file_errors.append(problem)
    return bulk


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """``(first physical line, cells)`` of every record that has any text."""
    line_num = getattr(reader, "line_num", 0)
    for record in reader:
        start = line_num + 1
        line_num = getattr(reader, "line_num", line_num)
        if any(cell.strip() for cell in record):
            yield start, record


@dataclass(frozen=True)
class _Layout:
    """Where each column is: standard columns by index, the rest are metadata."""

    index: dict[str, int]
    metadata: tuple[tuple[int, str], ...]
    unnamed: frozenset[int]
    width: int
    reference: int | None
    order: dict[str, int]  # column key or metadata header → position, to sort errors


def _read_header(bulk: BulkFile, line: int, header: list[str]) -> _Layout | None:
    index: dict[str, int] = {}
    metadata: list[tuple[int, str]] = []
    unnamed: set[int] = set()
    seen: dict[str, int] = {}
    problems: list[RowError] = []
    for position, raw in enumerate(header):
        text = raw.strip()
        if not text:
            unnamed.add(position)
            continue
        key = header_key(text)
        if key in seen:
            problems.append(RowError(line, text, "this column appears twice in the header"))
            continue
        seen[key] = position
        if key in STANDARD_COLUMNS:
            index[key] = position
        else:
            metadata.append((position, text))
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    problems += [RowError(line, name, "required column is missing") for name in missing]
    if PASSPORT not in index and SA_ID not in index:
        problems.append(
            RowError(
                line, SA_ID, "the file needs a sa_identification_number or passport_number column"
            )
        )
    bulk.columns = tuple(cell.strip() for cell in header)
    bulk.metadata_columns = tuple(name for _, name in metadata)
    if problems:
        bulk.file_errors += problems
        return None
    reference = next((seen[name] for name in REFERENCE_COLUMNS if name in seen), None)
    order = {**index, **{name: position for position, name in metadata}}
    return _Layout(index, tuple(metadata), frozenset(unnamed), len(header), reference, order)


def _parse_records(bulk: BulkFile, records: Iterator[tuple[int, list[str]]]) -> None:
    first = next(records, None)
    if first is None:
        bulk.file_errors.append(RowError(1, "", "the file is empty: it needs a header row"))
        return
    layout = _read_header(bulk, *first)
    taken: set[str] = set()
    for line, cells in records:
        bulk.rows_total += 1
        if layout is not None:
            _parse_row(bulk, layout, line, cells, taken)
    if bulk.file_errors:
        bulk.rows.clear()


def _parse_row(
    bulk: BulkFile, layout: _Layout, line: int, cells: list[str], taken: set[str]
) -> None:
    errors: list[RowError] = []

    def cell(column: str) -> str:
        position = layout.index.get(column)
        if position is None or position >= len(cells):
            return ""
        return cells[position].strip()

    def fail(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    # Names.
    first_name = _SPACES.sub(" ", cell(FIRST_NAME))
    last_name = _SPACES.sub(" ", cell(LAST_NAME))
    if not first_name:
        fail(FIRST_NAME, "required")
    if not last_name:
        fail(LAST_NAME, "required")

    # Identity.
    identity: str | None = None
    sa_id_text, passport_text = cell(SA_ID), cell(PASSPORT)
    if sa_id_text:
        try:
            identity = check_sa_id(sa_id_text)
        except ValueError as exc:
            fail(SA_ID, str(exc))
    if passport_text:
        try:
            passport = check_passport(passport_text)
        except ValueError as exc:
            fail(PASSPORT, str(exc))
        else:
            if not sa_id_text:
                identity = passport
    if not sa_id_text and not passport_text:
        fail(SA_ID, "sa_identification_number or passport_number is required")

    # Contact details.
    phone: str | None = None
    phone_text = cell(PHONE)
    if phone_text:
        try:
            phone = normalise_phone(phone_text)
        except ValueError as exc:
            fail(PHONE, str(exc))
    email = cell(EMAIL) or None

    # Money and dates.
    amount: int | None = None
    amount_text = cell(AMOUNT)
    if not amount_text:
        fail(AMOUNT, "required")
    else:
        try:
            amount = parse_minor(amount_text, bulk.currency, minimum=1, maximum=AMOUNT_MAX)
        except MoneyError as exc:
            fail(AMOUNT, str(exc))
    due_date: dt.date | None = None
    due_text = cell(DUE_DATE)
    if due_text:
        try:
            due_date = parse_iso_date(due_text)
        except ValueError as exc:
            fail(DUE_DATE, str(exc))

    # Metadata: every other column, empty cells left out.
    metadata: dict[str, str] = {}
    for position, name in layout.metadata:
        value = cells[position].strip() if position < len(cells) else ""
        if not value:
            continue
        if len(name) > METADATA_MAX_KEY_LENGTH:
            fail(
                name,
                f"a metadata column name may have at most {METADATA_MAX_KEY_LENGTH} characters",
            )
        elif len(value) > METADATA_MAX_VALUE_LENGTH:
            fail(name, f"at most {METADATA_MAX_VALUE_LENGTH} characters (got {len(value)})")
        else:
            metadata[name] = value
    if len(metadata) > METADATA_MAX_KEYS:
        fail("", f"at most {METADATA_MAX_KEYS} metadata values per row (got {len(metadata)})")
    stray = [
        position
        for position, value in enumerate(cells)
        if (position >= layout.width or position in layout.unnamed) and value.strip()
    ]
    if stray:
        fail("", f"value in column {stray[0] + 1}, which has no header")

    # References: the row claims its bill reference even when it has other errors.
    customer_ref: str | None = None
    if layout.reference is not None and layout.reference < len(cells):
        given = cells[layout.reference].strip()
        if usable_reference(given):
            customer_ref = given
    if customer_ref is None and identity is not None:
        customer_ref = derived_reference(identity)
    bill_ref: str | None = None
    if customer_ref is not None and (due_date is not None or not due_text):
        base = f"{customer_ref}-{(due_date or bulk.file_date):%Y%m%d}"
        bill_ref, suffix = base, 1
        while bill_ref in taken:
            suffix += 1
            bill_ref = f"{base}-{suffix}"
        taken.add(bill_ref)

    # The API's own rules for the customer (email pattern, name length…), checked
    # even when the reference is unknown so that every problem is reported.
    customer: CustomerCreate | None = None
    name = f"{first_name} {last_name}".strip()
    try:
        customer = CustomerCreate(
            external_reference=customer_ref or _PLACEHOLDER_REFERENCE,
            name=name or None,
            email=email,
            phone=phone,
        )
    except ValidationError as exc:
        for key, message in field_errors(exc).items():
            fail(_CUSTOMER_FIELD_COLUMN.get(key, key), message)
    if customer_ref is None:
        customer = None

    if errors or customer is None or bill_ref is None or amount is None:
        errors.sort(key=lambda error: layout.order.get(error.field, layout.width))
        bulk.errors += errors or [RowError(line, "", "the row could not be read")]
        return
    bill_date = bulk.file_date if due_date is None else min(bulk.file_date, due_date)
    bulk.rows.append(
        BulkRow(
            line_number=line,
            customer_reference=customer.external_reference,
            bill_reference=bill_ref,
            customer=customer,
            currency=bulk.currency,
            amount_due=amount,
            due_date=due_date,
            bill_date=bill_date,
            metadata=metadata,
        )
    )
