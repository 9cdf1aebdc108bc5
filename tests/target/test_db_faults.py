"""PostgreSQL going away mid-load: retried on a fresh connection, nothing half-committed,
the database ends exactly as after an uninterrupted load; when the target gives up, the
run ends `failed` with the real cause and no STATE passes the last committed unit."""

from __future__ import annotations

import io
import json
import threading
import time
from contextlib import redirect_stdout
from typing import Any

import psycopg2
import pytest
import singer_messages as singer
from sqlalchemy.engine import make_url
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import dump
from tcp_proxy import CuttingProxy

pytestmark = pytest.mark.slow
SURROGATES = ("synced_at", "created_at", "updated_at", "id", "property_pk", "reservation_pk",
              "task_pk")


def messages() -> list[dict[str, Any]]:
    return singer.with_schemas(singer.region_sync("smoky", 1000, n_properties=300, photos=3))


def run(db: Any, url: str, **config: Any) -> tuple[list[str], BaseException | None]:
    """The target in-process on `url`; its STATE lines and what it raised."""
    target = TargetBreezewayPostgres(config={
        "sqlalchemy_url": url, "schema": db.schema, "region_code": "smoky",
        "batch_size_rows": 200, "db_retry_wait_s": 0.05, **config})
    out, raised = io.StringIO(), None
    try:
        with redirect_stdout(out):
            target.listen(io.StringIO(singer.dumps(messages())))
    except Exception as error:  # noqa: BLE001 -- returned for the test to judge
        raised = error
    return [line for line in out.getvalue().splitlines() if line], raised


def via(db: Any, port: int) -> str:
    return make_url(db.url).set(host="127.0.0.1", port=port).render_as_string(
        hide_password=False)


@pytest.fixture
def proxy(pg_url: str):
    upstream = make_url(pg_url)
    proxy = CuttingProxy((upstream.host or "127.0.0.1", upstream.port or 5432))
    yield proxy
    proxy.stop()


def assert_same_as_uninterrupted(db: Any, reference: Any) -> None:
    run(reference, reference.url)
    assert dump(db, exclude=SURROGATES) == dump(reference, exclude=SURROGATES)
    assert db.query("SELECT count(*) FROM sync_runs WHERE status = 'running'")[0][0] == 0


def test_twenty_cuts_at_random_moments_change_nothing(migrated_db, second_db, proxy):
    proxy.budget_bytes, proxy.max_cuts = (15_000, 120_000), 25
    port = proxy.start()
    states, raised = run(migrated_db, via(migrated_db, port), db_retry_attempts=15,
                         batch_size_rows=100)
    assert raised is None, raised
    assert proxy.cuts >= 20, proxy.cuts
    assert json.loads(states[-1])["bookmarks"]["marker"] == "smoky-done"
    statuses = migrated_db.query("SELECT DISTINCT status FROM sync_runs")
    assert [r[0] for r in statuses] == ["succeeded"]
    assert_same_as_uninterrupted(migrated_db, second_db)


def test_pg_terminate_backend_mid_load_changes_nothing(migrated_db, second_db, pg_url):
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        admin = psycopg2.connect(pg_url)
        admin.autocommit = True
        try:
            while not stop.is_set() and len(killed) < 5:
                with admin.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "application_name = 'target-breezeway-postgres' "
                        "AND datname = current_database() AND state <> 'idle'")
                    killed.extend(1 for (done,) in cursor.fetchall() if done)
                time.sleep(0.05)
        finally:
            admin.close()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        states, raised = run(migrated_db, migrated_db.url, db_retry_attempts=12)
    finally:
        stop.set()
        thread.join()
    assert raised is None, raised
    assert killed, "no backend was terminated: the test proved nothing"
    assert json.loads(states[-1])["bookmarks"]["marker"] == "smoky-done"
    assert_same_as_uninterrupted(migrated_db, second_db)


def test_when_it_gives_up_the_run_is_failed_with_the_cause_and_no_state_passes(
        migrated_db, proxy):
    """An outage a few units in: the unit in flight fails on three connections in a row
    (db_retry_attempts=3); the database is back for the end of the run."""
    proxy.outage_after_bytes, proxy.outage_connections = 400_000, 3
    states, raised = run(migrated_db, via(migrated_db, proxy.start()), db_retry_attempts=3)
    assert raised is not None and "connection was lost 3 times" in str(raised)
    rows = migrated_db.query("SELECT status, error_text FROM sync_runs WHERE stream = '*'")
    assert rows[0][0] == "failed" and "connection was lost 3 times" in rows[0][1]
    assert migrated_db.query("SELECT count(*) FROM sync_runs WHERE status = 'running'"
                             )[0][0] == 0
    committed = migrated_db.query("SELECT (SELECT count(*) FROM properties), "
                                  "(SELECT count(*) FROM tasks)")[0]
    assert committed[0] > 0 and committed[1] < 300  # units before the outage stay
    assert "smoky-done" not in "".join(states)  # no STATE beyond the last committed unit
