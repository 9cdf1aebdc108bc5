"""Churn days: deterministic, every kind of change reaches the API, and lists can lie."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests
from breezeway_sim import ChurnRates, Simulator
from breezeway_sim.churn import KINDS
from breezeway_sim.data import RegionData

if TYPE_CHECKING:
    from conftest import ApiClient

REGIONS = ["nashville", "austin"]
TODAY = date(2026, 1, 10)
WIDE = "2000-01-01,2100-01-01"
#: A day with every kind of change at least once in nashville at the test scale.
BUSY = ChurnRates(
    properties_added=0.15,
    properties_retired=0.15,
    property_photos_changed=0.3,
    reservations_added=0.05,
    reservations_changed=0.1,
    reservations_cancelled=0.05,
    reservations_deleted=0.05,
    tasks_added=0.05,
    tasks_updated=0.05,
    tasks_finished=0.05,
    tasks_deleted=0.05,
    task_children_changed=0.1,
)


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _make(sim_factory: Callable[..., Simulator], **kwargs: Any) -> Simulator:
    options = {"regions": REGIONS, "auth_rate_limit": False, "today": TODAY, **kwargs}
    return sim_factory(**options)


def _served(client: ApiClient, region: str) -> dict[str, Any]:
    """Everything a full crawl of the region reads, as the API answers it."""
    data = client.simulator.data(region)
    return {
        "properties": client.all_pages("/property", limit=250, sort_by="id"),
        "reservations": client.all_pages(
            "/reservation", limit=250, sort_by="id", updated_at_ge="2000-01-01"
        ),
        "tasks": [
            client.all_pages("/task/", home_id=p["id"], updated_at=WIDE, limit=250, sort_by="id")
            for p in data.properties
        ],
    }


def _ids(objects: list[dict[str, Any]]) -> set[int]:
    return {obj["id"] for obj in objects}


# -- determinism ------------------------------------------------------------------------------
def test_same_seed_gives_the_same_days_and_the_same_api_answers(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> None:
    first, second = _make(sim_factory), _make(sim_factory)
    first.add_task("nashville", first.data("nashville").properties[1]["id"])  # same history
    second.add_task("nashville", second.data("nashville").properties[1]["id"])
    for _ in range(3):
        assert first.advance_day(BUSY).to_json() == second.advance_day(BUSY).to_json()
    assert first.clock_now().date() == second.clock_now().date() == date(2026, 1, 13)
    for region in REGIONS:
        assert _served(client_for(region, first), region) == _served(
            client_for(region, second), region)

    other = _make(sim_factory, seed=8)
    assert other.advance_day(BUSY).to_json()["events"] != first.churn_log[0].to_json()["events"]


def test_a_days_churn_depends_on_its_own_seed_not_on_earlier_draws(
    sim_factory: Callable[..., Simulator],
) -> None:
    """A task added and deleted before the day uses up random numbers and ids of the
    generator; the day still changes the same objects at the same moments."""
    plain, other = _make(sim_factory), _make(sim_factory)
    extra = other.add_task("nashville", other.data("nashville").properties[1]["id"])
    other.delete_task("nashville", extra["id"])
    existed = {region: {kind: _ids(plain.data(region).collection(kind)) for kind in KINDS}
               for region in REGIONS}
    day, other_day = plain.advance_day(BUSY), other.advance_day(BUSY)
    for region in REGIONS:
        assert [(e.at, e.kind, e.action) for e in day.events[region]] == [
            (e.at, e.kind, e.action) for e in other_day.events[region]]
        # Objects created today have other ids in `other` (its generator made one more
        # task); today's deletions may include them (a retired property takes its new tasks).
        for change in ("updated", "deleted"):
            for kind in KINDS:
                assert (getattr(day, change)[region][kind] & existed[region][kind]
                        == getattr(other_day, change)[region][kind] & existed[region][kind])


# -- every change reaches the API ---------------------------------------------------------------
@pytest.fixture
def busy_day(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> tuple[Simulator, RegionData, Any, ApiClient]:
    """A simulator before one busy day (a deep copy of nashville's data) and after it."""
    sim = _make(sim_factory)
    before = copy.deepcopy(sim.data("nashville"))
    day = sim.advance_day(BUSY)
    for change in ("created", "updated", "deleted"):
        for kind in KINDS:
            assert day.count(change, kind, "nashville"), (change, kind)
    return sim, before, day, client_for("nashville", sim)


def test_changes_are_stamped_inside_the_day_and_never_in_the_future(busy_day) -> None:
    sim, _, day, _ = busy_day
    assert day.window_end <= sim.clock_now()
    data = sim.data("nashville")
    for event in day.events["nashville"]:
        assert day.window_start < event.at <= day.window_end
    assert [e.at for e in day.events["nashville"]] == sorted(e.at for e in day.events["nashville"])
    for kind in KINDS:
        for object_id in day.created["nashville"][kind] | day.updated["nashville"][kind]:
            obj = data.find(kind, object_id)
            assert day.window_start < data.updated_at(kind, obj) <= day.window_end, (kind, obj)


def test_properties_added_retired_and_photos_changed(busy_day) -> None:
    sim, before, day, client = busy_day
    listed = _ids(client.all_pages("/property", limit=250))
    for prop_id in day.created["nashville"]["property"]:
        assert prop_id in listed
        assert client.get_json(f"/property/{prop_id}")["photos"]
    old_photos = {p["id"]: _ids(p["photos"]) for p in before.properties}
    for prop_id in day.updated["nashville"]["property"]:
        assert _ids(client.get_json(f"/property/{prop_id}")["photos"]) != old_photos[prop_id]
    for prop_id in day.deleted["nashville"]["property"]:
        assert prop_id not in listed
        assert client.get(f"/property/{prop_id}").status_code == 404
        reservations, tasks = before.objects_of_property(prop_id)
        assert _ids(reservations) <= day.deleted["nashville"]["reservation"]
        assert _ids(tasks) <= day.deleted["nashville"]["task"]
        assert client.get_json("/task/", home_id=prop_id, updated_at=WIDE)["results"] == []
    assert sim.data("nashville").deleted_ids["property"] >= day.deleted["nashville"]["property"]


def test_reservations_created_changed_cancelled_and_deleted(busy_day) -> None:
    sim, before, day, client = busy_day
    since = day.window_start.isoformat()
    changed = _ids(client.all_pages("/reservation", limit=250, updated_at_ge=since))
    churned = day.created["nashville"]["reservation"] | day.updated["nashville"]["reservation"]
    assert changed == churned  # nothing else is newer: the filter sees exactly the day
    older = _ids(client.all_pages("/reservation", limit=250, updated_at_lt=since))
    assert not older & churned
    cancelled = {e.object_id for e in day.events["nashville"] if e.action == "cancelled"}
    assert cancelled
    for reservation_id in cancelled - day.deleted["nashville"]["reservation"]:
        assert client.get_json(f"/reservation/{reservation_id}")["status"] == "cancelled"
    old = {r["id"]: r for r in before.reservations}
    for reservation_id in day.updated["nashville"]["reservation"] - cancelled:
        now = client.get_json(f"/reservation/{reservation_id}")
        assert sim.data("nashville").updated_at("reservation", now) > day.window_start
        assert reservation_id in old  # an update of something that existed
    everything = _ids(client.all_pages("/reservation", limit=250, updated_at_ge="2000-01-01"))
    for reservation_id in day.deleted["nashville"]["reservation"]:
        assert reservation_id not in everything
        assert client.get(f"/reservation/{reservation_id}").status_code == 404
    assert sim.data("nashville").deleted_ids["reservation"] == day.deleted["nashville"][
        "reservation"]


def test_guest_edits_reach_the_reservation(sim_factory: Callable[..., Simulator]) -> None:
    sim = _make(sim_factory)
    before = {r["id"]: copy.deepcopy(r["guests"]) for r in sim.data("nashville").reservations}
    day = sim.advance_day(ChurnRates(**{**_zero(), "reservations_changed": 1.0}))
    data = sim.data("nashville")
    edited = [rid for rid in day.updated["nashville"]["reservation"]
              if data.find("reservation", rid)["guests"] != before[rid]]
    kinds = set()
    for rid in edited:
        old, new = before[rid], data.find("reservation", rid)["guests"]
        if len(new) != len(old):
            kinds.add("added" if len(new) > len(old) else "removed")
        elif any(a["first_name"] != b["first_name"] for a, b in zip(old, new, strict=True)):
            kinds.add("renamed")
        else:
            kinds.add("emails")
    assert kinds == {"added", "removed", "renamed", "emails"}


def test_tasks_created_updated_finished_children_and_deleted(busy_day) -> None:
    sim, before, day, client = busy_day
    data = sim.data("nashville")
    old = {t["id"]: t for t in before.tasks}
    days = f"{day.window_start.date()},{day.window_end.date()}"
    for task_id in day.created["nashville"]["task"] | day.updated["nashville"]["task"]:
        task = client.get_json(f"/task/{task_id}")
        assert task_id in _ids(client.all_pages("/task/", home_id=task["home_id"], updated_at=days))
    finished = {e.object_id for e in day.events["nashville"] if e.action == "finished"}
    for task_id in finished - day.deleted["nashville"]["task"]:
        task = client.get_json(f"/task/{task_id}")
        assert task["type_task_status"]["code"] == "finished"
        assert day.window_start < _moment(task["finished_at"]) <= day.window_end
        assert task_id not in _ids(client.all_pages("/task/", home_id=task["home_id"]))
    children = {e.object_id for e in day.events["nashville"] if e.action == "children_changed"}
    assert children
    for task_id in children - day.deleted["nashville"]["task"]:
        now = data.find("task", task_id)
        arrays = ("assignments", "photos", "costs", "supplies")
        assert any(_ids(now[a]) != _ids(old[task_id][a]) for a in arrays)
        if now["costs"]:
            assert now["total_cost"] == round(sum(c["cost"] for c in now["costs"]), 2)
    for task_id in day.deleted["nashville"]["task"]:
        assert client.get(f"/task/{task_id}").status_code == 404
        if task_id in old:  # (a task created today may leave with its retired property)
            home = old[task_id]["home_id"]
            assert task_id not in _ids(client.all_pages("/task/", home_id=home, updated_at=WIDE))
    assert data.deleted_ids["task"] == day.deleted["nashville"]["task"]


def test_the_task_by_home_index_stays_right(busy_day) -> None:
    sim, _, _, _ = busy_day
    sim.advance_day(BUSY)
    data = sim.data("nashville")
    homes = {t["home_id"] for t in data.tasks} | {p["id"] for p in data.properties}
    for home in homes:
        assert data.tasks_of_home(home) == [t for t in data.tasks if t["home_id"] == home]


def test_hard_cases_are_never_churned(sim_factory: Callable[..., Simulator]) -> None:
    sim = _make(sim_factory)
    hard = {kind: set() for kind in KINDS}
    from breezeway_sim.generator import HARD_CASES

    for case, ids in sim.hard_cases("nashville").items():
        if HARD_CASES[case][0] in hard:
            hard[HARD_CASES[case][0]].update(ids)
    heavy = ChurnRates(**{name: 0.5 for name in _zero()})
    for _ in range(2):
        day = sim.advance_day(heavy)
        for kind in KINDS:
            touched = {e.object_id for e in day.events["nashville"] if e.kind == kind}
            assert not touched & hard[kind] - day.created["nashville"][kind], kind


# -- lists that leave live objects out ----------------------------------------------------------
def test_hidden_objects_leave_every_list_but_answer_by_id(nashville: ApiClient) -> None:
    sim = nashville.simulator
    data = sim.data("nashville")
    task = next(t for t in data.tasks if t["linked_reservation"]
                and t["type_task_status"]["code"] == "created"
                and t["linked_reservation"]["id"] in _ids(data.reservations))
    reservation = data.find("reservation", task["linked_reservation"]["id"])
    sim.hide_from_lists("nashville", "task", task["id"])
    sim.hide_from_lists("nashville", "reservation", reservation["id"])
    home = task["home_id"]
    assert task["id"] not in _ids(nashville.all_pages("/task/", home_id=home))
    assert task["id"] not in _ids(nashville.all_pages("/task/", home_id=home, updated_at=WIDE))
    assert reservation["id"] not in _ids(
        nashville.all_pages("/reservation", updated_at_ge="2000-01-01"))
    assert task["id"] not in _ids(nashville.get_json(f"/reservation/{reservation['id']}/tasks"))
    assert nashville.get_json(f"/task/{task['id']}") == task
    assert nashville.get_json(f"/reservation/{reservation['id']}") == reservation

    sim.show_in_lists("nashville", "task", task["id"])
    assert task["id"] in _ids(nashville.all_pages("/task/", home_id=home))
    with pytest.raises(ValueError, match="kind"):
        sim.hide_from_lists("nashville", "property", home)
    with pytest.raises(KeyError):
        sim.hide_from_lists("nashville", "task", 1)


def test_churn_can_hide_objects_and_then_leaves_them_alone(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> None:
    sim = _make(sim_factory)
    day = sim.advance_day(ChurnRates(reservations_hidden=0.05, tasks_hidden=0.05))
    client = client_for("nashville", sim)  # after the day: a day outlives a token
    hidden = day.hidden["nashville"]
    assert hidden["task"] and hidden["reservation"]
    assert sim.data("nashville").hidden_from_lists == {k: set(v) for k, v in hidden.items()
                                                        if k != "property"}
    listed = _ids(client.all_pages("/reservation", limit=250, updated_at_ge="2000-01-01"))
    for reservation_id in hidden["reservation"]:
        assert reservation_id not in listed
        assert client.get(f"/reservation/{reservation_id}").status_code == 200
    for task_id in hidden["task"]:
        home = client.get_json(f"/task/{task_id}")["home_id"]
        assert task_id not in _ids(client.all_pages("/task/", home_id=home, updated_at=WIDE))
    later = sim.advance_day(ChurnRates(**{name: 0.3 for name in _zero()}))
    for kind in ("reservation", "task"):  # only a retired property takes them along
        actions = {e.action for e in later.events["nashville"]
                   if e.kind == kind and e.object_id in hidden[kind]}
        assert actions <= {"deleted_with_property"}


# -- direct mutations ---------------------------------------------------------------------------
def test_retire_property_takes_its_reservations_and_tasks(nashville: ApiClient) -> None:
    sim = nashville.simulator
    data = sim.data("nashville")
    prop = data.properties[7]
    reservations, tasks = data.objects_of_property(prop["id"])
    assert reservations and tasks
    gone = sim.retire_property("nashville", prop["id"])
    assert gone == {"property": [prop["id"]], "reservation": [r["id"] for r in reservations],
                    "task": [t["id"] for t in tasks]}
    assert nashville.get(f"/property/{prop['id']}").status_code == 404
    for reservation in reservations:
        assert nashville.get(f"/reservation/{reservation['id']}").status_code == 404
    for task in tasks:
        assert nashville.get(f"/task/{task['id']}").status_code == 404
    assert nashville.get_json("/task/", home_id=prop["id"], updated_at=WIDE)["results"] == []
    assert not _ids(reservations) & _ids(
        nashville.all_pages("/reservation", updated_at_ge="2000-01-01"))
    assert data.deleted_ids["task"] == _ids(tasks)


def test_delete_reservation_answers_404_and_leaves_lists(nashville: ApiClient) -> None:
    sim = nashville.simulator
    reservation = sim.data("nashville").reservations[4]
    sim.delete_reservation("nashville", reservation["id"])
    assert nashville.get(f"/reservation/{reservation['id']}").status_code == 404
    assert reservation["id"] not in _ids(
        nashville.all_pages("/reservation", updated_at_ge="2000-01-01"))
    with pytest.raises(KeyError):
        sim.delete_reservation("nashville", reservation["id"])


def test_a_churn_day_is_newer_than_any_earlier_mutation(
    sim_factory: Callable[..., Simulator],
) -> None:
    sim = _make(sim_factory)
    touched = sim.touch_task("nashville", sim.data("nashville").tasks[0]["id"])
    day = sim.advance_day(BUSY)
    assert _moment(touched["updated_at"]) < day.window_start
    assert day.window_end == sim.churn_log[-1].window_end <= sim.clock_now()
    assert [d.day for d in sim.churn_log] == [1]


# -- admin endpoint, CLI, cost ------------------------------------------------------------------
def test_admin_endpoint_advances_a_day_with_rate_overrides(
    simulator: Simulator, client_for: Callable[..., ApiClient]
) -> None:
    base = simulator.base_url
    tasks_before = len(simulator.data("nashville").tasks)
    answer = requests.post(f"{base}/_sim/advance-day", json={"tasks_deleted": 0.2}, timeout=10)
    assert answer.status_code == 200
    nashville = client_for("nashville")
    day = answer.json()
    assert day["day"] == 1 and day == nashville.simulator.churn_log[0].to_json()
    deleted = day["deleted"]["nashville"]["task"]
    assert len(deleted) >= int(0.2 * tasks_before)
    for task_id in deleted:
        assert nashville.get(f"/task/{task_id}").status_code == 404
    assert requests.post(f"{base}/_sim/advance-day", timeout=10).json()["day"] == 2
    for bad in ({"no_such_rate": 1}, {"tasks_deleted": -1}, {"tasks_deleted": "x"}, [1]):
        assert requests.post(f"{base}/_sim/advance-day", json=bad, timeout=10).status_code == 400
    assert len(nashville.simulator.churn_log) == 2


def test_cli_churn_days_pre_ages_the_data_and_ends_at_today() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "breezeway_sim", "--port", "0", "--scale", "0.01", "--regions",
         "austin", "--today", "2026-01-10", "--churn-days", "2"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().split()[2]
        clock = requests.post(f"{base}/_sim/advance-time", json={"seconds": 0}, timeout=10)
        assert clock.json()["now"].startswith("2026-01-10T12:00")
        assert requests.post(f"{base}/_sim/advance-day", timeout=10).json()["day"] == 3
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_a_day_at_the_test_scale_is_cheap(
    sim_factory: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No per-change id look-up (a scan of the collection) and one index rebuild at most
    per region: a day costs about one pass over the region's objects."""
    sim = _make(sim_factory)
    for region in REGIONS:
        sim.data(region)
    calls = {"find": 0, "reindex": 0}
    find, reindex = RegionData.find, RegionData.reindex

    def counted_find(self: RegionData, kind: str, object_id: int) -> Any:
        calls["find"] += 1
        return find(self, kind, object_id)

    def counted_reindex(self: RegionData) -> None:
        calls["reindex"] += 1
        reindex(self)

    monkeypatch.setattr(RegionData, "find", counted_find)
    monkeypatch.setattr(RegionData, "reindex", counted_reindex)
    day = sim.advance_day()
    assert calls["find"] == 0
    assert calls["reindex"] <= len(REGIONS)
    objects = sum(len(sim.data(r).reservations) + len(sim.data(r).tasks) for r in REGIONS)
    assert sum(len(events) for events in day.events.values()) < 0.2 * objects


def _zero() -> dict[str, float]:
    return {name: 0.0 for name in ChurnRates.__dataclass_fields__}
