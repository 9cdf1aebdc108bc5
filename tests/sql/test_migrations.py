"""The migration runner: ordered, recorded, idempotent, loud about edited files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from target_breezeway_postgres.migrations import (
    MigrationError,
    apply_migrations,
    discover_migrations,
    sql_dir,
)


def test_applies_every_migration_once(pg_engine, pg_schema):
    versions = [m.version for m in discover_migrations()]

    assert apply_migrations(pg_engine, pg_schema) == versions
    assert apply_migrations(pg_engine, pg_schema) == []

    with pg_engine.connect() as connection:
        recorded = connection.exec_driver_sql(
            f'SELECT version FROM "{pg_schema}".schema_migrations ORDER BY version'
        ).scalars().all()
    assert recorded == versions


def test_edited_applied_migration_is_an_error(pg_engine, pg_schema, tmp_path: Path):
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    apply_migrations(pg_engine, pg_schema, copy)
    first = sorted(copy.glob("001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")

    with pytest.raises(MigrationError, match="edited after it was applied"):
        apply_migrations(pg_engine, pg_schema, copy)


def test_failed_migration_rolls_back_whole_run(pg_engine, pg_schema, tmp_path: Path):
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    (copy / "900_broken.sql").write_text("CREATE TABLE will_vanish (x int);\nSELECT 1/0;\n")

    with pytest.raises(MigrationError, match=r"900_broken\.sql"):
        apply_migrations(pg_engine, pg_schema, copy)

    with pg_engine.connect() as connection:
        exists = connection.exec_driver_sql(
            "SELECT to_regclass(%s)", (f'"{pg_schema}".schema_migrations',)
        ).scalar()
    assert exists is None


def test_schema_name_is_validated(pg_engine):
    with pytest.raises(MigrationError, match="invalid schema name"):
        apply_migrations(pg_engine, 'x"; DROP TABLE y; --')
