"""Schema v2 constraints hold against real PostgreSQL: FKs, CHECKs, the one-default index."""

from __future__ import annotations

from typing import Any

import psycopg2.errors
import pytest
import sqlalchemy as sa

# A valid row per table; "<parent>" placeholders are replaced by the seeded parents' ids.
VALID_ROWS: dict[str, dict[str, Any]] = {
    "properties": {"property_id": 2, "region_code": "nashville"},
    "property_photos": {"property_pk": "<property>", "photo_id": 1, "position": 0, "url": "u"},
    "reservations": {
        "reservation_id": 2, "region_code": "nashville", "property_pk": "<property>",
        "property_id": 1,
    },
    "reservation_guests": {"reservation_pk": "<reservation>", "position": 0},
    "tasks": {
        "task_id": 2, "region_code": "nashville", "property_pk": "<property>", "home_id": 1,
        "reservation_pk": "<reservation>", "template_pk": "<template>",
        "subdepartment_pk": "<subdepartment>",
    },
    "task_assignments": {"task_pk": "<task>", "assignment_id": 1, "position": 0},
    "task_photos": {"task_pk": "<task>", "photo_id": 1, "position": 0, "url": "u"},
    "task_costs": {"task_pk": "<task>", "cost_id": 1, "position": 0},
    "task_supplies": {"task_pk": "<task>", "usage_id": 1, "position": 0},
    "people": {"person_id": 1, "region_code": "nashville"},
    "task_templates": {"template_id": 2, "region_code": "nashville"},
    "task_subdepartments": {"subdepartment_id": 2, "region_code": "nashville"},
    "supplies": {"supply_id": 1, "region_code": "nashville"},
    "task_tag_definitions": {"tag_id": 1, "region_code": "nashville"},
    "property_tag_definitions": {"tag_id": 1, "region_code": "nashville"},
    "reservation_tag_definitions": {"tag_id": 1, "region_code": "nashville"},
    "task_tags": {"task_pk": "<task>", "tag_id": 1, "position": 0},
    "property_tags": {"property_pk": "<property>", "tag_id": 1, "position": 0},
    "reservation_tags": {"reservation_pk": "<reservation>", "tag_id": 1, "position": 0},
    "task_requirements": {"task_pk": "<task>", "position": 0},
    "task_requirement_photos": {"task_pk": "<task>", "position": 0, "requirement_position": 0,
                                "url": "u"},
    "sync_runs": {"run_id": "r1", "region_code": "nashville", "stream": "properties"},
    "crawl_windows": {"region_code": "nashville", "stream": "tasks",
                      "earliest_start": "2020-01-01T00:00:00+00:00"},
    "deletion_candidates": {"region_code": "nashville", "stream": "tasks", "source_id": 1,
                            "run_id": "r1"},
}
BOGUS = {"region_code": "atlantis"}  # any *_pk column gets -1

FOREIGN_KEYS = sorted(
    (table, column)
    for table, row in VALID_ROWS.items()
    for column in row
    if column == "region_code" or column.endswith("_pk")
)


@pytest.fixture
def parents(insert) -> dict[str, int]:
    property_pk = insert("properties", property_id=1, region_code="nashville")
    reservation_pk = insert(
        "reservations", reservation_id=1, region_code="nashville", property_pk=property_pk,
        property_id=1,
    )
    task_pk = insert(
        "tasks", task_id=1, region_code="nashville", property_pk=property_pk, home_id=1
    )
    template_pk = insert("task_templates", template_id=1, region_code="nashville")
    subdepartment_pk = insert("task_subdepartments", subdepartment_id=1, region_code="nashville")
    return {"<property>": property_pk, "<reservation>": reservation_pk, "<task>": task_pk,
            "<template>": template_pk, "<subdepartment>": subdepartment_pk}


def _row(table: str, parents: dict[str, int], **override: Any) -> dict[str, Any]:
    row = {key: parents.get(value, value) for key, value in VALID_ROWS[table].items()}
    return {**row, **override}


def _expect_violation(insert, table: str, row: dict[str, Any], error: type) -> str:
    with pytest.raises(sa.exc.IntegrityError) as caught:
        insert(table, **row)
    assert isinstance(caught.value.orig, error), caught.value.orig
    return caught.value.orig.diag.constraint_name


def test_every_foreign_key_is_covered_here(migrated_db):
    declared = migrated_db.query(
        "SELECT c.conrelid::regclass::text AS tbl, a.attname AS col"
        "  FROM pg_constraint c"
        "  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
        " WHERE c.contype = 'f' AND c.connamespace = to_regnamespace(:schema)",
        schema=migrated_db.schema,
    )
    assert sorted((row.tbl, row.col) for row in declared) == FOREIGN_KEYS


@pytest.mark.parametrize(("table", "column"), FOREIGN_KEYS)
def test_foreign_key_rejects_an_orphan(insert, parents, table, column):
    insert(table, **_row(table, parents))  # the valid row loads: only the FK value differs

    orphan = _row(table, parents, **{column: BOGUS.get(column, -1)})
    for key in ("property_id", "reservation_id", "task_id", "person_id", "photo_id",
                "assignment_id", "cost_id", "usage_id", "template_id", "subdepartment_id",
                "supply_id", "tag_id"):
        if key in orphan:
            orphan[key] += 100  # avoid the natural-key unique constraint
    if "position" in orphan and table == "reservation_guests":
        orphan["position"] = 1
    if table == "sync_runs":
        orphan["run_id"] = "r2"

    constraint = _expect_violation(
        insert, table, orphan, psycopg2.errors.ForeignKeyViolation
    )
    assert column in constraint


@pytest.mark.parametrize(
    ("checkin", "checkout", "ok"),
    [("2026-12-01", "2026-12-05", True), ("2026-12-05", "2026-12-05", True),
     ("2026-12-06", "2026-12-05", False)],
)
def test_checkin_must_not_follow_checkout(insert, parents, checkin, checkout, ok):
    row = _row("reservations", parents, checkin_date=checkin, checkout_date=checkout)
    if ok:
        insert("reservations", **row)
        return
    constraint = _expect_violation(insert, "reservations", row, psycopg2.errors.CheckViolation)
    assert constraint == "ck_reservations_checkin_before_checkout"


@pytest.mark.parametrize(
    ("column", "good", "bad"),
    [("latitude", [-90, 0, 90], [-90.0000001, 90.5]),
     ("longitude", [-180, 0, 180], [-180.5, 180.0000001])],
)
def test_coordinates_are_range_checked(insert, column, good, bad):
    for offset, value in enumerate(good):
        insert("properties", property_id=10 + offset, region_code="austin", **{column: value})
    for offset, value in enumerate(bad):
        row = {"property_id": 20 + offset, "region_code": "austin", column: value}
        constraint = _expect_violation(insert, "properties", row, psycopg2.errors.CheckViolation)
        assert column in constraint


def test_second_default_photo_is_rejected(insert, parents):
    insert("property_photos", **_row("property_photos", parents, is_default=True))
    insert("property_photos", **_row("property_photos", parents, photo_id=2, position=1))

    second_default = _row("property_photos", parents, photo_id=3, position=2, is_default=True)
    constraint = _expect_violation(
        insert, "property_photos", second_default, psycopg2.errors.UniqueViolation
    )
    assert constraint == "uq_property_photos_one_default"
