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
    hidden_times: dict[tuple[str, int], HiddenTimes] = field(default_factory=dict)
    person_status: dict[int, str] = field(default_factory=dict)
    hard_cases: dict[str, list[int]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
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
