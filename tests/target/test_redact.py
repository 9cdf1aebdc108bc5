"""`redact.scrub` on every spelling of a credential met so far, and `bounded`."""

from __future__ import annotations

import pytest
from target_breezeway_postgres.redact import MAX_ERROR_CHARS, bounded, safe_text, scrub


@pytest.mark.parametrize(("raw", "scrubbed"), [
    # URL user info, the password containing '@' or percent-encoded characters
    ("connect postgresql://etl:p@ss@w0rd@db:5432/x failed",
     "connect postgresql://etl:***@db:5432/x failed"),
    ("postgresql+psycopg2://etl:p%40ss%3Aw%2F@db/x?sslmode=require",
     "postgresql+psycopg2://etl:***@db/x?sslmode=require"),
    # a whole URL percent-encoded inside a query parameter
    ("GET /?next=postgresql%3A%2F%2Fbob%3Ahun%2Bter2%40db%2Fx&y=1",
     "GET /?next=postgresql%3A%2F%2Fbob%3A***%40db%2Fx&y=1"),
    # libpq keyword strings, quoted values with spaces and escaped quotes
    ("host=db password=pa55 user=etl", "host=db password=*** user=etl"),
    ("host=db password='pa ss \\' word' user=etl", "host=db password='***' user=etl"),
    ('host=db password="pa ss word" user=etl', 'host=db password="***" user=etl'),
    # environment variables
    ("PGPASSWORD=hunter2 psql -h db", "PGPASSWORD=*** psql -h db"),
    ('export PGPASSWORD="hunter 2"', 'export PGPASSWORD="***"'),
    ("BREEZEWAY_AUSTIN_CLIENT_SECRET=abc TAP_BREEZEWAY_CLIENT_SECRET: 'x y'",
     "BREEZEWAY_AUSTIN_CLIENT_SECRET=*** TAP_BREEZEWAY_CLIENT_SECRET: '***'"),
    # URL-encoded key=value in a query string
    ("https://x/?a=1&password%3Dhunter2%26user%3Dbob",
     "https://x/?a=1&password%3D***%26user%3Dbob"),
    ("https://x/?q=password%3Dhunt%40er2", "https://x/?q=password%3D***"),
    # JSON and Python reprs
    ('{"client_secret": "abc 123", "client_id": "id9"}',
     '{"client_secret": "***", "client_id": "id9"}'),
    ('{"client_secret": "a\\"b", "x": 1}', '{"client_secret": "***", "x": 1}'),
    ("{'password': 'a b', 'refresh_token': 'r-1'}", "{'password': '***', 'refresh_token': '***'}"),
    # Authorization headers and bare JWTs
    ("Authorization: JWT abc.def-123", "Authorization: JWT ***"),
    ("Authorization: Bearer abcdefghijkl1", "Authorization: Bearer ***"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_1 expired", "token *** expired"),
    # left alone: no credential in these
    ("HTTP 429 on /task/ for home_id 42", "HTTP 429 on /task/ for home_id 42"),
    ('password authentication failed for user "bob"',
     'password authentication failed for user "bob"'),
    ("Basic validation failed", "Basic validation failed"),
])
def test_scrub(raw, scrubbed):
    assert scrub(raw) == scrubbed


def test_configured_secrets_are_masked_raw_and_url_encoded():
    secret = "x&y:z@1 w"
    assert scrub(f"pw {secret} and bob:x%26y%3Az%401%20w@h and x%26y%3Az%401+w",
                 [secret]) == "pw *** and bob:***@h and ***"


def test_short_configured_values_are_not_treated_as_secrets():
    assert scrub("a b c", ["a", ""]) == "a b c"


def test_bounded_says_how_much_was_cut():
    text = bounded("e" * 5000)
    assert len(text) == MAX_ERROR_CHARS
    assert text.endswith(f" … [{5000 - MAX_ERROR_CHARS} more characters cut]")
    assert bounded("short") == "short"


def test_safe_text_scrubs_before_cutting():
    """A secret straddling the cut is masked whole, not left half visible."""
    text = "x" * (MAX_ERROR_CHARS - 20) + " postgresql://u:hunter2hunter2@db/x"
    assert "hunter" not in safe_text(text)
