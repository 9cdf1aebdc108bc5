"""Run-time changes: each bumps updated_at so an incremental sync sees it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from breezeway_sim import Simulator

if TYPE_CHECKING:
    from conftest import ApiClient


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _today_range(sim: Simulator) -> str:
    today = sim.clock_now().date().isoformat()
    return f"{today},{today}"


def _finished_task(sim: Simulator) -> dict:
    return next(
        t for t in sim.data("nashville").tasks if t["type_task_status"]["code"] == "finished"
    )


def test_touch_task_makes_it_newest_and_visible_to_todays_range(nashville: ApiClient) -> None:
    sim = nashville.simulator
    task = _finished_task(sim)
    before = nashville.get_json("/task/", home_id=task["home_id"], updated_at=_today_range(sim))
    assert task["id"] not in {t["id"] for t in before["results"]}
    sim.advance_time(2)
    sim.touch_task("nashville", task["id"])
    after = nashville.get_json(
        "/task/", home_id=task["home_id"], updated_at=_today_range(sim), sort_by="updated_at"
    )
    assert after["results"][0]["id"] == task["id"]
    newest = max(_moment(t["updated_at"]) for t in sim.data("nashville").tasks if t is not task)
    assert _moment(task["updated_at"]) > newest


def test_touch_reservation_shows_in_its_timestamp_when_visible(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> None:
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, reservation_timestamps=True)
    client = client_for("nashville", sim)
    reservation = sim.data("nashville").reservations[5]
    old = _moment(reservation["updated_at"])
    sim.touch_reservation("nashville", reservation["id"])
    served = client.get_json(f"/reservation/{reservation['id']}")
    assert _moment(served["updated_at"]) > old
    assert served["created_at"] == reservation["created_at"]


def test_add_property_is_served_first_by_default_sort(nashville: ApiClient) -> None:
    sim = nashville.simulator
    total = len(sim.data("nashville").properties)
    prop = sim.add_property("nashville")
    envelope = nashville.get_json("/property")
    assert envelope["total_results"] == total + 1
    assert envelope["results"][0] == prop
    assert prop["photos"] == [] or prop["photos"][0]["default"] is True


def test_add_reservation_is_in_the_default_window(nashville: ApiClient) -> None:
    sim = nashville.simulator
    home = sim.data("nashville").properties[1]["id"]
    reservation = sim.add_reservation("nashville", home)
    assert reservation["property_id"] == home
    served = nashville.all_pages("/reservation", property_id=home)
    assert reservation in served
    assert nashville.get_json("/reservation")["results"][0]["id"] == reservation["id"]


def test_add_task_is_listed_without_date_filter(nashville: ApiClient) -> None:
    sim = nashville.simulator
    home = sim.data("nashville").properties[1]["id"]
    task = sim.add_task("nashville", home)
    assert task["home_id"] == home and task["type_task_status"]["code"] == "created"
    assert task in nashville.all_pages("/task/", home_id=home)
    assert nashville.get_json(f"/task/{task['id']}") == task


def test_delete_property_and_task(nashville: ApiClient) -> None:
    sim = nashville.simulator
    prop = sim.data("nashville").properties[6]
    task = _finished_task(sim)
    sim.delete_property("nashville", prop["id"])
    sim.delete_task("nashville", task["id"])
    assert prop["id"] not in {p["id"] for p in nashville.all_pages("/property")}
    assert nashville.get(f"/property/{prop['id']}").status_code == 404
    assert nashville.get(f"/task/{task['id']}").status_code == 404
    wide = nashville.all_pages(
        "/task/", home_id=task["home_id"], updated_at="2000-01-01,2100-01-01"
    )
    assert task["id"] not in {t["id"] for t in wide}


def test_shrink_array_drops_children_and_bumps_updated_at(nashville: ApiClient) -> None:
    sim = nashville.simulator
    prop = next(p for p in sim.data("nashville").properties if len(p["photos"]) > 2)
    sim.shrink_array("nashville", "property", prop["id"], "photos", keep=1)
    assert len(nashville.get_json(f"/property/{prop['id']}")["photos"]) == 1
    task = next(t for t in sim.data("nashville").tasks if t["assignments"])
    old = _moment(task["updated_at"])
    sim.advance_time(1)
    sim.shrink_array("nashville", "task", task["id"], "assignments", keep=0)
    served = nashville.get_json(f"/task/{task['id']}")
    assert served["assignments"] == [] and _moment(served["updated_at"]) > old
    reservation = next(r for r in sim.data("nashville").reservations if len(r["guests"]) > 1)
    sim.shrink_array("nashville", "reservation", reservation["id"], "guests", keep=1)
    assert len(nashville.get_json(f"/reservation/{reservation['id']}")["guests"]) == 1


def test_mutations_reject_unknown_targets(simulator: Simulator) -> None:
    with pytest.raises(KeyError):
        simulator.touch_task("nashville", 1)
    with pytest.raises(ValueError, match="kind"):
        simulator.shrink_array("nashville", "person", 1, "emails", 0)
    prop = simulator.data("nashville").properties[0]
    with pytest.raises(ValueError, match="array"):
        simulator.shrink_array("nashville", "property", prop["id"], "name", 0)
    with pytest.raises(ValueError, match="not simulated"):
        simulator.add_property("mammoth")


def test_response_cache_serves_same_bytes_and_forgets_on_mutation(sim_factory):
    import requests

    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, response_cache=True)
    client_id, client_secret = sim.credentials("nashville")
    token = requests.post(
        f"{sim.base_url}/public/auth/v1/",
        json={"client_id": client_id, "client_secret": client_secret},
        timeout=10,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"JWT {token}"
    task = sim.data("nashville").tasks[0]
    url = f"{sim.base_url}/public/inventory/v1/task/"
    params = {"home_id": task["home_id"], "updated_at": "2000-01-01,2100-01-01"}

    first = session.get(url, params=params, timeout=10)
    again = session.get(url, params=params, timeout=10)
    assert again.content == first.content
    assert sim.counters["GET /public/inventory/v1/task/"] == 2  # cached answers still count

    sim.shrink_array("nashville", "task", task["id"], "photos", 0)
    after = session.get(url, params=params, timeout=10).json()["results"]
    changed = next(item for item in after if item["id"] == task["id"])
    assert changed["photos"] == []
