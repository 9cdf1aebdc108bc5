"""Incremental runs: the second run reads only what changed; bookmarks are per region."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from breezeway_sim import Simulator
from tap_breezeway.records import utc_datetime
from tap_harness import called_properties, expected_counts, minimum_calls, run_tap

REGIONS = ("nashville", "austin")


def bookmark(state: dict, stream: str, region: str) -> str:
    partitions = state["bookmarks"][stream]["partitions"]
    (partition,) = [p for p in partitions if p["context"] == {"region_code": region}]
    return partition["replication_key_value"]


def changed_reservations(sim: Simulator, region: str, since: str) -> list[dict]:
    """What `updated_at_ge=<since>` selects (the API filters on its own updated_at)."""
    data = sim.data(region)
    moment = datetime.fromisoformat(since)
    return [r for r in data.reservations if data.updated_at("reservation", r) >= moment]


def changed_tasks(sim: Simulator, region: str, since: str) -> list[dict]:
    """What `updated_at=<bookmark day - 1>,<tomorrow>` selects, per called property (an
    incremental run calls the active ones)."""
    first_day = datetime.fromisoformat(since).date() - timedelta(days=1)
    last_day = datetime.now(UTC).date() + timedelta(days=1)
    data = sim.data(region)
    return [t for p in called_properties(sim, region, full_window=False)
            for t in data.tasks_of_home(p["id"])
            if first_day <= data.updated_at("task", t).date() <= last_day]


@pytest.mark.parametrize("reservation_timestamps", [False, True],
                         ids=["reservations-without-updated_at", "reservations-with-updated_at"])
def test_second_run_reads_only_what_changed(
    sim_factory: Callable[..., Simulator], reservation_timestamps: bool
):
    sim = sim_factory(regions=list(REGIONS), auth_rate_limit=False,
                      reservation_timestamps=reservation_timestamps)
    first = {region: run_tap(sim, region) for region in REGIONS}
    for region in REGIONS:
        assert first[region].counts() == expected_counts(sim, region)

    data = sim.data("nashville")
    home = data.properties[2]["id"]
    changed = {
        "reservations": {sim.touch_reservation("nashville", data.reservations[3]["id"])["id"],
                         sim.add_reservation("nashville", home)["id"]},
        "tasks": {sim.touch_task("nashville", data.tasks[5]["id"])["id"],
                  sim.add_task("nashville", home)["id"]},
    }
    state = first["nashville"].final_state
    since_res = bookmark(state, "reservations", "nashville")
    since_tasks = bookmark(state, "tasks", "nashville")
    sim.reset_counters()
    second = run_tap(sim, "nashville", state=copy.deepcopy(state))

    reservations = changed_reservations(sim, "nashville", since_res)
    tasks = changed_tasks(sim, "nashville", since_tasks)
    for stream in ("reservations", "tasks"):
        read = {r["id"] for r in second.records[stream]}
        assert changed[stream] <= read, stream
        assert len(read) < len(first["nashville"].records[stream]) / 2, stream
    assert {r["id"] for r in second.records["reservations"]} == {r["id"] for r in reservations}
    assert {t["id"] for t in second.records["tasks"]} == {t["id"] for t in tasks}
    assert second.counts() == expected_counts(sim, "nashville", tasks=tasks,
                                              reservations=reservations)
    # Still the minimum: pages of the changed reservations, one task call per property.
    assert Counter(sim.counters) == minimum_calls(sim, "nashville", 100,
                                                  reservations=len(reservations), tasks=tasks)

    # Bookmarks advance, and only in the region's own partition.
    new_state = second.final_state
    assert bookmark(new_state, "reservations", "nashville") > since_res
    newest_task = max(utc_datetime(t["updated_at"]) for t in data.tasks
                      if t["id"] in changed["tasks"])
    assert bookmark(new_state, "tasks", "nashville") == newest_task > since_tasks
    austin_state = run_tap(sim, "austin", state=copy.deepcopy(first["austin"].final_state)
                           ).final_state
    for stream in ("reservations", "tasks"):
        assert bookmark(austin_state, stream, "austin") >= bookmark(
            first["austin"].final_state, stream, "austin")
        assert [p["context"] for p in austin_state["bookmarks"][stream]["partitions"]] == [
            {"region_code": "austin"}]


def test_another_regions_state_is_not_applied(module_sim: Simulator):
    nashville = run_tap(module_sim, "nashville")
    austin = run_tap(module_sim, "austin", state=copy.deepcopy(nashville.final_state))
    assert austin.counts() == expected_counts(module_sim, "austin")  # a first run for austin
    partitions = austin.final_state["bookmarks"]["tasks"]["partitions"]
    assert {p["context"]["region_code"] for p in partitions} == set(REGIONS)
