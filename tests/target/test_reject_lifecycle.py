"""Open rejects are fed again in bounded pages, each feed is an attempt, and a reject tried
`reject_max_attempts` times is dead: open, shown, no longer fed. Records of a stream without
a table are counted in `sync_runs`."""

from __future__ import annotations

import io
from functools import cached_property
from typing import Any

import singer_messages as singer
from target_breezeway_postgres.session import LoadSession
from target_breezeway_postgres.status import main as status_main
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config


class UnitSizeSession(LoadSession):
    """The real load session, noting the size of every load unit it hands to the writer."""

    unit_sizes: list[int]

    def flush(self, keep_open_family: bool = False) -> None:
        if self.unit.size:
            self.unit_sizes.append(self.unit.size)
        super().flush(keep_open_family)


class UnitSizeTarget(TargetBreezewayPostgres):
    """The real target with a UnitSizeSession."""

    @cached_property
    def session(self) -> LoadSession:
        session = super().session
        session.__class__ = UnitSizeSession
        session.unit_sizes = []
        return session

    @property
    def unit_sizes(self) -> list[int]:
        return self.session.unit_sizes


def run(db: Any, messages: list[dict[str, Any]], **config: Any) -> UnitSizeTarget:
    target = UnitSizeTarget(config=target_config(db, **config))
    try:
        target.listen(io.StringIO(singer.dumps(singer.with_schemas(messages))))
    finally:
        target.session.close()
    return target


def orphans(*ids: int) -> list[dict[str, Any]]:
    """Reservations of property 4242, which no run has sent yet."""
    return [singer.record("reservations", singer.reservation_record("smoky", rid, 4242))
            for rid in ids]


def property_message(pid: int) -> dict[str, Any]:
    return singer.record("properties", singer.property_record("smoky", pid))


def rejects_by_id(db: Any) -> dict[int, tuple]:
    rows = db.query("SELECT (natural_key->>'id')::int, attempts, dead_at IS NOT NULL, "
                    "resolved_at IS NOT NULL, run_id FROM load_rejects ORDER BY 1")
    return {r[0]: tuple(r[1:]) for r in rows}


def test_rejects_are_fed_again_in_bounded_pages(migrated_db):
    """Seven open rejects, pages of 2, load units of 3: no unit holds them all at once,
    whatever their number (memory stays flat), and each feed counts as an attempt."""
    ids = list(range(4300, 4307))
    run(migrated_db, orphans(*ids), run_id="r1")
    # The parent arrives; the rejects are fed (before it, still orphans) page by page.
    second = run(migrated_db, [property_message(4242)], run_id="r2", refeed_batch_size=2,
                 batch_size_rows=3)
    # Any later run of the region feeds them again: now their parent is there.
    third = run(migrated_db, [property_message(5000)], run_id="r3", refeed_batch_size=2,
                batch_size_rows=3)

    assert max(second.unit_sizes + third.unit_sizes) <= 3 + 2 - 1
    assert len(third.unit_sizes) > 1
    assert [r[0] for r in migrated_db.query(
        "SELECT reservation_id FROM reservations ORDER BY 1")] == ids
    assert rejects_by_id(migrated_db) == {rid: (3, False, True, "r3") for rid in ids}


def test_a_reject_tried_max_attempts_times_is_dead_open_and_not_fed(migrated_db):
    run(migrated_db, orphans(4300), run_id="r1")
    for run_id in ("r2", "r3"):  # fed again, still an orphan
        run(migrated_db, [property_message(5000)], run_id=run_id, reject_max_attempts=3)
    assert rejects_by_id(migrated_db) == {4300: (3, False, False, "r3")}

    run(migrated_db, [property_message(5000)], run_id="r4", reject_max_attempts=3)
    assert rejects_by_id(migrated_db) == {4300: (3, True, False, "r3")}
    # Dead: even with its parent there now, it is not fed again...
    run(migrated_db, [property_message(4242)], run_id="r5", reject_max_attempts=3)
    assert migrated_db.query("SELECT count(*) FROM reservations")[0][0] == 0
    assert migrated_db.query("SELECT sum(records_rejected) FROM sync_runs "
                             "WHERE run_id IN ('r4', 'r5')")[0][0] == 0
    # ...but a fresh record with its key that loads resolves it.
    run(migrated_db, orphans(4300), run_id="r6", reject_max_attempts=3)
    assert rejects_by_id(migrated_db)[4300][1:3] == (True, True)
    assert migrated_db.query("SELECT reservation_id FROM reservations")[0][0] == 4300


def test_records_of_a_stream_without_a_table_are_counted_in_sync_runs(migrated_db, capsys):
    companies = [singer.record("companies", {"id": n, "region_code": "smoky", "name": "C"})
                 for n in (1, 2)]
    run(migrated_db, [*singer.region_sync("smoky", 1000), *companies], run_id="skips")

    rows = migrated_db.query("SELECT region_code, status, records_read, records_loaded, "
                             "records_skipped FROM sync_runs "
                             "WHERE run_id = 'skips' AND stream = 'companies'")
    assert [tuple(r) for r in rows] == [("smoky", "succeeded", 2, 0, 2)]
    capsys.readouterr()
    status_main(["--url", migrated_db.url, "--schema", migrated_db.schema])
    report = capsys.readouterr().out
    streams = report.split("\nStreams\n")[1].split("\n\n")[0].splitlines()
    assert streams[0].split() == ["REGION", "STREAM", "LAST", "RUN", "LAST", "SUCCESS", "AGE",
                                  "DURATION", "READ", "LOADED", "REJECTED", "SKIPPED", "OPEN",
                                  "REJECTS", "API", "CALLS"]
    companies_row = next(line.split() for line in streams if " companies " in line)
    assert companies_row[-6:-1] == ["2", "0", "0", "2", "0"]


def test_skipped_records_of_a_run_with_nothing_else_are_counted(migrated_db):
    """No record of a mapped stream, no load unit: the count is written when the run ends,
    for the configured region (the record's own region_code is not trusted then)."""
    companies = [singer.record("companies", {"id": 1, "region_code": "austin"}),
                 singer.state({"bookmarks": {}})]
    run(migrated_db, companies, run_id="only-skips", region_code="smoky")

    rows = migrated_db.query("SELECT region_code, stream, status, records_skipped FROM sync_runs "
                             "WHERE run_id = 'only-skips' ORDER BY stream")
    assert [tuple(r) for r in rows] == [("smoky", "*", "succeeded", 0),
                                        ("smoky", "companies", "succeeded", 1)]
