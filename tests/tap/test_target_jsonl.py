"""The tap's output piped into target-jsonl (a generic Singer target).

target-jsonl pins a jsonschema that conflicts with singer-sdk, so it cannot live in the
project venv. Point BREEZEWAY_TARGET_JSONL at its executable in a venv of its own to run
this test; otherwise it is skipped (the Meltano plugin venv covers it end to end).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from breezeway_sim import Simulator
from tap_harness import expected_counts, run_tap

TARGET_JSONL = os.environ.get("BREEZEWAY_TARGET_JSONL")


@pytest.mark.skipif(not TARGET_JSONL, reason="set BREEZEWAY_TARGET_JSONL to a target-jsonl "
                    "executable (own venv: its jsonschema pin conflicts with singer-sdk)")
def test_output_loads_into_target_jsonl(module_sim: Simulator, tmp_path: Path):
    output = run_tap(module_sim, "nashville")
    lines = "".join(json.dumps(message) + "\n" for message in output.messages)
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"destination_path": str(tmp_path), "do_timestamp_file": False}))
    subprocess.run([str(TARGET_JSONL), "--config", str(config)], input=lines, text=True,
                   check=True, capture_output=True)
    for stream, count in expected_counts(module_sim, "nashville").items():
        written = (tmp_path / f"{stream}.jsonl").read_text().splitlines()
        assert len(written) == count, stream
