"""Helpers shared by the Meltano tests (not fixtures): project paths, running meltano."""


from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from breezeway_sim import Simulator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MELTANO = PROJECT_ROOT / ".venv" / "bin" / "meltano"
#: Variables of the caller that would change what a run does; never passed through.
FOREIGN_PREFIXES = ("TAP_", "TARGET_", "BREEZEWAY_", "MELTANO_")
RUN_TIMEOUT_S = 300
INSTALL_TIMEOUT_S = 600


@dataclass(frozen=True)
class MeltanoEnv:
    """Where the session's plugin venvs live; builds the environment of each call."""

    sys_dir: Path

    def env(self, system_db: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_PREFIXES)}
        env.update({
            "MELTANO_SYS_DIR_ROOT": str(self.sys_dir),
            "MELTANO_DATABASE_URI": f"sqlite:///{system_db}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
            "NO_COLOR": "1",
        })
        env.update(extra or {})
        return env

    def run(self, args: list[str], system_db: Path, extra: dict[str, str] | None = None,
            timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """`meltano <args>` in the project; output captured (logs are on stderr)."""
        return subprocess.run(
            [str(MELTANO), *args], cwd=PROJECT_ROOT, env=self.env(system_db, extra),
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def popen(self, args: list[str], system_db: Path,
              extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(MELTANO), *args], cwd=PROJECT_ROOT, env=self.env(system_db, extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"meltano {result.args[1:]} failed:\n{tail(result.stderr)}"


def region_env(sim: Simulator, region: str, pg_url: str, schema: str) -> dict[str, str]:
    """Variables a region environment reads (credentials) plus test-only overrides.

    Credentials go through the environment's own ${BREEZEWAY_<REGION>_CLIENT_ID} references;
    the API URL and the database through Meltano's TAP_/TARGET_ overrides. (Number settings
    such as max_requests_per_second cannot come from env vars: see test_project.py.)
    """
    client_id, client_secret = sim.credentials(region)
    upper = region.upper()
    return {
        f"BREEZEWAY_{upper}_CLIENT_ID": client_id,
        f"BREEZEWAY_{upper}_CLIENT_SECRET": client_secret,
        "TAP_BREEZEWAY_API_URL": sim.base_url,
        "TARGET_BREEZEWAY_POSTGRES_SQLALCHEMY_URL": pg_url,
        "TARGET_BREEZEWAY_POSTGRES_SCHEMA": schema,
        # breezeway-ops (confirm-deletions, in each region's job): same database and schema
        "BREEZEWAY_DATABASE_URL": pg_url,
        "BREEZEWAY_OPS_SCHEMA": schema,
        "BREEZEWAY_OPS_API_URL": sim.base_url,
    }
