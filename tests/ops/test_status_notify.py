"""`--notify-url`: checked at start (even when every region is healthy), a redirect is not
a delivery, and the alert body is scrubbed and bounded."""

from __future__ import annotations

import json

import pytest
from target_breezeway_postgres.redact import MAX_ERROR_CHARS
from target_breezeway_postgres.status import (
    EXIT_NOT_NOTIFIED,
    EXIT_UNHEALTHY,
    EXIT_USAGE,
    main,
)
from target_breezeway_postgres.status_check import MAX_ALERT_TEXT_CHARS

HEALTHY_ONLY = ["austin", "mammoth", "smoky"]  # made inactive: nashville alone is healthy


@pytest.mark.parametrize(("url", "message"), [
    ("hooks.example.com/services/T0/B0/SECRETPATH",
     "--notify-url must start with http:// or https:// (got no scheme)"),
    ("ftp://bob:SECRETPW@hooks.example.com/x",
     "--notify-url must start with http:// or https:// (got ftp://)"),
    ("https:///services/SECRETPATH?token=SECRETQUERY",
     "--notify-url has no host (expected e.g. https://hooks.example.com/…)"),
    ("https://bob:SECRETPW@hooks.example.com:SECRETPORT/x",
     "--notify-url is not a valid URL"),
    ("https://[::1/SECRETPATH", "--notify-url is not a valid URL"),
    ("", "--notify-url must start with http:// or https:// (got no scheme)"),
])
def test_a_bad_notify_url_is_refused_at_start_even_when_healthy(status_db, ops, capsys, url,
                                                                message):
    ops.set_active(status_db, HEALTHY_ONLY, False)
    assert main(ops.cli_args(status_db, "--check")) == 0
    capsys.readouterr()

    with pytest.raises(SystemExit) as exit_info:
        main(ops.cli_args(status_db, "--check", "--notify-url", url))

    err = capsys.readouterr().err
    assert exit_info.value.code == EXIT_USAGE
    assert err.endswith(f"breezeway-status: error: {message}\n")
    assert "SECRET" not in err


def test_a_redirect_is_not_a_delivery(status_db, ops, capsys, receiver_factory):
    receiver = receiver_factory(lambda attempt: (302, 0))

    code = main(ops.cli_args(status_db, "--check", "--notify-url", receiver.url,
                             "--notify-retries", "2"))

    err = capsys.readouterr().err
    assert code == EXIT_NOT_NOTIFIED
    assert (len(receiver.bodies), receiver.gets) == (1, 0)  # not followed, not retried
    assert err.endswith("not delivered after 1 attempt(s): HTTP 302 (a redirect; point "
                        "--notify-url at the final address)\n")
    assert "HOOKSECRETPATH" not in err


def test_the_alert_is_bounded_and_scrubbed(status_db, ops, capsys, receiver_factory):
    """A huge error text written by an older version (or by hand) still makes a small,
    clean alert."""
    leaky = ops.LEAKY_ERROR + " " + "x" * 50000 + " password=tail-secret"
    for region in ("smoky", "mammoth"):
        ops.insert_runs(status_db, [(f"{region}-big", region, "tasks", "failed",
                                     "2026-11-25 05:40", "2026-11-25 05:41", 1, 0, 0, leaky)])
    receiver = receiver_factory(lambda attempt: (200, 0))

    code = main(ops.cli_args(status_db, "--check", "--notify-url", receiver.url))

    report = capsys.readouterr().out
    assert code == EXIT_UNHEALTHY
    body = receiver.bodies[0]
    assert len(body["text"]) <= MAX_ALERT_TEXT_CHARS
    assert all(len(r["detail"]) <= MAX_ERROR_CHARS + 100 for r in body["regions"])
    assert "more characters cut]" in body["text"]
    assert len(json.dumps(body)) < 4 * (MAX_ERROR_CHARS + 200) + MAX_ALERT_TEXT_CHARS
    for secret in (*ops.SECRETS, "tail-secret"):
        assert secret not in json.dumps(body) and secret not in report
    assert max(len(line) for line in report.splitlines()) <= MAX_ERROR_CHARS + 200
