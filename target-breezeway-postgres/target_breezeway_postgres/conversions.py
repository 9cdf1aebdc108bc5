"""Typed conversion of record values into what our PostgreSQL columns accept.

The target does its own conversion instead of trusting JSON-schema validation: validation is
switched off for speed (it dominates a fast target), and a schema says nothing about CHECK
constraints or column precision anyway. Every converter either returns a Python value that
the column surely accepts, or raises `ConversionError` with a reason fit for `load_rejects`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
HHMMSS = re.compile(r"^(\d{1,4}):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
MONEY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]{3,8})?\s*$")


class ConversionError(ValueError):
    """A value cannot be stored in its column; the message is the reject reason."""


@dataclass(frozen=True)
class Converter:
    """A conversion function with the SQL type its output is staged as."""

    sql_type: str
    convert: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.convert(value)


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
    if isinstance(value, bool):
        raise ConversionError(f"expected an integer, got boolean {value!r}")
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if integral or (isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value)):
        number = int(value)
    else:
        raise ConversionError(f"expected an integer, got {value!r}")
    if not low <= number <= high:
        raise ConversionError(f"integer {number} outside [{low}, {high}]")
    return number


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
    """NUMERIC(p, s), optionally range-checked (the CHECK constraints, e.g. latitude)."""
    limit = Decimal(10) ** (precision - scale)

    def convert(value: Any) -> Decimal:
        number = _decimal(value)
        if low is not None and high is not None and not low <= number <= high:
            raise ConversionError(f"{number} outside [{low}, {high}]")
        if abs(number) >= limit:
            raise ConversionError(f"{number} too large for NUMERIC({precision},{scale})")
        return number

    return Converter("NUMERIC", convert)


def integer(low: int = -INT32_MAX - 1) -> Converter:
    """INTEGER; `low=0` mirrors the `>= 0` CHECK constraints (counts, positions)."""
    return Converter("INTEGER", lambda v: _integer(v, low, INT32_MAX))


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


def _interval(value: Any) -> str:
    """`HH:MM:SS` durations (`total_time`); hours may exceed 24."""
    if not isinstance(value, str) or not HHMMSS.match(value):
        raise ConversionError(f"invalid duration {value!r} (want HH:MM:SS)")
    return value


def _json(value: Any) -> str:
    return json.dumps(strip_nul(value), separators=(",", ":"), ensure_ascii=False)


def money_amount(value: Any) -> Decimal | None:
    """Amount of `"25.00 USD"` (a bare number is accepted as an amount)."""
    match = None if isinstance(value, bool) else MONEY.match(str(value))
    if not match:
        raise ConversionError(f"invalid money value {value!r} (want e.g. '25.00 USD')")
    return numeric(14, 4).convert(match[1])


def money_currency(value: Any) -> str | None:
    """Currency of `"25.00 USD"`, upper-cased; None when only a number was given."""
    match = None if isinstance(value, bool) else MONEY.match(str(value))
    if not match:
        raise ConversionError(f"invalid money value {value!r} (want e.g. '25.00 USD')")
    return match[2].upper() if match[2] else None


TEXT = Converter("TEXT", _text)
BIGINT = Converter("BIGINT", lambda v: _integer(v, -INT64_MAX - 1, INT64_MAX))
INTEGER = integer()
NON_NEGATIVE = integer(low=0)
BOOLEAN = Converter("BOOLEAN", _boolean)
DATE = Converter("DATE", _date)
TIME = Converter("TIME", _time)
TIMESTAMPTZ = Converter("TIMESTAMPTZ", _timestamptz)
INTERVAL = Converter("INTERVAL", _interval)
JSONB = Converter("JSONB", _json)
MONEY_AMOUNT = Converter("NUMERIC", money_amount)
MONEY_CURRENCY = Converter("VARCHAR(8)", money_currency)
