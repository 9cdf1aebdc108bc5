"""Drain contract and crash safety: STATE only after commit; kill -9 leaves complete units;
SIGTERM and errors mark the run failed."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import singer_messages as singer
from target_breezeway_postgres.migrations import apply_migrations
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

TARGET_BIN = str(Path(sys.executable).parent / "target-breezeway-postgres")
NATURAL_EXCLUDE = ("id", "created_at", "updated_at", "synced_at", "property_pk",
                   "reservation_pk", "task_pk")
FAMILY_TABLES = ["properties", "property_photos", "reservations", "reservation_guests",
                 "tasks", "task_assignments", "task_photos", "task_costs", "task_supplies",
                 "people"]


class EagerDrainTarget(TargetBreezewayPostgres):
    """Drains (and so may emit STATE) after every record: the strictest schedule."""

    drain_every_s = 0.0


class StateProbe(io.TextIOBase):
    """Stands in for stdout: at each STATE line, counts what the database holds."""

    def __init__(self, db: Any) -> None:
        self.db, self.seen = db, []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            marker = json.loads(line)["bookmarks"]["marker"]
            counts = {t: self.db.query(f"SELECT count(*) FROM {t}")[0][0]
                      for t in ("properties", "property_photos", "people")}
            self.seen.append((marker, counts))
        return len(text)


def test_state_is_written_only_after_the_records_before_it_are_committed(
        migrated_db, monkeypatch):
    messages = singer.region_sync("smoky", 1000, n_properties=3, photos=2)
    probe = StateProbe(migrated_db)
    target = EagerDrainTarget(config=target_config(migrated_db))
    monkeypatch.setattr(sys, "stdout", probe)
    target.listen(io.StringIO(singer.dumps(singer.with_schemas(messages))))
    monkeypatch.undo()
    target.session.close()
    by_marker = dict(probe.seen)
    assert by_marker["smoky-properties"]["properties"] == 3
    assert by_marker["smoky-properties"]["property_photos"] == 6
    assert by_marker["smoky-done"] == {"properties": 3, "property_photos": 6, "people": 2}


def _write_config(tmp_path: Path, db: Any, schema: str, **extra: Any) -> Path:
    path = tmp_path / f"config-{schema}.json"
    path.write_text(json.dumps(target_config(db, schema=schema, **extra)))
    return path


def _natural_dump(db: Any, schema: str) -> dict[str, list[tuple]]:
    dumped = {}
    for table in FAMILY_TABLES:
        columns = [r[0] for r in db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
            "AND table_name = :t ORDER BY ordinal_position", s=schema, t=table)
            if r[0] not in NATURAL_EXCLUDE]
        rows = db.query(f'SELECT {", ".join(columns)} FROM "{schema}".{table}')
        dumped[table] = sorted((tuple(r) for r in rows), key=repr)
    return dumped


def _run_cli(config: Path, input_path: Path) -> subprocess.CompletedProcess:
    with input_path.open() as stdin:
        return subprocess.run([TARGET_BIN, "--config", str(config)], stdin=stdin,
                              capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def other_schema(migrated_db):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    apply_migrations(migrated_db.engine, schema)
    yield schema
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.slow
def test_kill_9_leaves_complete_units_and_a_rerun_converges(migrated_db, other_schema,
                                                            tmp_path):
    messages = singer.with_schemas(
        singer.region_sync("smoky", 10000, n_properties=500, photos=4))
    input_path = tmp_path / "input.singer"
    input_path.write_text(singer.dumps(messages))
    config = _write_config(tmp_path, migrated_db, migrated_db.schema, batch_size_rows=250,
                           run_id="crashed")
    with input_path.open() as stdin:
        process = subprocess.Popen([TARGET_BIN, "--config", str(config)], stdin=stdin,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while migrated_db.query("SELECT count(*) FROM tasks")[0][0] == 0:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.stdout is not None and process.stdout.read() == b""  # no STATE yet
    # Only complete units: sync_runs counts were committed with the data they count.
    loaded = dict(migrated_db.query(
        "SELECT stream, records_loaded FROM sync_runs WHERE run_id = 'crashed'"))
    for table in FAMILY_TABLES:
        count = migrated_db.query(f"SELECT count(*) FROM {table}")[0][0]
        assert loaded.get(table, 0) == count, table
    assert 0 < loaded["tasks"] < 500
    incomplete = migrated_db.query(
        "SELECT count(*) FROM tasks t WHERE (SELECT count(*) FROM task_costs c "
        "WHERE c.task_pk = t.id) <> 2")
    assert incomplete[0][0] == 0
    # Rerun converges to what an uninterrupted run gives.
    assert _run_cli(config, input_path).returncode == 0
    reference = _write_config(tmp_path, migrated_db, other_schema)
    assert _run_cli(reference, input_path).returncode == 0
    assert (_natural_dump(migrated_db, migrated_db.schema)
            == _natural_dump(migrated_db, other_schema))


@pytest.mark.slow
def test_sigterm_marks_the_run_failed_and_exits_non_zero(migrated_db, tmp_path):
    config = _write_config(tmp_path, migrated_db, migrated_db.schema, batch_size_rows=5,
                           run_id="stopped", password="hunter2")
    messages = singer.with_schemas(singer.region_sync("smoky", 1000, n_properties=3))
    process = subprocess.Popen([TARGET_BIN, "--config", str(config)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None
    process.stdin.write(singer.dumps(messages[:20]))
    process.stdin.flush()  # stdin stays open: the target waits for more
    deadline = time.monotonic() + 60
    while not migrated_db.query("SELECT 1 FROM sync_runs WHERE run_id = 'stopped'"):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    statuses = migrated_db.query(
        "SELECT DISTINCT status, error_text FROM sync_runs WHERE run_id = 'stopped'")
    assert [tuple(r) for r in statuses] == [
        ("failed", "TerminatedError: terminated by signal 15")]
    assert "hunter2" not in stderr


def test_an_error_mid_run_marks_the_run_failed_with_scrubbed_text(run_target, migrated_db):
    messages = singer.region_sync("smoky", 1000)
    # A RECORD line without a record, carrying secrets the error message may echo.
    messages.insert(3, {"type": "RECORD", "stream": "properties",
                        "url": "postgresql://bob:s3cret@db/x", "password": "hunter2"})
    with pytest.raises(Exception, match="record"):
        run_target(messages, run_id="broken", batch_size_rows=2)
    rows = migrated_db.query(
        "SELECT DISTINCT status, error_text FROM sync_runs WHERE run_id = 'broken'")
    assert [r[0] for r in rows] == ["failed"]
    assert "s3cret" not in rows[0][1] and "hunter2" not in rows[0][1]
    assert "record" in rows[0][1]
