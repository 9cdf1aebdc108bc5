"""Dead rejects and skipped records in the report; a schema older than the report is named."""

from __future__ import annotations

import json
import shutil

from target_breezeway_postgres.migrations import apply_migrations, sql_dir
from target_breezeway_postgres.status import EXIT_OK, EXIT_UNAVAILABLE, main


def _section_rows(out: str, title: str) -> list[list[str]]:
    section = out.split(f"\n{title}\n")[1].split("\n\n")[0].splitlines()
    return [line.split(None, 4) for line in section[2:]]


def test_dead_rejects_are_shown_apart_from_the_open_count(status_db, ops, capsys):
    ops.execute(status_db, "UPDATE load_rejects SET dead_at = now(), attempts = 20 "
                           "WHERE region_code = 'nashville' AND natural_key->>'id' = '1'")

    assert main(ops.cli_args(status_db)) == EXIT_OK
    text = capsys.readouterr().out
    assert main(ops.cli_args(status_db, "--format", "json")) == EXIT_OK
    report = json.loads(capsys.readouterr().out)

    assert _section_rows(text, "Open rejects by reason")[0] == [
        "nashville", "tasks", "2", "1", "unknown property (home_id 77)"]
    assert [(r["stream"], r["count"], r["dead"]) for r in report["rejects"]] == [
        ("tasks", 2, 1), ("properties", 1, 0), ("properties", 1, 0)]


def test_a_schema_older_than_the_report_is_named_with_what_to_do(pg_engine, pg_url, pg_schema,
                                                                 tmp_path, capsys):
    for path in sorted(sql_dir().glob("00[1-3]_*.sql")):
        shutil.copy(path, tmp_path)
    apply_migrations(pg_engine, pg_schema, tmp_path)

    code = main(["--url", pg_url, "--schema", pg_schema])

    assert code == EXIT_UNAVAILABLE
    assert capsys.readouterr().err == (
        f"breezeway-status: schema '{pg_schema}' predates this breezeway-status: apply the "
        "migrations first (breezeway-db migrate, or any target run)\n")
