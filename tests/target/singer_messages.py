"""Builders of Singer message streams in the shape tap-breezeway emits (docs/streams.md)."""

from __future__ import annotations

import copy
import json
from typing import Any

KEYS = {
    "properties": ["id"], "property_photos": ["property_id", "photo_id"],
    "reservations": ["id"], "reservation_guests": ["reservation_id", "position"],
    "tasks": ["id"], "task_assignments": ["task_id", "assignment_id"],
    "task_photos": ["task_id", "photo_id"], "task_costs": ["task_id", "cost_id"],
    "task_supplies": ["task_id", "usage_id"], "people": ["id"],
    "companies": ["id"],
    "task_tags": ["task_id", "tag_id"], "reservation_tags": ["reservation_id", "tag_id"],
    "property_tags": ["property_id", "tag_id"],
    "task_requirements": ["task_id", "position"],
    "task_requirement_photos": ["task_id", "position"],
    "task_templates": ["id"], "task_subdepartments": ["id"], "supplies": ["id"],
    "task_tag_definitions": ["id"], "property_tag_definitions": ["id"],
    "reservation_tag_definitions": ["id"],
    "crawls": ["region_code", "stream", "scope"],
    "upstream_calls": ["region_code", "stream", "run_started_at"],
}


def schema(stream: str) -> dict[str, Any]:
    """A permissive SCHEMA message: the target does not derive anything from it."""
    return {"type": "SCHEMA", "stream": stream, "key_properties": KEYS[stream],
            "schema": {"type": "object", "properties": {
                k: {"type": ["integer", "null"]} for k in KEYS[stream]}}}


def record(stream: str, data: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    message = {"type": "RECORD", "stream": stream, "record": data}
    if version is not None:
        message["version"] = version
    return message


def activate(stream: str, version: int) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def state(value: Any) -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": {"marker": value}}}


def dumps(messages: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def property_record(region: str, pid: int, **extra: Any) -> dict[str, Any]:
    base = {
        "id": pid, "region_code": region, "company_id": 9000 + len(region), "name": f"Home {pid}",
        "status": "active", "display": "", "address1": f"{pid} Ridge Rd", "address2": None,
        "building": None, "city": "Gatlinburg", "state": "TN", "zipcode": "37738",
        "country": "us", "latitude": 35.7123456, "longitude": -83.51,
        "notes": {"access": "Lockbox\u0000 at side door"}, "groups": [{"id": 7, "name": "G",
                                                                      "parent_group_id": None}],
        "wifi_name": "net", "wifi_password": "pw", "reference_company_id": None,
        "reference_external_property_id": f"lst_{pid}", "reference_property_id": None,
        "bedrooms": 3, "bathrooms": 2.5, "living_area": 1200.5, "year_built": 1999,
    }
    base.update(extra)
    return base


def photo_record(region: str, pid: int, photo_id: int, position: int, default: bool = False
                 ) -> dict[str, Any]:
    return {"property_id": pid, "photo_id": photo_id, "region_code": region,
            "position": position, "url": f"https://cdn.example/{photo_id}.jpg",
            "original_url": "", "caption": f"cap\u0000{photo_id}", "is_default": default}


def reservation_record(region: str, rid: int, pid: int, **extra: Any) -> dict[str, Any]:
    base = {
        "id": rid, "region_code": region, "property_id": pid, "reference_property_id": None,
        "reference_external_property_id": None, "reference_reservation_id": f"res_{rid}",
        "status": "active", "access_code": "4821", "guide_url": None, "note": None,
        "checkin_date": "2026-12-01", "checkin_time": "16:00:00", "checkin_early": None,
        "checkout_date": "2026-12-05", "checkout_time": "10:00:00", "checkout_late": False,
        "adults": 2, "children": 1, "pets": 0, "source": "airbnb",
        "type_guest_code": "guest", "type_guest_name": "Guest", "type_stay_code": "guest",
        "type_stay_name": "Guest", "type_reservation_code": "booking",
        "type_reservation_name": "Booking", "tags": [{"id": 3, "name": "VIP"}], "flags": [],
        "created_at": "2026-11-01T10:00:00+00:00", "updated_at": "2026-11-02T10:00:00+00:00",
    }
    base.update(extra)
    return base


def guest_record(region: str, rid: int, position: int) -> dict[str, Any]:
    return {"reservation_id": rid, "position": position, "region_code": region,
            "first_name": f"Ana{position}", "last_name": f"Ruiz{rid}",
            "emails": [f"ana{position}@example.com", "x@example.com"], "phone_numbers": []}


def task_record(region: str, tid: int, home_id: int, linked: int | None = None,
                **extra: Any) -> dict[str, Any]:
    base = {
        "id": tid, "region_code": region, "home_id": home_id, "reference_property_id": "",
        "name": "Departure Clean", "description": None, "type_department": "housekeeping",
        "type_priority": "normal", "status_code": "finished", "status_name": "Finished",
        "status_stage": "finished", "scheduled_date": "2026-12-05",
        "scheduled_time": "11:00:00", "template_id": 23027, "template_name": "Clean",
        "subdepartment_id": None, "subdepartment_name": None,
        "created_at": "2026-11-20T08:00:00+00:00", "updated_at": "2026-12-05T12:14:03+00:00",
        "started_at": "2026-12-05T11:02:00+00:00", "finished_at": "2026-12-05T12:12:00+00:00",
        "created_by_id": 41, "created_by_name": "Ops", "finished_by_id": 52,
        "finished_by_name": "Maria", "requested_by": "owner", "paused": False,
        "report_url": "https://portal.breezeway.io/task/report/x", "rate_type": "hour",
        "rate_paid": "25.00 USD", "bill_to": "owner", "total_cost": 27.5,
        "estimated_rate": None, "total_time": "01:10:00", "estimated_time": None,
        "billable": True, "itemized_cost": False, "task_series_id": None,
        "parent_task_id": None, "checkin_date": None, "checkout_date": None,
        "summary": "ok", "linked_reservation_id": linked,
        "linked_reservation_external_id": f"res_{linked}" if linked else None,
        "tags": [], "task_tags": [{"id": 5, "name": "Turnover"}],
    }
    base.update(extra)
    return base


def task_children(region: str, tid: int, n: int = 2) -> list[dict[str, Any]]:
    messages = []
    for i in range(n):
        messages += [
            record("task_assignments", {
                "task_id": tid, "assignment_id": tid * 10 + i, "region_code": region,
                "position": i, "assignee_id": 52 + i, "assignee_name": "Maria",
                "employee_code": None, "expires_at": None, "type_task_user_status": "accepted"}),
            record("task_photos", {"task_id": tid, "photo_id": tid * 10 + i,
                                   "region_code": region, "position": i,
                                   "url": f"https://cdn.example/t{i}.jpg"}),
            record("task_costs", {
                "task_id": tid, "cost_id": tid * 10 + i, "region_code": region, "position": i,
                "cost": 27.5, "description": None, "bill_to": "owner", "type_cost_id": 1,
                "type_cost_code": "labor", "type_cost_name": "Labor",
                "created_at": "2026-12-05T12:12:30+00:00",
                "updated_at": "2026-12-05T12:12:30+00:00"}),
            record("task_supplies", {
                "task_id": tid, "usage_id": tid * 10 + i, "region_code": region, "position": i,
                "supply_id": 180585, "name": "Faucet cover", "description": "", "size": "",
                "quantity": 2, "unit_cost": 4.75, "total_price": 9.5, "bill_to": "owner",
                "billable": True, "markup_pricing_type": "percent", "markup_rate": 0.0}),
        ]
    return messages


def person_record(region: str, person_id: int) -> dict[str, Any]:
    return {"id": person_id, "region_code": region, "name": f"P {person_id}",
            "first_name": "P", "last_name": str(person_id), "active": True,
            "employee_code": None, "type_role": "admin", "emails": ["p@example.com"],
            "type_departments": ["housekeeping"], "groups": []}


ALL_STREAMS = ["properties", "property_photos", "reservations", "reservation_guests", "tasks",
               "task_assignments", "task_photos", "task_costs", "task_supplies", "people"]


def region_sync(region: str, base: int, n_properties: int = 3, version: int = 1,
                photos: int = 2, end_activate: bool = True) -> list[dict[str, Any]]:
    """One region's full sync: properties (full table, versioned) with photos, then
    reservations with guests, tasks with their children, people (versioned)."""
    messages: list[dict[str, Any]] = [activate("properties", version)]
    for i in range(n_properties):
        pid = base + i
        messages.append(record("properties", property_record(region, pid), version))
        for j in range(photos):
            messages.append(record("property_photos",
                                   photo_record(region, pid, pid * 100 + j, j, default=j == 0)))
    if end_activate:
        messages.append(activate("properties", version))
    messages.append(state(f"{region}-properties"))
    for i in range(n_properties):
        pid, rid = base + i, base + 500 + i
        messages.append(record("reservations", reservation_record(region, rid, pid)))
        messages += [record("reservation_guests", guest_record(region, rid, g)) for g in range(2)]
    for i in range(n_properties):
        pid, tid = base + i, base + 900 + i
        messages.append(record("tasks", task_record(region, tid, pid, linked=base + 500 + i)))
        messages += task_children(region, tid)
    messages.append(activate("people", version))
    messages += [record("people", person_record(region, base + 70 + i), version) for i in range(2)]
    if end_activate:
        messages.append(activate("people", version))
    messages.append(state(f"{region}-done"))
    return messages


def with_schemas(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prefix SCHEMA messages for every stream that appears."""
    streams = []
    for m in messages:
        if m.get("stream") and m["stream"] not in streams:
            streams.append(m["stream"])
    return [schema(s) for s in streams] + copy.deepcopy(messages)
