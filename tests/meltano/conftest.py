"""Fixtures for the Meltano project tests: real `meltano`, real plugin venvs, real PostgreSQL.

Plugin venvs are built once per session by `meltano install` into a temporary
MELTANO_SYS_DIR_ROOT, so the tests neither use nor disturb the project's own `.meltano/`
(the demo's). Every Meltano call gets its own system database (state) through
MELTANO_DATABASE_URI, so state never leaks between tests or sessions.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(__file__))

from meltano_helpers import INSTALL_TIMEOUT_S, MeltanoEnv, assert_ok


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
