"""A run that failed before its first record has only its run-level row (stream "*"):
`breezeway-status` shows it failed with its reason, and `--check` names region and reason."""

from __future__ import annotations

import json

from target_breezeway_postgres.status import EXIT_UNHEALTHY, main

TAP_DIED = ("the tap's output ended before its first STATE message (0 records read): the "
            "extractor failed or was stopped; its own error is in the meltano run log")
# nashville's last success (n-2) finished 04:10; this run started after it, with no record.
FAILED_EARLY = ("n-3", "nashville", "*", "failed", "2026-11-25 05:00", "2026-11-25 05:00",
                0, 0, 0, TAP_DIED)


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_check_names_the_region_and_the_reason_of_a_run_that_failed_before_any_record(
        status_db, ops, capsys):
    ops.set_active(status_db, ["austin", "mammoth", "smoky"], False)
    ops.insert_runs(status_db, [FAILED_EARLY])

    code, out = _run(capsys, *ops.cli_args(status_db, "--check", "--max-age", "26h"))

    assert code == EXIT_UNHEALTHY
    assert out == (
        f"FAILED       nashville: last run n-3 failed (started 2026-11-25 05:00 UTC): "
        f"{TAP_DIED}\n"
        "CHECK FAILED: 1 of 1 active regions: nashville\n"
    )


def test_report_shows_the_failed_run_as_the_region_run(status_db, ops, capsys):
    ops.insert_runs(status_db, [FAILED_EARLY])

    code, out = _run(capsys, *ops.cli_args(status_db))

    assert code == 0
    region_line = next(line for line in out.splitlines() if line.startswith("nashville "))
    assert region_line.split()[:3] == ["nashville", "yes", "failed"]
    assert f"  nashville/(run) at 2026-11-25 05:00 UTC: {TAP_DIED}" in out.splitlines()
    stream_line = next(line for line in out.splitlines()
                       if line.startswith("nashville") and "(run)" in line
                       and "at 2026" not in line)
    assert stream_line.split()[2] == "failed"

    code, out = _run(capsys, *ops.cli_args(status_db, "--format", "json"))
    nashville = next(r for r in json.loads(out)["regions"] if r["region_code"] == "nashville")
    assert nashville["last_run"]["status"] == "failed"
    assert nashville["last_run"]["error"] == TAP_DIED


def test_the_run_level_error_is_the_runs_error_not_repeated_per_stream(status_db, ops, capsys):
    """A target error fails every row of the run with the same text: said once."""
    error = "UnknownStreamError: stream 'x' has no table"
    ops.insert_runs(status_db, [
        ("n-3", "nashville", "*", "failed", "2026-11-25 05:00", "2026-11-25 05:01",
         0, 0, 0, error),
        ("n-3", "nashville", "properties", "failed", "2026-11-25 05:00", "2026-11-25 05:01",
         4, 0, 0, error),
    ])
    ops.set_active(status_db, ["austin", "mammoth", "smoky"], False)

    code, out = _run(capsys, *ops.cli_args(status_db, "--check"))

    assert code == EXIT_UNHEALTHY
    assert out.splitlines()[0].endswith(f"05:00 UTC): {error}")
