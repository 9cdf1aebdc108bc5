"""Typed conversion of record values into what our PostgreSQL columns accept.

The target does its own conversion instead of trusting JSON-schema validation: validation is
switched off for speed (it dominates a fast target), and a schema says nothing about CHECK
constraints or column precision anyway. Every converter either returns a Python value that
the column surely accepts, or raises `ConversionError` with a reason fit for `load_rejects`.

The load path uses `Converter.to_copy`: raw JSON value → the COPY text of the column in one
step. It must accept and refuse exactly what `convert` does and stand for the same value
(tests/target/test_conversions.py checks both on the same inputs); it only skips work where
a type or shape check proves the raw value is already in its final form.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import msgspec

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# re.ASCII throughout: `\d` would match every Unicode digit (Arabic-Indic, Devanagari...),
# which Python's int() and fromisoformat() accept but PostgreSQL's input parsers refuse.
HHMMSS = re.compile(r"^(\d{1,4}):([0-5]\d):([0-5]\d(?:\.\d+)?)$", re.ASCII)
MONEY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]{3,8})?\s*$", re.ASCII)
# Shapes whose text PostgreSQL reads exactly as Python's fromisoformat does: a value in one
# of them (and valid) is staged as is; anything else is staged as Python's isoformat().
ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
ISO_TIME = re.compile(r"\d\d:\d\d:\d\d(?:\.\d{1,6})?", re.ASCII)
ISO_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?P<tz>Z|[+-]\d\d:\d\d)?",
    re.ASCII)
#: PostgreSQL's input accepts UTC offsets up to 15:59; Python's datetime up to 23:59.
MAX_PG_OFFSET = dt.timedelta(hours=15, minutes=59)
#: Lone UTF-16 surrogates: valid in a Python str (JSON "\ud800" decodes to one), not in
#: UTF-8, so neither PostgreSQL nor the COPY stream can carry them.
SURROGATES = re.compile("[\ud800-\udfff]")
NULL_TEXT = "\\N"
# The SDK's reader decodes JSON numbers with a fraction as Decimal: keep them numbers.
_JSON = msgspec.json.Encoder(decimal_format="number")
_JSON_ANY = msgspec.json.Encoder(decimal_format="number", enc_hook=str)
_JSON_SORTED = msgspec.json.Encoder(decimal_format="number", enc_hook=str, order="sorted")


class ConversionError(ValueError):
    """A value cannot be stored in its column; the message is the reject reason."""


def copy_escape(text: str) -> str:
    """COPY text format: backslash, tab, newline and carriage return are escaped."""
    if text.isprintable() and "\\" not in text:  # the common case, one C-level scan
        return text
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def copy_text(value: Any) -> str:
    """The COPY text of a converted value (the generic, slower path of `to_copy`)."""
    if value is None:
        return NULL_TEXT
    if value is True:
        return "t"
    if value is False:
        return "f"
    return copy_escape(str(value))


@dataclass(frozen=True)
class Converter:
    """A conversion function with the SQL type its output is staged as, and optionally a
    faster raw value → COPY text function (default: `copy_text(convert(value))`)."""

    sql_type: str
    convert: Callable[[Any], Any]
    fast_copy: Callable[[Any], str] | None = None

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.convert(value)

    @property
    def to_copy(self) -> Callable[[Any], str]:
        """Raw (non-null) value → COPY text; raises `ConversionError` like `convert`."""
        if self.fast_copy:
            return self.fast_copy
        convert = self.convert
        return lambda value: copy_text(convert(value))


def storable_text(text: str) -> str:
    """Text PostgreSQL can store: U+0000 removed, lone surrogates replaced by U+FFFD.

    Neither is a character a person wrote (a NUL byte, half of a UTF-16 pair); dropping or
    replacing them keeps the rest of the record instead of quarantining it (docs/database.md).
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii() and SURROGATES.search(text):
        text = SURROGATES.sub("\ufffd", text)
    return text


def strip_nul(value: Any) -> Any:
    """`storable_text` everywhere in a JSON value, keys included."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    return value


def shape(value: Any) -> str:
    """What a rejected value is, without the value itself (reject reasons are shown in
    reports and alerts; the record, guest contacts included, stays in load_rejects)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _text(value: Any) -> str:
    if type(value) is str:  # the common case, kept cheap
        return storable_text(value)
    if isinstance(value, (dict, list)):
        raise ConversionError(f"expected a string, got {shape(value)}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return storable_text(str(value))


def _integer(value: Any, low: int, high: int) -> int:
    number = value if type(value) is int else _parse_integer(value)
    if not low <= number <= high:
        raise ConversionError(f"integer outside [{low}, {high}]")
    return number


def _parse_integer(value: Any) -> int:
    """An integral float or a string of digits is an integer; a boolean is not."""
    if isinstance(value, bool):
        raise ConversionError("expected an integer, got a boolean")
    integral = isinstance(value, int) or (
        isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value))
    if integral or (isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value)):
        return int(value)
    raise ConversionError(f"expected an integer, got {shape(value)}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, (bool, dict, list)):
        raise ConversionError(f"expected a number, got {shape(value)}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ConversionError(f"expected a number, got {shape(value)}") from error
    if not number.is_finite():
        raise ConversionError("expected a finite number")
    return number


def numeric(precision: int, scale: int, low: float | None = None, high: float | None = None
            ) -> Converter:
    """NUMERIC(p, s), optionally range-checked (the CHECK constraints, e.g. latitude).

    The value is rounded to `scale` the way PostgreSQL does (half away from zero) before
    the checks: 9999.99 is 10000.0 in NUMERIC(5,1), an overflow that would fail the whole
    load unit instead of one record."""
    limit = Decimal(10) ** (precision - scale)
    step = Decimal(10) ** -scale
    # Below this a value cannot round up to the limit: no rounding needed to check it.
    safe = limit - step

    def convert(value: Any) -> Decimal:
        number = _decimal(value)
        rounded = number.quantize(step, ROUND_HALF_UP) if abs(number) < limit else number
        if low is not None and high is not None and not low <= rounded <= high:
            raise ConversionError(f"number outside [{low}, {high}]")
        if abs(rounded) >= limit:
            raise ConversionError(f"number too large for NUMERIC({precision},{scale})")
        return number

    def fast_copy(value: Any) -> str:
        kind = type(value)
        if kind is Decimal:  # how the SDK's reader decodes 27.5
            fits = value.is_finite() and -safe < value < safe
        else:
            fits = (kind is int or kind is float) and -safe < value < safe
        if fits and (low is None or high is None or low <= value <= high):
            return str(value)
        return copy_text(convert(value))

    return Converter("NUMERIC", convert, fast_copy)


def integer(low: int = -INT32_MAX - 1, high: int = INT32_MAX, sql_type: str = "INTEGER"
            ) -> Converter:
    """INTEGER (or BIGINT); `low=0` mirrors the `>= 0` CHECK constraints (positions)."""

    def fast_copy(value: Any) -> str:
        if type(value) is int and low <= value <= high:
            return str(value)
        return str(_integer(value, low, high))

    return Converter(sql_type, lambda v: _integer(v, low, high), fast_copy)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ConversionError(f"expected a boolean, got {shape(value)}")


def _date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"invalid date, {shape(value)} (want YYYY-MM-DD)") from error


def _time(value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"invalid time, {shape(value)} (want HH:MM:SS)") from error


def _timestamptz(value: Any) -> dt.datetime:
    """ISO 8601; a naive value is UTC (the API mixes both forms in one object)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"invalid date-time, {shape(value)}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _boolean_copy(value: Any) -> str:
    return "t" if _boolean(value) else "f"


def _date_copy(value: Any) -> str:
    parsed = _date(value)
    return value if ISO_DATE.fullmatch(value) else parsed.isoformat()


def _time_copy(value: Any) -> str:
    """A time of day (TIME without time zone, as the API's HH:MM:SS): an offset, which
    PostgreSQL ignores for this type (and refuses beyond 15:59), is dropped."""
    parsed = _time(value)
    return value if ISO_TIME.fullmatch(value) else parsed.replace(tzinfo=None).isoformat()


def _timestamptz_copy(value: Any) -> str:
    parsed = _timestamptz(value)
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > MAX_PG_OFFSET:
        return _in_utc(parsed)  # the same instant, in an offset PostgreSQL reads
    match = ISO_DATETIME.fullmatch(value)
    if not match:
        return parsed.isoformat()
    return value if match["tz"] else value + "+00:00"


def _in_utc(moment: dt.datetime) -> str:
    try:
        return moment.astimezone(dt.UTC).isoformat()
    except OverflowError as error:  # near year 1 or 9999
        raise ConversionError("date-time out of range once converted to UTC") from error


def _interval(value: Any) -> str:
    """`HH:MM:SS` durations (`total_time`); hours may exceed 24."""
    if not isinstance(value, str) or not HHMMSS.match(value):
        raise ConversionError(f"invalid duration, {shape(value)} (want HH:MM:SS)")
    return value


def _json(value: Any) -> str:
    """Compact JSON text. NUL is stripped (jsonb refuses `\\u0000`): found by a scan of the
    encoded text, so values without it are encoded once and never walked in Python."""
    try:
        try:
            encoded = _JSON.encode(value)
        except UnicodeEncodeError:  # a lone surrogate somewhere: replace and encode again
            encoded = _JSON.encode(strip_nul(value))
        if b"\\u0000" in encoded:
            encoded = _JSON.encode(strip_nul(value))
    except (TypeError, ValueError, RecursionError, msgspec.EncodeError) as error:
        raise ConversionError(f"not JSON-encodable ({type(error).__name__})") from error
    return encoded.decode()


def _json_copy(value: Any) -> str:
    text = _json(value)
    return text.replace("\\", "\\\\") if "\\" in text else text  # JSON has no raw tab/LF


def _text_copy(value: Any) -> str:
    if type(value) is str and value.isprintable() and "\\" not in value:
        return value  # most text: no NUL, nothing to escape, no further call
    return copy_escape(_text(value))


_MONEY_NUMERIC = numeric(14, 4)


def money_amount(value: Any) -> Decimal | None:
    """Amount of `"25.00 USD"` (a bare number is accepted as an amount)."""
    match = None if isinstance(value, bool) else MONEY.match(str(value))
    if not match:
        raise ConversionError(f"invalid money value, {shape(value)} (want e.g. '25.00 USD')")
    return _MONEY_NUMERIC.convert(match[1])


def money_currency(value: Any) -> str | None:
    """Currency of `"25.00 USD"`, upper-cased; None when only a number was given."""
    match = None if isinstance(value, bool) else MONEY.match(str(value))
    if not match:
        raise ConversionError(f"invalid money value, {shape(value)} (want e.g. '25.00 USD')")
    return match[2].upper() if match[2] else None


TEXT = Converter("TEXT", _text, _text_copy)
BIGINT = integer(-INT64_MAX - 1, INT64_MAX, "BIGINT")
INTEGER = integer()
NON_NEGATIVE = integer(low=0)
BOOLEAN = Converter("BOOLEAN", _boolean, _boolean_copy)
DATE = Converter("DATE", _date, _date_copy)
TIME = Converter("TIME", _time, _time_copy)
TIMESTAMPTZ = Converter("TIMESTAMPTZ", _timestamptz, _timestamptz_copy)
INTERVAL = Converter("INTERVAL", _interval, lambda v: copy_escape(_interval(v)))
JSONB = Converter("JSONB", _json, _json_copy)
MONEY_AMOUNT = Converter("NUMERIC", money_amount)
MONEY_CURRENCY = Converter("VARCHAR(8)", money_currency)


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """Any decoded JSON value (Decimals included) as JSON text jsonb accepts: for the reject
    path, which must never fail on the record it is quarantining. Text is made storable
    (`strip_nul`); a value nested too deep for the encoder is kept as a marker."""
    encoder = _JSON_SORTED if sort_keys else _JSON_ANY
    try:
        return encoder.encode(strip_nul(value)).decode()
    except (TypeError, ValueError, RecursionError, msgspec.EncodeError) as error:
        return encoder.encode({"unencodable": type(error).__name__}).decode()
