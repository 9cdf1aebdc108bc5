"""`breezeway-db`: database administration — migrate, and the legacy cut-over commands.

`migrate` applies the schema migrations. The legacy commands (`migrate-legacy`,
`validate-legacy`, `compare-legacy`) live in `legacy.py`; this module only parses the
command line, connects and turns errors into exit statuses.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from target_breezeway_postgres import legacy
from target_breezeway_postgres.migrations import MigrationError, apply_migrations

DEFAULT_SCHEMA = "api_integrations"
URL_ENV = "BREEZEWAY_DB_URL"

LOGGER = logging.getLogger("breezeway-db")


def make_engine(url: str) -> Engine:
    """libpq-style URLs (postgresql://, postgres://) are accepted and used with psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg2://" + url[len(prefix):]
    return create_engine(url)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get(URL_ENV),
                        help=f"database URL (default: ${URL_ENV})")
    common.add_argument("--schema", default=DEFAULT_SCHEMA,
                        help=f"target schema (default: {DEFAULT_SCHEMA})")
    parser = argparse.ArgumentParser(prog="breezeway-db", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[common], help="apply pending schema migrations")
    legacy.add_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    if not args.url:
        print(f"breezeway-db: no database: pass --url or set {URL_ENV}", file=sys.stderr)
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
    if args.command in legacy.COMMANDS:
        return legacy.run_command(args, engine)
    applied = apply_migrations(engine, args.schema)
    print(f"applied: {', '.join(applied)}" if applied else f"{args.schema} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
