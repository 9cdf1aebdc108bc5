"""A load session: Breezeway records in, committed load units out. Knows no Singer message.

Anything that loads Breezeway records uses it the same way — the Singer target (target.py
adapts Singer messages to these calls) and a webhook receiver alike:

    session = LoadSession(engine, settings, run_id, region_code)
    session.start()                       # connect, migrate, record the run's start
    session.add("tasks", record)          # convert into the open load unit
    session.activate_version("properties", 17)   # full-table version start / end
    session.commit_point()                # everything added so far is committed
    session.finish(early_end=None)        # reconcile, record the outcome
    session.close()

Records are converted on arrival and buffered in one load unit for all streams; a full
unit goes to the writer thread (loader.py), which commits it in one transaction, parents
first. Open rejects of a region are fed again before its first record. With `region_code`
set, records of another region are quarantined (they could relabel and retire another
region's rows). Deletions: complete crawls (the tap's `crawls` stream) are judged at the end
(reconcile.py).
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections import Counter, defaultdict
from functools import cached_property

import psycopg2
import sqlalchemy as sa

from target_breezeway_postgres import redact, rejects, runs
from target_breezeway_postgres.conversions import shape
from target_breezeway_postgres.database import Database, DatabaseUnavailableError, RetryPolicy
from target_breezeway_postgres.loader import BackgroundWriter, Loader, create_stage_tables
from target_breezeway_postgres.mapping import LOAD_ORDER, MAPPINGS
from target_breezeway_postgres.migrations import apply_migrations, quote_schema
from target_breezeway_postgres.reconcile import (
    CRAWLS_STREAM,
    BreakerLimits,
    CrawlLog,
    CrawlReportError,
    reconcile,
)
from target_breezeway_postgres.settings import SessionSettings
from target_breezeway_postgres.units import (
    REGION_CODE,
    ChildSetLimits,
    LoadUnit,
    Reject,
    StagedRow,
    VersionCompletion,
    convert_record,
    foreign_record,
)

LOGGER = logging.getLogger("target_breezeway_postgres.session")
PROGRESS_EVERY_SECONDS = 30.0

#: Streams of reports about the run (not rows of a table): read by the session itself.
REPORT_STREAMS = (CRAWLS_STREAM, runs.UPSTREAM_CALLS_STREAM)
#: The streams a session loads: each mapped table, and the tap's reports.
LOADABLE = frozenset({*MAPPINGS, *REPORT_STREAMS})


class UnknownStreamError(RuntimeError):
    """A stream with no table, under `unknown_stream_policy: error`."""


class TerminatedError(RuntimeError):
    """SIGTERM/SIGINT: the run stops, the open load unit is rolled back, runs are failed."""


class NotARecordError(ValueError):
    """A record that is not a JSON object: nothing of it can be keyed or quarantined."""


class LoadSession:
    """Records of every stream, buffered and written in units; the run's bookkeeping."""

    def __init__(self, engine: sa.Engine, settings: SessionSettings, run_id: str,
                 region_code: str | None = None, secrets: tuple[str, ...] = ()) -> None:
        self.engine = engine
        self.settings = settings
        self.run_id = run_id
        self.region_code = region_code
        self.secrets = secrets
        self.unit = LoadUnit()
        self.tallies = runs.RunTallies()
        self.skipped: Counter[str] = Counter()
        self.crawl_log = CrawlLog()
        self.upstream_calls: dict[tuple[str, str], runs.UpstreamCalls] = {}
        #: Streams the input announced (a SCHEMA): a child set read with calls of its own is
        #: replaced only when its stream and `crawls` are both in the input.
        self.announced: set[str] = set()
        self._refed_regions: set[str] = set()
        self._seen: dict[tuple[str, int], dict[str, set[int]]] = {}
        self._activations: defaultdict[str, set[int]] = defaultdict(set)
        self._started = time.monotonic()
        self._last_progress = self._started

    # --- the database --------------------------------------------------------------------

    @cached_property
    def database(self) -> Database:
        """Connected (and migrated) on first use: nothing connects before it is needed."""
        schema = self.settings.schema

        def prepare(connection: t.Any) -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"SET search_path TO {quote_schema(schema)}, public")
            create_stage_tables(connection)

        database = Database(self.engine, prepare, RetryPolicy(
            self.settings.db_retry_attempts, self.settings.db_retry_wait_s))
        database.retrying(lambda: apply_migrations(self.engine, schema), "applying migrations",
                          self.engine)
        return database

    @cached_property
    def writer(self) -> BackgroundWriter:
        return BackgroundWriter(Loader(self.database, self.run_id))

    @property
    def connected(self) -> bool:
        return "database" in self.__dict__

    def transact(self, work: t.Callable[[t.Any], t.Any], what: str) -> t.Any:
        """`work(cursor)` in one transaction of the session, once the writer (which shares
        it) is done with the unit in flight."""
        if "writer" in self.__dict__:
            self.writer.wait()
        return self.database.transaction(work, what)

    # --- records -------------------------------------------------------------------------

    def add(self, stream: str, record: t.Any, version: int | None = None,
            source: str | None = None) -> None:
        """Convert a record into the load unit (its raw `source` line kept for a reject);
        flush when the unit is full. Streams without a table are counted as skipped."""
        if stream not in LOADABLE:
            self.count_skipped(stream, record)
            return
        if not isinstance(record, dict):
            raise NotARecordError(f"RECORD of stream {stream!r} is not a JSON object")
        foreign = self._foreign_region(record)
        if foreign is not None:
            self.unit.add(stream, foreign_record(stream, record, str(self.region_code), foreign))
            self.tallies.read[(str(self.region_code), stream)] += 1
        elif stream == CRAWLS_STREAM:
            self._add_crawl_report(record)
        elif stream == runs.UPSTREAM_CALLS_STREAM:
            self._add_upstream_calls(record)
        else:
            self._add_row(stream, record, version, source)

    def _add_row(self, stream: str, record: dict, version: int | None,
                 source: str | None) -> None:
        mapping = MAPPINGS[stream]
        claimed = record.get("region_code")
        region_code = claimed if isinstance(claimed, str) and REGION_CODE.match(claimed) else None
        if region_code is not None and region_code not in self._refed_regions:
            self._refeed(region_code)
        if mapping.full_table and region_code and self.unit.completes(stream, region_code):
            self.flush()
        item = convert_record(mapping, record, source=source)
        if region_code is not None:
            self.tallies.read[(region_code, stream)] += 1
        if isinstance(item, StagedRow):
            self.crawl_log.saw(stream, item.region_code, item.key[0])
            if version is not None and mapping.full_table:
                seen = self._seen.setdefault((stream, version), {})
                seen.setdefault(item.region_code, set()).add(item.key[0])
        self.unit.add(stream, item)
        if self.unit.size >= self.settings.batch_size_rows:
            self.flush(keep_open_family=True)

    def _foreign_region(self, record: dict) -> str | None:
        """The reason a record cannot belong to this run: with `region_code` set, a record
        claiming another region (a stray TAP_BREEZEWAY_REGION_CODE in `.env` would relabel
        another environment's data, and a full-table version would then retire the other
        region's rows). None: it may load."""
        if self.region_code is None:
            return None
        claimed = record.get("region_code")
        if claimed == self.region_code:
            return None
        shown = claimed if isinstance(claimed, str) and REGION_CODE.match(claimed) else (
            shape(claimed))
        return (f"foreign_region: the record says region {shown!s}, this run loads region "
                f"{self.region_code} (target setting region_code)")

    def _add_crawl_report(self, record: dict) -> None:
        """A `crawls` record: kept for the end-of-run reconcile, or quarantined if malformed."""
        try:
            self.crawl_log.add_report(record)
        except CrawlReportError as error:
            region = record.get("region_code")
            key = {k: record.get(k) for k in ("region_code", "stream", "scope")}
            self.unit.add(CRAWLS_STREAM, Reject(
                CRAWLS_STREAM, region if isinstance(region, str) else None,
                {k: v if isinstance(v, str | int) else repr(v)[:40] for k, v in key.items()},
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
                {k: v if isinstance(v, str | int) else repr(v)[:40] for k, v in key.items()},
                f"invalid_record: {error}", record))
            return
        self.upstream_calls[(usage.region_code, usage.stream)] = usage

    def child_set_limits(self) -> ChildSetLimits:
        """Which child sets the next unit must not replace: children read with calls of their
        own, where a call failed (crawls says so) or where the run could not say it (the
        stream or `crawls` is not in this run's input, so a missing set proves nothing)."""
        unreplaced = frozenset(
            m.stream for m in LOAD_ORDER if m.fetched_per_parent
            and (m.stream not in self.announced or CRAWLS_STREAM not in self.announced))
        return ChildSetLimits(unreplaced, frozenset(self.crawl_log.unread_children),
                              frozenset(self.crawl_log.unread_regions))

    def _refeed(self, region_code: str) -> None:
        """Open rejects of a region go into the load before its first new record, a page
        at a time, flushing full units in between: memory stays flat however many are open."""
        self._refed_regions.add(region_code)
        fed = 0
        for stream, records in rejects.refeed_pages(
                lambda work: self.transact(work, "re-feeding rejects"), self.run_id,
                region_code, self.settings.refeed_batch_size, self.settings.reject_max_attempts):
            for record in records:
                self.unit.add(stream, convert_record(MAPPINGS[stream], record, refed=True))
            fed += len(records)
            if self.unit.size >= self.settings.batch_size_rows:
                self.flush(keep_open_family=True)
        if fed:
            LOGGER.info("region %s: %d open rejects fed again", region_code, fed)

    def count_skipped(self, stream: str, record: t.Any) -> None:
        """A record of a stream without a table: counted for the log and, per region, for
        `sync_runs.records_skipped` (written when the run ends). Its region is the
        configured one, else the record's; a record with neither is only logged."""
        self.skipped[stream] += 1
        region_code = self.region_code
        if region_code is None and isinstance(record, dict):
            claimed = record.get("region_code")
            if isinstance(claimed, str) and REGION_CODE.match(claimed):
                region_code = claimed
        if region_code is not None:
            self.tallies.skipped[(region_code, stream)] += 1

    # --- versions, units, commits ---------------------------------------------------------

    def activate_version(self, stream: str, version: int) -> None:
        """Soft-delete on the END of a full-table version, never on its start marker. The
        soft delete runs at the end of the current unit's transaction, after its upserts."""
        mapping = MAPPINGS.get(stream)
        if mapping is None or not mapping.full_table:
            LOGGER.info("ACTIVATE_VERSION for stream %r ignored (no full-table table)", stream)
            return
        seen = self._seen.pop((stream, version), None)
        if seen is None and version not in self._activations[stream]:
            self._activations[stream].add(version)  # start of the version
            return
        self._activations[stream].discard(version)
        self.unit.completions.append(VersionCompletion(stream, version, seen or {}))

    def open_versions(self) -> list[str]:
        """Full-table streams whose version started and never completed."""
        return sorted(stream for stream, versions in self._activations.items() if versions)

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

    def commit_point(self) -> None:
        """Return once everything added so far is committed (or raise why it is not)."""
        self.flush()
        if "writer" in self.__dict__:
            self.writer.wait()

    def _log_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_SECONDS:
            return
        self._last_progress = now
        total = sum(self.tallies.read.values())
        LOGGER.info("progress: %d records read, %.0f records/s", total,
                    total / max(now - self._started, 1e-6))

    # --- the run -------------------------------------------------------------------------

    def start(self) -> None:
        """The run-level row of the configured region, committed before any record (connects
        and migrates now): a run that fails before its first record is still visible."""
        if self.region_code is None:
            return
        region = self.region_code
        self.transact(lambda cursor: runs.start_region_run(cursor, self.run_id, region),
                      "recording the run's start")
        LOGGER.info("run %s of region %s started", self.run_id, region)

    def reconcile(self, skip_reason: str | None) -> None:
        """Deletion candidates from this run's complete crawls, in one transaction after the
        last unit; `skip_reason` set: judge nothing, record why."""
        if not self.connected:
            return  # never connected: nothing was read
        limits = BreakerLimits(self.settings.breaker_ratio, self.settings.breaker_floor)
        self.transact(lambda cursor: reconcile(cursor, self.run_id, self.crawl_log, limits,
                                               skip_reason), "reconciling deletions")

    def finish(self, status: str, error_text: str | None) -> None:
        """Record the run's outcome (on a new connection if the one it failed on is gone)."""
        if error_text:
            region = f" of region {self.region_code}" if self.region_code else ""
            LOGGER.error("run %s%s failed: %s", self.run_id, region, error_text)
        if not self.connected and not self.tallies.skipped:
            return  # never connected and nothing to record
        writer_error = self.writer.join() if "writer" in self.__dict__ else None
        if writer_error is not None:
            LOGGER.error("writing a load unit failed: %s", redact.safe_text(
                redact.describe_error(writer_error), self.secrets))

        def record(cursor: t.Any) -> None:
            if error_text:
                runs.ensure_failed_rows(cursor, self.run_id, self.tallies, error_text)
            runs.write_skipped(cursor, self.run_id, self.tallies.skipped)
            runs.write_upstream_calls(cursor, self.run_id, list(self.upstream_calls.values()))
            runs.finish(cursor, self.run_id, status, error_text)

        try:
            self.database.transaction(record, "recording the run's end")
        except (DatabaseUnavailableError, psycopg2.Error) as error:
            LOGGER.error("run %s could not be recorded as %s: %s", self.run_id, status,
                         redact.safe_text(redact.describe_error(error), self.secrets))
            if status == "succeeded":
                raise
        self._log_totals(status)

    def _log_totals(self, status: str) -> None:
        for stream in sorted({stream for _, stream in self.tallies.pairs()}):
            loaded = sum(v for (_, s), v in self.tallies.loaded.items() if s == stream)
            rejected = sum(v for (_, s), v in self.tallies.rejected.items() if s == stream)
            LOGGER.info("%s: %d loaded, %d rejected", stream, loaded, rejected)
        for stream, count in sorted(self.skipped.items()):
            LOGGER.warning("%s: %d records skipped (no table)", stream, count)
        LOGGER.info("run %s %s in %.1fs", self.run_id, status, time.monotonic() - self._started)

    def close(self) -> None:
        """Hand back the connection and the engine's pool (the run is over)."""
        if self.connected:
            self.database.close()
        self.engine.dispose()
