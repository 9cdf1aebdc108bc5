"""An API answer's bytes as JSON values, also when one odd object makes msgspec refuse them.

msgspec decodes every answer (fast), but refuses what a single object can carry and an API
may really send: a lone UTF-16 surrogate escape (`"\\ud800"`: JSON grammar allows it, it is
no Unicode text), bytes that are not UTF-8, a number beyond float range (`1e400`), an
integer of thousands of digits, and the NaN/Infinity literals Python's json module writes
by default. Refusing the page would fail the region at every run (it is retried as if
truncated), so such a page is decoded again leniently, and `repair` then makes each of its
objects writable, reporting per field what it changed, for the stream to log:

- lone surrogates and bytes that are not UTF-8 become U+FFFD (no JSON writer or reader
  downstream can carry them);
- out-of-range numbers stay exact, as `Decimal` (written as a JSON number);
- NaN/Infinity and over-long integers are passed on as their text (no JSON reader takes
  them as numbers; the target judges the field).

Truncated or otherwise broken JSON is still an error (the stream retries it), and so is
nesting deeper than any recursive decoder goes (`NestingTooDeepError`, not retried).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

import msgspec

_strict = msgspec.json.Decoder()

NOT_UNICODE = "text that is not Unicode (replaced by U+FFFD)"
NOT_A_JSON_NUMBER = "a number JSON readers refuse (passed on as text)"

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class NestingTooDeepError(ValueError):
    """The JSON nests deeper than a recursive decoder can follow: nothing of it is readable."""


class _TokenAsText(str):
    """A number token kept as text (NaN, Infinity, a 5000-digit integer); `repair` reports it."""


def decode(content: bytes) -> tuple[Any, bool]:
    """The JSON value of an answer, and whether only the lenient decoder could read it."""
    try:
        return _strict.decode(content), False
    except msgspec.DecodeError as refusal:
        strict_error = refusal
    except RecursionError:
        raise NestingTooDeepError(_too_deep(content)) from None
    try:
        return _lenient(content), True
    except RecursionError:
        raise NestingTooDeepError(_too_deep(content)) from None
    except ValueError:
        raise strict_error from None  # broken JSON: msgspec says best where


def _too_deep(content: bytes) -> str:
    return f"JSON nested too deeply to decode ({len(content)} bytes)"


def _lenient(content: bytes) -> Any:
    # surrogateescape: each byte that is not UTF-8 becomes a lone surrogate, which
    # `repair` then finds (and reports) like one sent as a `\ud800` escape.
    text = content.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    return json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_TokenAsText)


def _number(token: str) -> float | Decimal:
    value = float(token)
    return value if math.isfinite(value) else Decimal(token)


def _integer(token: str) -> int | str:
    try:
        return int(token)
    except ValueError:  # beyond Python's (and so every SDK reader's) integer digit limit
        return _TokenAsText(token)


def repair(obj: dict[str, Any]) -> dict[str, set[str]]:
    """Make a leniently decoded object writable, in place: changed field -> reasons.

    Iterative, so it follows any depth the decoder did.
    """
    changed: dict[str, set[str]] = {}
    for key in list(obj):
        new_key, key_reasons = _repaired_text(key)
        value, reasons = _repaired(obj.pop(key))
        obj[new_key] = value
        if key_reasons or reasons:
            changed.setdefault(new_key, set()).update(key_reasons | reasons)
    return changed


def _repaired_text(text: str) -> tuple[str, set[str]]:
    reasons: set[str] = set()
    if type(text) is _TokenAsText:
        text, reasons = str.__str__(text), {NOT_A_JSON_NUMBER}
    if _LONE_SURROGATE.search(text):
        text, reasons = _LONE_SURROGATE.sub("\ufffd", text), reasons | {NOT_UNICODE}
    return text, reasons


def _repaired(value: Any) -> tuple[Any, set[str]]:
    if isinstance(value, str):
        return _repaired_text(value)
    reasons: set[str] = set()
    pending = [value] if isinstance(value, dict | list) else []
    while pending:
        container = pending.pop()
        if isinstance(container, dict):
            for key in list(container):
                new_key, key_reasons = _repaired_text(key)
                item = container.pop(key)
                container[new_key] = item
                reasons |= key_reasons
        slots = container.items() if isinstance(container, dict) else enumerate(container)
        for slot, item in list(slots):
            if isinstance(item, str):
                text, text_reasons = _repaired_text(item)
                if text_reasons:
                    container[slot] = text
                    reasons |= text_reasons
            elif isinstance(item, dict | list):
                pending.append(item)
    return value, reasons
