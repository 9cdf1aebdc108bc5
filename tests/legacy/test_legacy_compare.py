"""compare-legacy: the legacy tables the old scripts still write vs what the pipeline loaded,
value by value, by class — for the side-by-side weeks before the old scripts retire."""

from __future__ import annotations

import legacy_rows as lr
import pytest
from legacy_pipeline import sync
from target_breezeway_postgres.cli import main
from target_breezeway_postgres.legacy import compare_legacy, migrate_legacy

REGION = "nashville"
PLANTED_EMAIL = "planted.guest@example.com"
PLANTED_CODE = "909090"


@pytest.fixture
def shadow(sim_factory, legacy_tables):
    """The old scripts' tables as they would hold the simulator's data, and a pipeline sync
    of the same region. The two reservations the API serves broken (the pipeline rejects
    them) are left out, so that the baseline has no difference."""
    sim = sim_factory(scale=0.02, regions=[REGION], auth_rate_limit=False)
    db, data, hard = legacy_tables, sim.data(REGION), sim.hard_cases(REGION)
    refused = set(hard["reservation_missing_property"] + hard["checkin_after_checkout"])
    for table, rows in (
            ("breezeaway_properties_gw", [lr.property_row(REGION, p) for p in data.properties]),
            ("breezeaway_reservations_gw", [lr.reservation_row(REGION, r)
                                            for r in data.reservations if r["id"] not in refused]),
            ("breezeaway_tasks_gw", [lr.task_row(REGION, t) for t in data.tasks])):
        lr.insert_rows(db.engine, db.schema, table, rows)
    sync(sim, db, REGION)
    return db, data


def test_no_difference_when_old_and_new_agree(shadow, capsys):
    db, _ = shadow
    assert main(["compare-legacy", "--url", db.url, "--schema", db.schema,
                 "--region", REGION]) == 0
    out = capsys.readouterr().out
    assert "no differences in region nashville" in out
    # The API's photo with `--x--` in its URL: the legacy set cannot be split, said so.
    assert "property_photos: property 1000000 (legacy row 1)" in out


def test_a_planted_difference_of_each_class_is_reported_by_ids(shadow, execute, capsys):
    db, data = shadow
    before = compare_legacy(db.engine, db.schema, REGION)
    changed_property, photo_property = data.properties[5], data.properties[6]
    reservation = next(r for r in data.reservations
                       if r["guests"] and r["guests"][0]["emails"] and r["access_code"])
    dropped_task = data.tasks[3]["id"]
    lr.insert_rows(db.engine, db.schema, "breezeaway_properties_gw", [
        {"region_code": REGION, "property_id": "9000001", "property_latitude": "36.2"}])
    execute("DELETE FROM breezeaway_tasks_gw WHERE task_id = :t", t=str(dropped_task))
    execute("UPDATE breezeaway_properties_gw SET property_name = 'Renamed by hand'"
            " WHERE property_id = :p", p=str(changed_property["id"]))
    execute("UPDATE breezeaway_properties_gw"
            "   SET property_photos_url = 'https://old.example/x.jpg' || substr("
            "       property_photos_url, strpos(property_photos_url, '--x--'))"
            " WHERE property_id = :p", p=str(photo_property["id"]))
    execute("UPDATE breezeaway_reservations_gw SET guest_email = :e, access_code = :c"
            " WHERE reservation_id = :r", e=PLANTED_EMAIL, c=PLANTED_CODE,
            r=str(reservation["id"]))
    # Rows the migration writes are not the pipeline's evidence: 9000001 stays "only in old".
    assert migrate_legacy(db.engine, db.schema, "side-by-side").ok

    after = compare_legacy(db.engine, db.schema, REGION)

    def delta(stream: str, kind: str) -> int:
        return getattr(after.streams[stream], kind) - getattr(before.streams[stream], kind)

    assert delta("properties", "only_in_old") == 1
    assert delta("tasks", "only_in_new") == 1
    assert delta("properties", "differing") == 1
    assert delta("property_photos", "differing") == 1
    assert delta("reservations", "differing") == 1
    assert delta("reservation_guests", "differing") == 1
    assert {(c.stream, c.column, c.count) for c in after.columns} == {
        ("properties", "name", 1), ("property_photos", "url", 1),
        ("reservations", "access_code", 1), ("reservation_guests", "email", 1)}

    assert main(["compare-legacy", "--url", db.url, "--schema", db.schema,
                 "--region", REGION]) == 1
    out = capsys.readouterr().out
    assert "properties: property 9000001 (legacy row" in out
    assert f"tasks: task {dropped_task}" in out
    assert f"properties.name: 1, e.g. property {changed_property['id']} (legacy row" in out
    assert f"reservation_guests.email: 1, e.g. reservation {reservation['id']} / guest 0" in out
    assert after.differences == before.differences + 6
    assert f"{after.differences} difference(s) between the old scripts and the pipeline" in out
    for value in (PLANTED_EMAIL, PLANTED_CODE, reservation["access_code"],
                  reservation["guests"][0]["emails"][0], "Renamed by hand",
                  changed_property["name"]):
        assert value not in out
