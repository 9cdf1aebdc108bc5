"""The legacy tables exactly as the seed review defines them (fixtures/review_legacy_tables.sql)
migrate without hand edits: the columns the review does not show are optional."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from legacy_rows import insert_rows, review_ddl
from target_breezeway_postgres.cli import main
from target_breezeway_postgres.legacy import legacy_dir, migrate_legacy, validate_legacy
from target_breezeway_postgres.migrations import set_search_path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "legacy-migration.md"


def _create_review_tables(engine: sa.Engine, schema: str) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(review_ddl(schema))


def _relations(engine: sa.Engine, schema: str) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.text(
            "SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace(:s)"
            " AND relkind IN ('r', 'v')"), {"s": schema}).scalars())


def test_the_reviews_own_tables_migrate_and_validate(bare_schema, pg_engine):
    _create_review_tables(pg_engine, bare_schema)
    insert_rows(pg_engine, bare_schema, "breezeaway_properties_gw", [
        {"region_code": "nashville", "property_id": "101", "property_company_id": "8558",
         "reference_external_property_id": "lst_1", "property_latitude": "36.1",
         "property_longitude": "-86.7", "property_photos_id": "1--x--2",
         "property_photos_url": "u1--x--u2", "property_photos_caption": "a--x--None",
         "property_photos_default": "True--x--False", "property_photos_original_url": ""},
        {"region_code": "nashville", "property_id": "102", "property_latitude": "north"}])
    insert_rows(pg_engine, bare_schema, "breezeaway_reservations_gw", [
        {"region_code": "nashville", "reservation_id": "1001", "property_id": "101"},
        {"region_code": "nashville", "reservation_id": "1002", "property_id": "102"}])
    insert_rows(pg_engine, bare_schema, "breezeaway_tasks_gw", [
        {"region_code": "nashville", "task_id": "5001"}])

    report = migrate_legacy(pg_engine, bare_schema, "review-ddl")

    assert report.ok
    counts = {(r.stream, r.loaded, r.rejected) for r in report.rows}
    assert counts == {("properties", 1, 1), ("property_photos", 2, 0),
                      ("reservations", 1, 1), ("tasks", 0, 1)}
    with pg_engine.connect() as connection:
        set_search_path(connection, bare_schema)
        prop = connection.execute(sa.text(
            "SELECT company_id, reference_external_property_id, name, wifi_password, city"
            "  FROM properties")).one()
        assert tuple(prop) == (8558, "lst_1", None, None, None)
        photos = connection.execute(sa.text(
            "SELECT photo_id, caption, is_default FROM property_photos ORDER BY position"))
        assert [tuple(p) for p in photos] == [(1, "a", True), (2, None, False)]
        reservation = connection.execute(sa.text(
            "SELECT reservation_id, status, checkin_date, (SELECT count(*) FROM"
            " reservation_guests) AS guests FROM reservations")).one()
        assert tuple(reservation) == (1001, None, None, 0)
        reasons = dict(connection.execute(sa.text(
            "SELECT record ->> 'task_id', reason FROM load_rejects"
            " WHERE stream = 'legacy_tasks'")).all())
        assert reasons == {"5001": "bad_value: home_id has no value (a task needs its property)"}
    assert validate_legacy(pg_engine, bare_schema).ok


def test_missing_required_columns_are_all_named_and_nothing_is_created(
        bare_schema, pg_engine, pg_url, capsys):
    _create_review_tables(pg_engine, bare_schema)
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(
            f'ALTER TABLE "{bare_schema}".breezeaway_properties_gw'
            " DROP COLUMN property_latitude, DROP COLUMN property_photos_url;"
            f' ALTER TABLE "{bare_schema}".breezeaway_reservations_gw DROP COLUMN property_id')

    assert main(["migrate-legacy", "--url", pg_url, "--schema", bare_schema]) == 1

    error = capsys.readouterr().err
    for column in ("breezeaway_properties_gw.property_latitude",
                   "breezeaway_properties_gw.property_photos_url",
                   "breezeaway_reservations_gw.property_id"):
        assert column in error
    assert _relations(pg_engine, bare_schema) == [
        "breezeaway_properties_gw", "breezeaway_reservations_gw", "breezeaway_tasks_gw"]


def _documented_columns() -> dict[str, tuple[set[str], set[str]]]:
    """table → (required, optional) from the docs' column table."""
    found = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`breezeaway_\w+_gw`", cells[0]):
            found[cells[0].strip("`")] = (set(re.findall(r"`(\w+)`", cells[1])),
                                          set(re.findall(r"`(\w+)`", cells[2])))
    return found


def test_docs_list_the_required_and_optional_columns_the_migration_reads(pg_engine):
    with pg_engine.begin() as connection:
        with connection.connection.dbapi_connection.cursor() as cursor:
            cursor.execute((legacy_dir() / "010_helpers.sql").read_text(encoding="utf-8"))
        rows = connection.execute(sa.text(
            "SELECT table_name, column_name, required FROM pg_temp.legacy_columns()")).all()
        connection.rollback()
    expected: dict[str, tuple[set[str], set[str]]] = {}
    for table, column, required in rows:
        expected.setdefault(table, (set(), set()))[0 if required else 1].add(column)
    assert _documented_columns() == expected
