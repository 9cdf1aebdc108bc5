"""Helpers shared by the target tests: target config and exact table dumps."""

from __future__ import annotations

from typing import Any

TABLES = ["regions", "properties", "property_photos", "reservations", "reservation_guests",
          "tasks", "task_assignments", "task_photos", "task_costs", "task_supplies", "people"]


def target_config(db: Any, **overrides: Any) -> dict[str, Any]:
    config = {"sqlalchemy_url": db.url, "schema": db.schema}
    config.update(overrides)
    return config


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
