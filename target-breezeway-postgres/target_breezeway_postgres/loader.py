"""Writes one load unit in one transaction, set-based, parents before children.

Per stream (in `LOAD_ORDER`): COPY the converted rows into a stage table, reject orphans
(parent neither in the database nor in the unit — parents are already written), replace
child sets of the parents present in the unit, and upsert (`ON CONFLICT … DO UPDATE`, which
also sets `synced_at`; `updated_at` moves only when the row really changed). A few
statements per stream, never one per record. All SQL identifiers come from `mapping.py`;
values are bound or COPYed.

`BackgroundWriter` runs `Loader.flush` on a second thread so that PostgreSQL writes unit N
while Python reads and converts unit N+1.
"""

# SQL here is built from identifiers declared in mapping.py, never from record data;
# every value is bound or COPYed.
# ruff: noqa: S608

from __future__ import annotations

import io
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from target_breezeway_postgres import redact, rejects, runs
from target_breezeway_postgres.conversions import NULL_TEXT, json_text
from target_breezeway_postgres.database import Database
from target_breezeway_postgres.mapping import LOAD_ORDER, MAPPINGS, TableMapping
from target_breezeway_postgres.units import (
    ChildSetLimits,
    LoadUnit,
    Reject,
    StagedRow,
    natural_key,
)

LOGGER = logging.getLogger("target_breezeway_postgres.loader")
COPY_CHUNK = 1 << 16


@dataclass
class FlushResult:
    """What one flush did, per (region_code, stream)."""

    loaded: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    soft_deleted: Counter[tuple[str, str]] = field(default_factory=Counter)
    revived: Counter[tuple[str, str]] = field(default_factory=Counter)


def stage_table(mapping: TableMapping) -> str:
    return f"stage_{mapping.table}"


def _stage_columns(mapping: TableMapping) -> list[tuple[str, str]]:
    """Stage table columns; the order is that of a row's COPY text (units.StagedRow)."""
    columns = [("_row", "INTEGER"), ("_ok", "BOOLEAN"), ("region_code", "TEXT")]
    if mapping.parent:
        columns.append(("parent_id", "BIGINT"))
    if mapping.child_key:
        # BIGINT even for a position: every key staged must COPY (a failed row is staged
        # too, by its key); a position the table cannot hold fails the upsert instead.
        columns.append((mapping.child_key, "BIGINT"))
    for column in mapping.staged_columns:
        columns.append((column.name, column.convert.sql_type))
    return columns


def _stage_lines(mapping: TableMapping, rows: Iterable[tuple[int, StagedRow]]
                 ) -> Iterator[str]:
    """COPY lines: `_row` (index in the unit's rows), `_ok`, then the row's precomputed text."""
    failed = "\t".join([NULL_TEXT] * len(mapping.staged_columns))
    for index, row in rows:
        if row.data is None:
            yield f"{index}\tf\t{row.head}\t{failed}\n"
        else:
            yield f"{index}\tt\t{row.head}\t{row.data}\n"


class _CopySource(io.TextIOBase):
    """A file for `copy_expert` that joins lines chunk by chunk (no copy of the whole
    stream's text in memory)."""

    def __init__(self, lines: Iterable[str]) -> None:
        super().__init__()
        self._lines = iter(lines)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        chunk: list[str] = []
        length = 0
        for line in self._lines:
            chunk.append(line)
            length += len(line)
            if size is not None and 0 <= size <= length:
                break
        return "".join(chunk)


class Loader:
    """Writes load units through the target's database session; one `flush` = one
    transaction, run again on a new connection when the connection is lost."""

    def __init__(self, database: Database, run_id: str) -> None:
        self.database = database
        self.run_id = run_id

    def flush(self, unit: LoadUnit, tallies: runs.RunTallies, read: Counter[Any]
              ) -> FlushResult:
        """Write the unit and its bookkeeping atomically; roll everything back on error.
        `read` is the run's count of records read when the unit was closed. The counts go
        into the run's tallies only once the unit is committed."""
        superseded = _prepare(unit)
        result = self.database.transaction(
            lambda cursor: self._write(cursor, unit, superseded, tallies, read),
            what="writing a load unit")
        tallies.add_flush(result)
        return result

    def _write(self, cursor: Any, unit: LoadUnit, superseded: list[tuple[str, str]],
               tallies: runs.RunTallies, read: Counter[Any]) -> FlushResult:
        result = FlushResult()
        _register_regions(cursor, unit)
        unit_rejects: list[Reject] = list(unit.rejects)
        for mapping in LOAD_ORDER:
            rows = list(unit.rows.get(mapping.stream, {}).values())
            _stage_isolating(cursor, mapping, rows)
            unit_rejects += self._load_stream(cursor, mapping, rows, result, unit.child_limits)
        _set_region_companies(cursor)
        _resolve_lookups(cursor, unit)
        for completion in unit.completions:
            result.soft_deleted.update(_soft_delete_unseen(cursor, completion))
        for reject in unit_rejects:
            result.rejected[(reject.region_code, reject.stream)] += 1
        rejects.resolve_keys(cursor, superseded)
        rejects.record(cursor, unit_rejects, self.run_id)
        runs.write_tallies(cursor, self.run_id, tallies, read, pending=result)
        return result

    def _load_stream(self, cursor: Any, mapping: TableMapping, rows: list[StagedRow],
                     result: FlushResult, limits: ChildSetLimits) -> list[Reject]:
        if not rows:
            # Parents of the unit may have lost all their children of this stream.
            if mapping.child_key and mapping.parent:
                _replace_child_sets(cursor, mapping, limits)
            return []
        found: list[Reject] = [_reject(mapping, r, r.reason or "") for r in rows if r.reason]
        marked: dict[int, Reject] = {}
        if mapping.parent:
            marked.update(_mark(cursor, mapping, rows, _orphan_sql(mapping),
                                _orphan_reason(mapping)))
        if mapping.child_key and mapping.parent:
            _replace_child_sets(cursor, mapping, limits)
            if mapping.one_per_parent:
                marked.update(_mark(cursor, mapping, rows, _second_flag_sql(mapping),
                                    f"second {mapping.one_per_parent} child of "
                                    f"{mapping.parent.source}={{parent_id}}: the database "
                                    "keeps another one for this parent"))
                _clear_flag(cursor, mapping)
        if mapping.id_column:
            cursor.execute(_revived_sql(mapping))
            result.revived.update({(region, mapping.stream): n for region, n in cursor.fetchall()})
        marked.update(_upsert_isolating(cursor, mapping, rows))
        for index, row in enumerate(rows):
            if row.data is not None and index not in marked:
                result.loaded[(row.region_code, mapping.stream)] += 1
        cursor.execute(rejects.resolve_loaded_sql(mapping, stage_table(mapping)),
                       (mapping.stream,))
        return found + list(marked.values())


def create_stage_tables(connection: Any) -> None:
    """One stage table per stream for the whole session, emptied at every commit: cheaper
    than creating and dropping ten tables in every load unit. Runs on every new connection
    (temporary tables belong to a session)."""
    with connection.cursor() as cursor:
        for mapping in LOAD_ORDER:
            ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in _stage_columns(mapping))
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage_table(mapping)} "
                           f"({ddl}) ON COMMIT DELETE ROWS")


def _prepare(unit: LoadUnit) -> list[tuple[str, str]]:
    """What is decided once per unit, before its transaction (which may be run again):
    second flagged children in the unit fail, superseded re-fed children leave it."""
    superseded = _drop_superseded_refeeds(unit)
    for mapping in LOAD_ORDER:
        _reject_in_unit_duplicates(mapping, list(unit.rows.get(mapping.stream, {}).values()))
    return superseded


# --- what PostgreSQL refuses ---------------------------------------------------------------
# Our converters check what they can, but PostgreSQL has the last word (an offset it cannot
# read, a CHECK, a value too long, a rule nobody wrote down yet). A data error (SQLSTATE
# classes 22 and 23) in a unit's COPY or upsert is traced to the records that cause it, by
# bisection under savepoints; those are quarantined with PostgreSQL's own message (values
# withheld), the rest of the unit commits. An error every record of a statement causes is
# not the data's fault and fails the unit as before.

DATA_ERRORS = (psycopg2.DataError, psycopg2.IntegrityError)


def refusal_reason(error: BaseException) -> str:
    """PostgreSQL's own reason, naming the column, never the value (see redact)."""
    diag = getattr(error, "diag", None)
    column = getattr(diag, "column_name", None)
    if column is None:
        match = re.search(r"\bcolumn (\w+)", getattr(diag, "context", None) or "")
        column = match[1] if match else None
    constraint = getattr(diag, "constraint_name", None)
    where = f" in column {column}" if column else (
        f" by constraint {constraint}" if constraint else "")
    return f"bad_value: PostgreSQL refused the record{where}: {redact.describe_error(error)}"


def _bisect(indexes: list[int], probe: Callable[[list[int]], BaseException | None]
            ) -> dict[int, str]:
    """The indexes whose probe fails alone, with the reason; a part that passes is not
    split further."""
    refused: dict[int, str] = {}
    parts = [indexes]
    while parts:
        part = parts.pop()
        error = probe(part)
        if error is None:
            continue
        if len(part) == 1:
            refused[part[0]] = refusal_reason(error)
            continue
        middle = len(part) // 2
        parts += [part[middle:], part[:middle]]
    return refused


def _probe(cursor: Any, run: Callable[[], None], keep: bool) -> BaseException | None:
    """Run a statement under a savepoint: its data error, or None. A failed probe is always
    rolled back; a passing one is kept (`keep`) or rolled back."""
    cursor.execute("SAVEPOINT probe")
    try:
        run()
    except DATA_ERRORS as error:
        cursor.execute("ROLLBACK TO SAVEPOINT probe")
        return error
    cursor.execute("RELEASE SAVEPOINT probe" if keep else "ROLLBACK TO SAVEPOINT probe")
    return None


def _stage_isolating(cursor: Any, mapping: TableMapping, rows: list[StagedRow]) -> None:
    """COPY the rows; rows whose text PostgreSQL refuses fail (kept, data-less, as present
    for child-set replacement) and the rest are staged."""
    if not rows:
        return
    error = _probe(cursor, lambda: _stage(cursor, mapping, rows), keep=True)
    if error is None:
        return
    refused = _bisect(list(range(len(rows))), lambda part: _probe(
        cursor, lambda: _copy(cursor, mapping, [(i, rows[i]) for i in part]), keep=False))
    if not refused:
        raise error
    for index, reason in refused.items():
        rows[index].fail(reason)
    LOGGER.warning("%s: PostgreSQL refused %d staged record(s); quarantined", mapping.stream,
                   len(refused))
    _stage(cursor, mapping, rows)


def _upsert_isolating(cursor: Any, mapping: TableMapping, rows: list[StagedRow]
                      ) -> dict[int, Reject]:
    """The upsert; when PostgreSQL refuses it, the rows that make it fail are marked and
    rejected, the others written."""
    error = _probe(cursor, lambda: cursor.execute(_upsert_sql(mapping)), keep=True)
    if error is None:
        return {}
    cursor.execute(f"SELECT _row FROM {stage_table(mapping)} WHERE _ok ORDER BY _row")
    candidates = [row for (row,) in cursor.fetchall()]
    subset_sql = _upsert_sql(mapping, subset=True)
    refused = _bisect(candidates, lambda part: _probe(
        cursor, lambda: cursor.execute(subset_sql, {"rows": part}), keep=True))
    if not refused or len(refused) == len(candidates) > 1:
        raise error  # not the data of some records: the statement itself
    cursor.execute(f"UPDATE {stage_table(mapping)} SET _ok = false WHERE _row = ANY(%s)",
                   (sorted(refused),))
    LOGGER.warning("%s: PostgreSQL refused %d record(s) in the upsert; quarantined",
                   mapping.stream, len(refused))
    return {index: _reject(mapping, rows[index], reason) for index, reason in refused.items()}


# --- staging -------------------------------------------------------------------------------

def _stage(cursor: Any, mapping: TableMapping, rows: list[StagedRow]) -> None:
    """COPY the unit's rows of one stream into its (empty) stage table. Staged even when
    conversion failed: child-set replacement must know such a row is still present."""
    if not rows:
        return
    _copy(cursor, mapping, enumerate(rows))
    # Statistics of the join columns only: the planner needs them (without, the tasks
    # upsert picks a plan twice as slow), and sampling every text column costs more than
    # the upsert gains.
    cursor.execute(f"ANALYZE {stage_table(mapping)} ({', '.join(_join_columns(mapping))})")


def _copy(cursor: Any, mapping: TableMapping, rows: Iterable[tuple[int, StagedRow]]) -> None:
    names = ", ".join(name for name, _ in _stage_columns(mapping))
    cursor.copy_expert(f"COPY {stage_table(mapping)} ({names}) FROM STDIN",
                       _CopySource(_stage_lines(mapping, rows)), size=COPY_CHUNK)


def _join_columns(mapping: TableMapping) -> list[str]:
    """Stage columns that SQL here joins on."""
    columns = ["region_code"]
    if mapping.parent:
        columns.append("parent_id")
    columns += [name for name in (mapping.child_key, mapping.id_column) if name]
    columns += [lookup.id_column for lookup in mapping.lookups]
    return columns


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
          ) -> dict[int, Reject]:
    """Run an `UPDATE stage SET _ok = false … RETURNING _row`; reject the rows it returns
    (keyed by their index in `rows`)."""
    cursor.execute(sql)
    return {index: _reject(mapping, rows[index], reason.format(parent_id=rows[index].parent_id))
            for (index,) in cursor.fetchall()}


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
        if not row.flag:
            continue
        parent = (row.region_code, row.parent_id)
        if parent in seen:
            parent_field = mapping.parent.source if mapping.parent else "parent"
            row.fail(f"second {flag} child of {parent_field}={row.parent_id} "
                     f"(first: {seen[parent]})")
        else:
            seen[parent] = row.key[-1]


# --- writing -------------------------------------------------------------------------------

def _replace_child_sets(cursor: Any, mapping: TableMapping, limits: ChildSetLimits) -> None:
    """Children of parents present in the unit that the unit no longer lists are deleted
    (but for children read with calls of their own: not where `limits` says a call failed
    or could not be reported)."""
    assert mapping.parent and mapping.child_key
    if mapping.stream in limits.unreplaced:
        return
    parent = MAPPINGS[mapping.parent.stream]
    stage, parent_stage, key = stage_table(mapping), stage_table(parent), mapping.child_key
    kept_sql, params = "", {}
    if mapping.fetched_per_parent:
        regions, ids, kept_regions = limits.kept_of(parent.stream)
        kept_sql = (
            " AND NOT (ps.region_code = ANY(%(kept_regions)s)) AND NOT EXISTS ("
            "SELECT 1 FROM unnest(%(regions)s::text[], %(ids)s::bigint[]) AS k (region_code, "
            f"parent_id) WHERE k.region_code = ps.region_code "
            f"AND k.parent_id = ps.{parent.id_column})")
        params = {"kept_regions": kept_regions, "regions": regions, "ids": ids}
    cursor.execute(
        f"DELETE FROM {mapping.table} c USING {parent_stage} ps "
        f"JOIN {parent.table} p ON p.{parent.id_column} = ps.{parent.id_column} "
        f"AND p.region_code = ps.region_code "
        f"WHERE c.{mapping.parent.pk_column} = p.id AND NOT EXISTS ("
        f"SELECT 1 FROM {stage} s WHERE s.parent_id = ps.{parent.id_column} "
        f"AND s.region_code = ps.region_code AND s.{key} = c.{key}){kept_sql}",
        params or None,
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


def _upsert_sql(mapping: TableMapping, subset: bool = False) -> str:
    """INSERT … ON CONFLICT DO UPDATE: every staged row gets `synced_at` (last seen
    upstream), `updated_at` moves only when a column really changed, and a soft-deleted
    parent that comes back is restored. One statement per table."""
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
    updates += [f"updated_at = CASE WHEN {changed} THEN now() ELSE t.updated_at END",
                "synced_at = now()"]
    only = " AND s._row = ANY(%(rows)s)" if subset else ""  # isolating refused rows
    return (
        f"INSERT INTO {mapping.table} AS t ({', '.join(data)}) "
        f"SELECT {', '.join(select)} FROM {stage} s{joins} WHERE s._ok{only} "
        f"ON CONFLICT ({key_columns}) DO UPDATE SET {', '.join(updates)}"
    )


def _resolve_lookups(cursor: Any, unit: LoadUnit) -> None:
    """Rows loaded before the row they look up (a task before its linked reservation, its
    template or subdepartment) get its key once it is there, in whatever later unit."""
    for mapping in LOAD_ORDER:
        for lookup in mapping.lookups:
            if not unit.rows.get(lookup.stream):
                continue
            target = MAPPINGS[lookup.stream]
            cursor.execute(
                f"UPDATE {mapping.table} t SET {lookup.pk_column} = x.id "
                f"FROM {stage_table(target)} s JOIN {target.table} x "
                f"ON x.{target.id_column} = s.{target.id_column} "
                f"AND x.region_code = s.region_code "
                f"WHERE t.{lookup.pk_column} IS NULL "
                f"AND t.{lookup.id_column} = x.{target.id_column} "
                f"AND t.region_code = x.region_code"
            )


def _soft_delete_unseen(cursor: Any, completion: Any) -> Counter[tuple[str, str]]:
    """Full-table stream finished a version: rows of its regions not seen are deleted."""
    mapping = MAPPINGS[completion.stream]
    deleted: Counter[tuple[str, str]] = Counter()
    for region_code, seen_ids in completion.seen_ids.items():
        cursor.execute(
            f"UPDATE {mapping.table} SET deleted_at = now(), updated_at = now() "
            f"WHERE region_code = %s AND deleted_at IS NULL "
            f"AND NOT ({mapping.id_column} = ANY(%s))",
            (region_code, sorted(seen_ids)),
        )
        deleted[(region_code, completion.stream)] += cursor.rowcount
        LOGGER.info("%s version %s complete for region %s: %d soft-deleted",
                    completion.stream, completion.version, region_code, cursor.rowcount)
    return deleted


def _revived_sql(mapping: TableMapping) -> str:
    """Soft-deleted rows the stage brings back (the upsert makes them live), per region."""
    stage = stage_table(mapping)
    return (
        f"SELECT s.region_code, count(*) FROM {stage} s JOIN {mapping.table} t "
        f"ON t.{mapping.id_column} = s.{mapping.id_column} AND t.region_code = s.region_code "
        f"WHERE s._ok AND t.deleted_at IS NOT NULL GROUP BY s.region_code"
    )


def _register_regions(cursor: Any, unit: LoadUnit) -> None:
    """Unknown regions are registered from the records (before any row references them)."""
    regions = sorted(unit.regions())
    if not regions:
        return
    cursor.execute(
        "INSERT INTO regions (region_code, region_name) "
        "SELECT code, code FROM unnest(%s) AS code "
        "ON CONFLICT (region_code) DO NOTHING",
        (regions,),
    )


def _set_region_companies(cursor: Any) -> None:
    """A region without company_id takes the first one its staged properties carry."""
    cursor.execute(
        "UPDATE regions g SET company_id = s.company_id, updated_at = now() FROM ("
        "SELECT DISTINCT ON (region_code) region_code, company_id FROM stage_properties "
        "WHERE _ok AND company_id IS NOT NULL ORDER BY region_code, _row) s "
        "WHERE g.region_code = s.region_code AND g.company_id IS NULL"
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
            superseded.append((mapping.stream, json_text(nk, sort_keys=True)))
    return superseded


class BackgroundWriter:
    """Writes load units on a second thread while the main thread reads the next one.

    psycopg2 releases the GIL while PostgreSQL works, so on two cores converting unit N+1
    overlaps with writing unit N. At most one unit is in flight: `submit` first waits for
    the previous one, which keeps units in order and memory at two units. A writer error
    is raised in the main thread by the next `submit` or `wait`. Whoever needs the
    connection (STATE, re-feeding rejects, closing the run) waits first.
    """

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, unit: LoadUnit, tallies: runs.RunTallies, read: Counter[Any]) -> None:
        self.wait()
        self._thread = threading.Thread(target=self._write, args=(unit, tallies, read),
                                        name="load-unit-writer", daemon=True)
        self._thread.start()

    def _write(self, unit: LoadUnit, tallies: runs.RunTallies, read: Counter[Any]) -> None:
        try:
            result = self.loader.flush(unit, tallies, read)
        except BaseException as error:  # noqa: BLE001 -- re-raised in the main thread by wait()
            self._error = error
            return
        if result.soft_deleted:
            LOGGER.info("soft-deleted %d rows", sum(result.soft_deleted.values()))

    def join(self) -> BaseException | None:
        """Wait for the unit in flight; return (and forget) its error, if any."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        return error

    def wait(self) -> None:
        """Wait for the unit in flight; raise its error here, in the caller's thread."""
        error = self.join()
        if error is not None:
            raise error
