"""The truth comparator, proved on today's pipeline (tap → target, real PostgreSQL).

A full sync equals the truth. After one churn day and a second run, the only difference is
what was deleted upstream that day: today the pipeline reconciles properties only, so
deleted reservations and tasks stay live (issue 11). `RECONCILES_DELETIONS` records that
per kind of second run; when reconciliation lands, flip it and the same test asserts zero
drift.

The simulator runs with a fixed `today` in the past and reservation timestamps shown: the
tap's task range ends at the real tomorrow and, without `updated_at` in reservations, its
reservation bookmark is the real sync start, so simulated days must not pass the real clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from breezeway_sim import ChurnRates, Simulator, reference
from pipeline import sync_region
from tap_breezeway.tap import DEFAULT_START_DATE
from truth import REQUIREMENTS, TABLES, TruthDiff, compare, truth_parents

REGIONS = ["nashville", "austin"]
#: Default churn, with enough deletions that every region loses reservations, tasks and a
#: property (with its reservations and tasks) in one day at the test scale.
DAY_RATES = ChurnRates(properties_retired=0.15, reservations_deleted=0.03, tasks_deleted=0.03)
#: Does a second run of this kind (tap, target, confirm-deletions) soft-delete what was
#: deleted upstream? A full-refresh run reads the whole window, so it proves absence; an
#: incremental one cannot (the lists carry no tombstones).
RECONCILES_DELETIONS = {"incremental": False, "full-refresh": True}
PARENT_TABLES = {"property": "properties", "reservation": "reservations", "task": "tasks"}


@pytest.fixture
def synced(sim_factory: Callable[..., Simulator], migrated_db: Any) -> tuple[Any, ...]:
    """A simulator and a schema after one full tap → target run of every region."""
    sim = sim_factory(scale=0.02, regions=REGIONS, auth_rate_limit=False,
                      reservation_timestamps=True,
                      today=datetime.now(UTC).date() - timedelta(days=2))
    states = {region: sync_region(sim, region, migrated_db) for region in REGIONS}
    return sim, migrated_db, states


def _compare(sim: Simulator, db: Any) -> TruthDiff:
    return compare(sim, REGIONS, DEFAULT_START_DATE, db.engine, db.schema)


def test_a_full_sync_equals_the_truth(synced: tuple[Any, ...]) -> None:
    sim, db, _ = synced
    diff = _compare(sim, db)
    assert diff.empty, diff.summary()
    for region in REGIONS:
        hard = sim.hard_cases(region)
        refused = set(hard["reservation_missing_property"] + hard["checkin_after_checkout"])
        assert diff.keys("quarantined", "reservations", region) == refused
        assert diff.table("tasks", region).live_rows == len(sim.data(region).tasks)
    assert diff.summary().startswith("truth diff: no drift")


@pytest.mark.parametrize("run", ["incremental", "full-refresh"])
def test_after_a_churn_day_only_upstream_deletions_differ(
    synced: tuple[Any, ...], run: str
) -> None:
    sim, db, states = synced
    before = {region: copy.deepcopy(sim.data(region)) for region in REGIONS}
    day = sim.advance_day(DAY_RATES)
    _assert_the_day_is_seen_before_the_sync(_compare(sim, db), day)
    for region in REGIONS:
        # The day retires 15% of the properties with their tasks: a breaker at the default 5%
        # would (rightly) refuse to retire that much at once.
        sync_region(sim, region, db, state=None if run == "full-refresh" else states[region],
                    target_overrides={"reconcile_breaker_ratio": 0.5})

    diff = _compare(sim, db)
    print(f"\n{run}: {diff.summary()}")
    if RECONCILES_DELETIONS[run]:
        assert diff.empty, diff.summary()
        return
    assert diff.drift == diff.count("deleted_upstream") and diff.only_deleted_upstream(), (
        diff.summary())
    for region in REGIONS:
        old = truth_parents(before[region], datetime.fromisoformat(DEFAULT_START_DATE))
        assert not diff.keys("deleted_upstream", "properties", region)  # reconciled today
        for kind in ("reservation", "task"):
            deleted = day.deleted[region][kind]
            assert diff.keys("deleted_upstream", PARENT_TABLES[kind], region) == deleted
            for table in TABLES:
                if table.parent == PARENT_TABLES[kind]:
                    children = {key for parent_id in deleted
                                for key in _child_keys(sim, region, table,
                                                       old[kind][parent_id])}
                    assert diff.keys("deleted_upstream", table.name, region) == children


def _assert_the_day_is_seen_before_the_sync(diff: TruthDiff, day: Any) -> None:
    """Before the second run the comparator shows exactly the day: new rows missing,
    changed rows newer upstream, deleted rows still live."""
    for region in REGIONS:
        for kind, table in PARENT_TABLES.items():
            assert day.deleted[region][kind], (region, kind)  # the test is not vacuous
            assert diff.keys("missing_in_db", table, region) == day.created[region][kind]
            assert diff.keys("deleted_upstream", table, region) == day.deleted[region][kind]
            if kind != "property":  # properties carry no updated_at
                newer = {key for key, column in diff.keys("mismatches", table, region)
                         if column == "source_updated_at"}
                assert newer == day.updated[region][kind], (region, kind)


def _child_keys(sim: Simulator, region: str, table: Any, parent: dict[str, Any]
                ) -> set[tuple[int, Any]]:
    if table.array == REQUIREMENTS:  # not nested upstream: the checklist the task had
        items = reference.task_requirements(sim.seed, region, parent)
    else:
        items = parent.get(table.array) or []
    return {(parent["id"], position if table.child_key is None else item[table.child_key])
            for position, item in enumerate(items)}


def test_the_comparator_names_each_kind_of_drift_by_id_only(synced: tuple[Any, ...]) -> None:
    sim, db, _ = synced
    data = sim.data("nashville")
    task = next(t for t in data.tasks if t["photos"] and t["id"] not in _hard_ids(sim))
    reservation = next(r for r in data.reservations if r["id"] not in _hard_ids(sim))
    guest_name = reservation["guests"][0]["first_name"]
    assert len(db.query("UPDATE tasks SET deleted_at = now() WHERE task_id = :i "
                        "AND region_code = 'nashville' RETURNING id", i=task["id"])) == 1
    assert len(db.query(
        "UPDATE reservation_guests g SET first_name = 'Changed' FROM reservations r "
        "WHERE r.id = g.reservation_pk AND r.reservation_id = :i AND g.position = 0 "
        "AND r.region_code = 'nashville' RETURNING g.id", i=reservation["id"])) == 1
    sim.touch_task("nashville", data.tasks[3]["id"])  # newer upstream than in the database
    gone = next(r for r in data.reservations if r["id"] not in _hard_ids(sim)
                and r is not reservation)
    sim.delete_reservation("nashville", gone["id"])
    hidden = sim.add_task("nashville", data.properties[1]["id"])
    sim.hide_from_lists("nashville", "task", hidden["id"])
    stale_hidden = data.tasks[4]  # changed upstream, then gone from the lists
    sim.touch_task("nashville", stale_hidden["id"])
    sim.hide_from_lists("nashville", "task", stale_hidden["id"])

    diff = _compare(sim, db)
    assert diff.keys("missing_in_db", "tasks", "nashville") == {task["id"]}
    assert diff.keys("missing_in_db", "task_photos", "nashville") == {
        (task["id"], photo["id"]) for photo in task["photos"]}
    assert (reservation["id"], 0) in {key for key, column in diff.keys(
        "mismatches", "reservation_guests", "nashville") if column == "first_name"}
    assert ((data.tasks[3]["id"], "source_updated_at") in
            diff.keys("mismatches", "tasks", "nashville"))
    assert diff.keys("deleted_upstream", "reservations", "nashville") == {gone["id"]}
    assert diff.keys("deleted_upstream", "reservation_guests", "nashville") == {
        (gone["id"], position) for position in range(len(gone["guests"]))}
    assert diff.keys("hidden_from_lists", "tasks", "nashville") == {
        hidden["id"], stale_hidden["id"]}
    assert not any(key == stale_hidden["id"] for key, _ in diff.keys(
        "mismatches", "tasks", "nashville"))
    assert diff.count("hidden_from_lists") == 2 + sum(  # the new one's children, if any
        len(hidden[array]) for array in ("assignments", "photos", "costs", "supplies")) + len(
        sim.task_requirements("nashville", hidden["id"]))
    assert not diff.empty
    summary = diff.summary()
    assert str(task["id"]) in summary and "first_name" in summary
    assert guest_name not in summary and "Changed" not in summary


def _hard_ids(sim: Simulator) -> set[int]:
    return {i for ids in sim.hard_cases("nashville").values() for i in ids}
