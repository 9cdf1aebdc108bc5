"""Fixtures for target tests: run the real target in-process against real PostgreSQL."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any

import pytest
from target_breezeway_postgres.target import TargetBreezewayPostgres

sys.path.insert(0, __import__("os").path.dirname(__file__))

import singer_messages as singer
from target_helpers import target_config


@pytest.fixture
def run_target(migrated_db: Any, capsys: pytest.CaptureFixture[str]
               ) -> Callable[..., list[str]]:
    """Feed messages (with SCHEMA prefixed) to a fresh target; return its stdout lines."""

    def run(messages: list[dict[str, Any]], **config: Any) -> list[str]:
        target = TargetBreezewayPostgres(config=target_config(migrated_db, **config))
        capsys.readouterr()
        try:
            target.listen(io.StringIO(singer.dumps(singer.with_schemas(messages))))
        finally:
            target.session.close()
        return [line for line in capsys.readouterr().out.splitlines() if line.strip()]

    return run


@pytest.fixture
def second_db(migrated_db: Any) -> Any:
    """A second migrated schema in the same database (to compare two loads table by table)."""
    import uuid

    from target_breezeway_postgres.migrations import apply_migrations

    schema = f"t_{uuid.uuid4().hex[:12]}"
    apply_migrations(migrated_db.engine, schema)
    yield type(migrated_db)(migrated_db.url, migrated_db.engine, schema)
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
