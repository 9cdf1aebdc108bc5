"""A scratch database per measurement on the bench's PostgreSQL server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(admin_url: str) -> psycopg2.extensions.connection:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    return connection


@contextmanager
def scratch_database(admin_url: str, label: str) -> Iterator[str]:
    """Create `bw_bench_<label>_<random>`, yield its libpq URL, drop it (even on error)."""
    name = f"bw_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = _admin(admin_url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def server_facts(admin_url: str) -> dict[str, str]:
    """PostgreSQL version and the settings that move load rates the most."""
    with psycopg2.connect(admin_url) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    connection.close()
    return {"version": version, "synchronous_commit": sync, "shared_buffers": buffers}


def table_counts(url: str, schema: str, tables: list[str]) -> dict[str, int]:
    """Rows per table (identifiers are ours, not from data)."""
    counts: dict[str, int] = {}
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            counts[table] = int(cursor.fetchone()[0])
    connection.close()
    return counts
