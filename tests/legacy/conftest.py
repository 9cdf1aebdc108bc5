"""Fixtures for the legacy cut-over tests: legacy tables in a test schema, the real
pipeline (tap → target against the simulator) and the real `psql` client."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from breezeway_sim import Simulator
from tap_breezeway.tap import TapBreezeway
from target_breezeway_postgres.legacy import legacy_dir
from target_breezeway_postgres.target import TargetBreezewayPostgres

sys.path.insert(0, os.path.dirname(__file__))

REVIEW_DDL = Path(__file__).parent / "fixtures" / "review_legacy_tables.sql"


def review_ddl(schema: str) -> str:
    """The review's DDL with its two mechanical adaptations (see the fixture's header)."""
    sql = REVIEW_DDL.read_text(encoding="utf-8")
    sql, commas = re.subn(r",((?:\s*--[^\n]*\n)+)\);", r"\1);", sql)
    sql, names = re.subn(r"\bapi_integrations\.", f'"{schema}".', sql)
    assert (commas, names) == (2, 3), "the fixture is no longer the review's DDL"
    return sql


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


def tap_lines(sim: Simulator, region: str) -> list[str]:
    """A full sync of one region by the real tap, as Singer lines."""
    client_id, client_secret = sim.credentials(region)
    tap = TapBreezeway(config={
        "client_id": client_id, "client_secret": client_secret, "region_code": region,
        "api_url": sim.base_url, "max_requests_per_second": 0, "backoff_factor_s": 0.01})
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return buffer.read().splitlines(keepends=True)


def run_target(db: Any, lines: Iterable[str], region: str) -> None:
    """Load Singer lines with the real target (its stdout, the STATE lines, discarded)."""
    target = TargetBreezewayPostgres(config={
        "sqlalchemy_url": db.url, "schema": db.schema, "region_code": region})
    try:
        with redirect_stdout(io.StringIO()):
            target.listen(iter(lines))
    finally:
        target.engine.dispose()


def pausing(lines: list[str], before_stream: str, action: Callable[[], None]) -> Iterator[str]:
    """The lines, running `action` once when the target asks for the first message of
    `before_stream`: the sync is under way (earlier streams read, some units committed,
    the run still open) while `action` runs."""
    paused = False
    for line in lines:
        if not paused and f'"stream":"{before_stream}"' in line.replace(" ", ""):
            paused = True
            action()
        yield line
    assert paused, f"no {before_stream} message in the tap output"


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
