"""What a run spends of the API: requests per stream, reported in stream `upstream_calls`.

Operators budget a region's calls (most of them are the per-property task lists and, with
requirements, one call per task); the tap knows exactly what it sent, so it says so, once
per stream and run, and a target can keep it next to the run's other counts.
"""

from __future__ import annotations

import threading


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
