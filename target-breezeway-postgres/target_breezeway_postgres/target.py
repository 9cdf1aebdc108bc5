"""target-breezeway-postgres: Breezeway streams into our FK-constrained PostgreSQL schema.

The schema is ours (sql/ migrations, applied at start), not derived from SCHEMA messages.
Records of all streams share one load unit written in one transaction, parents first;
a STATE line on stdout means every record before it is committed (`_write_state_message`
flushes and waits for the writer thread first).

Records take a lean path: the raw record goes straight into the load unit, skipping the
SDK's per-record work (validation is off anyway; metadata columns, sink bookkeeping and
per-record metrics are not used). With `stream_maps` or flattening configured, records
go through the SDK's path and its sinks instead, so those capabilities keep working.

With `region_code` configured, the run of that region is recorded from its start (a
run-level `sync_runs` row), so a run whose tap dies before any record is still visible.
Meltano 4.4 tells the target nothing when the tap fails: it closes the target's stdin
exactly as after a successful tap (no signal). The end of input is therefore judged from
what the tap sent (see `_early_end`).
"""

from __future__ import annotations

import time
import typing as t
import uuid
from collections import Counter, defaultdict
from functools import cached_property

import sqlalchemy as sa
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from sqlalchemy.engine import URL, make_url

from target_breezeway_postgres import rejects, runs
from target_breezeway_postgres.loader import BackgroundWriter, Loader
from target_breezeway_postgres.mapping import LOAD_ORDER, MAPPINGS
from target_breezeway_postgres.migrations import apply_migrations, quote_schema
from target_breezeway_postgres.reconcile import (
    CRAWLS_STREAM,
    BreakerLimits,
    CrawlLog,
    CrawlReportError,
    reconcile,
)
from target_breezeway_postgres.sinks import BreezewaySink, SkippedStreamSink
from target_breezeway_postgres.units import (
    REGION_CODE,
    ChildSetLimits,
    LoadUnit,
    Reject,
    StagedRow,
    VersionCompletion,
    convert_record,
)

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

PROGRESS_EVERY_SECONDS = 30.0
#: Streams of reports about the run (not rows of a table): read by the target itself.
REPORT_STREAMS = (CRAWLS_STREAM, runs.UPSTREAM_CALLS_STREAM)
DEFAULT_BATCH_SIZE_ROWS = 20000


class UnknownStreamError(RuntimeError):
    """A stream with no table, under `unknown_stream_policy: error`."""


class TerminatedError(RuntimeError):
    """SIGTERM/SIGINT: the run stops, the open load unit is rolled back, runs are failed."""


def connection_url(config: t.Mapping[str, t.Any]) -> str:
    """The SQLAlchemy URL: `sqlalchemy_url`, else host/port/user/..., else embedded."""
    if config.get("sqlalchemy_url"):
        url = make_url(config["sqlalchemy_url"])
    elif config.get("host"):
        url = URL.create(
            "postgresql+psycopg2",
            username=config.get("user"),
            password=config.get("password"),
            host=config["host"],
            port=config.get("port") or 5432,
            database=config.get("database") or "postgres",
        )
    else:
        from target_breezeway_postgres import embedded

        url = make_url(embedded.embedded_url(dict(config)))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    if config.get("sslmode"):
        url = url.update_query_dict({"sslmode": config["sslmode"]})
    return url.render_as_string(hide_password=False)


class LineKeepingReader(MsgSpecReader):
    """The SDK's msgspec reader, remembering the line being processed: a buffered record
    then keeps its compact input line (parsed again only for a reject), not its dict."""

    line: str | None = None

    def deserialize_json(self, line: str) -> dict:
        self.line = line
        return super().deserialize_json(line)


class TargetBreezewayPostgres(Target):
    """Singer target for tap-breezeway streams (see docs/streams.md)."""

    name = "target-breezeway-postgres"
    default_sink_class = BreezewaySink
    # msgspec parses lines much faster than json (the SDK's msgspec extra).
    message_reader_class = LineKeepingReader
    # One transaction spans all sinks; parallel drains would break FK order.
    max_parallelism = 1  # type: ignore[assignment]

    config_jsonschema = th.PropertiesList(
        th.Property("sqlalchemy_url", th.StringType, secret=True, title="SQLAlchemy URL",
                    description="postgresql+psycopg2://user:password@host:port/db; "
                    "overrides host/port/user/password/database."),
        th.Property("host", th.StringType, title="Host", description="PostgreSQL host."),
        th.Property("port", th.IntegerType, default=5432, title="Port",
                    description="PostgreSQL port."),
        th.Property("user", th.StringType, title="User", description="PostgreSQL user."),
        th.Property("password", th.StringType, secret=True, title="Password",
                    description="PostgreSQL password."),
        th.Property("database", th.StringType, title="Database",
                    description="Database name (default postgres)."),
        th.Property("sslmode", th.StringType, title="SSL mode",
                    description="libpq sslmode: disable, require, verify-full, ..."),
        th.Property("schema", th.StringType, default="api_integrations", title="Schema",
                    description="Schema holding our tables; migrations are applied at start."),
        th.Property("batch_size_rows", th.IntegerType, default=DEFAULT_BATCH_SIZE_ROWS,
                    title="Load unit size",
                    description="Records buffered (all streams together) per transaction; "
                    "bounds memory."),
        th.Property("unknown_stream_policy", th.StringType, default="skip",
                    allowed_values=["skip", "error"], title="Unknown stream policy",
                    description="A stream without a table: skip (logged and counted) or error."),
        th.Property("region_code", th.StringType(pattern="^([a-z0-9_]{1,32})?$"),
                    title="Region code",
                    description="The region this run loads (the tap's region_code). When set, "
                    "the run is recorded for it from the start, so a run that fails before "
                    "any record is still shown failed by breezeway-status. Empty: not set."),
        th.Property("reconcile_breaker_ratio", th.NumberType(minimum=0, maximum=1),
                    default=0.05, title="Reconcile breaker ratio",
                    description="A reconcile whose deletion candidates exceed this share of a "
                    "region's live rows (and the floor below) retires nothing and is recorded "
                    "as tripped: a partial crawl or an API change is likelier than a mass "
                    "deletion."),
        th.Property("reconcile_breaker_floor", th.IntegerType(minimum=0), default=20,
                    title="Reconcile breaker floor",
                    description="Up to this many deletion candidates never trip the breaker "
                    "(small regions)."),
        th.Property("run_id", th.StringType, title="Run id",
                    description="Identifies this run in sync_runs/load_rejects; "
                    "default: a new UUID."),
        th.Property("embedded_data_dir", th.StringType, title="Embedded data directory",
                    description="Where the embedded PostgreSQL keeps its data when no "
                    "database is configured."),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.run_id: str = self.config.get("run_id") or str(uuid.uuid4())
        self.region_code: str | None = self.config.get("region_code") or None
        self._state_messages = 0
        self._last_state: t.Any = None
        self.unit = LoadUnit()
        self.tallies = runs.RunTallies()
        self.skipped: Counter[str] = Counter()
        self.current_version: int | None = None
        self._batch_size = self.config.get("batch_size_rows") or DEFAULT_BATCH_SIZE_ROWS
        # Stream maps and flattening live in the SDK's record path: keep it for them.
        self._lean = not (self.config.get("stream_maps") or self.config.get("flattening_enabled"))
        self._refed_regions: set[str] = set()
        self._seen: dict[tuple[str, int], dict[str, set[int]]] = {}
        self._activations: defaultdict[str, set[int]] = defaultdict(set)
        self.crawl_log = CrawlLog()
        self.upstream_calls: dict[tuple[str, str], runs.UpstreamCalls] = {}
        self._started = time.monotonic()
        self._last_progress = self._started

    # --- database ------------------------------------------------------------------------

    @cached_property
    def engine(self) -> sa.Engine:
        return sa.create_engine(connection_url(self.config), pool_size=1, max_overflow=1)

    @cached_property
    def loader(self) -> Loader:
        """Connect and migrate on first use (not at construction: `--about` needs no DB)."""
        schema = self.config.get("schema") or "api_integrations"
        apply_migrations(self.engine, schema)
        self._raw_connection = self.engine.raw_connection()
        connection = self._raw_connection.driver_connection
        with connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {quote_schema(schema)}, public")
        connection.commit()
        return Loader(connection, schema, self.run_id)

    @cached_property
    def writer(self) -> BackgroundWriter:
        return BackgroundWriter(self.loader)

    def _secrets(self) -> tuple[str, ...]:
        return tuple(str(self.config.get(k) or "") for k in ("password", "sqlalchemy_url"))

    # --- sinks ---------------------------------------------------------------------------

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name in MAPPINGS or stream_name in REPORT_STREAMS:
            return BreezewaySink
        if self.config.get("unknown_stream_policy", "skip") == "error":
            raise UnknownStreamError(
                f"stream {stream_name!r} has no table (known: {', '.join(MAPPINGS)}); "
                "set unknown_stream_policy=skip to skip it"
            )
        self.logger.warning("stream %r has no table: its records are skipped and counted",
                            stream_name)
        return SkippedStreamSink

    def count_skipped(self, stream_name: str) -> None:
        self.skipped[stream_name] += 1

    # --- records, versions, flushes ------------------------------------------------------

    def _process_record_message(self, message_dict: dict) -> None:
        """Lean path: the raw record goes to the load unit, with its line and version."""
        if not self._lean:
            self.current_version = message_dict.get("version")
            super()._process_record_message(message_dict)
            return
        self._assert_line_requires(message_dict, requires={"stream", "record"})
        stream = message_dict["stream"]
        if stream not in self.mapper.stream_maps:
            self._assert_sink_exists(stream)  # raises: a record before its SCHEMA
        if stream in MAPPINGS or stream in REPORT_STREAMS:
            self.add_record(stream, message_dict["record"], message_dict.get("version"),
                            self.message_reader.line)
        else:
            self.count_skipped(stream)
        self._handle_max_record_age()

    def add_record(self, stream: str, record: dict, version: int | None = None,
                   line: str | None = None) -> None:
        """Convert a record into the load unit; flush when the unit is full."""
        if not isinstance(record, dict):
            raise InvalidInputLine(f"RECORD of stream {stream!r} is not a JSON object")
        if stream == CRAWLS_STREAM:
            self._add_crawl_report(record)
            return
        if stream == runs.UPSTREAM_CALLS_STREAM:
            self._add_upstream_calls(record)
            return
        mapping = MAPPINGS[stream]
        region_code = record.get("region_code")
        known_region = region_code in self._refed_regions
        if not known_region and isinstance(region_code, str) and REGION_CODE.match(region_code):
            self._refeed(region_code)
            known_region = True
        if mapping.full_table and known_region and self.unit.completes(stream, region_code):
            self.flush()
        item = convert_record(mapping, record, source=line)
        if known_region:
            self.tallies.read[(region_code, stream)] += 1
        if isinstance(item, StagedRow):
            self.crawl_log.saw(stream, item.region_code, item.key[0])
        if version is not None and mapping.full_table and isinstance(item, StagedRow):
            seen = self._seen.setdefault((stream, version), {})
            seen.setdefault(item.region_code, set()).add(item.key[0])
        self.unit.add(stream, item)
        if self.unit.size >= self._batch_size:
            self.flush(keep_open_family=True)

    def _add_crawl_report(self, record: dict) -> None:
        """A `crawls` record: kept for the end-of-run reconcile, or quarantined if malformed."""
        try:
            self.crawl_log.add_report(record)
        except CrawlReportError as error:
            region = record.get("region_code")
            key = {k: record.get(k) for k in ("region_code", "stream", "scope")}
            self.unit.add(CRAWLS_STREAM, Reject(
                CRAWLS_STREAM, region if isinstance(region, str) else None,
                {k: v if isinstance(v, (str, int)) else repr(v)[:40] for k, v in key.items()},
                f"invalid_record: {error}", record))

    def _add_upstream_calls(self, record: dict) -> None:
        """An `upstream_calls` record: written to the run's sync_runs row at the end, or
        quarantined if malformed."""
        try:
            usage = runs.UpstreamCalls.from_record(record)
        except ValueError as error:
            region = record.get("region_code")
            key = {k: record.get(k) for k in ("region_code", "stream", "run_started_at")}
            self.unit.add(runs.UPSTREAM_CALLS_STREAM, Reject(
                runs.UPSTREAM_CALLS_STREAM, region if isinstance(region, str) else None,
                {k: v if isinstance(v, (str, int)) else repr(v)[:40] for k, v in key.items()},
                f"invalid_record: {error}", record))
            return
        self.upstream_calls[(usage.region_code, usage.stream)] = usage

    def child_set_limits(self) -> ChildSetLimits:
        """Which child sets the next unit must not replace: children read with calls of their
        own, where a call failed (crawls says so) or where the run could not say it (the
        stream or `crawls` is not in this run's input, so a missing set proves nothing)."""
        announced = self.mapper.stream_maps
        unreplaced = frozenset(
            m.stream for m in LOAD_ORDER if m.fetched_per_parent
            and (m.stream not in announced or CRAWLS_STREAM not in announced))
        return ChildSetLimits(unreplaced, frozenset(self.crawl_log.unread_children),
                              frozenset(self.crawl_log.unread_regions))

    def _refeed(self, region_code: str) -> None:
        """Open rejects of a region go into the unit before its first new record."""
        self._refed_regions.add(region_code)
        self.writer.wait()  # the connection is the writer's while a unit is in flight
        connection = self.loader.connection
        with connection.cursor() as cursor:
            open_rejects = rejects.open_rejects(cursor, region_code)
        connection.commit()
        for stream, record in open_rejects:
            self.unit.add(stream, convert_record(MAPPINGS[stream], record, refed=True))
        if open_rejects:
            self.logger.info("region %s: %d open rejects fed again", region_code,
                             len(open_rejects))

    def _process_activate_version_message(self, message_dict: dict) -> None:
        """Handled here, not per sink: the SDK's sink hook warns about _sdc columns we
        do not use, and a version completion concerns the whole load unit."""
        self._assert_line_requires(message_dict, requires={"stream", "version"})
        stream = message_dict["stream"]
        if stream in MAPPINGS:
            self.activate_version(stream, message_dict["version"])
        else:
            self.logger.info("ACTIVATE_VERSION for stream %r without a table ignored", stream)

    def activate_version(self, stream: str, version: int) -> None:
        """Soft-delete on the END of a full-table version, never on its start marker. The
        soft delete runs at the end of the current unit's transaction, after its upserts."""
        mapping = MAPPINGS[stream]
        if not mapping.full_table:
            self.logger.info("ACTIVATE_VERSION for incremental stream %s ignored", stream)
            return
        seen = self._seen.pop((stream, version), None)
        if seen is None and version not in self._activations[stream]:
            self._activations[stream].add(version)  # start of the version
            return
        self._activations[stream].discard(version)
        self.unit.completions.append(VersionCompletion(stream, version, seen or {}))

    def flush(self, keep_open_family: bool = False) -> None:
        """Hand the load unit to the writer (one transaction, parents first)."""
        if not self.unit:
            return
        carry = self.unit.split_open_family() if keep_open_family else LoadUnit()
        if self.unit:
            self.unit.child_limits = self.child_set_limits()
            self.writer.submit(self.unit, self.tallies, Counter(self.tallies.read))
        self.unit = carry
        self._log_progress()

    def _process_state_message(self, message_dict: dict) -> None:
        """Remembered for the end-of-input judgement: the tap's last STATE shows whether
        it completed its streams."""
        self._state_messages += 1
        self._last_state = message_dict.get("value")
        super()._process_state_message(message_dict)

    def _write_state_message(self, state: dict) -> None:
        """STATE only once every record before it is committed."""
        self.flush()
        if "writer" in self.__dict__:
            self.writer.wait()
        super()._write_state_message(state)

    def _log_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_SECONDS:
            return
        self._last_progress = now
        total = sum(self.tallies.read.values())
        self.logger.info("progress: %d records read, %.0f records/s", total,
                         total / max(now - self._started, 1e-6))

    # --- run lifecycle -------------------------------------------------------------------

    def process_endofpipe(self) -> None:
        self.flush()
        if "writer" in self.__dict__:
            self.writer.wait()
        super().process_endofpipe()

    def listen(self, file_input: t.IO[str] | None = None) -> None:
        """Run, then mark this run's sync_runs rows succeeded — or failed, on any error or
        when the input shows that the tap stopped early.

        A tap failure is recorded, but the target exits 0: everything it received is
        committed, and Meltano reports the extractor's own failure and exit code.
        """
        try:
            self._start_region_run()
            super().listen(file_input)
            early_end = self._early_end()
            self._reconcile(early_end)
        except BaseException as error:
            self._finish("failed", runs.scrub(f"{type(error).__name__}: {error}",
                                              self._secrets()))
            raise
        # Only with region_code set is this input one tap run of one region (a file piped
        # in by hand need not carry STATE): then an early end fails the run.
        incomplete = early_end if self.region_code is not None else None
        if incomplete:
            self._finish("failed", incomplete)
        else:
            self._finish("succeeded", None)

    def _start_region_run(self) -> None:
        """The run-level row of the configured region, committed before any input is read
        (connects and migrates now rather than at the first record)."""
        if self.region_code is None:
            return
        connection = self.loader.connection
        with connection.cursor() as cursor:
            runs.start_region_run(cursor, self.run_id, self.region_code)
        connection.commit()
        self.logger.info("run %s of region %s started", self.run_id, self.region_code)

    def _reconcile(self, early_end: str | None) -> None:
        """Deletion candidates from this run's complete crawls (reconcile.py), in one
        transaction after the last unit; judged only when the tap's input ended complete."""
        if "loader" not in self.__dict__:
            return  # never connected: nothing was read
        skip = None
        if early_end:
            skip = f"not judged: {early_end}"
        elif not self._lean:
            skip = "not judged: the target applies stream maps or flattening to records"
        limits = BreakerLimits(float(self.config.get("reconcile_breaker_ratio", 0.05)),
                               int(self.config.get("reconcile_breaker_floor", 20)))
        connection = self.loader.connection
        try:
            with connection.cursor() as cursor:
                reconcile(cursor, self.run_id, self.crawl_log, limits, skip)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise

    def _early_end(self) -> str | None:
        """Why the input ended before the tap completed, or None when it looks complete.

        A singer-sdk tap writes STATE at the end of every stream, sends a full-table
        version's closing ACTIVATE_VERSION at the stream's end and clears its progress
        markers once a stream completes. A tap that fails between two STATE messages with
        nothing left open cannot be told apart from one that finished: such a run shows
        succeeded here and failed only in Meltano's exit code and log.
        """
        hint = "the extractor failed or was stopped; its own error is in the meltano run log"
        if self._state_messages == 0:
            read = sum(self.tallies.read.values())
            return (f"the tap's output ended before its first STATE message ({read} "
                    f"records read): {hint}")
        open_versions = sorted(s for s, versions in self._activations.items() if versions)
        if open_versions:
            return (f"the tap's output ended inside full-table stream(s) "
                    f"{', '.join(open_versions)} (version started, never completed): {hint}")
        unfinished = self.crawl_log.unfinished()
        if unfinished:
            return (f"the tap's crawl of {', '.join(unfinished)} reported complete parts but "
                    f"never its end: {hint}")
        interrupted = runs.interrupted_streams(self._last_state)
        if interrupted:
            return (f"the tap's last STATE has unfinished stream(s) {', '.join(interrupted)} "
                    f"(progress markers): {hint}")
        return None

    def _finish(self, status: str, error_text: str | None) -> None:
        if error_text:
            region = f" of region {self.region_code}" if self.region_code else ""
            self.logger.error("run %s%s failed: %s", self.run_id, region, error_text)
        if "loader" not in self.__dict__:
            return  # never connected: nothing to record
        writer_error = self.writer.join() if "writer" in self.__dict__ else None
        if writer_error is not None:
            self.logger.error("writing a load unit failed: %s", runs.scrub(
                f"{type(writer_error).__name__}: {writer_error}", self._secrets()))
        connection = self.loader.connection
        connection.rollback()
        with connection.cursor() as cursor:
            if error_text:
                runs.ensure_failed_rows(cursor, self.run_id, self.tallies, error_text)
            runs.write_upstream_calls(cursor, self.run_id, list(self.upstream_calls.values()))
            runs.finish(cursor, self.run_id, status, error_text)
        connection.commit()
        self._log_totals(status)

    def _log_totals(self, status: str) -> None:
        streams = sorted({stream for _, stream in self.tallies.pairs()})
        for stream in streams:
            loaded = sum(v for (_, s), v in self.tallies.loaded.items() if s == stream)
            rejected = sum(v for (_, s), v in self.tallies.rejected.items() if s == stream)
            self.logger.info("%s: %d loaded, %d rejected", stream, loaded, rejected)
        for stream, count in sorted(self.skipped.items()):
            self.logger.warning("%s: %d records skipped (no table)", stream, count)
        self.logger.info("run %s %s in %.1fs", self.run_id, status,
                         time.monotonic() - self._started)

    def _handle_termination(self, signum: int, frame: t.Any) -> None:
        """Do not commit a half-read unit on SIGTERM: unwind (rollback), fail the run."""
        raise TerminatedError(f"terminated by signal {signum}")


if __name__ == "__main__":
    TargetBreezewayPostgres.cli()
