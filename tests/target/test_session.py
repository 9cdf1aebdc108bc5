"""The load session on its own: no Singer message, no SDK — what a webhook receiver uses."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import singer_messages as singer
from target_breezeway_postgres.database import engine_for
from target_breezeway_postgres.session import LoadSession, NotARecordError
from target_breezeway_postgres.settings import SessionSettings


@pytest.fixture
def session_of(migrated_db: Any):
    made: list[LoadSession] = []

    def make(region: str | None = "smoky", **settings: Any) -> LoadSession:
        session = LoadSession(engine_for(migrated_db.url.replace(
            "postgresql://", "postgresql+psycopg2://", 1)),
            SessionSettings(schema=migrated_db.schema, **settings),
            f"s-{uuid.uuid4().hex[:8]}", region)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def count(db: Any, table: str) -> int:
    return db.query(f"SELECT count(*) FROM {table}")[0][0]


def load(session: LoadSession, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        if message["type"] == "RECORD":
            session.add(message["stream"], message["record"], message.get("version"))
        elif message["type"] == "ACTIVATE_VERSION":
            session.activate_version(message["stream"], message["version"])


def test_records_added_are_committed_at_a_commit_point(session_of, migrated_db):
    session = session_of(batch_size_rows=1000)
    session.start()
    load(session, singer.region_sync("smoky", 1000, n_properties=3))
    assert count(migrated_db, "properties") == 0  # still in the open unit
    session.commit_point()
    assert count(migrated_db, "properties") == 3
    assert count(migrated_db, "task_photos") == 6
    session.finish("succeeded", None)
    statuses = migrated_db.query("SELECT DISTINCT status FROM sync_runs WHERE run_id = :r",
                                 r=session.run_id)
    assert [r[0] for r in statuses] == ["succeeded"]


def test_a_full_unit_is_written_without_waiting_for_a_commit_point(session_of, migrated_db):
    session = session_of(batch_size_rows=5)
    load(session, singer.region_sync("smoky", 1000, n_properties=6, photos=0))
    session.writer.wait()
    assert 0 < count(migrated_db, "properties") <= 6


def test_a_version_end_retires_rows_it_did_not_carry(session_of, migrated_db):
    first = session_of()
    load(first, singer.region_sync("smoky", 1000, n_properties=3))
    first.commit_point()
    second = session_of()
    load(second, singer.region_sync("smoky", 1000, n_properties=2, version=2))
    second.commit_point()
    live = migrated_db.query("SELECT property_id FROM properties WHERE deleted_at IS NULL")
    assert sorted(r[0] for r in live) == [1000, 1001]
    assert second.open_versions() == []


def test_another_region_is_quarantined_and_a_non_object_refused(session_of, migrated_db):
    session = session_of(region="smoky")
    session.add("properties", singer.property_record("austin", 7))
    with pytest.raises(NotARecordError):
        session.add("properties", ["not", "an", "object"])
    session.commit_point()
    assert count(migrated_db, "properties") == 0
    reasons = migrated_db.query("SELECT reason FROM load_rejects")
    assert reasons[0][0].startswith("foreign_region")


def test_streams_without_a_table_are_counted_as_skipped(session_of, migrated_db):
    session = session_of()
    session.add("companies", {"id": 1, "region_code": "smoky"})
    assert session.tallies.skipped == {("smoky", "companies"): 1}
