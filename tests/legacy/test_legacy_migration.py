"""Legacy migration (sql/legacy, `breezeway-db migrate-legacy` / `validate-legacy`).

The fixture holds every kind of bad legacy row next to good ones; the tests check that each
good row arrives, each bad one is rejected with its reason, and nothing is unaccounted for.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import target_breezeway_postgres.legacy as legacy
from legacy_rows import insert_rows
from target_breezeway_postgres.cli import main
from target_breezeway_postgres.legacy import legacy_dir, migrate_legacy, validate_legacy

PHOTO_COLUMNS = ("property_photos_id", "property_photos_url", "property_photos_caption",
                 "property_photos_default", "property_photos_original_url")

# (region, property_id, latitude, longitude, photo strings in PHOTO_COLUMNS order or None)
LEGACY_PROPERTIES = [
    ("nashville", "101", "36.1", "-86.7", ("1--x--2", "u1--x--u2", "a--x--b", "True--x--False",
                                           "--x--https://o/2.jpg")),
    ("nashville", "102", "abc", "-86.7", None),
    ("nashville", "x103", "36.1", "-86.7", None),
    ("nashville", "104", "36.2", "-86.8", ("3--x--4", "https://cdn/a--x--b.jpg--x--u4", "", "",
                                           "")),
    ("nashville", "105", "36.3", "-86.9", ("5--x--6--x--7", "u5--x--u6", "", "", "")),
    ("austin", "201", "", "None", None),
    ("nashville", "106", "91", "-86.7", None),
    ("atlantis", "301", "1", "1", None),
    ("nashville", "0107", "36.4", "-86.6", None),
    ("nashville", "107", "36.4", "-86.6", None),
    ("nashville", "108", "36.5", "-86.5", ("8--x--9", "u8--x--u9", "", "True--x--True", "")),
    # str(None) inside the joined string is no url: the set is refused, not loaded as "None".
    ("nashville", "109", "36.6", "-86.4", ("10--x--11", "u10--x--None", "", "", "")),
]
# (region, reservation_id, property_id, checkin, checkout, guest first name)
LEGACY_RESERVATIONS = [
    ("nashville", "1001", "101", "2026-12-01", "2026-12-04", None),
    ("nashville", "1001", "101", "2026-12-01", "2026-12-05", "Ana"),
    ("nashville", "1002", "102", "2026-12-01", "2026-12-05", None),
    ("nashville", "1003", "999", "2026-12-01", "2026-12-05", None),
    ("nashville", "bad", "101", "2026-12-01", "2026-12-05", None),
    ("nashville", "1005", "101", "2026-02-30", "2026-03-05", None),
    ("nashville", "1006", "101", "2026-12-09", "2026-12-05", None),
    ("austin", "1007", "201", "", "", None),
]
# (region, task_id, home_id, linked_reservation_id, created_at)
LEGACY_TASKS = [
    ("nashville", "5001", "101", "1001", "2026-11-20T08:00:00+00:00"),
    ("nashville", "5002", "101", "9999", ""),
    ("nashville", "5003", "102", "", ""),
    ("nashville", "5004", "abc", "", ""),
    ("nashville", "5005", "101", "", "yesterday"),
    ("austin", "5006", "201", "None", "2026-01-01T10:00:00"),
    ("nashville", "5007", "888", "", ""),
]

EXPECTED_REJECTS = {
    ("legacy_properties", "102"): "bad_value: property_latitude is not a number",
    ("legacy_properties", "x103"): "bad_value: property_id is not an integer id",
    ("legacy_properties", "106"): "bad_value: property_latitude is outside -90..90",
    ("legacy_properties", "301"): "orphan: region_code 'atlantis' is not a known region",
    ("legacy_properties", "0107"): "duplicate: property 107 in region nashville: legacy row",
    ("legacy_property_photos", "104"): "bad_value: photo strings split into different lengths "
                                       "(id 2, url 3,",
    ("legacy_property_photos", "105"): "bad_value: photo strings split into different lengths "
                                       "(id 3, url 2,",
    ("legacy_property_photos", "108"): "bad_value: more than one default photo",
    ("legacy_property_photos", "109"): "bad_value: the photo at position 1 has no url",
    ("legacy_reservations", "1001"): "duplicate: reservation 1001 in region nashville",
    ("legacy_reservations", "1002"): "orphan: property 102 is not loaded in region "
                                     "nashville (its legacy row was rejected)",
    ("legacy_reservations", "1003"): "orphan: property 999 is not loaded in region "
                                     "nashville (absent from the legacy properties)",
    ("legacy_reservations", "bad"): "bad_value: reservation_id is not an integer id",
    ("legacy_reservations", "1005"): "bad_value: checkin_date is not a date",
    ("legacy_reservations", "1006"): "bad_value: checkin_date is after checkout_date",
    ("legacy_tasks", "5003"): "orphan: home (property) 102 is not loaded",
    ("legacy_tasks", "5004"): "bad_value: home_id is not an integer id",
    ("legacy_tasks", "5005"): "bad_value: created_at is not a timestamp",
    ("legacy_tasks", "5007"): "orphan: home (property) 888 is not loaded",
}


@pytest.fixture
def legacy_db(legacy_tables):
    """The legacy tables (sql/legacy/000) filled with the rows above."""
    db = legacy_tables
    insert_rows(db.engine, db.schema, "breezeaway_properties_gw", [
        {"region_code": region, "property_id": pid, "property_latitude": lat,
         "property_longitude": lon, "property_name": f"Home {pid}",
         **dict(zip(PHOTO_COLUMNS, photos or (None,) * 5, strict=True))}
        for region, pid, lat, lon, photos in LEGACY_PROPERTIES])
    insert_rows(db.engine, db.schema, "breezeaway_reservations_gw", [
        {"region_code": region, "reservation_id": rid, "property_id": pid,
         "checkin_date": checkin, "checkout_date": checkout, "guest_first_name": guest,
         "guest_email": " ana@example.com " if guest else None}
        for region, rid, pid, checkin, checkout, guest in LEGACY_RESERVATIONS])
    insert_rows(db.engine, db.schema, "breezeaway_tasks_gw", [
        {"region_code": region, "task_id": tid, "home_id": home,
         "linked_reservation_id": linked, "created_at": created}
        for region, tid, home, linked, created in LEGACY_TASKS])
    return db


def _open_rejects(db) -> dict[tuple[str, str], str]:
    rows = db.query(
        "SELECT stream, CASE stream WHEN 'legacy_reservations' THEN record ->> 'reservation_id'"
        "                           WHEN 'legacy_tasks' THEN record ->> 'task_id'"
        "                           ELSE record ->> 'property_id' END AS legacy_key, reason"
        "  FROM load_rejects WHERE resolved_at IS NULL"
    )
    keys = [(row.stream, row.legacy_key) for row in rows]
    assert len(keys) == len(set(keys)), "one open reject per legacy row"
    return {(row.stream, row.legacy_key): row.reason for row in rows}


def test_every_good_row_moves_and_every_bad_row_is_rejected_with_its_reason(legacy_db):
    report = migrate_legacy(legacy_db.engine, legacy_db.schema, "legacy-test")

    assert report.ok and not report.differences, report
    rejects = _open_rejects(legacy_db)
    assert set(rejects) == set(EXPECTED_REJECTS)
    for key, reason in EXPECTED_REJECTS.items():
        assert rejects[key].startswith(reason), (key, rejects[key])

    properties = legacy_db.query("SELECT region_code, property_id, latitude, longitude, name"
                                 "  FROM properties ORDER BY region_code, property_id")
    assert [(r.region_code, r.property_id) for r in properties] == [
        ("austin", 201), ("nashville", 101), ("nashville", 104), ("nashville", 105),
        ("nashville", 107), ("nashville", 108), ("nashville", 109)]
    assert (properties[0].latitude, properties[0].longitude) == (None, None)
    assert (str(properties[1].latitude), properties[1].name) == ("36.1000000", "Home 101")

    photos = legacy_db.query(
        "SELECT p.property_id, ph.photo_id, ph.position, ph.url, ph.caption, ph.is_default,"
        "       ph.original_url FROM property_photos ph JOIN properties p ON p.id = ph.property_pk"
        " ORDER BY ph.position")
    assert [tuple(r) for r in photos] == [
        (101, 1, 0, "u1", "a", True, None), (101, 2, 1, "u2", "b", False, "https://o/2.jpg")]

    reservations = legacy_db.query(
        "SELECT r.reservation_id, r.checkout_date::text AS checkout, g.first_name, g.email,"
        "       g.emails FROM reservations r LEFT JOIN reservation_guests g"
        "    ON g.reservation_pk = r.id ORDER BY r.reservation_id")
    assert [tuple(r) for r in reservations] == [
        (1001, "2026-12-05", "Ana", "ana@example.com", ["ana@example.com"]),
        (1007, None, None, None, None)]

    tasks = legacy_db.query(
        "SELECT t.task_id, r.reservation_id AS linked, t.source_created_at::text AS created"
        "  FROM tasks t LEFT JOIN reservations r ON r.id = t.reservation_pk"
        " ORDER BY t.task_id")
    assert [tuple(r) for r in tasks] == [
        (5001, 1001, "2026-11-20 08:00:00+00"), (5002, None, None),
        (5006, None, "2026-01-01 10:00:00+00")]


def test_reconciliation_counts_every_legacy_row(legacy_db):
    migrate_legacy(legacy_db.engine, legacy_db.schema, "legacy-test")

    report = validate_legacy(legacy_db.engine, legacy_db.schema)
    rows = {(r.region_code, r.stream): r for r in report.rows}
    nashville_properties = rows[("nashville", "properties")]
    assert (nashville_properties.legacy_rows, nashville_properties.loaded,
            nashville_properties.rejected) == (10, 6, 4)
    assert (nashville_properties.duplicates, nashville_properties.failed_casts) == (1, 3)
    photos = rows[("nashville", "property_photos")]
    assert (photos.legacy_rows, photos.loaded, photos.rejected) == (11, 2, 9)
    reservations = rows[("nashville", "reservations")]
    assert (reservations.legacy_rows, reservations.loaded, reservations.orphans) == (7, 1, 2)
    assert rows[("nashville", "reservation_guests")].loaded == 1
    assert rows[("atlantis", "properties")].rejected == 1
    assert all(r.unaccounted == 0 and r.pipeline_owned == 0 and r.differences == 0 and r.ok
               for r in rows.values())


def test_rerun_is_idempotent_and_fixed_rows_resolve_their_reject(legacy_db, execute):
    migrate_legacy(legacy_db.engine, legacy_db.schema, "first")
    counts = ("SELECT (SELECT count(*) FROM properties), (SELECT count(*) FROM property_photos),"
              " (SELECT count(*) FROM reservations), (SELECT count(*) FROM reservation_guests),"
              " (SELECT count(*) FROM tasks), (SELECT count(*) FROM load_rejects),"
              " (SELECT array_agg(id ORDER BY id) FROM property_photos),"
              " (SELECT max(updated_at) FROM properties)")
    before = tuple(legacy_db.query(counts)[0])

    migrate_legacy(legacy_db.engine, legacy_db.schema, "second")
    assert tuple(legacy_db.query(counts)[0]) == before  # same rows, same photo ids, untouched
    assert {r.attempts for r in legacy_db.query("SELECT attempts FROM load_rejects")} == {2}

    execute("UPDATE breezeaway_properties_gw SET property_latitude = '36.15'"
            " WHERE property_id = '102'")
    migrate_legacy(legacy_db.engine, legacy_db.schema, "third")
    rejects = _open_rejects(legacy_db)
    assert ("legacy_properties", "102") not in rejects
    assert ("legacy_reservations", "1002") not in rejects  # its parent arrived
    assert ("legacy_tasks", "5003") not in rejects
    resolved = legacy_db.query("SELECT count(*) FROM load_rejects WHERE resolved_at IS NOT NULL")
    assert resolved[0][0] == 3


def test_cli_validation_passes_then_fails_loudly_on_tampering(legacy_db, execute, capsys):
    cli = ["--url", legacy_db.url, "--schema", legacy_db.schema]
    assert main(["migrate-legacy", *cli, "--run-id", "cli"]) == 0
    assert main(["validate-legacy", *cli]) == 0
    assert "validation passed" in capsys.readouterr().out

    execute("DELETE FROM reservations WHERE reservation_id = 1007")
    assert main(["validate-legacy", *cli]) == 1
    captured = capsys.readouterr()
    assert "validation failed for austin/reservations" in captured.err
    mismatch = [line for line in captured.out.splitlines() if "MISMATCH" in line]
    assert len(mismatch) == 1 and "austin" in mismatch[0] and "reservations" in mismatch[0]


def test_cli_as_a_process_exits_non_zero_without_legacy_tables(migrated_db):
    env = {**os.environ, "BREEZEWAY_DATABASE_URL": migrated_db.url}
    result = subprocess.run(
        [sys.executable, "-m", "target_breezeway_postgres.cli", "validate-legacy",
         "--schema", migrated_db.schema],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert "legacy table(s) missing" in result.stderr


def test_a_run_that_does_not_reconcile_commits_nothing_not_even_schema_v2(
        bare_schema, pg_engine, monkeypatch):
    """Drop the step that records rejects: validation inside the run fails, and everything
    rolls back — the data and the v2 schema the run had created."""
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{bare_schema}"')
        connection.exec_driver_sql((legacy_dir() / "000_legacy_tables.sql").read_text())
    insert_rows(pg_engine, bare_schema, "breezeaway_properties_gw",
                [{"region_code": "nashville", "property_id": "abc"}])
    complete = legacy.legacy_scripts()
    without_rejects = [s for s in complete if s.path.name != "090_rejects.sql"]
    monkeypatch.setattr(legacy, "legacy_scripts", lambda: without_rejects)

    with pytest.raises(legacy.ValidationFailed, match="nashville/properties"):
        migrate_legacy(pg_engine, bare_schema, "incomplete")
    with pg_engine.connect() as connection:
        assert connection.exec_driver_sql(
            f"SELECT to_regclass('\"{bare_schema}\".schema_migrations')").scalar() is None


def test_rollback_script_leaves_only_the_legacy_tables(legacy_db, execute):
    migrate_legacy(legacy_db.engine, legacy_db.schema, "before-rollback")
    execute("CREATE TABLE listings (listing_id text)")

    execute((legacy_dir() / "rollback_v2.sql").read_text())

    left = legacy_db.query(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = to_regnamespace(:schema)"
        " AND c.relkind IN ('r', 'v') ORDER BY 1", schema=legacy_db.schema)
    assert [row.relname for row in left] == [
        "breezeaway_properties_gw", "breezeaway_reservations_gw", "breezeaway_tasks_gw",
        "listings"]
    functions = legacy_db.query(
        "SELECT count(*) FROM pg_proc WHERE pronamespace = to_regnamespace(:schema)",
        schema=legacy_db.schema)
    assert functions[0][0] == 0
    assert migrate_legacy(legacy_db.engine, legacy_db.schema, "again").ok
