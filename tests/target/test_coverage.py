"""Issue 18 in the target: requirements kept when their call failed, reference lists and the
task links to them (never an orphan), tag links, upstream_calls in sync_runs; and a tap run
against the simulator loading all of it."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import Any

import pytest
import singer_messages as singer
from breezeway_sim.data import FINISHED_TASK_CODES
from singer_messages import (
    activate,
    property_record,
    record,
    reservation_record,
    state,
    task_record,
)
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

tap_module = pytest.importorskip("tap_breezeway.tap")
REGION = "smoky"


def requirement(task_id: int, position: int, response: str | None = "Good") -> dict[str, Any]:
    return record("task_requirements", {
        "task_id": task_id, "position": position, "region_code": REGION,
        "section_name": "Kitchen", "action": ["Check"], "response": response,
        "type_requirement": "condition", "photo_required": False, "note": None,
        "home_element_name": None})


def requirement_photo(task_id: int, position: int) -> dict[str, Any]:
    return record("task_requirement_photos", {
        "task_id": task_id, "position": position, "region_code": REGION,
        "requirement_position": 0, "url": f"https://cdn.example/r{position}.jpg"})


def unread(scope: str) -> dict[str, Any]:
    """The tap's report that a task's (or the region's) requirement calls failed."""
    return record("crawls", {
        "region_code": REGION, "stream": "task_requirements", "scope": scope,
        "property_id": 1, "window_start": None, "window_end": "2026-12-06T00:00:00+00:00",
        "complete": False, "reason": "HTTP 503", "records": 0})


def base(*tasks: int, **task_extra: Any) -> list[dict[str, Any]]:
    messages = [record("properties", property_record(REGION, 1))]
    for task_id in tasks:
        messages.append(record("tasks", task_record(REGION, task_id, 1, **task_extra)))
    return messages


def requirement_positions(db: Any) -> dict[int, list[int]]:
    rows = db.query("SELECT t.task_id, r.position FROM task_requirements r "
                    "JOIN tasks t ON t.id = r.task_pk ORDER BY 1, 2")
    positions: dict[int, list[int]] = {}
    for task_id, position in rows:
        positions.setdefault(task_id, []).append(position)
    return positions


def test_requirements_are_replaced_as_a_set_except_where_the_call_failed(run_target,
                                                                         migrated_db):
    first = base(10, 11, 12)
    first += [requirement(10, 0), requirement(10, 1), requirement_photo(10, 0),
              requirement(11, 0), requirement(11, 1), requirement(12, 0), requirement(12, 1),
              record("crawls", {
                  "region_code": REGION, "stream": "tasks", "scope": "property:1",
                  "property_id": 1, "window_start": "2015-01-01T00:00:00+00:00",
                  "window_end": "2026-12-06T00:00:00+00:00", "complete": False,
                  "reason": "HTTP 422", "records": 0})]
    run_target([*first, state(1)])
    assert requirement_positions(migrated_db) == {10: [0, 1], 11: [0, 1], 12: [0, 1]}

    # Task 10's checklist shrank; 11's call failed (reported before the task); 12 is
    # written again without requirements and without a report: its checklist is empty now.
    second = [singer.schema("task_requirement_photos"), unread("task:11"),
              *base(10, 11, 12), requirement(10, 0), state(2)]
    run_target(second)
    assert requirement_positions(migrated_db) == {10: [0], 11: [0, 1]}
    assert migrated_db.query("SELECT count(*) FROM task_requirement_photos")[0][0] == 0


def test_a_region_wide_failure_keeps_every_checklist(run_target, migrated_db):
    run_target([*base(10, 11), requirement(10, 0), requirement(11, 0), state(1)])
    run_target([unread("region"), *base(10, 11), state(2)])
    assert requirement_positions(migrated_db) == {10: [0], 11: [0]}


def test_without_crawls_in_the_run_requirements_are_only_upserted(run_target, migrated_db):
    run_target([*base(10), requirement(10, 0), requirement(10, 1), unread("task:99"), state(1)])
    # No `crawls` stream in this input: a failure could not be reported, so nothing is
    # taken as an empty checklist.
    run_target([*base(10), requirement(10, 0, response="Fair"), state(2)])
    rows = migrated_db.query("SELECT position, response FROM task_requirements ORDER BY 1")
    assert [tuple(r) for r in rows] == [(0, "Fair"), (1, "Good")]
    # Nor in a run without the task_requirements stream (deselected to save calls).
    run_target([*base(10), unread("task:99"), state(3)])
    assert requirement_positions(migrated_db) == {10: [0, 1]}


def test_tasks_link_to_templates_and_subdepartments_whenever_they_are_known(run_target,
                                                                            migrated_db):
    tasks = [record("tasks", task_record(REGION, 10, 1, template_id=7, subdepartment_id=70)),
             record("tasks", task_record(REGION, 11, 1, template_id=8, subdepartment_id=None))]
    run_target([record("properties", property_record(REGION, 1)), *tasks, state(1)])
    links = "SELECT task_id, template_pk IS NOT NULL, subdepartment_pk IS NOT NULL FROM tasks"
    assert sorted(tuple(r) for r in migrated_db.query(links)) == [
        (10, False, False), (11, False, False)]  # loaded, never rejected, links unknown yet

    lists = [activate("task_templates", 5),
             record("task_templates", {"id": 7, "region_code": REGION,
                                       "template_name": "Turnover", "department_code": "x"}, 5),
             activate("task_templates", 5),
             record("task_subdepartments", {"id": 70, "region_code": REGION, "name": "Pool"})]
    run_target([*lists, state(2)])
    assert sorted(tuple(r) for r in migrated_db.query(links)) == [
        (10, True, True), (11, False, False)]

    # Template 7 gone from a complete listing: soft-deleted, the task keeps its link.
    run_target([activate("task_templates", 6),
                record("task_templates", {"id": 9, "region_code": REGION,
                                          "template_name": "New", "department_code": "x"}, 6),
                activate("task_templates", 6), state(3)])
    assert migrated_db.query(
        "SELECT deleted_at IS NOT NULL FROM task_templates WHERE template_id = 7")[0][0]
    assert sorted(tuple(r) for r in migrated_db.query(links))[0] == (10, True, True)
    assert migrated_db.query("SELECT count(*) FROM load_rejects")[0][0] == 0


def test_tag_links_are_a_set_per_parent(run_target, migrated_db):
    tags = lambda task_id, *ids: [record("task_tags", {  # noqa: E731
        "task_id": task_id, "tag_id": tag_id, "region_code": REGION, "position": n,
        "name": f"tag {tag_id}"}) for n, tag_id in enumerate(ids)]
    reservation = [record("reservations", reservation_record(REGION, 50, 1)),
                   record("reservation_tags", {"reservation_id": 50, "tag_id": 3,
                                               "region_code": REGION, "position": 0,
                                               "name": "VIP"})]
    run_target(base(10) + tags(10, 5, 6) + reservation + [state(1)])
    run_target(base(10) + tags(10, 6) + [state(2)])
    rows = migrated_db.query("SELECT t.task_id, g.tag_id FROM task_tags g "
                             "JOIN tasks t ON t.id = g.task_pk")
    assert [tuple(r) for r in rows] == [(10, 6)]
    assert migrated_db.query("SELECT name FROM reservation_tags")[0][0] == "VIP"


def test_upstream_calls_lands_in_sync_runs_and_bad_usage_is_quarantined(run_target, migrated_db):
    usage = {"region_code": REGION, "stream": "tasks", "run_started_at":
             "2026-12-06T00:00:00+00:00", "calls": 524, "full_window": False,
             "properties_listed": 5012, "properties_called": 524}
    bad = {**usage, "stream": "task_requirements", "calls": -1}
    run_target([*base(10), record("upstream_calls", usage), record("upstream_calls", bad),
                state(1)], run_id="run-usage")
    rows = migrated_db.query("SELECT stream, api_calls, properties_listed, properties_called "
                             "FROM sync_runs WHERE run_id = 'run-usage' AND api_calls IS "
                             "NOT NULL")
    assert [tuple(r) for r in rows] == [("tasks", 524, 5012, 524)]
    reasons = migrated_db.query("SELECT stream, reason FROM load_rejects")
    assert [(s, r.split(":")[0]) for s, r in reasons] == [("upstream_calls", "invalid_record")]


# -- the tap's real output ------------------------------------------------------------------
def tap_output(sim: Any, region: str) -> str:
    client_id, client_secret = sim.credentials(region)
    tap = tap_module.TapBreezeway(config={
        "client_id": client_id, "client_secret": client_secret, "region_code": region,
        "api_url": sim.base_url, "max_requests_per_second": 0, "backoff_factor_s": 0.01})
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return buffer.read()


def test_a_tap_run_loads_requirements_lists_and_links(simulator, migrated_db, capsys):
    region = "nashville"
    target = TargetBreezewayPostgres(config=target_config(migrated_db, run_id="tap-run"))
    target.listen(io.StringIO(tap_output(simulator, region)))
    target.session.close()
    capsys.readouterr()
    data = simulator.data(region)
    checklists = {t["id"]: simulator.task_requirements(region, t["id"]) for t in data.tasks}
    count = lambda sql: migrated_db.query(sql)[0][0]  # noqa: E731
    assert count("SELECT count(*) FROM task_requirements") == sum(
        len(items) for items in checklists.values())
    assert count("SELECT count(*) FROM task_requirement_photos") == sum(
        len(item["photos"]) for items in checklists.values() for item in items)
    assert count("SELECT count(*) FROM task_templates") == len(data.templates)
    assert count("SELECT count(*) FROM task_subdepartments") == len(data.subdepartments)
    assert count("SELECT count(*) FROM supplies") == len(data.supplies)
    assert count("SELECT count(*) FROM reservation_tag_definitions") == len(data.reservation_tags)
    assert count("SELECT count(*) FROM task_tags") == sum(len(t["task_tags"]) for t in data.tasks)

    listed = {t["id"] for t in data.templates}
    linked = dict(migrated_db.query("SELECT task_id, template_pk IS NOT NULL FROM tasks"))
    assert linked == {t["id"]: t["template_id"] in listed for t in data.tasks}
    assert set(linked.values()) == {True, False}  # some tasks name an unlisted template
    subdepartments = {s["id"] for s in data.subdepartments}
    assert dict(migrated_db.query(
        "SELECT task_id, subdepartment_pk IS NOT NULL FROM tasks")) == {
        t["id"]: bool(t["subdepartment"]) and t["subdepartment"]["id"] in subdepartments
        for t in data.tasks}

    gaps = {(t["id"], n) for t in data.tasks
            if t["type_department"] == "inspection"
            and t["type_task_status"]["code"] in FINISHED_TASK_CODES
            for n, item in enumerate(checklists[t["id"]])
            if item["photo_required"] and not item["photos"]}
    found = {tuple(r) for r in migrated_db.query(
        "SELECT task_id, position FROM v_inspections_missing_items "
        "WHERE missing = 'required_photo'")}
    assert found == gaps and gaps
    calls = dict(migrated_db.query(
        "SELECT stream, api_calls FROM sync_runs WHERE run_id = 'tap-run' "
        "AND api_calls IS NOT NULL"))
    assert calls["tasks"] == len(data.properties)
    assert calls["task_requirements"] == len(data.tasks)
    assert migrated_db.query("SELECT DISTINCT stream FROM load_rejects WHERE stream NOT IN "
                             "('reservations', 'reservation_guests', 'property_photos')") == []


def test_a_refused_reference_list_leaves_the_run_succeeded(simulator, migrated_db, capsys):
    """No version opened for a list the API refused: the target has nothing left open to
    take as a tap that stopped early, and keeps the list rows it has."""
    simulator.fail_calls("/companies/templates", 403)
    config = target_config(migrated_db, run_id="refused", region_code="austin")
    target = TargetBreezewayPostgres(config=config)
    target.listen(io.StringIO(tap_output(simulator, "austin")))
    target.session.close()
    capsys.readouterr()
    statuses = {tuple(r) for r in migrated_db.query(
        "SELECT DISTINCT status FROM sync_runs WHERE run_id = 'refused'")}
    assert statuses == {("succeeded",)}
    assert migrated_db.query("SELECT count(*) FROM task_templates")[0][0] == 0
    assert migrated_db.query("SELECT count(*) FROM tasks")[0][0] == len(
        simulator.data("austin").tasks)
