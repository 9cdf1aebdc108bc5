"""Helpers for the schema tests: insert rows with bound values into a migrated schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
import sqlalchemy as sa

Insert = Callable[..., int]


def insert_row(connection: sa.Connection, table: str, values: Mapping[str, Any]) -> int:
    """INSERT one row (table and column names from the test code, values bound); return id."""
    columns = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    statement = sa.text(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id")
    return connection.execute(statement, dict(values)).scalar_one()


@pytest.fixture
def insert(migrated_db) -> Insert:
    """insert(table, **values) -> id, committed, with search_path on the test schema."""

    def _insert(table: str, **values: Any) -> int:
        with migrated_db.engine.begin() as connection:
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}", public')
            return insert_row(connection, table, values)

    return _insert



@pytest.fixture
def execute(migrated_db) -> Callable[..., None]:
    """execute(sql, **params): run a statement that returns no rows, committed."""

    def _execute(sql: str, **params: Any) -> None:
        with migrated_db.engine.begin() as connection:
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}", public')
            connection.execute(sa.text(sql), params)

    return _execute
