"""Bulk-upload CSV parsing and validation (moment_tui.store.bulk), and the pure parts
of the importer (idempotency keys, reports, dry runs)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from pathlib import Path

import pytest

from moment_tui.api.models import Customer, CustomerCreate
from moment_tui.money import MoneyError
from moment_tui.store.bulk import (
    BulkFile,
    RowError,
    check_passport,
    check_sa_id,
    derived_reference,
    header_key,
    load_bulk,
    luhn_valid,
    normalise_phone,
    parse_bulk,
    parse_bulk_bytes,
    parse_file_name,
)
from moment_tui.store.bulk_import import (
    CustomerDifference,
    ImportReport,
    RowResult,
    customer_differences,
    idempotency_key,
    import_bulk,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bulk"
TODAY = dt.date(2024, 1, 15)
HEADER = (
    "first_name,last_name,sa_identification_number,mobile_phone_number,email,due_date,amount_due"
)
THANDI_ID = "8001015009087"  # a well-known valid SA ID number (1980-01-01)
LERATO_ID = "9202204720083"
THANDI_REF = "CSV-" + hashlib.sha256(THANDI_ID.encode()).hexdigest()[:16]


def luhn_digit(first_twelve: str) -> str:
    """The check digit that makes ``first_twelve`` + digit Luhn-valid (independent code)."""
    total = 0
    for index, char in enumerate(reversed(first_twelve)):
        value = int(char)
        if index % 2 == 0:  # these get doubled once the check digit is appended
            value = value * 2 - 9 if value * 2 > 9 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def sa_id(first_twelve: str) -> str:
    return first_twelve + luhn_digit(first_twelve)


def parse(*rows: str, header: str = HEADER, **kwargs: object) -> BulkFile:
    text = "\n".join([header, *rows]) + "\n"
    options: dict[str, object] = {"file_name": "za_acme_dailyfile_2024-06-01.csv", "today": TODAY}
    options.update(kwargs)
    return parse_bulk(text, **options)  # type: ignore[arg-type]


def errors_of(bulk: BulkFile) -> list[tuple[int, str, str]]:
    return [(e.line_number, e.field, e.message) for e in bulk.all_errors()]


def fields_of(bulk: BulkFile) -> list[tuple[int, str]]:
    return [(e.line_number, e.field) for e in bulk.all_errors()]


# --- a good row, end to end ------------------------------------------------------------


def test_a_good_row_becomes_a_customer_and_a_bill_in_minor_units() -> None:
    bulk = parse(f"Thandi,Nkosi,{THANDI_ID},082 123 4567,thandi@example.co.za,2024-06-30,240.00")
    assert bulk.errors == []
    assert bulk.file_errors == []
    assert bulk.rows_total == 1
    (row,) = bulk.rows
    assert row.line_number == 2
    assert row.amount_due == 24000
    assert row.currency == "ZAR"
    assert row.due_date == dt.date(2024, 6, 30)
    assert row.bill_date == dt.date(2024, 6, 1)
    assert row.customer_reference == THANDI_REF
    assert row.bill_reference == f"{THANDI_REF}-20240630"
    assert row.customer == CustomerCreate(
        external_reference=THANDI_REF,
        name="Thandi Nkosi",
        email="thandi@example.co.za",
        phone="+27821234567",
    )
    assert row.metadata == {}


def test_bill_body_nests_the_new_customer_or_names_the_existing_one() -> None:
    bulk = parse(f"Thandi,Nkosi,{THANDI_ID},,,2024-06-30,240.00")
    (row,) = bulk.rows
    nested = row.bill(row.customer).to_json()
    assert nested == {
        "external_reference": f"{THANDI_REF}-20240630",
        "currency": "ZAR",
        "amount_due": 24000,
        "customer": {"external_reference": THANDI_REF, "name": "Thandi Nkosi"},
        "bill_date": "2024-06-01",
        "due_date": "2024-06-30",
    }
    by_id = row.bill("bcus_thandi").to_json()
    assert by_id["customer"] == "bcus_thandi"
    assert "metadata" not in by_id


def test_currency_comes_from_the_parameter() -> None:
    bulk = parse(f"Thandi,Nkosi,{THANDI_ID},,,,12.5", currency="USD")
    assert bulk.rows[0].currency == "USD"
    assert bulk.rows[0].amount_due == 1250
    with pytest.raises(MoneyError):
        parse(f"Thandi,Nkosi,{THANDI_ID},,,,12.5", currency="XXY")


# --- every problem at once, with exact lines and fields ------------------------------------


def test_a_bad_row_reports_all_its_problems_at_once_and_good_rows_are_kept() -> None:
    bulk = parse(
        f"Thandi,Nkosi,{THANDI_ID},,,2024-06-30,240.00",
        ",,8001015009088,12345,not-an-email,2024-02-30,-5.00",
        f"Lerato,Khumalo,{LERATO_ID},,,,99.99",
    )
    assert errors_of(bulk) == [
        (3, "first_name", "required"),
        (3, "last_name", "required"),
        (3, "sa_identification_number", "the check digit is wrong: not a valid SA ID number"),
        (
            3,
            "mobile_phone_number",
            "use international form (+27821234567) or a South African number of 10 digits "
            "starting with 0",
        ),
        (3, "email", "enter an email address such as name@example.com"),
        (3, "due_date", "'2024-02-30' is not a real date"),
        (3, "amount_due", "the amount cannot be negative"),
    ]
    assert [row.line_number for row in bulk.rows] == [2, 4]
    assert bulk.rows_total == 3
    assert bulk.rows_with_errors == 1
    assert bulk.importable


def test_missing_required_values() -> None:
    bulk = parse("Sipho,Mokoena,,,,,")
    assert errors_of(bulk) == [
        (2, "sa_identification_number", "sa_identification_number or passport_number is required"),
        (2, "amount_due", "required"),
    ]
    assert bulk.rows == []


def test_short_rows_read_missing_cells_as_empty() -> None:
    bulk = parse(f"Thandi,Nkosi,{THANDI_ID}")
    assert errors_of(bulk) == [(2, "amount_due", "required")]


def test_values_beyond_the_header_or_under_an_unnamed_column_are_errors() -> None:
    bulk = parse(
        f"Thandi,Nkosi,{THANDI_ID},,,,1.00,,",  # empty extras: fine
        f"Thandi,Nkosi,{THANDI_ID},,,,2.00,,surprise",
        header=HEADER + ",",
    )
    assert errors_of(bulk) == [(3, "", "value in column 9, which has no header")]
    assert [row.line_number for row in bulk.rows] == [2]


# --- header -----------------------------------------------------------------------------


def test_header_names_are_case_insensitive_and_trimmed() -> None:
    header = " First_Name ,LAST_NAME,Sa_Identification_Number , Amount_Due,Due Date,E-mail"
    bulk = parse(f"Thandi,Nkosi,{THANDI_ID},5.00,2024-06-30,", header=header)
    assert bulk.errors == []
    assert bulk.rows[0].amount_due == 500
    assert bulk.rows[0].due_date == dt.date(2024, 6, 30)
    # "E-mail" reads as e_mail, not email: it is metadata, and empty here.
    assert bulk.metadata_columns == ("E-mail",)
    assert header_key("  Mobile  Phone-Number ") == "mobile_phone_number"


def test_missing_required_columns_are_a_file_error_naming_them() -> None:
    bulk = load_bulk(FIXTURES / "missing_columns.csv", today=TODAY)
    assert errors_of(bulk) == [
        (1, "last_name", "required column is missing"),
        (1, "amount_due", "required column is missing"),
        (
            1,
            "sa_identification_number",
            "the file needs a sa_identification_number or passport_number column",
        ),
    ]
    assert not bulk.importable
    assert bulk.rows == []
    assert bulk.rows_total == 1


def test_either_id_column_satisfies_the_header() -> None:
    header = "first_name,last_name,passport_number,amount_due"
    bulk = parse("Pieter,Botha,A1234567,10.00", header=header)
    assert bulk.file_errors == []
    assert bulk.rows[0].customer_reference == derived_reference("A1234567")


def test_a_column_named_twice_is_a_file_error() -> None:
    bulk = parse(
        f"T,N,{THANDI_ID},1.00,2.00",
        header="first_name,last_name,sa_identification_number,amount_due,Amount Due",
    )
    assert errors_of(bulk) == [(1, "Amount Due", "this column appears twice in the header")]
    assert bulk.rows == []


def test_an_empty_file_is_a_file_error() -> None:
    for text in ("", "\n\n", "\ufeff"):
        bulk = parse_bulk(text, file_name="x.csv", today=TODAY)
        assert errors_of(bulk) == [(1, "", "the file is empty: it needs a header row")]


def test_leading_blank_lines_move_the_header_down() -> None:
    bulk = parse_bulk(f"\n\n{HEADER}\nT,N,{THANDI_ID},,,,x\n", today=TODAY)
    assert fields_of(bulk) == [(4, "amount_due")]


# --- encoding, delimiter, line endings, line numbers ----------------------------------------


def test_utf8_bom_semicolons_and_crlf_are_tolerated() -> None:
    bulk = load_bulk(FIXTURES / "za_acme_dailyfile_2024-06-02.csv")
    assert bulk.file_date == dt.date(2024, 6, 2)
    assert bulk.name_info.kind == "dailyfile"
    assert [(r.line_number, r.customer_reference, r.amount_due) for r in bulk.rows] == [
        (2, "CUST-001", 24000)
    ]
    row = bulk.rows[0]
    assert row.customer.phone == "+27821234567"
    assert row.metadata == {"Reference": "CUST-001"}
    assert fields_of(bulk) == [(3, "sa_identification_number")]


def test_bom_in_a_str_is_tolerated() -> None:
    bulk = parse_bulk(f"\ufeff{HEADER}\nT,N,{THANDI_ID},,,,1.00\n", today=TODAY)
    assert bulk.errors == []
    assert bulk.rows[0].amount_due == 100


def test_semicolon_detection_does_not_misfire_on_commas() -> None:
    bulk = parse(f'"Thandi; Jr",Nkosi,{THANDI_ID},,,,1.00')
    assert bulk.rows[0].customer.name == "Thandi; Jr Nkosi"


def test_bytes_that_are_not_utf8_are_a_file_error_at_their_line() -> None:
    data = f"{HEADER}\nThandi,Nkosi,{THANDI_ID},,,,1.00\nZo\xebtl,Nkosi,{THANDI_ID},,,,1.00\n"
    bulk = parse_bulk_bytes(data.encode("cp1252"), file_name="x.csv", today=TODAY)
    assert errors_of(bulk) == [(3, "", "the file is not UTF-8 text; save it as CSV UTF-8")]
    assert bulk.rows == []


def test_line_numbers_are_physical_lines_past_blank_lines_and_multiline_cells() -> None:
    header = HEADER + ",note"
    text = (
        f"{header}\r\n"  # 1
        f'A,B,{THANDI_ID},,,,1.00,"two\r\nlines"\r\n'  # 2-3
        "\r\n"  # 4 blank
        ",,,,,,\r\n"  # 5 only separators: blank too
        f"C,D,{THANDI_ID},,,,x,\r\n"  # 6
    )
    bulk = parse_bulk(text, today=TODAY)
    assert bulk.rows_total == 2
    assert bulk.rows[0].line_number == 2
    assert bulk.rows[0].metadata == {"note": "two\r\nlines"}
    assert fields_of(bulk) == [(6, "amount_due")]


def test_broken_csv_is_a_file_error() -> None:
    huge = "x" * 200_000  # beyond the csv module's field size limit
    bulk = parse_bulk(f"{HEADER}\nA,B,{THANDI_ID},,,,1.00\nA,{huge}\nC,D\n", today=TODAY)
    assert errors_of(bulk) == [
        (3, "", "the file is not valid CSV here: field larger than field limit (131072)")
    ]
    assert bulk.rows == []


# --- the file date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "date", "country", "merchant", "kind"),
    [
        (
            "za_acme_moment_all-customers_2024-06-01.csv",
            dt.date(2024, 6, 1),
            "ZA",
            "acme",
            "all-customers",
        ),
        (
            "ZA_acme_water_dailyfile_2024-12-31.CSV",
            dt.date(2024, 12, 31),
            "ZA",
            "acme_water",
            "dailyfile",
        ),
        ("/tmp/in/za_x_dailyfile_2025-02-28.csv", dt.date(2025, 2, 28), "ZA", "x", "dailyfile"),
        ("export-2024-03-05.csv", dt.date(2024, 3, 5), None, None, None),
        ("customers.csv", None, None, None, None),
        ("v12024-03-05.csv", None, None, None, None),  # digits glued on: not a date
    ],
)
def test_file_names(
    name: str, date: dt.date | None, country: str | None, merchant: str | None, kind: str | None
) -> None:
    info = parse_file_name(name)
    assert (info.date, info.country, info.merchant, info.kind) == (date, country, merchant, kind)


def test_file_date_source_argument_then_name_then_today() -> None:
    row = f"T,N,{THANDI_ID},,,,1.00"
    from_name = parse(row)
    assert (from_name.file_date, from_name.file_date_source) == (dt.date(2024, 6, 1), "file name")
    assert from_name.rows[0].bill_reference == f"{THANDI_REF}-20240601"
    from_today = parse(row, file_name="customers.csv")
    assert (from_today.file_date, from_today.file_date_source) == (TODAY, "today")
    assert from_today.rows[0].bill_reference == f"{THANDI_REF}-20240115"
    pinned = parse(row, file_date=dt.date(2023, 9, 9))
    assert (pinned.file_date, pinned.file_date_source) == (dt.date(2023, 9, 9), "argument")
    no_name = parse(row, file_name=None)
    assert no_name.file_date == TODAY
    assert no_name.file_name is None


def test_an_impossible_date_in_the_file_name_is_a_file_error() -> None:
    bulk = parse(f"T,N,{THANDI_ID},,,,1.00", file_name="za_acme_dailyfile_2024-02-30.csv")
    assert errors_of(bulk) == [
        (1, "file_name", "the date in the file name: '2024-02-30' is not a real date")
    ]
    assert bulk.rows == []
    # An explicit file_date overrides the name.
    pinned = parse(
        f"T,N,{THANDI_ID},,,,1.00",
        file_name="za_acme_dailyfile_2024-02-30.csv",
        file_date=dt.date(2024, 3, 1),
    )
    assert pinned.file_errors == []
    assert len(pinned.rows) == 1


def test_bill_date_is_the_file_date_or_the_earlier_due_date() -> None:
    bulk = parse(
        f"A,B,{THANDI_ID},,,2024-06-01,1.00",  # same day: kept
        f"A,B,{THANDI_ID},,,2024-05-31,1.00",  # already overdue: dated when it was due
        f"A,B,{THANDI_ID},,,,1.00",  # no due date: file date, and the reference uses it
    )
    assert [(r.bill_date, r.due_date) for r in bulk.rows] == [
        (dt.date(2024, 6, 1), dt.date(2024, 6, 1)),
        (dt.date(2024, 5, 31), dt.date(2024, 5, 31)),
        (dt.date(2024, 6, 1), None),
    ]
    # The first and third share a reference date: the third gets a suffix.
    assert [r.bill_reference for r in bulk.rows] == [
        f"{THANDI_REF}-20240601",
        f"{THANDI_REF}-20240531",
        f"{THANDI_REF}-20240601-2",
    ]
    assert bulk.rows[1].bill("bcus_thandi").to_json()["bill_date"] == "2024-05-31"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024/06/30", "'2024/06/30' is not a date in the form YYYY-MM-DD"),
        ("20240630", "'20240630' is not a date in the form YYYY-MM-DD"),
        ("30-06-2024", "'30-06-2024' is not a date in the form YYYY-MM-DD"),
        ("2024-6-30", "'2024-6-30' is not a date in the form YYYY-MM-DD"),
        ("2023-02-29", "'2023-02-29' is not a real date"),
    ],
)
def test_due_date_must_be_iso(text: str, message: str) -> None:
    bulk = parse(f"A,B,{THANDI_ID},,,{text},1.00")
    assert errors_of(bulk) == [(2, "due_date", message)]


# --- SA ID numbers and passports ----------------------------------------------------------


def test_luhn() -> None:
    assert luhn_valid(THANDI_ID)
    assert not luhn_valid("8001015009088")
    assert luhn_valid(sa_id("920220472008"))
    assert sa_id("920220472008") == LERATO_ID


@pytest.mark.parametrize(
    "value",
    [THANDI_ID, "800101 5009 087", "800101-5009-087", sa_id("000229500008"), LERATO_ID],
)
def test_valid_sa_id_numbers(value: str) -> None:
    assert check_sa_id(value) == re.sub(r"[ -]", "", value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8001015009088", "the check digit is wrong: not a valid SA ID number"),
        ("8001015009080", "the check digit is wrong: not a valid SA ID number"),
        (sa_id("801301500908"), "the first six digits (801301) are not a real date of birth"),
        (sa_id("800132500908"), "the first six digits (800132) are not a real date of birth"),
        (sa_id("010229500008"), "the first six digits (010229) are not a real date of birth"),
        ("800101500908", "must be 13 digits (got 12); a spreadsheet may have dropped a leading 0"),
        ("80010150090871", "must be 13 digits (got 14)"),
        ("800101500908A", "must be 13 digits"),
        ("８００１０１５００９０８７", "must be 13 digits"),  # full-width digits
        (
            "8.00102E+12",
            "'8.00102E+12' looks like a spreadsheet turned the number into scientific "
            "notation; format the column as text",
        ),
    ],
)
def test_invalid_sa_id_numbers(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_sa_id(value)
    bulk = parse(f"A,B,{value},,,,1.00")
    assert errors_of(bulk) == [(2, "sa_identification_number", message)]


def test_passports() -> None:
    assert check_passport(" a12 345 67 ") == "A1234567"
    assert check_passport("123456") == "123456"
    assert check_passport("A" * 20) == "A" * 20
    for bad in ("A1234", "A" * 21, "A123-45/67", "ÄÖ123456"):
        with pytest.raises(ValueError, match="must be 6–20 letters or digits"):
            check_passport(bad)
    header = "first_name,last_name,passport_number,amount_due"
    bulk = parse("A,B,A12/345,1.00", header=header)
    assert errors_of(bulk) == [(2, "passport_number", "must be 6–20 letters or digits")]


def test_with_both_numbers_both_are_checked_and_the_sa_id_identifies() -> None:
    header = "first_name,last_name,sa_identification_number,passport_number,amount_due"
    bulk = parse(f"A,B,{THANDI_ID},A1234567,1.00", f"A,B,{THANDI_ID},??,1.00", header=header)
    assert bulk.rows[0].customer_reference == THANDI_REF
    assert fields_of(bulk) == [(3, "passport_number")]


# --- references ----------------------------------------------------------------------------


def test_derived_references_are_stable_and_hide_the_number() -> None:
    first = parse(f"Thandi,Nkosi,{THANDI_ID},,,2024-06-30,1.00")
    again = parse(
        "Thandi,Nkosi,800101 5009 087,,,2024-06-30,9.00",
        file_name="za_acme_dailyfile_2024-06-20.csv",
    )
    ref = first.rows[0].customer_reference
    assert ref == again.rows[0].customer_reference == derived_reference(THANDI_ID) == THANDI_REF
    assert re.fullmatch(r"CSV-[0-9a-f]{16}", ref)
    assert THANDI_ID not in ref
    assert THANDI_ID[:6] not in first.rows[0].bill_reference
    assert derived_reference("A1234567") != derived_reference("A1234568")
    other = parse(f"Lerato,Khumalo,{LERATO_ID},,,,1.00")
    assert other.rows[0].customer_reference != ref


def test_a_biller_reference_column_names_the_customer() -> None:
    header = HEADER + ",Account Number,Customer_Reference,reference"
    bulk = parse(
        f"A,B,{THANDI_ID},,,2024-06-30,1.00,ACC-1,CR-1,REF_1",
        f"A,B,{THANDI_ID},,,2024-06-30,1.00,ACC-2,CR-2,",  # empty: derived
        f"A,B,{THANDI_ID},,,2024-06-30,1.00,ACC-3,CR-3,REF 3/x",  # unusable: derived
        f"A,B,{THANDI_ID},,,2024-06-30,1.00,,,{'R' * 241}",  # too long: derived
        header=header,
    )
    assert [r.customer_reference for r in bulk.rows] == [
        "REF_1",
        THANDI_REF,
        THANDI_REF,
        THANDI_REF,
    ]
    assert [r.bill_reference for r in bulk.rows] == [
        "REF_1-20240630",
        f"{THANDI_REF}-20240630",
        f"{THANDI_REF}-20240630-2",
        f"{THANDI_REF}-20240630-3",
    ]
    # Reference columns are biller metadata too.
    assert bulk.rows[0].metadata == {
        "Account Number": "ACC-1",
        "Customer_Reference": "CR-1",
        "reference": "REF_1",
    }


def test_reference_column_priority() -> None:
    header = HEADER + ",account_number,customer_reference"
    bulk = parse(f"A,B,{THANDI_ID},,,,1.00,ACC-1,CR-1", header=header)
    assert bulk.rows[0].customer_reference == "CR-1"
    only_account = parse(f"A,B,{THANDI_ID},,,,1.00,ACC-1", header=HEADER + ",account_number")
    assert only_account.rows[0].customer_reference == "ACC-1"


def test_duplicate_bill_references_get_suffixes_in_file_order() -> None:
    rows = [f"A,B,{THANDI_ID},,,2024-06-30,{n}.00" for n in (1, 2, 3)]
    bulk = parse(*rows, f"C,D,{LERATO_ID},,,2024-06-30,4.00")
    assert [r.bill_reference for r in bulk.rows] == [
        f"{THANDI_REF}-20240630",
        f"{THANDI_REF}-20240630-2",
        f"{THANDI_REF}-20240630-3",
        f"{derived_reference(LERATO_ID)}-20240630",
    ]
    assert [r.amount_due for r in bulk.rows] == [100, 200, 300, 400]


def test_a_bad_row_still_claims_its_bill_reference() -> None:
    """Fixing line 2 later must not shift line 3's reference (already imported)."""
    bulk = parse(f"A,B,{THANDI_ID},,,2024-06-30,0.00", f"A,B,{THANDI_ID},,,2024-06-30,5.00")
    assert fields_of(bulk) == [(2, "amount_due")]
    assert [r.bill_reference for r in bulk.rows] == [f"{THANDI_REF}-20240630-2"]


# --- phone, email, names, amounts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("082 123 4567", "+27821234567"),
        ("082-123-4567", "+27821234567"),
        ("0821234567", "+27821234567"),
        ("+27821234567", "+27821234567"),
        ("+27 82 123 4567", "+27821234567"),
        ("+447911123456", "+447911123456"),
    ],
)
def test_phone_normalisation(value: str, expected: str) -> None:
    assert normalise_phone(value) == expected
    bulk = parse(f"A,B,{THANDI_ID},{value},,,1.00")
    assert bulk.rows[0].customer.phone == expected


@pytest.mark.parametrize(
    "value",
    [
        "12345",
        "821234567",
        "27821234567",
        "08212345678",
        "+0821234567",
        "(082) 123 4567",
        "+27 82 ABC",
    ],
)
def test_bad_phones(value: str) -> None:
    with pytest.raises(ValueError, match="use international form"):
        normalise_phone(value)
    assert fields_of(parse(f"A,B,{THANDI_ID},{value},,,1.00")) == [(2, "mobile_phone_number")]


@pytest.mark.parametrize("value", ["thandi", "thandi@example", "a b@example.com", "@example.com"])
def test_bad_emails(value: str) -> None:
    bulk = parse(f"A,B,{THANDI_ID},,{value},,1.00")
    assert errors_of(bulk) == [(2, "email", "enter an email address such as name@example.com")]


def test_email_is_trimmed_and_optional() -> None:
    bulk = parse(f"A,B,{THANDI_ID},, t@example.co.za ,,1.00", f"A,B,{THANDI_ID},,,,1.00")
    assert [r.customer.email for r in bulk.rows] == ["t@example.co.za", None]


def test_names_are_trimmed_and_single_spaced() -> None:
    bulk = parse(f'"  Mary   Anne ",\t van  der Merwe ,{THANDI_ID},,,,1.00')
    assert bulk.rows[0].customer.name == "Mary Anne van der Merwe"


def test_a_name_too_long_for_the_api() -> None:
    bulk = parse(f"{'A' * 200},{'B' * 60},{THANDI_ID},,,,1.00")
    assert fields_of(bulk) == [(2, "first_name")]
    assert "255" in bulk.errors[0].message


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("240.00", 24000),
        ("240", 24000),
        ("0.01", 1),
        ("1 250.50", 125050),
        ("1,250.50", 125050),
        ("R240.00", 24000),
        ("999999.99", 99_999_999),
    ],
)
def test_amounts_are_decimal_major_units(text: str, minor: int) -> None:
    bulk = parse(f'A,B,{THANDI_ID},,,,"{text}"')
    assert bulk.errors == []
    assert bulk.rows[0].amount_due == minor


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5.00", "the amount cannot be negative"),
        ("0.00", "the amount must be at least R 0.01"),
        ("0", "the amount must be at least R 0.01"),
        ("1000000.00", "the amount must be at most R 999,999.99"),
        ("1.005", "'1.005' has too many decimals: ZAR takes at most 2 decimal places"),
        ("ten", "'ten' is not an amount"),
    ],
)
def test_bad_amounts(text: str, message: str) -> None:
    bulk = parse(f"A,B,{THANDI_ID},,,,{text}")
    assert errors_of(bulk) == [(2, "amount_due", message)]


# --- metadata -------------------------------------------------------------------------------


def test_other_columns_are_metadata_and_empty_cells_are_left_out() -> None:
    header = HEADER + ", Branch ,Meter No"
    bulk = parse(f"A,B,{THANDI_ID},,,,1.00, Sandton ,", header=header)
    assert bulk.metadata_columns == ("Branch", "Meter No")
    assert bulk.rows[0].metadata == {"Branch": "Sandton"}
    assert bulk.rows[0].bill("bcus_thandi").to_json()["metadata"] == {"Branch": "Sandton"}


def test_metadata_limits() -> None:
    names = [f"m{i}" for i in range(11)]
    header = HEADER + "," + ",".join(names) + "," + "K" * 41
    ten = ",".join(["v"] * 10)
    bulk = parse(
        f"A,B,{THANDI_ID},,,,1.00,{ten},,",  # 10 values: fine
        f"A,B,{THANDI_ID},,,,1.00,{ten},v,",  # 11 values
        f"A,B,{THANDI_ID},,,,1.00,{'x' * 501},,,,,,,,,,,",  # value too long
        f"A,B,{THANDI_ID},,,,1.00,{'x' * 500},,,,,,,,,,,",  # exactly 500: fine
        f"A,B,{THANDI_ID},,,,1.00,,,,,,,,,,,,k",  # a value under a 41-character name
        header=header,
    )
    assert errors_of(bulk) == [
        (3, "", "at most 10 metadata values per row (got 11)"),
        (4, "m0", "at most 500 characters (got 501)"),
        (6, "K" * 41, "a metadata column name may have at most 40 characters"),
    ]
    assert [r.line_number for r in bulk.rows] == [2, 5]
    assert len(bulk.rows[0].metadata) == 10
    assert bulk.rows[1].metadata == {"m0": "x" * 500}


# --- fixtures ---------------------------------------------------------------------------------


def test_the_all_customers_fixture() -> None:
    bulk = load_bulk(FIXTURES / "za_acme_moment_all-customers_2024-06-01.csv")
    assert (bulk.file_date, bulk.name_info.kind, bulk.rows_total) == (
        dt.date(2024, 6, 1),
        "all-customers",
        9,
    )
    lerato = derived_reference(LERATO_ID)
    naledi = derived_reference("8506150123089")
    assert [(r.line_number, r.bill_reference, r.amount_due) for r in bulk.rows] == [
        (2, f"{THANDI_REF}-20240630", 24000),
        (3, "ACC-1002-20240630", 125050),
        (4, f"{THANDI_REF}-20240731", 24000),
        (8, f"{lerato}-20240601-2", 9999),
        (9, f"{naledi}-20240515", 10000),
        (10, f"{THANDI_REF}-20240630-2", 6000),
    ]
    assert bulk.rows[1].customer.name == "Pieter van der Merwe"
    assert bulk.rows[0].metadata == {"Branch": "Sandton"}
    assert bulk.rows[1].metadata == {"account_number": "ACC-1002"}
    assert fields_of(bulk) == [
        (5, "first_name"),
        (5, "sa_identification_number"),
        (5, "mobile_phone_number"),
        (5, "email"),
        (5, "due_date"),
        (5, "amount_due"),
        (6, "sa_identification_number"),
        (6, "amount_due"),
        (7, "amount_due"),
    ]


# --- the importer's pure parts -----------------------------------------------------------------


def test_idempotency_keys_are_deterministic_uuids() -> None:
    body = {"external_reference": "R-20240630", "amount_due": 100, "currency": "ZAR"}
    key = idempotency_key("f.csv", dt.date(2024, 6, 1), "R-20240630", body)
    assert uuid.UUID(key).version == 5
    assert key == idempotency_key(
        "f.csv", dt.date(2024, 6, 1), "R-20240630", dict(reversed(body.items()))
    )
    others = {
        idempotency_key("g.csv", dt.date(2024, 6, 1), "R-20240630", body),
        idempotency_key("f.csv", dt.date(2024, 6, 2), "R-20240630", body),
        idempotency_key("f.csv", dt.date(2024, 6, 1), "R-20240630-2", body),
        idempotency_key("f.csv", dt.date(2024, 6, 1), "R-20240630", {**body, "amount_due": 101}),
    }
    assert key not in others
    assert len(others) == 4


async def test_a_dry_run_needs_no_client_and_reports_every_row() -> None:
    bulk = load_bulk(FIXTURES / "za_acme_moment_all-customers_2024-06-01.csv")
    seen: list[int] = []
    report = await import_bulk(
        bulk, None, None, dry_run=True, on_row=lambda r: seen.append(r.line_number)
    )
    assert [(r.line_number, r.status) for r in report.results] == [
        (2, "valid"),
        (3, "valid"),
        (4, "valid"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
        (8, "valid"),
        (9, "valid"),
        (10, "valid"),
    ]
    assert sorted(seen) == list(range(2, 11))
    assert (report.created, report.already_imported, report.rows_with_errors) == (0, 0, 3)
    assert [e.line_number for e in report.errors] == [5, 5, 5, 5, 5, 5, 6, 6, 7]
    assert report.summary() == "9 rows: 6 valid, 3 with errors (dry run: nothing sent)"
    with pytest.raises(ValueError, match="client"):
        await import_bulk(bulk, None, None)


def test_customer_differences_ignore_case_spacing_and_empty_cells() -> None:
    kept = Customer(
        id="bcus_1",
        external_reference=THANDI_REF,
        name="Thandi Nkosi",
        email="thandi@example.co.za",
        phone="+27821234567",
    )

    def row(**details: str) -> CustomerCreate:
        return CustomerCreate(external_reference=THANDI_REF, **details)

    assert customer_differences(row(name="Thandi Nkosi"), kept) == []
    assert customer_differences(row(name="thandi  NKOSI", email="Thandi@Example.co.za"), kept) == []
    assert customer_differences(row(), kept) == []  # nothing given, nothing differs
    assert customer_differences(
        row(name="Same Person", email="other@example.com", phone="+27831112222"), kept
    ) == [
        CustomerDifference("name", "Same Person", "Thandi Nkosi"),
        CustomerDifference("email", "other@example.com", "thandi@example.co.za"),
        CustomerDifference("phone", "+27831112222", "+27821234567"),
    ]
    bare = Customer(id="bcus_2", external_reference="R-1")
    assert customer_differences(row(name="A B", phone="+27831112222"), bare) == [
        CustomerDifference("name", "A B", None),
        CustomerDifference("phone", "+27831112222", None),
    ]


async def test_a_dry_run_notes_rows_whose_customer_details_differ_within_the_file() -> None:
    bulk = parse_bulk(
        "\n".join(
            [
                HEADER,
                f"Thandi,Nkosi,{THANDI_ID},,thandi@example.co.za,2027-01-15,240.00",
                f"Same,Person,{THANDI_ID},,other@example.com,2027-01-15,50.00",
                f"Same,Person,{THANDI_ID},,other@example.com,2027-01-15,-1.00",
                f"Lerato,Khumalo,{LERATO_ID},,,2027-01-15,10.00",
                f"THANDI,nkosi,{THANDI_ID},,,2027-02-15,30.00",
            ]
        ),
        file_name="za_acme_moment_all-customers_2026-12-01.csv",
    )
    report = await import_bulk(bulk, None, None, dry_run=True)
    assert [(r.line_number, r.status) for r in report.results] == [
        (2, "valid"),
        (3, "valid"),
        (4, "error"),
        (5, "valid"),
        (6, "valid"),
    ]
    notes = {r.line_number: r.note for r in report.results if r.note}
    assert notes == {
        3: (
            "customer details differ from line 2's for the same customer (name: file "
            '"Same Person", line 2 "Thandi Nkosi"; email: file other@example.com, line 2 '
            "thandi@example.co.za); an import adds the bill to that customer and does not "
            "change its details"
        )
    }
    assert THANDI_ID not in notes[3]
    assert report.results[1].customer_differences == [
        CustomerDifference("name", "Same Person", "Thandi Nkosi"),
        CustomerDifference("email", "other@example.com", "thandi@example.co.za"),
    ]
    assert report.summary() == "5 rows: 4 valid, 1 with errors (dry run: nothing sent)"


def test_row_notes_are_joined() -> None:
    result = RowResult(2, "already_imported")
    result.add_note("first")
    result.add_note("second")
    assert result.note == "first; second"


async def test_a_file_error_imports_nothing() -> None:
    bulk = load_bulk(FIXTURES / "missing_columns.csv", today=TODAY)
    report = await import_bulk(bulk, None, None, dry_run=True)
    assert report.results == []
    assert [e.field for e in report.errors] == [
        "last_name",
        "amount_due",
        "sa_identification_number",
    ]
    assert report.summary().startswith("file not imported: line 1, last_name: required column")


def test_summary_wording() -> None:
    report = ImportReport(
        file_name="f.csv",
        file_date=dt.date(2024, 6, 1),
        rows_total=12,
        created=9,
        already_imported=2,
        results=[RowResult(2, "error", errors=[RowError(2, "email", "bad")])],
    )
    assert report.summary() == "12 rows: 9 imported, 2 already imported, 1 with errors"
    report.results.append(RowResult(3, "not_attempted"))
    report.stopped = "connection refused"
    assert report.summary() == (
        "12 rows: 9 imported, 2 already imported, 1 with errors, "
        "1 not attempted (stopped: connection refused)"
    )
    single = ImportReport(file_name=None, file_date=dt.date(2024, 6, 1), rows_total=1, created=1)
    assert single.summary() == "1 row: 1 imported, 0 already imported, 0 with errors"
    assert str(RowError(3, "", "x")) == "line 3: x"
    assert str(RowError(3, "email", "x")) == "line 3, email: x"


# --- scale ------------------------------------------------------------------------------------


def test_a_large_file_parses_whole() -> None:
    """20,000 rows, every one kept with its own bill reference (speed lives in bench/)."""
    ids = [sa_id(f"800101{n:04d}08") for n in range(200)]
    lines = [HEADER + ",branch"]
    lines += [
        f"Name{n},Surname,{ids[n % 200]},082 123 {n % 10000:04d},p{n}@example.co.za,"
        f"2024-07-{1 + n % 28:02d},{n % 9000 + 1}.50,Sandton"
        for n in range(20_000)
    ]
    bulk = parse_bulk("\n".join(lines), file_name="za_acme_dailyfile_2024-06-01.csv")
    assert bulk.errors == []
    assert len(bulk.rows) == 20_000
    assert len({r.bill_reference for r in bulk.rows}) == 20_000
