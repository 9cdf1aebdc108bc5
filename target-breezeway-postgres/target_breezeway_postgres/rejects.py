"""The reject quarantine (`load_rejects`): nothing is lost, everything is retried.

A record that cannot load is stored with its stream, natural key, reason and raw record. One
open row per (stream, natural key): seeing the reject again bumps `last_seen_at`, and
`attempts` once per run (a run may meet it twice: fed again, then fresh from the tap).
At the next run the open rejects of a region are fed again before its new records, and a
reject is marked `resolved_at` when a record with its natural key loads.
"""

# SQL here is built from identifiers declared in mapping.py, never from record data;
# every value is bound or COPYed.
# ruff: noqa: S608

from __future__ import annotations

import json
from typing import Any

from psycopg2.extras import execute_values

from target_breezeway_postgres.conversions import strip_nul
from target_breezeway_postgres.mapping import LOAD_ORDER, TableMapping
from target_breezeway_postgres.units import Reject


def record(cursor: Any, rejects: list[Reject], run_id: str) -> None:
    """Insert new rejects; a reject already open for the same key is updated instead."""
    by_key: dict[tuple[str, str], Reject] = {}
    for reject in rejects:  # one statement may not touch the same open row twice
        by_key[(reject.stream, reject.natural_key_json)] = reject
    if not by_key:
        return
    values = [
        (r.region_code, r.stream, r.natural_key_json, r.reason,
         json.dumps(strip_nul(r.record), default=str), run_id)
        for r in by_key.values()
    ]
    execute_values(
        cursor,
        "INSERT INTO load_rejects (region_code, stream, natural_key, reason, record, run_id) "
        "VALUES %s ON CONFLICT (stream, natural_key) WHERE resolved_at IS NULL DO UPDATE SET "
        "attempts = load_rejects.attempts + CASE WHEN load_rejects.run_id "
        "IS NOT DISTINCT FROM EXCLUDED.run_id THEN 0 ELSE 1 END, last_seen_at = now(), "
        "reason = EXCLUDED.reason, record = EXCLUDED.record, run_id = EXCLUDED.run_id",
        values,
        template="(%s, %s, %s::jsonb, %s, %s::jsonb, %s)",
    )


def resolve_loaded_sql(mapping: TableMapping, stage: str) -> str:
    """Resolve open rejects whose natural key loaded from `stage` (set-based)."""
    stage_columns = (
        ("parent_id", mapping.child_key) if mapping.child_key else (mapping.id_column,)
    )
    pairs = ", ".join(
        f"'{name}', s.{column}"
        for name, column in zip(mapping.key_properties, stage_columns, strict=True)
    )
    return (
        f"UPDATE load_rejects r SET resolved_at = now() FROM {stage} s "
        f"WHERE s._ok AND r.resolved_at IS NULL AND r.stream = %s "
        f"AND r.natural_key = jsonb_build_object({pairs}, 'region_code', s.region_code)"
    )


def resolve_keys(cursor: Any, keys: list[tuple[str, str]]) -> None:
    """Resolve rejects superseded by fresher data (stream, natural key JSON)."""
    for stream, key_json in keys:
        cursor.execute(
            "UPDATE load_rejects SET resolved_at = now() WHERE resolved_at IS NULL "
            "AND stream = %s AND natural_key = %s::jsonb",
            (stream, key_json),
        )


def open_rejects(cursor: Any, region_code: str) -> list[tuple[str, dict[str, Any]]]:
    """Open rejects of a region, parents first, oldest first: what to feed again."""
    cursor.execute(
        "SELECT stream, record FROM load_rejects WHERE resolved_at IS NULL "
        "AND region_code = %s AND stream = ANY(%s) "
        "ORDER BY array_position(%s, stream), id",
        (region_code, [m.stream for m in LOAD_ORDER], [m.stream for m in LOAD_ORDER]),
    )
    return list(cursor.fetchall())
