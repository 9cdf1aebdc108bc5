"""Fixtures for the Meltano project tests: real `meltano`, real plugin venvs, real PostgreSQL.

Plugin venvs are built once per session by `meltano install` into a temporary
MELTANO_SYS_DIR_ROOT, so the tests neither use nor disturb the project's own `.meltano/`
(the demo's). Every Meltano call gets its own system database (state) through
MELTANO_DATABASE_URI, so state never leaks between tests or sessions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from breezeway_sim import Simulator

sys.path.insert(0, os.path.dirname(__file__))

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


@pytest.fixture(scope="session")
def meltano(tmp_path_factory: pytest.TempPathFactory) -> MeltanoEnv:
    """`meltano install` of every plugin in meltano.yml, once per session."""
    sys_dir = tmp_path_factory.mktemp("meltano-sys")
    project = MeltanoEnv(sys_dir)
    result = project.run(["install"], sys_dir / "install.db", timeout=INSTALL_TIMEOUT_S)
    assert_ok(result)
    return project


@pytest.fixture
def system_db(tmp_path: Path) -> Path:
    """A fresh Meltano system database (state store) for one test."""
    return tmp_path / "meltano.db"


@pytest.fixture
def fresh_schema(pg_engine: sa.Engine) -> Iterator[Callable[[], str]]:
    """Make empty schema names; every one is dropped at teardown."""
    made: list[str] = []

    def make() -> str:
        made.append(f"m_{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield make
    with pg_engine.begin() as connection:
        for schema in made:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


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
    }
