"""Fixtures for the Meltano project tests: real `meltano`, real plugin venvs, real PostgreSQL.

Plugin venvs are built once per session by `meltano install` into a temporary
MELTANO_SYS_DIR_ROOT, so the tests neither use nor disturb the project's own `.meltano/`
(the demo's). Every Meltano call gets its own system database (state) through
MELTANO_DATABASE_URI, so state never leaks between tests or sessions.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(__file__))

from meltano_helpers import INSTALL_TIMEOUT_S, MeltanoEnv, assert_ok


@pytest.fixture(scope="session")
def meltano() -> Iterator[MeltanoEnv]:
    """`meltano install` of every plugin in meltano.yml, once per session.

    In a folder of its own under /tmp, open to other accounts (0755), not under pytest's
    0700 tmp folder: the target's embedded PostgreSQL runs its binaries from the plugin venv
    as an unprivileged account when the tests run as root, and it changes no folder's mode.
    """
    sys_dir = Path(tempfile.mkdtemp(prefix="bw-meltano-sys-"))
    sys_dir.chmod(0o755)
    try:
        project = MeltanoEnv(sys_dir)
        result = project.run(["install"], sys_dir / "install.db", timeout=INSTALL_TIMEOUT_S)
        assert_ok(result)
        yield project
    finally:
        shutil.rmtree(sys_dir, ignore_errors=True)


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
