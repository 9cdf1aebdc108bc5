"""The tap's output piped into target-jsonl (a generic Singer target).

target-jsonl pins a jsonschema that conflicts with singer-sdk, so it cannot live in the
project venv: the test builds a venv of its own for it (or uses the executable named by
BREEZEWAY_TARGET_JSONL). The Meltano tests cover the same through the plugin venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
from breezeway_sim import Simulator
from tap_harness import expected_counts, run_tap

TARGET_JSONL_PIP = "target-jsonl==0.1.4"


@pytest.fixture(scope="module")
def target_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """target-jsonl in a venv of its own (its jsonschema pin conflicts with singer-sdk)."""
    configured = os.environ.get("BREEZEWAY_TARGET_JSONL")
    if configured:
        return Path(configured)
    home = tmp_path_factory.mktemp("target-jsonl-venv")
    venv.create(home, with_pip=True)
    subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    TARGET_JSONL_PIP], check=True, capture_output=True, text=True)
    return home / "bin" / "target-jsonl"


def test_output_loads_into_target_jsonl(module_sim: Simulator, tmp_path: Path,
                                        target_jsonl: Path):
    output = run_tap(module_sim, "nashville")
    lines = "".join(json.dumps(message) + "\n" for message in output.messages)
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"destination_path": str(tmp_path), "do_timestamp_file": False}))
    subprocess.run([str(target_jsonl), "--config", str(config)], input=lines, text=True,
                   check=True, capture_output=True)
    for stream, count in expected_counts(module_sim, "nashville").items():
        written = (tmp_path / f"{stream}.jsonl").read_text().splitlines()
        assert len(written) == count, stream
