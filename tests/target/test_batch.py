"""BATCH messages: loaded through the same path as RECORD messages; tap-breezeway writes none.

Another tap may send BATCH files (JSONL, gzip); the SDK reads them into our sink, which used
to drop their records silently (0 rows loaded, children quarantined as orphans, run
succeeded). tap-breezeway cannot keep children after their parents in BATCH files, so it
does not advertise the capability and refuses a `batch_config` before writing anything.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import dump, target_config

tap_module = pytest.importorskip("tap_breezeway.tap")
sys.path.insert(0, str(Path(__file__).parents[1] / "tap"))
from tap_harness import tap_config  # noqa: E402

REGION = "nashville"


def tap_lines(sim: Any) -> list[dict[str, Any]]:
    tap = tap_module.TapBreezeway(config=tap_config(sim, REGION))
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return [json.loads(line) for line in buffer.read().splitlines() if line]


def as_batches(messages: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """The same run as a batching tap would write it: each stream's records in one gzip
    JSONL file announced by one BATCH message where the stream's last record was, parents'
    streams first (the order a batching tap writes them in)."""
    records: dict[str, list[dict]] = {}
    for message in messages:
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    out = [m for m in messages if m["type"] == "SCHEMA"]
    for stream, rows in records.items():
        path = folder / f"{stream}.json.gz"
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.writelines(json.dumps(row) + "\n" for row in rows)
        out.append({"type": "BATCH", "stream": stream, "manifest": [path.as_uri()],
                    "encoding": {"format": "jsonl", "compression": "gzip"}})
    out += [m for m in messages if m["type"] == "STATE"][-1:]
    return out


def load(db: Any, messages: list[dict[str, Any]]) -> None:
    target = TargetBreezewayPostgres(config=target_config(db))
    try:
        with redirect_stdout(io.StringIO()):
            target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    finally:
        target.session.close()


@pytest.mark.slow
def test_a_batch_run_loads_exactly_what_the_record_run_loads(
        simulator, migrated_db, second_db, tmp_path):
    messages = tap_lines(simulator)
    load(migrated_db, messages)
    load(second_db, as_batches(messages, tmp_path))
    surrogate = ("synced_at", "created_at", "updated_at", "id", "property_pk",
                 "reservation_pk", "task_pk")
    got = dump(second_db, exclude=surrogate)
    assert got["properties"], "the batch run loaded nothing"
    assert got == dump(migrated_db, exclude=surrogate)
    quarantine = "SELECT stream, natural_key::text, reason FROM load_rejects ORDER BY 1, 2"
    assert second_db.query(quarantine) == migrated_db.query(quarantine)


def test_the_tap_refuses_batch_config_before_writing_anything(simulator, capsys):
    with pytest.raises(ConfigValidationError, match="does not write BATCH"):
        tap_module.TapBreezeway(config=tap_config(
            simulator, REGION, batch_config={"encoding": {"format": "jsonl"},
                                             "storage": {"root": "file:///tmp"}})).sync_all()
    assert capsys.readouterr().out == ""
    assert "batch" not in tap_module.TapBreezeway.capabilities
