"""scrub: every form a secret can take in an error text is masked; the rest stays readable."""

from __future__ import annotations

import pytest
from tap_breezeway.scrub import DEFAULT_LIMIT, scrub

SECRET = "s3cr&t/p@ss w0rd"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjoxfQ.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize("text", [
    f"invalid client_secret {SECRET}",                        # a known secret, raw
    "invalid client_secret s3cr%26t%2Fp%40ss%20w0rd",          # ... URL-encoded
    "invalid client_secret s3cr%26t%2Fp%40ss+w0rd",            # ... form-encoded
    '{"detail": "got \\"s3cr&t/p@ss w0rd\\""}',                # ... inside escaped JSON
])
def test_a_known_secret_is_masked_in_every_encoding(text: str):
    scrubbed = scrub(text, ["client-id-1", SECRET])
    assert "p@ss" not in scrubbed and "p%40ss" not in scrubbed and "w0rd" not in scrubbed
    assert "***" in scrubbed


@pytest.mark.parametrize(("text", "leak"), [
    ("client_secret=abcdef123&page=2", "abcdef123"),
    ('{"client_secret": "abc def 123"}', "def 123"),
    ("{'password': 'pa ss word'}", "ss word"),
    ('password="p@ss w0rd" user=x', "w0rd"),
    ("export PGPASSWORD='my pass'", "my pass"),
    ("PGPASSWORD=hunter22 psql", "hunter22"),
    ("BREEZEWAY_NASHVILLE_CLIENT_SECRET: zzz999", "zzz999"),
    ("access_token=tok123456; refresh_token=ref654321", "123456"),
    ("access_token=tok123456; refresh_token=ref654321", "654321"),
    ("client_secret%3Dabc123%26x%3D1", "abc123"),
    ("%7B%22password%22%3A%22s3cr%40t%20x%22%7D", "s3cr"),
    ("postgresql://breezeway:p@ss/w@rd@db.example:5432/x", "rd@db"),
    ("postgresql://breezeway:p@ss@db.example:5432/x", "ss@db"),
    ("postgresql%3A%2F%2Fu%3Apw9x%40host", "pw9x"),
    ("Authorization: JWT abc.def.ghi", "abc.def"),
    ("authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpw"),
    ('"Authorization": "Token 0123456789abcdef"', "0123456789"),
    (f"token {JWT} refused", "eyJzdWIi"),
    (f"header JWT {JWT[:20]}", JWT[4:20]),
    ("Bearer abcdef0123456789 expired", "abcdef0123"),
    ("Cookie: session=abc123def456", "abc123"),
])
def test_credential_shaped_values_are_masked_without_being_known(text: str, leak: str):
    assert leak not in scrub(text)


def test_ordinary_error_text_stays_readable():
    text = ("Breezeway answered HTTP 403 for GET /public/inventory/v1/property?page=2&limit=100 "
            "(stream 'properties', region 'nashville'): permission denied; no access to "
            "company 7")
    assert scrub(text, ["some-secret-value"]) == text


def test_text_is_one_line_and_bounded():
    scrubbed = scrub("line one\nforged: line\r\x00\x1b[31m" + "x" * 5000)
    assert "\n" not in scrubbed and "\r" not in scrubbed and "\x1b" not in scrubbed
    assert len(scrubbed) == DEFAULT_LIMIT and scrubbed.endswith("\u2026")
    assert len(scrub("y" * 3000, limit=100)) == 100


def test_a_secret_cut_by_the_bound_is_masked_first():
    text = "x" * (DEFAULT_LIMIT - 10) + " client_secret=abcdefghijklmnop"
    assert "abcdef" not in scrub(text) and "abcdef" not in scrub(text, ["abcdefghijklmnop"])


def test_lone_surrogates_do_not_survive():
    assert scrub("bad \ud800 text") == "bad   text"
