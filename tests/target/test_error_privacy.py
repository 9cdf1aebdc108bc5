"""Error texts name the line, stream, key and field, never a record's values or a secret.

What a failed run leaves — `sync_runs.error_text`, the exception the SDK logs to stderr
(which Meltano keeps), the status report and the alert — is checked against the personal
data and credentials of the input that made it fail.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import singer_messages as singer
from target_breezeway_postgres.redact import MAX_ERROR_CHARS, describe_error
from target_breezeway_postgres.status import main as status_main
from target_breezeway_postgres.target import TargetBreezewayPostgres
from target_helpers import target_config

TARGET_BIN = str(Path(sys.executable).parent / "target-breezeway-postgres")
# Values a Breezeway record really carries and no error text may show.
GUEST_EMAIL = "ann.guest@example.com"
GUEST_PHONE = "+1-615-555-0199"
DOOR_CODE = "door-code-4711"
WIFI_PASSWORD = "Wifi-S3cret!"
PERSONAL = (GUEST_EMAIL, GUEST_PHONE, DOOR_CODE, WIFI_PASSWORD)


def personal_record(pid: int) -> dict[str, Any]:
    return singer.property_record("smoky", pid, wifi_password=WIFI_PASSWORD,
                                  notes={"access": DOOR_CODE, "contact": GUEST_EMAIL,
                                         "phone": GUEST_PHONE})


def good_lines() -> str:
    return singer.dumps(singer.with_schemas(singer.region_sync("smoky", 1000)))


def run_lines(db: Any, text: str, **config: Any) -> BaseException:
    """Feed raw input text to an in-process target; return what it raised."""
    target = TargetBreezewayPostgres(config=target_config(db, **config))
    try:
        with pytest.raises(Exception) as raised:  # any type: its text is what is checked
            target.listen(io.StringIO(text))
    finally:
        # The exception's traceback keeps the target alive after the test: its session
        # must be closed now, while the test database still exists (listen closes it).
        target.session.close()
    return raised.value


def stored_error(db: Any, run_id: str) -> str:
    rows = db.query("SELECT DISTINCT error_text FROM sync_runs WHERE run_id = :r", r=run_id)
    assert len(rows) == 1, rows
    return rows[0][0]


def assert_private(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, (value, text)
    assert len(text) <= MAX_ERROR_CHARS


def test_a_line_that_is_not_json_is_described_not_quoted(migrated_db):
    lines = good_lines().splitlines(keepends=True)
    truncated = json.dumps(singer.record("properties", personal_record(7)))[:-5] + "\n"
    lines.insert(4, truncated)

    raised = run_lines(migrated_db, "".join(lines), region_code="smoky", run_id="json")

    error = stored_error(migrated_db, "json")
    assert_private(error)
    assert_private(str(raised))
    assert error == (f"InvalidInputLine: input line 5 (RECORD of stream 'properties', "
                     f"{len(truncated.encode())} bytes): not valid JSON "
                     "(Input data was truncated)")
    assert str(raised) == error


def test_a_message_missing_its_record_names_the_key_not_the_values(migrated_db):
    messages = singer.region_sync("smoky", 1000)
    messages.insert(3, {"type": "RECORD", "stream": "properties", "rec": personal_record(8)})

    raised = run_lines(migrated_db, singer.dumps(singer.with_schemas(messages)),
                       region_code="smoky", run_id="missing")

    error = stored_error(migrated_db, "missing")
    assert_private(error)
    assert_private(str(raised))
    assert "RECORD of stream 'properties'" in error
    assert "missing required key(s) record" in error


def test_an_error_quoting_a_value_of_the_line_has_it_withheld(migrated_db):
    """Whatever raises, a value of the line being read does not survive in the text: here
    the SDK's own `Unknown message type '<type>'`, the type being a guest's e-mail."""
    messages = singer.region_sync("smoky", 1000)
    messages.insert(3, {"type": GUEST_EMAIL, "stream": "properties"})

    raised = run_lines(migrated_db, singer.dumps(singer.with_schemas(messages)),
                       region_code="smoky", run_id="withheld")

    error = stored_error(migrated_db, "withheld")
    assert_private(error)
    assert_private(str(raised))
    assert error.startswith("ValueError: Unknown message type '(value withheld)'")
    assert "(at input line" in error


def refuse_properties(db: Any, message_sql: str) -> None:
    """A trigger that fails every insert into properties, its DETAIL quoting the row."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            f'SET LOCAL search_path TO "{db.schema}"; '
            "CREATE FUNCTION refuse_property() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '%%', {message_sql} USING DETAIL = "
            "'wifi ' || NEW.wifi_password || ' notes ' || NEW.notes::text; END $$; "
            "CREATE TRIGGER refuse BEFORE INSERT ON properties "
            "FOR EACH ROW EXECUTE FUNCTION refuse_property()")


def test_a_database_error_keeps_its_cause_but_not_the_row(migrated_db):
    """The trigger stands for any database error whose DETAIL quotes row data (the failing
    row of a CHECK, the key of a duplicate): the text keeps SQLSTATE and primary message."""
    refuse_properties(migrated_db, "'properties refused by test_trigger'")
    messages = [singer.record("properties", personal_record(9)), singer.state({"a": 1})]

    raised = run_lines(migrated_db, singer.dumps(singer.with_schemas(messages)),
                       region_code="smoky", run_id="db")

    error = stored_error(migrated_db, "db")
    assert_private(error)
    assert_private(str(raised))
    assert isinstance(raised, psycopg2.errors.RaiseException)  # callers still catch it by type
    assert error.startswith("RaiseException: SQLSTATE P0001: properties refused by test_trigger")


def test_an_error_while_recording_the_failure_does_not_chain_the_original(migrated_db,
                                                                         caplog):
    """Recording the failure fails too (here a trigger on sync_runs; in life a database
    gone for good): the run's own cause is raised (its safe text only, nothing chained, no
    row), and the recording's failure is logged beside it."""
    refuse_properties(migrated_db, "'properties refused by test_trigger'")
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(
            f'SET LOCAL search_path TO "{migrated_db.schema}"; '
            "CREATE FUNCTION refuse_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.status = 'failed' THEN RAISE EXCEPTION 'bookkeeping refused'; END IF; "
            "RETURN NEW; END $$; "
            "CREATE TRIGGER refuse_failure BEFORE INSERT OR UPDATE ON sync_runs "
            "FOR EACH ROW EXECUTE FUNCTION refuse_failure()")
    messages = [singer.record("properties", personal_record(9)), singer.state({"a": 1})]

    raised = run_lines(migrated_db, singer.dumps(singer.with_schemas(messages)),
                       region_code="smoky", run_id="chained")

    logged = "".join(traceback.format_exception(raised))
    assert "properties refused by test_trigger" in str(raised)  # the cause of the failure
    assert raised.__cause__ is None and raised.__context__ is None
    assert_private(str(raised))
    assert not [value for value in PERSONAL if value in logged]
    assert "could not be recorded as failed" in caplog.text
    assert "bookkeeping refused" in caplog.text
    assert_private(caplog.text)


def test_describe_error_drops_detail_and_withholds_values_of_data_exceptions(pg_url):
    connection = psycopg2.connect(pg_url)
    try:
        with connection.cursor() as cursor, pytest.raises(psycopg2.Error) as bad_integer:
            cursor.execute("SELECT %s::integer", (DOOR_CODE,))
        connection.rollback()
        with connection.cursor() as cursor, pytest.raises(psycopg2.Error) as check:
            cursor.execute("CREATE TEMP TABLE t (code text CHECK (code = 'x'))")
            cursor.execute("INSERT INTO t VALUES (%s)", (DOOR_CODE,))
    finally:
        connection.close()

    assert DOOR_CODE in str(bad_integer.value) and DOOR_CODE in str(check.value)
    assert describe_error(bad_integer.value) == (
        'InvalidTextRepresentation: SQLSTATE 22P02: invalid input syntax for type integer: '
        '"(value withheld)"')
    assert describe_error(check.value) == (
        'CheckViolation: SQLSTATE 23514: new row for relation "t" violates check constraint '
        '"t_code_check"')


def test_a_huge_error_is_bounded(migrated_db):
    refuse_properties(migrated_db, "repeat('refused at length ', 1000)")
    messages = [singer.record("properties", personal_record(9)), singer.state({"a": 1})]

    raised = run_lines(migrated_db, singer.dumps(singer.with_schemas(messages)),
                       region_code="smoky", run_id="huge")

    error = stored_error(migrated_db, "huge")
    assert len(error) == MAX_ERROR_CHARS and len(str(raised)) == MAX_ERROR_CHARS
    assert error.startswith("RaiseException: SQLSTATE P0001: refused at length refused")
    assert error.endswith("more characters cut]")


def test_status_report_shows_the_description_only(migrated_db, capsys):
    lines = good_lines().splitlines(keepends=True)
    lines.insert(4, json.dumps(singer.record("properties", personal_record(7)))[:-5] + "\n")
    run_lines(migrated_db, "".join(lines), region_code="smoky", run_id="shown")
    capsys.readouterr()

    code = status_main(["--url", migrated_db.url, "--schema", migrated_db.schema, "--check"])
    report = capsys.readouterr().out

    assert code == 1
    assert "FAILED       smoky: last run shown failed" in report
    assert "input line 5 (RECORD of stream 'properties'" in report
    assert_private(report)


@pytest.mark.slow
def test_the_target_process_prints_neither_line_nor_password(migrated_db, tmp_path):
    """What Meltano keeps: the target's stderr when it fails on a malformed line, with a
    password in its database URL (trust authentication ignores it)."""
    password = "pw-Hunter2-x"
    url = migrated_db.url.replace("postgres@", f"postgres:{password}@", 1)
    assert password in url
    config = tmp_path / "config.json"
    config.write_text(json.dumps(target_config(migrated_db, sqlalchemy_url=url,
                                               region_code="smoky", run_id="cli")))
    lines = good_lines().splitlines(keepends=True)
    lines.insert(4, json.dumps(singer.record("properties", personal_record(7)))[:-5] + "\n")

    result = subprocess.run([TARGET_BIN, "--config", str(config)], input="".join(lines),
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode != 0
    assert "input line 5 (RECORD of stream 'properties'" in result.stderr
    for value in (*PERSONAL, password):
        assert value not in result.stderr and value not in result.stdout
    assert stored_error(migrated_db, "cli").startswith("InvalidInputLine: input line 5")
