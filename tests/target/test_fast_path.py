"""The fast load path keeps its promises: the SDK record path still serves stream maps; a
unit that fails on the writer thread fails the run before any STATE; a version completion
waits for its unit without deleting a newer version's rows; a fresh record that replaces a
re-fed reject takes its upstream place."""

from __future__ import annotations

import copy

import psycopg2
import pytest
import singer_messages as singer
from test_load import assert_db_equals_input


def test_stream_maps_send_records_through_the_sdk_path(run_target, migrated_db):
    messages = singer.region_sync("smoky", 1000, n_properties=3, photos=2)
    run_target(messages, stream_maps={"properties": {"wifi_password": None}})
    # The map ran (the lean path would have loaded "pw") ...
    assert [r[0] for r in migrated_db.query(
        "SELECT DISTINCT wifi_password FROM properties")] == [None]
    # ... and everything else loaded exactly as on the lean path.
    expected = copy.deepcopy(messages)
    for message in expected:
        if message.get("stream") == "properties" and message["type"] == "RECORD":
            message["record"]["wifi_password"] = None
    assert_db_equals_input(migrated_db, expected)


def test_a_unit_failing_on_the_writer_fails_the_run_without_state(run_target, migrated_db,
                                                                   capsys):
    """A database error in the writer thread reaches the main thread: the run is failed,
    no STATE is written, and only whole units before the failing one are committed. (Not
    a data error, which is quarantined: test_refusals.py.)"""
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(
            f'SET LOCAL search_path TO "{migrated_db.schema}"; '
            "CREATE FUNCTION test_refuses_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.name = 'boom' THEN RAISE EXCEPTION 'test_refuses_boom'; END IF; "
            "RETURN NEW; END $$; CREATE TRIGGER boom BEFORE INSERT ON tasks "
            "FOR EACH ROW EXECUTE FUNCTION test_refuses_boom()")
    messages = singer.region_sync("smoky", 1000, n_properties=6, photos=2)
    for message in messages:
        if message.get("stream") == "tasks" and message["record"]["id"] == 1904:
            message["record"]["name"] = "boom"
    with pytest.raises(psycopg2.errors.RaiseException, match="test_refuses_boom"):
        run_target(messages, run_id="boom", batch_size_rows=10)
    assert "bookmarks" not in capsys.readouterr().out
    status = migrated_db.query("SELECT DISTINCT status, error_text FROM sync_runs "
                               "WHERE run_id = 'boom'")
    assert len(status) == 1 and status[0][0] == "failed"
    assert "test_refuses_boom" in status[0][1]
    assert migrated_db.query("SELECT count(*) FROM properties")[0][0] == 6
    loaded = dict(migrated_db.query(
        "SELECT stream, records_loaded FROM sync_runs WHERE run_id = 'boom'"))
    assert loaded["tasks"] == migrated_db.query("SELECT count(*) FROM tasks")[0][0] < 6


def test_a_newer_version_in_the_same_input_is_not_soft_deleted(run_target, migrated_db):
    """Version 1 ends (its soft delete waits for the end of its unit), then version 2 of
    the same stream and region arrives with one more property: that one must stay."""
    first = singer.region_sync("smoky", 1000, n_properties=3, version=1)
    second = singer.region_sync("smoky", 1000, n_properties=4, version=2)
    run_target(first + second)
    assert migrated_db.query(
        "SELECT property_id, deleted_at IS NULL FROM properties ORDER BY 1") == [
        (1000, True), (1001, True), (1002, True), (1003, True)]


def test_two_default_photos_keep_the_upstream_first_also_when_fed_again(run_target,
                                                                        migrated_db):
    """Run 2 feeds the quarantined second default photo again, then the fresh photos come:
    the fresh pair must be judged in upstream order, as in run 1."""
    messages = singer.region_sync("smoky", 1000, n_properties=2, photos=2)
    for message in messages:
        record = message.get("record", {})
        if message.get("stream") == "property_photos" and record["property_id"] == 1000:
            message["record"]["is_default"] = True  # both photos of property 1000
    expected_reject = [("property_photos", 100001)]
    for _ in range(2):
        run_target(messages)
        rejected = migrated_db.query(
            "SELECT stream, (natural_key->>'photo_id')::bigint FROM load_rejects "
            "WHERE resolved_at IS NULL")
        assert [tuple(r) for r in rejected] == expected_reject
        default = migrated_db.query(
            "SELECT c.photo_id FROM property_photos c JOIN properties p "
            "ON p.id = c.property_pk WHERE p.property_id = 1000 AND c.is_default")
        assert [r[0] for r in default] == [100000]
