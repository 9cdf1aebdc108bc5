"""The target's Singer message reader: the SDK's msgspec reader, with lines described, not quoted.

The SDK's readers put a whole malformed input line into the log and into the exception
text (`Unable to parse line as JSON: <line>`, `Line is missing required … key(s): <message>`),
and from there it would reach `sync_runs.error_text`, the status report, the alert and
Meltano's log. A line of ours is a record with guest contacts, door codes and wifi
passwords, so this reader names a line by what identifies it — its number, message type,
stream, natural key and size — and never by its content.
"""

from __future__ import annotations

import logging
import re
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.contrib.msgspec import decoder as sdk_decoder
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override  # typing.override from Python 3.12

from target_breezeway_postgres.mapping import MAPPINGS
from target_breezeway_postgres.units import decode_message

LOGGER = logging.getLogger("target_breezeway_postgres.reader")

# What a line that does not parse may still tell safely: its type and stream, when they
# are plain identifiers (never a value of the record).
_TYPE = re.compile(r'"type"\s*:\s*"(?P<value>[A-Z_]{1,32})"')
_STREAM = re.compile(r'"stream"\s*:\s*"(?P<value>[A-Za-z0-9_-]{1,64})"')
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Strings shorter than this are left in an error text even when a record holds them too:
# "true", "id" or a region code are not what needs hiding, and masking them garbles text.
MIN_WITHHELD_CHARS = 4
WITHHELD = "(value withheld)"
MAX_WITHHELD_VALUES = 10000


class LineKeepingReader(MsgSpecReader):
    """The SDK's msgspec reader, remembering the line being processed: a buffered record
    then keeps its compact input line (parsed again only for a reject), not its dict."""

    line: str | None = None
    line_number: int = 0
    message: dict | None = None
    #: STATE messages read, and the last one's value: the end-of-input judgement's evidence.
    states: int = 0
    last_state: t.Any = None

    @override
    def deserialize_json(self, line: str) -> dict:
        """The SDK's decoder (same numbers, same types), without its log line and error
        text that quote the line."""
        self.line = line
        self.line_number += 1
        self.message = None
        try:
            message = sdk_decoder.decode(line)
        except msgspec.DecodeError as error:
            message = self._lenient(line, error)
        if not isinstance(message, dict):
            raise InvalidInputLine(f"{self.describe()}: not a JSON object")
        self.message = message
        if message.get("type") == "STATE":
            self.states += 1
            self.last_state = message.get("value")
        return message

    def _lenient(self, line: str, error: msgspec.DecodeError) -> t.Any:
        """A line msgspec refuses that is still JSON the standard library reads (escapes of
        lone UTF-16 surrogates, which some producers write): decoded, with a warning."""
        try:
            message = decode_message(line)
        except ValueError:
            raise InvalidInputLine(f"{self.describe()}: not valid JSON ({error})") from None
        LOGGER.warning("%s: JSON with lone UTF-16 surrogate escapes, read leniently (such "
                       "characters are stored as U+FFFD)", self.describe())
        return message

    @override
    def assert_line_requires(  # type: ignore[override]  # an instance method: names the line
            self, line_dict: dict, requires: set[str]) -> None:
        """The SDK's check, naming the line instead of printing it."""
        if not isinstance(line_dict, dict):
            raise InvalidInputLine(f"{self.describe()}: expected an object, got "
                                   f"{type(line_dict).__name__}")
        missing = requires - set(line_dict)
        if missing:
            raise InvalidInputLine(
                f"{self.describe()}: missing required key(s) {', '.join(sorted(missing))}")

    def place(self, error: BaseException, text: str,
              quiet: tuple[type[BaseException], ...]) -> str:
        """An error's text with the line it happened at named (unless its type already
        says where: `quiet`) and every value of that line withheld."""
        if self.line is not None and not isinstance(error, quiet):
            text += f" (at {self.describe()})"
        return self.withhold_values(text)

    def describe(self) -> str:
        """`input line 12 (RECORD of stream 'tasks', key id=5, 812 bytes)`: enough to find
        the line, nothing of its content beyond identifiers."""
        if self.line is None:
            return "before the first input line"
        parts = [self._kind()]
        key = self._key()
        if key:
            parts.append(f"key {key}")
        parts.append(f"{len(self.line.encode('utf-8', 'surrogatepass'))} bytes")
        return f"input line {self.line_number} ({', '.join(parts)})"

    def _kind(self) -> str:
        message, line = self.message, self.line or ""
        if message is not None:
            kind, stream = message.get("type"), message.get("stream")
        else:
            kind = (m := _TYPE.search(line)) and m["value"]
            stream = (m := _STREAM.search(line)) and m["value"]
        kind_text = kind if isinstance(kind, str) and _IDENTIFIER.match(kind) else "message"
        if isinstance(stream, str) and _IDENTIFIER.match(stream):
            return f"{kind_text} of stream {stream!r}"
        return kind_text

    def _key(self) -> str:
        message = self.message or {}
        record, mapping = message.get("record"), MAPPINGS.get(str(message.get("stream")))
        if not (isinstance(record, dict) and mapping):
            return ""
        return ", ".join(f"{name}={_key_value(record.get(name))}"
                         for name in mapping.key_properties)

    def withhold_values(self, text: str) -> str:
        """Replace in `text` every string value of the current message (a net for error
        messages that quote a value, whatever raised them)."""
        if self.message is None:
            return text
        # Type and stream name the line (when they are identifiers); a schema is not data.
        named = {v for k in ("type", "stream")
                 if isinstance(v := self.message.get(k), str) and _IDENTIFIER.match(v)}
        data = [v for k, v in self.message.items() if k != "schema"]
        values = sorted((v for v in _strings(data)
                         if len(v) >= MIN_WITHHELD_CHARS and v not in named),
                        key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, WITHHELD)
        return text


def _key_value(value: t.Any) -> str:
    """A key as it identifies the record: integers as they are, anything else by type."""
    if type(value) is int:
        return str(value)
    return "(missing)" if value is None else f"({type(value).__name__})"


def _strings(value: t.Any, found: set[str] | None = None) -> set[str]:
    """Every string leaf of a JSON value, up to MAX_WITHHELD_VALUES of them."""
    found = set() if found is None else found
    stack = [value]
    while stack and len(found) < MAX_WITHHELD_VALUES:
        item = stack.pop()
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
