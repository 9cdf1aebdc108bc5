"""`breezeway-db`: database administration — migrate, confirm deletions, legacy cut-over.

`migrate` applies the schema migrations; `confirm-deletions` settles the deletion candidates
of a region (deletions.py). The legacy commands (`migrate-legacy`,
`validate-legacy`, `compare-legacy`) live in `legacy.py`; this module only parses the
command line, connects and turns errors into exit statuses.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from target_breezeway_postgres import dburl, legacy, regions
from target_breezeway_postgres.deletions import api_asker, confirm_deletions
from target_breezeway_postgres.migrations import MigrationError, apply_migrations, quote_schema

DEFAULT_SCHEMA = "api_integrations"
URL_ENV = dburl.URL_ENV

LOGGER = logging.getLogger("breezeway-db")


def make_engine(url: str) -> Engine:
    """libpq-style URLs (postgresql://, postgres://) are accepted and used with psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg2://" + url[len(prefix):]
    return create_engine(url)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help=f"database URL (default: ${URL_ENV}, from the "
                        "environment or .env)")
    common.add_argument("--schema", default=DEFAULT_SCHEMA,
                        help=f"target schema (default: {DEFAULT_SCHEMA})")
    parser = argparse.ArgumentParser(prog="breezeway-db", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[common], help="apply pending schema migrations")
    confirm = commands.add_parser(
        "confirm-deletions", parents=[common],
        help="ask the API about the region's deletion candidates; soft-delete what answers 404")
    confirm.add_argument(
        "--tap-config", type=Path,
        help="tap-breezeway config JSON of the region (default: the tap's TAP_BREEZEWAY_* "
        "environment variables, as Meltano sets them)")
    legacy.add_commands(commands, common)
    regions.add_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    args.url = dburl.database_url(args.url)
    if not args.url:
        print(f"breezeway-db: no database: set {URL_ENV} (environment or .env) or pass "
              "--url", file=sys.stderr)
        return 2
    engine = make_engine(args.url)
    try:
        return _run(args, engine)
    except legacy.ValidationFailed as failure:
        print(legacy.format_validation(failure.report))
        committed = "; nothing was committed" if args.command == "migrate-legacy" else ""
        print(f"breezeway-db: {failure}{committed}", file=sys.stderr)
        return 1
    except (MigrationError, legacy.LegacyError, SQLAlchemyError) as error:
        print(f"breezeway-db: {args.command} failed: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, engine: Engine) -> int:
    if args.command == "confirm-deletions":
        return _confirm_deletions(engine, args.schema, args.tap_config)
    if args.command in regions.COMMANDS:
        return regions.run_command(args, engine)
    if args.command in legacy.COMMANDS:
        return legacy.run_command(args, engine)
    applied = apply_migrations(engine, args.schema)
    print(f"applied: {', '.join(applied)}" if applied else f"{args.schema} is up to date")
    return 0


def _confirm_deletions(engine: Engine, schema: str, tap_config_path: Path | None) -> int:
    """Settle the pending deletion candidates of the tap config's region."""
    tap_config = json.loads(tap_config_path.read_text()) if tap_config_path else None
    region = (tap_config or {}).get("region_code") or os.environ.get("TAP_BREEZEWAY_REGION_CODE")
    if not region:
        print("breezeway-db: confirm-deletions needs the tap's region_code (in --tap-config "
              "or TAP_BREEZEWAY_REGION_CODE)", file=sys.stderr)
        return 2
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None  # a pooled psycopg2 connection
        with connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {quote_schema(schema)}, public")
        connection.commit()
        counts = confirm_deletions(connection, region, api_asker(tap_config))
    finally:
        raw.close()
    summary = ", ".join(f"{stream} {outcome}: {n}" for (stream, outcome), n in sorted(
        counts.items())) or "no pending candidates"
    print(f"region {region}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
