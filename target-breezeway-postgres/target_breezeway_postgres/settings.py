"""The target's settings: their schema (what `--about` shows and Meltano mirrors) and how
the database to load is found."""

from __future__ import annotations

import contextlib
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from sqlalchemy.engine import URL, make_url

DEFAULT_BATCH_SIZE_ROWS = 20000
DEFAULT_REFEED_BATCH_SIZE = 1000
DEFAULT_REJECT_MAX_ATTEMPTS = 20
DEFAULT_SCHEMA = "api_integrations"

CONFIG_SCHEMA = th.PropertiesList(
    th.Property("sqlalchemy_url", th.StringType, secret=True, title="SQLAlchemy URL",
                description="postgresql+psycopg2://user:password@host:port/db; "
                "overrides host/port/user/password/database."),
    th.Property("host", th.StringType, title="Host", description="PostgreSQL host."),
    th.Property("port", th.IntegerType, default=5432, title="Port",
                description="PostgreSQL port."),
    th.Property("user", th.StringType, title="User", description="PostgreSQL user."),
    th.Property("password", th.StringType, secret=True, title="Password",
                description="PostgreSQL password."),
    th.Property("database", th.StringType, title="Database",
                description="Database name (default postgres)."),
    th.Property("sslmode", th.StringType, title="SSL mode",
                description="libpq sslmode: disable, require, verify-full, ..."),
    th.Property("schema", th.StringType, default="api_integrations", title="Schema",
                description="Schema holding our tables; migrations are applied at start."),
    th.Property("batch_size_rows", th.IntegerType, default=DEFAULT_BATCH_SIZE_ROWS,
                title="Load unit size",
                description="Records buffered (all streams together) per transaction; "
                "bounds memory."),
    th.Property("refeed_batch_size", th.IntegerType(minimum=1),
                default=DEFAULT_REFEED_BATCH_SIZE, title="Re-feed page size",
                description="Open rejects read back per query when they are fed again "
                "at the start of a region's load (oldest first); bounds memory."),
    th.Property("reject_max_attempts", th.IntegerType(minimum=1),
                default=DEFAULT_REJECT_MAX_ATTEMPTS, title="Reject attempts",
                description="Runs that try a rejected record (its first failure "
                "included) before it is marked dead: still open and shown by "
                "breezeway-status, no longer fed again."),
    th.Property("unknown_stream_policy", th.StringType, default="skip",
                allowed_values=["skip", "error"], title="Unknown stream policy",
                description="A stream without a table: skip (logged and counted) or error."),
    th.Property("region_code", th.StringType(pattern="^([a-z0-9_]{1,32})?$"),
                title="Region code",
                description="The region this run loads (the tap's region_code). When set, "
                "the run is recorded for it from the start, so a run that fails before "
                "any record is still shown failed by breezeway-status. Empty: not set."),
    th.Property("reconcile_breaker_ratio", th.NumberType(minimum=0, maximum=1),
                default=0.05, title="Reconcile breaker ratio",
                description="A reconcile whose deletion candidates exceed this share of a "
                "region's live rows (and the floor below) retires nothing and is recorded "
                "as tripped: a partial crawl or an API change is likelier than a mass "
                "deletion."),
    th.Property("reconcile_breaker_floor", th.IntegerType(minimum=0), default=20,
                title="Reconcile breaker floor",
                description="Up to this many deletion candidates never trip the breaker "
                "(small regions)."),
    th.Property("db_retry_attempts", th.IntegerType(minimum=1), default=6,
                title="Database retry attempts",
                description="Attempts of one transaction whose connection is lost "
                "(restart, failover, idle kill) before the run fails; each attempt on a "
                "new connection."),
    th.Property("db_retry_wait_s", th.NumberType(minimum=0), default=1,
                title="Database retry wait (s)",
                description="First wait before a new attempt; doubled each time, at "
                "most 30 s."),
    th.Property("run_id", th.StringType, title="Run id",
                description="Identifies this run in sync_runs/load_rejects; "
                "default: a new UUID."),
    th.Property("embedded", th.BooleanType, default=False, title="Embedded PostgreSQL",
                description="With no sqlalchemy_url or host: start (or reuse) a "
                "PostgreSQL server of the target's own, for the demo. Off: a run without "
                "a database fails at start."),
    th.Property("embedded_data_dir", th.StringType, title="Embedded data directory",
                description="Where the embedded PostgreSQL keeps its data "
                "(default .meltano/breezeway-postgres in the project)."),
).to_dict()


NO_DATABASE = (
    "no database configured: set BREEZEWAY_DATABASE_URL (meltano.yml passes it to the "
    "target as sqlalchemy_url), or the target's sqlalchemy_url or host settings. The "
    "embedded PostgreSQL is for the demo only and must be asked for (setting embedded: true)."
)


def database_configured(config: t.Mapping[str, t.Any]) -> bool:
    """A database URL, a host, or the embedded server explicitly asked for: a forgotten URL
    must stop the run, not load production data into a folder under .meltano/."""
    return bool(config.get("sqlalchemy_url") or config.get("host") or config.get("embedded"))


def connection_url(config: t.Mapping[str, t.Any]) -> str:
    """The SQLAlchemy URL: `sqlalchemy_url`, else host/port/user/..., else (only with
    `embedded: true`) the embedded server's."""
    if config.get("sqlalchemy_url"):
        url = make_url(config["sqlalchemy_url"])
    elif config.get("host"):
        url = URL.create(
            "postgresql+psycopg2",
            username=config.get("user"),
            password=config.get("password"),
            host=config["host"],
            port=config.get("port") or 5432,
            database=config.get("database") or "postgres",
        )
    elif config.get("embedded"):
        from target_breezeway_postgres import embedded

        url = make_url(embedded.embedded_url(dict(config)))
    else:
        raise ConfigValidationError(NO_DATABASE, errors=[NO_DATABASE])
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    if config.get("sslmode"):
        url = url.update_query_dict({"sslmode": config["sslmode"]})
    return url.render_as_string(hide_password=False)


def secrets_of(config: t.Mapping[str, t.Any]) -> tuple[str, ...]:
    """Configured secret values, masked wherever they appear in an error text; the
    password inside `sqlalchemy_url` too (a driver error may quote it alone)."""
    secrets = [str(config.get(k) or "") for k in ("password", "sqlalchemy_url")]
    with contextlib.suppress(sa.exc.ArgumentError, ValueError):
        secrets.append(make_url(secrets[1]).password or "")
    return tuple(secrets)


@dataclass(frozen=True)
class SessionSettings:
    """What a load session needs of the configuration (plain values, no Singer)."""

    schema: str = DEFAULT_SCHEMA
    batch_size_rows: int = DEFAULT_BATCH_SIZE_ROWS
    refeed_batch_size: int = DEFAULT_REFEED_BATCH_SIZE
    reject_max_attempts: int = DEFAULT_REJECT_MAX_ATTEMPTS
    breaker_ratio: float = 0.05
    breaker_floor: int = 20
    db_retry_attempts: int = 6
    db_retry_wait_s: float = 1.0

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> SessionSettings:
        return cls(
            schema=config.get("schema") or DEFAULT_SCHEMA,
            batch_size_rows=config.get("batch_size_rows") or DEFAULT_BATCH_SIZE_ROWS,
            refeed_batch_size=config.get("refeed_batch_size") or DEFAULT_REFEED_BATCH_SIZE,
            reject_max_attempts=config.get("reject_max_attempts") or DEFAULT_REJECT_MAX_ATTEMPTS,
            breaker_ratio=float(config.get("reconcile_breaker_ratio", 0.05)),
            breaker_floor=int(config.get("reconcile_breaker_floor", 20)),
            db_retry_attempts=int(config.get("db_retry_attempts") or 6),
            db_retry_wait_s=float(config.get("db_retry_wait_s", 1.0)),
        )
