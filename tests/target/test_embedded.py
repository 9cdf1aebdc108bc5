"""The embedded PostgreSQL: only when asked for, and then private — no TCP, a socket only its
own account (and root) can reach, no folder's mode changed, no secret in its environment.

These tests start a real embedded server in a temporary folder (the machine's server is left
alone); as root (CI, the demo) it runs as the unprivileged account `embedded_postgres`.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import singer_messages as singer
from singer_sdk.exceptions import ConfigValidationError
from target_breezeway_postgres import embedded
from target_breezeway_postgres.target import TargetBreezewayPostgres

AS_ROOT = os.geteuid() == 0
SECRET_PROBE = "probe-secret-value-41"


def modes(paths: list[Path]) -> dict[Path, int]:
    return {path: path.stat().st_mode for path in paths}


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder in /tmp (pytest's tmp_path sits under a 0700 folder the server's account
    cannot enter)."""
    folder = Path(tempfile.mkdtemp(prefix="bw-embedded-scratch-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """A fresh private folder (mkdtemp: 0700) in the shared /tmp; server stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="bw-embedded-test-"))
    yield folder
    try:
        embedded.stop_embedded(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_without_a_database_the_target_refuses_to_start(tmp_path, monkeypatch):
    """No URL, no host, no `embedded: true`: an error naming BREEZEWAY_DATABASE_URL, and no
    server started behind the operator's back."""
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    for config in ({}, {"sqlalchemy_url": "", "embedded": False}):
        with pytest.raises(ConfigValidationError) as raised:
            TargetBreezewayPostgres(config=config)
        assert "BREEZEWAY_DATABASE_URL" in raised.value.errors[0]
    assert not (tmp_path / ".meltano").exists()


@pytest.mark.slow
def test_the_target_process_without_a_database_exits_with_the_reason(tmp_path):
    target_bin = Path(sys.executable).parent / "target-breezeway-postgres"
    config = tmp_path / "config.json"
    config.write_text('{"region_code": "austin"}')
    result = subprocess.run([str(target_bin), "--config", str(config)], input="",
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "no database configured: set BREEZEWAY_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".meltano").exists()


def test_the_embedded_server_is_private(data_dir, monkeypatch):
    install = embedded.binaries()
    watched = [*data_dir.parents, *install.parents, install, install / "bin"]
    before = modes(watched)
    monkeypatch.setenv("TARGET_BREEZEWAY_POSTGRES_PASSWORD", SECRET_PROBE)

    url = embedded.start(data_dir)

    assert url == (f"postgresql://postgres@/postgres?host={data_dir / 'run'}&port=5432")
    connection = psycopg2.connect(url)
    connection.close()
    assert modes(watched) == before  # no folder's mode changed
    account = embedded.server_account()
    for folder in (data_dir, data_dir / "run", data_dir / "pgdata"):
        status = folder.stat()
        assert (status.st_uid, stat.S_IMODE(status.st_mode)) == (account.uid, 0o700), folder
    pid_lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    assert pid_lines[4] == str(data_dir / "run") and pid_lines[5] == ""  # socket only, no TCP
    environ = Path(f"/proc/{pid_lines[0]}/environ").read_bytes().decode().split("\0")
    assert not any(SECRET_PROBE in entry for entry in environ)
    if AS_ROOT:
        assert account.name == embedded.SERVER_ACCOUNT and account.uid != 0


@pytest.mark.skipif(not AS_ROOT, reason="needs a second account to try the socket")
def test_another_account_cannot_reach_the_socket(data_dir):
    url = embedded.start(data_dir)
    psql = str(embedded.binaries() / "bin" / "psql")  # reachable by every account
    as_root = subprocess.run([psql, url, "-tAc", "SELECT 1"], capture_output=True, text=True,
                             timeout=60, check=False)
    as_nobody = subprocess.run([psql, url, "-tAc", "SELECT 1"], user="nobody",
                               group="nogroup", extra_groups=[], capture_output=True,
                               text=True, timeout=60, check=False, cwd="/")
    assert (as_root.returncode, as_root.stdout) == (0, "1\n"), as_root.stderr
    assert as_nobody.returncode != 0
    assert "Permission denied" in as_nobody.stderr


def test_the_target_uses_it_only_when_asked(data_dir, migrated_db):
    """`embedded: true` with no URL: the target loads into the embedded server."""
    target = TargetBreezewayPostgres(config={"embedded": True,
                                             "embedded_data_dir": str(data_dir),
                                             "schema": "embedded_test"})
    messages = singer.with_schemas(singer.region_sync("smoky", 1000))
    try:
        target.listen(io.StringIO(singer.dumps(messages)))
    finally:
        target.session.close()
    connection = psycopg2.connect(embedded.start(data_dir))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM embedded_test.properties")
            assert cursor.fetchone() == (3,)
    finally:
        connection.close()


@pytest.mark.skipif(not AS_ROOT, reason="root reaches every folder")
def test_a_folder_the_server_account_cannot_enter_is_refused_not_opened(scratch):
    closed = scratch / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(embedded.EmbeddedDatabaseError) as raised:
        embedded.start(closed / "data")
    assert f"cannot enter {closed} (mode drwx------)" in str(raised.value)
    assert stat.S_IMODE(closed.stat().st_mode) == 0o700


def test_a_world_writable_folder_on_the_way_is_refused(scratch):
    shared = scratch / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(embedded.EmbeddedDatabaseError, match="writable by every user"):
        embedded.start(shared / "data")
    assert not (shared / "data" / "pgdata").exists()


def test_a_path_too_long_for_the_socket_is_refused(scratch):
    deep = scratch / ("d" * 120)
    with pytest.raises(embedded.EmbeddedDatabaseError, match="too long for the server's Unix"):
        embedded.start(deep)


def test_a_running_server_with_a_shared_socket_is_refused(data_dir):
    """A server an older version started with its socket in a world-writable runtime folder:
    every local user is superuser there. It is not used."""
    embedded.start(data_dir)
    embedded.stop_embedded(data_dir)
    shared = Path(tempfile.mkdtemp(prefix="bw-shared-"))
    shared.chmod(0o777)
    account = embedded.server_account()
    pgdata = data_dir / "pgdata"
    started = account.run([str(embedded.binaries() / "bin" / "pg_ctl"), "-D", str(pgdata),
                           "-w", "-l", str(data_dir / "server.log"), "-o",
                           f"-c listen_addresses='' -k {shared}", "start"], cwd=data_dir)
    assert started.returncode == 0, started.stdout
    try:
        with pytest.raises(embedded.EmbeddedDatabaseError, match="which other users can reach"):
            embedded.start(data_dir)
    finally:
        embedded.stop_embedded(data_dir)
        shutil.rmtree(shared, ignore_errors=True)
    assert embedded.start(data_dir).endswith(f"host={data_dir / 'run'}&port=5432")
