"""tap-breezeway → target against the simulator: a full sync of two regions lands in
PostgreSQL exactly as the simulator serves it; the simulator's hard cases that our schema
refuses are quarantined with their reason, not dropped."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

tap_module = pytest.importorskip("tap_breezeway.tap")
REGIONS = ["nashville", "austin"]


def tap_output(sim: Any, region: str) -> str:
    client_id, client_secret = sim.credentials(region)
    tap = tap_module.TapBreezeway(config={
        "client_id": client_id, "client_secret": client_secret, "region_code": region,
        "api_url": sim.base_url, "max_requests_per_second": 0, "backoff_factor_s": 0.01})
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return buffer.read()


def ids(db: Any, table: str, column: str, region: str) -> set[int]:
    rows = db.query(f"SELECT {column} FROM {table} WHERE region_code = :r", r=region)
    return {r[0] for r in rows}


@pytest.mark.slow
def test_full_sync_of_two_regions_equals_the_simulator(simulator, migrated_db, capsys):
    for region in REGIONS:
        text = tap_output(simulator, region)
        target = TargetBreezewayPostgres(config=target_config(migrated_db))
        target.listen(io.StringIO(text))
        target.session.close()
    capsys.readouterr()
    for region in REGIONS:
        data, hard = simulator.data(region), simulator.hard_cases(region)
        refused = set(hard["reservation_missing_property"] + hard["checkin_after_checkout"])
        assert ids(migrated_db, "properties", "property_id", region) == {
            p["id"] for p in data.properties}
        assert ids(migrated_db, "reservations", "reservation_id", region) == {
            r["id"] for r in data.reservations} - refused
        assert ids(migrated_db, "tasks", "task_id", region) == {t["id"] for t in data.tasks}
        assert ids(migrated_db, "people", "person_id", region) == {p["id"] for p in data.people}
        rejected = migrated_db.query(
            "SELECT stream, natural_key, reason FROM load_rejects WHERE region_code = :r",
            r=region)
        by_stream: dict[str, set[int]] = {}
        for stream, key, _ in rejected:
            by_stream.setdefault(stream, set()).add(
                key.get("id") or key.get("photo_id") or key.get("reservation_id"))
        assert by_stream.get("reservations", set()) == refused
        # Guests of a refused reservation are orphans, quarantined with it.
        assert by_stream.get("reservation_guests", set()) <= refused
        assert set(by_stream) <= {"reservations", "reservation_guests", "property_photos"}
        _assert_children_match(migrated_db, data, region)
        _assert_hard_cases(migrated_db, data, hard, region)


def _assert_children_match(db: Any, data: Any, region: str) -> None:
    """Photo and task-cost sets per parent equal the API's (unique ids; one default kept)."""
    photos = db.query(
        "SELECT p.property_id, c.photo_id FROM property_photos c JOIN properties p "
        "ON p.id = c.property_pk WHERE p.region_code = :r", r=region)
    stored = {(a, b) for a, b in photos}
    served = {(p["id"], ph["id"]) for p in data.properties for ph in p["photos"]}
    rejected = db.query(
        "SELECT (natural_key->>'property_id')::bigint, (natural_key->>'photo_id')::bigint "
        "FROM load_rejects WHERE stream = 'property_photos' AND region_code = :r", r=region)
    assert stored == served - {tuple(r) for r in rejected}
    costs = db.query(
        "SELECT t.task_id, c.cost_id FROM task_costs c JOIN tasks t ON t.id = c.task_pk "
        "WHERE t.region_code = :r", r=region)
    assert {tuple(r) for r in costs} == {
        (t["id"], c["id"]) for t in data.tasks for c in t.get("costs") or []}


def _assert_hard_cases(db: Any, data: Any, hard: dict[str, list[int]], region: str) -> None:
    tasks = {t["id"]: t for t in data.tasks}
    for task_id in hard["nul_char_in_text"]:
        stored = db.query("SELECT description FROM tasks WHERE task_id = :i AND "
                          "region_code = :r", i=task_id, r=region)[0][0]
        assert stored == tasks[task_id]["description"].replace("\x00", "")
    for task_id in hard["task_missing_reservation"]:
        row = db.query("SELECT reservation_pk, linked_reservation_id FROM tasks WHERE "
                       "task_id = :i AND region_code = :r", i=task_id, r=region)[0]
        assert row[0] is None and row[1] == tasks[task_id]["linked_reservation"]["id"]
    props = {p["id"]: p for p in data.properties}
    for prop_id in hard["text_escapes_property"]:
        stored = db.query("SELECT notes FROM properties WHERE property_id = :i AND "
                          "region_code = :r", i=prop_id, r=region)[0][0]
        assert json.dumps(stored, sort_keys=True) == json.dumps(props[prop_id]["notes"],
                                                                sort_keys=True)
