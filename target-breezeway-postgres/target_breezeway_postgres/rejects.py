"""The reject quarantine (`load_rejects`): nothing is lost, everything is retried.

A record that cannot load is stored with its stream, natural key, reason and raw record. One
open row per (stream, natural key): seeing the reject again bumps `last_seen_at`, and
`attempts` once per run (a run may meet it twice: fed again, then fresh from the tap).
At the next run the open rejects of a region are fed again before its new records, parents
first and oldest first, one page at a time (`refeed_pages`), and a reject is marked
`resolved_at` when a record with its natural key loads. Feeding a reject again counts as an
attempt, committed before the load is written (so even a reject that breaks its whole unit
is counted); one tried `max_attempts` times is marked `dead_at` and fed no more — it stays
open for a person to see (sql/005_reject_lifecycle.sql).
"""

# SQL here is built from identifiers declared in mapping.py, never from record data;
# every value is bound or COPYed.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from psycopg2.extras import execute_values

from target_breezeway_postgres.conversions import json_text
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
         json_text(r.record), run_id)
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


def refeed_pages(transact: Callable[[Callable[[Any], Any]], Any], run_id: str,
                 region_code: str, page_size: int, max_attempts: int
                 ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The live open rejects of a region as (stream, records) pages of at most `page_size`,
    parents first, oldest first. Rejects tried `max_attempts` times are marked dead first.

    Each page is claimed (attempt counted) and committed before it is yielded, by
    `transact(work)`, which runs `work(cursor)` in a transaction of the target's session
    (waiting for the writer that shares it): the caller may write load units between pages.
    """
    transact(lambda cursor: mark_dead(cursor, region_code, max_attempts))
    for mapping in LOAD_ORDER:
        after_id = 0
        while True:
            def claim(cursor: Any, stream: str = mapping.stream, after: int = after_id
                      ) -> list[tuple[int, dict[str, Any]]]:
                return claim_page(cursor, run_id, region_code, stream, after, page_size)

            page = transact(claim)
            if page:
                after_id = page[-1][0]
                yield mapping.stream, [record for _, record in page]
            if len(page) < page_size:
                break


def mark_dead(cursor: Any, region_code: str, max_attempts: int) -> int:
    """Give up on the open rejects of a region tried `max_attempts` times; how many."""
    cursor.execute(
        "UPDATE load_rejects SET dead_at = now() WHERE resolved_at IS NULL "
        "AND dead_at IS NULL AND region_code = %s AND attempts >= %s",
        (region_code, max_attempts),
    )
    return cursor.rowcount


def claim_page(cursor: Any, run_id: str, region_code: str, stream: str, after_id: int,
               limit: int) -> list[tuple[int, dict[str, Any]]]:
    """The next `limit` live open rejects of a stream after `after_id`, by id, counted as
    attempted by this run (once per run, as `record` counts)."""
    cursor.execute(
        "UPDATE load_rejects r SET run_id = %(run_id)s, attempts = r.attempts + "
        "CASE WHEN r.run_id IS NOT DISTINCT FROM %(run_id)s THEN 0 ELSE 1 END "
        "FROM (SELECT id FROM load_rejects WHERE resolved_at IS NULL AND dead_at IS NULL "
        "AND region_code = %(region)s AND stream = %(stream)s AND id > %(after)s "
        "ORDER BY id LIMIT %(limit)s) page "
        "WHERE r.id = page.id RETURNING r.id, r.record",
        {"run_id": run_id, "region": region_code, "stream": stream, "after": after_id,
         "limit": limit},
    )
    return sorted(cursor.fetchall(), key=lambda row: row[0])
