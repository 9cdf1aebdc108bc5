"""Deterministic churn: one simulated day of upstream changes in one region.

Long-run tests need data that keeps changing the way an account does: properties come and
go, reservations are booked, edited, cancelled and deleted, tasks are created, worked,
finished and deleted. A day is drawn from its own random stream, seeded from (simulator
seed, region, day number), so the same seed and history give the same days, and nothing
a test did before (extra `add_task` calls, say) shifts the shapes of churned objects.

Scope, so that a day's effect can be stated exactly:
- hard-case objects (`RegionData.hard_cases`) and the properties holding hard-case
  reservations or tasks are never churned: tests rely on their oddities;
- an object created or deleted today is not changed again today, and an object hidden
  from lists is not changed at all (a client could not see the change);
- an inactive property gets no new task and its tasks are not worked (our notes §11: a
  token lists many units that never get tasks); they can still be deleted with it;
- every change is stamped inside the day's window, in the order the changes happen, so
  an object's updated_at only grows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from breezeway_sim import timefmt
from breezeway_sim.data import FINISHED_TASK_CODES, ApiObject, RegionData
from breezeway_sim.generator import (
    FIRST_NAMES,
    HARD_CASES,
    PRIORITIES,
    TASK_STATUS,
    RegionBuilder,
)

KINDS = ("property", "reservation", "task")
CREATED, DELETED, HIDDEN = "created", "deleted", "hidden_from_lists"
#: Actions that take an object out of the API (lists and GET by id).
DELETING_ACTIONS = frozenset({DELETED, "retired", "deleted_with_property"})
TASK_CHILD_ARRAYS = ("assignments", "photos", "costs", "supplies")
RESERVATION_NOTES = (
    "Late arrival",
    "Early check-in requested",
    "Pack-n-play needed",
    "Owner stay",
    "",
    None,
)


@dataclass(frozen=True)
class ChurnRates:
    """Expected changes per region and day, as a fraction of the region's current objects
    of that kind (properties, reservations or tasks), so a bigger region churns more.

    A fraction of one object is a coin toss (0.3 expected deletions: one on 30 % of the
    days), which keeps rare changes present in small test regions.
    """

    properties_added: float = 0.01
    properties_retired: float = 0.005
    property_photos_changed: float = 0.03
    reservations_added: float = 0.01
    reservations_changed: float = 0.03
    reservations_cancelled: float = 0.005
    reservations_deleted: float = 0.005
    tasks_added: float = 0.015
    tasks_updated: float = 0.03
    tasks_finished: float = 0.02
    tasks_deleted: float = 0.005
    task_children_changed: float = 0.02
    #: Live objects newly left out of every list (GET by id still 200); see the README.
    reservations_hidden: float = 0.0
    tasks_hidden: float = 0.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"churn rate {item.name} must be a number")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"churn rate {item.name} must be finite and >= 0")

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, Any]) -> ChurnRates:
        """Defaults with some rates replaced (the admin endpoint's JSON body)."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown churn rates {unknown}; known: {sorted(known)}")
        return cls(**overrides)


@dataclass(frozen=True)
class ChurnEvent:
    """One change: `action` on the object `kind`/`object_id` at `at` (simulated time)."""

    at: datetime
    kind: str
    action: str
    object_id: int


@dataclass(frozen=True)
class ChurnDay:
    """What one `Simulator.advance_day()` changed, per region and kind.

    `created`, `updated`, `deleted` and `hidden` map region -> kind ("property",
    "reservation", "task") -> ids, every region and kind present. They are net effects of
    the day and disjoint: a retired property is in `deleted["property"]` and its
    reservations and tasks in `deleted["reservation"]` / `deleted["task"]`; photos,
    guests and task children show as their parent in `updated`; `hidden` are objects newly
    left out of lists (still served by id). `events` has every single change in order.
    """

    day: int
    window_start: datetime
    window_end: datetime
    events: dict[str, tuple[ChurnEvent, ...]]
    created: dict[str, dict[str, frozenset[int]]]
    updated: dict[str, dict[str, frozenset[int]]]
    deleted: dict[str, dict[str, frozenset[int]]]
    hidden: dict[str, dict[str, frozenset[int]]]

    @classmethod
    def from_events(
        cls,
        day: int,
        window_start: datetime,
        window_end: datetime,
        events: Mapping[str, list[ChurnEvent]],
    ) -> ChurnDay:
        nets = {region: _net_changes(region_events) for region, region_events in events.items()}
        return cls(
            day=day,
            window_start=window_start,
            window_end=window_end,
            events={region: tuple(region_events) for region, region_events in events.items()},
            **{
                change: {region: nets[region][change] for region in nets}
                for change in ("created", "updated", "deleted", "hidden")
            },
        )

    def count(self, change: str, kind: str, region: str | None = None) -> int:
        """How many objects of a kind the day created/updated/deleted/hid (all regions)."""
        by_region = getattr(self, change)
        regions = [region] if region is not None else list(by_region)
        return sum(len(by_region[name][kind]) for name in regions)

    def to_json(self) -> dict[str, Any]:
        """The admin endpoint's answer: ids sorted, times as ISO strings."""

        def sets(by_region: dict[str, dict[str, frozenset[int]]]) -> dict[str, Any]:
            return {
                region: {kind: sorted(ids) for kind, ids in kinds.items()}
                for region, kinds in by_region.items()
            }

        return {
            "day": self.day,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "created": sets(self.created),
            "updated": sets(self.updated),
            "deleted": sets(self.deleted),
            "hidden": sets(self.hidden),
            "events": {
                region: [{**asdict(event), "at": event.at.isoformat()} for event in region_events]
                for region, region_events in self.events.items()
            },
        }


def _net_changes(events: list[ChurnEvent]) -> dict[str, dict[str, frozenset[int]]]:
    touched: dict[str, dict[str, set[int]]] = {
        change: {kind: set() for kind in KINDS}
        for change in ("created", "updated", "deleted", "hidden")
    }
    for event in events:
        if event.action == CREATED:
            change = "created"
        elif event.action in DELETING_ACTIONS:
            change = "deleted"
        elif event.action == HIDDEN:
            change = "hidden"
        else:
            change = "updated"
        touched[change][event.kind].add(event.object_id)
    for kind in KINDS:
        gone = touched["deleted"][kind]
        touched["created"][kind] -= gone
        touched["hidden"][kind] -= gone
        touched["updated"][kind] -= gone | touched["created"][kind]
    return {
        change: {kind: frozenset(ids) for kind, ids in kinds.items()}
        for change, kinds in touched.items()
    }


def churn_region(
    builder: RegionBuilder,
    seed: int,
    day: int,
    window: tuple[datetime, datetime],
    rates: ChurnRates,
) -> list[ChurnEvent]:
    """Apply one day of churn to a region's data; the events in the order they happened."""
    rng = random.Random(f"breezeway-sim-churn:{seed}:{builder.region}:{day}")
    with builder.drawing_from(rng):
        return _RegionDay(builder, rng, window).run(rates)


def _inactive(prop: ApiObject) -> bool:
    return prop.get("status") == "inactive"


class _Pool:
    """Objects a change may pick, with O(1) random pick and removal (swap with the last)."""

    def __init__(self, objects: list[ApiObject], rng: random.Random) -> None:
        self._items = list(objects)
        self._index = {obj["id"]: n for n, obj in enumerate(self._items)}
        self._rng = rng

    def __len__(self) -> int:
        return len(self._items)

    def pick(self) -> ApiObject | None:
        if not self._items:
            return None
        return self._items[int(self._rng.random() * len(self._items))]

    def add(self, obj: ApiObject) -> None:
        self._index[obj["id"]] = len(self._items)
        self._items.append(obj)

    def discard(self, obj: ApiObject) -> None:
        position = self._index.pop(obj["id"], None)
        if position is None:
            return
        last = self._items.pop()
        if position < len(self._items):
            self._items[position] = last
            self._index[last["id"]] = position


class _RegionDay:
    """One day's changes in one region; objects leave the data in one pass at the end.

    Each `ChurnRates` field has the method of the same name that makes one such change
    (`run` dispatches by name); a change whose pool is empty does nothing.
    """

    def __init__(
        self, builder: RegionBuilder, rng: random.Random, window: tuple[datetime, datetime]
    ) -> None:
        self.builder, self.rng = builder, rng
        self.data: RegionData = builder.data
        self.window_start = timefmt.whole_seconds(window[0])
        self.window_end = timefmt.whole_seconds(window[1])
        self.events: list[ChurnEvent] = []
        self.gone: dict[str, list[ApiObject]] = {kind: [] for kind in KINDS}
        self.gone_ids: set[tuple[str, int]] = set()
        self._build_pools()

    def _build_pools(self) -> None:
        data, rng = self.data, self.rng
        protected = {
            (HARD_CASES[case][0], object_id)
            for case, ids in data.hard_cases.items()
            for object_id in ids
        }
        held = {("property", r["property_id"]) for r in data.reservations
                if ("reservation", r["id"]) in protected}
        held |= {("property", t["home_id"]) for t in data.tasks if ("task", t["id"]) in protected}
        protected |= held
        protected |= {(kind, i) for kind, ids in data.hidden_from_lists.items() for i in ids}

        def free(kind: str, objects: list[ApiObject]) -> list[ApiObject]:
            return [o for o in objects if (kind, o["id"]) not in protected]

        properties = free("property", data.properties)
        reservations = free("reservation", data.reservations)
        inactive = {p["id"] for p in data.properties if _inactive(p)}
        tasks = [t for t in free("task", data.tasks) if t["home_id"] not in inactive]
        self.homes = _Pool(data.properties, rng)  # where new reservations go
        self.task_homes = _Pool([p for p in data.properties if not _inactive(p)], rng)
        self.properties = _Pool(properties, rng)
        self.reservations = _Pool(reservations, rng)
        self.active_reservations = _Pool(
            [r for r in reservations if r["status"] != "cancelled"], rng
        )
        self.tasks = _Pool(tasks, rng)
        self.open_tasks = _Pool(
            [t for t in tasks if t["type_task_status"]["code"] not in FINISHED_TASK_CODES], rng
        )
        self.sizes = {
            "property": len(data.properties),
            "reservation": len(data.reservations),
            "task": len(data.tasks),
        }

    # -- the day --
    def run(self, rates: ChurnRates) -> list[ChurnEvent]:
        changes = self._planned_changes(rates)
        self.rng.shuffle(changes)
        for change, moment in zip(changes, self._moments(len(changes)), strict=True):
            getattr(self, change)(moment)
        for kind in ("reservation", "task", "property"):
            self.data.remove(kind, self.gone[kind])
        return self.events

    def _planned_changes(self, rates: ChurnRates) -> list[str]:
        per_kind = {
            "property": ("properties_added", "properties_retired", "property_photos_changed"),
            "reservation": (
                "reservations_added",
                "reservations_changed",
                "reservations_cancelled",
                "reservations_deleted",
                "reservations_hidden",
            ),
            "task": (
                "tasks_added",
                "tasks_updated",
                "tasks_finished",
                "tasks_deleted",
                "task_children_changed",
                "tasks_hidden",
            ),
        }
        changes: list[str] = []
        for kind, names in per_kind.items():
            for name in names:
                changes += [name] * self._draw(getattr(rates, name) * self.sizes[kind])
        return changes

    def _draw(self, expected: float) -> int:
        whole = int(expected)
        return whole + (self.rng.random() < expected - whole)

    def _moments(self, count: int) -> list[datetime]:
        """Sorted whole-second moments in (window start, window end]."""
        span = int((self.window_end - self.window_start).total_seconds())
        offsets = sorted(1 + int(self.rng.random() * span) for _ in range(count))
        return [self.window_start + timedelta(seconds=offset) for offset in offsets]

    def _record(self, moment: datetime, kind: str, action: str, obj: ApiObject) -> None:
        self.events.append(ChurnEvent(moment, kind, action, obj["id"]))

    def _delete(self, moment: datetime, kind: str, obj: ApiObject, action: str) -> None:
        if (kind, obj["id"]) in self.gone_ids:
            return
        self.gone_ids.add((kind, obj["id"]))
        self.gone[kind].append(obj)
        pools = {
            "property": (self.homes, self.task_homes, self.properties),
            "reservation": (self.reservations, self.active_reservations),
            "task": (self.tasks, self.open_tasks),
        }
        for pool in pools[kind]:
            pool.discard(obj)
        self._record(moment, kind, action, obj)

    def _pick(self, options: tuple[Any, ...] | list[Any]) -> Any:
        return options[int(self.rng.random() * len(options))]

    # -- properties --
    def properties_added(self, moment: datetime) -> None:
        prop = self.builder.new_property(moment)
        if not prop["photos"]:
            prop["photos"].append(self.builder.photo(prop))
        self.homes.add(prop)
        if not _inactive(prop):
            self.task_homes.add(prop)
        self._record(moment, "property", CREATED, prop)

    def properties_retired(self, moment: datetime) -> None:
        prop = self.properties.pick()
        if prop is None:
            return
        reservations, tasks = self.data.objects_of_property(prop["id"])
        self._delete(moment, "property", prop, "retired")
        for reservation in reservations:
            self._delete(moment, "reservation", reservation, "deleted_with_property")
        for task in tasks:
            self._delete(moment, "task", task, "deleted_with_property")

    def property_photos_changed(self, moment: datetime) -> None:
        prop = self.properties.pick()
        if prop is None:
            return
        photos = prop["photos"]
        if photos and self.rng.random() < 0.5:
            photos.pop(int(self.rng.random() * len(photos)))
        else:
            photos.append(self.builder.photo(prop))
        self.data.touch("property", prop, moment)
        self._record(moment, "property", "photos_changed", prop)

    # -- reservations --
    def reservations_added(self, moment: datetime) -> None:
        prop = self.homes.pick()
        if prop is None:
            return
        checkin = moment.date() + timedelta(days=1 + int(self.rng.random() * 120))
        reservation = self.builder.new_reservation(prop, moment, checkin)
        self._record(moment, "reservation", CREATED, reservation)

    def reservations_changed(self, moment: datetime) -> None:
        reservation = self.reservations.pick()
        if reservation is None:
            return
        edits = ["dates", "note", "guests", "guests"]
        if reservation["status"] == "cancelled":
            edits.append("reinstated")
        edit = self._pick(edits)
        if edit == "dates":
            shift = timedelta(days=self._pick((-2, -1, 1, 2, 3)))
            for field in ("checkin_date", "checkout_date"):
                reservation[field] = (date.fromisoformat(reservation[field]) + shift).isoformat()
        elif edit == "note":
            reservation["note"] = self._pick(RESERVATION_NOTES)
        elif edit == "reinstated":
            reservation["status"] = "active"
        else:
            self._edit_guests(reservation["guests"])
        self.data.touch("reservation", reservation, moment)
        self._record(moment, "reservation", "changed", reservation)

    def _edit_guests(self, guests: list[ApiObject]) -> None:
        """A guest added, removed (never the last), renamed, or given other emails."""
        edit = self._pick(("added", "removed", "renamed", "emails"))
        if edit == "added" or not guests:
            guests.append(self.builder.guest())
            return
        if edit == "removed" and len(guests) > 1:
            guests.pop(int(self.rng.random() * len(guests)))
            return
        guest = self._pick(guests)
        if edit == "renamed":
            guest["first_name"] = self._pick(FIRST_NAMES)
        else:
            local = f"{(guest['first_name'] or 'guest').lower()}.{self.rng.getrandbits(24):x}"
            guest["emails"] = [f"{local}@guest.example"]

    def reservations_cancelled(self, moment: datetime) -> None:
        reservation = self.active_reservations.pick()
        if reservation is None:
            return
        reservation["status"] = "cancelled"
        self.active_reservations.discard(reservation)
        self.data.touch("reservation", reservation, moment)
        self._record(moment, "reservation", "cancelled", reservation)

    def reservations_deleted(self, moment: datetime) -> None:
        reservation = self.reservations.pick()
        if reservation is not None:
            self._delete(moment, "reservation", reservation, DELETED)

    def reservations_hidden(self, moment: datetime) -> None:
        self._hide(moment, "reservation", self.reservations, self.active_reservations)

    # -- tasks --
    def tasks_added(self, moment: datetime) -> None:
        prop = self.task_homes.pick()
        if prop is None:
            return
        scheduled = moment.date() + timedelta(days=int(self.rng.random() * 30))
        task = self.builder.new_task(prop, moment, scheduled)
        self._record(moment, "task", CREATED, task)

    def tasks_updated(self, moment: datetime) -> None:
        task = self.tasks.pick()
        if task is None:
            return
        edit = self._pick(("priority", "description", "scheduled", "started"))
        if edit == "priority":
            task["type_priority"] = self._pick(PRIORITIES)
        elif edit == "description":
            task["description"] = self._pick(("See checklist", "Guest reported an issue", ""))
        elif edit == "scheduled":
            scheduled = date.fromisoformat(task["scheduled_date"]) + timedelta(
                days=self._pick((-1, 1, 2))
            )
            task["scheduled_date"] = scheduled.isoformat()
        elif task["type_task_status"]["code"] in ("drafted", "created"):
            task["type_task_status"] = dict(TASK_STATUS["in_progress"])
            task["started_at"] = timefmt.render(moment, naive=False)
        self.data.touch("task", task, moment)
        self._record(moment, "task", "updated", task)

    def tasks_finished(self, moment: datetime) -> None:
        task = self.open_tasks.pick()
        if task is None:
            return
        if task["started_at"] is None:
            worked = timedelta(minutes=5 + int(self.rng.random() * 120))
            task["started_at"] = timefmt.render(
                max(self.window_start, moment - worked), naive=False
            )
        finisher = self._pick(self.data.people)
        task["type_task_status"] = dict(TASK_STATUS["finished"])
        task["finished_at"] = timefmt.render(moment, naive=False)
        task["finished_by"] = {"id": finisher["id"], "name": finisher["name"]}
        self.open_tasks.discard(task)
        self.data.touch("task", task, moment)
        self._record(moment, "task", "finished", task)

    def task_children_changed(self, moment: datetime) -> None:
        task = self.tasks.pick()
        if task is None:
            return
        array = self._pick(TASK_CHILD_ARRAYS)
        items = task[array]
        if items and self.rng.random() < 0.5:
            items.pop(int(self.rng.random() * len(items)))
        else:
            items.append(self._new_task_child(array, moment))
        if array == "costs":
            costs = task["costs"]
            task["total_cost"] = round(sum(c["cost"] for c in costs), 2) if costs else None
        self.data.touch("task", task, moment)
        self._record(moment, "task", "children_changed", task)

    def _new_task_child(self, array: str, moment: datetime) -> ApiObject:
        builder = self.builder
        makers = {
            "assignments": builder.assignment,
            "photos": builder.task_photo,
            "costs": lambda: builder.cost(moment),
            "supplies": builder.supply_usage,
        }
        return makers[array]()

    def tasks_deleted(self, moment: datetime) -> None:
        task = self.tasks.pick()
        if task is not None:
            self._delete(moment, "task", task, DELETED)

    def tasks_hidden(self, moment: datetime) -> None:
        self._hide(moment, "task", self.tasks, self.open_tasks)

    def _hide(self, moment: datetime, kind: str, pool: _Pool, narrower: _Pool) -> None:
        obj = pool.pick()
        if obj is None:
            return
        self.data.hidden_from_lists[kind].add(obj["id"])
        pool.discard(obj)
        narrower.discard(obj)
        self._record(moment, kind, HIDDEN, obj)

