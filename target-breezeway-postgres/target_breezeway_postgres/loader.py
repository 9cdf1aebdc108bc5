"""Writes one load unit in one transaction, set-based, parents before children.

Per stream (in `LOAD_ORDER`): COPY the converted rows into a temp table, reject orphans
(parent neither in the database nor in the unit — parents are already written), replace
child sets of the parents present in the unit, upsert with `ON CONFLICT … DO UPDATE … WHERE`
the row really changed, and touch `synced_at` of unchanged rows. A few statements per stream,
never one per record. All SQL identifiers come from `mapping.py`; values are bound or COPYed.
"""

# SQL here is built from identifiers declared in mapping.py, never from record data;
# every value is bound or COPYed.
# ruff: noqa: S608

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from target_breezeway_postgres import rejects, runs
from target_breezeway_postgres.mapping import LOAD_ORDER, MAPPINGS, TableMapping
from target_breezeway_postgres.units import LoadUnit, Reject, StagedRow, natural_key

LOGGER = logging.getLogger("target_breezeway_postgres.loader")
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class FlushResult:
    """What one flush did, per (region_code, stream)."""

    loaded: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    soft_deleted: int = 0


def stage_table(mapping: TableMapping) -> str:
    return f"stage_{mapping.table}"


def _copy_value(value: Any) -> str:
    if type(value) is str:
        return value.translate(COPY_ESCAPES)
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value).translate(COPY_ESCAPES)


def _stage_columns(mapping: TableMapping) -> list[tuple[str, str]]:
    columns = [("_row", "INTEGER"), ("_ok", "BOOLEAN"), ("region_code", "TEXT")]
    if mapping.parent:
        columns.append(("parent_id", "BIGINT"))
    if mapping.child_key:
        key_type = "INTEGER" if mapping.child_key == "position" else "BIGINT"
        columns.append((mapping.child_key, key_type))
    for column in mapping.columns:
        if column.name != mapping.child_key:
            columns.append((column.name, column.convert.sql_type))
    return columns


def _stage_line(index: int, row: StagedRow, mapping: TableMapping, names: list[str]) -> str:
    fixed: dict[str, Any] = {"_row": index, "_ok": row.values is not None,
                             "region_code": row.region_code, "parent_id": row.parent_id}
    if mapping.child_key:
        fixed[mapping.child_key] = row.key[-1]
    elif mapping.id_column:
        fixed[mapping.id_column] = row.key[0]
    values = row.values or {}
    return "\t".join(
        _copy_value(fixed[n] if n in fixed else values.get(n)) for n in names
    ) + "\n"


class Loader:
    """Owns the database connection of the target; one `flush` = one transaction."""

    def __init__(self, connection: Any, schema: str, run_id: str) -> None:
        self.connection = connection
        self.schema = schema
        self.run_id = run_id

    def flush(self, unit: LoadUnit, tallies: runs.RunTallies) -> FlushResult:
        """Write the unit and its bookkeeping atomically; roll everything back on error."""
        result = FlushResult()
        try:
            with self.connection.cursor() as cursor:
                self._write(cursor, unit, result, tallies)
            self.connection.commit()
        except BaseException:
            self.connection.rollback()
            raise
        return result

    def _write(self, cursor: Any, unit: LoadUnit, result: FlushResult,
               tallies: runs.RunTallies) -> None:
        _register_regions(cursor, unit)
        unit_rejects: list[Reject] = list(unit.rejects)
        superseded = _drop_superseded_refeeds(unit)
        for mapping in LOAD_ORDER:
            rows = list(unit.rows.get(mapping.stream, {}).values())
            _reject_in_unit_duplicates(mapping, rows)
            _stage(cursor, mapping, rows)
            unit_rejects += self._load_stream(cursor, mapping, rows, result)
        _resolve_task_reservations(cursor)
        for completion in unit.completions:
            result.soft_deleted += _soft_delete_unseen(cursor, completion)
        for reject in unit_rejects:
            result.rejected[(reject.region_code, reject.stream)] += 1
        rejects.resolve_keys(cursor, superseded)
        rejects.record(cursor, unit_rejects, self.run_id)
        tallies.add_flush(result.loaded, result.rejected)
        runs.write_tallies(cursor, self.run_id, tallies)

    def _load_stream(self, cursor: Any, mapping: TableMapping, rows: list[StagedRow],
                     result: FlushResult) -> list[Reject]:
        stage = stage_table(mapping)
        found: list[Reject] = [_reject(mapping, r, r.reason or "") for r in rows if r.reason]
        if mapping.parent:
            found += _mark(cursor, mapping, rows, _orphan_sql(mapping), _orphan_reason(mapping))
        if mapping.child_key and mapping.parent:
            _replace_child_sets(cursor, mapping)
            if mapping.one_per_parent:
                found += _mark(cursor, mapping, rows, _second_flag_sql(mapping),
                               f"second {mapping.one_per_parent} child of "
                               f"{mapping.parent.source}={{parent_id}}: the database keeps "
                               "another one for this parent")
                _clear_flag(cursor, mapping)
        if not rows:
            return found
        cursor.execute(_upsert_sql(mapping))
        cursor.execute(_touch_sql(mapping))
        rejected_rows = {id(r.record) for r in found}
        for row in rows:
            if id(row.record) not in rejected_rows:
                result.loaded[(row.region_code, mapping.stream)] += 1
        cursor.execute(rejects.resolve_loaded_sql(mapping, stage), (mapping.stream,))
        return found


# --- staging -------------------------------------------------------------------------------

def _stage(cursor: Any, mapping: TableMapping, rows: list[StagedRow]) -> None:
    """Temp table + COPY. Created for every stream, even empty: child-set replacement needs
    to know that a parent in the unit has no children of that stream."""
    columns = _stage_columns(mapping)
    names = [name for name, _ in columns]
    ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
    cursor.execute(f"CREATE TEMP TABLE {stage_table(mapping)} ({ddl}) ON COMMIT DROP")
    if not rows:
        return
    buffer = io.StringIO()
    buffer.writelines(_stage_line(i, row, mapping, names) for i, row in enumerate(rows))
    buffer.seek(0)
    cursor.copy_expert(
        f"COPY {stage_table(mapping)} ({', '.join(names)}) FROM STDIN", buffer
    )
    cursor.execute(f"ANALYZE {stage_table(mapping)}")


def _parent_join(mapping: TableMapping, alias: str = "p", stage: str = "s") -> str:
    """Join the stage to the parent table on (parent Breezeway id, region_code)."""
    assert mapping.parent is not None
    parent = MAPPINGS[mapping.parent.stream]
    return (f"JOIN {parent.table} {alias} ON {alias}.{parent.id_column} = {stage}.parent_id "
            f"AND {alias}.region_code = {stage}.region_code")


# --- rejects found in SQL ------------------------------------------------------------------

def _reject(mapping: TableMapping, row: StagedRow, reason: str) -> Reject:
    return Reject(mapping.stream, row.region_code,
                  natural_key(mapping, row.region_code, row.key), reason, row.record)


def _mark(cursor: Any, mapping: TableMapping, rows: list[StagedRow], sql: str, reason: str
          ) -> list[Reject]:
    """Run an `UPDATE stage SET _ok = false … RETURNING _row`; reject the rows it returns."""
    cursor.execute(sql)
    found = []
    for (index,) in cursor.fetchall():
        row = rows[index]
        found.append(_reject(mapping, row, reason.format(parent_id=row.parent_id)))
    return found


def _orphan_sql(mapping: TableMapping) -> str:
    assert mapping.parent is not None
    parent = MAPPINGS[mapping.parent.stream]
    stage = stage_table(mapping)
    return (
        f"UPDATE {stage} s SET _ok = false WHERE s._ok AND NOT EXISTS ("
        f"SELECT 1 FROM {parent.table} p WHERE p.{parent.id_column} = s.parent_id "
        f"AND p.region_code = s.region_code) RETURNING s._row"
    )


def _orphan_reason(mapping: TableMapping) -> str:
    assert mapping.parent is not None
    return (f"orphan: parent {mapping.parent.stream} {mapping.parent.source}={{parent_id}} "
            "is neither in the database nor loadable in this load unit")


def _second_flag_sql(mapping: TableMapping) -> str:
    """Staged flag=true rows whose parent keeps another flagged child that stays flagged
    (its parent is not in the unit, so its child set is not being replaced)."""
    assert mapping.parent and mapping.child_key and mapping.one_per_parent
    parent = MAPPINGS[mapping.parent.stream]
    stage, flag, key = stage_table(mapping), mapping.one_per_parent, mapping.child_key
    return (
        f"UPDATE {stage} s SET _ok = false FROM {parent.table} p "
        f"JOIN {mapping.table} c ON c.{mapping.parent.pk_column} = p.id AND c.{flag} "
        f"WHERE p.{parent.id_column} = s.parent_id AND p.region_code = s.region_code "
        f"AND s._ok AND s.{flag} AND c.{key} <> s.{key} "
        f"AND NOT EXISTS (SELECT 1 FROM {stage} s2 WHERE s2.parent_id = s.parent_id "
        f"AND s2.region_code = s.region_code AND s2.{key} = c.{key} AND s2._ok "
        f"AND NOT s2.{flag}) RETURNING s._row"
    )


def _reject_in_unit_duplicates(mapping: TableMapping, rows: list[StagedRow]) -> None:
    """Within the unit, a second flagged child of one parent (e.g. two default photos)
    becomes a failed row: rejected, but still present for child-set replacement."""
    if not mapping.one_per_parent:
        return
    flag: str = mapping.one_per_parent
    seen: dict[tuple[str, int | None], int] = {}
    for row in rows:
        if row.values is None or not row.values.get(flag):
            continue
        parent = (row.region_code, row.parent_id)
        if parent in seen:
            parent_field = mapping.parent.source if mapping.parent else "parent"
            row.reason = (f"second {flag} child of {parent_field}={row.parent_id} "
                          f"(first: {seen[parent]})")
            row.values = None
        else:
            seen[parent] = row.key[-1]


# --- writing -------------------------------------------------------------------------------

def _replace_child_sets(cursor: Any, mapping: TableMapping) -> None:
    """Children of parents present in the unit that the unit no longer lists are deleted."""
    assert mapping.parent and mapping.child_key
    parent = MAPPINGS[mapping.parent.stream]
    stage, parent_stage, key = stage_table(mapping), stage_table(parent), mapping.child_key
    cursor.execute(
        f"DELETE FROM {mapping.table} c USING {parent_stage} ps "
        f"JOIN {parent.table} p ON p.{parent.id_column} = ps.{parent.id_column} "
        f"AND p.region_code = ps.region_code "
        f"WHERE c.{mapping.parent.pk_column} = p.id AND NOT EXISTS ("
        f"SELECT 1 FROM {stage} s WHERE s.parent_id = ps.{parent.id_column} "
        f"AND s.region_code = ps.region_code AND s.{key} = c.{key})"
    )


def _clear_flag(cursor: Any, mapping: TableMapping) -> None:
    """Unset a flag that moves to another child before the upsert sets it there (the
    partial unique index is checked row by row, not at the end of the statement)."""
    assert mapping.parent and mapping.child_key and mapping.one_per_parent
    stage, flag, key = stage_table(mapping), mapping.one_per_parent, mapping.child_key
    cursor.execute(
        f"UPDATE {mapping.table} c SET {flag} = false, updated_at = now(), synced_at = now() "
        f"FROM {stage} s {_parent_join(mapping)} "
        f"WHERE c.{mapping.parent.pk_column} = p.id AND c.{key} = s.{key} "
        f"AND s._ok AND NOT s.{flag} AND c.{flag}"
    )


def _upsert_sql(mapping: TableMapping) -> str:
    """INSERT … ON CONFLICT DO UPDATE … WHERE changed: unchanged rows are not rewritten and
    keep their updated_at; a soft-deleted row that comes back is restored."""
    stage = stage_table(mapping)
    data = list(mapping.column_names)
    select = [f"s.{name}" for name in data]
    joins = ""
    if mapping.parent:
        joins += " " + _parent_join(mapping)
        data.append(mapping.parent.pk_column)
        select.append("p.id")
    for number, lookup in enumerate(mapping.lookups):
        target = MAPPINGS[lookup.stream]
        alias = f"l{number}"
        joins += (f" LEFT JOIN {target.table} {alias} ON {alias}.{target.id_column} = "
                  f"s.{lookup.id_column} AND {alias}.region_code = s.region_code")
        data.append(lookup.pk_column)
        select.append(f"{alias}.id")
    if not mapping.child_key:
        data.insert(0, "region_code")
        select.insert(0, "s.region_code")
    key_columns = ", ".join(mapping.key_columns)
    compared = [name for name in data if name not in mapping.key_columns]
    changed = (f"({', '.join('t.' + n for n in compared)}) IS DISTINCT FROM "
               f"({', '.join('EXCLUDED.' + n for n in compared)})")
    updates = [f"{name} = EXCLUDED.{name}" for name in compared]
    if mapping.id_column:  # parents are soft-deleted; a returning one is restored
        updates.append("deleted_at = NULL")
        changed += " OR t.deleted_at IS NOT NULL"
    updates += ["updated_at = now()", "synced_at = now()"]
    return (
        f"INSERT INTO {mapping.table} AS t ({', '.join(data)}) "
        f"SELECT {', '.join(select)} FROM {stage} s{joins} WHERE s._ok "
        f"ON CONFLICT ({key_columns}) DO UPDATE SET {', '.join(updates)} WHERE {changed}"
    )


def _touch_sql(mapping: TableMapping) -> str:
    """synced_at = last time seen upstream, also for rows the upsert left unchanged."""
    stage = stage_table(mapping)
    if mapping.child_key and mapping.parent:
        return (
            f"UPDATE {mapping.table} t SET synced_at = now() "
            f"FROM {stage} s {_parent_join(mapping)} "
            f"WHERE s._ok AND t.{mapping.parent.pk_column} = p.id "
            f"AND t.{mapping.child_key} = s.{mapping.child_key} AND t.synced_at <> now()"
        )
    return (
        f"UPDATE {mapping.table} t SET synced_at = now() FROM {stage} s "
        f"WHERE s._ok AND t.{mapping.id_column} = s.{mapping.id_column} "
        f"AND t.region_code = s.region_code AND t.synced_at <> now()"
    )


def _resolve_task_reservations(cursor: Any) -> None:
    """Tasks loaded before their linked reservation get it once it is there (in any unit)."""
    cursor.execute(
        "UPDATE tasks t SET reservation_pk = r.id FROM stage_reservations s "
        "JOIN reservations r ON r.reservation_id = s.reservation_id "
        "AND r.region_code = s.region_code "
        "WHERE t.reservation_pk IS NULL AND t.linked_reservation_id = r.reservation_id "
        "AND t.region_code = r.region_code"
    )


def _soft_delete_unseen(cursor: Any, completion: Any) -> int:
    """Full-table stream finished a version: rows of its regions not seen are deleted."""
    mapping = MAPPINGS[completion.stream]
    total = 0
    for region_code, seen_ids in completion.seen_ids.items():
        cursor.execute(
            f"UPDATE {mapping.table} SET deleted_at = now(), updated_at = now() "
            f"WHERE region_code = %s AND deleted_at IS NULL "
            f"AND NOT ({mapping.id_column} = ANY(%s))",
            (region_code, sorted(seen_ids)),
        )
        total += cursor.rowcount
        LOGGER.info("%s version %s complete for region %s: %d soft-deleted",
                    completion.stream, completion.version, region_code, cursor.rowcount)
    return total


def _register_regions(cursor: Any, unit: LoadUnit) -> None:
    """Unknown regions are registered from the records; company_id from properties."""
    regions = sorted(unit.regions())
    if not regions:
        return
    cursor.execute(
        "INSERT INTO regions (region_code, region_name) "
        "SELECT code, code FROM unnest(%s) AS code "
        "ON CONFLICT (region_code) DO NOTHING",
        (regions,),
    )
    companies: dict[str, int] = {}
    for row in unit.rows.get("properties", {}).values():
        if row.values and row.values.get("company_id") is not None:
            companies.setdefault(row.region_code, row.values["company_id"])
    for region_code, company_id in companies.items():
        cursor.execute(
            "UPDATE regions SET company_id = %s, updated_at = now() "
            "WHERE region_code = %s AND company_id IS NULL",
            (company_id, region_code),
        )


def _drop_superseded_refeeds(unit: LoadUnit) -> list[tuple[str, str]]:
    """A re-fed (previously rejected) child whose parent arrives fresh in this unit is
    superseded: the fresh parent's children are its complete set. Returns the rejects to
    mark resolved as (stream, natural key JSON)."""
    superseded = []
    for mapping in LOAD_ORDER:
        if not (mapping.parent and mapping.child_key):
            continue
        fresh = {k for k, r in unit.rows.get(mapping.parent.stream, {}).items() if not r.refed}
        rows = unit.rows.get(mapping.stream, {})
        stale = [k for k, r in rows.items() if r.refed and (r.region_code, r.parent_id) in fresh]
        for key in stale:
            row = rows.pop(key)
            nk = natural_key(mapping, row.region_code, row.key)
            superseded.append((mapping.stream, json.dumps(nk, sort_keys=True)))
    return superseded
