"""Duplicated legacy ids: the same copy wins on every run (the highest legacy id among the
loadable ones), fixing or breaking a copy re-evaluates the winner, and a reject resolves only
when the row it names is the copy loaded."""

from __future__ import annotations

from legacy_rows import insert_rows
from target_breezeway_postgres.legacy import migrate_legacy, validate_legacy

# Two copies of property 500 and of reservation 7000, the newest one bad at first.
OLDER_PROPERTY = {"region_code": "nashville", "property_id": "0500", "property_name": "Older",
                  "property_latitude": "36.1", "property_longitude": "-86.7",
                  "property_photos_id": "1--x--2", "property_photos_url": "u1--x--u2",
                  "property_photos_default": "True--x--False"}
NEWER_PROPERTY = {"region_code": "nashville", "property_id": "500", "property_name": "Newer",
                  "property_latitude": "north", "property_longitude": "-86.8",
                  "property_photos_id": "3", "property_photos_url": "u3",
                  "property_photos_default": "True"}
OLDER_RESERVATION = {"region_code": "nashville", "reservation_id": "7000", "property_id": "500",
                     "checkin_date": "2026-12-01", "checkout_date": "2026-12-04",
                     "guest_first_name": "Olga", "guest_email": "olga@example.com"}
NEWER_RESERVATION = {"region_code": "nashville", "reservation_id": "7000", "property_id": "500",
                     "checkin_date": "2026-12-01", "checkout_date": "2026-13-05",
                     "guest_first_name": "Nina"}


def _state(db):
    prop = db.query("SELECT name, latitude::text AS latitude FROM properties")[0]
    photos = [r.photo_id for r in db.query("SELECT photo_id FROM property_photos"
                                           " ORDER BY position")]
    guest = db.query("SELECT g.first_name, g.email, r.checkout_date::text AS checkout"
                     "  FROM reservations r JOIN reservation_guests g"
                     "    ON g.reservation_pk = r.id")
    return prop.name, prop.latitude, photos, [tuple(g) for g in guest]


def _open_rejects(db):
    return {(r.stream, int(r.legacy_id)): r.reason for r in db.query(
        "SELECT stream, natural_key ->> 'legacy_id' AS legacy_id, reason FROM load_rejects"
        " WHERE resolved_at IS NULL")}


def test_fixing_and_breaking_the_newest_copy_moves_the_winner(legacy_tables, execute):
    db = legacy_tables
    old_p, new_p = insert_rows(db.engine, db.schema, "breezeaway_properties_gw",
                               [OLDER_PROPERTY, NEWER_PROPERTY])
    old_r, new_r = insert_rows(db.engine, db.schema, "breezeaway_reservations_gw",
                               [OLDER_RESERVATION, NEWER_RESERVATION])

    migrate_legacy(db.engine, db.schema, "run-1")
    migrate_legacy(db.engine, db.schema, "run-2")  # same input, same winner
    assert _state(db) == ("Older", "36.1000000", [1, 2], [("Olga", "olga@example.com",
                                                             "2026-12-04")])
    assert set(_open_rejects(db)) == {("legacy_properties", new_p),
                                      ("legacy_reservations", new_r)}

    execute("UPDATE breezeaway_properties_gw SET property_latitude = '36.2' WHERE id = :i",
            i=new_p)
    execute("UPDATE breezeaway_reservations_gw SET checkout_date = '2026-12-05' WHERE id = :i",
            i=new_r)
    report = migrate_legacy(db.engine, db.schema, "run-3")

    assert report.ok
    assert _state(db) == ("Newer", "36.2000000", [3], [("Nina", None, "2026-12-05")])
    rejects = _open_rejects(db)
    assert set(rejects) == {("legacy_properties", old_p), ("legacy_reservations", old_r)}
    assert rejects[("legacy_properties", old_p)].startswith(
        f"duplicate: property 500 in region nashville: legacy row {new_p} is the copy loaded")
    assert db.query("SELECT count(*) FROM load_rejects WHERE resolved_at IS NOT NULL"
                    " AND natural_key ->> 'legacy_id' IN (:p, :r)",
                    p=str(new_p), r=str(new_r))[0][0] == 2

    execute("UPDATE breezeaway_properties_gw SET property_latitude = 'south' WHERE id = :i",
            i=new_p)
    migrate_legacy(db.engine, db.schema, "run-4")

    assert _state(db)[:3] == ("Older", "36.1000000", [1, 2])
    rejects = _open_rejects(db)
    assert ("legacy_properties", old_p) not in rejects
    assert rejects[("legacy_properties", new_p)] == "bad_value: property_latitude is not a number"
    assert validate_legacy(db.engine, db.schema).ok


def test_the_winners_photo_set_replaces_the_older_copys_even_when_refused(legacy_tables,
                                                                          execute):
    """A new winner whose photo set is refused leaves the property without photos: the older
    copy's photos do not stay behind as if they were the winner's."""
    db = legacy_tables
    _, new_p = insert_rows(db.engine, db.schema, "breezeaway_properties_gw",
                           [OLDER_PROPERTY, {**NEWER_PROPERTY, "property_latitude": "36.3",
                                             "property_photos_url": "None"}])
    migrate_legacy(db.engine, db.schema, "run-1")
    assert _state(db)[2] == []
    assert _open_rejects(db)[("legacy_property_photos", new_p)] == (
        "bad_value: property_photos_url has no value for 1 photo id(s)")

    execute("UPDATE breezeaway_properties_gw SET property_photos_url = 'u3' WHERE id = :i",
            i=new_p)
    assert migrate_legacy(db.engine, db.schema, "run-2").ok
    assert _state(db)[2] == [3]
    assert ("legacy_property_photos", new_p) not in _open_rejects(db)
