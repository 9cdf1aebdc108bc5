"""`breezeway-db`: database administration — migrate, confirm deletions, legacy migration.

The legacy migration is SQL (`sql/legacy/NNN_*.sql`) run in one transaction that ends with
the reconciliation of `sql/legacy/validation_checks.sql`: a run that cannot account for
every legacy row (loaded + rejected = legacy) rolls back instead of committing half a story.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from target_breezeway_postgres.deletions import api_asker, confirm_deletions
from target_breezeway_postgres.migrations import (
    MigrationError,
    SqlScript,
    apply_migrations,
    quote_schema,
    run_script,
    set_search_path,
    sql_dir,
)

DEFAULT_SCHEMA = "api_integrations"
URL_ENV = "BREEZEWAY_DB_URL"
LEGACY_TABLES = ("breezeaway_properties_gw", "breezeaway_reservations_gw", "breezeaway_tasks_gw")
# "bwlg": one legacy migration at a time (distinct from the migration runner's key).
LEGACY_LOCK_KEY = 0x62776C67
LEGACY_SCRIPT = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")
# 000_legacy_tables.sql creates the legacy tables for tests; never run against real data.
FIXTURE_VERSION = "000"

LOGGER = logging.getLogger("breezeway-db")


class LegacyError(RuntimeError):
    """The legacy migration cannot run, or its result does not reconcile."""


@dataclass(frozen=True)
class ValidationRow:
    region_code: str
    stream: str
    legacy_rows: int
    loaded: int
    rejected: int
    unaccounted: int
    duplicates: int
    orphans: int
    failed_casts: int
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class ValidationFailed(LegacyError):
    """Some legacy rows are neither loaded nor rejected (or counted twice)."""

    def __init__(self, rows: list[ValidationRow]) -> None:
        self.rows = rows
        bad = [f"{row.region_code}/{row.stream}" for row in rows if not row.ok]
        super().__init__(f"legacy validation failed for {', '.join(bad)}")


def legacy_dir() -> Path:
    return sql_dir() / "legacy"


def legacy_scripts(directory: Path | None = None) -> list[SqlScript]:
    """The numbered legacy scripts in order, without the test-only table fixture."""
    directory = directory or legacy_dir()
    scripts = [
        SqlScript(match["name"], path)
        for path in sorted(directory.glob("*.sql"))
        if (match := LEGACY_SCRIPT.match(path.name)) and match["version"] != FIXTURE_VERSION
    ]
    if not scripts:
        raise LegacyError(f"no legacy migration scripts in {directory}")
    return scripts


def migrate_legacy(engine: Engine, schema: str, run_id: str) -> list[ValidationRow]:
    """Migrate the legacy tables of `schema` into the v2 tables; commit only if it reconciles."""
    apply_migrations(engine, schema)
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEGACY_LOCK_KEY})
        set_search_path(connection, schema)
        _require_legacy_tables(connection, schema)
        connection.execute(
            text("SELECT set_config('breezeway.legacy_run_id', :run_id, true)"),
            {"run_id": run_id},
        )
        for script in legacy_scripts():
            run_script(connection, script)
        rows = _validation_rows(connection)
        if not all(row.ok for row in rows):
            raise ValidationFailed(rows)  # leaving the block rolls the migration back
    return rows


def validate_legacy(engine: Engine, schema: str) -> list[ValidationRow]:
    """Reconcile legacy and v2 tables (read only)."""
    with engine.begin() as connection:
        set_search_path(connection, schema)
        _require_legacy_tables(connection, schema)
        return _validation_rows(connection)


def _require_legacy_tables(connection: Connection, schema: str) -> None:
    missing = [
        table
        for table in LEGACY_TABLES
        if connection.execute(
            text("SELECT to_regclass(:name)"), {"name": f"{quote_schema(schema)}.{table}"}
        ).scalar() is None
    ]
    if missing:
        raise LegacyError(f"legacy table(s) missing in schema {schema}: {', '.join(missing)}")


def _validation_rows(connection: Connection) -> list[ValidationRow]:
    sql = (legacy_dir() / "validation_checks.sql").read_text(encoding="utf-8")
    # Raw DBAPI cursor without parameters: the file's '%' (LIKE patterns) stays literal.
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(sql)
        return [ValidationRow(*row) for row in cursor.fetchall()]


def format_table(rows: Sequence[ValidationRow]) -> str:
    """A plain fixed-width table for a terminal or a log."""
    header = [field.name for field in fields(ValidationRow)]
    body = [[str(getattr(row, name)) for name in header] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=False)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def make_engine(url: str) -> Engine:
    """libpq-style URLs (postgresql://, postgres://) are accepted and used with psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg2://" + url[len(prefix):]
    return create_engine(url)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get(URL_ENV),
                        help=f"database URL (default: ${URL_ENV})")
    common.add_argument("--schema", default=DEFAULT_SCHEMA,
                        help=f"target schema (default: {DEFAULT_SCHEMA})")
    parser = argparse.ArgumentParser(prog="breezeway-db", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[common], help="apply pending schema migrations")
    legacy = commands.add_parser(
        "migrate-legacy", parents=[common],
        help="move the legacy breezeaway_*_gw tables into the v2 tables, then validate")
    legacy.add_argument("--run-id", help="recorded on load_rejects (default: legacy-<UTC time>)")
    commands.add_parser("validate-legacy", parents=[common],
                        help="reconcile legacy and v2 tables; exit 1 on any mismatch")
    confirm = commands.add_parser(
        "confirm-deletions", parents=[common],
        help="ask the API about the region's deletion candidates; soft-delete what answers 404")
    confirm.add_argument(
        "--tap-config", type=Path,
        help="tap-breezeway config JSON of the region (default: the tap's TAP_BREEZEWAY_* "
        "environment variables, as Meltano sets them)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    if not args.url:
        print(f"breezeway-db: no database: pass --url or set {URL_ENV}", file=sys.stderr)
        return 2
    engine = make_engine(args.url)
    try:
        return _run(args, engine)
    except ValidationFailed as failure:
        print(format_table(failure.rows))
        print(f"breezeway-db: {failure}; nothing was committed", file=sys.stderr)
        return 1
    except (MigrationError, LegacyError, SQLAlchemyError) as error:
        print(f"breezeway-db: {args.command} failed: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, engine: Engine) -> int:
    if args.command == "confirm-deletions":
        return _confirm_deletions(engine, args.schema, args.tap_config)
    if args.command == "migrate":
        applied = apply_migrations(engine, args.schema)
        print(f"applied: {', '.join(applied)}" if applied else f"{args.schema} is up to date")
        return 0
    if args.command == "migrate-legacy":
        run_id = args.run_id or datetime.now(UTC).strftime("legacy-%Y%m%dT%H%M%SZ")
        rows = migrate_legacy(engine, args.schema, run_id)
        print(format_table(rows))
        print(f"legacy migration {run_id} committed: every legacy row is loaded or rejected")
        return 0
    rows = validate_legacy(engine, args.schema)
    print(format_table(rows))
    mismatches = [row for row in rows if not row.ok]
    if mismatches:
        print(f"breezeway-db: validation FAILED: {len(mismatches)} mismatching "
              "region/stream pair(s)", file=sys.stderr)
        return 1
    print("validation passed: loaded + rejected = legacy rows everywhere")
    return 0


def _confirm_deletions(engine: Engine, schema: str, tap_config_path: Path | None) -> int:
    """Settle the pending deletion candidates of the tap config's region."""
    tap_config = json.loads(tap_config_path.read_text()) if tap_config_path else None
    region = (tap_config or {}).get("region_code") or os.environ.get("TAP_BREEZEWAY_REGION_CODE")
    if not region:
        print("breezeway-db: confirm-deletions needs the tap's region_code (in --tap-config "
              "or TAP_BREEZEWAY_REGION_CODE)", file=sys.stderr)
        return 2
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {quote_schema(schema)}, public")
        connection.commit()
        counts = confirm_deletions(connection, region, api_asker(tap_config))
    finally:
        raw.close()
    summary = ", ".join(f"{stream} {outcome}: {n}" for (stream, outcome), n in sorted(
        counts.items())) or "no pending candidates"
    print(f"region {region}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
