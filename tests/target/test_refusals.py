"""Whatever PostgreSQL refuses is isolated and quarantined; the rest of the unit commits.

Converters check what they can; PostgreSQL has the last word (a CHECK, a value too long, an
input its parser refuses, a rule added to the schema later). A data error (SQLSTATE class
22 or 23) in a unit's COPY or upsert is traced to the records that cause it by bisection
under savepoints: those go to load_rejects with PostgreSQL's reason (values withheld), the
run succeeds, and nothing else is lost. Known cases are quarantined (or made storable) by
the converters before PostgreSQL sees them.
"""

from __future__ import annotations

from typing import Any

import pytest
import singer_messages as singer
from target_breezeway_postgres import mapping as mapping_module

SECRET_NAME = "task named with a secret 0xC0FFEE"


def sync_with_tasks(*edits: tuple[int, dict[str, Any]]) -> list[dict]:
    messages = singer.region_sync("smoky", 1000, n_properties=6, photos=2)
    changes = dict(edits)
    for message in messages:
        if message.get("stream") == "tasks" and message["record"]["id"] in changes:
            message["record"].update(changes[message["record"]["id"]])
    return messages


def task_ids(db: Any) -> set[int]:
    return {r[0] for r in db.query("SELECT task_id FROM tasks")}


def rejects(db: Any) -> dict[int, str]:
    rows = db.query("SELECT (natural_key->>'id')::bigint, reason FROM load_rejects "
                    "WHERE stream = 'tasks' AND resolved_at IS NULL")
    return {r[0]: r[1] for r in rows}


def test_a_check_postgresql_refuses_quarantines_those_records_only(run_target, migrated_db):
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(
            f'ALTER TABLE "{migrated_db.schema}".tasks ADD CONSTRAINT ck_test_no_secrets '
            "CHECK (position('secret' in name) = 0)")
    messages = sync_with_tasks((1902, {"name": SECRET_NAME}), (1905, {"name": SECRET_NAME}))
    every_task = {m["record"]["id"] for m in messages if m.get("stream") == "tasks"}
    run_target(messages, run_id="check", batch_size_rows=7)  # refusals in several units

    assert task_ids(migrated_db) == every_task - {1902, 1905}
    reasons = rejects(migrated_db)
    assert set(reasons) == {1902, 1905}
    for reason in reasons.values():
        assert reason.startswith("bad_value: PostgreSQL refused the record")
        assert "ck_test_no_secrets" in reason and "23514" in reason
        assert "0xC0FFEE" not in reason
    # Their children are orphans of a parent that is not loaded: quarantined too.
    orphaned = migrated_db.query(
        "SELECT DISTINCT (natural_key->>'task_id')::bigint FROM load_rejects "
        "WHERE stream LIKE 'task_%' AND reason LIKE 'orphan:%'")
    assert {r[0] for r in orphaned} <= {1902, 1905}
    status = migrated_db.query("SELECT DISTINCT status FROM sync_runs WHERE run_id = 'check'")
    assert [r[0] for r in status] == ["succeeded"]


def test_text_postgresql_cannot_read_in_the_copy_is_quarantined(run_target, migrated_db,
                                                                 monkeypatch):
    """A converter that lets through text PostgreSQL's input refuses (as with offsets past
    15:59 or Arabic-Indic digits before they were known): the COPY fails, the row is found
    and quarantined with PostgreSQL's reason naming the column."""
    tasks = mapping_module.MAPPINGS["tasks"]
    plan = list(tasks.copy_plan)
    index = next(i for i, step in enumerate(plan) if step[0] == "total_time")
    name, field, reader, to_copy, required = plan[index]
    plan[index] = (name, field, reader,
                   lambda value: "forty minutes" if value == "00:40:00" else to_copy(value),
                   required)
    monkeypatch.setitem(tasks.__dict__, "copy_plan", tuple(plan))
    messages = sync_with_tasks((1903, {"total_time": "00:40:00"}))
    run_target(messages, run_id="copy", batch_size_rows=1000)

    reasons = rejects(migrated_db)
    assert list(reasons) == [1903]
    assert "column total_time" in reasons[1903] and "22007" in reasons[1903]
    assert "forty minutes" not in reasons[1903]
    assert 1904 in task_ids(migrated_db) and 1903 not in task_ids(migrated_db)


@pytest.mark.parametrize(("field", "value", "stored"), [
    ("started_at", "2026-11-01T10:00:00+16:30", "2026-10-31 17:30:00+00"),  # PG stops at 15:59
    ("scheduled_time", "10:00:00+17:00", "10:00:00"),  # TIME: the offset is not part of it
    ("name", "half a pair \ud800 here", "half a pair \ufffd here"),  # a lone surrogate
    ("tags", ["\ud83d", {"k\x00": "v"}], '["\ufffd", {"k": "v"}]'),
])
def test_known_values_postgresql_refuses_are_made_storable(run_target, migrated_db, field,
                                                           value, stored):
    run_target(sync_with_tasks((1901, {field: value})), run_id="known")
    column = migrated_db.query(
        f"SELECT {field}::text FROM tasks WHERE task_id = 1901")
    assert column[0][0] == stored
    assert rejects(migrated_db) == {}


@pytest.mark.parametrize(("field", "value"), [
    ("total_time", "\u0661\u0662:00:00"),  # Arabic-Indic digits: not HH:MM:SS for PostgreSQL
    ("checkout_date", "\u0662\u0660\u0662\u0666-12-05"),
])
def test_known_values_postgresql_cannot_take_are_quarantined_by_the_converters(
        run_target, migrated_db, field, value):
    run_target(sync_with_tasks((1901, {field: value})), run_id="known")
    assert list(rejects(migrated_db)) == [1901]
    assert rejects(migrated_db)[1901].startswith(field)
    assert 1902 in task_ids(migrated_db)


@pytest.mark.parametrize("key", [1.5, 1e20, "12ab", True, [7], {"id": 7}])
def test_a_key_of_any_json_type_is_quarantined_not_a_crash(run_target, migrated_db, key):
    messages = sync_with_tasks()
    bad = dict(next(m for m in messages if m.get("stream") == "tasks")["record"], id=key)
    run_target([*messages, singer.record("tasks", bad)], run_id="keys")
    reasons = migrated_db.query("SELECT reason FROM load_rejects WHERE stream = 'tasks'")
    assert len(reasons) == 1 and "key" in reasons[0][0]
    assert len(task_ids(migrated_db)) == 6
