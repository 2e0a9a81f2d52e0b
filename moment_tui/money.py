"""Money: integer minor units inside, text only at the edges.

Every amount in moment-tui is an ``int`` in the currency's minor unit (``2000`` ZAR
is R 20.00), exactly as Moment's API carries it. This module is the only place that
converts between that and what a person reads or types.

Currency facts come from maintained sources, not from a table of our own:

* **decimals** are ISO 4217's minor units, from the ``iso4217`` package (the
  published ISO 4217 list, versioned by its date): JPY 0, ZAR 2, KWD 3, and HUF, IDR,
  COP 2 and IQD 3. Moment's amounts are ISO minor units; CLDR's ``digits`` (what
  Babel's ``get_currency_precision`` returns) is how many decimals people are shown,
  and says 0 for HUF, IDR, COP, LBP, ALL and IQD, so it is not used for this.
* **which codes are currencies**: those legal tender in some territory today by
  CLDR (Babel's ``get_territory_currencies(..., tender=True)``) that the ISO 4217
  list also carries with a minor unit. Withdrawn currencies (DEM, ESP, ADP), funds
  (CLF, USN), and special codes (XXX, XTS, XAU) are refused.
* **symbols** are CLDR's, through Babel. Input also takes the symbols CLDR gives a
  currency where it is legal tender, in English and the official languages there:
  ``¥`` and ``￥`` for JPY, ``$`` for USD, ``Ft`` for HUF (see :func:`input_symbols`;
  Babel has no CLDR "narrow" symbols, and these include them where it matters).

Display is ``<symbol> <digits>`` with ``,`` grouping and ``.`` as the decimal mark,
e.g. ``R 1,234.50``; symbols are CLDR's for the South African English locale
(Moment's home market), so ZAR shows as ``R`` and USD as ``US$``.

Input is forgiving about the forms people type — ``20``, ``20.00``, ``20.``,
``.5``, ``R20,00``, ``R 1 234,50``, ``1,234.50`` — and strict about meaning: too
many decimals, an unwanted sign, or anything that is not a number raise
:class:`MoneyError` with a sentence a form can show as it is. Digits are ASCII
``0``-``9`` only.

More decimals than the currency has is an error even when the extra ones are zeros:
``1.500`` ZAR and ``1.000`` JPY are refused, not read as R 1.50 and ¥1, because a
``.`` before three digits is how much of the world groups thousands; the message
says what to write for thousands (``1,500`` or ``1 500``) and for the decimal.

A symbol or code of another currency is refused by name (``$5`` when parsing ZAR:
"$ is a symbol of USD"), as is a point straight after a symbol: ``R.50`` could be
R 50 (an abbreviation's point) or R 0.50.

A single ``,`` followed by exactly three digits is ambiguous. It groups thousands
(``1,234`` ZAR is R 1,234.00) unless the whole part is zero (``0,500`` is never
"five hundred", so in ZAR it has a decimal too many) or the currency has three
decimals (``1,234`` KWD is KWD 1.234), where it is the decimal mark.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from functools import cache, lru_cache

# Babel and iso4217 (with their CLDR data, ~13 MiB) are imported by the functions below on first
# use, not with this module: the console paints its first screen without them.

SYMBOL_LOCALE = "en_ZA"

# Characters people use to group thousands, besides "," and ".".
_GROUPING_SPACES = " \u00a0\u202f\u2009'"
_SIGNS = "-\u2212"


class MoneyError(ValueError):
    """An amount or currency that cannot be used; ``str()`` is a sentence for the user."""


@lru_cache(maxsize=1)
def _tender_territories() -> dict[str, frozenset[str]]:
    """Currency code → the territories where CLDR has it as legal tender today."""
    from babel.core import get_global
    from babel.numbers import get_territory_currencies

    today = datetime.date.today()
    where: dict[str, set[str]] = {}
    for territory in get_global("territory_currencies"):
        for code in get_territory_currencies(territory, start_date=today, tender=True):
            where.setdefault(code, set()).add(territory)
    return {code: frozenset(territories) for code, territories in where.items()}


@lru_cache(maxsize=1)
def _minor_units() -> dict[str, int]:
    """ISO 4217 minor units of every code in use: legal tender somewhere today (CLDR)
    and listed by ISO 4217 with a minor unit (``N.A.`` codes such as XAU have none)."""
    import iso4217

    tender = _tender_territories()
    units: dict[str, int] = {}
    for entry in iso4217.Currency:
        places = entry.exponent
        if entry.code in tender and places is not None:
            units[entry.code] = places
    return units


def preload() -> None:
    """Read the CLDR and ISO 4217 data now (~70 ms; from a worker thread, say) rather
    than at the first amount formatted, on whatever thread that happens."""
    _minor_units()
    symbol("ZAR")  # loads the SYMBOL_LOCALE data every currency's symbol comes from


def currencies() -> frozenset[str]:
    """Every currency code this module takes (``ZAR``, ``USD``, ``JPY`` …)."""
    return frozenset(_minor_units())


def is_currency(code: str) -> bool:
    """True for the upper-case ISO 4217 code of a currency in use (``ZAR``, ``USD`` …)."""
    return code in _minor_units()


def check_currency(code: str) -> str:
    """Return ``code`` if it names a currency in use, else raise :class:`MoneyError`
    (which says so when the code is real but withdrawn, a fund or a special code)."""
    if is_currency(code):
        return code
    from babel.numbers import get_currency_name, list_currencies

    if re.fullmatch(r"[A-Z]{3}", code) and code in list_currencies():
        name = get_currency_name(code, locale=SYMBOL_LOCALE)
        raise MoneyError(
            f"{code!r} ({name}) is not a currency in use today; give a current one (e.g. ZAR)"
        )
    raise MoneyError(f"{code!r} is not an ISO 4217 currency code (e.g. ZAR)")


def exponent(currency: str) -> int:
    """ISO 4217 minor unit: decimal places of the currency (ZAR 2, JPY 0, KWD 3, HUF 2)."""
    return _minor_units()[check_currency(currency)]


@lru_cache(maxsize=512)
def symbol(currency: str) -> str:
    """The symbol shown before an amount: ``R`` for ZAR, ``US$`` for USD, else the code."""
    from babel.numbers import get_currency_symbol

    return str(get_currency_symbol(check_currency(currency), locale=SYMBOL_LOCALE))


def input_symbols(currency: str) -> frozenset[str]:
    """Symbols :func:`parse_minor` takes before or after an amount of ``currency``,
    besides its code: the display :func:`symbol`, and CLDR's symbol for it in English
    and in the official languages of each territory where it is legal tender — which
    is where the short forms people type live (JPY ``JP¥``, ``¥``, ``￥``; USD ``US$``,
    ``$``; HUF ``Ft``). Babel carries no narrow (``alt="narrow"``) symbols of its own."""
    return _input_symbols(check_currency(currency))


@cache  # one entry per currency in use: a bounded set
def _input_symbols(code: str) -> frozenset[str]:
    from babel.core import Locale, UnknownLocaleError, get_global
    from babel.numbers import get_currency_symbol

    found = {symbol(code)}
    spoken = get_global("territory_languages")
    for territory in sorted(_tender_territories()[code]):
        languages = {"en"} | {
            language
            for language, facts in spoken.get(territory, {}).items()
            if facts.get("official_status") in ("official", "de_facto_official")
        }
        for language in sorted(languages):
            try:
                locale = Locale.parse(f"{language}_{territory}")
            except (UnknownLocaleError, ValueError):
                continue  # no CLDR locale for that language there
            if locale.territory == territory:
                found.add(str(get_currency_symbol(code, locale=locale)))
    return frozenset(form for sign in found for form in _typed_forms(sign)) - {code}


def _typed_forms(sign: str) -> set[str]:
    """How a CLDR symbol may be typed: as it is, without invisible marks (the
    right-to-left mark ending ``د.ك.``), with plain spaces (``F CFA``). Forms with
    nothing visible (CVE's zero-width space) or with digits are left out."""
    visible = "".join(ch for ch in sign if unicodedata.category(ch) != "Cf")
    spaced = "".join(" " if ch in _GROUPING_SPACES else ch for ch in visible)
    return {
        form
        for form in {sign.strip(), visible.strip(), spaced.strip()}
        if any(unicodedata.category(ch) != "Cf" for ch in form)
        and not re.search(r"[0-9]", form)
        and form[0] not in _SIGNS
    }


@lru_cache(maxsize=1)
def _english_symbols() -> dict[str, tuple[str, ...]]:
    """Symbol → the currencies whose CLDR symbol it is in English (``en`` and
    :data:`SYMBOL_LOCALE`): what names the currency of a symbol typed for another."""
    from babel.numbers import get_currency_symbol

    owners: dict[str, list[str]] = {}
    for code in sorted(_minor_units()):
        for locale in ("en", SYMBOL_LOCALE):
            for form in _typed_forms(str(get_currency_symbol(code, locale=locale))):
                if form != code and code not in owners.setdefault(form, []):
                    owners[form].append(code)
    return {form: tuple(codes) for form, codes in owners.items()}


def format_minor(amount: int, currency: str, *, with_symbol: bool = True) -> str:
    """``format_minor(2000, "ZAR") == "R 20.00"``; negative amounts get a leading ``-``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amounts are integers in minor units, not {type(amount).__name__}")
    places = exponent(currency)
    whole, frac = divmod(abs(amount), 10**places)
    digits = f"{whole:,}"
    if places:
        digits += "." + str(frac).rjust(places, "0")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol(currency)} {digits}" if with_symbol else f"{sign}{digits}"


def amount_text(amount: int | None, currency: str | None) -> str:
    """An amount for people: ``R 20.00``; ``""`` when either part is missing, and the
    raw minor units when the currency is unknown (a webhook may name any code)."""
    if amount is None or currency is None:
        return ""
    try:
        return format_minor(amount, currency)
    except MoneyError:
        return f"{amount} {currency} (minor units)"


def parse_minor(
    text: str,
    currency: str,
    *,
    allow_negative: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Parse what a person typed into integer minor units of ``currency``.

    ``parse_minor("R20,00", "ZAR") == 2000``. Raises :class:`MoneyError` with a
    user-facing sentence for junk, too many decimals, a sign that is not allowed,
    or a value outside ``minimum``/``maximum`` (both in minor units).
    """
    places = exponent(currency)
    raw = text.strip()
    body = _strip_currency(raw, raw, currency, places)
    negative = False
    if body[:1] in _SIGNS:
        negative, body = True, body[1:].strip()
        body = _strip_currency(body, raw, currency, places)
    if not body:
        raise MoneyError("enter an amount, e.g. 20.00" if not raw else f"{raw!r} is not an amount")
    _refuse_other_currency(body, raw, currency)
    whole, frac, grouped = _split_digits(body, raw, places)
    if len(frac) > places:
        if frac[places:].strip("0"):
            unit = "no decimals" if places == 0 else f"at most {places} decimal places"
            raise MoneyError(f"{raw!r} has too many decimals: {currency} takes {unit}")
        # Only zeros past the currency's decimals: never drop them quietly, for a "."
        # before three digits is how much of the world groups thousands (1.500).
        raise MoneyError(_zero_decimals(raw, currency, negative, whole, frac, grouped))
    # Integer arithmetic on the digit strings: exact at any length (a Decimal would
    # round, or raise InvalidOperation, beyond its 28-digit context precision).
    try:
        scale: int = 10**places
        minor = int(whole) * scale + int(frac.ljust(places, "0") or "0")
    except ValueError as exc:  # more digits than int() converts
        raise MoneyError(f"{raw[:40]!r}… is not an amount: too many digits") from exc
    if negative:
        minor = -minor
    if minor < 0 and not allow_negative:
        raise MoneyError("the amount cannot be negative")
    if minimum is not None and minor < minimum:
        raise MoneyError(f"the amount must be at least {format_minor(minimum, currency)}")
    if maximum is not None and minor > maximum:
        raise MoneyError(f"the amount must be at most {format_minor(maximum, currency)}")
    return minor


def _zero_decimals(
    raw: str, currency: str, negative: bool, whole: str, frac: str, grouped: bool
) -> str:
    """The message for ``1.500`` ZAR or ``1.000`` JPY: more decimals than the currency
    has, all of them zeros past its own; what to write for thousands, else for the
    decimal reading."""
    places = exponent(currency)
    count = f"{len(frac)} decimal" + ("s" if len(frac) > 1 else "")
    has = str(places) if places else "none"
    sign = "-" if negative else ""
    decimal = int(whole) * 10**places + int(frac[:places] or "0")
    otherwise = sign + format_minor(decimal, currency, with_symbol=False)
    thousands = int(whole + frac)
    if len(frac) == 3 and int(whole) and (grouped or len(whole.lstrip("0")) <= 3):
        commas = f"{sign}{thousands:,}"
        spaces = commas.replace(",", " ")
        advice = f"for thousands write {commas} or {spaces}, otherwise {otherwise}"
    else:
        advice = f"write {otherwise}"
    return f"{raw!r} has {count}; {currency} has {has} — {advice}"


def _strip_currency(text: str, raw: str, currency: str, places: int) -> str:
    """Remove a leading or trailing symbol or code of ``currency``, and the space
    around it. A longer symbol of another currency at that end (``R$5`` when parsing
    ZAR) is refused by name; so is a point straight after a symbol (``R.50``)."""
    own, other = _own_markers(currency), _other_markers(currency)
    for at_start in (True, False):
        mine = _marker_at(text, own, at_start)
        theirs = _marker_at(text, other, at_start)
        if len(theirs) > len(mine):
            raise _other_currency(raw, theirs, currency)
        if not mine:
            continue
        if not at_start:
            return text[: -len(mine)].strip()
        rest = text[len(mine) :]
        point = re.fullmatch(r"\.([0-9]+)", rest)
        if point and mine[-1].isalpha():
            # "Rs.50": an abbreviation's point (Rs. 50) or a decimal one (Rs 0.50)?
            digits = point.group(1)
            ways = [f"{mine} {digits}"] + ([f"{mine} 0.{digits}"] if len(digits) <= places else [])
            raise MoneyError(f"{raw!r} is ambiguous: write {' or '.join(ways)}")
        return rest.strip()
    return text


# Markers by the character they start with, and by the one they end with: longest first.
_Markers = tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]


def _index(markers: set[str]) -> _Markers:
    by_first: dict[str, list[str]] = {}
    by_last: dict[str, list[str]] = {}
    for marker in sorted(markers, key=len, reverse=True):
        by_first.setdefault(marker[0], []).append(marker)
        by_last.setdefault(marker[-1], []).append(marker)
    return (
        {edge: tuple(found) for edge, found in by_first.items()},
        {edge: tuple(found) for edge, found in by_last.items()},
    )


@cache
def _own_markers(code: str) -> _Markers:
    return _index(set(input_symbols(code)) | {code, code.lower()})


@cache
def _other_markers(code: str) -> _Markers:
    """Other currencies' English symbols that are not also ``code``'s."""
    return _index(set(_english_symbols()) - input_symbols(code) - {code, code.lower()})


def _marker_at(text: str, markers: _Markers, at_start: bool) -> str:
    """The longest of ``markers`` that ``text`` starts (or ends) with, where a marker
    ending in a letter is not followed by another (``R`` is not in ``RM 5``); else ``""``."""
    if at_start:
        for marker in markers[0].get(text[:1], ()):
            after = text[len(marker) : len(marker) + 1]
            if text.startswith(marker) and not (marker[-1].isalpha() and after.isalpha()):
                return marker
    else:
        for marker in markers[1].get(text[-1:], ()):
            before = text[-len(marker) - 1 : -len(marker)]
            if text.endswith(marker) and not (marker[0].isalpha() and before.isalpha()):
                return marker
    return ""


_NUMBER_EDGE = frozenset("0123456789.,")


def _refuse_other_currency(body: str, raw: str, currency: str) -> None:
    """Raise if what is left around the digits names another currency: its code
    (``USD 20``), its English symbol (``$5``), or any currency sign (``¤5``)."""
    if body[0] in _NUMBER_EDGE and body[-1] in _NUMBER_EDGE:
        return
    for at_start in (True, False):
        code = re.search(
            r"^[A-Za-z]{3}(?![A-Za-z])" if at_start else r"(?<![A-Za-z])[A-Za-z]{3}$", body
        )
        typed = code.group() if code else ""
        if typed.upper() in _minor_units() and typed.upper() != currency:
            raise MoneyError(f"{raw!r} is not in {currency}: {typed} is another currency")
        sign = _marker_at(body, _other_markers(currency), at_start)
        if sign:
            raise _other_currency(raw, sign, currency)
        edge = re.search(r"^[^0-9.,\s]+" if at_start else r"[^0-9.,\s]+$", body)
        if edge and any(unicodedata.category(ch) == "Sc" for ch in edge.group()):
            raise MoneyError(
                f"{raw!r} is not in {currency}: {edge.group()} is not a symbol of {currency}"
            )


def _other_currency(raw: str, sign: str, currency: str) -> MoneyError:
    owners = _english_symbols()[sign]
    names = ", ".join(owners[:3]) + (" and others" if len(owners) > 3 else "")
    return MoneyError(f"{raw!r} is not in {currency}: {sign} is a symbol of {names}")


_DIGIT_GROUPS = re.compile(r"[0-9]{1,3}(?:[,.][0-9]{3})+")
_NUMERALS = re.compile(rf"[0-9.,{_GROUPING_SPACES}]+")
# Groups set off by a space or an apostrophe, then perhaps a decimal part (no spaces).
_SPACED_GROUPS = re.compile(rf"[1-9][0-9]{{0,2}}(?:[{_GROUPING_SPACES}][0-9]{{3}})+(?:[.,][0-9]*)?")


def _split_digits(body: str, raw: str, places: int) -> tuple[str, str, bool]:
    """``"1,234.50"`` → ``("1234", "50", True)``: the whole and fractional digit strings,
    and whether the whole part was written in digit groups (``places``: the currency's
    decimals, which settle a lone ``,ddd``). ``"20."`` is ``("20", "", False)``."""
    spaced = any(ch in _GROUPING_SPACES for ch in body) and _NUMERALS.fullmatch(body)
    if spaced and not _SPACED_GROUPS.fullmatch(body):
        # "1 234,50" and "1'234.50" group thousands; "5 5" or "1 2345" group nothing.
        raise MoneyError(f"{raw!r} is not an amount: digit groups look wrong")
    compact = "".join(ch for ch in body if ch not in _GROUPING_SPACES)
    # [0-9], not \d: \d and str.isdigit() accept "٣" or "²", which int() reads or rejects.
    if not re.fullmatch(r"[0-9.,]+", compact) or not re.search(r"[0-9]", compact):
        raise MoneyError(f"{raw!r} is not an amount")
    dots, commas = compact.count("."), compact.count(",")
    if dots and commas:
        decimal_mark = "." if compact.rfind(".") > compact.rfind(",") else ","
    elif dots + commas == 1:
        # A single separator is the decimal mark unless it is a comma followed by
        # exactly three digits ("1,234" is one thousand two hundred and thirty-four) —
        # and even then it is decimal after a zero ("0,500" groups nothing) or in a
        # currency with three decimals ("1,234" KWD is 1.234).
        mark = "." if dots else ","
        grouping = (
            mark == ","
            and re.fullmatch(r"[0-9]+,[0-9]{3}", compact) is not None
            and re.fullmatch(r"0+,[0-9]{3}", compact) is None
            and places != 3
        )
        decimal_mark = "" if grouping else mark
    else:
        decimal_mark = ""  # none, or several of one kind: they all group thousands
    whole, _, frac = compact.rpartition(decimal_mark) if decimal_mark else (compact, "", "")
    # "20." is twenty: a trailing point is how some people mark a whole amount.
    if decimal_mark and not (_ascii_digits(frac) or (decimal_mark == "." and not frac)):
        raise MoneyError(f"{raw!r} is not an amount")
    grouped = whole.replace(",", "").replace(".", "")
    if whole != grouped and not _DIGIT_GROUPS.fullmatch(whole):
        raise MoneyError(f"{raw!r} is not an amount: digit groups look wrong")
    if not grouped:
        grouped = "0"
    if not _ascii_digits(grouped):
        raise MoneyError(f"{raw!r} is not an amount")
    in_groups = whole != grouped or any(ch in body for ch in _GROUPING_SPACES)
    return grouped, frac, in_groups


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
