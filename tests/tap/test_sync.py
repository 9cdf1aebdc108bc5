"""A full sync of two regions against the module_sim: counts, API calls, message order."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from breezeway_sim import Simulator
from tap_breezeway.ratelimit import RequestPacer
from tap_harness import (
    NESTED,
    PARENT_KEY,
    REFERENCE_LISTS,
    REQUIREMENT_STREAMS,
    expected_counts,
    minimum_calls,
    queries_of,
    run_tap,
)

REGIONS = ("nashville", "austin")
PAGE_SIZE = 7  # small, so properties, reservations and some task lists span several pages


@pytest.fixture(scope="module")
def two_region_runs(module_sim: Simulator) -> dict:
    """One full run per region, each with the simulator's call counters of that run."""
    runs = {}
    for region in REGIONS:
        module_sim.reset_counters()
        output = run_tap(module_sim, region, page_size=PAGE_SIZE, max_workers=4)
        runs[region] = (output, Counter(module_sim.counters))
    return runs


def test_record_counts_equal_the_simulators_data(module_sim: Simulator, two_region_runs: dict):
    for region, (output, _) in two_region_runs.items():
        assert output.counts() == expected_counts(module_sim, region), region


def test_records_are_the_regions_own_and_carry_region_code(
    module_sim: Simulator, two_region_runs: dict
):
    for region, (output, _) in two_region_runs.items():
        for stream, rows in output.records.items():
            assert {row["region_code"] for row in rows} == {region}, stream
        property_ids = {p["id"] for p in module_sim.data(region).properties}
        assert {p["id"] for p in output.records["properties"]} == property_ids
        task_ids = {t["id"] for t in module_sim.data(region).tasks}
        assert {t["id"] for t in output.records["tasks"]} == task_ids


def test_api_calls_are_the_minimum(module_sim: Simulator, two_region_runs: dict):
    for region, (_, calls) in two_region_runs.items():
        assert calls == minimum_calls(module_sim, region, PAGE_SIZE), region


def test_every_task_list_call_has_home_id_and_a_date_range(module_sim: Simulator):
    module_sim.reset_counters()
    run_tap(module_sim, "nashville", start_date="2020-03-04T00:00:00Z")
    task_calls = queries_of(module_sim, "/task/")
    assert len(task_calls) == len(module_sim.data("nashville").properties)
    for query in task_calls:
        assert query["home_id"]
        start, end = query["updated_at"].split(",")
        assert start == "2020-03-03"  # start_date minus one day
        assert end > start
    reservation_calls = queries_of(module_sim, "/reservation")
    assert {q["updated_at_ge"] for q in reservation_calls} == {"2020-03-04T00:00:00+00:00"}
    property_calls = queries_of(module_sim, "/property")
    assert {q["sort_order"] for q in property_calls} == {"asc"}


def test_children_follow_their_parent_record(two_region_runs: dict):
    parent_of = {child: parent for child, parent, _, _ in NESTED}
    for output, _ in two_region_runs.values():
        current: dict[str, object] = {}
        checked = 0
        for message in output.of_type("RECORD"):
            stream = message["stream"]
            if stream in PARENT_KEY:
                current = {stream: message["record"]["id"]}
            elif stream in parent_of:
                parent = parent_of[stream]
                assert current.get(parent) == message["record"][PARENT_KEY[parent]], message
                checked += 1
        assert checked > 0


def test_schema_is_sent_once_per_stream(two_region_runs: dict):
    for output, _ in two_region_runs.values():
        schemas = Counter(m["stream"] for m in output.of_type("SCHEMA"))
        assert set(schemas.values()) == {1}
        assert set(schemas) >= set(output.records)


FULL_TABLE = ("properties", "people", *REFERENCE_LISTS)


def test_full_table_streams_are_wrapped_in_one_activate_version(two_region_runs: dict):
    for output, _ in two_region_runs.values():
        for stream in FULL_TABLE:
            kinds = [m["type"] for m in output.messages
                     if m.get("stream") == stream and m["type"] != "SCHEMA"]
            assert kinds[0] == kinds[-1] == "ACTIVATE_VERSION", stream
            assert kinds.count("ACTIVATE_VERSION") == 2
            versions = {m["version"] for m in output.messages if m.get("stream") == stream
                        and m["type"] in ("ACTIVATE_VERSION", "RECORD")}
            assert len(versions) == 1
        # Incremental and child streams are never "complete": no ACTIVATE_VERSION for them.
        assert {m["stream"] for m in output.of_type("ACTIVATE_VERSION")} == set(FULL_TABLE)


def test_activate_version_can_be_switched_off(module_sim: Simulator):
    output = run_tap(module_sim, "austin", emit_activate_version_messages=False)
    assert output.of_type("ACTIVATE_VERSION") == []
    assert output.counts() == expected_counts(module_sim, "austin")


def test_datetimes_are_utc_with_offset_and_hard_cases_survive(module_sim: Simulator):
    output = run_tap(module_sim, "nashville")
    cases = module_sim.hard_cases("nashville")
    tasks = {t["id"]: t for t in output.records["tasks"]}
    mixed = tasks[cases["mixed_datetime_forms"][0]]
    raw = module_sim.data("nashville").find("task", mixed["id"])
    assert "+" not in raw["created_at"]  # naive upstream ...
    assert mixed["created_at"] == raw["created_at"] + "+00:00"  # ... UTC with an offset here
    big_task = tasks[cases["big_id_task"][0]]
    assert big_task["id"] > 2**31
    nul_task = tasks[cases["nul_char_in_text"][0]]
    assert "\x00" in nul_task["description"]  # passed on: the target strips or rejects it
    duplicate = cases["duplicate_photo"][0]
    photos = [p for p in output.records["property_photos"] if p["property_id"] == duplicate]
    upstream = module_sim.data("nashville").find("property", duplicate)["photos"]
    assert len(upstream) == len(photos) + 1
    assert [p["position"] for p in photos] == list(range(len(photos)))


def test_tasks_come_in_property_order_despite_parallel_calls(two_region_runs: dict):
    for output, _ in two_region_runs.values():
        order = {p["id"]: index for index, p in enumerate(output.records["properties"])}
        homes = [order[t["home_id"]] for t in output.records["tasks"]]
        assert homes == sorted(homes)


def test_request_budget_spaces_calls(module_sim: Simulator):
    module_sim.reset_counters()
    started = time.monotonic()
    run_tap(module_sim, "austin", max_requests_per_second=20, max_workers=4,
            without=REQUIREMENT_STREAMS)
    elapsed = time.monotonic() - started
    data_calls = sum(count for call, count in module_sim.counters.items() if "/inventory/" in call)
    assert elapsed >= (data_calls - 1) / 20


def test_pacer_reserves_evenly_spaced_slots_across_threads():
    now = [100.0]
    slept: list[float] = []
    pacer = RequestPacer(4, clock=lambda: now[0], sleep=slept.append)
    for _ in range(3):
        pacer.wait_turn()
    assert slept == [0.25, 0.5]  # three calls at t, t+0.25, t+0.5 (clock not advanced)
    assert RequestPacer(None, sleep=slept.append).wait_turn() is None and len(slept) == 2


def test_task_calls_overlap_under_latency(sim_factory):
    """At 300 ms per call, a sequential tap needs at least (all calls x 300 ms)."""
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, latency_ms=300)
    started = time.monotonic()
    output = run_tap(sim, "nashville", max_workers=8, without=REQUIREMENT_STREAMS)
    elapsed = time.monotonic() - started
    calls = sum(sim.counters.values())
    assert output.counts() == expected_counts(sim, "nashville", without=REQUIREMENT_STREAMS)
    assert calls >= 20
    assert elapsed < 0.75 * calls * 0.3  # sequential would take >= calls * 0.3 s
