"""The physical limit: the same rows COPYed straight into the same FK-constrained tables.

No SDK, no staging table, no upsert: parse each line (msgspec), keep the last record per
natural key, give parents their surrogate keys here, and COPY every table once, parents
first, in one transaction into a migrated, empty schema (FKs, CHECKs and indexes in place).
Rows that the constraints would refuse (orphans, checkin after checkout, a second default
photo) are counted as dropped — the target must quarantine the same ones.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psycopg2

Reader = Callable[[dict[str, Any]], Any]
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def _field(name: str) -> Reader:
    return lambda record: record.get(name)


def _json(name: str) -> Reader:
    return lambda record: None if record.get(name) is None else json.dumps(record[name])


def _rate(part: int) -> Reader:
    """`"25.00 USD"` → amount (part 0) or currency (part 1)."""
    def read(record: dict[str, Any]) -> Any:
        pieces = (record.get("rate_paid") or "").split()
        return pieces[part] if len(pieces) == 2 else None
    return read


def _first_email(record: dict[str, Any]) -> Any:
    emails = record.get("emails")
    return emails[0] if emails else None


def _columns(plain: str, **special: Reader) -> tuple[tuple[str, Reader], ...]:
    """Columns read from same-named fields, plus columns with their own reader."""
    return tuple((name, _field(name)) for name in plain.split()) + tuple(special.items())


@dataclass(frozen=True)
class RawTable:
    stream: str
    table: str
    columns: tuple[tuple[str, Reader], ...]
    parent: tuple[str, str, str] | None = None  # (parent stream, record field, pk column)
    child_key: str | None = None  # None for parents (keyed by `id`)


TIMES = {"source_created_at": _field("created_at"), "source_updated_at": _field("updated_at")}
TABLES: tuple[RawTable, ...] = (
    RawTable("properties", "properties", _columns(
        "company_id reference_external_property_id reference_property_id reference_company_id "
        "name status display address1 address2 building city state zipcode country latitude "
        "longitude wifi_name wifi_password bedrooms bathrooms living_area year_built",
        property_id=_field("id"), notes=_json("notes"), groups=_json("groups"))),
    RawTable("property_photos", "property_photos", _columns(
        "photo_id position url original_url caption",
        is_default=lambda r: bool(r.get("is_default"))),
        ("properties", "property_id", "property_pk"), "photo_id"),
    RawTable("reservations", "reservations", _columns(
        "property_id reference_property_id reference_external_property_id "
        "reference_reservation_id status access_code guide_url note checkin_date checkin_time "
        "checkin_early checkout_date checkout_time checkout_late adults children pets source "
        "type_guest_code type_guest_name type_stay_code type_stay_name type_reservation_code "
        "type_reservation_name",
        reservation_id=_field("id"), tags=_json("tags"), flags=_json("flags"), **TIMES),
        ("properties", "property_id", "property_pk")),
    RawTable("reservation_guests", "reservation_guests", _columns(
        "position first_name last_name", email=_first_email, emails=_json("emails"),
        phone_numbers=_json("phone_numbers")),
        ("reservations", "reservation_id", "reservation_pk"), "position"),
    RawTable("property_tags", "property_tags", _columns("tag_id position name"),
             ("properties", "property_id", "property_pk"), "tag_id"),
    RawTable("reservation_tags", "reservation_tags", _columns("tag_id position name"),
             ("reservations", "reservation_id", "reservation_pk"), "tag_id"),
    RawTable("task_templates", "task_templates", _columns(
        "template_name department_code", template_id=_field("id"))),
    RawTable("task_subdepartments", "task_subdepartments", _columns(
        "name", subdepartment_id=_field("id"))),
    RawTable("tasks", "tasks", _columns(
        "home_id linked_reservation_id linked_reservation_external_id reference_property_id "
        "name description type_department type_priority status_code status_name status_stage "
        "scheduled_date scheduled_time template_id template_name subdepartment_id "
        "subdepartment_name started_at finished_at created_by_id created_by_name "
        "finished_by_id finished_by_name requested_by paused report_url rate_type bill_to "
        "total_cost estimated_rate total_time estimated_time billable itemized_cost "
        "task_series_id parent_task_id checkin_date checkout_date summary",
        task_id=_field("id"), rate_paid_amount=_rate(0), rate_paid_currency=_rate(1),
        tags=_json("tags"), task_tags=_json("task_tags"), **TIMES),
        ("properties", "home_id", "property_pk")),
    RawTable("task_assignments", "task_assignments", _columns(
        "assignment_id position assignee_id assignee_name employee_code expires_at "
        "type_task_user_status"), ("tasks", "task_id", "task_pk"), "assignment_id"),
    RawTable("task_photos", "task_photos", _columns("photo_id position url"),
             ("tasks", "task_id", "task_pk"), "photo_id"),
    RawTable("task_costs", "task_costs", _columns(
        "cost_id position cost description bill_to type_cost_id type_cost_code type_cost_name",
        **TIMES), ("tasks", "task_id", "task_pk"), "cost_id"),
    RawTable("task_supplies", "task_supplies", _columns(
        "usage_id position supply_id name description size quantity unit_cost total_price "
        "bill_to billable markup_pricing_type markup_rate"),
        ("tasks", "task_id", "task_pk"), "usage_id"),
    RawTable("task_tags", "task_tags", _columns("tag_id position name"),
             ("tasks", "task_id", "task_pk"), "tag_id"),
    RawTable("task_requirements", "task_requirements", _columns(
        "position section_name response type_requirement photo_required note "
        "home_element_name", action=_json("action")), ("tasks", "task_id", "task_pk"),
        "position"),
    RawTable("task_requirement_photos", "task_requirement_photos", _columns(
        "position requirement_position url"), ("tasks", "task_id", "task_pk"), "position"),
    RawTable("people", "people", _columns(
        "name first_name last_name active employee_code type_role",
        person_id=_field("id"), emails=_json("emails"),
        type_departments=_json("type_departments"), groups=_json("groups"))),
    RawTable("supplies", "supplies", _columns(
        "company_id name description size internal_id unit_cost stock_count low_stock_alert "
        "low_stock_count supply_category_id stock_status_code stock_status_name",
        supply_id=_field("id"), **TIMES)),
    *(RawTable(f"{kind}_tag_definitions", f"{kind}_tag_definitions", _columns(
        "name company_id", tag_id=_field("id"))) for kind in ("task", "property", "reservation")),
)
#: Lookups set on task rows when the looked-up row is loaded: column -> (stream, field).
TASK_LOOKUPS = {"reservation_pk": ("reservations", "linked_reservation_id"),
                "template_pk": ("task_templates", "template_id"),
                "subdepartment_pk": ("task_subdepartments", "subdepartment_id")}


@dataclass
class RawCopyResult:
    seconds: float = 0.0
    #: Time inside the COPY statements alone: PostgreSQL's side (FK checks, indexes, WAL).
    copy_seconds: float = 0.0
    records: int = 0
    loaded: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)


def _copy_value(value: Any) -> str:
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES)
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value).translate(COPY_ESCAPES)


def _read(path: Path, result: RawCopyResult) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Records per stream keyed by natural key (last wins, as an upsert would)."""
    keyed: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    specs = {spec.stream: spec for spec in TABLES}
    decoder = msgspec.json.Decoder()
    with path.open("rb") as lines:
        for line in lines:
            message = decoder.decode(line)
            if message.get("type") != "RECORD" or message["stream"] not in specs:
                continue
            result.records += 1
            record, spec = message["record"], specs[message["stream"]]
            if spec.child_key is None:
                key: tuple[Any, ...] = (record["region_code"], record["id"])
            else:
                key = (record["region_code"], record[spec.parent[1]], record[spec.child_key])
            keyed[spec.stream][key] = record
    return keyed


class _Copier:
    """Assigns surrogate keys and writes one COPY per table."""

    def __init__(self, cursor: Any, result: RawCopyResult) -> None:
        self.cursor, self.result = cursor, result
        self.pks: dict[str, dict[tuple[str, Any], int]] = defaultdict(dict)

    def _keep(self, spec: RawTable, record: dict[str, Any], defaults: set[Any]) -> int | None:
        """The parent pk of a row the constraints accept; None drops the row."""
        if spec.parent is None:
            return 0
        parent_pk = self.pks[spec.parent[0]].get((record["region_code"], record[spec.parent[1]]))
        if parent_pk is None:
            return None
        checkin, checkout = record.get("checkin_date"), record.get("checkout_date")
        if spec.stream == "reservations" and checkin and checkout and checkin > checkout:
            return None
        if spec.stream == "property_photos" and record.get("is_default"):
            if parent_pk in defaults:
                return None
            defaults.add(parent_pk)
        return parent_pk

    def copy(self, spec: RawTable, records: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        names = [name for name, _ in spec.columns]
        is_parent = spec.child_key is None
        head = ["id", "region_code"] if is_parent else []
        if spec.parent:
            head.append(spec.parent[2])
        if spec.stream == "tasks":
            head += list(TASK_LOOKUPS)
        buffer, defaults = io.StringIO(), set()
        for record in records.values():
            parent_pk = self._keep(spec, record, defaults)
            if parent_pk is None:
                self.result.dropped[spec.table] += 1
                continue
            values: list[Any] = []
            if is_parent:
                pk = len(self.pks[spec.stream]) + 1
                self.pks[spec.stream][(record["region_code"], record["id"])] = pk
                values += [pk, record["region_code"]]
            if spec.parent:
                values.append(parent_pk)
            if spec.stream == "tasks":
                values += [self.pks[stream].get((record["region_code"], record.get(name)))
                           for stream, name in TASK_LOOKUPS.values()]
            values += [read(record) for _, read in spec.columns]
            buffer.write("\t".join(map(_copy_value, values)) + "\n")
            self.result.loaded[spec.table] += 1
        buffer.seek(0)
        started = time.perf_counter()
        self.cursor.copy_expert(
            f"COPY {spec.table} ({', '.join(head + names)}) FROM STDIN", buffer
        )
        self.result.copy_seconds += time.perf_counter() - started


def raw_copy(path: Path, url: str, schema: str) -> RawCopyResult:
    """Time from reading the file to COMMIT."""
    result = RawCopyResult()
    connection = psycopg2.connect(url)
    try:
        started = time.perf_counter()
        keyed = _read(path, result)
        with connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}", public')
            copier = _Copier(cursor, result)
            for spec in TABLES:
                copier.copy(spec, keyed.get(spec.stream, {}))
        connection.commit()
        result.seconds = time.perf_counter() - started
    finally:
        connection.close()
    return result
