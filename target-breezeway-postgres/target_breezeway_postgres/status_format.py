"""Text and JSON renderings of the sync status, plus the small parsers they need.

Every error text and reject reason passes through `scrub_secrets` before it is shown,
even though the target scrubs what it writes: an operator report is pasted into tickets
and chat, so it must not be the place where a leaked credential finally surfaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from target_breezeway_postgres.redact import safe_text
from target_breezeway_postgres.runs import RUN_STREAM
from target_breezeway_postgres.status_query import (
    ReconcileStatus,
    RegionStatus,
    RejectGroup,
    RunSummary,
    StreamStatus,
)

#: How the run-level row (stream "*") is shown in the stream tables and error lists.
RUN_LABEL = "(run)"
_DURATION = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def scrub_secrets(text: str | None) -> str | None:
    """The target's scrubber (one set of secret patterns for the whole project) and length
    bound, applied again on display: rows written by older versions or by hand get the same
    treatment."""
    return None if text is None else safe_text(text)


def parse_duration(value: str) -> timedelta:
    """Parse `26h`, `90m`, `2d`, `1d12h`, `45s`, `1w`; anything else is a ValueError."""
    compact = value.strip().lower().replace(" ", "")
    if not compact:
        raise ValueError("empty duration: use a number and a unit, e.g. 26h, 90m, 2d")
    position, seconds = 0, 0.0
    for match in _DURATION.finditer(compact):
        if match.start() != position:
            break
        seconds += float(match["amount"]) * _UNIT_SECONDS[match["unit"]]
        position = match.end()
    if position != len(compact):
        raise ValueError(
            f"invalid duration {value!r}: use a number and a unit s, m, h, d or w "
            "(e.g. 26h, 90m, 2d, 1d12h)"
        )
    if seconds <= 0:
        raise ValueError(f"invalid duration {value!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


def format_age(seconds: float | None) -> str:
    """Hours with one decimal below three days, days beyond: what an operator scans for."""
    if seconds is None:
        return "-"
    hours = seconds / 3600
    if hours < 72:
        return f"{hours:.1f}h"
    return f"{hours / 24:.1f}d"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_time(moment: datetime | None) -> str:
    """UTC, minute precision: the report compares regions, not milliseconds."""
    if moment is None:
        return "-"
    return moment.astimezone(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(tz=UTC).isoformat()


def age_seconds(now: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else (now - moment).total_seconds()


@dataclass(frozen=True)
class StatusReport:
    """Everything `breezeway-status` shows, read in one transaction."""

    generated_at: datetime
    schema: str
    regions: list[RegionStatus]
    streams: list[StreamStatus]
    rejects: list[RejectGroup]
    reconciles: list[ReconcileStatus] = field(default_factory=list)


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned table: readable in any terminal, greppable, no dependency."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(lines)


def region_rows(report: StatusReport) -> list[list[str]]:
    rows = []
    for region in report.regions:
        last, success = region.last_run, region.last_success
        rows.append([
            region.region_code,
            "yes" if region.is_active else "no",
            last.status if last else "never",
            format_time(last.started_at) if last else "-",
            format_time(success.finished_at) if success else "-",
            format_age(age_seconds(report.generated_at, success.finished_at)) if success else "-",
            format_duration(success.duration_seconds) if success else "-",
            str(region.open_rejects),
        ])
    return rows


def stream_rows(report: StatusReport) -> list[list[str]]:
    now = report.generated_at
    return [
        [
            s.region_code,
            stream_label(s.stream),
            s.last_status,
            format_time(s.last_success_at),
            format_age(age_seconds(now, s.last_success_at)),
            format_duration(s.duration_seconds),
            _count(s.records_read),
            _count(s.records_loaded),
            _count(s.records_rejected),
            _count(s.records_skipped),
            str(s.open_rejects),
            api_calls_label(s),
        ]
        for s in report.streams
    ]


def api_calls_label(stream: StreamStatus) -> str:
    """Requests of the last successful run; for tasks also the properties given task
    calls out of those listed (an incremental run skips inactive ones)."""
    if stream.api_calls is None:
        return "-"
    if stream.properties_called is None or stream.properties_listed is None:
        return str(stream.api_calls)
    return (f"{stream.api_calls} ({stream.properties_called} of "
            f"{stream.properties_listed} properties)")


def stream_label(stream: str) -> str:
    """The run-level row (stream "*") reads as the whole run, not as a stream named "*"."""
    return RUN_LABEL if stream == RUN_STREAM else stream


def reject_rows(report: StatusReport) -> list[list[str]]:
    return [
        [r.region_code or "(none)", r.stream, str(r.count), str(r.dead),
         scrub_secrets(r.reason) or ""]
        for r in report.rejects
    ]


REGION_HEADERS = ["REGION", "ACTIVE", "LAST RUN", "STARTED", "LAST SUCCESS", "AGE",
                  "DURATION", "OPEN REJECTS"]
STREAM_HEADERS = ["REGION", "STREAM", "LAST RUN", "LAST SUCCESS", "AGE", "DURATION",
                  "READ", "LOADED", "REJECTED", "SKIPPED", "OPEN REJECTS", "API CALLS"]
# DEAD: open rejects given up on (tried reject_max_attempts times, no longer fed again).
REJECT_HEADERS = ["REGION", "STREAM", "OPEN", "DEAD", "REASON"]


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def render_text(report: StatusReport) -> str:
    """The terminal report: regions, streams, current errors, open rejects by reason."""
    parts = [
        f"Breezeway sync status ({report.schema}) at {format_time(report.generated_at)}",
        "",
        "Regions",
        render_table(REGION_HEADERS, region_rows(report)),
        "",
        "Streams",
        render_table(STREAM_HEADERS, stream_rows(report)) if report.streams else "(no runs)",
        "",
        "Errors since the last success",
    ]
    errors = [s for s in report.streams if s.last_error is not None]
    parts.extend(
        f"  {s.region_code}/{stream_label(s.stream)} at {format_time(s.last_error_at)}: "
        f"{scrub_secrets(s.last_error)}"
        for s in errors
    )
    if not errors:
        parts.append("  (none)")
    parts += ["", "Open rejects by reason"]
    rejects = reject_rows(report)
    parts.append(render_table(REJECT_HEADERS, rejects) if rejects else "  (none)")
    if report.reconciles:
        parts += ["", "Deletions (reconcile of reservations and tasks)",
                  render_table(RECONCILE_HEADERS, reconcile_rows(report))]
    return "\n".join(parts) + "\n"


RECONCILE_HEADERS = ["REGION", "STREAM", "LAST RECONCILED", "AGE", "LAST FULL CRAWL",
                     "PENDING"]


def reconcile_rows(report: StatusReport) -> list[list[str]]:
    """Per region and stream: when deletions last converged, the latest full crawl's
    outcome (a tripped breaker says so), candidates waiting for confirm-deletions."""
    now = report.generated_at
    return [
        [r.region_code, r.stream, format_time(r.last_reconciled_at),
         format_age(age_seconds(now, r.last_reconciled_at)),
         f"{r.last_full_crawl_status or '-'} {format_time(r.last_full_crawl_at)}".strip(),
         str(r.pending_candidates)]
        for r in report.reconciles
    ]


def _run_json(run: RunSummary | None, now: datetime) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "run_id": run.run_id,
        "status": run.status,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "age_seconds": age_seconds(now, run.finished_at),
        "duration_seconds": run.duration_seconds,
        "error": scrub_secrets(run.error_text),
    }


def report_json(report: StatusReport) -> dict[str, Any]:
    """The machine-readable report; times are ISO 8601 UTC, durations in seconds."""
    now = report.generated_at
    return {
        "generated_at": iso(now),
        "schema": report.schema,
        "regions": [
            {
                "region_code": r.region_code,
                "region_name": r.region_name,
                "is_active": r.is_active,
                "last_run": _run_json(r.last_run, now),
                "last_success": _run_json(r.last_success, now),
                "open_rejects": r.open_rejects,
            }
            for r in report.regions
        ],
        "streams": [
            {
                "region_code": s.region_code,
                "stream": s.stream,
                "last_status": s.last_status,
                "last_started_at": iso(s.last_started_at),
                "last_success_at": iso(s.last_success_at),
                "age_seconds": age_seconds(now, s.last_success_at),
                "duration_seconds": s.duration_seconds,
                "records_read": s.records_read,
                "records_loaded": s.records_loaded,
                "records_rejected": s.records_rejected,
                "records_skipped": s.records_skipped,
                "last_error": scrub_secrets(s.last_error),
                "last_error_at": iso(s.last_error_at),
                "open_rejects": s.open_rejects,
                "api_calls": s.api_calls,
                "properties_listed": s.properties_listed,
                "properties_called": s.properties_called,
            }
            for s in report.streams
        ],
        "reconciles": [
            {
                "region_code": r.region_code,
                "stream": r.stream,
                "last_reconciled_at": iso(r.last_reconciled_at),
                "reconcile_age_seconds": age_seconds(now, r.last_reconciled_at),
                "last_full_crawl_status": r.last_full_crawl_status,
                "last_full_crawl_at": iso(r.last_full_crawl_at),
                "last_full_crawl_note": scrub_secrets(r.last_full_crawl_note),
                "pending_candidates": r.pending_candidates,
                "oldest_pending_at": iso(r.oldest_pending_at),
            }
            for r in report.reconciles
        ],
        "rejects": [
            {
                "region_code": r.region_code,
                "stream": r.stream,
                "reason": scrub_secrets(r.reason),
                "count": r.count,
                "dead": r.dead,
                "last_seen_at": iso(r.last_seen_at),
            }
            for r in report.rejects
        ],
    }

