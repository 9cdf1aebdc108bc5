"""Property-based fuzzing of the tap: the simulator serves objects of any content, over HTTP.

Every field of properties, reservations, tasks, people and their nested arrays may hold any
JSON: wrong types, huge and tiny numbers, odd offsets and dates, Unicode edge cases, lone
surrogates (sent as `\\ud800` escapes: UTF-8 cannot carry them), NUL, deep nesting, repeated
ids, missing keys, items that are not objects. Invariants of one tap run:

- it never dies on content, and every line it writes is JSON both SDK readers parse;
- it emits every object it received, in API order, minus repeats of an int/string id, with
  its values passed on (lone surrogates as U+FFFD) and datetimes converted or passed raw;
- whatever it does not emit (an item that is not an object, an array that is not a list)
  is named in exactly one warning, and no log line carries a record value;
- the bookmarks it leaves are datetimes a next run can read.

CI runs the `ci` profile (100 fixed examples, no shrinking). Shrink a CI failure to a
minimal case with `HYPOTHESIS_PROFILE=debug`, explore further with `HYPOTHESIS_PROFILE=long`
(3000 new examples, ~12 minutes):
`HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/tap/test_fuzz.py -p no:cacheprovider`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from breezeway_sim import Simulator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tap_breezeway import records
from tap_harness import TapOutput, run_tap_lines, sdk_messages

#: ci: fixed examples and no shrinking (a full tap run per step: shrinking a failure can
#: take minutes); debug: the same examples, failures shrunk to a minimal case; long: explore.
PROFILES = {
    "ci": settings(max_examples=100, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate]),
    "debug": settings(max_examples=100, derandomize=True, database=None),
    "long": settings(max_examples=3000),
}
FUZZ_SETTINGS = settings(
    PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)

SECRET = "guest-door-4417"  # planted in fields with personal data: never in a log line

# -- values ---------------------------------------------------------------------------------
CHARACTERS = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates
    st.sampled_from(["\x00", "\ufffd", "\ufeff", "\u202e", "\U0001f600", "\u0661", "\n"]),
)
TEXT = st.text(CHARACTERS, max_size=10)
NUMBERS = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**40, -(10**40), 0, 5e-324, 1.7e308]),
    st.floats(allow_nan=False, allow_infinity=False),
)
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                        max_value=timedelta(hours=23, minutes=59)).map(timezone)
DATETIMES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                 timezones=st.none() | OFFSETS).map(datetime.isoformat),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00", "2024-02-30",
                     "2024-01-01T24:00:00", "", "2024-W01-1T10:00:00", "\u0662\u0660\u0662\u0664",
                     "2024-01-01T10:00:00Z", "2024-01-01 10:00:00.5+05:30"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT, DATETIMES)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(1, 300).map(_nested)
ANY = st.one_of(JSON, DEEP)
IDS = st.one_of(st.integers(1, 4), st.integers(1, 4).map(str), ANY)  # repeats are likely


def value_of(field: str) -> st.SearchStrategy[Any]:
    if field == "id":
        return IDS
    if field.endswith("_at") or field.endswith("_date"):
        return st.one_of(DATETIMES, ANY)
    if field in ("wifi_password", "access_code", "emails", "phone_numbers"):
        return st.one_of(st.just(SECRET), ANY)
    return ANY


def api_object(fields: tuple[str, ...], arrays: dict[str, st.SearchStrategy] | None = None):
    """An object with any subset of the fields (missing keys), any values, extra keys."""
    optional = {field: value_of(field) for field in fields}
    optional.update(arrays or {})
    known = st.fixed_dictionaries({}, optional=optional)
    return st.tuples(known, st.dictionaries(TEXT, ANY, max_size=2)).map(
        lambda parts: {**parts[1], **parts[0]})


def nested_array(item_fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    item = st.one_of(api_object(item_fields), api_object(item_fields), ANY)
    return st.one_of(st.lists(item, max_size=4), st.lists(item, max_size=4), ANY)


def top_level(obj: st.SearchStrategy[dict]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.one_of(obj, obj, obj, JSON), max_size=5)


PHOTO = ("id", "url", "original_url", "caption", "default")
PROPERTY = api_object((*records.PROPERTY_FIELDS, "created_at", "updated_at"),
                      {"photos": nested_array(PHOTO)})
RESERVATION = api_object(
    (*records.RESERVATION_FIELDS, "type_guest", "type_stay", "type_reservation", "created_at",
     "updated_at"),
    {"guests": nested_array(("first_name", "last_name", "emails", "phone_numbers"))})
TASK = api_object(
    (*records.TASK_FIELDS, "type_priority", "type_task_status", "template", "subdepartment",
     "created_by", "finished_by", "created_at", "updated_at", "started_at", "finished_at",
     "requested_by", "summary", "linked_reservation"),
    {"assignments": nested_array(("id", "assignee_id", "name", "employee_code", "expires_at",
                                  "type_task_user_status")),
     "photos": nested_array(("id", "url")),
     "costs": nested_array(("id", "cost", "description", "bill_to", "type_cost", "created_at",
                            "updated_at")),
     "supplies": nested_array(("id", *records.SUPPLY_FIELDS))})
PERSON = api_object((*records.PERSON_FIELDS, "type_role"))

#: child stream -> (parent stream, array, child id field in the API item or None)
NESTED = {
    "property_photos": ("properties", "photos", "id"),
    "reservation_guests": ("reservations", "guests", None),
    "task_assignments": ("tasks", "assignments", "id"),
    "task_photos": ("tasks", "photos", "id"),
    "task_costs": ("tasks", "costs", "id"),
    "task_supplies": ("tasks", "supplies", "id"),
    "property_tags": ("properties", "tags", "id"),
    "reservation_tags": ("reservations", "tags", "id"),
    "task_tags": ("tasks", "task_tags", "id"),
}
PARENT_KEY = {"properties": "property_id", "reservations": "reservation_id", "tasks": "task_id"}
CHILD_KEY = {"property_photos": "photo_id", "task_assignments": "assignment_id",
             "task_photos": "photo_id", "task_costs": "cost_id", "task_supplies": "usage_id",
             "property_tags": "tag_id", "reservation_tags": "tag_id", "task_tags": "tag_id"}


# -- what the tap received, and what it must make of it ----------------------------------------
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def as_received(served: Any) -> Any:
    """The value a client decodes from the simulator's bytes (a lone surrogate as U+FFFD).

    `json.dumps` escapes a lone surrogate as `\\ud800`; two adjacent ones that form a pair
    decode as one character, as on the wire.
    """
    return _unicode(json.loads(json.dumps(served)))


def _unicode(value: Any) -> Any:
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_unicode(item) for item in value]
    if isinstance(value, dict):
        return {_unicode(key): _unicode(item) for key, item in value.items()}
    return value


def repeat_key(value: Any) -> Any:
    """The documented dedup rule: only int and string ids are compared."""
    return value if type(value) in (int, str) else None


def first_occurrences(items: list[Any]) -> list[dict]:
    seen: set[Any] = set()
    kept = []
    for item in items:
        if not isinstance(item, dict):
            continue
        key = repeat_key(item.get("id"))
        if key is not None and key in seen:
            continue
        seen.add(key)
        kept.append(item)
    return kept


def home_ids(properties: list[dict]) -> list[str]:
    """`home_id` of each task call: numeric ids (int, or ASCII digits), in property order."""
    keys = [repeat_key(p.get("id")) for p in properties]
    return [str(key) for key in keys if type(key) is int
            or (type(key) is str and key.isascii() and key.isdecimal())]


def expected_children(parents: list[dict], child: str) -> tuple[list[tuple], int, int]:
    """(parent id, position, child id) per child record; items and arrays not emitted."""
    _, array, id_key = NESTED[child]
    rows: list[tuple] = []
    not_objects = not_lists = 0
    for parent in parents:
        items = parent.get(array)
        if items is None:
            continue
        if not isinstance(items, list):
            not_lists += 1
            continue
        seen: set[Any] = set()
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                not_objects += 1
                continue
            key = repeat_key(item.get(id_key)) if id_key else None
            if key is not None and key in seen:
                continue
            seen.add(key)
            rows.append((parent.get("id"), position, item.get(id_key) if id_key else None))
    return rows, not_objects, not_lists


def child_rows(output: TapOutput, child: str) -> list[tuple]:
    parent_key, child_key = PARENT_KEY[NESTED[child][0]], CHILD_KEY.get(child)
    return [(r[parent_key], r["position"], r[child_key] if child_key else None)
            for r in output.records.get(child, [])]


def same_moment(emitted: Any, received: Any) -> bool:
    """A datetime field: converted to the UTC form, or passed on raw ('' becomes null)."""
    if emitted == received or (received == "" and emitted is None):
        return True
    if not records.is_utc_datetime(emitted) or not isinstance(received, str):
        return False
    moment = datetime.fromisoformat(received)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment == datetime.fromisoformat(emitted)


# -- the run ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_sim() -> Iterator[Simulator]:
    """One simulator for every example; each example replaces what it serves."""
    sim = Simulator(scale=0.02, regions=["nashville"], auth_rate_limit=False)
    sim.start()
    yield sim
    sim.stop()


@contextmanager
def warnings_logged() -> Iterator[list[str]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler, root = Collect(logging.WARNING), logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


@FUZZ_SETTINGS
@given(properties=top_level(PROPERTY), reservations=top_level(RESERVATION),
       people=top_level(PERSON), tasks_per_home=st.lists(st.lists(TASK, max_size=3), max_size=4))
def test_the_tap_survives_any_content(fuzz_sim: Simulator, properties, reservations, people,
                                      tasks_per_home):
    received_properties = first_occurrences(as_received(properties))
    homes = home_ids(received_properties)
    tasks_for = {home: tasks for home, tasks in zip(dict.fromkeys(homes), tasks_per_home,
                                                   strict=False)}
    fuzz_sim.serve_verbatim("nashville", "/property", properties)
    fuzz_sim.serve_verbatim("nashville", "/reservation", reservations)
    fuzz_sim.serve_verbatim("nashville", "/people", people)
    fuzz_sim.serve_verbatim("nashville", "/task/",
                            lambda query: tasks_for.get(query["home_id"][-1], []))
    fuzz_sim.reset_counters()

    with warnings_logged() as warnings:
        output = sdk_messages(run_tap_lines(fuzz_sim, "nashville"))

    received = {
        "properties": received_properties,
        "reservations": first_occurrences(as_received(reservations)),
        "people": first_occurrences(as_received(people)),
        "tasks": first_occurrences(as_received(
            [task for home in homes for task in tasks_for.get(home, [])])),
    }
    assert_parents_emitted(output, received)
    not_objects = sum(not isinstance(item, dict) for served in (properties, reservations, people)
                      for item in served)
    not_objects += sum(not isinstance(task, dict) for tasks in tasks_for.values() for task in tasks)
    not_lists = 0
    for child in NESTED:
        rows, skipped, odd_arrays = expected_children(received[NESTED[child][0]], child)
        assert child_rows(output, child) == rows, child
        not_objects, not_lists = not_objects + skipped, not_lists + odd_arrays
    assert sum("not an object" in line for line in warnings) == not_objects
    assert sum("not a list" in line for line in warnings) == not_lists
    assert not [line for line in warnings if SECRET in line]
    assert_bookmarks_readable(output)


def assert_parents_emitted(output: TapOutput, received: dict[str, list[dict]]) -> None:
    plain = {"properties": records.PROPERTY_FIELDS, "reservations": records.RESERVATION_FIELDS,
             "tasks": records.TASK_FIELDS, "people": ("id", "first_name", "last_name")}
    moments = {"reservations": ("created_at", "updated_at"),
               "tasks": ("created_at", "updated_at", "started_at", "finished_at")}
    for stream, objects in received.items():
        emitted = output.records.get(stream, [])
        assert len(emitted) == len(objects), stream
        for record, obj in zip(emitted, objects, strict=True):
            assert record["region_code"] == "nashville"
            for field in plain[stream]:
                assert record[field] == obj.get(field), (stream, field)
            for field in moments.get(stream, ()):
                assert same_moment(record[field], obj.get(field)), (stream, field)


def assert_bookmarks_readable(output: TapOutput) -> None:
    assert output.of_type("STATE")
    for stream in ("reservations", "tasks"):
        for partition in output.final_state["bookmarks"].get(stream, {}).get("partitions", []):
            if "replication_key_value" in partition:
                assert records.is_utc_datetime(partition["replication_key_value"])
