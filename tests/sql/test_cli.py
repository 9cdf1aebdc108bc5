"""`breezeway-db migrate` and its connection options."""

from __future__ import annotations

from target_breezeway_postgres.cli import main
from target_breezeway_postgres.migrations import discover_migrations


def test_migrate_applies_then_reports_up_to_date(pg_url, pg_schema, capsys, monkeypatch):
    monkeypatch.setenv("BREEZEWAY_DATABASE_URL", pg_url)
    versions = ", ".join(m.version for m in discover_migrations())

    assert main(["migrate", "--schema", pg_schema]) == 0
    assert capsys.readouterr().out.strip() == f"applied: {versions}"
    assert main(["migrate", "--schema", pg_schema]) == 0
    assert capsys.readouterr().out.strip() == f"{pg_schema} is up to date"


def test_missing_url_is_a_usage_error(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("BREEZEWAY_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["migrate"]) == 2
    assert "set BREEZEWAY_DATABASE_URL (environment or .env) or pass --url" in (
        capsys.readouterr().err)


def test_bad_schema_name_fails_without_touching_the_database(pg_url, capsys):
    assert main(["migrate", "--url", pg_url, "--schema", "Bad-Name"]) == 1
    assert "invalid schema name" in capsys.readouterr().err
