"""Bad input is quarantined in load_rejects with its reason; the rest of the unit loads;
open rejects are fed again on the next run and resolved when they load."""

from __future__ import annotations

import singer_messages as singer


def bad_messages() -> list[dict]:
    """A valid sync plus one bad record of each kind (none of them has children, so no
    orphan cascades from a rejected parent)."""
    prop, res = singer.property_record, singer.reservation_record
    return [
        *singer.region_sync("smoky", 1000, n_properties=3),
        singer.record("properties", prop("smoky", 1101, latitude=95.0)),     # CHECK
        singer.record("properties", prop("smoky", 1102, bedrooms="three")),  # non-numeric
        singer.record("reservations", res("smoky", 1600, 1000,
                                          checkin_date="2026-13-01")),     # bad date
        singer.record("reservations", res("smoky", 1601, 1000,
                                          checkin_date="2026-12-09")),     # after checkout
        singer.record("property_photos", singer.photo_record(
            "smoky", 1000, 999999, 5, default=True)),                       # second default
        singer.record("task_photos", {"task_id": 1900, "region_code": "smoky",
                                      "position": 9, "url": "u"}),          # missing key
        singer.record("reservations", res("smoky", 4300, 4242)),            # orphan
    ]


# Reasons name the field and what is wrong, never the value (they are shown in reports).
EXPECTED_REASONS = {
    ("properties", 1101): "latitude: number outside [-90, 90]",
    ("properties", 1102): "bedrooms: expected an integer, got a string of 5 characters",
    ("reservations", 1600): "checkin_date: invalid date, a string of 10 characters",
    ("reservations", 1601): "checkin_date is after checkout_date",
    ("reservations", 4300): "orphan: parent properties property_id=4242",
    ("property_photos", 999999): "second is_default child of property_id=1000",
    ("task_photos", None): "missing key property photo_id",
}


def open_rejects(db) -> dict[tuple, tuple]:
    rows = db.query(
        "SELECT stream, coalesce(natural_key->>'id', natural_key->>'photo_id'), reason, "
        "attempts, region_code, run_id, record FROM load_rejects WHERE resolved_at IS NULL")
    return {(r[0], int(r[1]) if r[1] else None): tuple(r[2:]) for r in rows}


def test_each_bad_input_is_quarantined_with_its_reason_and_the_rest_loads(run_target,
                                                                         migrated_db):
    run_target(bad_messages(), run_id="run-1")
    rejects = open_rejects(migrated_db)
    assert set(rejects) == set(EXPECTED_REASONS)
    for key, reason in EXPECTED_REASONS.items():
        assert rejects[key][0].startswith(reason), (key, rejects[key][0])
        assert rejects[key][1:4] == (1, "smoky", "run-1")
    assert rejects[("reservations", 4300)][4]["property_id"] == 4242  # the raw record
    # Everything else loaded.
    for table, count in [("properties", 3), ("property_photos", 6), ("reservations", 3),
                         ("reservation_guests", 6), ("tasks", 3), ("task_photos", 6)]:
        assert migrated_db.query(f"SELECT count(*) FROM {table}")[0][0] == count, table
    runs = dict(migrated_db.query(
        "SELECT stream, records_rejected FROM sync_runs WHERE run_id = 'run-1'"))
    assert (runs["properties"], runs["reservations"], runs["tasks"]) == (2, 3, 0)


def test_a_reject_seen_again_updates_its_open_row(run_target, migrated_db):
    run_target(bad_messages(), run_id="run-1")
    run_target(bad_messages(), run_id="run-2")
    rejects = open_rejects(migrated_db)
    assert set(rejects) == set(EXPECTED_REASONS)
    assert rejects[("reservations", 4300)][1:4] == (2, "smoky", "run-2")
    assert migrated_db.query("SELECT count(*) FROM load_rejects WHERE resolved_at IS NULL"
                             )[0][0] == len(EXPECTED_REASONS)


def test_orphan_is_retried_and_resolved_when_its_parent_arrives(run_target, migrated_db):
    orphan = singer.reservation_record("smoky", 4300, 4242)
    run_target([singer.record("reservations", orphan)])
    assert migrated_db.query("SELECT count(*) FROM reservations")[0][0] == 0
    # Next run: the parent arrives; the reservation is not sent again, it comes from
    # the quarantine.
    run_target([singer.record("properties", singer.property_record("smoky", 4242))])
    loaded = migrated_db.query("SELECT reservation_id FROM reservations")
    assert [r[0] for r in loaded] == [4300]
    resolved = migrated_db.query("SELECT resolved_at IS NOT NULL, attempts FROM load_rejects")
    assert [tuple(r) for r in resolved] == [(True, 2)]  # rejected, then fed again: loaded


def test_fresh_parent_supersedes_a_quarantined_child(run_target, migrated_db):
    run_target(bad_messages())
    run_target(singer.region_sync("smoky", 1000, n_properties=3))
    still_open = open_rejects(migrated_db)
    # The bad properties and reservations were fed again and are still bad; the second
    # default photo was superseded by property 1000's fresh photo set.
    assert ("property_photos", 999999) not in still_open
    assert ("properties", 1101) in still_open
