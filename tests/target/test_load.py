"""Loading .singer streams into the real schema: exact content, idempotency, child sets,
soft deletes by ACTIVATE_VERSION, regions, unknown streams."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import singer_messages as singer
from target_breezeway_postgres.mapping import LOAD_ORDER, MAPPINGS
from target_breezeway_postgres.target import UnknownStreamError
from target_helpers import dump


def _expected(raw: Any, stored: Any) -> Any:
    """What PostgreSQL must hold for a raw JSON value, derived without our converters."""
    if raw is None:
        return None
    if isinstance(stored, Decimal):
        return Decimal(str(raw))
    if isinstance(stored, dt.datetime):
        return dt.datetime.fromisoformat(raw)
    if isinstance(stored, dt.date):
        return dt.date.fromisoformat(raw)
    if isinstance(stored, dt.time):
        return dt.time.fromisoformat(raw)
    if isinstance(stored, dt.timedelta):
        h, m, s = (int(x) for x in raw.split(":"))
        return dt.timedelta(hours=h, minutes=m, seconds=s)
    if isinstance(raw, str):
        return raw.replace("\x00", "")
    if isinstance(raw, dict):
        return {k: _expected(v, v) for k, v in raw.items()}
    return raw


def assert_db_equals_input(db: Any, messages: list[dict[str, Any]]) -> None:
    """Every table holds exactly the input records (last one per key), typed."""
    records: dict[str, dict[tuple, dict]] = {m.stream: {} for m in LOAD_ORDER}
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] in MAPPINGS:
            mapping = MAPPINGS[message["stream"]]
            rec = message["record"]
            key = (rec["region_code"], *(rec[k] for k in mapping.key_properties))
            records[mapping.stream][key] = rec
    for mapping in LOAD_ORDER:
        # Columns read as is (rate_paid's split into two columns is checked explicitly).
        plain = [c for c in mapping.columns
                 if (isinstance(c.source, str) or c.source is None) and c.source != "rate_paid"]
        names = [c.name for c in plain]
        if mapping.child_key:
            parent = MAPPINGS[mapping.parent.stream]
            sql = (f"SELECT p.region_code, p.{parent.id_column}, c.{mapping.child_key}, "
                   f"{', '.join('c.' + n for n in names)} FROM {mapping.table} c "
                   f"JOIN {parent.table} p ON p.id = c.{mapping.parent.pk_column}")
        else:
            sql = (f"SELECT region_code, {mapping.id_column}, "
                   f"{', '.join(names)} FROM {mapping.table}")
        rows = {tuple(r[:3 if mapping.child_key else 2]): r for r in db.query(sql)}
        assert set(rows) == set(records[mapping.stream]), mapping.stream
        offset = 3 if mapping.child_key else 2
        for key, rec in records[mapping.stream].items():
            row = rows[key]
            for i, column in enumerate(plain):
                stored = row[offset + i]
                assert stored == _expected(rec.get(column.source or column.name), stored), (
                    mapping.stream, key, column.name)


def test_full_load_of_two_regions_equals_input(run_target, migrated_db):
    messages = singer.region_sync("smoky", 1000) + singer.region_sync("austin", 2000)
    out = run_target(messages)
    assert out == ['{"bookmarks": {"marker": "austin-done"}}']
    assert_db_equals_input(migrated_db, messages)
    # Conversions the generic comparison does not cover.
    task = migrated_db.query(
        "SELECT rate_paid_amount, rate_paid_currency, total_time, reservation_pk IS NOT NULL "
        "FROM tasks WHERE task_id = 1900")[0]
    assert tuple(task) == (Decimal("25.0000"), "USD", dt.timedelta(hours=1, minutes=10), True)
    guest = migrated_db.query("SELECT email FROM reservation_guests WHERE position = 0 LIMIT 1")[0]
    assert guest.email == "ana0@example.com"
    notes = migrated_db.query("SELECT notes->>'access' AS a FROM properties LIMIT 1")[0]
    assert notes.a == "Lockbox at side door"
    assert migrated_db.query("SELECT count(*) FROM load_rejects")[0][0] == 0
    runs = migrated_db.query("SELECT DISTINCT status FROM sync_runs")
    assert [r[0] for r in runs] == ["succeeded"]


def test_same_input_twice_is_idempotent(run_target, migrated_db):
    messages = singer.region_sync("smoky", 1000)
    run_target(messages)
    first = dump(migrated_db)
    synced = migrated_db.query("SELECT max(synced_at) FROM properties")[0][0]
    run_target(messages)
    assert dump(migrated_db) == first  # updated_at included: unchanged rows not rewritten
    assert migrated_db.query("SELECT min(synced_at) FROM properties")[0][0] > synced


def test_real_change_moves_updated_at_only_there(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000))
    before = dict(migrated_db.query("SELECT property_id, updated_at FROM properties"))
    changed = singer.region_sync("smoky", 1000)
    changed[1]["record"]["name"] = "Renamed"
    run_target(changed)
    after = dict(migrated_db.query("SELECT property_id, updated_at FROM properties"))
    assert after[1000] > before[1000]
    assert after[1001] == before[1001]


def test_shrunk_child_arrays_delete_stale_children(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000, photos=3))
    messages = singer.region_sync("smoky", 1000, photos=1)
    # Task 1900 now has one assignment, task 1901 none at all.
    messages = [m for m in messages if not (
        m.get("stream", "").startswith("task_")
        and (m["record"]["task_id"] == 1901
             or (m["record"]["task_id"] == 1900 and m["record"]["position"] > 0)))]
    run_target(messages)
    assert_db_equals_input(migrated_db, messages)
    assert migrated_db.query("SELECT count(*) FROM property_photos")[0][0] == 3
    counts = migrated_db.query(
        "SELECT t.task_id, count(a.id) FROM tasks t LEFT JOIN task_assignments a "
        "ON a.task_pk = t.id GROUP BY 1 ORDER BY 1")
    assert [tuple(r) for r in counts] == [(1900, 1), (1901, 0), (1902, 2)]


def test_default_photo_moving_to_another_photo(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000))
    messages = singer.region_sync("smoky", 1000)
    for m in messages:
        if m.get("stream") == "property_photos":
            m["record"]["is_default"] = m["record"]["position"] == 1
    run_target(messages)
    assert_db_equals_input(migrated_db, messages)
    assert migrated_db.query("SELECT count(*) FROM load_rejects")[0][0] == 0


def test_complete_run_soft_deletes_missing_property_and_restores_it(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000, n_properties=3, version=1))
    run_target(singer.region_sync("austin", 2000, n_properties=2, version=1))
    shrunk = singer.region_sync("smoky", 1000, n_properties=2, version=2)
    run_target(shrunk)
    deleted = migrated_db.query(
        "SELECT property_id FROM properties WHERE deleted_at IS NOT NULL")
    assert [r[0] for r in deleted] == [1002]  # austin untouched: other region
    run_target(singer.region_sync("smoky", 1000, n_properties=3, version=3))
    assert migrated_db.query(
        "SELECT count(*) FROM properties WHERE deleted_at IS NOT NULL")[0][0] == 0


def test_people_missing_from_complete_run_are_soft_deleted(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000, version=1))
    messages = singer.region_sync("smoky", 1000, version=2)
    messages = [m for m in messages if not (
        m.get("stream") == "people" and m.get("record", {}).get("id") == 1071)]
    run_target(messages)
    deleted = migrated_db.query("SELECT person_id FROM people WHERE deleted_at IS NOT NULL")
    assert [r[0] for r in deleted] == [1071]


def test_partial_run_without_end_activate_version_deletes_nothing(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000, n_properties=3, version=1))
    # Start marker and records of version 2, but the run stops before the end marker.
    run_target(singer.region_sync("smoky", 1000, n_properties=1, version=2,
                                  end_activate=False))
    assert migrated_db.query(
        "SELECT count(*) FROM properties WHERE deleted_at IS NOT NULL")[0][0] == 0
    assert migrated_db.query("SELECT count(*) FROM people WHERE deleted_at IS NOT NULL"
                             )[0][0] == 0


def test_unknown_region_is_registered_with_company_from_properties(run_target, migrated_db):
    run_target(singer.region_sync("new_town", 3000))
    region = migrated_db.query(
        "SELECT region_name, company_id FROM regions WHERE region_code = 'new_town'")
    assert [tuple(r) for r in region] == [("new_town", 9008)]
    assert migrated_db.query("SELECT count(*) FROM regions")[0][0] == 9


def test_unknown_stream_skipped_by_default(run_target, migrated_db):
    messages = [*singer.region_sync("smoky", 1000),
                singer.record("companies", {"id": 1, "region_code": "smoky", "name": "C"})]
    run_target(messages)
    assert_db_equals_input(migrated_db, messages)


def test_unknown_stream_is_an_error_when_policy_says_so(run_target, migrated_db):
    messages = [*singer.region_sync("smoky", 1000),
                singer.record("companies", {"id": 1, "region_code": "smoky", "name": "C"})]
    with pytest.raises(UnknownStreamError, match="companies"):
        run_target(messages, unknown_stream_policy="error")


def test_small_load_units_reject_nothing_and_equal_one_big_unit(run_target, migrated_db):
    messages = singer.region_sync("smoky", 1000, n_properties=6, photos=4)
    run_target(messages, batch_size_rows=3)
    assert migrated_db.query("SELECT count(*) FROM load_rejects")[0][0] == 0
    assert_db_equals_input(migrated_db, messages)
    small = dump(migrated_db, exclude=("synced_at", "created_at", "updated_at"))
    run_target(messages, batch_size_rows=100000)
    assert dump(migrated_db, exclude=("synced_at", "created_at", "updated_at")) == small
