"""target-breezeway-postgres: Breezeway streams into our FK-constrained PostgreSQL schema.

An adapter from Singer messages to a load session (session.py), which does the work. A
STATE line on stdout means every record before it is committed. RECORD messages go to the
session as they came (their compact line kept for a reject) or through the configured
stream maps: the SDK's per-record sink work is skipped. The SDK hooks taken over here are
private names, pinned by tests/target/test_sdk_surface.py (why: docs/sdk-surface.md).
Meltano tells the target nothing when the tap fails (it closes stdin as after a success),
so with `region_code` set the end of input is judged from what the tap sent (runs.early_end).
"""

from __future__ import annotations

import time
import typing as t
import uuid
from functools import cached_property

from singer_sdk import Target
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from target_breezeway_postgres import redact, runs
from target_breezeway_postgres.database import engine_for
from target_breezeway_postgres.reader import LineKeepingReader
from target_breezeway_postgres.session import (
    LOADABLE,
    LoadSession,
    NotARecordError,
    TerminatedError,
    UnknownStreamError,
)
from target_breezeway_postgres.settings import (
    CONFIG_SCHEMA,
    NO_DATABASE,
    SessionSettings,
    connection_url,
    database_configured,
    secrets_of,
)
from target_breezeway_postgres.sinks import BreezewaySink, SkippedStreamSink

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink


class TargetBreezewayPostgres(Target):
    """Singer target for tap-breezeway streams (see docs/streams.md)."""

    name = "target-breezeway-postgres"
    default_sink_class = BreezewaySink
    message_reader_class = LineKeepingReader  # msgspec; lines described, never quoted
    max_parallelism = 1  # type: ignore[assignment]  # one transaction spans all sinks
    config_jsonschema = CONFIG_SCHEMA
    #: The longest a run goes without committing and passing the tap's STATE on.
    drain_every_s: float = 300.0

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if not database_configured(self.config):
            raise ConfigValidationError(NO_DATABASE, errors=[NO_DATABASE])
        self._drained_at = time.monotonic()
        # Stream maps and flattening live in the SDK's record path: keep it for them.
        self._lean = not (self.config.get("stream_maps") or self.config.get("flattening_enabled"))

    @cached_property
    def session(self) -> LoadSession:
        return LoadSession(engine_for(connection_url(self.config)),
                           SessionSettings.from_config(self.config),
                           self.config.get("run_id") or str(uuid.uuid4()),
                           self.config.get("region_code") or None, secrets_of(self.config))

    @property
    def run_id(self) -> str:
        return self.session.run_id

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """Called for each SCHEMA: the stream is announced to the session too."""
        self.session.announced.add(stream_name)
        if stream_name in LOADABLE:
            return BreezewaySink
        if self.config.get("unknown_stream_policy", "skip") == "error":
            raise UnknownStreamError(f"stream {stream_name!r} has no table; set "
                                     "unknown_stream_policy=skip to skip it")
        self.logger.warning("stream %r has no table: its records are skipped and counted",
                            stream_name)
        return SkippedStreamSink

    # --- Singer messages -> the session --------------------------------------------------

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        """The record to the session: as it came (its compact line kept for a reject), or
        through the configured stream maps and flattening (public mapper API). Private SDK
        hook: no public one sees the message's version or skips the per-record sink work."""
        reader = self.message_reader
        reader.assert_line_requires(message_dict, requires={"stream", "record"})
        stream, record = message_dict["stream"], message_dict["record"]
        if stream not in self.mapper.stream_maps and not self.sink_exists(stream):
            raise RecordsWithoutSchemaException(
                f"A record for stream {stream!r} was encountered before a corresponding "
                "schema. Check that the tap is sending a SCHEMA message first.")
        version = message_dict.get("version")
        if self._lean:
            self._add(stream, record, version,
                      reader.line if isinstance(reader, LineKeepingReader) else None)
        else:
            for stream_map in self.mapper.stream_maps[stream]:
                mapped = stream_map.transform(record)
                if mapped is not None:
                    self._add(stream_map.stream_alias, mapped, version)
        self._drain_when_due()

    def _add(self, stream: str, record: t.Any, version: int | None = None,
             line: str | None = None) -> None:
        try:
            self.session.add(stream, record, version, line)
        except NotARecordError as error:
            raise InvalidInputLine(str(error)) from None

    def _drain_when_due(self) -> None:
        """Commit and pass the tap's STATE on at least every `drain_every_s`, so a long run's
        progress survives a crash (the SDK drains on its own timer likewise)."""
        if time.monotonic() - self._drained_at >= self.drain_every_s:
            self.drain_all()

    @override
    def _write_state_message(self, state: dict) -> None:
        """The SDK writes the tap's latest STATE after a drain: everything before it is
        committed first. Private SDK hook: `drain_all` is final, and our sinks hold no
        records for a drain to wait on."""
        self.session.commit_point()
        super()._write_state_message(state)
        self._drained_at = time.monotonic()

    @override
    def process_endofpipe(self) -> None:
        self.session.commit_point()
        super().process_endofpipe()

    @override
    def _handle_termination(self, signum: int, frame: t.Any) -> None:
        """Never commit a half-read unit on SIGTERM: unwind (rollback), fail the run.
        Private SDK hook: the SDK's handler would drain (commit) what was read."""
        raise TerminatedError(f"terminated by signal {signum}")

    # --- the run -------------------------------------------------------------------------

    @override  # type: ignore[misc]  # final in the SDK: see the docstring
    def listen(self, file_input: t.IO[str] | None = None) -> None:
        """Run, then record it succeeded — or failed, on any error or when the input shows
        the tap stopped early. A tap failure is recorded, but the target exits 0: what it
        received is committed, and Meltano reports the extractor's own failure. An error is
        re-raised with its safe text only (`_error_text`), nothing chained. (`listen` is
        final in the SDK, which has no hook around a run: wrapped, calling it.)"""
        try:
            self._run(file_input)
        finally:
            self.session.close()

    def _run(self, file_input: t.IO[str] | None) -> None:
        failure: BaseException | None = None
        try:
            self.session.start()
            super().listen(file_input)
            early_end = self._early_end()
            self.session.reconcile(self._reconcile_skip(early_end))
        except BaseException as error:  # noqa: BLE001 -- recorded and re-raised below
            failure = error
        if failure is not None:
            text = self._error_text(failure)
            self.session.finish("failed", text)
            raise redact.with_message(failure, text) from None
        # Only with region_code set is this input one tap run of one region (a file piped
        # in by hand need not carry STATE): then an early end fails the run.
        incomplete = early_end if self.session.region_code is not None else None
        self.session.finish("failed" if incomplete else "succeeded", incomplete)

    def _reconcile_skip(self, early_end: str | None) -> str | None:
        if early_end or not self._lean:
            return f"not judged: {early_end or 'the target applies stream maps to records'}"
        return None

    def _early_end(self) -> str | None:
        session, reader = self.session, self.message_reader
        states = reader.states if isinstance(reader, LineKeepingReader) else 0
        last = reader.last_state if isinstance(reader, LineKeepingReader) else None
        return runs.early_end(states, last, session.open_versions(),
                              session.crawl_log.unfinished(), sum(session.tallies.read.values()))

    def _error_text(self, error: BaseException) -> str:
        """The failed run's text: described, its input line named (never quoted)."""
        reader = self.message_reader
        text = redact.describe_error(error)
        if isinstance(reader, LineKeepingReader):
            text = reader.place(error, text, quiet=(InvalidInputLine, TerminatedError,
                                                    KeyboardInterrupt))
        return redact.safe_text(text, self.session.secrets)


if __name__ == "__main__":
    TargetBreezewayPostgres.cli()
