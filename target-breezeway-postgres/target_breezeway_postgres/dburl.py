"""Where the command-line tools find the database: one variable, `BREEZEWAY_DATABASE_URL`.

The same variable Meltano passes to the target (meltano.yml), read from the environment or
from the project's `.env` (git-ignored), so no URL with a password has to be typed on a
command line (where `ps` shows it). `--url` still wins; `BREEZEWAY_DB_URL`, the tools' old
name, is read last, with a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

URL_ENV = "BREEZEWAY_DATABASE_URL"
OLD_URL_ENV = "BREEZEWAY_DB_URL"
LOGGER = logging.getLogger("target_breezeway_postgres.dburl")


def database_url(explicit: str | None = None, env_file: Path | None = None) -> str | None:
    """`--url`, else BREEZEWAY_DATABASE_URL from the environment, else from `.env` in the
    current directory, else the old BREEZEWAY_DB_URL; None when none is set."""
    if explicit:
        return explicit
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV]
    from_file = _from_env_file(env_file or Path.cwd() / ".env")
    if from_file:
        return from_file
    if os.environ.get(OLD_URL_ENV):
        LOGGER.warning("%s is deprecated: set %s instead", OLD_URL_ENV, URL_ENV)
        return os.environ[OLD_URL_ENV]
    return None


def _from_env_file(path: Path) -> str | None:
    """BREEZEWAY_DATABASE_URL=... in a dotenv file (quotes stripped, `export ` allowed)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and name.strip() == URL_ENV:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            return value or None
    return None
