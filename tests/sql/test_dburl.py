"""One variable for the database everywhere, BREEZEWAY_DATABASE_URL: from the environment or
the project's .env, so no password has to be typed on a command line."""

from __future__ import annotations

import pytest
from target_breezeway_postgres import cli, dburl


@pytest.fixture
def clean(monkeypatch, tmp_path):
    for name in (dburl.URL_ENV, dburl.OLD_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_environment_then_dotenv_then_the_old_name(clean, monkeypatch, caplog):
    assert dburl.database_url() is None
    (clean / ".env").write_text("# a comment\nexport BREEZEWAY_DATABASE_URL='postgresql://a@b/c'\n")
    assert dburl.database_url() == "postgresql://a@b/c"
    monkeypatch.setenv(dburl.URL_ENV, "postgresql://env@b/c")
    assert dburl.database_url() == "postgresql://env@b/c"
    assert dburl.database_url("postgresql://flag@b/c") == "postgresql://flag@b/c"
    monkeypatch.delenv(dburl.URL_ENV)
    (clean / ".env").unlink()
    monkeypatch.setenv(dburl.OLD_URL_ENV, "postgresql://old@b/c")
    assert dburl.database_url() == "postgresql://old@b/c"
    assert "deprecated" in caplog.text


def test_breezeway_db_finds_the_database_in_dotenv(clean, pg_url, pg_schema, capsys):
    (clean / ".env").write_text(f"BREEZEWAY_DATABASE_URL={pg_url}\n")
    assert cli.main(["migrate", "--schema", pg_schema]) == 0
    assert "applied" in capsys.readouterr().out
