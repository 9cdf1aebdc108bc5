"""The run-level `sync_runs` row (stream "*") of the configured `region_code`: written
`running` before any input, then succeeded, or failed with the reason when the target is
terminated, errors, or the input ends in a way that shows the tap stopped early."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import singer_messages as singer
from singer_sdk.exceptions import ConfigValidationError
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

TARGET_BIN = str(Path(sys.executable).parent / "target-breezeway-postgres")
NO_STATE = "the tap's output ended before its first STATE message"


def runs_of(db: Any, run_id: str) -> dict[tuple[str, str], tuple[str, str | None, bool]]:
    """(region, stream) -> (status, error_text, finished) of one run's rows."""
    rows = db.query("SELECT region_code, stream, status, error_text, finished_at IS NOT NULL "
                    "FROM sync_runs WHERE run_id = :r", r=run_id)
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def test_a_complete_run_marks_the_region_run_succeeded(run_target, migrated_db):
    run_target(singer.region_sync("smoky", 1000), region_code="smoky", run_id="ok")

    rows = runs_of(migrated_db, "ok")
    assert rows[("smoky", "*")] == ("succeeded", None, True)
    assert {status for status, _, _ in rows.values()} == {"succeeded"}
    assert ("smoky", "properties") in rows


def test_without_region_code_there_is_no_run_level_row_and_no_end_judgement(run_target,
                                                                             migrated_db):
    """A hand-fed file need not carry STATE: the old behaviour, unchanged."""
    messages = [m for m in singer.region_sync("smoky", 1000) if m["type"] != "STATE"]
    run_target(messages, run_id="plain")

    rows = runs_of(migrated_db, "plain")
    assert ("smoky", "*") not in rows
    assert {status for status, _, _ in rows.values()} == {"succeeded"}


def test_input_ending_before_any_state_fails_the_region_run(run_target, migrated_db):
    """What Meltano 4.4 does when the tap dies at its first call: it closes the target's
    stdin (no signal). Here the tap only got as far as one SCHEMA; the region is new."""
    lines = run_target([], region_code="new_region", run_id="no-state")

    assert lines == []  # no STATE to pass on, and no exception: the target's part is done
    rows = runs_of(migrated_db, "no-state")
    assert list(rows) == [("new_region", "*")]
    status, error, finished = rows[("new_region", "*")]
    assert (status, finished) == ("failed", True)
    assert error.startswith(NO_STATE) and "(0 records read)" in error
    assert migrated_db.query(
        "SELECT region_name FROM regions WHERE region_code = 'new_region'")[0][0] == "new_region"


def test_records_without_state_fail_every_row_of_the_run(run_target, migrated_db):
    messages = [m for m in singer.region_sync("smoky", 1000) if m["type"] != "STATE"]
    run_target(messages, region_code="smoky", run_id="records-no-state")

    rows = runs_of(migrated_db, "records-no-state")
    assert len(rows) > 1
    assert {status for status, _, _ in rows.values()} == {"failed"}
    assert all(error.startswith(NO_STATE) for _, error, _ in rows.values())


def test_input_ending_inside_a_full_table_version_fails_naming_the_streams(run_target,
                                                                           migrated_db):
    messages = singer.region_sync("smoky", 1000, end_activate=False)
    run_target(messages, region_code="smoky", run_id="mid-version")

    status, error, _ = runs_of(migrated_db, "mid-version")[("smoky", "*")]
    assert status == "failed"
    assert "inside full-table stream(s) people, properties" in error


def test_progress_markers_in_the_last_state_fail_naming_the_stream(run_target, migrated_db):
    """singer-sdk clears a stream's progress markers when the stream completes."""
    unfinished = {"bookmarks": {"properties": {}, "tasks": {"partitions": [
        {"context": {"region_code": "smoky"},
         "progress_markers": {"replication_key": "updated_at"}}]}}}
    messages = [*singer.region_sync("smoky", 1000), {"type": "STATE", "value": unfinished}]
    lines = run_target(messages, region_code="smoky", run_id="markers")

    assert json.loads(lines[-1]) == unfinished  # the state itself is still passed on
    status, error, _ = runs_of(migrated_db, "markers")[("smoky", "*")]
    assert status == "failed"
    assert "unfinished stream(s) tasks (progress markers)" in error


def test_records_of_another_region_are_quarantined_under_the_configured_one(
        run_target, migrated_db):
    """One run, one region (test_region_trust.py says why): austin's records in smoky's run
    are quarantined, the run rows are smoky's."""
    messages = singer.region_sync("smoky", 1000) + singer.region_sync("austin", 2000)
    run_target(messages, region_code="smoky", run_id="multiplexed")

    rows = runs_of(migrated_db, "multiplexed")
    assert {key[0] for key in rows} == {"smoky"}
    assert rows[("smoky", "*")][0] == "succeeded"
    assert migrated_db.query(
        "SELECT count(*) FROM properties WHERE region_code = 'austin'")[0][0] == 0
    assert migrated_db.query(
        "SELECT count(*) FROM load_rejects WHERE reason LIKE 'foreign_region:%'")[0][0] > 0


def test_an_error_fails_the_region_run_with_the_scrubbed_error(run_target, migrated_db):
    messages = singer.region_sync("smoky", 1000)
    messages.insert(3, {"type": "RECORD", "stream": "properties",
                        "url": "postgresql://bob:s3cret@db/x"})
    with pytest.raises(Exception, match="record"):
        run_target(messages, region_code="smoky", run_id="broken", batch_size_rows=2)

    status, error, finished = runs_of(migrated_db, "broken")[("smoky", "*")]
    assert (status, finished) == ("failed", True)
    assert "record" in error and "s3cret" not in error


def test_invalid_region_code_is_a_configuration_error(migrated_db):
    with pytest.raises(ConfigValidationError):
        TargetBreezewayPostgres(config=target_config(migrated_db, region_code="Nash-Ville"))


@pytest.mark.slow
def test_sigterm_before_any_input_fails_the_region_run(migrated_db, tmp_path):
    """The row exists, running, before the first line is read; SIGTERM (what Meltano sends
    when the run itself is stopped) fails it."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(target_config(migrated_db, region_code="mammoth",
                                               run_id="sigterm")))
    process = subprocess.Popen([TARGET_BIN, "--config", str(config)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not runs_of(migrated_db, "sigterm"):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        assert runs_of(migrated_db, "sigterm") == {("mammoth", "*"): ("running", None, False)}
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert runs_of(migrated_db, "sigterm") == {
        ("mammoth", "*"): ("failed", "TerminatedError: terminated by signal 15", True)}
    assert "run sigterm of region mammoth failed" in stderr
