"""One region's data as the API serves it, plus the few facts the API keeps hidden.

`RegionData.properties`, `.reservations`, `.tasks` and `.people` hold exactly the dicts the
HTTP layer serves, so tests can compute expected answers from them. Timestamps the API does
not show (property and, by default, reservation `created_at`/`updated_at`) live in
`hidden_times`, because the API still filters and sorts on them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from breezeway_sim import timefmt

ApiObject = dict[str, Any]

#: Task status codes the API leaves out of an unfiltered task list.
FINISHED_TASK_CODES = frozenset({"finished", "closed", "approved"})

#: Kinds whose objects can be hidden from lists (`RegionData.hidden_from_lists`).
LISTED_KINDS = ("reservation", "task")


@dataclass
class HiddenTimes:
    """created_at/updated_at of an object that does not (always) carry them itself."""

    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        self.created_at = timefmt.whole_seconds(self.created_at)
        self.updated_at = timefmt.whole_seconds(self.updated_at)

    def touch(self, now: datetime) -> None:
        self.updated_at = timefmt.whole_seconds(now)


@dataclass
class RegionData:
    """Everything one region's credentials can see, with look-up indexes kept in step."""

    region: str
    company_id: int
    properties: list[ApiObject] = field(default_factory=list)
    reservations: list[ApiObject] = field(default_factory=list)
    tasks: list[ApiObject] = field(default_factory=list)
    people: list[ApiObject] = field(default_factory=list)
    supplies: list[ApiObject] = field(default_factory=list)
    companies: list[ApiObject] = field(default_factory=list)
    #: Reference lists (`/companies/templates`, `/companies/subdepartments`, `/task/tags`,
    #: `/property/tags`, `/reservation/tags`); see reference.py.
    templates: list[ApiObject] = field(default_factory=list)
    subdepartments: list[ApiObject] = field(default_factory=list)
    task_tags: list[ApiObject] = field(default_factory=list)
    property_tags: list[ApiObject] = field(default_factory=list)
    reservation_tags: list[ApiObject] = field(default_factory=list)
    #: task id -> the requirements `GET /task/{id}/requirements` serves instead of the
    #: derived ones (tests edit checklists through it).
    requirement_overrides: dict[int, list[ApiObject]] = field(default_factory=dict)
    hidden_times: dict[tuple[str, int], HiddenTimes] = field(default_factory=dict)
    person_status: dict[int, str] = field(default_factory=dict)
    hard_cases: dict[str, list[int]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    #: kind -> ids deleted upstream (gone from lists, 404 by id): the API shows no tombstone,
    #: tests need one to tell "deleted upstream" from "never existed".
    deleted_ids: dict[str, set[int]] = field(
        default_factory=lambda: {"property": set(), "reservation": set(), "task": set()}
    )
    #: kind -> ids every list leaves out while `GET /<kind>/{id}` still answers 200: our
    #: model of a list rule we do not know (see the README).
    hidden_from_lists: dict[str, set[int]] = field(
        default_factory=lambda: {kind: set() for kind in LISTED_KINDS}
    )
    _tasks_by_home: dict[int, list[ApiObject]] = field(default_factory=lambda: defaultdict(list))

    # -- indexes --
    def reindex(self) -> None:
        """Rebuild the task-by-property index (after generation or a deletion)."""
        self._tasks_by_home = defaultdict(list)
        for task in self.tasks:
            self._tasks_by_home[task["home_id"]].append(task)

    def tasks_of_home(self, home_id: int) -> list[ApiObject]:
        return list(self._tasks_by_home.get(home_id, ()))

    def add_task(self, task: ApiObject) -> None:
        self.tasks.append(task)
        self._tasks_by_home[task["home_id"]].append(task)

    def remove(self, kind: str, objects: list[ApiObject]) -> None:
        """Delete objects the way upstream does: no tombstone in the API, one in
        `deleted_ids`. One pass over the collection however many objects go."""
        if not objects:
            return
        gone = {obj["id"] for obj in objects}
        collection = self.collection(kind)
        collection[:] = [obj for obj in collection if obj["id"] not in gone]
        self.deleted_ids[kind] |= gone
        self.hidden_from_lists.get(kind, set()).difference_update(gone)
        if kind == "task":
            self.reindex()

    def objects_of_property(self, property_id: int) -> tuple[list[ApiObject], list[ApiObject]]:
        """The property's reservations and tasks (what goes when the property is retired)."""
        reservations = [r for r in self.reservations if r["property_id"] == property_id]
        return reservations, self.tasks_of_home(property_id)

    def listed(self, kind: str, objects: list[ApiObject]) -> list[ApiObject]:
        """The objects a list answer may show: all but those hidden from lists."""
        hidden = self.hidden_from_lists.get(kind)
        if not hidden:
            return objects
        return [obj for obj in objects if obj["id"] not in hidden]

    def touch(self, kind: str, obj: ApiObject, moment: datetime) -> None:
        """Make an object newer for the API's updated_at filters and sorts.

        Tasks carry updated_at; reservations keep it hidden (and show it too when the
        simulator renders reservation timestamps); properties only have the hidden one.
        """
        stamp = timefmt.render(moment, naive=False)
        if kind == "task":
            obj["updated_at"] = stamp
            return
        self.hidden_times[(kind, obj["id"])].touch(moment)
        if kind == "reservation" and "updated_at" in obj:
            obj["updated_at"] = stamp

    def new_id(self, kind: str) -> int:
        """The next unused id of a kind; ids never repeat, even after deletions."""
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    # -- look-ups --------------------------------------------------------------------------
    def find(self, kind: str, object_id: int) -> ApiObject:
        """The object of a kind ("property", "reservation", "task", "person") by id."""
        collection = self.collection(kind)
        for obj in collection:
            if obj["id"] == object_id:
                return obj
        raise KeyError(f"{self.region}: no {kind} with id {object_id}")

    def collection(self, kind: str) -> list[ApiObject]:
        collections = {
            "property": self.properties,
            "reservation": self.reservations,
            "task": self.tasks,
            "person": self.people,
            "supply": self.supplies,
        }
        if kind not in collections:
            raise ValueError(f"unknown object kind {kind!r}; expected one of {sorted(collections)}")
        return collections[kind]

    def created_at(self, kind: str, obj: ApiObject) -> datetime:
        hidden = self.hidden_times.get((kind, obj["id"]))
        if hidden is not None:
            return hidden.created_at
        return timefmt.parse(obj["created_at"])

    def updated_at(self, kind: str, obj: ApiObject) -> datetime:
        hidden = self.hidden_times.get((kind, obj["id"]))
        if hidden is not None:
            return hidden.updated_at
        return timefmt.parse(obj["updated_at"])

    def record_count(self) -> int:
        """Records including nested children (photos, guests, assignments, costs, ...)."""
        count = len(self.properties) + len(self.reservations) + len(self.tasks) + len(self.people)
        count += sum(len(p["photos"]) for p in self.properties)
        count += sum(len(r["guests"]) for r in self.reservations)
        for task in self.tasks:
            count += len(task["assignments"]) + len(task["photos"])
            count += len(task["costs"]) + len(task["supplies"])
        return count
