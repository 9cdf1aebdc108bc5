"""Run bookkeeping in `sync_runs`: one row per (run_id, region_code, stream).

Counts are written inside each load unit's transaction, so a committed count always
matches committed data. Error text is scrubbed of secrets before it is stored or logged.

With the target's `region_code` setting, a run also has a run-level row (stream
`RUN_STREAM`, "*") for that region, written when the run starts: a run that fails before
the first record (wrong credentials kill the tap at its first call) still leaves a row.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extras import execute_values

from target_breezeway_postgres.units import REGION_CODE

#: `sync_runs.stream` of the run-level row: the run of one region as a whole.
RUN_STREAM = "*"
#: The tap's stream of API calls per stream and run (docs/streams.md).
UPSTREAM_CALLS_STREAM = "upstream_calls"

SECRET_PATTERNS = (
    # user:password@ in URLs
    (re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?P<post>@)", re.I),
     r"\g<pre>***\g<post>"),
    # key=value / key: value / "key": "value" for secret-looking keys
    (re.compile(r"(?P<pre>[\"']?\b(?:password|passwd|pwd|client_secret|secret|"
                r"access_token|refresh_token|token|api_key)\b[\"']?\s*[:=]\s*[\"']?)"
                r"[^\"'\s,&}]+", re.I),
     r"\g<pre>***"),
    # Authorization headers and bare JWTs
    (re.compile(r"\b(?P<pre>(?:JWT|Bearer)\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\g<pre>***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "***"),
)


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords, tokens and URL credentials; also any configured secret value."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class RunTallies:
    """Cumulative counts of this run per (region_code, stream)."""

    read: Counter[tuple[str, str]] = field(default_factory=Counter)
    loaded: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    soft_deleted: Counter[tuple[str, str]] = field(default_factory=Counter)
    revived: Counter[tuple[str, str]] = field(default_factory=Counter)
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


def write_tallies(cursor: Any, run_id: str, tallies: RunTallies, read: Counter[Any]) -> None:
    """Upsert this run's rows with the cumulative counts (regions are registered first).
    `read` is a snapshot of `tallies.read` taken when the unit was closed: the reading
    thread goes on counting while a unit is written."""
    # Not tallies.pairs(): the reading thread goes on adding to tallies.read meanwhile.
    pairs = (set(read) | set(tallies.loaded) | set(tallies.rejected)
             | set(tallies.soft_deleted) | set(tallies.revived))
    rows = [
        (run_id, region, stream, read[(region, stream)], tallies.loaded[(region, stream)],
         tallies.rejected[(region, stream)], tallies.soft_deleted[(region, stream)],
         tallies.revived[(region, stream)])
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
    registered if new (like regions first seen in records). A reused run id starts over."""
    cursor.execute(
        "INSERT INTO regions (region_code, region_name) VALUES (%s, %s) "
        "ON CONFLICT (region_code) DO NOTHING",
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
