"""Shared fixtures: a real PostgreSQL database per test session, a fresh schema per test.

The server is the one at BREEZEWAY_TEST_PG_URL (default: the machine's server on
127.0.0.1:5432, database `postgres`, trust auth). When nothing answers there, the session
starts the target's embedded PostgreSQL (target_breezeway_postgres.embedded) in a private
temporary folder, so the suite also runs on a machine without a PostgreSQL server. Never a
mock.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from target_breezeway_postgres import embedded
from target_breezeway_postgres.migrations import apply_migrations

pytest_plugins = ["breezeway_sim.pytest_plugin"]

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _server_answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A libpq URL of a database with rights to create databases."""
    configured = os.environ.get("BREEZEWAY_TEST_PG_URL")
    url = configured or DEFAULT_ADMIN_URL
    if _server_answers(url):
        yield url
        return
    if configured:
        pytest.fail(f"BREEZEWAY_TEST_PG_URL is set but no PostgreSQL answers there: {url}")
    # The target's own embedded server: private folder and socket, no TCP, and as root an
    # unprivileged account without any folder's mode changed (see embedded.py).
    data_dir = Path(tempfile.mkdtemp(prefix="bw-embedded-pg-"))
    try:
        yield embedded.start(data_dir)
    finally:
        try:
            embedded.stop_embedded(data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database for this test session (dropped at the end)."""
    database = f"bw_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    url = make_url(pg_admin_url).set(database=database).render_as_string(hide_password=False)
    yield url
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(pg_engine: sa.Engine) -> Iterator[str]:
    """A fresh, empty schema name for one test (dropped afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass(frozen=True)
class MigratedDatabase:
    url: str
    engine: sa.Engine
    schema: str

    def query(self, sql: str, **params: object) -> list[sa.Row]:
        """Run a query with search_path set to the test schema."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{self.schema}", public')
            return list(connection.execute(sa.text(sql), params))


@pytest.fixture
def migrated_db(pg_url: str, pg_engine: sa.Engine, pg_schema: str) -> MigratedDatabase:
    """A schema with every migration applied."""
    apply_migrations(pg_engine, pg_schema)
    return MigratedDatabase(pg_url, pg_engine, pg_schema)
