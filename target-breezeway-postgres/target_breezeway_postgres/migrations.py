"""Versioned SQL migrations from the repository's `sql/` folder.

Files named `NNN_description.sql` are applied in order, each once, inside one transaction
per run. `schema_migrations` records version and checksum; editing a file that was already
applied is an error, never a silent divergence. Runs are serialised across processes with a
transaction-scoped advisory lock, so several regions starting at once do not race on
`CREATE SCHEMA` or on a half-applied migration.

Files named `R__description.sql` are repeatable: they run after the versioned ones on every
call, in name order, in the same transaction, and must therefore be idempotent. They hold
objects that depend on the database around us rather than on our own history (the Guesty
view exists only while the Guesty listings table does). `schema_repeatables` records when
and with which checksum each last ran. WARNINGs a script raises reach the Python log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

# Arbitrary, stable key for pg_advisory_xact_lock: "bwmg" in ASCII.
MIGRATION_LOCK_KEY = 0x62776D67
MIGRATION_FILE = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")
REPEATABLE_FILE = re.compile(r"^R__(?P<name>[a-z0-9_]+)\.sql$")
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


LOGGER = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """A migration cannot be applied, or the database disagrees with the files."""


@dataclass(frozen=True)
class SqlScript:
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Migration(SqlScript):
    version: str


def sql_dir() -> Path:
    """Where the migrations are: `BREEZEWAY_SQL_DIR`, the wheel's copy, or the repo's `sql/`."""
    override = os.environ.get("BREEZEWAY_SQL_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


def discover_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql_dir()
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_FILE.match(path.name)
        if match:
            found.append(Migration(match["name"], path, match["version"]))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"two migration files share a version number in {directory}")
    if not found:
        raise MigrationError(f"no migration files found in {directory}")
    return found


def discover_repeatables(directory: Path | None = None) -> list[SqlScript]:
    """`R__name.sql` scripts, in name order (may be none)."""
    directory = directory or sql_dir()
    return [
        SqlScript(match["name"], path)
        for path in sorted(directory.glob("R__*.sql"))
        if (match := REPEATABLE_FILE.match(path.name))
    ]


def quote_schema(schema: str) -> str:
    """Validate and quote a schema name; identifiers never come from record data."""
    if not SCHEMA_NAME.match(schema):
        raise MigrationError(f"invalid schema name {schema!r}: use lower-case letters, digits, _")
    return f'"{schema}"'


def set_search_path(connection: Connection, schema: str) -> None:
    """Target schema first, then public (where the cube/earthdistance extensions live)."""
    connection.execute(text(f"SET LOCAL search_path TO {quote_schema(schema)}, public"))


def apply_migrations(
    engine: Engine, schema: str, directory: Path | None = None
) -> list[str]:
    """Apply pending migrations, then every repeatable script; return the versions applied."""
    with engine.begin() as connection:
        return apply_migrations_on(connection, schema, directory)


def apply_migrations_on(
    connection: Connection, schema: str, directory: Path | None = None
) -> list[str]:
    """`apply_migrations` inside the caller's transaction (which then holds the migration
    lock until it ends): a caller whose own work fails rolls the schema back with it."""
    migrations = discover_migrations(directory)
    repeatables = discover_repeatables(directory)
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_schema(schema)}"))
    set_search_path(connection, schema)
    _create_bookkeeping_tables(connection)
    recorded = connection.execute(text("SELECT version, checksum FROM schema_migrations"))
    applied: dict[str, str] = {row[0]: row[1] for row in recorded.all()}
    newly_applied = []
    for migration in migrations:
        if migration.version in applied:
            _check_unchanged(migration, applied[migration.version])
            continue
        _apply_one(connection, migration)
        newly_applied.append(migration.version)
    for script in repeatables:
        _apply_repeatable(connection, script)
    return newly_applied


def pending_migrations(
    connection: Connection, schema: str, directory: Path | None = None
) -> list[str]:
    """Versions not yet recorded in `schema` (all of them when it has no schema_migrations);
    reads only, takes no lock."""
    versions = [migration.version for migration in discover_migrations(directory)]
    table = connection.execute(
        text("SELECT to_regclass(:name)"), {"name": f"{quote_schema(schema)}.schema_migrations"}
    ).scalar()
    if table is None:
        return versions
    recorded = connection.execute(
        text(f"SELECT version FROM {quote_schema(schema)}.schema_migrations")  # noqa: S608
    ).scalars()
    return sorted(set(versions) - set(recorded))


def _create_bookkeeping_tables(connection: Connection) -> None:
    connection.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version TEXT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    )
    connection.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_repeatables ("
            " name TEXT PRIMARY KEY, checksum TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    )


def _check_unchanged(migration: Migration, recorded_checksum: str) -> None:
    if migration.checksum != recorded_checksum:
        raise MigrationError(
            f"migration {migration.path.name} was edited after it was applied "
            f"(recorded checksum {recorded_checksum[:12]}…, file {migration.checksum[:12]}…); "
            "add a new migration instead of changing an applied one"
        )


def run_script(connection: Connection, script: SqlScript) -> None:
    """Run one SQL file as is; its WARNINGs go to the log, its failure names the file."""
    dbapi_connection: Any = connection.connection.dbapi_connection  # psycopg2's
    notices = dbapi_connection.notices
    del notices[:]
    try:
        # The file goes to the server as one multi-statement string through the DBAPI
        # cursor with no parameters, so neither SQLAlchemy nor psycopg2 interprets its
        # ':' and '%' (format() patterns, casts).
        with dbapi_connection.cursor() as cursor:
            cursor.execute(script.sql)
    except Exception as error:  # re-raised with the file name; the transaction rolls back
        raise MigrationError(f"{script.path.name} failed: {error}") from error
    finally:
        _log_notices(script, notices)


def _log_notices(script: SqlScript, notices: list[str]) -> None:
    for notice in notices:
        message = notice.strip()
        if message.startswith("WARNING"):
            LOGGER.warning("%s: %s", script.path.name, message)
        else:
            LOGGER.debug("%s: %s", script.path.name, message)
    del notices[:]


def _apply_one(connection: Connection, migration: Migration) -> None:
    try:
        run_script(connection, migration)
    except MigrationError as error:
        raise MigrationError(f"migration {error}") from error.__cause__
    connection.execute(
        text("INSERT INTO schema_migrations (version, name, checksum) VALUES (:v, :n, :c)"),
        {"v": migration.version, "n": migration.name, "c": migration.checksum},
    )


def _apply_repeatable(connection: Connection, script: SqlScript) -> None:
    run_script(connection, script)
    connection.execute(
        text(
            "INSERT INTO schema_repeatables (name, checksum) VALUES (:n, :c)"
            " ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()"
        ),
        {"n": script.name, "c": script.checksum},
    )
