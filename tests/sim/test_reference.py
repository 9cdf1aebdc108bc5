"""Reference lists, task requirements and inactive properties, as the simulator serves them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import pytest
from breezeway_sim import ChurnRates, Simulator
from breezeway_sim.__main__ import build_parser
from breezeway_sim.data import FINISHED_TASK_CODES
from breezeway_sim.reference import (
    MISSING_PHOTO_EVERY,
    MISSING_RESPONSE_EVERY,
    REQUIREMENT_TYPES,
)

if TYPE_CHECKING:
    from conftest import ApiClient

REQUIREMENT_KEYS = {"section_name", "action", "response", "type_requirement", "photo_required",
                    "photos", "note", "home_element_name"}


@pytest.mark.parametrize("path", ["/task/tags", "/property/tags", "/reservation/tags"])
def test_tag_lists_are_bare_lists_of_id_name_company(nashville: ApiClient, path: str) -> None:
    tags = nashville.get_json(path)
    assert isinstance(tags, list) and tags
    company = nashville.simulator.data("nashville").company_id
    for tag in tags:
        assert set(tag) == {"id", "name", "company_id"} and tag["company_id"] == company
    assert nashville.get(path, company_id=1).status_code == 403


def test_reservation_and_task_tags_in_objects_are_listed(nashville: ApiClient) -> None:
    data = nashville.simulator.data("nashville")
    listed = {t["id"] for t in nashville.get_json("/reservation/tags")}
    used = {tag["id"] for r in data.reservations for tag in r["tags"]}
    assert used and used <= listed
    task_tags = {t["id"] for t in nashville.get_json("/task/tags")}
    assert {tag["id"] for t in data.tasks for tag in t["task_tags"]} <= task_tags


def test_templates_list_some_but_not_all_templates_tasks_name(nashville: ApiClient) -> None:
    templates = nashville.get_json("/companies/templates")
    assert {tuple(sorted(t)) for t in templates} == {("department_code", "id", "template_name")}
    listed = {t["id"]: t["template_name"] for t in templates}
    tasks = [t for t in nashville.simulator.data("nashville").tasks if t["template_id"]]
    named = {t["template_id"] for t in tasks}
    assert named & set(listed) and named - set(listed)  # some tasks name an unlisted template
    for task in tasks:
        if task["template_id"] in listed:
            assert task["template"]["name"] == listed[task["template_id"]]


def test_subdepartments_need_a_company(nashville: ApiClient) -> None:
    data = nashville.simulator.data("nashville")
    refused = nashville.get("/companies/subdepartments")
    assert refused.status_code == 400
    assert "company_id or reference_company_id" in refused.json()["description"]
    by_id = nashville.get_json("/companies/subdepartments", company_id=data.company_id)
    by_reference = nashville.get_json(
        "/companies/subdepartments", reference_company_id=data.companies[0]["reference_company_id"])
    assert by_id == by_reference and {tuple(sorted(s)) for s in by_id} == {("id", "name")}
    assert nashville.get("/companies/subdepartments",
                         reference_company_id="cmp-elsewhere").status_code == 403
    named = {t["subdepartment"]["id"] for t in data.tasks if t["subdepartment"]}
    listed = {s["id"] for s in by_id}
    assert named & listed and named - listed  # a retired subdepartment is still named


def test_requirements_carry_no_id_and_type_requirement(nashville: ApiClient) -> None:
    data = nashville.simulator.data("nashville")
    answered = unanswered = 0
    for task in data.tasks[:60]:
        items = nashville.get_json(f"/task/{task['id']}/requirements")
        assert isinstance(items, list)
        assert items == nashville.simulator.task_requirements("nashville", task["id"])
        finished = task["type_task_status"]["code"] in FINISHED_TASK_CODES
        for item in items:
            assert set(item) == REQUIREMENT_KEYS  # no `id`, no `type`
            assert item["type_requirement"] in REQUIREMENT_TYPES
            assert isinstance(item["action"], str | list)
            answered += item["response"] is not None
            unanswered += item["response"] is None
            if not finished:
                assert item["response"] is None and item["photos"] == []
    assert answered and unanswered
    inspections = [t for t in data.tasks if t["type_department"] == "inspection"]
    assert all(nashville.get_json(f"/task/{t['id']}/requirements") for t in inspections[:5])


def test_requirements_are_deterministic_and_follow_the_task(
        sim_factory: Callable[..., Simulator]) -> None:
    first = sim_factory(regions=["nashville"], auth_rate_limit=False)
    second = sim_factory(regions=["nashville"], auth_rate_limit=False)
    task = next(t for t in first.data("nashville").tasks
                if t["type_department"] == "inspection"
                and t["type_task_status"]["code"] not in FINISHED_TASK_CODES
                and t["id"] % MISSING_PHOTO_EVERY and t["id"] % MISSING_RESPONSE_EVERY)
    before = first.task_requirements("nashville", task["id"])
    assert before == second.task_requirements("nashville", task["id"])
    assert all(item["response"] is None for item in before)
    task["type_task_status"] = {"code": "finished", "name": "Finished", "stage": "finished"}
    after = first.task_requirements("nashville", task["id"])
    assert len(after) == len(before) and all(
        item["response"] is not None or item["type_requirement"] == "photo" for item in after)
    assert all(item["photos"] for item in after if item["photo_required"])


def test_set_task_requirements_serves_them_and_touches_the_task(
        simulator: Simulator, client_for: Callable[..., ApiClient]) -> None:
    client = client_for("nashville")
    task = simulator.data("nashville").tasks[2]
    stamp = task["updated_at"]
    simulator.set_task_requirements("nashville", task["id"], [{"section_name": "Only one"}])
    assert client.get_json(f"/task/{task['id']}/requirements") == [{"section_name": "Only one"}]
    assert task["updated_at"] > stamp
    simulator.delete_task("nashville", task["id"])
    assert client.get(f"/task/{task['id']}/requirements").status_code == 404


def test_inactive_share_makes_that_share_inactive_and_lists_them(
        sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]) -> None:
    plain = sim_factory(regions=["nashville"], auth_rate_limit=False, scale=0.1)
    mostly = sim_factory(regions=["nashville"], auth_rate_limit=False, scale=0.1,
                         inactive_share=0.8)
    properties = mostly.data("nashville").properties
    statuses = [p["status"] for p in properties]
    assert set(statuses) == {"active", "inactive"} and statuses[0] == "active"
    assert statuses.count("inactive") == round(0.8 * (len(properties) - 1))
    listed = client_for("nashville", mostly).all_pages("/property", limit=250)
    assert len(listed) == len(properties)  # /property lists inactive units too
    # Everything else is what the seed makes without the option.
    strip = lambda props: [{k: v for k, v in p.items() if k != "status"} for p in props]  # noqa: E731
    assert strip(properties) == strip(plain.data("nashville").properties)
    assert mostly.data("nashville").tasks == plain.data("nashville").tasks


def test_churn_gives_inactive_properties_no_task_work(
        sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, scale=0.1,
                      inactive_share=0.8, today=date(2026, 1, 10))
    data = sim.data("nashville")
    inactive = {p["id"] for p in data.properties if p["status"] == "inactive"}
    busy = ChurnRates(tasks_added=0.2, tasks_updated=0.2, tasks_finished=0.2,
                      task_children_changed=0.2, properties_retired=0)
    day = sim.advance_day(busy)
    worked = day.created["nashville"]["task"] | day.updated["nashville"]["task"]
    assert worked
    homes = {data.find("task", task_id)["home_id"] for task_id in worked}
    assert not homes & inactive


def test_cli_takes_an_inactive_share() -> None:
    assert build_parser().parse_args(["--inactive-share", "0.9"]).inactive_share == 0.9
    assert build_parser().parse_args([]).inactive_share is None
