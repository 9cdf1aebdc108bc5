"""Duration parsing, secret scrubbing and clear errors for bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from target_breezeway_postgres.status import EXIT_UNAVAILABLE, EXIT_USAGE, main
from target_breezeway_postgres.status_format import parse_duration, scrub_secrets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("26h", timedelta(hours=26)),
        ("90m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1d12h", timedelta(hours=36)),
        ("45s", timedelta(seconds=45)),
        ("0.5s", timedelta(seconds=0.5)),
        (" 1w ", timedelta(weeks=1)),
    ],
)
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "26", "h", "26x", "-1h", "0h", "1h-", "1 hour", "h26"])
def test_bad_durations_are_rejected_with_the_format(text):
    with pytest.raises(ValueError, match=r"duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("raw", "scrubbed"),
    [
        ("connect postgresql://etl:pa55word@db:5432/x failed",
         "connect postgresql://etl:***@db:5432/x failed"),
        ('body {"client_secret": "abc123", "client_id": "id9"}',
         'body {"client_secret": "***", "client_id": "id9"}'),
        ("host=db password=pa55 user=etl", "host=db password=*** user=etl"),
        ("refresh_token=xyz&x=1", "refresh_token=***&x=1"),
        ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer ***"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_1 expired",
         "token *** expired"),
        ("HTTP 429 on /task/ for home_id 42", "HTTP 429 on /task/ for home_id 42"),
    ],
)
def test_secrets_are_scrubbed(raw, scrubbed):
    assert scrub_secrets(raw) == scrubbed


def test_bad_max_age_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--url", "postgresql://nobody@127.0.0.1:1/x", "--check", "--max-age", "26x"])

    assert exit_info.value.code == EXIT_USAGE
    assert "invalid duration '26x'" in capsys.readouterr().err


def test_missing_database_url_is_a_usage_error(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("BREEZEWAY_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    with pytest.raises(SystemExit) as exit_info:
        main(["--check"])

    assert exit_info.value.code == EXIT_USAGE
    assert "no database: set BREEZEWAY_DATABASE_URL (environment or .env) or pass --url" in (
        capsys.readouterr().err)


def test_bad_now_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--url", "postgresql://x@127.0.0.1/x", "--now", "yesterday"])

    assert exit_info.value.code == EXIT_USAGE
    assert "invalid time 'yesterday'" in capsys.readouterr().err


def test_unmigrated_schema_is_reported(migrated_db, capsys):
    code = main(["--url", migrated_db.url, "--schema", "no_such_schema"])

    assert code == EXIT_UNAVAILABLE
    assert capsys.readouterr().err == (
        "breezeway-status: schema 'no_such_schema' has no sync_runs table: "
        "apply the migrations first\n"
    )


def test_unreachable_database_does_not_print_the_password(capsys):
    code = main(["--url", "postgresql://etl:TopSecret9@127.0.0.1:1/x", "--check"])

    err = capsys.readouterr().err
    assert code == EXIT_UNAVAILABLE
    assert err.startswith("breezeway-status: database error: connection to server at ")
    assert "TopSecret9" not in err


def test_invalid_schema_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--url", "postgresql://x@127.0.0.1/x", "--schema", 'x"; DROP TABLE regions; --'])

    assert exit_info.value.code == EXIT_USAGE
    assert "invalid schema name" in capsys.readouterr().err


def test_notify_url_needs_check(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--url", "postgresql://x@127.0.0.1/x", "--notify-url", "http://127.0.0.1:9/h"])

    assert exit_info.value.code == EXIT_USAGE
    assert "--notify-url only makes sense with --check" in capsys.readouterr().err
