"""From complete crawls to deletion candidates (docs/database.md, "Deletions").

The Breezeway lists carry no tombstones, so a deleted reservation or task just stops being
listed. The tap reports what it crawled completely in stream `crawls` (docs/streams.md):
the region's reservations, and each property's tasks. At the end of a run whose input is
complete, every live row of a completely crawled scope that the run did not see becomes a
*candidate* in `deletion_candidates` — not a deletion: `breezeway-db confirm-deletions`
asks the API (`GET /<kind>/{id}`) and only a 404 soft-deletes it.

Never from a partial crawl: a scope is judged only on its own complete report; a run whose
tap stopped early, a target with stream maps, or a crawl whose window starts after an
earlier full crawl's (start_date moved forward) judges nothing. And a reconcile that would
retire more than a few percent of a region's rows at once trips a circuit breaker instead
(an API change or a partial crawl is likelier than a mass deletion).
"""

# SQL here names only our own tables and columns; every value is bound or COPYed.
# ruff: noqa: S608

from __future__ import annotations

import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LOGGER = logging.getLogger("target_breezeway_postgres.reconcile")

#: The stream in which the tap reports its crawls.
CRAWLS_STREAM = "crawls"
#: Streams reconciled through crawl reports: stream -> (table, Breezeway id column).
RECONCILED = {"reservations": ("reservations", "reservation_id"), "tasks": ("tasks", "task_id")}
PROPERTY_SCOPE = "property:"
#: Children read with calls of their own whose failures `crawls` reports (docs/streams.md,
#: "Task requirements"): crawls stream -> (parent stream, scope prefix of one parent).
FETCHED_APART = {"task_requirements": ("tasks", "task:")}


@dataclass(frozen=True)
class BreakerLimits:
    """Unexplained candidates (their property is still listed) above max(floor, ratio x
    live rows) trip the breaker: nothing is retired. Rows of a property that is itself gone
    from the listing are explained by it and never trip it (they are still confirmed)."""

    ratio: float = 0.05
    floor: int = 20

    def allows(self, candidates: int, live_rows: int) -> bool:
        return candidates <= max(self.floor, self.ratio * live_rows)


@dataclass
class ScopeReports:
    """What the tap reported for one (region, stream) in this run."""

    ended: bool = False  # the region's crawl ended (its `region` record arrived)
    region_wide: bool = False  # ... and every part of it was complete
    properties: set[int] = field(default_factory=set)  # properties crawled completely
    failures: list[str] = field(default_factory=list)  # "property:<id>: HTTP 422"
    window_starts: list[datetime] = field(default_factory=list)

    @property
    def judgeable(self) -> bool:
        """A crawl that ended with something complete: a tap that died midway never sent
        the `region` record, so its complete parts are not judged either."""
        return self.ended and (self.region_wide or bool(self.properties))


class CrawlReportError(ValueError):
    """A `crawls` record that does not follow docs/streams.md (quarantined by the target)."""


@dataclass
class CrawlLog:
    """The crawl reports and the ids seen in this run, per region and stream."""

    reports: dict[tuple[str, str], ScopeReports] = field(
        default_factory=lambda: defaultdict(ScopeReports))
    seen: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    # Parents whose children were not read (their call failed): (parent stream, region, id),
    # and regions where the calls stopped altogether: (parent stream, region).
    unread_children: set[tuple[str, str, int]] = field(default_factory=set)
    unread_regions: set[tuple[str, str]] = field(default_factory=set)

    def saw(self, stream: str, region_code: str, source_id: int) -> None:
        if stream in RECONCILED:
            self.seen[(region_code, stream)].add(source_id)

    def add_report(self, record: dict[str, Any]) -> None:
        """Take one `crawls` record; raise CrawlReportError naming the field at fault."""
        region, stream, scope = (record.get(k) for k in ("region_code", "stream", "scope"))
        if stream in FETCHED_APART and isinstance(region, str) and isinstance(scope, str):
            self._add_unread(record, region, stream, scope)
            return
        if stream not in RECONCILED or not isinstance(region, str) or not isinstance(scope, str):
            raise CrawlReportError("crawls record: stream must be reservations, tasks or "
                                   "task_requirements; region_code and scope strings")
        complete = record.get("complete")
        if not isinstance(complete, bool):
            raise CrawlReportError(f"crawls record of {stream} {scope}: complete must be boolean")
        reports = self.reports[(region, stream)]
        if scope == "region":
            reports.ended = True
        if not complete:
            if scope != "region":  # a region record's reason only counts these failures
                reports.failures.append(f"{scope}: {str(record.get('reason'))[:80]}")
            return
        reports.window_starts.append(_timestamp(record.get("window_start"), stream, scope))
        if scope == "region":
            reports.region_wide = True
        elif scope.startswith(PROPERTY_SCOPE) and scope[len(PROPERTY_SCOPE):].isdigit():
            reports.properties.add(int(scope[len(PROPERTY_SCOPE):]))
        else:
            raise CrawlReportError(f"crawls record of {stream}: unknown scope {scope[:40]!r}")

    def _add_unread(self, record: dict[str, Any], region: str, stream: str, scope: str) -> None:
        """A failed call for children read apart: keep the children the database has."""
        parent_stream, prefix = FETCHED_APART[stream]
        if record.get("complete") is not False:
            raise CrawlReportError(f"crawls record of {stream}: only failures (complete false) "
                                   "are reported")
        if scope == "region":
            self.unread_regions.add((parent_stream, region))
        elif scope.startswith(prefix) and scope[len(prefix):].isdigit():
            self.unread_children.add((parent_stream, region, int(scope[len(prefix):])))
        else:
            raise CrawlReportError(f"crawls record of {stream}: unknown scope {scope[:40]!r}")

    def unfinished(self) -> list[str]:
        """Crawls that reported complete parts but never ended: the tap stopped inside."""
        return sorted(f"{stream} of {region}" for (region, stream), reports in self.reports.items()
                      if reports.properties and not reports.ended)

    def __bool__(self) -> bool:
        return bool(self.reports)


def _timestamp(value: Any, stream: str, scope: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise CrawlReportError(
            f"crawls record of {stream} {scope}: window_start is not an ISO datetime") from None
    if moment.tzinfo is None:
        raise CrawlReportError(f"crawls record of {stream} {scope}: window_start has no offset")
    return moment


@dataclass(frozen=True)
class Outcome:
    """The reconcile of one (region, stream) in this run, as recorded in sync_runs."""

    region_code: str
    stream: str
    status: str | None  # complete | partial | tripped | skipped; None: not a full crawl
    candidates: int
    note: str


def reconcile(cursor: Any, run_id: str, log: CrawlLog, limits: BreakerLimits,
              skip_reason: str | None) -> list[Outcome]:
    """At the end of a run: clear the pending candidates it read again, then judge every
    reported (region, stream) and record candidates and outcomes. One transaction, the
    caller's. `skip_reason` set: judge nothing, record why."""
    if not log.reports and not _pending_in(cursor, {region for region, _ in log.seen}):
        return []
    outcomes = []
    _load_seen(cursor, log)
    _clear_seen_candidates(cursor)
    for (region, stream), reports in sorted(log.reports.items()):
        if not reports.ended and not reports.properties:
            # An incremental run that reports failed scopes only: say which, judge nothing.
            outcomes.append(Outcome(region, stream, None, 0, _failures_note(reports)))
        elif skip_reason or not reports.judgeable:
            note = skip_reason or "not judged: the crawl did not end complete; " + (
                _failures_note(reports))
            outcomes.append(Outcome(region, stream, "skipped", 0, note))
        else:
            outcomes.append(_judge(cursor, run_id, region, stream, reports, limits))
    for outcome in outcomes:
        _record(cursor, run_id, outcome)
        LOGGER.info("reconcile of %s in region %s: %s, %d candidates (%s)", outcome.stream,
                    outcome.region_code, outcome.status or "no full crawl",
                    outcome.candidates, outcome.note)
    return outcomes


def _failures_note(reports: ScopeReports) -> str:
    shown = "; ".join(reports.failures[:5])
    more = f" (+{len(reports.failures) - 5} more)" if len(reports.failures) > 5 else ""
    return f"{len(reports.failures)} scope(s) not crawled: {shown}{more}"


def _judge(cursor: Any, run_id: str, region: str, stream: str, reports: ScopeReports,
           limits: BreakerLimits) -> Outcome:
    too_late = _window_after_earlier_crawl(cursor, region, stream, reports.window_starts)
    if too_late:
        return Outcome(region, stream, "skipped", 0, too_late)
    found = _candidates(cursor, region, stream, reports)
    unexplained = sum(1 for _, explained in found if not explained)
    live = _live_rows(cursor, region, stream)
    failed = f"; {_failures_note(reports)}" if reports.failures else ""
    if not limits.allows(unexplained, live):
        return Outcome(
            region, stream, "tripped", len(found),
            f"{unexplained} of {live} live rows missing from the crawl (their property still "
            f"listed): more than the breaker allows (max({limits.floor}, {limits.ratio:.0%} "
            f"of live rows)); nothing retired — a partial crawl or an API change is likelier "
            f"than a mass deletion{failed}")
    _insert_candidates(cursor, run_id, region, stream, [source_id for source_id, _ in found])
    status = "partial" if reports.failures else "complete"
    return Outcome(region, stream, status, len(found),
                   f"{len(found)} candidate(s) to confirm, {len(found) - unexplained} of them "
                   f"under a property gone from the listing{failed}")


def _window_after_earlier_crawl(cursor: Any, region: str, stream: str,
                                starts: list[datetime]) -> str | None:
    """Why the crawl cannot prove absence (it starts after an earlier full crawl), or None;
    remembers the earliest start otherwise."""
    cursor.execute("SELECT earliest_start FROM crawl_windows WHERE region_code = %s "
                   "AND stream = %s FOR UPDATE", (region, stream))
    row = cursor.fetchone()
    if row is not None and max(starts) > row[0]:
        return (f"the crawl starts at {max(starts).isoformat()}, after an earlier full crawl "
                f"({row[0].isoformat()}): older rows cannot be judged (start_date moved "
                "forward?)")
    cursor.execute(
        "INSERT INTO crawl_windows (region_code, stream, earliest_start) VALUES (%s, %s, %s) "
        "ON CONFLICT (region_code, stream) DO UPDATE SET earliest_start = "
        "least(crawl_windows.earliest_start, EXCLUDED.earliest_start), updated_at = now()",
        (region, stream, min(starts)),
    )
    return None


def _pending_in(cursor: Any, regions: set[str]) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM deletion_candidates WHERE resolved_at IS NULL "
                   "AND region_code = ANY(%s))", (sorted(regions),))
    return bool(cursor.fetchone()[0])


def _load_seen(cursor: Any, log: CrawlLog) -> None:
    """The ids this run read, into a temporary table for set-based comparisons."""
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS seen_ids (region_code TEXT, stream TEXT, "
                   "source_id BIGINT) ON COMMIT DELETE ROWS")
    # Indexed: just after a load the tables' statistics are stale (a few rows where there are
    # thousands), and a planner that believes them scans seen_ids once per live row.
    cursor.execute("CREATE INDEX IF NOT EXISTS seen_ids_key "
                   "ON seen_ids (region_code, stream, source_id)")
    lines = (f"{region}\t{stream}\t{source_id}\n"
             for (region, stream), ids in log.seen.items() for source_id in ids)
    cursor.copy_expert("COPY seen_ids FROM STDIN", io.StringIO("".join(lines)))
    cursor.execute("ANALYZE seen_ids")


def _clear_seen_candidates(cursor: Any) -> None:
    """Pending candidates this run read again are not deleted upstream after all."""
    cursor.execute(
        "UPDATE deletion_candidates c SET outcome = 'seen', resolved_at = now() "
        "FROM seen_ids s WHERE c.resolved_at IS NULL AND c.region_code = s.region_code "
        "AND c.stream = s.stream AND c.source_id = s.source_id")


def _candidates(cursor: Any, region: str, stream: str,
                reports: ScopeReports) -> list[tuple[int, bool]]:
    """Live rows of the completely crawled scopes that this run did not read, each with
    whether its absence is explained (its property is gone from the listing too)."""
    table, id_column = RECONCILED[stream]
    select = (f"SELECT t.{id_column}, p.deleted_at IS NOT NULL FROM {table} t "
              f"JOIN properties p ON p.id = t.property_pk WHERE t.region_code = %(region)s "
              f"AND t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM seen_ids s "
              f"WHERE s.region_code = t.region_code AND s.stream = %(stream)s "
              f"AND s.source_id = t.{id_column})")
    params: dict[str, Any] = {"region": region, "stream": stream}
    if not reports.region_wide:
        # Tasks, per property: only those of the properties crawled completely.
        select += " AND p.property_id = ANY(%(complete)s)"
        params["complete"] = sorted(reports.properties)
    cursor.execute(select + " ORDER BY 1", params)
    return [(row[0], row[1]) for row in cursor.fetchall()]


def _live_rows(cursor: Any, region: str, stream: str) -> int:
    table, _ = RECONCILED[stream]
    cursor.execute(f"SELECT count(*) FROM {table} WHERE region_code = %s "
                   "AND deleted_at IS NULL", (region,))
    return int(cursor.fetchone()[0])


def _insert_candidates(cursor: Any, run_id: str, region: str, stream: str,
                       ids: list[int]) -> None:
    """New candidates, or pending ones re-found (they now belong to this run)."""
    if not ids:
        return
    cursor.execute(
        "INSERT INTO deletion_candidates (region_code, stream, source_id, run_id) "
        "SELECT %s, %s, source_id, %s FROM unnest(%s::bigint[]) AS source_id "
        "ON CONFLICT (stream, region_code, source_id) WHERE resolved_at IS NULL "
        "DO UPDATE SET run_id = EXCLUDED.run_id",
        (region, stream, run_id, ids),
    )


def _record(cursor: Any, run_id: str, outcome: Outcome) -> None:
    cursor.execute(
        "INSERT INTO sync_runs AS r (run_id, region_code, stream, reconcile_status, "
        "reconcile_candidates, reconcile_note) "
        "SELECT %(run)s, g.region_code, %(stream)s, %(status)s, %(n)s, %(note)s "
        "FROM regions g WHERE g.region_code = %(region)s "
        "ON CONFLICT (run_id, region_code, stream) DO UPDATE SET "
        "reconcile_status = EXCLUDED.reconcile_status, "
        "reconcile_candidates = EXCLUDED.reconcile_candidates, "
        "reconcile_note = EXCLUDED.reconcile_note",
        {"run": run_id, "region": outcome.region_code, "stream": outcome.stream,
         "status": outcome.status, "n": outcome.candidates, "note": outcome.note},
    )
