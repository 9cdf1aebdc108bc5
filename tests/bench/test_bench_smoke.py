"""The benchmark at a tiny scale: it runs end to end and produces its table (no timing asserts:
performance is judged side by side in a real run, never by wall-clock thresholds here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from bench.__main__ import BEGIN, END, write_results
from bench.scaled import ID_SHIFT, write_scaled

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_writes_a_table_of_every_comparison(pg_admin_url: str, tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--skip-theirs", "--admin-url", pg_admin_url,
         "--out", str(tmp_path / "out"), "--results", str(results)],
        cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    table = results.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    numbers = sorted({row.split("|")[1].strip() for row in rows[1:]})
    assert numbers == ["2", "3", "4", "5", "7"]
    # Call counts are exact (no timing): the minimum, and only active properties' task calls.
    for row in rows:
        if row.split("|")[1].strip() in ("4", "7"):
            assert row.rstrip(" |").endswith("yes"), row
    assert "rec/s" in table and "minimum" in table and "postgresql" in table
    assert table.startswith("# Benchmark results") and BEGIN in table and END in table


def test_results_keep_the_hand_written_text_around_the_markers(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(f"intro\n{BEGIN}\nold table\n{END}\nprofile notes\n")
    write_results(results, "new table\n")
    assert results.read_text() == f"intro\n{BEGIN}\nnew table\n{END}\nprofile notes\n"


def test_scaled_file_repeats_the_records_with_new_ids(tmp_path: Path) -> None:
    source = tmp_path / "in.singer"
    lines = [
        {"type": "SCHEMA", "stream": "tasks", "schema": {}, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "tasks", "record": {"id": 5, "home_id": 7, "position": 0}},
        {"type": "STATE", "value": {}},
        {"type": "RECORD", "stream": "tasks", "record": {"id": 6, "home_id": 7, "position": 1}},
    ]
    source.write_bytes(b"".join(msgspec.json.encode(line) + b"\n" for line in lines))
    target = tmp_path / "out.singer"
    assert write_scaled(source, target, 5) == 5
    messages = [msgspec.json.decode(line) for line in target.read_bytes().splitlines()]
    assert [m["type"] for m in messages] == ["SCHEMA"] + ["RECORD"] * 5
    records = [m["record"] for m in messages[1:]]
    assert [r["id"] for r in records] == [5, 6, 5 + ID_SHIFT, 6 + ID_SHIFT, 5 + 2 * ID_SHIFT]
    assert records[2]["home_id"] == 7 + ID_SHIFT and records[2]["position"] == 0
