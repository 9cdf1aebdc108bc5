"""Generated data: determinism, size, field shapes and the deliberate hard cases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from breezeway_sim import HARD_CASES, REGIONS, Simulator
from breezeway_sim.regions import PROPERTIES_AT_SCALE_1, property_counts

if TYPE_CHECKING:
    from conftest import ApiClient

TODAY = date(2026, 11, 25)


def _snapshot(sim: Simulator, region: str) -> tuple:
    data = sim.data(region)
    return (
        data.properties,
        data.reservations,
        data.tasks,
        data.people,
        data.supplies,
        sim.hard_cases(region),
    )


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = Simulator(seed=11, today=TODAY, regions=["austin", "smoky"])
    again = Simulator(seed=11, today=TODAY, regions=["smoky", "austin"])
    other = Simulator(seed=12, today=TODAY, regions=["austin"])
    assert _snapshot(first, "austin") == _snapshot(again, "austin")
    assert _snapshot(first, "smoky") == _snapshot(again, "smoky")
    assert _snapshot(first, "austin") != _snapshot(other, "austin")
    assert first.data("austin").properties[0]["company_id"] == REGIONS["austin"]
    assert Simulator(scale=0.001).regions == list(REGIONS), "no regions given means all eight"


def test_scale_one_has_the_legacy_size() -> None:
    """3,689 properties in all; ~300k records with children (one region generated, scaled up)."""
    counts = property_counts(1.0, list(REGIONS), 8)
    assert sum(counts.values()) == PROPERTIES_AT_SCALE_1
    assert len(set(counts.values())) > 4, "regions differ in size"
    sim = Simulator(scale=1.0, today=TODAY, regions=["sea_ranch"])
    data = sim.data("sea_ranch")
    assert len(data.properties) == counts["sea_ranch"]
    per_property = data.record_count() / len(data.properties)
    assert 250_000 <= per_property * PROPERTIES_AT_SCALE_1 <= 400_000
    assert 6 <= len(data.reservations) / len(data.properties) <= 10
    assert 12 <= len(data.tasks) / len(data.properties) <= 18
    assert 3.5 <= sum(len(p["photos"]) for p in data.properties) / len(data.properties) <= 6.5


def test_dates_spread_over_two_years_back_and_three_months_ahead() -> None:
    sim = Simulator(scale=0.05, today=TODAY, regions=["nashville"])
    checkins = [date.fromisoformat(r["checkin_date"]) for r in sim.data("nashville").reservations]
    assert min(checkins) >= TODAY - timedelta(days=731)
    assert min(checkins) < TODAY - timedelta(days=600)
    assert TODAY + timedelta(days=60) < max(checkins) <= TODAY + timedelta(days=91)


@pytest.mark.parametrize("region", list(REGIONS))
def test_every_hard_case_exists_in_every_region_at_tiny_scale(region: str) -> None:
    sim = Simulator(scale=0.001, today=TODAY, regions=[region])
    cases = sim.hard_cases(region)
    assert set(cases) == set(HARD_CASES)
    data = sim.data(region)
    for name, ids in cases.items():
        kind = HARD_CASES[name][0]
        assert ids, f"{region}: hard case {name} missing"
        for object_id in ids:
            data.find(kind, object_id)


def _one(sim: Simulator, region: str, case: str) -> dict:
    kind = HARD_CASES[case][0]
    return sim.data(region).find(kind, sim.hard_cases(region)[case][0])


def test_hard_cases_have_their_oddity() -> None:
    sim = Simulator(scale=0.001, today=TODAY, regions=["mammoth"])
    one = lambda case: _one(sim, "mammoth", case)  # noqa: E731
    data = sim.data("mammoth")
    assert not one("unicode_property_name")["name"].isascii()
    assert any("--x--" in p["url"] for p in one("photo_url_delimiter")["photos"])
    photo_ids = [p["id"] for p in one("duplicate_photo")["photos"]]
    assert len(photo_ids) > len(set(photo_ids))
    notes = one("text_escapes_property")["notes"]["access"]
    assert all(c in notes for c in "\"\\\n'")
    assert one("null_lat_long")["latitude"] is None and one("null_lat_long")["longitude"] is None
    assert one("no_photos")["photos"] == []
    assert sum(p["default"] for p in one("two_default_photos")["photos"]) == 2
    big = one("big_id_property")
    assert big["id"] > 2**31 and all(p["id"] > 2**31 for p in big["photos"])
    property_ids = {p["id"] for p in data.properties}
    assert one("reservation_missing_property")["property_id"] not in property_ids
    inverted = one("checkin_after_checkout")
    assert inverted["checkin_date"] > inverted["checkout_date"]
    assert len(one("long_note_reservation")["note"].encode()) >= 20 * 1024
    assert not one("unicode_guest_name")["guests"][0]["first_name"].isascii()
    assert one("big_id_reservation")["id"] > 2**31
    reservation_ids = {r["id"] for r in data.reservations}
    assert one("task_missing_reservation")["linked_reservation"]["id"] not in reservation_ids
    mixed = one("mixed_datetime_forms")
    assert "+" not in mixed["created_at"] and mixed["updated_at"].endswith("+00:00")
    task_photo_ids = [p["id"] for p in one("duplicate_task_photo")["photos"]]
    assert len(task_photo_ids) == 2 and len(set(task_photo_ids)) == 1
    assert "\\" in one("text_escapes_task")["description"]
    assert "\x00" in one("nul_char_in_text")["description"]
    big_task = one("big_id_task")
    assert big_task["id"] > 2**31 and big_task["costs"][0]["id"] > 2**31
    assert not one("unicode_person_name")["last_name"].isascii()


def test_hard_cases_are_served_in_the_default_lists(nashville: ApiClient) -> None:
    sim = nashville.simulator
    cases = sim.hard_cases("nashville")
    served_reservations = {r["id"] for r in nashville.all_pages("/reservation", limit=250)}
    served_properties = {p["id"] for p in nashville.all_pages("/property", limit=250)}
    home = sim.data("nashville").properties[0]["id"]
    served_tasks = nashville.all_pages("/task/", home_id=home, limit=250)
    for name, (kind, _) in HARD_CASES.items():
        served = {
            "property": served_properties,
            "reservation": served_reservations,
            "task": {t["id"] for t in served_tasks},
            "person": {p["id"] for p in nashville.get_json("/people")},
        }[kind]
        assert set(cases[name]) <= served, name
    nul = next(t for t in served_tasks if t["id"] in cases["nul_char_in_text"])
    assert nul["description"] == "before\x00after", "JSON carries the NUL as \\u0000"


def test_field_shapes_follow_the_api_reference() -> None:
    sim = Simulator(scale=0.02, today=TODAY, regions=["hilton_head"])
    data = sim.data("hilton_head")
    prop = next(p for p in data.properties if p["photos"])
    assert set(prop["photos"][0]) == {"id", "url", "original_url", "caption", "default"}
    assert {"id", "name", "parent_group_id"} == set(prop["groups"][0])
    assert "created_at" not in prop and "updated_at" not in prop
    reservation = data.reservations[0]
    assert set(reservation["guests"][0]) == {"first_name", "last_name", "emails", "phone_numbers"}
    for key in ("type_guest", "type_stay", "type_reservation"):
        assert set(reservation[key]) == {"code", "name"}
    task = next(t for t in data.tasks if t["assignments"] and t["costs"] and t["supplies"])
    assert set(task["type_task_status"]) == {"code", "name", "stage"}
    assert set(task["assignments"][0]) == {
        "id",
        "assignee_id",
        "name",
        "employee_code",
        "expires_at",
        "type_task_user_status",
    }
    assert set(task["costs"][0]["type_cost"]) == {"id", "code", "name"}
    assert {
        "id",
        "supply_id",
        "quantity",
        "unit_cost",
        "total_price",
        "markup_rate",
        "markup_pricing_type",
        "billable",
        "bill_to",
        "name",
        "description",
        "size",
    } == set(task["supplies"][0])
    assert isinstance(task["type_priority"], str) and isinstance(task["type_department"], str)
    linked = next(t for t in data.tasks if t["linked_reservation"])
    assert set(linked["linked_reservation"]) == {"id", "external_reservation_id"}
    stamps = [t[k] for t in data.tasks for k in ("created_at", "updated_at") if t[k]]
    assert any(s.endswith("+00:00") for s in stamps) and any("+" not in s for s in stamps)
    person = data.people[0]
    assert {
        "id",
        "name",
        "first_name",
        "last_name",
        "active",
        "employee_code",
        "type_role",
        "emails",
        "type_departments",
        "groups",
    } <= set(person)
