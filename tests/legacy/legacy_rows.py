"""Legacy rows as the old per-region scripts wrote them, built from API objects.

The scripts stored `str()` of each API value (None → 'None'), joined photo fields with
`--x--` and kept the first guest flattened. Building legacy rows from the simulator's own
objects makes them overlap what the pipeline loads from the same simulator, key for key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

DELIMITER = "--x--"
REVIEW_DDL = Path(__file__).parent / "fixtures" / "review_legacy_tables.sql"


def review_ddl(schema: str) -> str:
    """The review's DDL with its two mechanical adaptations (see the fixture's header)."""
    sql = REVIEW_DDL.read_text(encoding="utf-8")
    sql, commas = re.subn(r",((?:\s*--[^\n]*\n)+)\);", r"\1);", sql)
    sql, names = re.subn(r"\bapi_integrations\.", f'"{schema}".', sql)
    assert (commas, names) == (2, 3), "the fixture is no longer the review's DDL"
    return sql


def text(value: Any) -> str:
    """What the scripts wrote for a value (PostgreSQL text cannot hold U+0000)."""
    return str(value).replace("\x00", "")


def property_row(region: str, prop: Mapping[str, Any]) -> dict[str, str]:
    photos = prop.get("photos") or []
    row = {
        "region_code": region,
        "property_id": text(prop["id"]),
        "property_company_id": text(prop.get("company_id")),
        "property_latitude": text(prop.get("latitude")),
        "property_longitude": text(prop.get("longitude")),
        "property_photos_id": DELIMITER.join(text(p.get("id")) for p in photos),
        "property_photos_url": DELIMITER.join(text(p.get("url")) for p in photos),
        "property_photos_caption": DELIMITER.join(text(p.get("caption")) for p in photos),
        "property_photos_default": DELIMITER.join(text(p.get("default")) for p in photos),
        "property_photos_original_url": DELIMITER.join(
            text(p.get("original_url")) for p in photos),
    }
    for field in ("reference_external_property_id", "reference_property_id",
                  "reference_company_id", "wifi_name", "wifi_password"):
        row[field if field.startswith("reference") else f"property_{field}"] = text(
            prop.get(field))
    for field in ("name", "status", "display", "address1", "address2", "building", "city",
                  "state", "zipcode", "country"):
        row[f"property_{field}"] = text(prop.get(field))
    return row


def reservation_row(region: str, reservation: Mapping[str, Any]) -> dict[str, str]:
    guests = reservation.get("guests") or []
    guest = guests[0] if guests else {}
    emails, phones = guest.get("emails") or [], guest.get("phone_numbers") or []
    row = {
        "region_code": region,
        "reservation_id": text(reservation["id"]),
        "reservation_status": text(reservation.get("status")),
        "guest_first_name": text(guest.get("first_name")),
        "guest_last_name": text(guest.get("last_name")),
        "guest_email": text(emails[0] if emails else None),
        "guest_phone": text(phones[0].get("number") if phones else None),
    }
    for field in ("property_id", "reference_reservation_id", "reference_property_id",
                  "reference_external_property_id", "access_code", "guide_url", "note",
                  "checkin_date", "checkin_time", "checkout_date", "checkout_time"):
        row[field] = text(reservation.get(field))
    return row


def task_row(region: str, task: Mapping[str, Any]) -> dict[str, str]:
    status = task.get("type_task_status") or {}
    linked = task.get("linked_reservation") or {}
    return {
        "region_code": region,
        "task_id": text(task["id"]),
        "home_id": text(task.get("home_id")),
        "task_name": text(task.get("name")),
        "task_description": text(task.get("description")),
        "task_status": text(status.get("code")),
        "type_department": text(task.get("type_department")),
        "type_priority": text(task.get("type_priority")),
        "scheduled_date": text(task.get("scheduled_date")),
        "linked_reservation_id": text(linked.get("id")),
        "created_at": text(task.get("created_at")),
        "finished_at": text(task.get("finished_at")),
        "total_cost": text(task.get("total_cost")),
    }


BUILDERS: dict[str, Callable[[str, Mapping[str, Any]], dict[str, str]]] = {
    "breezeaway_properties_gw": property_row,
    "breezeaway_reservations_gw": reservation_row,
    "breezeaway_tasks_gw": task_row,
}


def insert_rows(engine: sa.Engine, schema: str, table: str,
                rows: list[Mapping[str, Any]]) -> list[int]:
    """Insert rows (only the columns the table has), in order; return their legacy ids."""
    ids = []
    with engine.begin() as connection:
        columns = set(connection.execute(sa.text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t"), {"s": schema, "t": table}).scalars())
        for row in rows:
            values = {name: value for name, value in row.items() if name in columns}
            names = ", ".join(values)
            marks = ", ".join(f":{name}" for name in values)
            ids.append(connection.execute(sa.text(
                f'INSERT INTO "{schema}".{table} ({names}) VALUES ({marks}) RETURNING id'),
                values).scalar_one())
    return ids
