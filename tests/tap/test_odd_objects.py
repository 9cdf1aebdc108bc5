"""A whole tap run against objects of any shape: it completes, emits what it can, logs the rest.

The simulator serves the objects verbatim (its own filters could not read them), over HTTP.
Each test failed before the tap learnt the case: a crash (TypeError, AttributeError,
OverflowError, UnicodeEncodeError, RecursionError), a retry loop ending in a failed region,
or a bookmark that broke the next run.
"""

from __future__ import annotations

import copy
import io
import json
import logging
from collections.abc import Callable
from contextlib import redirect_stdout
from decimal import Decimal
from typing import Any

import pytest
from breezeway_sim import Simulator
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.singerlib import RecordMessage
from tap_breezeway import records
from tap_breezeway.output import StateFlushingWriter
from tap_breezeway.tap import TapBreezeway
from tap_harness import deselect, run_tap_lines, sdk_messages, tap_config

SECRET = "wifi-pass-5521"  # a record value: never in a log line
PROPERTY_PATH, TASK_PATH = "/public/inventory/v1/property", "/public/inventory/v1/task/"


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(regions=["nashville"], auth_rate_limit=False)


def serve(sim: Simulator, *, properties: Any = None, tasks: dict | None = None,
          reservations: Any = None, people: Any = None) -> None:
    for path, answer in (("/property", properties), ("/reservation", reservations),
                         ("/people", people)):
        if answer is not None:
            sim.serve_verbatim("nashville", path, answer)
    if tasks is not None:
        sim.serve_verbatim("nashville", "/task/", lambda query: tasks.get(query["home_id"][-1], []))


def a_property(sim: Simulator, **fields: Any) -> dict:
    return {**copy.deepcopy(sim.data("nashville").properties[0]), **fields}


def a_task(sim: Simulator, **fields: Any) -> dict:
    arrays = {"photos": [], "costs": [], "supplies": [], "assignments": []}
    return {**copy.deepcopy(sim.data("nashville").tasks[0]), **arrays, **fields}


def test_odd_parents_are_emitted_non_objects_logged_and_the_run_completes(sim, caplog):
    caplog.set_level(logging.INFO)
    odd_ids = [{"k": SECRET}, [SECRET], 1.5, True, None, 10**30, "77", "x7"]
    properties = [a_property(sim, id=1), "not an object", 42, None, [SECRET],
                  *(a_property(sim, id=odd, wifi_password=SECRET) for odd in odd_ids),
                  a_property(sim, id=1, name="repeat")]
    tasks = {
        "1": [a_task(sim, id=500, home_id=1, type_task_status="x", linked_reservation=[1],
                     photos=[SECRET, None, {"id": {"k": 1}}, {"id": 3}, {"id": 3}],
                     costs={"id": 1}, supplies=SECRET, assignments=7)],
        "77": [a_task(sim, id=501, home_id="77", summary=[SECRET])],
        str(10**30): [a_task(sim, id=502, home_id=10**30)],
    }
    serve(sim, properties=properties, tasks=tasks,
          people=[{"id": 1, "first_name": 5, "last_name": ["x"]}, SECRET])
    output = sdk_messages(run_tap_lines(sim, "nashville"))

    emitted = [row["id"] for row in output.records["properties"]]
    assert emitted == [1, *odd_ids]  # every object, in API order; the repeat of id 1 skipped
    assert [row["id"] for row in output.records["tasks"]] == [500, 502, 501]  # property order
    assert [(p["photo_id"], p["position"]) for p in output.records["task_photos"]] == [
        ({"k": 1}, 2), (3, 3)]
    for stream in ("task_costs", "task_supplies", "task_assignments"):
        assert stream not in output.records
    assert output.records["people"] == [{**output.records["people"][0], "name": None}]
    # Task calls only for ids that can be a home_id; none failed.
    homes = sorted(q["home_id"] for _, p, q, _ in sim.requests_log if p == TASK_PATH)
    assert homes == sorted(["1", "77", str(10**30)])
    # The checklist calls of these verbatim tasks answer 404 (the simulator has no such
    # tasks): refused, reported, not retried; every other call answered.
    requirement_calls = [p for _, p, _, _ in sim.requests_log if p.endswith("/requirements")]
    assert sorted(requirement_calls) == [f"{TASK_PATH}{n}/requirements" for n in (500, 501, 502)]
    assert all(status == 200 for _, path, _, status in sim.requests_log
               if not path.endswith("/requirements"))

    text = caplog.text
    assert "not an object" in text and "'properties'" in text
    assert "task_photos" in text and "`costs` of task_id=500 is a dict, not a list" in text
    assert "1 property id(s) are not numbers" in text  # "x7"
    for kind in ("a dict", "a list", "a float", "a bool", "a null"):
        assert f"properties: an object whose id is {kind} is passed on" in text
    assert SECRET not in text


def test_tasks_alone_read_only_the_numeric_property_ids(sim, caplog):
    properties = [a_property(sim, id=odd) for odd in ({"k": 1}, 1.5, None, "x7", 3, "4", 3, 0)]
    serve(sim, properties=[*properties, SECRET], tasks={"3": [a_task(sim, id=9, home_id=3)]})
    catalog = TapBreezeway(config=tap_config(sim, "nashville")).catalog_dict
    lines = run_tap_lines(sim, "nashville", catalog=deselect(catalog, {"tasks"}))
    assert [row["id"] for row in sdk_messages(lines).records["tasks"]] == [9]
    homes = sorted(q["home_id"] for _, p, q, _ in sim.requests_log if p == TASK_PATH)
    assert homes == ["0", "3", "4"]
    assert "1 property id(s) are not numbers" in caplog.text


def test_odd_updated_at_never_reaches_the_bookmark(sim, caplog):
    odd = [5, "zzz", "9999-12-31T23:00:00-05:00", {"a": SECRET}, ["2030-01-01"], True,
           "0001-01-01T00:00:00+01:00"]
    tasks = {"1": [a_task(sim, id=600 + i, home_id=1, updated_at=value)
                   for i, value in enumerate(odd)]}
    tasks["1"].append(a_task(sim, id=700, home_id=1, updated_at="2020-02-02T10:00:00Z"))
    serve(sim, properties=[a_property(sim, id=1)], tasks=tasks)
    output = sdk_messages(run_tap_lines(sim, "nashville"))

    by_id = {row["id"]: row["updated_at"] for row in output.records["tasks"]}
    assert [by_id[600 + i] for i in range(len(odd))] == odd  # passed on raw
    assert by_id[700] == "2020-02-02T10:00:00+00:00"
    bookmark = output.final_state["bookmarks"]["tasks"]["partitions"][0]
    assert records.is_utc_datetime(bookmark["replication_key_value"])
    assert bookmark["replication_key_value"] > "2020-02-02T10:00:00+00:00"  # sync start fallback
    assert "updated_at" in caplog.text and "task" in caplog.text and SECRET not in caplog.text
    # The next run starts from that bookmark without trouble.
    again = sdk_messages(run_tap_lines(sim, "nashville", state=output.final_state))
    assert len(again.records["tasks"]) == len(odd) + 1


def page(*objects: bytes) -> bytes:
    return b'{"total_pages": 1, "results": [' + b", ".join(objects) + b"]}"


def test_a_page_only_a_lenient_decoder_reads_is_emitted_with_what_could_be_read(sim, caplog):
    caplog.set_level(logging.WARNING)
    odd = (b'{"id": 1, "name": "a\\ud800b", "city": "\\udfff", "notes": "caf\xe9 ' +
           SECRET.encode() + b'", "latitude": 1e400, "longitude": -1e400,'
           b' "groups": {"k\\udc00": ["\\ud83d\\ude00"]}, "bedrooms": NaN,'
           b' "bathrooms": -Infinity, "year_built": ' + b"9" * 5000 + b"}")
    serve(sim, properties=page(odd, b'{"id": 2, "name": "plain"}'), tasks={})
    output = sdk_messages(run_tap_lines(sim, "nashville"))

    first, second = output.records["properties"]
    assert first["name"] == "a\ufffdb" and first["city"] == "\ufffd"
    assert first["notes"] == f"caf\ufffd {SECRET}"  # the byte that is not UTF-8 replaced
    assert first["latitude"] == Decimal("1e400") and first["longitude"] == Decimal("-1e400")
    assert first["groups"] == {"k\ufffd": ["\U0001f600"]}  # a valid pair is one character
    assert first["bedrooms"] == "NaN" and first["bathrooms"] == "-Infinity"
    assert first["year_built"] == "9" * 5000  # beyond every JSON reader's integer digit limit
    assert second == {**second, "id": 2, "name": "plain"}
    warnings = caplog.text
    for field in ("name", "city", "notes", "groups", "bedrooms", "bathrooms", "year_built"):
        assert f"'{field}'" in warnings
    assert "id=1" in warnings and "'latitude'" not in warnings  # passed on exactly: no warning
    assert SECRET not in warnings


def test_a_page_nested_deeper_than_any_decoder_reads_fails_clearly_and_at_once(sim):
    serve(sim, properties=b'{"results": [' * 3000 + b"]}" * 3000)
    with pytest.raises(FatalAPIError, match=r"nested too deeply.*GET /public/inventory/v1/prop"):
        run_tap_lines(sim, "nashville")
    assert sum(1 for _, path, _, _ in sim.requests_log if path == PROPERTY_PATH) == 1


def test_a_page_that_is_broken_json_is_still_retried_as_truncated(sim):
    serve(sim, properties=b'{"total_pages": 1, "results": [{"id": 1, "name": "a')
    with pytest.raises(Exception, match="incomplete or invalid JSON"):
        run_tap_lines(sim, "nashville", backoff_max_tries=2)
    assert sum(1 for _, path, _, _ in sim.requests_log if path == PROPERTY_PATH) == 2


@pytest.mark.parametrize("value", ["a\ud800b", "deep"])
def test_a_record_value_the_writer_cannot_encode_is_sent_as_null_and_logged(value, caplog):
    # Values the tap's own reading never produces (it replaces lone surrogates, and a
    # decoder refuses such depth); the writer is the last guard for any other path.
    if value == "deep":
        value = []
        for _ in range(5000):
            value = [value]
    record = {"id": 7, "name": "ok", "groups": value, "wifi_password": SECRET}
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    writer = StateFlushingWriter()
    with redirect_stdout(buffer):
        writer.write_message(RecordMessage(stream="properties", record=record))
        writer.write_message(RecordMessage(stream="properties", record={"id": 8}))
        writer.flush()
    first, second = buffer.buffer.getvalue().splitlines()
    assert json.loads(first) == {"type": "RECORD", "stream": "properties",
                                 "record": {**record, "groups": None}}
    assert json.loads(second)["record"] == {"id": 8}
    assert "properties" in caplog.text and "id=7" in caplog.text and "'groups'" in caplog.text
    assert SECRET not in caplog.text
