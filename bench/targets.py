"""Loading one recorded `.singer` file with a Singer target into a scratch database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.procs import Measured, run_measured

OUR_TARGET = str(Path(sys.executable).with_name("target-breezeway-postgres"))
OUR_SCHEMA = "api_integrations"

#: MeltanoLabs target-postgres, configured to do what ours does: upsert on the key
#: properties (a re-run must not duplicate rows). The NUL character in one task description
#: (a simulator hard case) fails its load unless it sanitises text.
THEIRS_DEFAULT: dict[str, Any] = {
    "load_method": "upsert",
    "sanitize_null_text_characters": True,
}
#: Its fastest documented settings: COPY instead of INSERT, no JSON-schema validation.
THEIRS_TUNED: dict[str, Any] = {**THEIRS_DEFAULT, "use_copy": True, "validate_records": False}


def sqlalchemy_url(url: str, driver: str) -> str:
    return make_url(url).set(drivername=f"postgresql+{driver}").render_as_string(
        hide_password=False
    )


def migrate(url: str, schema: str = OUR_SCHEMA) -> None:
    """Apply our migrations up front, so every side loads into a ready, empty schema."""
    from target_breezeway_postgres.migrations import apply_migrations

    engine = sa.create_engine(sqlalchemy_url(url, "psycopg2"))
    try:
        apply_migrations(engine, schema)
    finally:
        engine.dispose()


def _load(executable: str, config: dict[str, Any], singer_file: Path, work: Path,
          label: str) -> Measured:
    config_path = work / f"{label}.config.json"
    config_path.write_text(json.dumps(config))
    with singer_file.open("rb") as stdin, (work / f"{label}.stdout").open("wb") as stdout:
        return run_measured([executable, "--config", str(config_path)], stdin=stdin,
                            stdout=stdout, stderr_path=work / f"{label}.log")


def load_ours(singer_file: Path, url: str, work: Path, label: str = "ours",
              extra: dict[str, Any] | None = None) -> Measured:
    config = {"sqlalchemy_url": sqlalchemy_url(url, "psycopg2"), "schema": OUR_SCHEMA,
              **(extra or {})}
    return _load(OUR_TARGET, config, singer_file, work, label)


def load_theirs(executable: Path, singer_file: Path, url: str, work: Path,
                settings: dict[str, Any], label: str) -> Measured:
    config = {"sqlalchemy_url": sqlalchemy_url(url, "psycopg"),
              "default_target_schema": "bench", **settings}
    return _load(str(executable), config, singer_file, work, label)
