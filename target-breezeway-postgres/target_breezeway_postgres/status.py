"""`breezeway-status`: did every region sync, how long did it take, what was rejected and why.

The legacy scripts failed silently. This command reads the target's own bookkeeping
(`sync_runs`, `load_rejects`, `regions`) and shows it three ways:

    breezeway-status                       # terminal tables (or --format json)
    breezeway-status --html status.html    # one self-contained page with charts
    breezeway-status --check --max-age 26h [--notify-url URL]   # for cron / orchestrators

Exit codes: 0 report written / every active region healthy; 1 the check found failed,
stale or never-synced regions; 2 bad arguments or configuration; 3 the check failed and
the alert could not be delivered; 4 the database (or the HTML file) could not be used.
The database URL comes from --url or BREEZEWAY_DATABASE_URL (environment or `.env`, see
dburl.py) and is never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from target_breezeway_postgres import dburl
from target_breezeway_postgres.migrations import MigrationError, quote_schema, set_search_path
from target_breezeway_postgres.status_check import (
    NotifyError,
    alert_payload,
    check_json,
    check_text,
    judge_regions,
    post_alert,
    validate_notify_url,
)
from target_breezeway_postgres.status_format import (
    StatusReport,
    parse_duration,
    render_text,
    report_json,
    scrub_secrets,
)
from target_breezeway_postgres.status_query import (
    DailyRegionHistory,
    RegionStats,
    daily_history,
    reconcile_statuses,
    region_stats,
    region_statuses,
    reject_groups,
    stream_statuses,
)

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, EXIT_NOT_NOTIFIED, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4
URL_ENV = dburl.URL_ENV
DEFAULT_SCHEMA = "api_integrations"


class StatusError(RuntimeError):
    """The report cannot be produced (database unreachable, schema not migrated...)."""


def _duration_arg(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _moment_arg(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"invalid time {value!r}: use ISO 8601, e.g. 2026-11-25T06:00:00+00:00"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _retries_arg(value: str) -> int:
    if not value.isdigit() or int(value) > 10:
        raise argparse.ArgumentTypeError(f"retries must be a whole number 0..10, got {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="breezeway-status",
        description="Sync status of every Breezeway region: report, HTML charts, health check.",
    )
    parser.add_argument("--url", help=f"PostgreSQL URL (default: ${URL_ENV})")
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="schema holding the tables")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained page")
    parser.add_argument("--days", type=_positive_int, default=90, help="chart history (days)")
    parser.add_argument("--check", action="store_true", help="exit non-zero on failed/stale")
    parser.add_argument("--max-age", type=_duration_arg, default=parse_duration("26h"),
                        help="oldest acceptable last success, e.g. 26h, 90m, 2d (default 26h)")
    parser.add_argument("--max-reconcile-age", type=_duration_arg,
                        help="with --check: also fail a region whose last complete reconcile "
                        "of reservations or tasks (deletions) is older, e.g. 8d")
    parser.add_argument("--notify-url", help="with --check: POST a JSON alert here on failure")
    parser.add_argument("--notify-timeout", type=_duration_arg, default=parse_duration("10s"),
                        help="timeout of one alert attempt (default 10s)")
    parser.add_argument("--notify-retries", type=_retries_arg, default=2,
                        help="extra alert attempts after a failed one (default 2)")
    parser.add_argument("--now", type=_moment_arg,
                        help="evaluate as of this ISO time (reproducible reports); default now")
    return parser


def make_engine(url: str) -> sa.Engine:
    """psycopg2 whatever the URL's spelling; no pool, the command makes one connection."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg2://" + url[len(prefix):]
    return sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})


def _open_read_only(connection: sa.Connection, schema: str) -> None:
    connection.execute(sa.text("SET TRANSACTION READ ONLY"))
    set_search_path(connection, schema)
    if connection.execute(sa.text("SELECT to_regclass('sync_runs')")).scalar() is None:
        raise StatusError(f"schema {schema!r} has no sync_runs table: apply the migrations first")
    if not connection.execute(sa.text(
            "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = :schema "
            "AND table_name = 'sync_runs' AND column_name = 'records_skipped')"),
            {"schema": schema}).scalar():
        raise StatusError(f"schema {schema!r} predates this breezeway-status: apply the "
                          "migrations first (breezeway-db migrate, or any target run)")


def load(
    url: str, schema: str, now: datetime, history_days: int | None
) -> tuple[StatusReport, list[DailyRegionHistory], list[RegionStats]]:
    """Read everything in one read-only transaction so the parts agree with each other."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _open_read_only(connection, schema)
            report = StatusReport(
                generated_at=now,
                schema=schema,
                regions=region_statuses(connection, now),
                streams=stream_statuses(connection, now),
                rejects=reject_groups(connection),
                reconciles=reconcile_statuses(connection),
            )
            if history_days is None:
                return report, [], []
            since = now - timedelta(days=history_days)
            return report, daily_history(connection, since, now), region_stats(connection)
    except (sa.exc.SQLAlchemyError, MigrationError) as error:
        # The driver's own message, without SQLAlchemy's wrapper and link; it can quote the
        # connection string, so it is scrubbed before it is shown.
        message = str(getattr(error, "orig", None) or error).strip()
        raise StatusError(f"database error: {scrub_secrets(message)}") from error
    finally:
        engine.dispose()


def write_html(path: Path, report: StatusReport, history: list[DailyRegionHistory],
               stats: list[RegionStats], days: int) -> None:
    # Imported here: matplotlib costs a second of start-up that text and --check do not need.
    from target_breezeway_postgres.status_html import render_html

    try:
        path.write_text(render_html(report, history, stats, days), encoding="utf-8")
    except OSError as error:
        raise StatusError(f"cannot write {path}: {error.strerror or error}") from error


def run_check(args: argparse.Namespace, report: StatusReport) -> int:
    verdicts = judge_regions(report.regions, report.generated_at, args.max_age,
                             report.reconciles, args.max_reconcile_age)
    if args.format == "json":
        print(json.dumps(check_json(verdicts, report.generated_at, args.max_age), indent=2))
    else:
        sys.stdout.write(check_text(verdicts, args.max_age))
    if all(v.healthy for v in verdicts):
        return EXIT_OK
    if args.notify_url:
        payload = alert_payload(verdicts, report.generated_at, args.max_age)
        try:
            post_alert(args.notify_url, payload, args.notify_timeout.total_seconds(),
                       args.notify_retries)
        except NotifyError as error:
            print(f"breezeway-status: {error}", file=sys.stderr)
            return EXIT_NOT_NOTIFIED
    return EXIT_UNHEALTHY


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    url = dburl.database_url(args.url)
    if not url:
        parser.error(f"no database: set {URL_ENV} (environment or .env) or pass --url")
    try:
        quote_schema(args.schema)
    except MigrationError as error:
        parser.error(str(error))
    if args.notify_url is not None:
        if not args.check:
            parser.error("--notify-url only makes sense with --check")
        try:
            validate_notify_url(args.notify_url)
        except ValueError as error:
            parser.error(str(error))
    now = args.now or datetime.now(UTC)
    try:
        report, history, stats = load(url, args.schema, now, args.days if args.html else None)
        if args.html:
            write_html(args.html, report, history, stats, args.days)
    except StatusError as error:
        print(f"breezeway-status: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.check:
        return run_check(args, report)
    if args.html:
        print(f"wrote {args.html}")
    elif args.format == "json":
        print(json.dumps(report_json(report), indent=2))
    else:
        sys.stdout.write(render_text(report))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
