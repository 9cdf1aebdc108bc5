"""What a run spends of the API: requests per stream, reported in stream `api_usage`.

Operators budget a region's calls (most of them are the per-property task lists and, with
requirements, one call per task); the tap knows exactly what it sent, so it says so, once
per stream and run, and a target can keep it next to the run's other counts.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tap_breezeway.client import SideStream


class CallCounter:
    """HTTP requests made, retries included; safe to count from the task worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0

    def count(self) -> None:
        with self._lock:
            self._calls += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._calls


def write_usage(usage: SideStream, region_code: str, stream: str, run_started: datetime,
                calls: int, **details: Any) -> None:
    """One `api_usage` record (its SCHEMA first, if not sent yet)."""
    with ExitStack() as stack:
        usage.start_run(stack)
        usage.write({
            "region_code": region_code,
            "stream": stream,
            "run_started_at": run_started.isoformat(),
            "calls": calls,
            "full_window": details.get("full_window"),
            "properties_listed": details.get("properties_listed"),
            "properties_called": details.get("properties_called"),
        })
