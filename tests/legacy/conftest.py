"""Fixtures for the legacy cut-over tests: legacy tables in a test schema, the real
pipeline (tap → target against the simulator) and the real `psql` client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from target_breezeway_postgres.legacy import legacy_dir

sys.path.insert(0, os.path.dirname(__file__))

@pytest.fixture
def execute(migrated_db: Any) -> Callable[..., None]:
    """execute(sql, **params): one committed statement with search_path on the test schema."""

    def run(sql: str, **params: Any) -> None:
        with migrated_db.engine.begin() as connection:
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}", public')
            connection.execute(sa.text(sql), params)

    return run


@pytest.fixture
def legacy_tables(migrated_db: Any, execute: Callable[..., None]) -> Any:
    """Schema v2 plus the legacy tables with every column the migration knows."""
    execute((legacy_dir() / "000_legacy_tables.sql").read_text(encoding="utf-8"))
    return migrated_db


@pytest.fixture
def bare_schema(pg_engine: sa.Engine, pg_schema: str) -> str:
    """An empty schema (no v2): what an operator has before the first migration."""
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{pg_schema}"')
    return pg_schema


@pytest.fixture
def psql(pg_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real psql on a file of sql/legacy with search_path = <schema>, public."""
    binary = shutil.which("psql")
    if binary is None:
        pytest.fail("psql is not installed: the psql variant of validation cannot be tested")

    def run(schema: str, file: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PGOPTIONS": f"-c search_path={schema},public"}
        return subprocess.run([binary, pg_url, "-X", "-q", "-f", str(legacy_dir() / file)],
                              capture_output=True, text=True, env=env, timeout=60, check=False)

    return run
