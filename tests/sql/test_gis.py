"""GIS (002): the location index, its robustness to search_path, the radius query, degrading."""

from __future__ import annotations

import logging
import math

import pytest
import sqlalchemy as sa
from target_breezeway_postgres.migrations import apply_migrations

CENTER = (36.16, -86.78)
EARTH_RADIUS_KM = 6378.168  # earthdistance's earth()
# (property_id, fraction of a 10 km diagonal step): 0.72+ lie inside earth_box but beyond 10 km.
DIAGONAL = {1: 0.0, 2: 0.5, 3: 0.7, 4: 0.72, 5: 0.75, 6: 0.9}


def _point(step: float) -> tuple[float, float]:
    return round(CENTER[0] + step * 0.0899322, 7), round(CENTER[1] + step * 0.111364, 7)


def _great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + (
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@pytest.fixture
def located(insert) -> dict[int, tuple[float, float]]:
    points = {pid: _point(step) for pid, step in DIAGONAL.items()}
    for pid, (lat, lon) in points.items():
        insert("properties", property_id=pid, region_code="nashville", latitude=lat, longitude=lon)
    lat, lon = _point(0.1)
    insert("properties", property_id=7, region_code="nashville", latitude=lat, longitude=lon,
           deleted_at="2026-01-01T00:00:00+00:00")
    insert("properties", property_id=8, region_code="nashville")  # no coordinates
    insert("properties", property_id=9, region_code="austin", latitude=30.27, longitude=-97.74)
    return points


def test_radius_query_returns_exactly_the_properties_within_radius(migrated_db, located):
    rows = migrated_db.query("SELECT * FROM properties_within_km(:lat, :lon, 10)",
                             lat=CENTER[0], lon=CENTER[1])

    assert [row.property_id for row in rows] == [1, 2, 3]
    for row in rows:
        assert row.distance_km == pytest.approx(
            _great_circle_km(CENTER, located[row.property_id]), abs=1e-6
        )


def test_fixture_has_points_inside_the_box_but_beyond_the_radius(migrated_db, located):
    """Without the exact earth_distance filter, properties 4-6 would be returned."""
    rows = migrated_db.query(
        "SELECT property_id FROM properties"
        " WHERE earth_box(property_earth_point(:lat, :lon), 10000)"
        "       @> property_earth_point(latitude, longitude) ORDER BY property_id",
        lat=CENTER[0], lon=CENTER[1],
    )
    assert [row.property_id for row in rows] == [1, 2, 3, 4, 5, 6, 7]


def test_radius_predicate_uses_the_location_index(migrated_db, located):
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}", public')
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.execute(sa.text(
            "EXPLAIN SELECT id FROM properties"
            " WHERE latitude IS NOT NULL AND longitude IS NOT NULL"
            "   AND earth_box(property_earth_point(36.16, -86.78), 10000)"
            "       @> property_earth_point(latitude, longitude)"
        )).scalars().all()
    assert "idx_properties_earth_point" in "\n".join(plan)


def test_location_index_survives_a_search_path_without_public(migrated_db, located):
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}"')
        connection.exec_driver_sql("REINDEX INDEX idx_properties_earth_point")
        connection.exec_driver_sql(
            "INSERT INTO properties (property_id, region_code, latitude, longitude)"
            " VALUES (50, 'nashville', 36.2, -86.7)"
        )
    assert len(migrated_db.query("SELECT * FROM properties_within_km(36.2, -86.7, 0.001)")) == 1


def test_a_bare_ll_to_earth_index_would_not(migrated_db, located):
    """The pitfall the wrapper avoids is real on earthdistance 1.1 (PostgreSQL 15's).

    Version 1.2 (PostgreSQL 16+, e.g. the embedded server) schema-qualifies its functions,
    so there the control case does not exist."""
    version = migrated_db.query(
        "SELECT extversion FROM pg_extension WHERE extname = 'earthdistance'"
    )[0][0]
    if version != "1.1":
        pytest.skip(f"earthdistance {version} has no search_path pitfall to demonstrate")
    with migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}", public')
        connection.exec_driver_sql(
            "CREATE INDEX bare_earth ON properties USING gist (ll_to_earth(latitude, longitude))"
        )
    with pytest.raises(sa.exc.ProgrammingError, match='type "earth" does not exist'), \
            migrated_db.engine.begin() as connection:
        connection.exec_driver_sql(f'SET LOCAL search_path TO "{migrated_db.schema}"')
        connection.exec_driver_sql("REINDEX INDEX bare_earth")


def test_gis_off_degrades_with_a_warning_and_can_be_installed_later(
    pg_url, pg_engine, pg_schema, caplog
):
    without_gis = sa.create_engine(
        pg_engine.url, connect_args={"options": "-c breezeway.gis=off"}
    )
    try:
        with caplog.at_level(logging.WARNING):
            apply_migrations(without_gis, pg_schema)
    finally:
        without_gis.dispose()
    assert any("GIS skipped" in r.getMessage() and "002_gis.sql" in r.getMessage()
               for r in caplog.records)

    def query(sql: str) -> list[sa.Row]:
        with pg_engine.begin() as connection:
            connection.exec_driver_sql(f'SET LOCAL search_path TO "{pg_schema}", public')
            result = connection.execute(sa.text(sql))
            return list(result) if result.returns_rows else []

    assert query("SELECT to_regclass('idx_properties_earth_point')")[0][0] is None
    with pytest.raises(sa.exc.InternalError, match="needs the cube and earthdistance"):
        query("SELECT * FROM properties_within_km(0, 0, 1)")

    assert query("SELECT install_gis()")[0][0] is True
    query("INSERT INTO properties (property_id, region_code, latitude, longitude)"
          " VALUES (1, 'nashville', 0, 0)")
    assert [row.property_id for row in query("SELECT * FROM properties_within_km(0, 0, 1)")] == [1]
