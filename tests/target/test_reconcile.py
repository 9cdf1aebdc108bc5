"""Deletions upstream reach the database: complete crawls → candidates → 404 → soft delete.

Real tap, real target, real PostgreSQL, the simulator over HTTP. Each test would fail
without the guarantee it names (docs/streams.md and docs/database.md, "Deletions").
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from breezeway_sim import Simulator
from target_breezeway_postgres.deletions import api_asker, confirm_deletions
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

tap_module = pytest.importorskip("tap_breezeway.tap")
sys.path.insert(0, str(Path(__file__).parents[1] / "tap"))
from tap_harness import tap_config  # noqa: E402

REGION = "nashville"
pytestmark = pytest.mark.slow


@pytest.fixture
def sim(sim_factory) -> Simulator:
    return sim_factory(regions=[REGION], scale=0.02, auth_rate_limit=False)


class Pipeline:
    """tap | target for one region, keeping the tap's state between runs (as Meltano does)."""

    def __init__(self, sim: Simulator, db: Any) -> None:
        self.sim, self.db = sim, db
        self.state: dict | None = None
        self.runs: list[str] = []

    def tap_text(self, **overrides: Any) -> str:
        tap = tap_module.TapBreezeway(config=tap_config(self.sim, REGION, **overrides),
                                      state=copy.deepcopy(self.state))
        buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        with redirect_stdout(buffer):
            tap.sync_all()
        buffer.seek(0)
        return buffer.read()

    def load(self, text: str, **target_overrides: Any) -> str:
        target = TargetBreezewayPostgres(config=target_config(
            self.db, region_code=REGION, **target_overrides))
        out = io.StringIO()
        with redirect_stdout(out):
            target.listen(io.StringIO(text))
        target.session.close()
        # A target writes each committed state as a bare JSON line (Meltano stores it).
        states = [json.loads(line) for line in out.getvalue().splitlines() if line]
        if states:
            self.state = states[-1]
        self.runs.append(target.run_id)
        return target.run_id

    def sync(self, tap_overrides: dict | None = None, **target_overrides: Any) -> str:
        return self.load(self.tap_text(**(tap_overrides or {})), **target_overrides)

    def confirm(self, **overrides: Any):
        engine = self.db.engine
        raw = engine.raw_connection()
        try:
            connection = raw.driver_connection
            with connection.cursor() as cursor:
                cursor.execute(f'SET search_path TO "{self.db.schema}", public')
            connection.commit()
            return confirm_deletions(connection, REGION,
                                     api_asker(tap_config(self.sim, REGION, **overrides)))
        finally:
            raw.close()

    # -- reading the database ----------------------------------------------------------
    def live(self, stream: str) -> set[int]:
        table, column = {"tasks": ("tasks", "task_id"),
                         "reservations": ("reservations", "reservation_id")}[stream]
        return {r[0] for r in self.db.query(
            f"SELECT {column} FROM {table} WHERE deleted_at IS NULL AND region_code = :r",
            r=REGION)}

    def candidates(self, stream: str, pending: bool = True) -> set[int]:
        rows = self.db.query(
            "SELECT source_id FROM deletion_candidates WHERE stream = :s AND "
            f"resolved_at IS {'NULL' if pending else 'NOT NULL'}", s=stream)
        return {r[0] for r in rows}

    def run_row(self, run_id: str, stream: str) -> dict[str, Any]:
        rows = self.db.query(
            "SELECT status, reconcile_status, reconcile_candidates, reconcile_note, "
            "rows_soft_deleted, rows_revived FROM sync_runs WHERE run_id = :i AND stream = :s",
            i=run_id, s=stream)
        return dict(rows[0]._mapping) if rows else {}


@pytest.fixture
def pipeline(sim: Simulator, migrated_db) -> Pipeline:
    return Pipeline(sim, migrated_db)


def delete_reservation(sim: Simulator, reservation_id: int) -> None:
    data = sim.data(REGION)
    data.reservations.remove(data.find("reservation", reservation_id))


def test_a_first_run_reconciles_with_nothing_to_retire(pipeline: Pipeline):
    run = pipeline.sync()
    for stream in ("reservations", "tasks"):
        row = pipeline.run_row(run, stream)
        assert (row["status"], row["reconcile_status"], row["reconcile_candidates"]) == (
            "succeeded", "complete", 0)
    assert pipeline.candidates("tasks") == pipeline.candidates("reservations") == set()


def test_deleted_task_and_reservation_are_retired_by_the_reconcile_job(pipeline, sim):
    pipeline.sync()
    data = sim.data(REGION)
    task_id, reservation_id = data.tasks[5]["id"], data.reservations[7]["id"]
    sim.delete_task(REGION, task_id)
    delete_reservation(sim, reservation_id)

    daily = pipeline.sync()  # incremental: a deletion is invisible to it
    assert pipeline.run_row(daily, "tasks").get("reconcile_status") is None
    assert task_id in pipeline.live("tasks")

    weekly = pipeline.sync({"reconcile": True})
    assert pipeline.candidates("tasks") == {task_id}
    assert pipeline.candidates("reservations") == {reservation_id}
    assert task_id in pipeline.live("tasks")  # a candidate is not a deletion

    sim.reset_counters()
    counts = pipeline.confirm()
    assert counts == {("tasks", "deleted"): 1, ("reservations", "deleted"): 1}
    assert sim.counters == {"POST /public/auth/v1/": 1,
                            "GET /public/inventory/v1/task/{id}": 1,
                            "GET /public/inventory/v1/reservation/{id}": 1}
    assert task_id not in pipeline.live("tasks")
    assert reservation_id not in pipeline.live("reservations")
    assert pipeline.run_row(weekly, "tasks")["rows_soft_deleted"] == 1
    assert pipeline.run_row(weekly, "reservations")["rows_soft_deleted"] == 1
    status = pipeline.db.query("SELECT stream, last_reconciled_at IS NOT NULL AS done, "
                               "pending_candidates FROM v_reconcile_status "
                               "WHERE region_code = :r ORDER BY stream", r=REGION)
    assert [tuple(r) for r in status] == [("reservations", True, 0), ("tasks", True, 0)]


def test_a_full_refresh_run_reconciles_too(pipeline, sim):
    pipeline.sync()
    task_id = sim.data(REGION).tasks[2]["id"]
    sim.delete_task(REGION, task_id)
    pipeline.state = None  # meltano run --full-refresh
    pipeline.sync()
    assert pipeline.candidates("tasks") == {task_id}
    pipeline.confirm()
    assert task_id not in pipeline.live("tasks")


def test_no_candidates_and_no_api_call_when_nothing_is_pending(pipeline, sim):
    pipeline.sync()
    sim.reset_counters()
    assert pipeline.confirm() == {}
    assert sim.counters == {}  # not even a token call


def test_a_property_whose_task_calls_failed_retires_none_of_its_tasks(pipeline, sim):
    pipeline.sync()
    data = sim.data(REGION)
    failing, other = data.properties[0]["id"], data.properties[1]["id"]
    failing_task = data.tasks_of_home(failing)[0]["id"]
    other_task = data.tasks_of_home(other)[0]["id"]
    sim.delete_task(REGION, failing_task)
    sim.delete_task(REGION, other_task)
    sim.fail_calls("/task/", 422, home_id=str(failing))
    run = pipeline.sync({"reconcile": True})
    assert pipeline.candidates("tasks") == {other_task}
    row = pipeline.run_row(run, "tasks")
    assert row["reconcile_status"] == "partial"
    assert "1 scope(s) not crawled" in row["reconcile_note"]


def test_a_tap_that_dies_midway_retires_nothing(pipeline, sim):
    pipeline.sync()
    data = sim.data(REGION)
    deleted = [t["id"] for t in data.tasks[:3]]
    for task_id in deleted:
        sim.delete_task(REGION, task_id)
    lines = pipeline.tap_text(reconcile=True).splitlines(keepends=True)
    crawls = [i for i, line in enumerate(lines) if '"stream":"crawls"' in line.replace(" ", "")
              and '"type":"RECORD"' in line.replace(" ", "")]
    cut = crawls[len(crawls) // 2]  # half the properties reported complete, then the tap died
    run = pipeline.load("".join(lines[:cut + 1]))
    assert pipeline.candidates("tasks") == set()
    row = pipeline.run_row(run, "tasks")
    assert row["status"] == "failed"
    assert row["reconcile_status"] == "skipped" and "not judged" in row["reconcile_note"]


def test_the_circuit_breaker_retires_nothing_when_too_much_is_missing(pipeline, sim):
    pipeline.sync()
    data = sim.data(REGION)
    doomed = [t["id"] for t in data.tasks[:30]]
    for task_id in doomed:
        sim.delete_task(REGION, task_id)
    run = pipeline.sync({"reconcile": True}, reconcile_breaker_floor=10)
    row = pipeline.run_row(run, "tasks")
    assert row["reconcile_status"] == "tripped" and row["reconcile_candidates"] == 30
    assert "nothing retired" in row["reconcile_note"]
    assert pipeline.candidates("tasks") == set()
    assert set(doomed) <= pipeline.live("tasks")
    # Raised limits (an operator who checked) let the next reconcile proceed.
    pipeline.sync({"reconcile": True}, reconcile_breaker_floor=100)
    assert pipeline.candidates("tasks") == set(doomed)


def test_a_start_date_later_than_the_first_full_crawl_judges_nothing(pipeline, sim):
    pipeline.sync()
    task_id = sim.data(REGION).tasks[0]["id"]
    sim.delete_task(REGION, task_id)
    run = pipeline.sync({"reconcile": True, "start_date": "2025-06-01T00:00:00+00:00"})
    row = pipeline.run_row(run, "tasks")
    assert row["reconcile_status"] == "skipped" and "start_date moved" in row["reconcile_note"]
    assert pipeline.candidates("tasks") == set()


def test_the_api_has_the_last_word_alive_kept_errors_deferred(pipeline, sim):
    pipeline.sync()
    data = sim.data(REGION)
    alive, flaky = data.tasks[0], data.tasks[1]
    # The trap of an unknown list rule: `alive` leaves every list yet answers 200 by id.
    sim.hide_from_lists(REGION, "task", alive["id"])
    sim.delete_task(REGION, flaky["id"])
    pipeline.sync({"reconcile": True})
    assert pipeline.candidates("tasks") == {alive["id"], flaky["id"]}
    sim.fail_calls(f"/task/{flaky['id']}", 503)
    counts = pipeline.confirm(backoff_max_tries=1)
    assert counts == {("tasks", "alive"): 1, ("tasks", "deferred"): 1}
    assert {alive["id"], flaky["id"]} <= pipeline.live("tasks")
    assert pipeline.candidates("tasks") == {flaky["id"]}
    checks = pipeline.db.query("SELECT checks, last_http_status FROM deletion_candidates "
                               "WHERE source_id = :i AND resolved_at IS NULL", i=flaky["id"])
    assert tuple(checks[0]) == (1, 503)


def test_a_candidate_read_again_is_cleared_and_a_deleted_row_that_returns_is_live(
        pipeline, sim):
    pipeline.sync()
    data = sim.data(REGION)
    task = data.tasks[4]
    sim.delete_task(REGION, task["id"])
    pipeline.sync({"reconcile": True})
    assert pipeline.candidates("tasks") == {task["id"]}
    data.add_task(task)  # back upstream before the confirmation ran
    sim.touch_task(REGION, task["id"])
    pipeline.sync()
    assert pipeline.candidates("tasks") == set()
    assert pipeline.candidates("tasks", pending=False) == {task["id"]}

    sim.delete_task(REGION, task["id"])
    pipeline.sync({"reconcile": True})
    pipeline.confirm()
    assert task["id"] not in pipeline.live("tasks")
    data.add_task(task)
    sim.touch_task(REGION, task["id"])
    run = pipeline.sync()
    assert task["id"] in pipeline.live("tasks")
    assert pipeline.run_row(run, "tasks")["rows_revived"] == 1


def test_a_malformed_crawl_report_is_quarantined(pipeline, migrated_db):
    text = pipeline.tap_text()
    bad = json.dumps({"type": "RECORD", "stream": "crawls", "record": {
        "region_code": REGION, "stream": "tasks", "scope": "somewhere", "complete": True,
        "window_start": "2015-01-01T00:00:00+00:00"}})
    lines = text.splitlines()
    schema_at = next(i for i, line in enumerate(lines) if '"stream":"crawls"' in line)
    lines.insert(schema_at + 1, bad)
    pipeline.load("\n".join(lines) + "\n")
    reasons = [r[0] for r in migrated_db.query(
        "SELECT reason FROM load_rejects WHERE stream = 'crawls'")]
    assert len(reasons) == 1 and "unknown scope" in reasons[0]


def test_stream_maps_in_the_target_judge_nothing(pipeline, sim):
    pipeline.sync()
    sim.delete_task(REGION, sim.data(REGION).tasks[0]["id"])
    run = pipeline.sync({"reconcile": True},
                        stream_maps={"tasks": {"__filter__": "True"}})
    assert pipeline.run_row(run, "tasks")["reconcile_status"] == "skipped"
    assert pipeline.candidates("tasks") == set()


def test_the_cli_confirms_with_the_tap_config(pipeline, sim, tmp_path):
    pipeline.sync()
    task_id = sim.data(REGION).tasks[3]["id"]
    sim.delete_task(REGION, task_id)
    pipeline.sync({"reconcile": True})
    config = tmp_path / "tap.json"
    config.write_text(json.dumps(tap_config(sim, REGION)))
    cli = Path(sys.executable).with_name("breezeway-db")
    done = subprocess.run([str(cli), "confirm-deletions", "--url", pipeline.db.url,
                           "--schema", pipeline.db.schema, "--tap-config", str(config)],
                          capture_output=True, text=True, check=True)
    assert "tasks deleted: 1" in done.stdout
    assert task_id not in pipeline.live("tasks")


def check(db, capsys, *args: str) -> tuple[int, str]:
    from target_breezeway_postgres import status

    capsys.readouterr()
    code = status.main(["--url", db.url, "--schema", db.schema, *args])
    return code, capsys.readouterr().out


def region_line(out: str) -> str:
    """The check's line of our region (the seeded regions this test never syncs fail as
    never synced, which is not what is checked here)."""
    return next(line for line in out.splitlines() if f" {REGION}: " in line)


def test_status_shows_the_reconcile_age_and_check_alerts_when_it_is_too_old(
        pipeline, sim, capsys):
    pipeline.sync()
    task_id = sim.data(REGION).tasks[1]["id"]
    sim.delete_task(REGION, task_id)
    pipeline.sync({"reconcile": True})
    pipeline.confirm()
    _, out = check(pipeline.db, capsys)
    assert "Deletions (reconcile of reservations and tasks)" in out
    _, out = check(pipeline.db, capsys, "--check", "--max-age", "1d", "--max-reconcile-age", "8d")
    assert region_line(out).startswith("OK")
    later = (datetime.now(UTC) + timedelta(days=9)).isoformat()
    code, out = check(pipeline.db, capsys, "--check", "--max-age", "30d",
                      "--max-reconcile-age", "8d", "--now", later)
    assert code != 0
    assert region_line(out).startswith("RECONCILE") and "older than 8.0d" in region_line(out)


def test_check_alerts_on_a_tripped_breaker_without_being_asked(pipeline, sim, capsys):
    pipeline.sync()
    for task in sim.data(REGION).tasks[:30]:
        sim.delete_task(REGION, task["id"])
    pipeline.sync({"reconcile": True}, reconcile_breaker_floor=10)
    code, out = check(pipeline.db, capsys, "--check", "--max-age", "1d")
    assert code != 0 and "reconcile breaker tripped" in region_line(out)
