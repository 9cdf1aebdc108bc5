"""With `region_code` configured, a record of another region is quarantined, never loaded,
and never counts toward a version's completion (so it cannot retire the other region's rows).

The trap: a stray TAP_BREEZEWAY_REGION_CODE in `.env` makes one environment's tap label its
records with another region; before, the target loaded them under that region and the
full-table completion soft-deleted every row of it the relabelled run did not carry.
"""

from __future__ import annotations

import singer_messages as singer


def live_properties(db, region: str) -> int:
    return db.query("SELECT count(*) FROM properties WHERE region_code = :r "
                    "AND deleted_at IS NULL", r=region)[0][0]


def test_records_of_another_region_are_quarantined_and_retire_nothing(run_target, migrated_db):
    run_target(singer.region_sync("austin", 1000, n_properties=4), region_code="austin")
    assert live_properties(migrated_db, "austin") == 4

    # smoky's run, its records mislabelled austin (and a complete properties version).
    relabelled = singer.region_sync("austin", 5000, n_properties=2, version=2)
    run_target(relabelled, region_code="smoky", run_id="stray")

    assert live_properties(migrated_db, "austin") == 4  # nothing retired, nothing added
    assert live_properties(migrated_db, "smoky") == 0
    rejects = migrated_db.query(
        "SELECT DISTINCT region_code, stream, reason FROM load_rejects WHERE run_id = 'stray'")
    assert {r[1] for r in rejects} >= {"properties", "property_photos", "reservations", "tasks"}
    for region, _, reason in rejects:
        assert region == "smoky"
        assert reason.startswith("foreign_region: the record says region austin")


def test_without_region_code_records_keep_their_own_region(run_target, migrated_db):
    run_target(singer.region_sync("austin", 1000, n_properties=2))
    run_target(singer.region_sync("smoky", 3000, n_properties=3))
    assert (live_properties(migrated_db, "austin"), live_properties(migrated_db, "smoky")) == (2, 3)
