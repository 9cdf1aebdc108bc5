"""`breezeway-status --check`: exit codes per case, and the webhook alert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from target_breezeway_postgres.status import (
    EXIT_NOT_NOTIFIED,
    EXIT_OK,
    EXIT_UNHEALTHY,
    main,
)

FRESH_ONLY = ["austin", "mammoth", "smoky"]


def _check(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_all_active_regions_fresh_exits_zero(status_db, ops, capsys):
    ops.set_active(status_db, FRESH_ONLY, False)  # nashville alone stays active

    code, out, _ = _check(capsys, *ops.cli_args(status_db, "--check", "--max-age", "26h"))

    assert code == EXIT_OK
    assert out == (
        "OK           nashville: last success 1.8h ago (run n-2)\n"
        "CHECK OK: 1 active regions synced within 26.0h\n"
    )


def test_stale_region_fails_and_is_named_with_its_age(status_db, ops, capsys):
    ops.set_active(status_db, ["austin", "mammoth"], False)

    code, out, _ = _check(capsys, *ops.cli_args(status_db, "--check", "--max-age", "26h"))

    assert code == EXIT_UNHEALTHY
    assert "STALE        smoky: last success 33.5h ago (run s-1 finished 2026-11-23 20:30 UTC), " \
           "older than 26.0h\n" in out
    assert out.endswith("CHECK FAILED: 1 of 2 active regions: smoky\n")


def test_max_age_is_honoured(status_db, ops, capsys):
    ops.set_active(status_db, ["austin", "mammoth"], False)

    code, out, _ = _check(capsys, *ops.cli_args(status_db, "--check", "--max-age", "2d"))

    assert code == EXIT_OK, out


def test_failed_and_never_synced_regions_fail_with_scrubbed_error(status_db, ops, capsys):
    code, out, _ = _check(capsys, *ops.cli_args(status_db, "--check", "--format", "json"))

    assert code == EXIT_UNHEALTHY
    result = json.loads(out)
    assert result["healthy"] is False
    assert result["max_age_seconds"] == 26 * 3600
    assert {r["region_code"]: r["state"] for r in result["regions"]} == {
        "austin": "failed", "mammoth": "never_synced", "nashville": "ok", "smoky": "stale"}
    details = {r["region_code"]: r["detail"] for r in result["regions"]}
    assert details["austin"] == (
        "last run a-2 failed (started 2026-11-25 03:00 UTC): tasks: HTTP 500 from "
        "https://svc:***@api.example/x client_secret=*** "
        "header Authorization: JWT ***"
    )
    assert details["mammoth"] == "never synced (run m-1 running since 2026-11-25 05:30 UTC)"
    for secret in ops.SECRETS:
        assert secret not in out


def test_active_region_without_any_run_is_never_synced(status_db, ops, capsys):
    ops.set_active(status_db, ["sea_ranch"], True)

    code, out, _ = _check(capsys, *ops.cli_args(status_db, "--check"))

    assert code == EXIT_UNHEALTHY
    assert "NEVER_SYNCED sea_ranch: never synced\n" in out


def test_alert_is_posted_without_secrets(status_db, ops, capsys, receiver_factory):
    receiver = receiver_factory(lambda attempt: (200, 0))

    code, _, err = _check(capsys, *ops.cli_args(
        status_db, "--check", "--notify-url", receiver.url))

    assert code == EXIT_UNHEALTHY
    assert err == ""
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert "3 of 4 active regions" in text
    assert "• austin (failed): last run a-2 failed" in text
    assert "• smoky (stale)" in text and "• mammoth (never_synced)" in text
    assert "nashville" not in text
    assert [r["state"] for r in receiver.bodies[0]["regions"]] == [
        "failed", "never_synced", "ok", "stale"]
    for secret in ops.SECRETS:
        assert secret not in json.dumps(receiver.bodies[0])


def test_no_alert_when_healthy(status_db, ops, capsys, receiver_factory):
    ops.set_active(status_db, FRESH_ONLY, False)
    receiver = receiver_factory(lambda attempt: (200, 0))

    code, _, _ = _check(capsys, *ops.cli_args(status_db, "--check", "--notify-url", receiver.url))

    assert code == EXIT_OK
    assert receiver.bodies == []


def test_alert_retries_a_server_error_then_succeeds(status_db, ops, capsys, receiver_factory):
    receiver = receiver_factory(lambda attempt: (503 if attempt == 1 else 200, 0))

    code, _, err = _check(capsys, *ops.cli_args(
        status_db, "--check", "--notify-url", receiver.url, "--notify-retries", "2"))

    assert code == EXIT_UNHEALTHY
    assert err == ""
    assert len(receiver.bodies) == 2


def test_alert_timeout_is_reported_and_exit_is_non_zero(status_db, ops, capsys, receiver_factory):
    receiver = receiver_factory(lambda attempt: (200, 1.5))  # slower than the timeout

    code, _, err = _check(capsys, *ops.cli_args(
        status_db, "--check", "--notify-url", receiver.url,
        "--notify-timeout", "0.3s", "--notify-retries", "1"))

    assert code == EXIT_NOT_NOTIFIED
    assert len(receiver.bodies) == 2  # one retry, then give up
    assert err.startswith(
        f"breezeway-status: alert to http://127.0.0.1:{receiver.url.split(':')[2].split('/')[0]}"
        "/… not delivered after 2 attempt(s): "
    )
    assert "timed out" in err
    assert "HOOKSECRETPATH" not in err


def test_client_error_is_not_retried(status_db, ops, capsys, receiver_factory):
    receiver = receiver_factory(lambda attempt: (404, 0))

    code, _, err = _check(capsys, *ops.cli_args(
        status_db, "--check", "--notify-url", receiver.url, "--notify-retries", "3"))

    assert code == EXIT_NOT_NOTIFIED
    assert len(receiver.bodies) == 1
    assert err.endswith("not delivered after 1 attempt(s): HTTP 404\n")


def test_console_script_check_as_subprocess(status_db, ops):
    script = Path(sys.executable).parent / "breezeway-status"
    result = subprocess.run(
        [str(script), "--schema", status_db.schema, "--now", ops.NOW_ARG, "--check",
         "--max-age", "90m"],
        env={"BREEZEWAY_DATABASE_URL": status_db.url, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )

    assert result.returncode == EXIT_UNHEALTHY, result.stderr
    # With 90 minutes, even nashville (1.8 h) is stale.
    assert result.stdout.splitlines()[-1] == (
        "CHECK FAILED: 4 of 4 active regions: austin, mammoth, nashville, smoky")
    for secret in ops.SECRETS:
        assert secret not in result.stdout + result.stderr
