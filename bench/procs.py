"""Running a measured subprocess: wall time, CPU time and the peak RSS of that process alone.

CPU comes from `os.wait4` (the rusage of exactly the child waited for). The peak RSS does
NOT: Linux carries the parent's high-water mark into a forked child's `ru_maxrss` across
exec, so a bench holding 800 MB would report 800 MB for every child (measured). The peak is
read instead from `VmHWM` in /proc/<pid>/status — the high-water mark of the child's own
address space after exec — polled until the child exits (monotonic, so only a peak in the
last poll interval could be missed).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    #: User + system CPU of the process itself: what it costs, whoever else is slow.
    cpu_seconds: float = 0.0


class ProcessFailedError(RuntimeError):
    """A measured command exited non-zero; the message ends with its stderr tail."""


POLL_SECONDS = 0.05


def _own_high_water_mb(pid: int, parent_cmdline: bytes) -> float | None:
    """VmHWM of the child once it has exec'ed (before that it may share our memory)."""
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes() == parent_cmdline:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None  # the child is gone (or a zombie with no memory left)
    return None


def _watch_peak(pid: int, done: threading.Event, peak: list[float]) -> None:
    parent_cmdline = Path("/proc/self/cmdline").read_bytes()
    while not done.is_set():
        value = _own_high_water_mb(pid, parent_cmdline)
        if value is not None:
            peak[0] = max(peak[0], value)
        done.wait(POLL_SECONDS)


def run_measured(
    command: list[str],
    *,
    stdin: IO[bytes] | int | None = None,
    stdout: IO[bytes] | int | None = None,
    stderr_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Measured:
    """Run to completion; raise with the stderr tail when it fails."""
    with stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd
        )
        done, peak = threading.Event(), [0.0]
        watcher = threading.Thread(target=_watch_peak, args=(process.pid, done, peak))
        watcher.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = stderr_path.read_text(errors="replace")[-2000:]
        raise ProcessFailedError(
            f"{Path(command[0]).name} exited with {process.returncode}; "
            f"stderr ({stderr_path}) ends with:\n{tail}"
        )
    return Measured(seconds, peak[0], usage.ru_utime + usage.ru_stime)
