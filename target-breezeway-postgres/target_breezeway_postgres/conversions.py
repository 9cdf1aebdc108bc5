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
HHMMSS = re.compile(r"^(\d{1,4}):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
MONEY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]{3,8})?\s*$")
# Shapes whose text PostgreSQL reads exactly as Python's fromisoformat does: a value in one
# of them (and valid) is staged as is; anything else is staged as Python's isoformat().
ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")
ISO_TIME = re.compile(r"\d\d:\d\d:\d\d(?:\.\d{1,6})?")
ISO_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?P<tz>Z|[+-]\d\d:\d\d)?")
NULL_TEXT = "\\N"
# The SDK's reader decodes JSON numbers with a fraction as Decimal: keep them numbers.
_JSON = msgspec.json.Encoder(decimal_format="number")


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


def strip_nul(value: Any) -> Any:
    """Remove U+0000 everywhere (PostgreSQL text and jsonb cannot hold it), keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    return value


def _text(value: Any) -> str:
    if type(value) is str:  # the common case, kept cheap
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, (dict, list)):
        raise ConversionError(f"expected a string, got {type(value).__name__}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return strip_nul(str(value))


def _integer(value: Any, low: int, high: int) -> int:
    number = value if type(value) is int else _parse_integer(value)
    if not low <= number <= high:
        raise ConversionError(f"integer {number} outside [{low}, {high}]")
    return number


def _parse_integer(value: Any) -> int:
    """An integral float or a string of digits is an integer; a boolean is not."""
    if isinstance(value, bool):
        raise ConversionError(f"expected an integer, got boolean {value!r}")
    integral = isinstance(value, int) or (
        isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value))
    if integral or (isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value)):
        return int(value)
    raise ConversionError(f"expected an integer, got {value!r}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, (bool, dict, list)):
        raise ConversionError(f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ConversionError(f"expected a number, got {value!r}") from error
    if not number.is_finite():
        raise ConversionError(f"expected a finite number, got {value!r}")
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
            raise ConversionError(f"{number} outside [{low}, {high}]")
        if abs(rounded) >= limit:
            raise ConversionError(f"{number} too large for NUMERIC({precision},{scale})")
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
    raise ConversionError(f"expected a boolean, got {value!r}")


def _date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"invalid date {value!r} (want YYYY-MM-DD)") from error


def _time(value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"invalid time {value!r} (want HH:MM:SS)") from error


def _timestamptz(value: Any) -> dt.datetime:
    """ISO 8601; a naive value is UTC (the API mixes both forms in one object)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"invalid date-time {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _boolean_copy(value: Any) -> str:
    return "t" if _boolean(value) else "f"


def _date_copy(value: Any) -> str:
    parsed = _date(value)
    return value if ISO_DATE.fullmatch(value) else parsed.isoformat()


def _time_copy(value: Any) -> str:
    parsed = _time(value)
    return value if ISO_TIME.fullmatch(value) else parsed.isoformat()


def _timestamptz_copy(value: Any) -> str:
    parsed = _timestamptz(value)
    match = ISO_DATETIME.fullmatch(value)
    if not match:
        return parsed.isoformat()
    return value if match["tz"] else value + "+00:00"


def _interval(value: Any) -> str:
    """`HH:MM:SS` durations (`total_time`); hours may exceed 24."""
    if not isinstance(value, str) or not HHMMSS.match(value):
        raise ConversionError(f"invalid duration {value!r} (want HH:MM:SS)")
    return value


def _json(value: Any) -> str:
    """Compact JSON text. NUL is stripped (jsonb refuses `\\u0000`): found by a scan of the
    encoded text, so values without it are encoded once and never walked in Python."""
    try:
        encoded = _JSON.encode(value)
        if b"\\u0000" in encoded:
            encoded = _JSON.encode(strip_nul(value))
    except (TypeError, msgspec.EncodeError) as error:
        raise ConversionError(f"not JSON-encodable: {error}") from error
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
        raise ConversionError(f"invalid money value {value!r} (want e.g. '25.00 USD')")
    return _MONEY_NUMERIC.convert(match[1])


def money_currency(value: Any) -> str | None:
    """Currency of `"25.00 USD"`, upper-cased; None when only a number was given."""
    match = None if isinstance(value, bool) else MONEY.match(str(value))
    if not match:
        raise ConversionError(f"invalid money value {value!r} (want e.g. '25.00 USD')")
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
