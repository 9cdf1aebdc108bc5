"""`breezeway-db region list | retire | activate`: which regions are synced and judged.

A region needs no command to start: its Meltano environment and credentials (docs/
operations.md), and its first run registers and activates it. Retiring one stops
`breezeway-status --check` from expecting it (its data stays); a run of a retired region
still loads, but does not activate it again — only `activate` does.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import Engine, text

from target_breezeway_postgres.migrations import set_search_path

COMMANDS = ("region",)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    region = commands.add_parser("region", parents=[common],
                                 help="list, retire or activate regions")
    region.add_argument("action", choices=["list", "retire", "activate"])
    region.add_argument("region_code", nargs="?", help="the region (retire, activate)")


def run_command(args: argparse.Namespace, engine: Engine) -> int:
    if args.action == "list":
        for line in list_regions(engine, args.schema):
            print(line)
        return 0
    if not args.region_code:
        print(f"breezeway-db: region {args.action} needs a region code")
        return 2
    changed = set_active(engine, args.schema, args.region_code, args.action == "activate")
    if not changed:
        print(f"breezeway-db: no region {args.region_code!r}")
        return 1
    print(f"region {args.region_code} {'activated' if args.action == 'activate' else 'retired'}")
    return 0


def list_regions(engine: Engine, schema: str) -> list[str]:
    with engine.begin() as connection:
        set_search_path(connection, schema)
        rows = connection.execute(text(
            "SELECT region_code, region_name, company_id, is_active, retired_at FROM regions "
            "ORDER BY region_code")).all()
    return [f"{code:<16} {'active' if active else 'retired' if retired else 'inactive':<9} "
            f"{name} (company {company if company is not None else '?'})"
            for code, name, company, active, retired in rows]


def set_active(engine: Engine, schema: str, region_code: str, active: bool) -> bool:
    with engine.begin() as connection:
        set_search_path(connection, schema)
        result = connection.execute(text(
            "UPDATE regions SET is_active = :active, updated_at = now(), retired_at = "
            "CASE WHEN :active THEN NULL ELSE now() END WHERE region_code = :code"),
            {"active": active, "code": region_code})
    return result.rowcount == 1
