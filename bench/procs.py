"""Running a measured subprocess: wall time and the peak RSS of that process alone.

`os.wait4` returns the rusage of exactly the child waited for, so the peak RSS is the
target's own (not the bench's, not other children's) and needs no sampling thread that
could miss a short peak.
"""

from __future__ import annotations

import os
import subprocess
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
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = stderr_path.read_text(errors="replace")[-2000:]
        raise ProcessFailedError(
            f"{Path(command[0]).name} exited with {process.returncode}; "
            f"stderr ({stderr_path}) ends with:\n{tail}"
        )
    # Linux reports ru_maxrss in KiB.
    return Measured(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
