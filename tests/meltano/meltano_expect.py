"""What a database loaded from the simulator must hold, computed from `sim.data(region)`.

The rules are the documented ones (docs/streams.md and the target's quarantine), applied to
the simulator's raw API objects without the tap's or the target's code:

- a nested child id seen twice in one parent array: the first occurrence is kept;
- a second `default` photo of a property is quarantined (one default per property);
- a reservation of a property the region does not list, or with checkin after checkout, is
  quarantined together with its guests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from breezeway_sim import Simulator

#: child stream -> (parent stream, API array, child id key in the API item or None)
NESTED = {
    "property_photos": ("properties", "photos", "id"),
    "reservation_guests": ("reservations", "guests", None),
    "task_assignments": ("tasks", "assignments", "id"),
    "task_photos": ("tasks", "photos", "id"),
    "task_costs": ("tasks", "costs", "id"),
    "task_supplies": ("tasks", "supplies", "id"),
    "property_tags": ("properties", "tags", "id"),
    "reservation_tags": ("reservations", "tags", "id"),
    "task_tags": ("tasks", "task_tags", "id"),
}
#: Reference list streams -> (RegionData attribute, id column of their table).
REFERENCE_LISTS = {
    "task_templates": ("templates", "template_id"),
    "task_subdepartments": ("subdepartments", "subdepartment_id"),
    "supplies": ("supplies", "supply_id"),
    "task_tag_definitions": ("task_tags", "tag_id"),
    "property_tag_definitions": ("property_tags", "tag_id"),
    "reservation_tag_definitions": ("reservation_tags", "tag_id"),
}
#: Streams reporting their API calls in `upstream_calls` after a full run.
USAGE_STREAMS = 12
PARENT_ID = {"properties": "property_id", "reservations": "reservation_id", "tasks": "task_id"}

#: stream -> SQL listing a region's natural keys (parent id[, child id]) in our schema.
KEY_SQL = {
    "properties": "SELECT property_id FROM properties WHERE region_code = :r",
    "reservations": "SELECT reservation_id FROM reservations WHERE region_code = :r",
    "tasks": "SELECT task_id FROM tasks WHERE region_code = :r",
    "people": "SELECT person_id FROM people WHERE region_code = :r",
    "property_photos": "SELECT p.property_id, c.photo_id FROM property_photos c "
                       "JOIN properties p ON p.id = c.property_pk WHERE p.region_code = :r",
    "reservation_guests": "SELECT p.reservation_id, c.position FROM reservation_guests c "
                          "JOIN reservations p ON p.id = c.reservation_pk WHERE p.region_code = :r",
    "task_assignments": "SELECT p.task_id, c.assignment_id FROM task_assignments c "
                        "JOIN tasks p ON p.id = c.task_pk WHERE p.region_code = :r",
    "task_photos": "SELECT p.task_id, c.photo_id FROM task_photos c "
                   "JOIN tasks p ON p.id = c.task_pk WHERE p.region_code = :r",
    "task_costs": "SELECT p.task_id, c.cost_id FROM task_costs c "
                  "JOIN tasks p ON p.id = c.task_pk WHERE p.region_code = :r",
    "task_supplies": "SELECT p.task_id, c.usage_id FROM task_supplies c "
                     "JOIN tasks p ON p.id = c.task_pk WHERE p.region_code = :r",
    **{f"{kind}_tags": f"SELECT p.{kind}_id, c.tag_id FROM {kind}_tags c JOIN {table} p "
                       f"ON p.id = c.{kind}_pk WHERE p.region_code = :r"
       for kind, table in (("property", "properties"), ("reservation", "reservations"),
                           ("task", "tasks"))},
    **{stream: f"SELECT p.task_id, c.position FROM {stream} c JOIN tasks p "
               "ON p.id = c.task_pk WHERE p.region_code = :r"
       for stream in ("task_requirements", "task_requirement_photos")},
    **{stream: f"SELECT {id_column} FROM {stream} WHERE region_code = :r"
       for stream, (_, id_column) in REFERENCE_LISTS.items()},
}


@dataclass
class RegionExpectation:
    """Natural keys per stream that must be loaded, and those that must be quarantined."""

    loaded: dict[str, set[tuple]] = field(default_factory=dict)
    rejected: set[tuple[str, tuple]] = field(default_factory=set)
    records: dict[str, int] = field(default_factory=dict)  # what the tap sends per stream


def _unique(items: list[dict[str, Any]], id_key: str | None) -> list[tuple[int, dict]]:
    """(position, item) after the first-occurrence-wins rule; guests are keyed by position."""
    if id_key is None:
        return list(enumerate(items))
    seen: set[Any] = set()
    kept = []
    for item in items:
        if item[id_key] not in seen:
            seen.add(item[id_key])
            kept.append((len(kept), item))
    return kept


def _child_key(position: int, item: dict, id_key: str | None) -> Any:
    return position if id_key is None else item[id_key]


def expect_region(sim: Simulator, region: str) -> RegionExpectation:
    """The exact outcome of loading a region's full sync into an empty schema."""
    data = sim.data(region)
    expectation = RegionExpectation()
    loaded = expectation.loaded
    property_ids = {p["id"] for p in data.properties}
    bad_reservations = {
        r["id"] for r in data.reservations
        if r["property_id"] not in property_ids or r["checkin_date"] > r["checkout_date"]
    }
    loaded["properties"] = {(pid,) for pid in property_ids}
    loaded["reservations"] = {(r["id"],) for r in data.reservations} - {
        (rid,) for rid in bad_reservations}
    loaded["tasks"] = {(t["id"],) for t in data.tasks}
    loaded["people"] = {(p["id"],) for p in data.people}
    expectation.rejected |= {("reservations", (rid,)) for rid in bad_reservations}
    parents = {"properties": data.properties, "reservations": data.reservations,
               "tasks": data.tasks}
    for child, (parent, array, id_key) in NESTED.items():
        keys: set[tuple] = set()
        sent = 0
        for obj in parents[parent]:
            defaults = 0
            for position, item in _unique(obj.get(array) or [], id_key):
                sent += 1
                key = (obj["id"], _child_key(position, item, id_key))
                second_default = child == "property_photos" and item["default"] and defaults
                defaults += child == "property_photos" and bool(item["default"])
                if second_default or (parent == "reservations" and obj["id"] in bad_reservations):
                    expectation.rejected.add((child, key))
                else:
                    keys.add(key)
        loaded[child] = keys
        expectation.records[child] = sent
    top_level = {**parents, "people": data.people, "companies": data.companies}
    expectation.records.update({stream: len(objs) for stream, objs in top_level.items()})
    _expect_requirements(sim, region, expectation)
    for stream, (attribute, _) in REFERENCE_LISTS.items():
        listed = getattr(data, attribute)
        loaded[stream] = {(obj["id"],) for obj in listed}
        expectation.records[stream] = len(listed)
    # A first (full-window) run: reservations' crawl, one per property's tasks, the tasks'.
    expectation.records["crawls"] = len(data.properties) + 2
    expectation.records["upstream_calls"] = USAGE_STREAMS
    # A stream without records leaves no file or table in a generic target.
    expectation.records = {stream: n for stream, n in expectation.records.items() if n}
    return expectation


def _expect_requirements(sim: Simulator, region: str, expectation: RegionExpectation) -> None:
    """Each task's checklist as the API serves it now: items by position, photos numbered
    in order across the task's items."""
    requirements: set[tuple] = set()
    photos: set[tuple] = set()
    for task in sim.data(region).tasks:
        items = sim.task_requirements(region, task["id"])
        requirements |= {(task["id"], position) for position in range(len(items))}
        urls = [url for item in items for url in item["photos"]]
        photos |= {(task["id"], position) for position in range(len(urls))}
    expectation.loaded["task_requirements"] = requirements
    expectation.loaded["task_requirement_photos"] = photos
    expectation.records["task_requirements"] = len(requirements)
    expectation.records["task_requirement_photos"] = len(photos)


def hard_case_ids(sim: Simulator, region: str) -> set[int]:
    """Every object id the simulator marks as a deliberate hard case."""
    return {i for ids in sim.hard_cases(region).values() for i in ids}


def loaded_keys(engine: sa.Engine, schema: str, region: str) -> dict[str, set[tuple]]:
    """The natural keys per stream a region has in the schema."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}", public')
        return {stream: {tuple(row) for row in connection.execute(sa.text(sql), {"r": region})}
                for stream, sql in KEY_SQL.items()}


def open_rejects(engine: sa.Engine, schema: str, region: str) -> set[tuple[str, tuple]]:
    """(stream, natural key) of the region's open quarantined records."""
    sql = ("SELECT stream, natural_key FROM load_rejects "
           "WHERE region_code = :r AND resolved_at IS NULL")
    with engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}", public')
        rows = connection.execute(sa.text(sql), {"r": region}).all()
    return {(stream, _key_tuple(stream, key)) for stream, key in rows}


def _key_tuple(stream: str, key: dict[str, Any]) -> tuple:
    """A reject's JSON natural key as (parent id[, child id]), whatever its key order."""
    if stream not in NESTED:
        return (key["id"],)
    parent_field = PARENT_ID[NESTED[stream][0]]
    child_field = next(k for k in key if k not in (parent_field, "region_code"))
    return (key[parent_field], key[child_field])
