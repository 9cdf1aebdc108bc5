"""Data-quality views (003) and the Guesty view (R__guesty_views.sql) on a known fixture."""

from __future__ import annotations

import json

import pytest
from target_breezeway_postgres.migrations import apply_migrations

DELETED = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def world(insert) -> dict[str, int]:
    """Nashville: 2 live properties + 1 soft-deleted; reservations, tasks, rejects, runs."""
    ids: dict[str, int] = {}
    ids["p1"] = insert("properties", property_id=1, region_code="nashville", name="One",
                       reference_external_property_id="lst_1")
    ids["p2"] = insert("properties", property_id=2, region_code="nashville", name="Two",
                       reference_external_property_id="lst_missing")
    ids["p3"] = insert("properties", property_id=3, region_code="nashville", deleted_at=DELETED,
                       reference_external_property_id="lst_3")
    ids["a1"] = insert("properties", property_id=1, region_code="austin", name="Austin one")
    for photo_id in (10, 11):
        insert("property_photos", property_pk=ids["p1"], photo_id=photo_id,
               position=photo_id - 10, url=f"https://cdn.example/{photo_id}.jpg")
    insert("property_photos", property_pk=ids["p3"], photo_id=30, position=0, url="u")

    def reservation(rid: int, prop: str, **extra) -> int:
        return insert("reservations", reservation_id=rid, region_code="nashville",
                      property_pk=ids[prop], property_id=int(prop[1:]), **extra)

    ids["r1"] = reservation(100, "p1")
    ids["r2"] = reservation(101, "p1")
    ids["r3"] = reservation(102, "p3")
    ids["r4"] = reservation(103, "p1", deleted_at=DELETED)
    for position in range(3):
        insert("reservation_guests", reservation_pk=ids["r1"], position=position)
    insert("reservation_guests", reservation_pk=ids["r4"], position=0)

    def task(tid: int, prop: str, **extra) -> int:
        return insert("tasks", task_id=tid, region_code="nashville", property_pk=ids[prop],
                      home_id=int(prop[1:]), **extra)

    task(200, "p1", reservation_pk=ids["r1"], linked_reservation_id=100)
    task(201, "p1", linked_reservation_id=999)
    task(202, "p3")
    task(203, "p1", reservation_pk=ids["r4"], linked_reservation_id=103)
    task(204, "p1", deleted_at=DELETED, linked_reservation_id=998)

    def reject(stream: str, key: dict, reason: str, record: dict, **extra) -> int:
        return insert("load_rejects", region_code="nashville", stream=stream,
                      natural_key=json.dumps(key), reason=reason, record=json.dumps(record),
                      **extra)

    ids["rej_res"] = reject("reservations", {"id": 555},
                            "orphan: parent properties id=77 is neither in the database nor "
                            "loadable in this load unit",
                            {"id": 555, "property_id": 77})
    reject("reservations", {"id": 556}, "orphan: parent properties id=78",
           {"id": 556, "property_id": 78}, resolved_at=DELETED)
    reject("reservations", {"id": 557}, "bad_value: checkin after checkout",
           {"id": 557, "property_id": 1})
    ids["rej_task"] = reject("tasks", {"id": 777}, "orphan: parent properties id=88",
                             {"id": 777, "home_id": 88})

    insert("sync_runs", run_id="a", region_code="nashville", stream="properties",
           status="succeeded", started_at="2026-01-01T00:00:00Z",
           finished_at="2026-01-01T00:05:00Z")
    insert("sync_runs", run_id="b", region_code="nashville", stream="properties",
           status="failed", started_at="2026-01-02T00:00:00Z",
           finished_at="2026-01-02T00:01:00Z", error_text="boom")
    insert("sync_runs", run_id="c", region_code="austin", stream="properties",
           started_at="2026-01-03T00:00:00Z")
    return ids


def test_properties_without_photos(migrated_db, world):
    rows = migrated_db.query("SELECT * FROM v_properties_without_photos ORDER BY property_pk")
    assert [(r.region_code, r.property_id) for r in rows] == [("nashville", 2), ("austin", 1)]


def test_orphaned_reservations(migrated_db, world):
    rows = migrated_db.query(
        "SELECT orphan_kind, reservation_id, property_id, reservation_pk, reject_id"
        " FROM v_orphaned_reservations ORDER BY orphan_kind"
    )
    assert [tuple(r) for r in rows] == [
        ("property_soft_deleted", 102, 3, world["r3"], None),
        ("rejected_missing_property", 555, 77, None, world["rej_res"]),
    ]


def test_orphaned_tasks(migrated_db, world):
    rows = migrated_db.query(
        "SELECT orphan_kind, task_id, home_id, linked_reservation_id, reject_id"
        " FROM v_orphaned_tasks ORDER BY orphan_kind, task_id"
    )
    assert [tuple(r) for r in rows] == [
        ("property_soft_deleted", 202, 3, None, None),
        ("rejected_missing_property", 777, 88, None, world["rej_task"]),
        ("reservation_soft_deleted", 203, 1, 103, None),
        ("reservation_unknown", 201, 1, 999, None),
    ]


def test_region_stats_counts_are_not_multiplied(migrated_db, world):
    rows = {r.region_code: r for r in migrated_db.query("SELECT * FROM v_region_stats")}

    nashville = rows["nashville"]
    assert (nashville.property_count, nashville.deleted_property_count) == (2, 1)
    assert nashville.photo_count == 2  # p3's photo belongs to a deleted property
    assert nashville.reservation_count == 3  # r4 is soft-deleted
    assert nashville.guest_count == 3  # r4's guest does not count
    assert nashville.task_count == 4  # task 204 is soft-deleted
    assert nashville.open_reject_count == 3
    assert str(nashville.last_sync_at) == "2026-01-01 00:05:00+00:00"

    austin = rows["austin"]
    assert (austin.property_count, austin.photo_count, austin.reservation_count) == (1, 0, 0)
    assert austin.last_sync_at is None
    assert len(rows) == 8  # every region, with or without data


def test_sync_status_shows_the_latest_run_with_ages(migrated_db, world):
    rows = migrated_db.query(
        "SELECT region_code, run_id, status, error_text, last_succeeded_at,"
        "       age > interval '1 day' AS old, success_age > age AS success_older"
        " FROM v_sync_status ORDER BY region_code"
    )
    assert [(r.region_code, r.run_id, r.status, r.error_text) for r in rows] == [
        ("austin", "c", "running", None),
        ("nashville", "b", "failed", "boom"),
    ]
    assert rows[0].last_succeeded_at is None
    assert str(rows[1].last_succeeded_at) == "2026-01-01 00:05:00+00:00"
    assert rows[1].old and rows[1].success_older


def test_guesty_view_is_absent_without_a_listings_table(migrated_db, world):
    assert migrated_db.query("SELECT to_regclass('v_guesty_linked_properties')")[0][0] is None


def test_guesty_view_appears_with_the_listings_table(migrated_db, world, execute):
    execute("CREATE TABLE listings (listing_id varchar(64))")
    execute("INSERT INTO listings VALUES ('lst_1'), ('lst_1'), ('lst_3'), ('lst_9')")

    apply_migrations(migrated_db.engine, migrated_db.schema)

    rows = migrated_db.query("SELECT * FROM v_guesty_linked_properties")
    # lst_1 listed twice → once; lst_3's property is soft-deleted; lst_missing is not listed.
    assert [(r.property_pk, r.guesty_listing_id) for r in rows] == [(world["p1"], "lst_1")]
