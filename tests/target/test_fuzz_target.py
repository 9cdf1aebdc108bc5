"""Property-based fuzzing of the target: arbitrary JSON in every field of every stream.

Each example is one run of the real target on real PostgreSQL: a small valid sync of its
own region, plus records of every stream with fields replaced by generated JSON (wrong
types, huge and tiny numbers, odd offsets and dates, Unicode edge cases with lone
surrogates and NUL, nesting, duplicates, missing keys, keys of any JSON type).

Invariants: the run succeeds (no exception, `sync_runs` succeeded, the final STATE is
emitted); every record with a usable key is either loaded or quarantined in load_rejects;
every record without one is quarantined with a key reason; the valid sync is loaded whole.

CI runs a small fixed profile; `HYPOTHESIS_PROFILE=long` explores further:

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/target/test_fuzz_target.py
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from itertools import count
from typing import Any

import pytest
import singer_messages as singer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from target_breezeway_postgres.mapping import MAPPINGS
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

pytestmark = pytest.mark.slow

PROFILES = {
    # No shrinking in CI: each step is a whole target run (use "debug" to shrink a failure).
    "ci": settings(max_examples=25, derandomize=True, database=None, deadline=None,
                   phases=[Phase.explicit, Phase.reuse, Phase.generate],
                   suppress_health_check=list(HealthCheck)),
    "debug": settings(max_examples=25, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck)),
    "long": settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck)),
}
FUZZ = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
BASE = 1000  # ids of the valid sync; fuzzed records use ids from FUZZ_ID_START
FUZZ_ID_START = 700_000
REGIONS = (f"fz{n}" for n in count())

ODD_STRINGS = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\U0001f600", "\u202e", "\ufeff",
    "2026-12-01", "2026-13-40", "\u0662\u0660\u0662\u0666-12-01", "10:00:00+16:00",
    "2026-11-01T10:00:00+23:59", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-15:00",
    "\u0661\u0662:00:00", "99999:59:59", "25.00 USD", "1e400", "NaN", "-0", "1" * 40,
    "true", "null", "\\", "\t\n\r", "'; DROP TABLE tasks; --", "a" * 5000,
])
LEAF = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=()), max_size=30),
    ODD_STRINGS,
)
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
DEEP = st.integers(min_value=50, max_value=300).map(
    lambda depth: json.loads("[" * depth + "]" * depth))
VALUE = st.one_of(JSON, DEEP)


def valid_record(stream: str, region: str, number: int) -> dict[str, Any]:
    """A valid record of `stream` with fresh ids (parents of the valid sync for children)."""
    object_id = FUZZ_ID_START + number
    makers = {
        "properties": lambda: singer.property_record(region, object_id),
        "reservations": lambda: singer.reservation_record(region, object_id, BASE),
        "tasks": lambda: singer.task_record(region, object_id, BASE),
        "people": lambda: singer.person_record(region, object_id),
        "property_photos": lambda: singer.photo_record(region, BASE, object_id, 5),
        "reservation_guests": lambda: singer.guest_record(region, BASE + 500, 5 + number),
        "task_requirements": lambda: {
            "task_id": BASE + 900, "position": object_id, "region_code": region,
            "section_name": "Kitchen", "action": ["Check"], "response": "Good",
            "type_requirement": "condition", "photo_required": False, "note": None,
            "home_element_name": None},
        "task_requirement_photos": lambda: {
            "task_id": BASE + 900, "position": object_id, "region_code": region,
            "requirement_position": 0, "url": "https://cdn.example/r.jpg"},
        "property_tags": lambda: tag_link("property_id", BASE, object_id, region),
        "reservation_tags": lambda: tag_link("reservation_id", BASE + 500, object_id, region),
        "task_tags": lambda: tag_link("task_id", BASE + 900, object_id, region),
        "task_templates": lambda: {"id": object_id, "region_code": region,
                                   "template_name": "Turnover", "department_code": "x"},
        "task_subdepartments": lambda: {"id": object_id, "region_code": region, "name": "Pool"},
        "supplies": lambda: {"id": object_id, "region_code": region, "name": "Soap",
                             "unit_cost": 2.5, "stock_count": 3, "low_stock_alert": False},
    }
    for definitions in ("property_tag_definitions", "reservation_tag_definitions",
                        "task_tag_definitions"):
        makers[definitions] = lambda: {"id": object_id, "region_code": region, "name": "VIP",
                                       "company_id": 1}
    if stream in makers:
        return makers[stream]()
    children = {m["stream"]: m["record"] for m in singer.task_children(region, BASE + 900, 1)}
    record = dict(children[stream])
    record[MAPPINGS[stream].key_properties[1]] = object_id
    return record


def tag_link(parent_key: str, parent_id: int, tag_id: int, region: str) -> dict[str, Any]:
    return {parent_key: parent_id, "tag_id": tag_id, "region_code": region, "position": 0,
            "name": "VIP"}


@st.composite
def fuzzed_record(draw: st.DrawFn, region: str, number: int) -> tuple[str, dict[str, Any]]:
    stream = draw(st.sampled_from(sorted(MAPPINGS)))
    record = valid_record(stream, region, number)
    keys = set(MAPPINGS[stream].key_properties)
    for field in draw(st.lists(st.sampled_from(sorted(record)), max_size=6, unique=True)):
        if field == "region_code":
            continue  # region trust has its own tests (test_region_trust.py)
        choice = draw(st.sampled_from(["replace", "replace", "drop"]))
        if choice == "drop":
            del record[field]
            continue
        value = draw(VALUE)
        if field in keys and isinstance(value, int) and not isinstance(value, bool):
            value = value if abs(value) >= FUZZ_ID_START else value + 10**12  # no collision
        record[field] = value
    return stream, record


def usable_key(stream: str, record: dict[str, Any]) -> tuple[int, ...] | None:
    values = [record.get(name) for name in MAPPINGS[stream].key_properties]
    if all(type(v) is int and -(2**63) <= v < 2**63 for v in values):
        return tuple(values)
    return None


def stored_keys(db: Any, stream: str, region: str) -> set[tuple[int, ...]]:
    mapping = MAPPINGS[stream]
    if mapping.id_column:
        rows = db.query(f"SELECT {mapping.id_column} FROM {mapping.table} "
                        "WHERE region_code = :r", r=region)
    else:
        assert mapping.parent is not None
        parent = MAPPINGS[mapping.parent.stream]
        rows = db.query(
            f"SELECT p.{parent.id_column}, c.{mapping.child_key} FROM {mapping.table} c "
            f"JOIN {parent.table} p ON p.id = c.{mapping.parent.pk_column} "
            "WHERE p.region_code = :r", r=region)
    return {tuple(row) for row in rows}


def quarantined(db: Any, region: str) -> list[tuple[str, dict[str, Any], str]]:
    rows = db.query("SELECT stream, natural_key, reason FROM load_rejects "
                    "WHERE resolved_at IS NULL AND region_code = :r", r=region)
    return [(r[0], r[1], r[2]) for r in rows]


def run(db: Any, messages: list[dict[str, Any]], region: str) -> list[str]:
    target = TargetBreezewayPostgres(config=target_config(db, region_code=region,
                                                          batch_size_rows=40))
    out = io.StringIO()
    with redirect_stdout(out):
        target.listen(io.StringIO(singer.dumps(singer.with_schemas(messages))))
    return [line for line in out.getvalue().splitlines() if line]


@pytest.fixture(scope="module")
def fuzz_db(pg_engine, pg_url):
    """One migrated schema for every example (each example has a region of its own)."""
    import uuid

    from target_breezeway_postgres.migrations import apply_migrations

    schema = f"fz_{uuid.uuid4().hex[:10]}"
    apply_migrations(pg_engine, schema)
    yield SchemaDb(pg_url, pg_engine, schema)
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


class SchemaDb:
    """A schema and a query helper (as tests/conftest.py's MigratedDatabase), module-wide."""

    def __init__(self, url: str, engine: Any, schema: str) -> None:
        self.url, self.engine, self.schema = url, engine, schema

    def query(self, sql: str, **params: Any) -> list[Any]:
        import sqlalchemy as sa

        with self.engine.begin() as connection:
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{self.schema}", public')
            return list(connection.execute(sa.text(sql), params))


@FUZZ
@given(data=st.data())
def test_any_json_in_any_field_is_loaded_or_quarantined(fuzz_db, data) -> None:
    region = next(REGIONS)
    valid = singer.region_sync(region, BASE, n_properties=2, photos=2)
    fuzzed = [data.draw(fuzzed_record(region, n)) for n in range(data.draw(
        st.integers(min_value=1, max_value=12)))]
    if fuzzed and data.draw(st.booleans()):
        fuzzed.append(fuzzed[-1])  # the same record twice
    final_state = singer.state(f"{region}-fuzzed")
    messages = [*valid[:-1], *(singer.record(s, r) for s, r in fuzzed), final_state]

    states = run(fuzz_db, messages, region)

    assert json.loads(states[-1]) == final_state["value"]
    statuses = {r[0] for r in fuzz_db.query(
        "SELECT DISTINCT status FROM sync_runs WHERE region_code = :r", r=region)}
    assert statuses == {"succeeded"}
    rejects = quarantined(fuzz_db, region)
    rejected = {(stream, usable_key(stream, key)) for stream, key, _ in rejects
                if stream in MAPPINGS and usable_key(stream, key) is not None}
    for stream, record in fuzzed:
        key = usable_key(stream, record)
        if key is None:
            assert any(s == stream and "key" in reason for s, _, reason in rejects), stream
        else:
            assert key in stored_keys(fuzz_db, stream, region) or (stream, key) in rejected, (
                stream, key)
    for message in valid:  # the valid sync is loaded whole
        if message["type"] == "RECORD":
            stream = message["stream"]
            key = usable_key(stream, message["record"])
            assert key in stored_keys(fuzz_db, stream, region), (stream, key)
