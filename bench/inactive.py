"""Stage 7: task-list calls of a region whose token lists mostly inactive properties.

`/property` lists inactive units too (one production token listed >5,000 properties for 524
active). An incremental run calls only properties of `task_property_statuses` (default
active ones); a full-window run still calls every listed one. Measured here on a simulator
of its own with `--inactive-share`, against the same incremental run calling every property
(`task_property_statuses: ["*"]`, what the tap did before), all with the API's own counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import Row, ratio
from bench.simproc import SimulatorProcess, region_config
from bench.tap_runs import run_tap

TASK_LIST = "GET /public/inventory/v1/task/"
REQUIREMENTS = "GET /public/inventory/v1/task/{id}/requirements"
INACTIVE_SHARE = 0.9
REGION = "nashville"
#: The tap's default `task_property_statuses`.
CALLED_STATUSES = ("active", "pending_delete")


@dataclass
class InactiveCalls:
    listed: int
    active: int
    ours: int  # task-list calls, incremental run, default statuses
    every_property: int  # the same run calling every listed property
    reconcile: int  # a reconcile run (full window)


def measure(scale: float, out: Path) -> InactiveCalls:
    """Full run, then incremental runs (nothing changed) with and without the filter, and
    a reconcile run; the task-list calls of each."""
    with SimulatorProcess(scale, out / "simulator-inactive.log",
                          inactive_share=INACTIVE_SHARE, regions=[REGION]) as sim:
        config: dict[str, Any] = {**region_config(sim.base_url, REGION),
                                  "max_requests_per_second": 0}
        full = run_tap(sim, config, out, out / "inactive-full.singer")
        statuses = full.summary.property_statuses
        state = full.summary.last_state

        def task_calls(label: str, **settings: Any) -> int:
            run = run_tap(sim, {**config, **settings}, out, out / f"inactive-{label}.singer",
                          state)
            return run.calls.get(TASK_LIST, 0)

        return InactiveCalls(
            listed=len(statuses),
            active=sum(status in CALLED_STATUSES for status in statuses.values()),
            ours=task_calls("incremental"),
            every_property=task_calls("every-property", task_property_statuses=["*"]),
            reconcile=task_calls("reconcile", reconcile=True),
        )


def rows(calls: InactiveCalls) -> tuple[list[Row], str]:
    """The stage's rows and its note."""
    share = f"{INACTIVE_SHARE:.0%} of {calls.listed} properties inactive"
    result = [
        Row("7", f"task-list calls, incremental run, {share}", f"{calls.ours:,}",
            f"every listed property {calls.every_property:,}",
            f"{ratio(calls.ours, calls.every_property):.2f}",
            f"= active share {calls.active / calls.listed:.2f}",
            calls.ours == calls.active and calls.every_property == calls.listed),
        Row("7", "task-list calls, reconcile run (full window), same region",
            f"{calls.reconcile:,}", f"listed properties {calls.listed:,}",
            f"{ratio(calls.reconcile, calls.listed):.2f}", "1.00",
            calls.reconcile == calls.listed),
    ]
    note = (f"Inactive properties: {REGION} with `--inactive-share {INACTIVE_SHARE}` "
            f"({calls.active} of {calls.listed} properties active). An incremental run with "
            f"nothing changed made {calls.ours} task-list calls; the same run calling every "
            f"listed property (`task_property_statuses: [\"*\"]`) {calls.every_property}; a "
            f"reconcile run {calls.reconcile}. Requirement calls follow the tasks read, not "
            "the properties (none here: nothing changed).")
    return result, note
