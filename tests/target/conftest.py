"""Fixtures for target tests: run the real target in-process against real PostgreSQL."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any

import pytest
from target_breezeway_postgres.target import TargetBreezewayPostgres

sys.path.insert(0, __import__("os").path.dirname(__file__))

import singer

TABLES = ["regions", "properties", "property_photos", "reservations", "reservation_guests",
          "tasks", "task_assignments", "task_photos", "task_costs", "task_supplies", "people"]


def target_config(db: Any, **overrides: Any) -> dict[str, Any]:
    config = {"sqlalchemy_url": db.url, "schema": db.schema}
    config.update(overrides)
    return config


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
            target.engine.dispose()
        return [line for line in capsys.readouterr().out.splitlines() if line.strip()]

    return run


def dump(db: Any, exclude: tuple[str, ...] = ("synced_at",)) -> dict[str, list[tuple]]:
    """Every table's rows (all columns but `exclude`), ordered: for exact comparisons."""
    result = {}
    for table in TABLES:
        columns = [
            r[0] for r in db.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position",
                s=db.schema, t=table)
            if r[0] not in exclude
        ]
        rows = db.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1")
        result[table] = [tuple(r) for r in rows]
    return result
