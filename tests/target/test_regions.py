"""Regions as data: seeded regions are inactive until they run; a run activates a region;
retiring one sticks; --check judges active regions only."""

from __future__ import annotations

import io
from typing import Any

import singer_messages as singer
from target_breezeway_postgres import cli, status
from target_breezeway_postgres.target import TargetBreezewayPostgres


def active(db: Any) -> set[str]:
    return {r[0] for r in db.query("SELECT region_code FROM regions WHERE is_active")}


def run(db: Any, region: str, messages: list[dict[str, Any]]) -> None:
    target = TargetBreezewayPostgres(config={"sqlalchemy_url": db.url, "schema": db.schema,
                                             "region_code": region})
    target.listen(io.StringIO(singer.dumps(singer.with_schemas(messages))))


def test_seeded_regions_are_inactive_until_their_first_run(migrated_db, capsys):
    assert active(migrated_db) == set()
    run(migrated_db, "smoky", singer.region_sync("smoky", 1000))
    assert active(migrated_db) == {"smoky"}
    code = status.main(["--url", migrated_db.url, "--schema", migrated_db.schema, "--check"])
    out = capsys.readouterr().out
    assert code == 0, out  # the seven seeded regions never run are not judged
    assert "CHECK OK: 1 active regions" in out


def test_a_retired_region_stays_retired_until_activated(migrated_db, capsys):
    run(migrated_db, "smoky", singer.region_sync("smoky", 1000))
    def region(*args: str) -> int:
        return cli.main(["region", *args, "--url", migrated_db.url,
                         "--schema", migrated_db.schema])

    assert region("retire", "smoky") == 0
    run(migrated_db, "smoky", singer.region_sync("smoky", 1000))  # a stray schedule
    assert active(migrated_db) == set()
    assert region("activate", "smoky") == 0
    assert active(migrated_db) == {"smoky"}
    assert region("list") == 0
    assert "smoky            active" in capsys.readouterr().out
    assert region("retire", "atlantis") == 1
