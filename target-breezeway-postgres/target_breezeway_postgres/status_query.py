"""Read the sync bookkeeping (`sync_runs`, `load_rejects`, `regions`) for `breezeway-status`.

Everything is aggregated in SQL: the report reads a few hundred rows whatever the length of
the history, so 90 days of runs for every region stay a fraction of a second. All queries
take the evaluation time `:now` as a bound value, so a report "as of" a past moment is
reproducible and rows started after it are ignored.

A *run* of a region is every `sync_runs` row sharing its `run_id`: it succeeded only when all
its streams succeeded, failed when any stream failed, and is running otherwise. The run-level
row (stream "*", written from the start of a run when the target knows its region) makes a
run visible even when it failed before its first record; its error, when it has one, is the
run's error (the per-stream rows of such a run repeat it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

# Reasons beyond this many (by count) are summed into one "(other reasons)" row, so a flood
# of distinct reject reasons cannot make the report unbounded.
MAX_REJECT_REASONS = 40


@dataclass(frozen=True)
class StreamStatus:
    """The latest state of one stream of one region."""

    region_code: str
    stream: str
    last_status: str
    last_started_at: datetime
    last_success_at: datetime | None
    duration_seconds: float | None
    records_read: int | None
    records_loaded: int | None
    records_rejected: int | None
    records_skipped: int | None
    last_error: str | None
    last_error_at: datetime | None
    open_rejects: int
    # API calls of the last successful run (the tap's `upstream_calls`; tasks: properties
    # listed and given task calls). None when not reported.
    api_calls: int | None = None
    properties_listed: int | None = None
    properties_called: int | None = None


@dataclass(frozen=True)
class RunSummary:
    """One run of one region: all its streams taken together."""

    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    error_text: str | None

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RegionStatus:
    """A region with its latest run, latest finished run and latest successful run."""

    region_code: str
    region_name: str
    is_active: bool
    last_run: RunSummary | None
    last_finished_run: RunSummary | None
    last_success: RunSummary | None
    open_rejects: int


@dataclass(frozen=True)
class RejectGroup:
    """Open (unresolved) rejects of one region and stream sharing a reason; `dead` of them
    were given up on (tried reject_max_attempts times, no longer fed again)."""

    region_code: str | None
    stream: str
    reason: str
    count: int
    dead: int
    last_seen_at: datetime | None


@dataclass(frozen=True)
class ReconcileStatus:
    """Deletions of one region and stream (v_reconcile_status): its latest full-window crawl,
    its last complete reconcile and the candidates still waiting for confirmation."""

    region_code: str
    stream: str
    last_full_crawl_status: str | None
    last_full_crawl_at: datetime | None
    last_full_crawl_note: str | None
    last_reconciled_at: datetime | None
    pending_candidates: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True)
class DailyRegionHistory:
    """One region's runs of one UTC day, for the charts."""

    region_code: str
    day: datetime
    runs: int
    failed_runs: int
    avg_duration_seconds: float | None
    max_duration_seconds: float | None
    records_loaded: int
    records_rejected: int


@dataclass(frozen=True)
class RegionStats:
    """Current row counts of a region's main tables (soft-deleted rows left out)."""

    region_code: str
    region_name: str
    properties: int
    reservations: int
    tasks: int
    people: int
    open_rejects: int


REGION_STATUS_SQL = """
WITH runs AS (
    SELECT region_code, run_id,
           min(started_at) AS started_at,
           max(finished_at) AS finished_at,
           CASE WHEN bool_or(status = 'failed') THEN 'failed'
                WHEN bool_or(status = 'running') THEN 'running'
                ELSE 'succeeded' END AS status,
           CASE WHEN bool_or(status = 'failed') THEN coalesce(
               max(error_text) FILTER (WHERE stream = '*' AND status = 'failed'),
               string_agg(stream || ': ' || coalesce(error_text, '(no error text recorded)'),
                          '; ' ORDER BY stream) FILTER (WHERE status = 'failed' AND stream <> '*'),
               '(no error text recorded)') END AS error_text
    FROM sync_runs
    WHERE started_at <= :now
    GROUP BY region_code, run_id
),
last_run AS (
    SELECT DISTINCT ON (region_code) * FROM runs
    ORDER BY region_code, started_at DESC, run_id DESC
),
last_finished AS (
    SELECT DISTINCT ON (region_code) * FROM runs WHERE status <> 'running'
    ORDER BY region_code, started_at DESC, run_id DESC
),
last_success AS (
    SELECT DISTINCT ON (region_code) * FROM runs
    WHERE status = 'succeeded' AND finished_at <= :now
    ORDER BY region_code, finished_at DESC, run_id DESC
),
open_rejects AS (
    SELECT region_code, count(*) AS open_rejects FROM load_rejects
    WHERE resolved_at IS NULL GROUP BY region_code
)
SELECT r.region_code, r.region_name, r.is_active,
       lr.run_id AS lr_run_id, lr.status AS lr_status, lr.started_at AS lr_started_at,
       lr.finished_at AS lr_finished_at, lr.error_text AS lr_error_text,
       lf.run_id AS lf_run_id, lf.status AS lf_status, lf.started_at AS lf_started_at,
       lf.finished_at AS lf_finished_at, lf.error_text AS lf_error_text,
       ls.run_id AS ls_run_id, ls.status AS ls_status, ls.started_at AS ls_started_at,
       ls.finished_at AS ls_finished_at, ls.error_text AS ls_error_text,
       coalesce(orj.open_rejects, 0) AS open_rejects
FROM regions r
LEFT JOIN last_run lr ON lr.region_code = r.region_code
LEFT JOIN last_finished lf ON lf.region_code = r.region_code
LEFT JOIN last_success ls ON ls.region_code = r.region_code
LEFT JOIN open_rejects orj ON orj.region_code = r.region_code
ORDER BY r.region_code
"""

STREAM_STATUS_SQL = """
WITH latest AS (
    SELECT DISTINCT ON (region_code, stream) region_code, stream, status, started_at
    FROM sync_runs WHERE started_at <= :now
    ORDER BY region_code, stream, started_at DESC, id DESC
),
success AS (
    SELECT DISTINCT ON (region_code, stream) region_code, stream, started_at, finished_at,
           records_read, records_loaded, records_rejected, records_skipped,
           api_calls, properties_listed, properties_called
    FROM sync_runs WHERE status = 'succeeded' AND finished_at <= :now
    ORDER BY region_code, stream, finished_at DESC, id DESC
),
failure AS (
    SELECT DISTINCT ON (region_code, stream) region_code, stream, started_at,
           coalesce(finished_at, started_at) AS failed_at, error_text
    FROM sync_runs WHERE status = 'failed' AND started_at <= :now
    ORDER BY region_code, stream, started_at DESC, id DESC
),
open_rejects AS (
    SELECT region_code, stream, count(*) AS open_rejects FROM load_rejects
    WHERE resolved_at IS NULL GROUP BY region_code, stream
)
SELECT l.region_code, l.stream, l.status AS last_status, l.started_at AS last_started_at,
       s.finished_at AS last_success_at,
       extract(epoch FROM s.finished_at - s.started_at)::float8 AS duration_seconds,
       s.records_read, s.records_loaded, s.records_rejected, s.records_skipped,
       -- An error is "last" only while no success came after it.
       CASE WHEN f.started_at > coalesce(s.started_at, '-infinity')
            THEN coalesce(f.error_text, '(no error text recorded)') END AS last_error,
       CASE WHEN f.started_at > coalesce(s.started_at, '-infinity')
            THEN f.failed_at END AS last_error_at,
       coalesce(o.open_rejects, 0) AS open_rejects,
       s.api_calls, s.properties_listed, s.properties_called
FROM latest l
LEFT JOIN success s ON s.region_code = l.region_code AND s.stream = l.stream
LEFT JOIN failure f ON f.region_code = l.region_code AND f.stream = l.stream
LEFT JOIN open_rejects o ON o.region_code = l.region_code AND o.stream = l.stream
ORDER BY l.region_code, l.stream
"""

REJECT_GROUPS_SQL = """
WITH grouped AS (
    SELECT region_code, stream, reason, count(*) AS n,
           count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead, max(last_seen_at) AS last_seen_at
    FROM load_rejects WHERE resolved_at IS NULL
    GROUP BY region_code, stream, reason
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY n DESC, region_code, stream, reason) AS rank
    FROM grouped
)
SELECT region_code, stream, reason, n, dead, last_seen_at, rank FROM ranked
WHERE rank <= :max_reasons
UNION ALL
SELECT NULL, '*', '(other reasons)', sum(n), sum(dead), max(last_seen_at), :max_reasons + 1
FROM ranked WHERE rank > :max_reasons HAVING count(*) > 0
ORDER BY rank
"""

HISTORY_SQL = """
WITH runs AS (
    SELECT region_code, run_id,
           min(started_at) AS started_at,
           max(finished_at) AS finished_at,
           bool_or(status = 'failed') AS failed,
           bool_and(status = 'succeeded') AS succeeded,
           sum(records_loaded) AS records_loaded,
           sum(records_rejected) AS records_rejected
    FROM sync_runs
    WHERE started_at >= :since AND started_at <= :now
    GROUP BY region_code, run_id
)
SELECT runs.region_code,
       date_trunc('day', runs.started_at AT TIME ZONE 'UTC') AS day,
       count(*) AS runs,
       count(*) FILTER (WHERE runs.failed) AS failed_runs,
       avg(extract(epoch FROM runs.finished_at - runs.started_at))
           FILTER (WHERE runs.succeeded)::float8 AS avg_duration_seconds,
       max(extract(epoch FROM runs.finished_at - runs.started_at))
           FILTER (WHERE runs.succeeded)::float8 AS max_duration_seconds,
       sum(runs.records_loaded)::bigint AS records_loaded,
       sum(runs.records_rejected)::bigint AS records_rejected
FROM runs
GROUP BY runs.region_code, day
ORDER BY runs.region_code, day
"""

REGION_STATS_SQL = """
SELECT r.region_code, r.region_name,
       (SELECT count(*) FROM properties p
         WHERE p.region_code = r.region_code AND p.deleted_at IS NULL) AS properties,
       (SELECT count(*) FROM reservations v
         WHERE v.region_code = r.region_code AND v.deleted_at IS NULL) AS reservations,
       (SELECT count(*) FROM tasks t
         WHERE t.region_code = r.region_code AND t.deleted_at IS NULL) AS tasks,
       (SELECT count(*) FROM people e
         WHERE e.region_code = r.region_code AND e.deleted_at IS NULL) AS people,
       (SELECT count(*) FROM load_rejects j
         WHERE j.region_code = r.region_code AND j.resolved_at IS NULL) AS open_rejects
FROM regions r
ORDER BY r.region_code
"""


def _run_from(row: dict[str, object], prefix: str) -> RunSummary | None:
    if row[f"{prefix}_run_id"] is None:
        return None
    return RunSummary(
        run_id=row[f"{prefix}_run_id"],
        status=row[f"{prefix}_status"],
        started_at=row[f"{prefix}_started_at"],
        finished_at=row[f"{prefix}_finished_at"],
        error_text=row[f"{prefix}_error_text"],
    )


def region_statuses(connection: Connection, now: datetime) -> list[RegionStatus]:
    """Every region (active or not) with its latest runs; regions never synced included."""
    rows = connection.execute(text(REGION_STATUS_SQL), {"now": now}).mappings()
    return [
        RegionStatus(
            region_code=row["region_code"],
            region_name=row["region_name"],
            is_active=row["is_active"],
            last_run=_run_from(row, "lr"),
            last_finished_run=_run_from(row, "lf"),
            last_success=_run_from(row, "ls"),
            open_rejects=row["open_rejects"],
        )
        for row in rows
    ]


def stream_statuses(connection: Connection, now: datetime) -> list[StreamStatus]:
    """The latest state of each (region, stream) that has ever run."""
    rows = connection.execute(text(STREAM_STATUS_SQL), {"now": now}).mappings()
    return [StreamStatus(**row) for row in rows]


def reject_groups(connection: Connection) -> list[RejectGroup]:
    """Open rejects grouped by region, stream and reason, largest first (bounded)."""
    rows = connection.execute(text(REJECT_GROUPS_SQL), {"max_reasons": MAX_REJECT_REASONS})
    return [
        RejectGroup(region_code=r.region_code, stream=r.stream, reason=r.reason,
                    count=int(r.n), dead=int(r.dead), last_seen_at=r.last_seen_at)
        for r in rows
    ]


def daily_history(
    connection: Connection, since: datetime, now: datetime
) -> list[DailyRegionHistory]:
    """Runs per region and UTC day between `since` and `now`, for the charts."""
    rows = connection.execute(text(HISTORY_SQL), {"since": since, "now": now}).mappings()
    return [DailyRegionHistory(**row) for row in rows]


def region_stats(connection: Connection) -> list[RegionStats]:
    """Row counts per region of the main tables, computed here rather than from a view so
    the report works on any schema version that has the core tables."""
    rows = connection.execute(text(REGION_STATS_SQL)).mappings()
    return [RegionStats(**row) for row in rows]


def reconcile_statuses(connection: Connection) -> list[ReconcileStatus]:
    """Per region and reconciled stream, from v_reconcile_status (migration 004)."""
    rows = connection.execute(text(
        "SELECT region_code, stream, last_full_crawl_status, last_full_crawl_at, "
        "last_full_crawl_note, last_reconciled_at, pending_candidates, oldest_pending_at "
        "FROM v_reconcile_status ORDER BY region_code, stream")).mappings()
    return [ReconcileStatus(**row) for row in rows]
