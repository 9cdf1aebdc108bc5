"""The migration runner: ordered, recorded, idempotent, loud about edited files."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from target_breezeway_postgres.migrations import (
    MigrationError,
    apply_migrations,
    discover_migrations,
    discover_repeatables,
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

    assert not _migrations_table_exists(pg_engine, pg_schema)


def test_schema_name_is_validated(pg_engine):
    with pytest.raises(MigrationError, match="invalid schema name"):
        apply_migrations(pg_engine, 'x"; DROP TABLE y; --')


def test_concurrent_runs_on_a_fresh_schema_both_succeed(pg_engine, pg_schema):
    """Two regions starting at once: the advisory lock makes one wait, then find nothing to do."""
    start = threading.Barrier(2)

    def run() -> list[str]:
        start.wait()
        return apply_migrations(pg_engine, pg_schema)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [future.result(timeout=60) for future in [pool.submit(run), pool.submit(run)]]

    versions = [m.version for m in discover_migrations()]
    assert sorted(results, key=len) == [[], versions]


def test_repeatable_scripts_run_on_every_call_and_are_recorded(pg_engine, pg_schema, tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    (copy / "R__zz_counter.sql").write_text(
        "CREATE TABLE IF NOT EXISTS zz_runs (n int);\nINSERT INTO zz_runs VALUES (1);\n"
    )
    names = [script.name for script in discover_repeatables(copy)]
    assert names == ["guesty_views", "zz_counter"]

    apply_migrations(pg_engine, pg_schema, copy)
    (copy / "R__zz_counter.sql").write_text(
        "CREATE TABLE IF NOT EXISTS zz_runs (n int);\nINSERT INTO zz_runs VALUES (2);\n"
    )
    assert apply_migrations(pg_engine, pg_schema, copy) == []  # an edited repeatable is fine

    with pg_engine.connect() as connection:
        runs = connection.exec_driver_sql(
            f'SELECT n FROM "{pg_schema}".zz_runs ORDER BY n'
        ).scalars().all()
        recorded = connection.exec_driver_sql(
            f'SELECT name FROM "{pg_schema}".schema_repeatables ORDER BY name'
        ).scalars().all()
    assert runs == [1, 2]
    assert recorded == names


def test_failing_repeatable_names_its_file_and_rolls_back(pg_engine, pg_schema, tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    (copy / "R__broken.sql").write_text("SELECT * FROM no_such_table;\n")

    with pytest.raises(MigrationError, match=r"R__broken\.sql failed"):
        apply_migrations(pg_engine, pg_schema, copy)
    assert not _migrations_table_exists(pg_engine, pg_schema)


def _migrations_table_exists(engine, schema: str) -> bool:
    """Whether a run left schema_migrations behind (a failed run must leave nothing)."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT to_regclass(%s)", (f'"{schema}".schema_migrations',)
        ).scalar() is not None
