"""records.py never raises on one object's content: it passes values on, or skips and logs.

Each case here raised (OverflowError, AttributeError, TypeError) before the tap learnt it.
"""

from __future__ import annotations

import logging

import pytest
from tap_breezeway import records

SECRET = "door-code-7391"  # stands for any record value: it must never reach a log line


@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00+01:00",      # before year 1 in UTC
    "0001-01-01T00:30:00+23:59",
    "9999-12-31T23:00:00-05:00",      # after year 9999 in UTC
    "9999-12-31T23:59:59.999999-00:01",
])
def test_a_datetime_without_a_utc_form_is_passed_on_raw(value: str):
    assert records.utc_datetime(value) == value
    assert not records.is_utc_datetime(records.utc_datetime(value))


@pytest.mark.parametrize(("value", "expected"), [
    ("0001-01-01T00:00:00", "0001-01-01T00:00:00+00:00"),
    ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59+00:00"),
    ("2024-05-01T10:00:00-05:00", "2024-05-01T15:00:00+00:00"),
])
def test_datetimes_at_the_edges_that_have_a_utc_form_are_converted(value: str, expected: str):
    assert records.utc_datetime(value) == expected
    assert records.is_utc_datetime(expected)


@pytest.mark.parametrize("value", [None, 5, 1.5, True, ["2024-01-01"], {"a": 1}, "", "zzz",
                                   "2024-01-01T00:00:00-05:00", "2024-01-01T00:00:00"])
def test_only_the_canonical_utc_form_counts_as_a_bookmarkable_datetime(value):
    assert not records.is_utc_datetime(value)


def task_photos(parent: dict, caplog) -> list[dict]:
    caplog.set_level(logging.WARNING, logger="tap_breezeway.records")
    return records.child_records(
        parent, stream="task_photos", array="photos", parent_key="task_id",
        child_key="photo_id", build=records.task_photo,
    )


def test_non_object_items_of_a_nested_array_are_skipped_and_logged(caplog):
    items = [{"id": 1, "url": "u1"}, SECRET, 42, None, [SECRET], {"id": 2, "url": "u2"}]
    rows = task_photos({"id": 9, "photos": items}, caplog)
    assert [(r["photo_id"], r["position"], r["task_id"]) for r in rows] == [(1, 0, 9), (2, 5, 9)]
    skipped = [r for r in caplog.records if "not an object" in r.getMessage()]
    assert len(skipped) == 4
    assert "task_photos" in caplog.text and "task_id=9" in caplog.text
    assert "position 1" in caplog.text and "a str" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("array", [SECRET, 7, {"id": 1, "url": SECRET}, True])
def test_a_nested_array_that_is_not_a_list_yields_no_children_and_is_logged(array, caplog):
    assert task_photos({"id": 9, "photos": array}, caplog) == []
    assert "task_photos" in caplog.text and "`photos`" in caplog.text
    assert "not a list" in caplog.text
    assert SECRET not in caplog.text


def test_a_missing_or_null_array_means_no_children_without_a_warning(caplog):
    assert task_photos({"id": 9}, caplog) == []
    assert task_photos({"id": 9, "photos": None}, caplog) == []
    assert caplog.text == ""


def test_odd_child_ids_are_passed_on_and_never_taken_for_duplicates(caplog):
    odd_ids = [{"k": SECRET}, [1, 2], 1.5, True, 10**30, None, 1.0, {"k": SECRET}, [1, 2], 1]
    rows = task_photos({"id": 9, "photos": [{"id": i} for i in odd_ids]}, caplog)
    # Only ints and strings (the API's id types) are de-duplicated; True is not 1.
    assert [r["photo_id"] for r in rows] == odd_ids
    assert [r["position"] for r in rows] == list(range(len(odd_ids)))
    assert SECRET not in caplog.text


def test_repeated_int_and_string_ids_keep_the_first_occurrence(caplog):
    photos = [{"id": 5, "url": "a"}, {"id": "5", "url": "b"}, {"id": 5, "url": "c"},
              {"id": "5", "url": "d"}, {"id": 10**30}, {"id": 10**30}]
    rows = task_photos({"id": 9, "photos": photos}, caplog)
    assert [(r["url"], r["position"]) for r in rows] == [("a", 0), ("b", 1), (None, 4)]
    assert caplog.text.count("duplicate") == 3


def test_an_odd_parent_id_is_named_by_its_type_in_logs(caplog):
    task_photos({"id": {"guest": SECRET}, "photos": [SECRET]}, caplog)
    assert "task_id=<dict>" in caplog.text
    assert SECRET not in caplog.text


def test_guests_are_keyed_by_position_and_odd_items_skipped(caplog):
    caplog.set_level(logging.WARNING, logger="tap_breezeway.records")
    guests = [{"first_name": "A"}, "B", {"first_name": 5, "emails": "x"}]
    rows = records.child_records(
        {"id": 1, "guests": guests}, stream="reservation_guests", array="guests",
        parent_key="reservation_id", child_key=None, build=records.reservation_guest,
    )
    assert [(r["first_name"], r["position"]) for r in rows] == [("A", 0), (5, 2)]


@pytest.mark.parametrize("odd", [
    {"type_task_status": "finished"},
    {"type_task_status": ["finished"]},
    {"linked_reservation": [1, 2]},
    {"linked_reservation": 5},
    {"summary": ["x"], "requested_by": 3, "type_priority": {"code": {"a": 1}}},
    {"template": "t", "subdepartment": [], "created_by": "x", "finished_by": 1},
    {"updated_at": {"a": 1}, "created_at": 10**40, "started_at": True, "finished_at": [1]},
    {},
])
def test_task_record_reads_any_shape(odd: dict):
    record = records.task_record({"id": 1, **odd})
    assert record["id"] == 1
    assert set(records.TASK_FIELDS) <= set(record)


@pytest.mark.parametrize(("first", "last", "name"), [
    (5, "Smith", "Smith"), (["a"], {"b": 1}, None), ("Ann", None, "Ann"), (True, "", None),
])
def test_person_name_is_built_from_string_parts_only(first, last, name):
    record = records.person_record({"id": 1, "first_name": first, "last_name": last})
    assert record["name"] == name
    assert record["first_name"] == first and record["last_name"] == last  # raw, passed on


def test_id_descriptions_name_ints_and_strings_and_only_the_type_of_others():
    assert records.describe_id(12) == "12"
    assert records.describe_id("ab") == "'ab'"
    assert len(records.describe_id("x" * 500)) < 60
    assert records.describe_id({"k": SECRET}) == "<dict>"
    assert records.describe_id(1.5) == "<float>"
    assert records.describe_id(True) == "<bool>"
    assert records.describe_id(None) == "None"
    assert len(records.describe_id(10**300)) < 60
