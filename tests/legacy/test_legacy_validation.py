"""Value-level validation: tampering with any migrated value — or deleting a migrated child —
makes validate-legacy fail, in Python and through the real psql client, naming stream, ids
and column but never the value."""

from __future__ import annotations

import pytest
from legacy_rows import insert_rows
from target_breezeway_postgres.cli import main
from target_breezeway_postgres.legacy import migrate_legacy, validate_legacy

GUEST_EMAIL = "ana.secret@example.com"
DOOR_CODE = "4711"

# (what is done to v2, stream, the column reported — or None: the row goes unaccounted)
TAMPERING = [
    ("UPDATE property_photos SET url = 'https://cdn/other.jpg' WHERE photo_id = 1",
     "property_photos", "url"),
    ("UPDATE property_photos SET position = 1 - position", "property_photos", "position"),
    ("INSERT INTO property_photos (property_pk, photo_id, position, url)"
     " SELECT id, 3, 2, 'u3' FROM properties", "property_photos",
     "(photo not in the legacy row)"),
    ("UPDATE properties SET latitude = latitude + 0.0000001", "properties", "latitude"),
    ("UPDATE properties SET wifi_password = 'changed'", "properties", "wifi_password"),
    ("UPDATE reservations SET checkout_date = checkout_date + 1 WHERE reservation_id = 1001",
     "reservations", "checkout_date"),
    ("UPDATE reservations SET access_code = NULL", "reservations", "access_code"),
    ("UPDATE reservation_guests SET first_name = 'Eve'", "reservation_guests", "first_name"),
    ("UPDATE reservation_guests SET email = upper(email)", "reservation_guests", "email"),
    ("UPDATE reservation_guests SET phone_numbers = '[]'", "reservation_guests",
     "phone_numbers"),
    ("DELETE FROM reservation_guests", "reservation_guests", None),
    ("UPDATE tasks SET reservation_pk = NULL", "tasks", "reservation_pk"),
    ("UPDATE tasks SET linked_reservation_id = 1002, reservation_pk = ("
     "SELECT id FROM reservations WHERE reservation_id = 1002)", "tasks",
     "linked_reservation_id"),
    ("UPDATE tasks SET total_cost = 12.50", "tasks", "total_cost"),
]


@pytest.fixture
def migrated(legacy_tables):
    db = legacy_tables
    insert_rows(db.engine, db.schema, "breezeaway_properties_gw", [{
        "region_code": "nashville", "property_id": "101", "property_latitude": "36.1234567",
        "property_longitude": "-86.7", "property_wifi_password": "hunter2",
        "property_photos_id": "1--x--2", "property_photos_url": "u1--x--u2",
        "property_photos_caption": "front--x--", "property_photos_default": "True--x--False"}])
    insert_rows(db.engine, db.schema, "breezeaway_reservations_gw", [
        {"region_code": "nashville", "reservation_id": "1001", "property_id": "101",
         "checkin_date": "2026-12-01", "checkout_date": "2026-12-05", "access_code": DOOR_CODE,
         "guest_first_name": "Ana", "guest_email": f" {GUEST_EMAIL}",
         "guest_phone": "+1 615 555 0100 "},
        {"region_code": "nashville", "reservation_id": "1002", "property_id": "101"}])
    insert_rows(db.engine, db.schema, "breezeaway_tasks_gw", [
        {"region_code": "nashville", "task_id": "5001", "home_id": "101",
         "linked_reservation_id": "1001", "total_cost": "80.00"}])
    assert migrate_legacy(db.engine, db.schema, "first").ok
    return db


def test_any_tampered_value_fails_validation_by_column_until_migrated_again(migrated, execute):
    for sql, stream, column in TAMPERING:
        execute(sql)

        report = validate_legacy(migrated.engine, migrated.schema)
        assert not report.ok, sql
        if column is None:
            assert [r.unaccounted for r in report.rows if r.stream == stream] == [1], sql
        else:
            assert [(d.stream, d.column) for d in report.differences] == [(stream, column)], sql

        assert migrate_legacy(migrated.engine, migrated.schema, "restore").ok, sql


def test_the_psql_variant_fails_on_the_same_differences(migrated, execute, psql):
    assert psql(migrated.schema, "validation_checks.sql").returncode == 0
    for sql, _, column in TAMPERING:
        if column is not None:
            execute(sql)
    expected = {f"{d.stream} | {d.column}" for d in
                validate_legacy(migrated.engine, migrated.schema).differences}

    checked = psql(migrated.schema, "validation_checks.sql")

    assert checked.returncode == 3 and "legacy validation FAILED" in checked.stderr
    printed = {" | ".join(cell.strip() for cell in line.split("|")[:2])
               for line in checked.stdout.splitlines() if line.count("|") >= 3}
    assert len(expected) >= 10 and expected <= printed
    for value in (GUEST_EMAIL, DOOR_CODE, "hunter2", "changed"):
        assert value not in checked.stdout + checked.stderr


def test_cli_prints_differences_by_column_with_ids_never_values(migrated, execute, capsys):
    execute("UPDATE reservation_guests SET email = 'someone@else.example'")
    execute("UPDATE reservations SET access_code = '0000' WHERE reservation_id = 1001")

    assert main(["validate-legacy", "--url", migrated.url, "--schema", migrated.schema]) == 1

    out = capsys.readouterr().out
    assert "reservation_guests.email: 1, e.g. reservation 1001 / guest 0 (legacy row 1)" in out
    assert "reservations.access_code: 1, e.g. reservation 1001 (legacy row 1)" in out
    for value in (GUEST_EMAIL, "someone@else", DOOR_CODE, "0000", "hunter2"):
        assert value not in out


def test_empty_legacy_tables_say_so(legacy_tables, psql, capsys):
    assert main(["validate-legacy", "--url", legacy_tables.url,
                 "--schema", legacy_tables.schema]) == 0
    assert "0 legacy rows found" in capsys.readouterr().out
    checked = psql(legacy_tables.schema, "validation_checks.sql")
    assert checked.returncode == 0 and "0 legacy rows found" in checked.stderr
