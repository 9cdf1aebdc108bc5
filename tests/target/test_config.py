"""Settings: connection URL building (incl. the embedded server, only when asked for) and
secret scrubbing."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_breezeway_postgres import embedded
from target_breezeway_postgres.runs import scrub
from target_breezeway_postgres.settings import connection_url
from target_breezeway_postgres.target import TargetBreezewayPostgres


def test_url_from_parts_with_sslmode():
    url = connection_url({"host": "db.example", "port": 6543, "user": "bw",
                          "password": "p@ss:word", "database": "dw", "sslmode": "require"})
    assert url == "postgresql+psycopg2://bw:p%40ss%3Aword@db.example:6543/dw?sslmode=require"


def test_sqlalchemy_url_wins_and_gets_the_psycopg2_driver():
    url = connection_url({"sqlalchemy_url": "postgresql://u@h/d", "host": "ignored"})
    assert url == "postgresql+psycopg2://u@h/d"


def test_the_embedded_server_is_used_only_when_asked_for(monkeypatch):
    calls = []

    def fake_embedded_url(config):
        calls.append(config)
        return "postgresql://postgres@/postgres?host=/srv/run&port=5432"

    monkeypatch.setattr(embedded, "embedded_url", fake_embedded_url)
    with pytest.raises(ConfigValidationError, match="BREEZEWAY_DATABASE_URL"):
        connection_url({"schema": "x"})
    assert calls == []
    assert connection_url({"schema": "x", "embedded": True}) == (
        "postgresql+psycopg2://postgres@/postgres?host=%2Fsrv%2Frun&port=5432")
    assert calls == [{"schema": "x", "embedded": True}]


def test_settings_are_documented_and_secrets_marked():
    properties = TargetBreezewayPostgres.config_jsonschema["properties"]
    for name in ("sqlalchemy_url", "host", "port", "user", "password", "database", "schema",
                 "batch_size_rows", "sslmode", "unknown_stream_policy"):
        assert properties[name]["title"] and properties[name]["description"], name
    assert properties["password"]["secret"] and properties["sqlalchemy_url"]["secret"]
    assert properties["schema"]["default"] == "api_integrations"
    assert TargetBreezewayPostgres.max_parallelism == 1


@pytest.mark.parametrize(("text", "leak"), [
    ("could not connect to postgresql://bob:s3cret@db:5432/x", "s3cret"),
    ('{"client_secret": "abc123", "x": 1}', "abc123"),
    ("password=hunter2 host=db", "hunter2"),
    ("Authorization: JWT eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGci"),
    ("refresh_token=r-token-1", "r-token-1"),
])
def test_error_text_is_scrubbed(text, leak):
    assert leak not in scrub(text)


def test_configured_secret_values_are_scrubbed_anywhere():
    assert scrub("boom: weird-secret-value", ("weird-secret-value",)) == "boom: ***"
