"""The tap's shortcuts around SDK per-record work keep the SDK's behaviour.

Output is written in chunks (flushed at STATE and when a stream ends, even by an error),
selection pruning is skipped only when nothing is deselected, and datetimes already in
the output form skip the conversion. Each is checked where it could go wrong.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime

import pytest
from breezeway_sim import Simulator
from singer_sdk.singerlib import RecordMessage, StateMessage
from tap_breezeway.output import CHUNK_BYTES, StateFlushingWriter
from tap_breezeway.records import utc_datetime
from tap_breezeway.tap import TapBreezeway
from tap_harness import expected_counts, run_tap, tap_config


# -- chunked output ------------------------------------------------------------------------
class _TrickleFile(io.RawIOBase):
    """A raw stdout that takes at most `limit` bytes per write, as a pipe may."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        taken = bytes(chunk[: self.limit])
        self.data += taken
        return len(taken)


class _Stdout:
    """What the writer sees as `sys.stdout`: only `.buffer` is used."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.buffer = raw


def _record(number: int) -> RecordMessage:
    return RecordMessage(stream="people", record={"id": number, "name": "x" * 200})


def test_records_wait_for_a_chunk_or_state_and_leave_whole_and_in_order():
    raw = _TrickleFile(limit=1000)  # forces the partial-write loop
    writer = StateFlushingWriter()
    with redirect_stdout(_Stdout(raw)):  # type: ignore[type-var]
        writer.write_message(_record(1))
        assert raw.data == b""  # held back: no system call per record
        writer.write_message(StateMessage(value={"bookmarks": {}}))
        assert [json.loads(line)["type"] for line in raw.data.splitlines()] == [
            "RECORD", "STATE"]
        count = 0
        while len(raw.data) < CHUNK_BYTES:  # a full chunk leaves without a STATE
            count += 1
            writer.write_message(_record(count))
            assert count < CHUNK_BYTES  # every record has > 1 byte
        ids = [json.loads(line)["record"]["id"] for line in raw.data.splitlines()[2:]]
        assert ids == list(range(1, count + 1))


def test_a_failing_stream_still_writes_the_records_it_read(module_sim: Simulator):
    clean = run_tap(module_sim, "austin").records["properties"]
    breaking = clean[2]["id"]  # the third property makes a stream map divide by zero
    maps = {"properties": {"notes": f"1 // (id - {breaking})"}}
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    tap = TapBreezeway(config=tap_config(module_sim, "austin", stream_maps=maps))
    with redirect_stdout(buffer), pytest.raises(Exception, match="division"):
        tap.sync_all()
    buffer.seek(0)
    lines = [json.loads(line) for line in buffer.read().splitlines()]
    assert lines[-1]["type"] != "STATE"  # what follows the last STATE was buffered ...
    written = [m["record"]["id"] for m in lines
               if m["type"] == "RECORD" and m["stream"] == "properties"]
    assert written == [p["id"] for p in clean[:2]]  # ... and still arrived
    photos = {m["record"]["property_id"] for m in lines
              if m["type"] == "RECORD" and m["stream"] == "property_photos"}
    assert photos <= set(written)


# -- selection -------------------------------------------------------------------------------
def _deselect_properties(catalog: dict, stream: str, names: set[str]) -> dict:
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] != stream:
            continue
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"][-1:] and metadata["breadcrumb"][-1] in names:
                metadata["metadata"]["selected"] = False
    return catalog


def test_deselected_properties_leave_parents_and_children(module_sim: Simulator):
    catalog = TapBreezeway(config=tap_config(module_sim, "austin")).catalog_dict
    _deselect_properties(catalog, "properties", {"wifi_password", "notes"})
    _deselect_properties(catalog, "task_photos", {"url"})
    output = run_tap(module_sim, "austin", catalog=catalog)
    assert output.counts() == expected_counts(module_sim, "austin")
    assert output.records["task_photos"]
    for prop in output.records["properties"]:
        assert "wifi_password" not in prop and "notes" not in prop
        assert "name" in prop and prop["region_code"] == "austin"
    for photo in output.records["task_photos"]:
        assert set(photo) == {"task_id", "photo_id", "position", "region_code"}


def test_a_full_selection_keeps_every_contract_field(module_sim: Simulator):
    output = run_tap(module_sim, "austin")
    for prop in output.records["properties"]:
        assert "wifi_password" in prop and "notes" in prop
    for photo in output.records["task_photos"]:
        assert set(photo) == {"task_id", "photo_id", "position", "region_code", "url"}


# -- datetimes ---------------------------------------------------------------------------------
def _converted(value: str) -> str:
    """The general conversion, which the fast path must match character for character."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC).isoformat()
    return moment.astimezone(UTC).isoformat()


@pytest.mark.parametrize("value", [
    "2024-03-05T10:11:12", "2024-03-05T10:11:12+00:00",  # the two upstream forms
    "2024-03-05 10:11:12", "2024-03-05t10:11:12", "2024-W10-2T10:11:12",
    "2024-03-05T10:11:12.000000", "2024-03-05T10:11:12.5+00:00", "2024-03-05T10:11:12Z",
    "2024-03-05T10:11:12-00:00", "2024-03-05T10:11:12+0000", "2024-03-05T10:11:12-05:00",
    "2024-03-05T23:11:12+01:00", "2024-03-05T10:11", "20240305T101112", "2024-03-05",
])
def test_datetimes_match_the_general_conversion(value: str):
    assert utc_datetime(value) == _converted(value)


@pytest.mark.parametrize("value", [
    "2024-13-05T10:11:12", "2024-02-30T10:11:12+00:00", "2024-03-05T10:11:60",
    "\uff12\uff10\uff12\uff14-03-05T10:11:12", "2024-03-05T10:11:12+00:00 ", "soon",
])
def test_unparsable_datetimes_pass_through_for_the_target_to_reject(value: str):
    assert utc_datetime(value) == value
