"""The legacy cut-over: `migrate-legacy`, `validate-legacy`, `compare-legacy`.

The work is SQL (`sql/legacy/`): 010/015 apply the documented transforms once per run to the
legacy tables as they are (absent optional columns read as NULL), and the three commands
write those values (migrate), compare v2 with them (validate) or compare the pipeline's rows
with them (compare), so the three cannot disagree on what a legacy value means. This module
runs the scripts in the right transaction, holds the locks that make side-by-side runs with
the pipeline safe, and reports. It is self-contained: `cli.py` only hands it its
sub-commands (see `add_commands` / `run_command`).

Reports name stream, id, legacy row and column, never a value: legacy rows hold guest
contacts, door codes and wifi passwords.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from target_breezeway_postgres.migrations import (
    MigrationError,
    SqlScript,
    apply_migrations_on,
    pending_migrations,
    quote_schema,
    run_script,
    set_search_path,
    sql_dir,
)

LEGACY_TABLES = ("breezeaway_properties_gw", "breezeaway_reservations_gw", "breezeaway_tasks_gw")
# "bwlg": one legacy migration at a time (distinct from the migration runner's key).
LEGACY_LOCK_KEY = 0x62776C67
LEGACY_SCRIPT = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")
# 000_legacy_tables.sql creates the legacy tables for tests; never run against real data.
FIXTURE_VERSION = "000"
# Run by every command, before its own SQL: helpers (no table needed), then the views.
HELPERS, VALUES = "010_helpers.sql", "015_values.sql"
# The v2 tables the migration writes. Taken in SHARE ROW EXCLUSIVE mode: pipeline loads of
# these tables wait until the migration commits (readers never wait); NOWAIT, retried, so
# the migration itself never waits while holding a lock and cannot deadlock a pipeline load.
WRITTEN_TABLES = ("properties", "property_photos", "reservations", "reservation_guests", "tasks")
LOCK_NOT_AVAILABLE = "55P03"
LOCK_RETRY_S = 0.5
DEFAULT_LOCK_WAIT_S = 120.0
FIRST_COLUMNS = 20
EXAMPLES = 3
# How a stream's rows are named in reports: (parent noun, child noun).
NOUNS = {
    "properties": ("property", None),
    "property_photos": ("property", "photo"),
    "reservations": ("reservation", None),
    "reservation_guests": ("reservation", "guest"),
    "tasks": ("task", None),
}
STREAMS = tuple(NOUNS)

LOGGER = logging.getLogger("breezeway-db")


class LegacyError(RuntimeError):
    """The legacy procedure cannot run, or its result does not reconcile."""


class LegacyBusy(LegacyError):
    """Pipeline loads kept the v2 tables busy for the whole wait."""


@dataclass(frozen=True)
class ValidationRow:
    region_code: str
    stream: str
    legacy_rows: int
    loaded: int
    rejected: int
    pipeline_owned: int
    unaccounted: int
    duplicates: int
    orphans: int
    failed_casts: int
    differences: int
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class ColumnDifferences:
    """One (stream, column) that differs: how often, and the first rows named by id."""

    stream: str
    column: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ValidationReport:
    rows: list[ValidationRow]
    differences: list[ColumnDifferences]

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def legacy_rows(self) -> int:
        return sum(row.legacy_rows for row in self.rows)

    @property
    def pipeline_owned(self) -> int:
        return sum(row.pipeline_owned for row in self.rows)

    @property
    def failed(self) -> list[str]:
        return [f"{row.region_code}/{row.stream}" for row in self.rows if not row.ok]


class ValidationFailed(LegacyError):
    """Some legacy rows are unaccounted for, or some migrated value differs."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(f"legacy validation failed for {', '.join(report.failed)}")


@dataclass
class StreamComparison:
    """compare-legacy counts of one stream."""

    only_in_old: int = 0
    only_in_new: int = 0
    differing: int = 0
    same: int = 0
    not_comparable: int = 0


@dataclass
class CompareReport:
    region: str
    streams: dict[str, StreamComparison]
    columns: list[ColumnDifferences]
    examples: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    not_compared: list[str] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(s.only_in_old + s.only_in_new + s.differing for s in self.streams.values())


def legacy_dir() -> Path:
    return sql_dir() / "legacy"


def _script(name: str) -> SqlScript:
    return SqlScript(name.removesuffix(".sql"), legacy_dir() / name)


def _run_sql(connection: Connection, script: SqlScript) -> None:
    """Run one script; a failure names the file and the server's one-line message only (a
    DETAIL such as "Failing row contains (...)" would print legacy values)."""
    try:
        run_script(connection, script)
    except MigrationError as error:
        cause = error.__cause__
        diag = getattr(getattr(cause, "orig", cause), "diag", None)
        message = getattr(diag, "message_primary", None) or type(cause).__name__
        raise LegacyError(f"{script.path.name} failed: {message}") from None


def legacy_scripts(directory: Path | None = None) -> list[SqlScript]:
    """The migration's numbered scripts after the shared ones (010, 015), in order."""
    directory = directory or legacy_dir()
    scripts = [
        SqlScript(match["name"], path)
        for path in sorted(directory.glob("*.sql"))
        if (match := LEGACY_SCRIPT.match(path.name))
        and match["version"] != FIXTURE_VERSION and path.name not in (HELPERS, VALUES)
    ]
    if not scripts:
        raise LegacyError(f"no legacy migration scripts in {directory}")
    return scripts


# --- the three commands ---------------------------------------------------------------------

def migrate_legacy(engine: Engine, schema: str, run_id: str,
                   lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> ValidationReport:
    """Migrate the legacy tables of `schema` into the v2 tables in one transaction (schema
    v2 included when it is new) that commits only if validation passes."""
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            return _migrate_once(engine, schema, run_id)
        except OperationalError as error:
            if getattr(error.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
            if time.monotonic() >= deadline:
                raise LegacyBusy(
                    f"pipeline loads kept {', '.join(WRITTEN_TABLES)} busy for "
                    f"{lock_wait_s:g} s; nothing was committed: run again") from error
            LOGGER.info("v2 tables busy with a pipeline load; retrying in %s s", LOCK_RETRY_S)
            time.sleep(LOCK_RETRY_S)


def _migrate_once(engine: Engine, schema: str, run_id: str) -> ValidationReport:
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEGACY_LOCK_KEY})
        set_search_path(connection, schema)
        _prepare(connection, schema)
        if pending_migrations(connection, schema):
            apply_migrations_on(connection, schema)
        connection.execute(text(f"LOCK TABLE {', '.join(WRITTEN_TABLES)} "
                                "IN SHARE ROW EXCLUSIVE MODE NOWAIT"))
        connection.execute(text("SELECT set_config('breezeway.legacy_run_id', :run_id, true)"),
                           {"run_id": run_id})
        _run_sql(connection, _script(VALUES))
        for script in legacy_scripts():
            _run_sql(connection, script)
        report = _validation_report(connection)
        if not report.ok:
            raise ValidationFailed(report)  # leaving the block rolls everything back
        connection.execute(text("SELECT pg_temp.legacy_drop_views()"))
    return report


def validate_legacy(engine: Engine, schema: str) -> ValidationReport:
    """Check every legacy row and every migrated value against v2 (read only)."""
    with _snapshot(engine, schema) as connection:
        _require_v2(connection, schema)
        _run_sql(connection, _script(VALUES))
        return _validation_report(connection)


def compare_legacy(engine: Engine, schema: str, region: str) -> CompareReport:
    """Shadow compare of one region: legacy tables vs the pipeline's rows (read only)."""
    with _snapshot(engine, schema) as connection:
        _require_v2(connection, schema)
        connection.execute(text("SELECT set_config('breezeway.compare_region', :r, true)"),
                           {"r": region})
        _run_sql(connection, _script(VALUES))
        _run_sql(connection, _script("compare.sql"))
        return _compare_report(connection, region)


@contextmanager
def _snapshot(engine: Engine, schema: str) -> Iterator[Connection]:
    """One REPEATABLE READ snapshot, rolled back: a pipeline load that commits meanwhile
    cannot make the checks read two states. Helpers loaded, legacy tables checked."""
    with engine.connect() as raw:
        connection = raw.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin() as transaction:
            set_search_path(connection, schema)
            _prepare(connection, schema)
            yield connection
            transaction.rollback()


def _prepare(connection: Connection, schema: str) -> None:
    """Legacy tables present with every required column, else stop before anything is
    created; then the session's helper functions."""
    missing_tables = [
        table for table in LEGACY_TABLES
        if connection.execute(text("SELECT to_regclass(:name)"),
                              {"name": f"{quote_schema(schema)}.{table}"}).scalar() is None
    ]
    if missing_tables:
        raise LegacyError(f"legacy table(s) missing in schema {schema}: "
                          f"{', '.join(missing_tables)}")
    _run_sql(connection, _script(HELPERS))
    missing = connection.execute(text(
        "SELECT table_name || '.' || column_name FROM pg_temp.legacy_missing_columns()"
    )).scalars().all()
    if missing:
        raise LegacyError(f"legacy tables in schema {schema} lack required column(s): "
                          f"{', '.join(missing)} (docs/legacy-migration.md lists them)")


def _require_v2(connection: Connection, schema: str) -> None:
    if pending_migrations(connection, schema):
        raise LegacyError(f"schema v2 in {schema} is missing or not up to date: "
                          "run breezeway-db migrate-legacy (or migrate) first")


# --- reading the results --------------------------------------------------------------------

def _validation_report(connection: Connection) -> ValidationReport:
    _run_sql(connection, _script("validation.sql"))
    names = ", ".join(f.name for f in fields(ValidationRow))
    rows = [ValidationRow(*row) for row in connection.execute(
        text(f"SELECT {names} FROM legacy_validation ORDER BY region_code, stream"))]  # noqa: S608
    return ValidationReport(rows, _column_differences(connection, "legacy_difference"))


def _column_differences(connection: Connection, table: str) -> list[ColumnDifferences]:
    """Per (stream, column): count and the first rows; `table` has stream, natural_id,
    child_id, legacy_id and one column name per row in `column_name`."""
    result = connection.execute(text(
        "SELECT stream, column_name, count(*), "  # noqa: S608 -- `table` is this module's
        "       array_agg(jsonb_build_array(natural_id, child_id, legacy_id) "
        "                 ORDER BY natural_id, child_id) "
        f"  FROM {table} GROUP BY 1, 2 ORDER BY 1, 2"))
    return [ColumnDifferences(stream, column, count,
                              tuple(_name(stream, *example) for example in rows[:EXAMPLES]))
            for stream, column, count, rows in result]


def _name(stream: str, natural_id: int, child_id: int | None, legacy_id: int | None) -> str:
    """`property 101 / photo 5 (legacy row 3)`: ids only."""
    parent, child = NOUNS.get(stream, (stream, None))
    name = f"{parent} {natural_id}"
    if child and child_id is not None:
        name += f" / {child} {child_id}"
    if legacy_id is not None:
        name += f" (legacy row {legacy_id})"
    return name


def _compare_report(connection: Connection, region: str) -> CompareReport:
    streams = {stream: StreamComparison() for stream in STREAMS}
    counts = connection.execute(text(
        "SELECT stream, class, cardinality(columns) > 0 AS differs, count(*) "
        "  FROM legacy_compare GROUP BY 1, 2, 3"))
    for stream, kind, differs, count in counts:
        tally = streams.setdefault(stream, StreamComparison())
        if kind == "compared":
            if differs:
                tally.differing += count
            else:
                tally.same += count
        else:
            setattr(tally, kind, getattr(tally, kind) + count)
    connection.execute(text(
        "CREATE TEMP TABLE legacy_compare_column ON COMMIT DROP AS "
        "SELECT stream, natural_id, child_id, legacy_id, unnest(columns) AS column_name "
        "  FROM legacy_compare WHERE class = 'compared'"))
    examples: dict[tuple[str, str], tuple[str, ...]] = {}
    for stream, kind, rows in connection.execute(text(
            "SELECT stream, class, array_agg(jsonb_build_array(natural_id, child_id, legacy_id)"
            "      ORDER BY natural_id, child_id) "
            "  FROM legacy_compare WHERE class <> 'compared' GROUP BY 1, 2")):
        examples[(stream, kind)] = tuple(_name(stream, *row) for row in rows[:EXAMPLES])
    not_compared = connection.execute(text(
        "SELECT DISTINCT m.stream || '.' || m.v2_column FROM pg_temp.legacy_mapped_columns() m"
        " WHERE m.shadowed AND NOT pg_temp.legacy_column_present(m.legacy_table, m.legacy_column)"
        " ORDER BY 1")).scalars().all()
    return CompareReport(region, streams, _column_differences(connection, "legacy_compare_column"),
                         examples, list(not_compared))


# --- printing -------------------------------------------------------------------------------

def format_table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table for a terminal or a log."""
    cells = [[str(cell) for cell in line] for line in body]
    widths = [max(len(cell) for cell in column)
              for column in zip(header, *cells, strict=False)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
             for line in [list(header), *cells]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_validation(report: ValidationReport) -> str:
    header = [f.name for f in fields(ValidationRow)]
    lines = [format_table(header, [[getattr(row, name) for name in header]
                                   for row in report.rows])]
    lines += _format_columns("differences by column", report.differences)
    return "\n".join(lines)


def _format_columns(title: str, columns: list[ColumnDifferences]) -> list[str]:
    if not columns:
        return []
    shown = columns[:FIRST_COLUMNS]
    lines = [f"{title}" + (f" (first {FIRST_COLUMNS} of {len(columns)})"
                           if len(columns) > FIRST_COLUMNS else "") + ":"]
    lines += [f"  {c.stream}.{c.column}: {c.count}, e.g. {', '.join(c.examples)}"
              for c in shown]
    return lines


def format_comparison(report: CompareReport) -> str:
    header = ["stream", "only_in_old", "only_in_new", "differing", "same", "not_comparable"]
    body = [[stream, c.only_in_old, c.only_in_new, c.differing, c.same, c.not_comparable]
            for stream, c in report.streams.items()]
    lines = [f"region {report.region}: old scripts' tables (breezeaway_*_gw) vs the rows "
             "the pipeline loaded", format_table(header, body)]
    lines += _format_columns("columns that differ", report.columns)
    for kind, title in (("only_in_old", "only in old"), ("only_in_new", "only in new"),
                        ("not_comparable", "legacy photo sets that do not split (not compared)")):
        found = [(stream, ex) for (stream, k), ex in sorted(report.examples.items()) if k == kind]
        if found:
            lines.append(f"{title}:")
            lines += [f"  {stream}: {', '.join(ex)}"
                      + (", …" if getattr(report.streams[stream], kind) > len(ex) else "")
                      for stream, ex in found]
    if report.not_compared:
        lines.append("not compared (absent from the legacy tables): "
                     + ", ".join(report.not_compared))
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------

COMMANDS = ("migrate-legacy", "validate-legacy", "compare-legacy")


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the legacy sub-commands to `breezeway-db`'s sub-parsers."""
    migrate = commands.add_parser(
        "migrate-legacy", parents=[common],
        help="move the legacy breezeaway_*_gw tables into the v2 tables, then validate")
    migrate.add_argument("--run-id", help="recorded on load_rejects and legacy_loads "
                         "(default: legacy-<UTC time>)")
    migrate.add_argument("--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_S,
                         metavar="SECONDS",
                         help="how long to wait for a gap between pipeline loads "
                         f"(default {DEFAULT_LOCK_WAIT_S:g})")
    commands.add_parser("validate-legacy", parents=[common],
                        help="check every legacy row and migrated value against v2; "
                        "exit 1 on any mismatch")
    compare = commands.add_parser(
        "compare-legacy", parents=[common],
        help="shadow compare: legacy tables vs the rows the pipeline loaded, for one region")
    compare.add_argument("--region", required=True, help="region code, e.g. nashville")


def run_command(args: argparse.Namespace, engine: Engine,
                echo: Callable[[str], None] = print) -> int:
    """Run one legacy sub-command; returns the exit status (errors are raised)."""
    commands = {"migrate-legacy": _run_migrate, "validate-legacy": _run_validate,
                "compare-legacy": _run_compare}
    return commands[args.command](args, engine, echo)


def _run_migrate(args: argparse.Namespace, engine: Engine, echo: Callable[[str], None]) -> int:
    run_id = args.run_id or datetime.now(UTC).strftime("legacy-%Y%m%dT%H%M%SZ")
    report = migrate_legacy(engine, args.schema, run_id, args.lock_wait)
    echo(format_validation(report))
    echo(f"legacy migration {run_id} committed: {_summary(report)}")
    return 0


def _run_validate(args: argparse.Namespace, engine: Engine, echo: Callable[[str], None]) -> int:
    report = validate_legacy(engine, args.schema)
    if not report.ok:
        raise ValidationFailed(report)  # breezeway-db prints the report with the error
    if report.legacy_rows == 0:
        echo(f"0 legacy rows found in {args.schema}: nothing to validate")
        return 0
    echo(format_validation(report))
    echo(f"validation passed: {_summary(report)}")
    return 0


def _run_compare(args: argparse.Namespace, engine: Engine, echo: Callable[[str], None]) -> int:
    report = compare_legacy(engine, args.schema, args.region)
    echo(format_comparison(report))
    if report.differences:
        echo(f"{report.differences} difference(s) between the old scripts and the pipeline "
             f"in region {args.region}")
        return 1
    echo(f"no differences in region {args.region}: the old scripts and the pipeline agree")
    return 0


def _summary(report: ValidationReport) -> str:
    return (f"{report.legacy_rows} legacy rows (photos and guests one by one) are loaded or "
            f"rejected, every migrated value matches; {report.pipeline_owned} skipped because "
            "the pipeline owns them")
