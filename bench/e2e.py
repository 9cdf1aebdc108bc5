"""End to end: `meltano run` for every region at once, as an orchestrator would start them.

Meltano gets its own system directory under bench/out (plugin venvs, one SQLite system
database per region so parallel runs do not lock each other) and a fresh state id per bench
run, so the team's `.meltano` is never touched and every run is a full sync.

Each region runs its job, `meltano --environment <region> run breezeway-sync-<region>`
(extractor `tap-breezeway--<region>`, see docs/scaling.md: one extractor name shared by
parallel runs breaks their catalog file). Each region gets its own SQLite system database so
eight writers do not queue on one SQLite lock; production would share a PostgreSQL one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml
from breezeway_sim.regions import REGIONS, credentials_for

PROJECT = Path(__file__).resolve().parents[1]
MELTANO = str(Path(sys.executable).with_name("meltano"))
TAP, TARGET = "tap-breezeway", "target-breezeway-postgres"
#: Meltano's console lines: `<timestamp> [<level>] <logger> <message>`.
LOGGER_NAME = re.compile(r"\] (\S+) ")


@dataclass
class RegionTiming:
    """Seconds from the start of `meltano run`: when each part was last (or first) heard."""

    region: str
    wall: float
    first_sync_line: float
    last_tap_line: float
    last_target_line: float

    @property
    def startup(self) -> float:
        """Meltano start-up, catalog discovery and plugin imports: until the first stream
        sync begins."""
        return self.first_sync_line

    @property
    def tap(self) -> float:
        return self.last_tap_line - self.first_sync_line

    @property
    def target_tail(self) -> float:
        """What the target still did after the tap's last line (final load unit, commit)."""
        return max(0.0, self.last_target_line - self.last_tap_line)

    @property
    def shutdown(self) -> float:
        return max(0.0, self.wall - max(self.last_tap_line, self.last_target_line))


def meltano_env(sys_dir: Path, database_url: str, api_url: str,
                db_name: str = "install.db") -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "MELTANO_SYS_DIR_ROOT": str(sys_dir),
        "MELTANO_DATABASE_URI": f"sqlite:///{sys_dir / db_name}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "BREEZEWAY_DATABASE_URL": database_url,
        "TAP_BREEZEWAY_API_URL": api_url,
        **{f"TAP_BREEZEWAY__{region.upper()}_API_URL": api_url for region in REGIONS},
    })
    return env


def start_dates(regions: list[str]) -> dict[str, str]:
    """Each region environment's `start_date` in meltano.yml (what its tap will send)."""
    project = yaml.safe_load((PROJECT / "meltano.yml").read_text())
    dates: dict[str, str] = {}
    for environment in project.get("environments", []):
        if environment["name"] not in regions:
            continue
        for extractor in environment["config"]["plugins"]["extractors"]:
            if "start_date" in extractor.get("config", {}):
                dates[environment["name"]] = str(extractor["config"]["start_date"])
    missing = sorted(set(regions) - set(dates))
    if missing:
        raise ValueError(f"meltano.yml has no tap start_date for environments {missing}")
    return dates


def install_plugins(sys_dir: Path, log: Path) -> None:
    """Build the plugin venvs once (not timed); later bench runs reuse them."""
    if (sys_dir / "loaders" / TARGET / "venv").exists() and (
        sys_dir / "extractors" / TAP / "venv"
    ).exists():
        return
    env = meltano_env(sys_dir, "", "", "install.db")
    with log.open("ab") as out:
        for kind, name in (("extractor", TAP), ("loader", TARGET)):
            subprocess.run([MELTANO, "install", kind, name], cwd=PROJECT, env=env,
                           stdout=out, stderr=subprocess.STDOUT, check=True)


def _run_region(region: str, env: dict[str, str], suffix: str, log: Path,
                timings: dict[str, RegionTiming], errors: dict[str, str]) -> None:
    client_id, client_secret = credentials_for(region)
    key = region.upper()
    sys_dir = Path(env["MELTANO_SYS_DIR_ROOT"])
    env = {**env, f"BREEZEWAY_{key}_CLIENT_ID": client_id,
           f"BREEZEWAY_{key}_CLIENT_SECRET": client_secret,
           "MELTANO_DATABASE_URI": f"sqlite:///{sys_dir / f'system-{region}.db'}"}
    command = [MELTANO, "--environment", region, "run", "--state-id-suffix", suffix,
               f"breezeway-sync-{region}"]
    started = time.perf_counter()
    first: float | None = None
    last_tap = last_target = 0.0
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            now = time.perf_counter() - started
            out.write(f"{now:9.3f} {line}")
            match = LOGGER_NAME.search(line)
            if match and match[1].startswith(TAP):
                last_tap = now
                if first is None and "Beginning sync" in line:
                    first = now
            elif match and match[1] == TARGET:
                last_target = now
        process.wait()
    wall = time.perf_counter() - started
    if process.returncode != 0 or first is None:
        errors[region] = f"meltano run exited with {process.returncode}; see {log}"
        return
    timings[region] = RegionTiming(region, wall, first, last_tap, last_target)


def run_parallel(regions: list[str], env: dict[str, str], logs: Path
                 ) -> tuple[float, dict[str, RegionTiming]]:
    """Start all regions at once; wall time until the last one ends."""
    suffix = f"bench-{uuid.uuid4().hex[:8]}"
    timings: dict[str, RegionTiming] = {}
    errors: dict[str, str] = {}
    threads = [
        threading.Thread(target=_run_region,
                         args=(region, env, suffix, logs / f"e2e-{region}.log", timings, errors))
        for region in regions
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError("; ".join(f"{region}: {text}" for region, text in errors.items()))
    return wall, timings
