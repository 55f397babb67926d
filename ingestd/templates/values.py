"""What a cell's text is, and its typed value, for the exports people really send.

Types, from most to least specific: ``boolean``, ``integer``, ``decimal``, ``percent``,
``currency``, ``date``, ``datetime``, ``email``, ``url``, ``categorical``, ``text``.

Numbers take thousands separators (``1,234``, ``1.234``, ``1 234``, ``1'234``) and a decimal
comma (``12,5``; ``1.234,56``); a column's decimal mark is decided once from all its values
(``decimal_mark``). Currency is a number with a symbol or ISO code on either side; percent, a
number with ``%``. Dates are ISO, day-first or month-first with ``/ . -``, or with month names;
Excel serial dates (days since 1899-12-30) are read as dates where the column is a date column.

>>> classify("1.234,56", ",")
'decimal'
>>> parse_number("€ 1.234,56", ",")
1234.56
>>> parse_date("45292", excel_serial=True)
datetime.date(2024, 1, 1)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

TYPES: tuple[str, ...] = (
    "boolean",
    "integer",
    "decimal",
    "percent",
    "currency",
    "date",
    "datetime",
    "email",
    "url",
    "categorical",
    "text",
)
NUMERIC_TYPES = frozenset({"integer", "decimal", "percent", "currency"})
TEMPORAL_TYPES = frozenset({"date", "datetime"})

NULLS = frozenset({"", "-", "--", "—", "na", "n/a", "nan", "null", "none", "nil", "#n/a", "?"})
TRUE = frozenset({"true", "yes", "y", "t", "ja", "oui", "si", "x", "✓", "wahr", "vrai"})
FALSE = frozenset({"false", "no", "n", "f", "nein", "non", "falsch", "faux"})
_BOOL_WORDS = TRUE | FALSE

_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
CURRENCY_SYMBOLS = "$€£¥₹₽₩₺₪฿"
CURRENCY_CODES = frozenset(
    {
        "usd",
        "eur",
        "gbp",
        "jpy",
        "chf",
        "cad",
        "aud",
        "sek",
        "nok",
        "dkk",
        "pln",
        "czk",
        "inr",
        "cny",
        "brl",
        "mxn",
        "zar",
        "nzd",
        "huf",
        "rub",
        "try",
        "krw",
        "sgd",
        "hkd",
    }
)
_CURRENCY = re.compile(
    r"^\s*(?P<pre>["
    + CURRENCY_SYMBOLS
    + r"]|[A-Za-z]{3}\s)?\s*(?P<num>[-+(]?[\d\s\u00a0\u202f.,']+\)?)"
    r"\s*(?P<post>[" + CURRENCY_SYMBOLS + r"]|\s?[A-Za-z]{3})?\s*$"
)
_NUMBER = re.compile(r"^[-+]?(\d{1,3}([ \u00a0\u202f.,']\d{3})+|\d+)([.,]\d+)?$")
_INTEGER_PLAIN = re.compile(r"^[-+]?\d+$")
_PERCENT = re.compile(r"^\s*([-+]?[\d\s.,]+)\s*%\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(https?://|www\.)[^\s]+$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUM_DATE = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})$")
_ISO_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "janv", "januar"),
            ("feb", "february", "fev", "februar", "fevr"),
            ("mar", "march", "mars", "marz"),
            ("apr", "april", "avr", "avril"),
            ("may", "mai"),
            ("jun", "june", "juin", "juni"),
            ("jul", "july", "juil", "juli"),
            ("aug", "august", "aout"),
            ("sep", "sept", "september"),
            ("oct", "october", "okt", "oktober"),
            ("nov", "november"),
            ("dec", "december", "dez", "dezember"),
        ]
    )
    for m in names
}
_NAMED_DATE = re.compile(r"^(\d{1,2})[\s.\-]+([A-Za-z]+)\.?[\s.\-,]+(\d{4})$")
_NAMED_DATE_US = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_SERIAL_RANGE = (10_000, 80_000)  # 1927 to 2119: serials outside are not taken as dates


def is_null(text: str) -> bool:
    return text.strip().lower() in NULLS


def decimal_mark(values: Iterable[str]) -> str:
    """``","`` when the values write decimals with a comma (``12,5``, ``1.234,56``), else ``"."``."""
    comma = point = 0
    for raw in values:
        text = (
            raw.strip().translate(_SPACES).lstrip(CURRENCY_SYMBOLS).rstrip("%" + CURRENCY_SYMBOLS)
        )
        last_c, last_p = text.rfind(","), text.rfind(".")
        if last_c > last_p >= 0 or (last_c >= 0 > last_p and len(text) - last_c - 1 != 3):
            comma += 1
        elif last_p > last_c >= 0 or (last_p >= 0 > last_c and len(text) - last_p - 1 != 3):
            point += 1
    return "," if comma > point else "."


def parse_number(text: str, mark: str = ".") -> float | None:
    """The number in ``text`` (currency and ``%`` signs dropped, ``(12)`` negative), or None."""
    s = text.strip()
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()").strip().rstrip("%").strip()
    s = s.strip(CURRENCY_SYMBOLS).strip()
    if len(s) > 3 and s[:3].lower() in CURRENCY_CODES and not s[3].isalpha():
        s = s[3:].strip()
    if len(s) > 3 and s[-3:].lower() in CURRENCY_CODES and not s[-4].isalpha():
        s = s[:-3].strip()
    if not s or not _NUMBER.match(s):
        return None
    s = s.translate(_SPACES)
    other = "," if mark == "." else "."
    s = s.replace(other, "")
    if mark == ",":
        s = s.replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        return None
    return -value if negative else value


def parse_decimal(text: str, mark: str = ".") -> Decimal | None:
    value = parse_number(text, mark)
    if value is None:
        return None
    try:
        return Decimal(repr(value))
    except InvalidOperation:  # pragma: no cover - repr of a float always parses
        return None


def parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in TRUE or low == "1":
        return True
    if low in FALSE or low == "0":
        return False
    return None


def parse_date(
    text: str, *, day_first: bool = True, excel_serial: bool = False, fmt: str | None = None
) -> dt.date | None:
    """A date: ISO, numeric day-first (or month-first) with ``/ . -``, month names, an
    explicit ``strptime`` format, or an Excel serial number when ``excel_serial``."""
    s = text.strip()
    if fmt:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            return None
    if m := _ISO_DATE.match(s):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUM_DATE.match(s):
        a, b, c = m[1], m[2], m[3]
        if len(a) == 4:
            return _date(int(a), int(b), int(c))
        year = int(c) + (2000 if len(c) == 2 and int(c) < 70 else 1900 if len(c) == 2 else 0)
        if len(c) not in (2, 4):
            return None
        first, second = int(a), int(b)
        if first > 12 or (day_first and second <= 12):
            return _date(year, second, first)
        return _date(year, first, second)
    if m := _NAMED_DATE.match(s):
        month = _MONTHS.get(_ascii_lower(m[2]))
        return _date(int(m[3]), month, int(m[1])) if month else None
    if m := _NAMED_DATE_US.match(s):
        month = _MONTHS.get(_ascii_lower(m[1]))
        return _date(int(m[3]), month, int(m[2])) if month else None
    if excel_serial:
        serial = parse_number(s)
        if serial is not None and EXCEL_SERIAL_RANGE[0] <= serial <= EXCEL_SERIAL_RANGE[1]:
            return EXCEL_EPOCH + dt.timedelta(days=int(serial))
    return None


def parse_datetime(text: str, *, fmt: str | None = None) -> dt.datetime | None:
    s = text.strip()
    if fmt:
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            return None
    if not _ISO_DATETIME.match(s):
        return None
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ascii_lower(text: str) -> str:
    return text.lower().replace("é", "e").replace("û", "u").replace("ä", "a")


def _date(year: int, month: int | None, day: int) -> dt.date | None:
    if month is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def classify(text: str, mark: str = ".") -> str:
    """The most specific type ``text`` (not null) reads as."""
    s = text.strip()
    low = s.lower()
    if low in _BOOL_WORDS:
        return "boolean"
    if _INTEGER_PLAIN.match(s):
        return "integer"
    if _PERCENT.match(s) and parse_number(s, mark) is not None:
        return "percent"
    number = parse_number(s, mark)
    if number is not None:
        if any(ch in s for ch in CURRENCY_SYMBOLS) or _has_code(s):
            return "currency"
        return "integer" if float(number).is_integer() and not _has_decimals(s, mark) else "decimal"
    if _ISO_DATETIME.match(s):
        return "date" if s.endswith(("T00:00:00", " 00:00:00")) else "datetime"
    if parse_date(s) is not None:
        return "date"
    if _EMAIL.match(s):
        return "email"
    if _URL.match(s):
        return "url"
    return "text"


def _has_code(s: str) -> bool:
    low = s.lower()
    return (len(low) > 3 and low[:3] in CURRENCY_CODES) or (
        len(low) > 3 and low[-3:] in CURRENCY_CODES
    )


def _has_decimals(s: str, mark: str) -> bool:
    idx = s.rfind(mark)
    return idx >= 0 and len(s) - idx - 1 != 3 if mark == "." else idx >= 0


def pattern_class(text: str) -> str:
    """The shape of a value: digits ``9``, letters ``A``/``a``, runs collapsed, others kept
    (``AB-1234`` → ``A-9``)."""
    out: list[str] = []
    for ch in text.strip()[:40]:
        cls = "9" if ch.isdigit() else "A" if ch.isupper() else "a" if ch.isalpha() else ch
        if cls == " ":
            cls = "_"
        if not out or out[-1] != cls:
            out.append(cls)
    return "".join(out)
