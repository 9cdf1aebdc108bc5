"""The truth comparator: what the simulator's API serves against what the database shows live.

Convergence tests (issue 11) ask one question after every sync: does the database equal
Breezeway? The truth is the simulator's data as a complete crawl with the tap's windows
would read it; the database side is what a reader sees live: parents with
`deleted_at IS NULL`, children whose parent row is live. Both are compared per region and
table as id sets (children keyed as docs/streams.md says, per parent) plus a few key values.

Every difference lands in one bucket, so a test can allow exactly what it expects:
- `missing_in_db`: served, not live in the database (drift);
- `quarantined`: missing, but an open `load_rejects` row holds it or its parent (our
  documented answer to bad input, not drift);
- `hidden_from_lists`: missing, extra or stale, but the API's lists leave it or its parent
  out (`Simulator.hide_from_lists`): no list-based crawl can see it, nor a change made to
  it before it left the lists;
- `deleted_upstream`: live in the database, deleted upstream (the simulator's tombstones),
  or a child of such a parent: drift until a reconcile removes it;
- `extra_other`: live in the database, not served, not deleted upstream (drift);
- `mismatches`: (key, column) whose values differ (drift).

Nothing here prints or stores a value: summaries name tables, ids and columns only, since
the data holds guest contacts and door codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from breezeway_sim import Simulator
from breezeway_sim.data import ApiObject, RegionData

Key = Any  # a parent id, or (parent id, child key) for children
BUCKETS = ("missing_in_db", "quarantined", "hidden_from_lists", "deleted_upstream",
           "extra_other", "mismatches")
DRIFT_BUCKETS = ("missing_in_db", "deleted_upstream", "extra_other", "mismatches")
SKIP = object()  # a value the API does not show (not compared)


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class Table:
    """How one table's truth is read from the API objects and its live rows from SQL."""

    name: str
    kind: str  # the simulator kind of the parent object
    id_column: str  # the Breezeway id column of a parent table / of the parent of a child
    values: dict[str, Callable[[ApiObject, int], Any]]
    parent: str | None = None  # children: the parent table
    array: str | None = None  # children: the nested array in the parent object
    child_key: str | None = None  # children: the item's id field; None keys by position
    child_column: str | None = None  # children: the column of that key

    @property
    def reject_keys(self) -> tuple[str, ...]:
        """The stream's key_properties, as `load_rejects.natural_key` holds them."""
        if self.parent is None:
            return ("id",)
        return (f"{PARENT_KIND_ID[self.kind]}", self.child_column or "position")


PARENT_KIND_ID = {"property": "property_id", "reservation": "reservation_id", "task": "task_id"}


def _field(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[..., Any]:
    return lambda obj, position: convert(obj.get(name))


def _text(value: Any) -> Any:
    """A requirement's answer as the tap renders it: numbers as their JSON text."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _position(obj: ApiObject, position: int) -> int:
    return position


def _reservation_updated(obj: ApiObject, position: int) -> Any:
    return _moment(obj["updated_at"]) if "updated_at" in obj else SKIP


TABLES: tuple[Table, ...] = (
    Table("properties", "property", "property_id",
          {"name": _field("name"), "status": _field("status")}),
    Table("property_photos", "property", "property_id",
          {"position": _position, "url": _field("url")},
          parent="properties", array="photos", child_key="id", child_column="photo_id"),
    Table("reservations", "reservation", "reservation_id",
          {"status": _field("status"), "checkin_date": _field("checkin_date"),
           "checkout_date": _field("checkout_date"), "note": _field("note"),
           "source_updated_at": _reservation_updated}),
    Table("reservation_guests", "reservation", "reservation_id",
          {"first_name": _field("first_name"), "last_name": _field("last_name"),
           "email": lambda obj, position: (obj.get("emails") or [None])[0]},
          parent="reservations", array="guests"),
    Table("tasks", "task", "task_id",
          {"status_code": lambda obj, position: obj["type_task_status"]["code"],
           "type_priority": _field("type_priority"),
           "scheduled_date": _field("scheduled_date"),
           "source_updated_at": _field("updated_at", _moment),
           "finished_at": _field("finished_at", _moment)}),
    Table("task_assignments", "task", "task_id",
          {"position": _position, "assignee_id": _field("assignee_id")},
          parent="tasks", array="assignments", child_key="id", child_column="assignment_id"),
    Table("task_photos", "task", "task_id",
          {"position": _position, "url": _field("url")},
          parent="tasks", array="photos", child_key="id", child_column="photo_id"),
    Table("task_costs", "task", "task_id",
          {"position": _position, "cost": _field("cost", _number)},
          parent="tasks", array="costs", child_key="id", child_column="cost_id"),
    Table("task_supplies", "task", "task_id",
          {"position": _position, "quantity": _field("quantity", _number)},
          parent="tasks", array="supplies", child_key="id", child_column="usage_id"),
    # Not nested upstream: one call per task; `compare` puts them under REQUIREMENTS.
    Table("task_requirements", "task", "task_id",
          {"type_requirement": _field("type_requirement"), "response": _field("response", _text)},
          parent="tasks", array="_requirements"),
)
#: Where `compare` puts each task's requirements (`GET /task/{id}/requirements`).
REQUIREMENTS = "_requirements"
TABLE_NAMES = tuple(table.name for table in TABLES)


# -- the diff ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableDiff:
    """One region's differences in one table (keys only; see the module docstring)."""

    region: str
    table: str
    truth_rows: int
    live_rows: int
    missing_in_db: frozenset[Key] = frozenset()
    quarantined: frozenset[Key] = frozenset()
    hidden_from_lists: frozenset[Key] = frozenset()
    deleted_upstream: frozenset[Key] = frozenset()
    extra_other: frozenset[Key] = frozenset()
    mismatches: frozenset[tuple[Key, str]] = frozenset()  # (key, column)

    @property
    def extra_in_db(self) -> frozenset[Key]:
        return self.deleted_upstream | self.extra_other

    @property
    def drift(self) -> int:
        return sum(len(getattr(self, bucket)) for bucket in DRIFT_BUCKETS)


@dataclass(frozen=True)
class TruthDiff:
    """All regions and tables of one comparison."""

    tables: tuple[TableDiff, ...]
    _index: dict[tuple[str, str], TableDiff] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {(d.region, d.table): d for d in self.tables})

    def table(self, table: str, region: str) -> TableDiff:
        return self._index[(region, table)]

    def keys(self, bucket: str, table: str, region: str) -> frozenset[Any]:
        """One bucket's keys of one table and region."""
        if bucket not in BUCKETS:
            raise ValueError(f"unknown bucket {bucket!r}; known: {BUCKETS}")
        return getattr(self.table(table, region), bucket)

    def count(self, bucket: str, table: str | None = None, region: str | None = None) -> int:
        """Keys in a bucket, over all tables and/or regions when not given."""
        return sum(
            len(getattr(d, bucket))
            for d in self.tables
            if table in (None, d.table) and region in (None, d.region)
        )

    @property
    def drift(self) -> int:
        """Differences that are not explained by quarantine or hidden lists."""
        return sum(d.drift for d in self.tables)

    @property
    def empty(self) -> bool:
        return self.drift == 0

    def only_deleted_upstream(self) -> bool:
        """True when every drift is a row deleted upstream and still live (no reconcile yet)."""
        return all(d.drift == len(d.deleted_upstream) for d in self.tables)

    def summary(self, max_ids: int = 10) -> str:
        """One line per table with a difference: counts and the first ids, never values."""
        lines = []
        for diff in self.tables:
            parts = []
            for bucket in BUCKETS:
                keys = getattr(diff, bucket)
                if keys:
                    shown = sorted(keys, key=repr)[:max_ids]
                    more = f" (+{len(keys) - max_ids})" if len(keys) > max_ids else ""
                    parts.append(f"{bucket} {len(keys)}: {_render(shown)}{more}")
            if parts:
                lines.append(f"{diff.region}.{diff.table} (truth {diff.truth_rows}, live "
                             f"{diff.live_rows}): " + "; ".join(parts))
        if self.drift:
            head = f"truth diff: {self.drift} drifting keys"
        else:
            head = "truth diff: no drift (the database equals the truth)"
        return "\n".join([head, *lines])


def _render(keys: Iterable[Any]) -> str:
    return ", ".join(str(key) for key in keys)


# -- the truth --------------------------------------------------------------------------------
def _start(start_date: datetime | date | str) -> datetime:
    if isinstance(start_date, str):
        start_date = datetime.fromisoformat(start_date)
    if not isinstance(start_date, datetime):
        start_date = datetime(start_date.year, start_date.month, start_date.day)
    return start_date.replace(tzinfo=UTC) if start_date.tzinfo is None else start_date


def truth_parents(data: RegionData, start: datetime) -> dict[str, dict[int, ApiObject]]:
    """What a complete crawl with the tap's windows reads, per parent kind.

    Reservations: updated_at (hidden or shown) >= start_date. Tasks: the tasks of listed
    properties whose updated_at day is >= start_date's day minus one (the tap's range).
    """
    homes = {prop["id"] for prop in data.properties}
    first_task_day = (start - timedelta(days=1)).date()
    return {
        "property": {prop["id"]: prop for prop in data.properties},
        "reservation": {
            r["id"]: r for r in data.reservations
            if data.updated_at("reservation", r) >= start
        },
        "task": {
            t["id"]: t for home in homes for t in data.tasks_of_home(home)
            if data.updated_at("task", t).date() >= first_task_day
        },
    }


def _truth_rows(table: Table, parents: dict[int, ApiObject]) -> dict[Key, dict[str, Any]]:
    """Key -> compared values; children deduplicated as the tap does (first id wins)."""
    rows: dict[Key, dict[str, Any]] = {}
    for parent_id, obj in parents.items():
        if table.array is None:
            rows[parent_id] = {column: read(obj, 0) for column, read in table.values.items()}
            continue
        for position, item in enumerate(obj.get(table.array) or ()):
            key = (parent_id, position if table.child_key is None else item[table.child_key])
            if key not in rows:
                rows[key] = {column: read(item, position) for column, read in table.values.items()}
    return rows


# -- the database -----------------------------------------------------------------------------
def _live_rows(connection: sa.Connection, table: Table, region: str
               ) -> dict[Key, dict[str, Any]]:
    columns = list(table.values)
    if table.parent is None:
        selected = ", ".join([table.id_column, *columns])
        sql = (f"SELECT {selected} FROM {table.name} "
               "WHERE region_code = :region AND deleted_at IS NULL")
        width = 1
    else:
        parent_pk = f"{table.kind}_pk"
        child = table.child_column or "position"
        selected = ", ".join([f"p.{table.id_column}", f"c.{child}", *(f"c.{c}" for c in columns)])
        sql = (f"SELECT {selected} FROM {table.name} c JOIN {table.parent} p "
               f"ON p.id = c.{parent_pk} WHERE p.region_code = :region AND p.deleted_at IS NULL")
        width = 2
    rows = {}
    for row in connection.execute(sa.text(sql), {"region": region}):
        key = row[0] if width == 1 else (row[0], row[1])
        rows[key] = dict(zip(columns, row[width:], strict=True))
    return rows


def _open_rejects(connection: sa.Connection, region: str) -> dict[str, set[Key]]:
    """Open quarantine keys per stream (stream names are table names, docs/streams.md)."""
    keys: dict[str, set[Key]] = {name: set() for name in TABLE_NAMES}
    result = connection.execute(
        sa.text("SELECT stream, natural_key FROM load_rejects "
                "WHERE resolved_at IS NULL AND region_code = :region"), {"region": region})
    by_name = {table.name: table for table in TABLES}
    for stream, natural_key in result:
        table = by_name.get(stream)
        if table is None:
            continue
        parts = tuple(natural_key.get(name) for name in table.reject_keys)
        keys[stream].add(parts[0] if table.parent is None else parts)
    return keys


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


# -- the comparison ---------------------------------------------------------------------------
def compare(
    sim: Simulator,
    regions: Sequence[str],
    start_date: datetime | date | str,
    engine: sa.Engine,
    schema: str,
) -> TruthDiff:
    """Compare each region's truth (see `truth_parents`) with the live rows of `schema`."""
    start = _start(start_date)
    diffs = []
    with engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}", public')
        for region in regions:
            data = sim.data(region)
            parents = truth_parents(data, start)
            parents["task"] = {task_id: {**task, REQUIREMENTS: sim.task_requirements(
                region, task_id)} for task_id, task in parents["task"].items()}
            rejects = _open_rejects(connection, region)
            for table in TABLES:
                truth = _truth_rows(table, parents[table.kind])
                live = _live_rows(connection, table, region)
                diffs.append(_table_diff(region, table, truth, live, data, rejects))
    return TruthDiff(tuple(diffs))


def _table_diff(
    region: str,
    table: Table,
    truth: dict[Key, dict[str, Any]],
    live: dict[Key, dict[str, Any]],
    data: RegionData,
    rejects: dict[str, set[Key]],
) -> TableDiff:
    def parent_id(key: Key) -> int:
        return key if table.parent is None else key[0]

    parent_table = table.parent or table.name
    quarantined_parents = rejects[parent_table]
    hidden = data.hidden_from_lists.get(table.kind, set())
    deleted = data.deleted_ids[table.kind]
    buckets: dict[str, set[Any]] = {bucket: set() for bucket in BUCKETS}
    for key in truth.keys() - live.keys():
        if key in rejects[table.name] or parent_id(key) in quarantined_parents:
            buckets["quarantined"].add(key)
        elif parent_id(key) in hidden:
            buckets["hidden_from_lists"].add(key)
        else:
            buckets["missing_in_db"].add(key)
    for key in live.keys() - truth.keys():
        if parent_id(key) in deleted:
            buckets["deleted_upstream"].add(key)
        elif parent_id(key) in hidden:
            buckets["hidden_from_lists"].add(key)
        else:
            buckets["extra_other"].add(key)
    for key in truth.keys() & live.keys():
        stale = [column for column, value in truth[key].items()
                 if value is not SKIP and _normal(value) != _normal(live[key][column])]
        if stale and parent_id(key) in hidden:
            buckets["hidden_from_lists"].add(key)
        else:
            buckets["mismatches"].update((key, column) for column in stale)
    return TableDiff(region, table.name, len(truth), len(live),
                     **{bucket: frozenset(keys) for bucket, keys in buckets.items()})
