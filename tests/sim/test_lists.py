"""Envelope, pagination, page-size clamp, sorting, bare lists and single objects."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import requests
from breezeway_sim import Simulator

if TYPE_CHECKING:  # pytest imports conftest itself (importlib mode); this is for readers
    from conftest import ApiClient


def test_property_pages_cover_every_property_once(nashville: ApiClient) -> None:
    expected = nashville.simulator.data("nashville").properties
    first = nashville.get_json("/property", limit=5)
    assert set(first) == {"limit", "page", "total_pages", "total_results", "results"}
    assert first["total_results"] == len(expected)
    assert first["total_pages"] == -(-len(expected) // 5)
    collected = nashville.all_pages("/property", limit=5)
    assert len(collected) == len(expected)
    assert sorted(p["id"] for p in collected) == sorted(p["id"] for p in expected)
    last = nashville.get_json("/property", limit=5, page=first["total_pages"])
    assert len(last["results"]) == len(expected) - 5 * (first["total_pages"] - 1)


def test_page_beyond_the_last_is_empty(nashville: ApiClient) -> None:
    envelope = nashville.get_json("/property", limit=5, page=999)
    assert envelope["results"] == []
    assert envelope["page"] == 999
    assert envelope["total_results"] == len(nashville.simulator.data("nashville").properties)


def test_default_limit_is_100(nashville: ApiClient) -> None:
    envelope = nashville.get_json("/reservation", checkin_date_ge="2000-01-01")
    assert envelope["limit"] == 100
    assert len(envelope["results"]) == min(100, envelope["total_results"])


def test_limit_above_the_maximum_is_clamped(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> None:
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False, max_page_size=7)
    client = client_for("nashville", sim)
    envelope = client.get_json("/property", limit=1000)
    assert envelope["limit"] == 7
    assert len(envelope["results"]) == 7
    assert envelope["total_pages"] == -(-len(sim.data("nashville").properties) // 7)


def test_bad_paging_parameters_are_400(nashville: ApiClient) -> None:
    for params in (
        {"limit": 0},
        {"limit": "ten"},
        {"page": 0},
        {"sort_by": "name"},
        {"sort_order": "up"},
    ):
        answer = nashville.get("/property", **params)
        assert answer.status_code == 400, params
        assert "error" in answer.json()


def _created(sim: Simulator, kind: str, obj: dict) -> datetime:
    return sim.data("nashville").hidden_times[(kind, obj["id"])].created_at


def test_sort_defaults_to_created_at_desc(nashville: ApiClient) -> None:
    sim = nashville.simulator
    results = nashville.get_json("/property", limit=250)["results"]
    created = [_created(sim, "property", p) for p in results]
    assert created == sorted(created, reverse=True)
    assert len(set(created)) > 1


def test_sort_by_id_and_updated_at_both_orders(nashville: ApiClient) -> None:
    home = nashville.simulator.data("nashville").properties[0]["id"]
    ascending = nashville.get_json("/property", limit=250, sort_by="id", sort_order="asc")
    ids = [p["id"] for p in ascending["results"]]
    assert ids == sorted(ids)
    tasks = nashville.get_json(
        "/task/",
        home_id=home,
        sort_by="updated_at",
        sort_order="asc",
        updated_at="2000-01-01,2100-01-01",
    )["results"]
    stamps = [datetime.fromisoformat(t["updated_at"]) for t in tasks]
    stamps = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps]
    assert stamps == sorted(stamps) and len(stamps) > 2
    descending = nashville.get_json(
        "/task/", home_id=home, sort_by="id", updated_at="2000-01-01,2100-01-01"
    )["results"]
    assert [t["id"] for t in descending] == sorted((t["id"] for t in tasks), reverse=True)


def test_people_and_companies_are_bare_arrays(nashville: ApiClient) -> None:
    sim = nashville.simulator
    people = nashville.get_json("/people")
    assert isinstance(people, list)
    assert people == sim.data("nashville").people
    active = nashville.get_json("/people", status="active")
    assert active and all(p["active"] for p in active)
    inactive = nashville.get_json("/people", status="inactive") + nashville.get_json(
        "/people", status="invited"
    )
    assert len(active) + len(inactive) == len(people)
    assert isinstance(nashville.get_json("/companies"), list)


def test_supplies_are_paginated(nashville: ApiClient) -> None:
    envelope = nashville.get_json("/supplies", limit=4)
    assert envelope["total_results"] == len(nashville.simulator.data("nashville").supplies)
    assert len(envelope["results"]) == 4


def test_single_objects_and_404s(nashville: ApiClient) -> None:
    data = nashville.simulator.data("nashville")
    prop, task = data.properties[0], data.tasks[0]
    assert nashville.get_json(f"/property/{prop['id']}") == prop
    assert nashville.get_json(f"/task/{task['id']}") == task
    assert nashville.get_json(f"/people/{data.people[0]['id']}") == data.people[0]
    linked = next(
        t
        for t in data.tasks
        if t["linked_reservation"]
        and t["linked_reservation"]["id"] in {r["id"] for r in data.reservations}
    )
    reservation_id = linked["linked_reservation"]["id"]
    assert nashville.get_json(f"/reservation/{reservation_id}")["id"] == reservation_id
    tasks = nashville.get_json(f"/reservation/{reservation_id}/tasks")
    assert linked["id"] in {t["id"] for t in tasks}
    assert nashville.get("/property/1").status_code == 404


def test_unknown_paths_are_json_404_and_wrong_methods_405(simulator: Simulator) -> None:
    base = simulator.base_url
    for path in ("/public/inventory/v1/home", "/public/inventory/v1/task", "/v1/property"):
        answer = requests.get(base + path, timeout=10)
        assert answer.status_code == 404, path
        assert answer.json()["error"] == "not found"
    assert requests.get(base + "/public/auth/v1/", timeout=10).status_code == 405


def test_a_bad_content_length_is_400(simulator: Simulator) -> None:
    host, port = simulator.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /public/auth/v1/ HTTP/1.1\r\nHost: x\r\nContent-Length: ab\r\n\r\n"
        )
        assert connection.recv(200).startswith(b"HTTP/1.1 400")


def test_counters_and_log_record_each_call(nashville: ApiClient) -> None:
    sim = nashville.simulator
    sim.reset_counters()
    nashville.get("/property", limit=2)
    nashville.get("/property", limit=2, page=2)
    nashville.get("/task/")
    assert sim.counters == {
        "GET /public/inventory/v1/property": 2,
        "GET /public/inventory/v1/task/": 1,
    }
    assert sim.requests_log[1] == (
        "GET",
        "/public/inventory/v1/property",
        {"limit": "2", "page": "2"},
        200,
    )
    assert sim.requests_log[2][3] == 400
