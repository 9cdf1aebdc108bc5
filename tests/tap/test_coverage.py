"""Issue 18 in the tap: task requirements, tag links, reference lists, task calls only where
tasks can be, and the calls a run spends (`upstream_calls`)."""

from __future__ import annotations

import copy
import io
import json
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stdout

import pytest
from breezeway_sim import Simulator
from tap_breezeway.requirements import BREAKER_FAILURES
from tap_breezeway.tap import TapBreezeway
from tap_harness import called_properties, queries_of, run_tap, tap_config

REGION = "nashville"
REQUIREMENTS_CALL = "GET /public/inventory/v1/task/{id}/requirements"


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(regions=[REGION], auth_rate_limit=False)


def records_of(output, stream: str, task_id: int) -> list[dict]:
    return [r for r in output.records.get(stream, []) if r["task_id"] == task_id]


# -- requirements -----------------------------------------------------------------------------
def test_requirements_are_read_per_task_and_follow_their_task(sim: Simulator):
    output = run_tap(sim, REGION)
    data = sim.data(REGION)
    assert sim.counters[REQUIREMENTS_CALL] == len(data.tasks)
    for task in data.tasks[:40]:
        upstream = sim.task_requirements(REGION, task["id"])
        got = records_of(output, "task_requirements", task["id"])
        assert [r["position"] for r in got] == list(range(len(upstream)))
        for record, item in zip(got, upstream, strict=True):
            assert record["type_requirement"] == item["type_requirement"]
            assert record["action"] == (
                [item["action"]] if isinstance(item["action"], str) else item["action"])
            expected = item["response"]
            assert record["response"] == (
                expected if expected is None or isinstance(expected, str) else str(expected))
        photos = records_of(output, "task_requirement_photos", task["id"])
        assert [(p["requirement_position"], p["url"]) for p in photos] == [
            (n, url) for n, item in enumerate(upstream) for url in item["photos"]]
        assert [p["position"] for p in photos] == list(range(len(photos)))
    # Numbers upstream arrive as text (a generic target's column is text either way).
    assert any(r["response"] and r["response"].isdigit()
               for r in output.records["task_requirements"])
    # Children of a task follow it, requirements included.
    current = None
    for message in output.of_type("RECORD"):
        if message["stream"] == "tasks":
            current = message["record"]["id"]
        elif message["stream"] in ("task_requirements", "task_requirement_photos"):
            assert message["record"]["task_id"] == current


def test_an_incremental_run_asks_only_for_the_tasks_it_reads(sim: Simulator):
    first = run_tap(sim, REGION)
    task = sim.touch_task(REGION, sim.data(REGION).tasks[7]["id"])
    sim.reset_counters()
    second = run_tap(sim, REGION, state=first.final_state)
    read = {t["id"] for t in second.records["tasks"]}
    assert task["id"] in read
    asked = {int(path.split("/")[-2]) for _, path, _, _ in sim.requests_log
             if path.endswith("/requirements")}
    assert asked == read


def test_a_failed_requirement_call_is_reported_before_its_task_and_retried(sim: Simulator):
    first = run_tap(sim, REGION)
    data = sim.data(REGION)
    task = sim.touch_task(REGION, data.tasks[20]["id"])
    other = sim.touch_task(REGION, data.tasks[60]["id"])
    sim.fail_calls(f"/task/{task['id']}/requirements", 503)
    second = run_tap(sim, REGION, state=copy.deepcopy(first.final_state), backoff_max_tries=2)

    crawls = second.records["crawls"]
    assert [(c["stream"], c["scope"], c["complete"], c["reason"]) for c in crawls] == [
        ("task_requirements", f"task:{task['id']}", False, "HTTP 503")]
    order = [(m["stream"], m["record"].get("id")) for m in second.of_type("RECORD")]
    assert order.index(("crawls", None)) < order.index(("tasks", task["id"]))
    assert records_of(second, "task_requirements", task["id"]) == []
    assert records_of(second, "task_requirements", other["id"])  # the region goes on
    partition = second.final_state["bookmarks"]["tasks"]["partitions"][0]
    assert str(task["home_id"]) in partition["retry_properties"]

    sim.clear_failed_calls()
    third = run_tap(sim, REGION, state=copy.deepcopy(second.final_state))
    assert len(records_of(third, "task_requirements", task["id"])) == len(
        sim.task_requirements(REGION, task["id"]))
    assert "retry_properties" not in third.final_state["bookmarks"]["tasks"]["partitions"][0]


def test_a_refused_requirement_call_is_reported_but_not_retried(sim: Simulator):
    first = run_tap(sim, REGION)
    task = sim.touch_task(REGION, sim.data(REGION).tasks[20]["id"])
    sim.fail_calls(f"/task/{task['id']}/requirements", 404)
    second = run_tap(sim, REGION, state=copy.deepcopy(first.final_state))
    assert [(c["scope"], c["reason"]) for c in second.records["crawls"]] == [
        (f"task:{task['id']}", "HTTP 404")]
    assert "retry_properties" not in second.final_state["bookmarks"]["tasks"]["partitions"][0]


def test_requirement_calls_stop_after_a_run_of_failures(sim: Simulator):
    sim.fail_calls("/requirements", 403)
    output = run_tap(sim, REGION, max_workers=1)
    assert sim.counters[REQUIREMENTS_CALL] == BREAKER_FAILURES
    scopes = [(c["stream"], c["scope"]) for c in output.records["crawls"]
              if c["stream"] == "task_requirements"]
    assert scopes.count(("task_requirements", "region")) == 1
    assert len(scopes) == BREAKER_FAILURES + 1  # the failed tasks, and the region
    assert len(output.records["tasks"]) == len(sim.data(REGION).tasks)  # tasks unaffected
    assert "task_requirements" not in output.records


# -- task calls where tasks can be --------------------------------------------------------------
@pytest.fixture
def mostly_inactive(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(regions=[REGION], auth_rate_limit=False, scale=0.05,
                       inactive_share=0.8)


def task_homes_called(sim: Simulator) -> Counter[str]:
    return Counter(q["home_id"] for q in queries_of(sim, "/task/"))


def test_an_incremental_run_calls_only_active_properties_and_misses_none_of_their_tasks(
        mostly_inactive: Simulator):
    sim = mostly_inactive
    data = sim.data(REGION)
    active = [p for p in data.properties if p["status"] == "active"]
    inactive = [p for p in data.properties if p["status"] == "inactive"]
    first = run_tap(sim, REGION)
    assert set(task_homes_called(sim)) == {str(p["id"]) for p in data.properties}

    new_tasks = [sim.add_task(REGION, p["id"])["id"] for p in active]
    touched = [sim.touch_task(REGION, t["id"])["id"] for t in data.tasks
               if t["home_id"] in {p["id"] for p in active}][:10]
    on_inactive = sim.add_task(REGION, inactive[0]["id"])["id"]
    sim.reset_counters()
    second = run_tap(sim, REGION, state=copy.deepcopy(first.final_state))

    assert set(task_homes_called(sim)) == {str(p["id"]) for p in active}
    read = {t["id"] for t in second.records["tasks"]}
    assert set(new_tasks) | set(touched) <= read
    assert on_inactive not in read  # left to the next full-window run
    assert "crawls" not in second.records  # nothing claims a skipped property was crawled
    (usage,) = [u for u in second.records["upstream_calls"] if u["stream"] == "tasks"]
    assert (usage["properties_listed"], usage["properties_called"], usage["full_window"]) == (
        len(data.properties), len(active), False)
    assert usage["calls"] == len(active)

    sim.reset_counters()
    reconcile = run_tap(sim, REGION, state=copy.deepcopy(second.final_state), reconcile=True)
    assert set(task_homes_called(sim)) == {str(p["id"]) for p in data.properties}
    assert on_inactive in {t["id"] for t in reconcile.records["tasks"]}
    complete = {c["property_id"] for c in reconcile.records["crawls"] if c["complete"]
                and c["scope"].startswith("property:")}
    assert complete == {p["id"] for p in data.properties}


def test_a_failed_inactive_property_is_read_again_on_an_incremental_run(
        mostly_inactive: Simulator):
    sim = mostly_inactive
    inactive = next(p for p in sim.data(REGION).properties if p["status"] == "inactive")
    sim.fail_calls("/task/", 422, home_id=str(inactive["id"]))
    first = run_tap(sim, REGION)
    retry = first.final_state["bookmarks"]["tasks"]["partitions"][0]["retry_properties"]
    assert str(inactive["id"]) in retry
    sim.clear_failed_calls()
    sim.reset_counters()
    second = run_tap(sim, REGION, state=copy.deepcopy(first.final_state))
    called = task_homes_called(sim)
    assert str(inactive["id"]) in called
    assert len(called) == len(called_properties(sim, REGION, full_window=False)) + 1
    assert "retry_properties" not in second.final_state["bookmarks"]["tasks"]["partitions"][0]


def test_the_statuses_setting_chooses_the_properties(mostly_inactive: Simulator):
    sim = mostly_inactive
    first = run_tap(sim, REGION, without=("task_requirements", "task_requirement_photos"))
    for statuses, expected in ((["*"], len(sim.data(REGION).properties)),
                               (["INACTIVE"], sum(p["status"] == "inactive"
                                                  for p in sim.data(REGION).properties))):
        sim.reset_counters()
        run_tap(sim, REGION, state=copy.deepcopy(first.final_state),
                task_property_statuses=statuses,
                without=("task_requirements", "task_requirement_photos"))
        assert len(task_homes_called(sim)) == expected, statuses


# -- reference lists and tag links ------------------------------------------------------------
def test_reference_lists_and_tag_links(sim: Simulator):
    data = sim.data(REGION)
    tagged = data.properties[1]
    tagged["tags"] = [{"id": 7, "name": "Hot tub"}, {"id": 9, "name": "Pets"},
                      {"id": 7, "name": "Hot tub"}]
    output = run_tap(sim, REGION)
    assert [(t["property_id"], t["tag_id"], t["position"]) for t in
            output.records["property_tags"]] == [(tagged["id"], 7, 0), (tagged["id"], 9, 1)]
    links = {(t["task_id"], t["tag_id"]) for t in output.records["task_tags"]}
    assert links == {(t["id"], tag["id"]) for t in data.tasks for tag in t["task_tags"]}
    assert {t["id"]: t["template_name"] for t in output.records["task_templates"]} == {
        t["id"]: t["template_name"] for t in data.templates}
    assert len(output.records["supplies"]) == len(data.supplies)
    supply = output.records["supplies"][0]
    assert supply["stock_status_code"] == "in_stock" and supply["updated_at"].endswith("+00:00")
    # No company_id configured: the subdepartments call takes the properties' company.
    assert queries_of(sim, "/companies/subdepartments") == [
        {"company_id": str(data.company_id)}]
    assert len(output.records["task_subdepartments"]) == len(data.subdepartments)


def test_subdepartments_without_any_company_are_skipped_without_a_version(
        sim: Simulator, caplog: pytest.LogCaptureFixture):
    for prop in sim.data(REGION).properties:
        prop["company_id"] = None
    output = run_tap(sim, REGION)
    assert "task_subdepartments" not in output.records
    assert "task_subdepartments" not in {m["stream"] for m in output.of_type("ACTIVATE_VERSION")}
    assert queries_of(sim, "/companies/subdepartments") == []
    assert "Stream 'task_subdepartments' skipped" in caplog.text
    assert output.records["tasks"]  # the run goes on


# -- upstream_calls ---------------------------------------------------------------------------
def test_upstream_calls_run_last_and_report_every_stream_that_called(sim: Simulator):
    tap = TapBreezeway(config=tap_config(sim, REGION))
    assert list(tap.streams)[-1] == "upstream_calls"  # the SDK syncs streams by name
    output = run_tap(sim, REGION)
    reported = {u["stream"]: u["calls"] for u in output.records["upstream_calls"]}
    by_path = {"properties": "/property", "reservations": "/reservation", "tasks": "/task/",
               "task_requirements": "/task/{id}/requirements", "supplies": "/supplies",
               "task_templates": "/companies/templates"}
    for stream, path in by_path.items():
        assert reported[stream] == sim.counters[f"GET /public/inventory/v1{path}"], stream


def test_no_state_comes_before_the_first_api_call(sim: Simulator):
    """A target judges a run whose output has no STATE as a tap that failed at its start
    (wrong credentials): no stream without API calls may come first."""
    tap = TapBreezeway(config=tap_config(sim, REGION, client_secret="wrong"))
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer), pytest.raises(Exception, match="refused the credentials"):
        tap.sync_all()
    buffer.seek(0)
    kinds = [json.loads(line)["type"] for line in buffer.read().splitlines() if line]
    assert "STATE" not in kinds


def test_a_refused_reference_list_is_skipped_without_a_version(sim: Simulator,
                                                               caplog: pytest.LogCaptureFixture):
    """`/reservation/tags` sorts before reservations: a refusal there must not cost the run
    its reservations and tasks, nor open a version no record will close."""
    sim.fail_calls("/reservation/tags", 403)
    sim.fail_calls("/supplies", 404)
    output = run_tap(sim, REGION)
    assert "supplies" not in output.records
    assert "reservation_tag_definitions" not in output.records
    assert "reservation_tag_definitions" not in {
        m["stream"] for m in output.of_type("ACTIVATE_VERSION")}
    assert "Stream 'reservation_tag_definitions' skipped" in caplog.text
    assert "HTTP 403" in caplog.text
    assert len(output.records["reservations"]) == len(sim.data(REGION).reservations)
    assert len(output.records["tasks"]) == len(sim.data(REGION).tasks)
    assert len(output.records["task_tag_definitions"]) == len(sim.data(REGION).task_tags)
