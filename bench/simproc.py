"""The Breezeway API simulator as a separate process on a free loopback port.

A separate process, not a thread of the bench: the tap and the plain loop must not share a
GIL with the server they read from, and the simulator's counters must see every call.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from breezeway_sim.regions import REGIONS, credentials_for

READY_TIMEOUT_S = 300.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SimulatorProcess:
    """`python -m breezeway_sim` on 127.0.0.1, plus its `/_sim` admin endpoints."""

    def __init__(self, scale: float, log_path: Path, latency_ms: int = 0, seed: int = 7,
                 cache_responses: bool = True, inactive_share: float | None = None,
                 regions: list[str] | None = None) -> None:
        self.scale, self.seed, self.latency_ms = scale, seed, latency_ms
        self.cache_responses = cache_responses
        self.inactive_share = inactive_share
        self.regions = regions
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> SimulatorProcess:
        """Start and wait until the data is generated and the port answers."""
        command = [
            sys.executable, "-m", "breezeway_sim", "--port", str(self.port),
            "--scale", str(self.scale), "--seed", str(self.seed),
            "--latency-ms", str(self.latency_ms),
            # Several tap runs per region follow each other within a minute; the real
            # 1-call-per-minute token limit would only add sleeps to the measurement.
            "--no-auth-rate-limit",
        ]
        if self.inactive_share is not None:
            command += ["--inactive-share", str(self.inactive_share)]
        if self.regions:
            command += ["--regions", ",".join(self.regions)]
        if self.cache_responses:
            # Answers encoded once and replayed: the measured side is the client, not the
            # simulator's filtering and sorting (the bench warms the cache first).
            command.append("--cache-responses")
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"simulator exited with {self._process.returncode}; see {self.log_path}"
                )
            try:
                self.counters()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"simulator not ready after {READY_TIMEOUT_S:.0f}s: {self.log_path}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- admin endpoints --
    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def counters(self) -> dict[str, int]:
        """Calls per `METHOD /path-template` since the last reset (admin calls excluded)."""
        return dict(self._admin("GET", "/_sim/counters"))

    def reset_counters(self) -> None:
        self._admin("POST", "/_sim/reset-counters", {})

    def set_latency(self, latency_ms: int) -> None:
        self._admin("POST", "/_sim/faults", {"latency_ms": latency_ms})
        self.latency_ms = latency_ms


def region_config(base_url: str, region: str) -> dict[str, Any]:
    """Tap settings of one simulated region (simulator-only fake credentials)."""
    client_id, client_secret = credentials_for(region)
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "region_code": region,
        "company_id": REGIONS[region],
        "api_url": base_url,
        "start_date": "2015-01-01T00:00:00+00:00",
    }
