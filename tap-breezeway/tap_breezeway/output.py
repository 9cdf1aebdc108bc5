"""Singer message output: msgspec encoding, written in large chunks, flushed at STATE."""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import StateMessage
from singer_sdk.singerlib.encoding.simple import Message

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
    """

    _pending: bytearray | None = None

    def write_message(self, message: Message) -> None:
        if self._pending is None:
            self._pending = bytearray()
        self._pending += self.format_message(message)
        if isinstance(message, StateMessage) or len(self._pending) >= CHUNK_BYTES:
            self.flush()

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
