"""migrate-legacy and validate-legacy side by side with real pipeline syncs (tap → target
against the simulator) of the same region: before, during and after, in any order. Legacy
rows are built from the simulator's own objects for some ids (so they overlap what the
pipeline loads, with older values) plus legacy-only ids."""

from __future__ import annotations

from typing import Any

import legacy_rows as lr
import pytest
from legacy_pipeline import pausing, run_target, sync, tap_lines
from target_breezeway_postgres.legacy import (
    LegacyBusy,
    ValidationReport,
    migrate_legacy,
    validate_legacy,
)

REGION = "nashville"
LEGACY_PHOTO = "https://legacy.example/990001.jpg"


@pytest.fixture
def sim(sim_factory):
    return sim_factory(scale=0.02, regions=[REGION], auth_rate_limit=False)


@pytest.fixture
def side_by_side(sim, legacy_tables) -> dict[str, Any]:
    """Legacy copies of three API properties (older name, one with its own photo set), of
    some of their reservations and tasks; plus a legacy-only property with a reservation and
    a task, a legacy-only reservation and task under an API property, and one bad row."""
    db, data = legacy_tables, sim.data(REGION)
    shared = data.properties[4:7]
    shared_ids = {p["id"] for p in shared}
    first = shared[0]["id"]
    properties = [{**lr.property_row(REGION, p), "property_name": "Old name"} for p in shared]
    properties[0].update(property_photos_id="990001", property_photos_url=LEGACY_PHOTO,
                         property_photos_caption="", property_photos_default="True",
                         property_photos_original_url="")
    properties += [
        {"region_code": REGION, "property_id": "9000001", "property_name": "Legacy only",
         "property_latitude": "36.2", "property_longitude": "-86.8",
         "property_photos_id": "990002", "property_photos_url": "https://legacy.example/2.jpg"},
        {"region_code": REGION, "property_id": "9000002", "property_latitude": "abc"}]
    reservations = [{**lr.reservation_row(REGION, r), "guest_first_name": "Legacy guest"}
                    for r in data.reservations if r["property_id"] in shared_ids][:6]
    linked = next(r["id"] for r in data.reservations if r["property_id"] not in shared_ids)
    reservations += [
        {"region_code": REGION, "reservation_id": "9100001", "property_id": "9000001",
         "guest_first_name": "Only legacy"},
        {"region_code": REGION, "reservation_id": "9100002", "property_id": str(first),
         "guest_email": "guest@example.com"}]
    tasks = [lr.task_row(REGION, t) for t in data.tasks if t["home_id"] in shared_ids][:6]
    tasks += [
        {"region_code": REGION, "task_id": "9200001", "home_id": "9000001"},
        {"region_code": REGION, "task_id": "9200002", "home_id": str(first),
         "linked_reservation_id": str(linked)}]
    for table, rows in (("breezeaway_properties_gw", properties),
                        ("breezeaway_reservations_gw", reservations),
                        ("breezeaway_tasks_gw", tasks)):
        lr.insert_rows(db.engine, db.schema, table, rows)
    photos = sum(len(row["property_photos_id"].split(lr.DELIMITER)) for row in properties[:3])
    return {"db": db, "first": shared[0], "linked": linked,
            "shared": (len(shared), photos, len(reservations) - 2, len(tasks) - 2)}


def _counts(report: ValidationReport, column: str) -> dict[str, int]:
    return {row.stream: getattr(row, column) for row in report.rows}


def _property(db, property_id: int):
    return db.query(
        "SELECT p.name, p.deleted_at, array_agg(ph.photo_id ORDER BY ph.position) AS photos"
        "  FROM properties p LEFT JOIN property_photos ph ON ph.property_pk = p.id"
        " WHERE p.property_id = :i GROUP BY p.id", i=property_id)[0]


def _assert_api_wins(db, first: dict[str, Any]) -> None:
    stored = _property(db, first["id"])
    assert stored.name == first["name"]
    assert stored.photos == [photo["id"] for photo in first["photos"]]


def test_before_during_and_after_pipeline_syncs(sim, side_by_side, psql):
    db, first = side_by_side["db"], side_by_side["first"]
    properties, photos, reservations, tasks = side_by_side["shared"]

    report = migrate_legacy(db.engine, db.schema, "before-sync")
    assert report.ok and report.pipeline_owned == 0
    assert (_property(db, first["id"]).name, _property(db, first["id"]).photos) == (
        "Old name", [990001])

    sync(sim, db, REGION)

    report = validate_legacy(db.engine, db.schema)
    assert report.ok, report
    assert _counts(report, "pipeline_owned") == {
        "properties": properties, "property_photos": photos, "reservations": reservations,
        "reservation_guests": reservations, "tasks": tasks}
    assert _counts(report, "loaded")["properties"] == 1  # 9000001, legacy only
    _assert_api_wins(db, first)
    legacy_only = _property(db, 9000001)
    assert legacy_only.name == "Legacy only" and legacy_only.deleted_at is not None
    linked_task = db.query(
        "SELECT r.reservation_id FROM tasks t JOIN reservations r ON r.id = t.reservation_pk"
        " WHERE t.task_id = 9200002")
    assert [row[0] for row in linked_task] == [side_by_side["linked"]]

    report = migrate_legacy(db.engine, db.schema, "after-sync")
    assert report.ok and _counts(report, "pipeline_owned")["properties"] == properties
    _assert_api_wins(db, first)

    during: list[ValidationReport] = []

    def migrate_and_validate_mid_sync() -> None:
        running = db.query("SELECT count(*) FROM sync_runs WHERE region_code = :r"
                           " AND status = 'running'", r=REGION)[0][0]
        assert running > 0, "the sync is under way"
        during.append(migrate_legacy(db.engine, db.schema, "during-sync"))
        during.append(validate_legacy(db.engine, db.schema))

    run_target(db, pausing(tap_lines(sim, REGION), "reservations",
                           migrate_and_validate_mid_sync), REGION)

    assert len(during) == 2 and all(report.ok for report in during), during
    assert validate_legacy(db.engine, db.schema).ok
    assert psql(db.schema, "validation_checks.sql").returncode == 0
    _assert_api_wins(db, first)
    open_rejects = db.query("SELECT stream, record ->> 'property_id' AS id FROM load_rejects"
                            " WHERE resolved_at IS NULL AND stream LIKE 'legacy%'")
    assert [tuple(row) for row in open_rejects] == [("legacy_properties", "9000002")]


def test_pipeline_first_then_legacy_then_pipeline_again(sim, side_by_side):
    """The pipeline loaded the properties with their own photos first: the legacy copies and
    their photos are the pipeline's, not "unaccounted"; nothing is refused."""
    db, first = side_by_side["db"], side_by_side["first"]
    _, photos, reservations, _ = side_by_side["shared"]
    sync(sim, db, REGION)

    report = migrate_legacy(db.engine, db.schema, "after-sync")

    assert report.ok
    assert _counts(report, "pipeline_owned")["property_photos"] == photos
    assert _counts(report, "pipeline_owned")["reservation_guests"] == reservations
    assert _counts(report, "loaded")["reservations"] == 2
    _assert_api_wins(db, first)
    sync(sim, db, REGION)
    assert validate_legacy(db.engine, db.schema).ok
    assert migrate_legacy(db.engine, db.schema, "again").ok


def test_a_pipeline_load_in_progress_makes_migrate_wait_never_deadlock(side_by_side):
    """While a load unit holds the v2 tables, the migration does not queue behind it holding
    locks of its own (which could deadlock the load): it gives up and retries; past
    --lock-wait it fails, having committed nothing."""
    db = side_by_side["db"]
    with db.engine.connect() as pipeline:
        pipeline.exec_driver_sql(f'SET search_path TO "{db.schema}"')
        pipeline.exec_driver_sql("UPDATE reservations SET synced_at = now() WHERE false")

        with pytest.raises(LegacyBusy, match="nothing was committed"):
            migrate_legacy(db.engine, db.schema, "busy", lock_wait_s=0)
        assert db.query("SELECT count(*) FROM properties")[0][0] == 0
        pipeline.rollback()

    assert migrate_legacy(db.engine, db.schema, "free", lock_wait_s=0).ok
