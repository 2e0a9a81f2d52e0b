"""Money: integer minor units inside, text at the edges (display and input)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moment_tui.money import (
    MoneyError,
    check_currency,
    currencies,
    exponent,
    format_minor,
    input_symbols,
    is_currency,
    parse_minor,
    symbol,
)

# Every currency the module takes: the round trip must hold for each of them.
ALL_CURRENCIES = sorted(currencies())

# --- currency facts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "places"),
    [
        ("ZAR", 2),
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("KWD", 3),
        ("BHD", 3),
        # CLDR's display digits say 0 for these; ISO 4217's minor units do not.
        ("HUF", 2),
        ("IDR", 2),
        ("COP", 2),
        ("LBP", 2),
        ("ALL", 2),
        ("IQD", 3),
    ],
)
def test_exponent_is_the_iso_4217_minor_unit(code: str, places: int) -> None:
    assert exponent(code) == places


def test_amounts_are_read_in_iso_minor_units() -> None:
    assert format_minor(150050, "HUF", with_symbol=False) == "1,500.50"
    assert format_minor(1000, "IQD", with_symbol=False) == "1.000"
    assert parse_minor("15.25", "IDR") == 1525
    with pytest.raises(MoneyError, match="IQD takes at most 3 decimal places"):
        parse_minor("1.2345", "IQD")


@pytest.mark.parametrize("code", ["ZAR", "USD", "JPY", "KWD", "EUR", "HUF", "IQD", "GBP"])
def test_known_codes_are_currencies(code: str) -> None:
    assert code in currencies()
    assert is_currency(code) is True
    assert check_currency(code) == code


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("DEM", "German Mark"),  # withdrawn
        ("ESP", "Spanish Peseta"),
        ("ADP", "Andorran Peseta"),
        ("HRK", "Croatian Kuna"),
        ("XXX", "Unknown Currency"),  # special codes
        ("XTS", "Testing Currency Code"),
        ("XAU", "Gold"),
        ("CLF", "Chilean Unit of Account (UF)"),  # a fund, not legal tender
    ],
)
def test_codes_not_in_use_are_refused_by_name(code: str, name: str) -> None:
    assert is_currency(code) is False
    with pytest.raises(MoneyError) as caught:
        check_currency(code)
    assert str(caught.value) == (
        f"{code!r} ({name}) is not a currency in use today; give a current one (e.g. ZAR)"
    )
    with pytest.raises(MoneyError):
        exponent(code)


@pytest.mark.parametrize("code", ["zar", "Zar", "XYZ", "ZA", "ZARR", "", "R", "12€"])
def test_unknown_or_lower_case_codes_are_refused(code: str) -> None:
    assert is_currency(code) is False
    with pytest.raises(MoneyError) as caught:
        check_currency(code)
    assert str(caught.value) == f"{code!r} is not an ISO 4217 currency code (e.g. ZAR)"


def test_exponent_of_an_unknown_code_is_a_money_error() -> None:
    with pytest.raises(MoneyError, match=r"'XYZ' is not an ISO 4217 currency code"):
        exponent("XYZ")


@pytest.mark.parametrize(("code", "sign"), [("ZAR", "R"), ("USD", "US$"), ("EUR", "€")])
def test_symbols_are_south_african_english(code: str, sign: str) -> None:
    assert symbol(code) == sign


# --- display --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (2000, "ZAR", "R 20.00"),
        (0, "ZAR", "R 0.00"),
        (1, "ZAR", "R 0.01"),
        (5, "ZAR", "R 0.05"),
        (123450, "ZAR", "R 1,234.50"),
        (123456789, "ZAR", "R 1,234,567.89"),
        (-2000, "ZAR", "-R 20.00"),
        (-1, "ZAR", "-R 0.01"),
        (300, "USD", "US$ 3.00"),
        (1234, "JPY", "JP¥ 1,234"),
        (0, "JPY", "JP¥ 0"),
        (-5, "JPY", "-JP¥ 5"),
        (1234, "KWD", "KWD 1.234"),
        (1, "KWD", "KWD 0.001"),
        (-1234567, "KWD", "-KWD 1,234.567"),
    ],
)
def test_format_minor(amount: int, currency: str, text: str) -> None:
    assert format_minor(amount, currency) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(2000, "ZAR", "20.00"), (-123450, "ZAR", "-1,234.50"), (1234, "JPY", "1,234")],
)
def test_format_minor_without_symbol(amount: int, currency: str, text: str) -> None:
    assert format_minor(amount, currency, with_symbol=False) == text


@pytest.mark.parametrize("amount", [20.0, True, "2000", None])
def test_format_minor_refuses_non_integers(amount: object) -> None:
    with pytest.raises(TypeError) as caught:
        format_minor(amount, "ZAR")  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"amounts are integers in minor units, not {type(amount).__name__}"
    )


def test_format_minor_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match=r"'zar' is not an ISO 4217 currency code"):
        format_minor(2000, "zar")


# --- input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("20", "ZAR", 2000),
        ("20.00", "ZAR", 2000),
        ("20.5", "ZAR", 2050),
        ("0.01", "ZAR", 1),
        (".5", "ZAR", 50),
        ("  20  ", "ZAR", 2000),
        ("R20,00", "ZAR", 2000),
        ("R 20.00", "ZAR", 2000),
        ("R 1 234,50", "ZAR", 123450),
        ("R\u00a01\u00a0234,50", "ZAR", 123450),
        ("1,234.50", "ZAR", 123450),
        ("1.234,50", "ZAR", 123450),
        ("1,234", "ZAR", 123400),
        ("12,345", "ZAR", 1234500),
        ("R 0,50", "ZAR", 50),
        ("1,234,567.89", "ZAR", 123456789),
        ("1'234.50", "ZAR", 123450),
        ("ZAR 20", "ZAR", 2000),
        ("zar 20", "ZAR", 2000),
        ("20 ZAR", "ZAR", 2000),
        ("US$ 3", "USD", 300),
        ("US$3.10", "USD", 310),
        ("1234", "JPY", 1234),
        ("1,234", "JPY", 1234),
        ("JP¥ 1,234", "JPY", 1234),
        ("1.234", "KWD", 1234),
        ("1,234", "KWD", 1234),
        ("0,500", "KWD", 500),
        ("KWD 12,345", "KWD", 12345),
        ("1,234,567", "KWD", 1234567000),
        ("1.234,567", "KWD", 1234567),
        ("1 234,567", "KWD", 1234567),
        ("KWD 1,234.567", "KWD", 1234567),
        ("0", "ZAR", 0),
        # A trailing decimal point is a whole amount; a leading one a fraction.
        ("20.", "ZAR", 2000),
        ("R 20.", "ZAR", 2000),
        ("1,234.", "ZAR", 123400),
        ("5.", "JPY", 5),
        ("1.500", "KWD", 1500),
        ("1,500", "ZAR", 150000),
        ("1 500,50", "ZAR", 150050),
        ("1.000", "BHD", 1000),
    ],
)
def test_parse_minor_accepts(text: str, currency: str, minor: int) -> None:
    assert parse_minor(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "minor"),
    [("-20", -2000), ("-R 20.00", -2000), ("R -20,00", -2000), ("\u221220", -2000)],
)
def test_parse_minor_negative_when_allowed(text: str, minor: int) -> None:
    assert parse_minor(text, "ZAR", allow_negative=True) == minor


@pytest.mark.parametrize("text", ["-20", "-R 20.00", "R -0.01", "\u22125"])
def test_parse_minor_refuses_negatives_by_default(text: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, "ZAR")
    assert str(caught.value) == "the amount cannot be negative"


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("1.234", "ZAR", "'1.234' has too many decimals: ZAR takes at most 2 decimal places"),
        ("R 0.001", "ZAR", "'R 0.001' has too many decimals: ZAR takes at most 2 decimal places"),
        ("1.5", "JPY", "'1.5' has too many decimals: JPY takes no decimals"),
        ("1,234.50", "JPY", "'1,234.50' has too many decimals: JPY takes no decimals"),
        ("1.2345", "KWD", "'1.2345' has too many decimals: KWD takes at most 3 decimal places"),
        ("0,500", "JPY", "'0,500' has too many decimals: JPY takes no decimals"),
        ("0,125", "ZAR", "'0,125' has too many decimals: ZAR takes at most 2 decimal places"),
    ],
)
def test_parse_minor_too_many_decimals(text: str, currency: str, message: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, currency)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        # More decimals than the currency has is an error even when they are zeros: a
        # "." before three digits is how much of the world groups thousands.
        (
            "1.500",
            "ZAR",
            "'1.500' has 3 decimals; ZAR has 2 — for thousands write 1,500 or 1 500, "
            "otherwise 1.50",
        ),
        (
            "R 12.000",
            "ZAR",
            "'R 12.000' has 3 decimals; ZAR has 2 — for thousands write 12,000 or 12 000, "
            "otherwise 12.00",
        ),
        (
            "1.000",
            "JPY",
            "'1.000' has 3 decimals; JPY has none — for thousands write 1,000 or 1 000, "
            "otherwise 1",
        ),
        (
            "1,234.500",
            "ZAR",
            "'1,234.500' has 3 decimals; ZAR has 2 — for thousands write 1,234,500 or "
            "1 234 500, otherwise 1,234.50",
        ),
        (
            "1.000,000",
            "USD",
            "'1.000,000' has 3 decimals; USD has 2 — for thousands write 1,000,000 or "
            "1 000 000, otherwise 1,000.00",
        ),
        ("1.0", "JPY", "'1.0' has 1 decimal; JPY has none — write 1"),
        ("20.00", "JPY", "'20.00' has 2 decimals; JPY has none — write 20"),
        ("0,500", "ZAR", "'0,500' has 3 decimals; ZAR has 2 — write 0.50"),
        ("00,500", "ZAR", "'00,500' has 3 decimals; ZAR has 2 — write 0.50"),
        ("0,000", "ZAR", "'0,000' has 3 decimals; ZAR has 2 — write 0.00"),
        ("0.500", "USD", "'0.500' has 3 decimals; USD has 2 — write 0.50"),
        ("1234.500", "ZAR", "'1234.500' has 3 decimals; ZAR has 2 — write 1,234.50"),
        ("1.2340", "KWD", "'1.2340' has 4 decimals; KWD has 3 — write 1.234"),
        ("20.0000", "ZAR", "'20.0000' has 4 decimals; ZAR has 2 — write 20.00"),
    ],
)
def test_parse_minor_refuses_decimals_the_currency_lacks_even_zeros(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, currency)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("currency", "signs"),
    [
        ("ZAR", {"R"}),
        ("JPY", {"JP¥", "¥", "￥"}),
        ("CNY", {"CN¥", "¥"}),
        ("EUR", {"€"}),
        ("GBP", {"£"}),
        ("NGN", {"₦"}),
        ("HUF", {"Ft"}),
        ("CHF", set()),  # shown as its code, which is always taken
    ],
)
def test_input_symbols_are_cldrs_where_the_currency_is_legal_tender(
    currency: str, signs: set[str]
) -> None:
    assert input_symbols(currency) >= signs
    assert symbol(currency) in input_symbols(currency) | {currency}
    assert currency not in input_symbols(currency)


def test_input_symbols_are_visible() -> None:
    """CLDR writes CVE's symbol as a zero-width space; nobody can type that."""
    assert "\u200b" not in input_symbols("CVE")
    for code in ALL_CURRENCIES:
        for sign in input_symbols(code):
            assert any(unicodedata.category(ch) != "Cf" for ch in sign), (code, sign)


def test_input_symbols_of_the_dollar() -> None:
    assert {"US$", "$"} <= input_symbols("USD")
    assert {"A$", "$"} <= input_symbols("AUD")
    assert "$" not in input_symbols("ZAR")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("¥1,000", "JPY", 1000),
        ("¥ 1 000", "JPY", 1000),
        ("￥1000", "JPY", 1000),
        ("1,000 ¥", "JPY", 1000),
        ("JP¥1,000", "JPY", 1000),
        ("JPY 1,000", "JPY", 1000),
        ("¥1,000", "CNY", 100000),
        ("$5", "USD", 500),
        ("$ 5.25", "USD", 525),
        ("5 $", "USD", 500),
        ("US$5", "USD", 500),
        ("usd 5", "USD", 500),
        ("$5", "AUD", 500),
        ("A$5", "AUD", 500),
        ("$5", "CAD", 500),
        ("€5", "EUR", 500),
        ("5,00 €", "EUR", 500),
        ("1 234,50 €", "EUR", 123450),
        ("£5", "GBP", 500),
        ("₦1,500", "NGN", 150000),
        ("1 500 Ft", "HUF", 150000),
        ("R$ 5", "BRL", 500),
        ("₹1,234.50", "INR", 123450),
        ("₽5", "RUB", 500),
        ("RM 5", "MYR", 500),
        ("kr 5", "SEK", 500),
        ("5 F\u202fCFA", "XOF", 5),
        ("5 F CFA", "XOF", 5),
        ("R 20", "ZAR", 2000),
        ("20R", "ZAR", 2000),
        ("20 R", "ZAR", 2000),
    ],
)
def test_parse_minor_accepts_the_symbols_people_use(text: str, currency: str, minor: int) -> None:
    assert parse_minor(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("-$5", "USD", -500), ("$-5", "USD", -500), ("-¥1,000", "JPY", -1000)],
)
def test_parse_minor_negative_with_a_symbol(text: str, currency: str, minor: int) -> None:
    assert parse_minor(text, currency, allow_negative=True) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("$5", "ZAR", "'$5' is not in ZAR: $ is a symbol of USD"),
        ("US$ 3", "ZAR", "'US$ 3' is not in ZAR: US$ is a symbol of USD"),
        ("R$5", "ZAR", "'R$5' is not in ZAR: R$ is a symbol of BRL"),
        ("€20", "ZAR", "'€20' is not in ZAR: € is a symbol of EUR"),
        ("20 €", "ZAR", "'20 €' is not in ZAR: € is a symbol of EUR"),
        ("-€20", "ZAR", "'-€20' is not in ZAR: € is a symbol of EUR"),
        ("USD 20", "ZAR", "'USD 20' is not in ZAR: USD is another currency"),
        ("20 usd", "ZAR", "'20 usd' is not in ZAR: usd is another currency"),
        ("R 20 USD", "ZAR", "'R 20 USD' is not in ZAR: USD is another currency"),
        ("R 20", "USD", "'R 20' is not in USD: R is a symbol of ZAR"),
        ("¥1,000", "USD", "'¥1,000' is not in USD: ¥ is a symbol of JPY"),
        ("₩5", "ZAR", "'₩5' is not in ZAR: ₩ is a symbol of KRW"),
        ("¤5", "ZAR", "'¤5' is not in ZAR: ¤ is not a symbol of ZAR"),
    ],
)
def test_parse_minor_refuses_another_currencys_symbol_by_name(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, currency, allow_negative=True)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        # Is the point an abbreviation's (Rs. 50) or a decimal point (R 0.50)?
        ("R.50", "ZAR", "'R.50' is ambiguous: write R 50 or R 0.50"),
        ("ZAR.5", "ZAR", "'ZAR.5' is ambiguous: write ZAR 5 or ZAR 0.5"),
        ("R.500", "ZAR", "'R.500' is ambiguous: write R 500"),
        ("Rs.50", "PKR", "'Rs.50' is ambiguous: write Rs 50 or Rs 0.50"),
    ],
)
def test_parse_minor_refuses_a_point_straight_after_a_symbol(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, currency)
    assert str(caught.value) == message


def test_a_point_after_a_space_or_a_sign_is_a_decimal_point() -> None:
    assert parse_minor("R .50", "ZAR") == 50
    assert parse_minor("$.50", "USD") == 50


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_parse_minor_empty(text: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, "ZAR")
    assert str(caught.value) == "enter an amount, e.g. 20.00"


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "R",
        "20 apples",
        "1e5",
        "--5",
        ".",
        "20,",
        "Zar 20",
        "twenty",
        "12a",
        "²",
        "0x10",
        "٣",
        "1٣",
        "1,٣٣٣",
        "١٢.٥٠",
        "２０",
    ],
)
def test_parse_minor_junk(text: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, "ZAR", allow_negative=True)
    assert str(caught.value) == f"{text!r} is not an amount"


@pytest.mark.parametrize(
    "text",
    [
        *("1,23,4", "12,34,567.00", "1.2345.678", "1,2345,678", "1..2"),
        # Spaces and apostrophes group thousands too, so they are held to the same rule.
        *("5 5", "1.5 5", "1 2345", "1'0", "100 000 0", "1 234,5 6", "12\u00a034", "0 500"),
    ],
)
def test_parse_minor_bad_digit_groups(text: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, "ZAR")
    assert str(caught.value) == f"{text!r} is not an amount: digit groups look wrong"


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1 234,50", 123450),
        ("R 1 234 567.89", 123456789),
        ("1'234.50", 123450),
        ("20 000", 2000000),
        ("1\u00a0234,56", 123456),
        ("12\u202f345.", 1234500),
    ],
)
def test_parse_minor_space_and_apostrophe_groups(text: str, minor: int) -> None:
    assert parse_minor(text, "ZAR") == minor


def test_parse_minor_minimum_and_maximum() -> None:
    assert parse_minor("0.01", "ZAR", minimum=1, maximum=99_999_999) == 1
    assert parse_minor("999,999.99", "ZAR", minimum=1, maximum=99_999_999) == 99_999_999
    with pytest.raises(MoneyError) as low:
        parse_minor("0", "ZAR", minimum=1)
    assert str(low.value) == "the amount must be at least R 0.01"
    with pytest.raises(MoneyError) as high:
        parse_minor("1,000,000", "ZAR", maximum=99_999_999)
    assert str(high.value) == "the amount must be at most R 999,999.99"


def test_parse_minor_minimum_applies_to_allowed_negatives() -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor("-5", "ZAR", allow_negative=True, minimum=-100)
    assert str(caught.value) == "the amount must be at least -R 1.00"


def test_parse_minor_of_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match=r"'XYZ' is not an ISO 4217 currency code"):
        parse_minor("20", "XYZ")


def test_parse_minor_is_exact_beyond_decimal_precision() -> None:
    """More than 28 significant digits: no rounding, and never decimal.InvalidOperation."""
    assert parse_minor("9" * 40, "ZAR") == int("9" * 40) * 100
    text = "R 10,000,000,000,000,000,000,000,000,000.01"
    assert parse_minor(text, "ZAR") == 10**30 + 1


def test_parse_minor_refuses_absurdly_long_input_with_a_money_error() -> None:
    with pytest.raises(MoneyError) as caught:
        parse_minor("1" * 5000, "ZAR")
    assert str(caught.value).endswith("is not an amount: too many digits")
    assert len(str(caught.value)) < 100


# --- properties -----------------------------------------------------------------------

every_currency = st.sampled_from(ALL_CURRENCIES)


@given(amount=st.integers(), currency=every_currency)
def test_round_trip_with_symbol(amount: int, currency: str) -> None:
    assert parse_minor(format_minor(amount, currency), currency, allow_negative=True) == amount


@given(amount=st.integers(), currency=every_currency)
def test_round_trip_without_symbol(amount: int, currency: str) -> None:
    text = format_minor(amount, currency, with_symbol=False)
    assert parse_minor(text, currency, allow_negative=True) == amount


@given(amount=st.integers(min_value=0, max_value=10**15), currency=every_currency)
def test_round_trip_non_negative_needs_no_permission(amount: int, currency: str) -> None:
    assert parse_minor(format_minor(amount, currency), currency) == amount


@given(amount=st.integers(min_value=1), currency=every_currency)
def test_negative_display_is_refused_by_default(amount: int, currency: str) -> None:
    with pytest.raises(MoneyError, match="cannot be negative"):
        parse_minor(format_minor(-amount, currency), currency)


def _decimal_comma(amount: int, currency: str) -> str:
    """``amount`` written the European way: space-grouped thousands, a ``,`` decimal mark
    and no symbol (``1 234,567`` for 1234567 KWD)."""
    places = exponent(currency)
    whole, frac = divmod(abs(amount), 10**places)
    text = f"{whole:,}".replace(",", " ")
    if places:
        text += "," + str(frac).rjust(places, "0")
    return f"-{text}" if amount < 0 else text


@given(amount=st.integers(), currency=every_currency)
def test_round_trip_with_a_decimal_comma(amount: int, currency: str) -> None:
    text = _decimal_comma(amount, currency)
    assert parse_minor(text, currency, allow_negative=True) == amount


@given(whole=st.integers(min_value=1, max_value=999), thousands=st.integers(0, 999))
def test_a_comma_before_three_digits_groups_thousands_in_two_decimal_currencies(
    whole: int, thousands: int
) -> None:
    text = f"{whole},{thousands:03}"
    assert parse_minor(text, "ZAR") == (whole * 1000 + thousands) * 100
    assert parse_minor(text, "KWD") == whole * 1000 + thousands  # three decimals: a decimal


@given(text=st.text(max_size=30), currency=every_currency)
def test_parse_minor_only_ever_raises_money_error(text: str, currency: str) -> None:
    outcome: object
    try:
        outcome = parse_minor(text, currency, allow_negative=True)
    except MoneyError as exc:
        outcome = str(exc)
    assert isinstance(outcome, int) or (isinstance(outcome, str) and outcome)


def test_currencies_are_the_codes_in_use() -> None:
    assert {"ZAR", "USD", "JPY", "KWD", "IQD"} <= currencies()
    assert not {"DEM", "HRK", "XXX", "XAU", "CLF"} & currencies()
    assert all(is_currency(code) for code in currencies())


@given(amount=st.integers(), currency=every_currency, zeros=st.integers(1, 3))
def test_decimals_beyond_the_currency_are_refused_even_as_zeros(
    amount: int, currency: str, zeros: int
) -> None:
    places = exponent(currency)
    text = format_minor(amount, currency)
    text += "0" * zeros if places else "." + "0" * zeros
    with pytest.raises(MoneyError, match=rf"has {places + zeros} decimals?; {currency} has "):
        parse_minor(text, currency, allow_negative=True)


@given(whole=st.integers(1, 999), thousands=st.integers(0, 999), currency=every_currency)
def test_a_point_before_three_digits_is_never_read_as_fewer_decimals(
    whole: int, thousands: int, currency: str
) -> None:
    """``1.500`` is one and a half or fifteen hundred; never silently R 1.50 or ¥1."""
    places = exponent(currency)
    text = f"{whole}.{thousands:03}"
    if places >= 3:
        assert parse_minor(text, currency) == (whole * 1000 + thousands) * 10 ** (places - 3)
        return
    with pytest.raises(MoneyError) as caught:
        parse_minor(text, currency)
    message = str(caught.value)
    if thousands % 10 ** (3 - places):  # a digit that cannot be dropped: as before
        assert message.startswith(f"{text!r} has too many decimals: {currency} takes ")
        return
    grouped, spaced = f"{whole},{thousands:03}", f"{whole} {thousands:03}"
    assert f"for thousands write {grouped} or {spaced}, otherwise " in message
    # Each suggestion means what it says.
    assert parse_minor(grouped, currency) == parse_minor(spaced, currency)
    assert parse_minor(grouped, currency) == (whole * 1000 + thousands) * 10**places
    otherwise = message.rpartition(", otherwise ")[2]
    decimal = whole * 10**places + thousands // 10 ** (3 - places)
    assert parse_minor(otherwise, currency) == decimal


@given(whole=st.integers(0, 10**12), currency=every_currency)
def test_a_trailing_point_is_a_whole_amount(whole: int, currency: str) -> None:
    assert parse_minor(f"{whole}.", currency) == whole * 10 ** exponent(currency)
    assert parse_minor(f"{whole:,}.", currency) == whole * 10 ** exponent(currency)


@given(amount=st.integers(min_value=0), currency=every_currency, data=st.data())
def test_every_input_symbol_is_read_before_or_after_the_digits(
    amount: int, currency: str, data: st.DataObject
) -> None:
    sign = data.draw(st.sampled_from(sorted(input_symbols(currency) | {currency})))
    plain = format_minor(amount, currency, with_symbol=False)
    assert parse_minor(f"{sign}{plain}", currency) == amount
    assert parse_minor(f"{sign} {plain}", currency) == amount
    assert parse_minor(f"{plain} {sign}", currency) == amount
    assert parse_minor(f"-{sign} {plain}", currency, allow_negative=True) == -amount


def test_another_currencys_display_symbol_or_code_is_refused_by_every_currency() -> None:
    """For each pair of currencies: the other's symbol (as shown) and code name it."""
    for currency in ALL_CURRENCIES:
        mine = input_symbols(currency)
        for other in ALL_CURRENCIES:
            for sign in {symbol(other), other} - mine - {currency}:
                with pytest.raises(MoneyError) as caught:
                    parse_minor(f"{sign} 5", currency)
                assert str(caught.value).startswith(f"{sign + ' 5'!r} is not in {currency}: "), (
                    currency,
                    other,
                )
