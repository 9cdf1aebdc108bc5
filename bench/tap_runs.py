"""tap-breezeway against the simulator: records/s, the recorded `.singer` files, API calls."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from bench.procs import run_measured
from bench.simproc import SimulatorProcess

TAP = str(Path(sys.executable).with_name("tap-breezeway"))


@dataclass
class SingerSummary:
    """What a recorded tap output holds (used for counts and the minimum-call baseline)."""

    records: Counter[str] = field(default_factory=Counter)
    tasks_per_home: Counter[Any] = field(default_factory=Counter)
    property_ids: list[Any] = field(default_factory=list)
    property_statuses: dict[Any, Any] = field(default_factory=dict)
    last_state: dict[str, Any] | None = None

    @property
    def total(self) -> int:
        return sum(self.records.values())


def summarize(path: Path) -> SingerSummary:
    """Count RECORDs per stream, tasks per property, and keep the last STATE."""
    summary = SingerSummary()
    decoder = msgspec.json.Decoder()
    with path.open("rb") as lines:
        for line in lines:
            message = decoder.decode(line)
            kind = message.get("type")
            if kind == "RECORD":
                stream, record = message["stream"], message["record"]
                summary.records[stream] += 1
                if stream == "tasks":
                    summary.tasks_per_home[record.get("home_id")] += 1
                elif stream == "properties":
                    summary.property_ids.append(record.get("id"))
                    summary.property_statuses[record.get("id")] = record.get("status")
            elif kind == "STATE":
                summary.last_state = message["value"]
    return summary


@dataclass
class TapRun:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    calls: dict[str, int]
    summary: SingerSummary


def run_tap(
    sim: SimulatorProcess,
    config: dict[str, Any],
    work: Path,
    output: Path,
    state: dict[str, Any] | None = None,
) -> TapRun:
    """One tap run for one region; the simulator's counters are reset before it."""
    region = config["region_code"]
    config_path = work / f"tap-{region}.json"
    config_path.write_text(json.dumps(config))
    command = [TAP, "--config", str(config_path)]
    if state is not None:
        state_path = work / f"state-{region}.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    sim.reset_counters()
    with output.open("wb") as out:
        measured = run_measured(command, stdout=out, stderr_path=output.with_suffix(".log"))
    return TapRun(measured.seconds, measured.peak_rss_mb, measured.cpu_seconds, sim.counters(),
                  summarize(output))


def concatenate(parts: list[Path], target: Path) -> None:
    """One `.singer` file of all regions, as a target sees several runs in sequence."""
    with target.open("wb") as out:
        for part in parts:
            out.write(part.read_bytes())
