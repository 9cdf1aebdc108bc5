"""Singer message output: msgspec encoding, written in large chunks, flushed at STATE."""

from __future__ import annotations

import logging
import sys

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, StateMessage
from singer_sdk.singerlib.encoding.simple import Message

from tap_breezeway import records

logger = logging.getLogger(__name__)

#: What encoding one value can raise: a lone surrogate (UnicodeEncodeError, a ValueError),
#: nesting beyond the recursion limit, a type msgspec does not know.
_UNWRITABLE = (ValueError, TypeError, OverflowError, RecursionError, msgspec.EncodeError)

#: Bytes collected before one write to stdout.
CHUNK_BYTES = 1 << 16


class StateFlushingWriter(MsgSpecWriter):
    """Messages go out in ~64 KiB chunks, and at once at each STATE message.

    The SDK's msgspec writer flushes stdout after every message, and under
    `PYTHONUNBUFFERED=1` (set by some runners) `sys.stdout.buffer` has no buffer at all:
    either way one system call per record. Each call releases the GIL, and with the task
    worker threads running the main thread then waits to get it back: ~30 % of the main
    thread in a profile (bench/RESULTS.md). Our own buffer makes that once per chunk.

    STATE still leaves at once: a target can only commit (and Meltano only save) state
    that has arrived. The stream calls `flush` when it ends, even on an error, so no
    record stays behind in the buffer. stdout is looked up at each write (tests redirect it).

    A record with a value no JSON line can carry is written with that field null and a
    warning, not raised: the last guard of "one object never stops a region" (the tap's
    reading already repairs what it knows of, see decoding.py).
    """

    _pending: bytearray | None = None

    def write_message(self, message: Message) -> None:
        if self._pending is None:
            self._pending = bytearray()
        try:
            line = self.format_message(message)
        except _UNWRITABLE:
            if not isinstance(message, RecordMessage):
                raise
            line = self.format_message(self._writable(message))
        self._pending += line
        if isinstance(message, StateMessage) or len(self._pending) >= CHUNK_BYTES:
            self.flush()

    def _writable(self, message: RecordMessage) -> RecordMessage:
        """The record with each field that cannot be written alone set to null (logged)."""
        record = dict(message.record)
        for field, value in message.record.items():
            try:
                self.format_message(RecordMessage(stream=message.stream, record={field: value}))
            except _UNWRITABLE as error:
                record[field] = None
                logger.warning(
                    "%s %s: field %r cannot be written as JSON (%s); sent as null",
                    message.stream, records.describe_keys(record), field[:40],
                    type(error).__name__,
                )
        return RecordMessage(
            stream=message.stream, record=record, version=message.version,
            time_extracted=message.time_extracted,
        )

    def flush(self) -> None:
        """Write out every collected message."""
        if not self._pending:
            return
        chunk = memoryview(bytes(self._pending))
        self._pending.clear()
        stdout = sys.stdout.buffer
        # Unbuffered, stdout is the raw file: one write may take only part of a chunk.
        while chunk:
            written = stdout.write(chunk)
            if not written:
                raise OSError(f"stdout accepted none of {len(chunk)} pending bytes")
            chunk = chunk[written:]
        stdout.flush()
