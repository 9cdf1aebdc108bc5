"""Run bookkeeping in `sync_runs`: one row per (run_id, region_code, stream).

Counts are written inside each load unit's transaction, so a committed count always
matches committed data. Error text is made safe (redact.py) before it is stored or logged.

With the target's `region_code` setting, a run also has a run-level row (stream
`RUN_STREAM`, "*") for that region, written when the run starts: a run that fails before
the first record (wrong credentials kill the tap at its first call) still leaves a row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extras import execute_values

from target_breezeway_postgres.redact import scrub  # noqa: F401 -- where callers find it
from target_breezeway_postgres.units import REGION_CODE

#: `sync_runs.stream` of the run-level row: the run of one region as a whole.
RUN_STREAM = "*"
#: The tap's stream of API calls per stream and run (docs/streams.md).
UPSTREAM_CALLS_STREAM = "upstream_calls"


@dataclass
class RunTallies:
    """Cumulative counts of this run per (region_code, stream)."""

    read: Counter[tuple[str, str]] = field(default_factory=Counter)
    loaded: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    soft_deleted: Counter[tuple[str, str]] = field(default_factory=Counter)
    revived: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    written: set[tuple[str, str]] = field(default_factory=set)

    def add_flush(self, result: Any) -> None:
        """Add one committed unit's counts (a loader.FlushResult)."""
        self.loaded.update(result.loaded)
        self.rejected.update({k: v for k, v in result.rejected.items() if k[0] is not None})
        self.soft_deleted.update(result.soft_deleted)
        self.revived.update(result.revived)

    def pairs(self) -> set[tuple[str, str]]:
        return (set(self.read) | set(self.loaded) | set(self.rejected) | set(self.soft_deleted)
                | set(self.revived))


def write_tallies(cursor: Any, run_id: str, tallies: RunTallies, read: Counter[Any],
                  pending: Any = None) -> None:
    """Upsert this run's rows with the cumulative counts (regions are registered first):
    the committed ones in `tallies` plus `pending`, the FlushResult of the unit being
    written (added to `tallies` only once it is committed: its transaction may be run
    again). `read` is a snapshot of `tallies.read` taken when the unit was closed: the
    reading thread goes on counting while a unit is written."""
    counts = {name: Counter(getattr(tallies, name)) for name in
              ("loaded", "rejected", "soft_deleted", "revived")}
    if pending is not None:
        counts["loaded"].update(pending.loaded)
        counts["rejected"].update({k: v for k, v in pending.rejected.items() if k[0] is not None})
        counts["soft_deleted"].update(pending.soft_deleted)
        counts["revived"].update(pending.revived)
    # Not tallies.pairs(): the reading thread goes on adding to tallies.read meanwhile.
    pairs = set(read).union(*counts.values())
    rows = [
        (run_id, region, stream, read[(region, stream)],
         *(counts[name][(region, stream)]
           for name in ("loaded", "rejected", "soft_deleted", "revived")))
        for region, stream in sorted(pairs)
    ]
    if not rows:
        return
    execute_values(
        cursor,
        "INSERT INTO sync_runs AS r (run_id, region_code, stream, records_read, "
        "records_loaded, records_rejected, rows_soft_deleted, rows_revived) "
        "SELECT v.run_id, v.region_code, v.stream, v.n_read, v.n_loaded, v.n_rejected, "
        "v.n_deleted, v.n_revived "
        "FROM (VALUES %s) AS v (run_id, region_code, stream, n_read, n_loaded, n_rejected, "
        "n_deleted, n_revived) "
        "JOIN regions g ON g.region_code = v.region_code "
        "ON CONFLICT (run_id, region_code, stream) DO UPDATE SET "
        "records_read = EXCLUDED.records_read, records_loaded = EXCLUDED.records_loaded, "
        "records_rejected = EXCLUDED.records_rejected, "
        "rows_soft_deleted = EXCLUDED.rows_soft_deleted, rows_revived = EXCLUDED.rows_revived",
        rows,
        template="(%s, %s, %s, %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint)",
    )
    tallies.written.update((region, stream) for _, region, stream, *_ in rows)


def write_skipped(cursor: Any, run_id: str, skipped: Counter[tuple[str, str]]) -> None:
    """Rows of the streams without a table: records read and skipped, per region. Written
    when the run ends (nothing else of theirs goes into a load unit); their regions are
    registered like regions first seen in records."""
    rows = [(run_id, region, stream, count) for (region, stream), count in sorted(skipped.items())]
    if not rows:
        return
    execute_values(
        cursor,
        "INSERT INTO regions (region_code, region_name) VALUES %s "
        "ON CONFLICT (region_code) DO NOTHING",
        sorted({(region, region) for _, region, _, _ in rows}),
    )
    execute_values(
        cursor,
        "INSERT INTO sync_runs AS r (run_id, region_code, stream, records_read, "
        "records_skipped) VALUES %s ON CONFLICT (run_id, region_code, stream) DO UPDATE SET "
        "records_read = EXCLUDED.records_read, records_skipped = EXCLUDED.records_skipped",
        [(*row, row[3]) for row in rows],
        template="(%s, %s, %s, %s::bigint, %s::bigint)",
    )


def finish(cursor: Any, run_id: str, status: str, error_text: str | None) -> None:
    """Close this run's rows: succeeded, or failed with the (scrubbed) error."""
    cursor.execute(
        "UPDATE sync_runs SET status = %s, finished_at = now(), error_text = %s "
        "WHERE run_id = %s AND status = 'running'",
        (status, error_text, run_id),
    )


def ensure_failed_rows(cursor: Any, run_id: str, tallies: RunTallies, error_text: str) -> None:
    """A run that failed before its first commit still leaves a `failed` row per stream."""
    rows = [(run_id, region, stream, error_text) for region, stream in sorted(tallies.pairs())]
    if rows:
        execute_values(
            cursor,
            "INSERT INTO sync_runs (run_id, region_code, stream, status, finished_at, "
            "error_text) SELECT v.run_id, v.region_code, v.stream, 'failed', now(), v.err "
            "FROM (VALUES %s) AS v (run_id, region_code, stream, err) "
            "JOIN regions g ON g.region_code = v.region_code "
            "ON CONFLICT (run_id, region_code, stream) DO NOTHING",
            rows,
        )


def start_region_run(cursor: Any, run_id: str, region_code: str) -> None:
    """The run-level row, `running`, committed before any input is read. The region is
    registered if new (like regions first seen in records) and active from its first run on,
    unless it was retired. A reused run id starts over."""
    cursor.execute(
        "INSERT INTO regions (region_code, region_name) VALUES (%s, %s) "
        "ON CONFLICT (region_code) DO UPDATE SET is_active = true, updated_at = now() "
        "WHERE NOT regions.is_active AND regions.retired_at IS NULL",
        (region_code, region_code),
    )
    cursor.execute(
        "INSERT INTO sync_runs (run_id, region_code, stream) VALUES (%s, %s, %s) "
        "ON CONFLICT (run_id, region_code, stream) DO UPDATE SET status = 'running', "
        "started_at = now(), finished_at = NULL, error_text = NULL",
        (run_id, region_code, RUN_STREAM),
    )


def interrupted_streams(state: Any) -> list[str]:
    """Streams whose bookmark in a STATE value still has SDK progress markers.

    singer-sdk taps finalize progress markers when a stream's sync completes, so markers in
    the last STATE of the input mean the tap stopped inside that stream.
    """
    bookmarks = state.get("bookmarks") if isinstance(state, dict) else None
    if not isinstance(bookmarks, dict):
        return []
    return sorted(
        stream for stream, bookmark in bookmarks.items()
        if isinstance(bookmark, dict) and _has_progress_markers(bookmark)
    )


def _has_progress_markers(bookmark: dict[str, Any]) -> bool:
    partitions = bookmark.get("partitions")
    parts = partitions if isinstance(partitions, list) else []
    return bool(bookmark.get("progress_markers")) or any(
        isinstance(part, dict) and part.get("progress_markers") for part in parts
    )


HINT = "the extractor failed or was stopped; its own error is in the meltano run log"


def early_end(state_messages: int, last_state: Any, open_versions: list[str],
              unfinished_crawls: list[str], records_read: int) -> str | None:
    """Why a tap's output ended before the tap completed, or None when it looks complete.

    A singer-sdk tap writes STATE at the end of every stream, closes a full-table version
    and clears its progress markers when a stream completes; tap-breezeway ends each
    full-window crawl with a report. A tap that fails between two STATE messages with
    nothing left open looks complete: such a run fails only in Meltano's exit code and log.
    """
    if state_messages == 0:
        return (f"the tap's output ended before its first STATE message ({records_read} "
                f"records read): {HINT}")
    if open_versions:
        return (f"the tap's output ended inside full-table stream(s) "
                f"{', '.join(open_versions)} (version started, never completed): {HINT}")
    if unfinished_crawls:
        return (f"the tap's crawl of {', '.join(unfinished_crawls)} reported complete parts "
                f"but never its end: {HINT}")
    interrupted = interrupted_streams(last_state)
    if interrupted:
        return (f"the tap's last STATE has unfinished stream(s) {', '.join(interrupted)} "
                f"(progress markers): {HINT}")
    return None


@dataclass(frozen=True)
class UpstreamCalls:
    """What the tap reported it spent for one stream in this run (`upstream_calls`)."""

    region_code: str
    stream: str
    calls: int
    properties_listed: int | None = None
    properties_called: int | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> UpstreamCalls:
        """Raise ValueError naming the field that does not follow docs/streams.md."""
        region, stream = record.get("region_code"), record.get("stream")
        if not (isinstance(region, str) and REGION_CODE.match(region)):
            raise ValueError("upstream_calls record: region_code must be a region code")
        if not isinstance(stream, str) or not stream:
            raise ValueError("upstream_calls record: stream must be a stream name")
        counts = {name: record.get(name) for name in
                  ("calls", "properties_listed", "properties_called")}
        for name, value in counts.items():
            if value is None and name != "calls":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
                raise ValueError(f"upstream_calls record of {stream}: {name} must be a count")
        return cls(region, stream, **counts)


def write_upstream_calls(cursor: Any, run_id: str, usages: list[UpstreamCalls]) -> None:
    """The calls each stream made, on the run's row of that stream (created if the stream
    loaded nothing)."""
    if not usages:
        return
    execute_values(
        cursor,
        "INSERT INTO sync_runs AS r (run_id, region_code, stream, api_calls, "
        "properties_listed, properties_called) "
        "SELECT v.run_id, v.region_code, v.stream, v.calls, v.listed, v.called "
        "FROM (VALUES %s) AS v (run_id, region_code, stream, calls, listed, called) "
        "JOIN regions g ON g.region_code = v.region_code "
        "ON CONFLICT (run_id, region_code, stream) DO UPDATE SET "
        "api_calls = EXCLUDED.api_calls, properties_listed = EXCLUDED.properties_listed, "
        "properties_called = EXCLUDED.properties_called",
        [(run_id, u.region_code, u.stream, u.calls, u.properties_listed, u.properties_called)
         for u in usages],
        template="(%s, %s, %s, %s::bigint, %s::integer, %s::integer)",
    )
