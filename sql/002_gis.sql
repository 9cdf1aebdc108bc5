-- 002: GIS — the cube + earthdistance extensions, a GiST index on each property's point and
-- the radius query properties_within_km(latitude, longitude, km).
--
-- Why the detours:
--   * earthdistance 1.1 (PostgreSQL 15) writes its SQL functions without schema prefixes:
--     ll_to_earth() calls earth() and casts to the type earth by bare name. An index on
--     ll_to_earth(...) is therefore rebuilt (REINDEX, pg_restore, VACUUM FULL) under the
--     caller's search_path, and fails with `type "earth" does not exist` when that path
--     lacks the extension's schema. The index is built on our own wrapper,
--     property_earth_point(), whose search_path is pinned to the extensions' schemas.
--   * Some servers do not ship the extensions (or the migrating role may not create them).
--     The schema must still migrate there: install_gis() then RAISEs a WARNING and leaves a
--     properties_within_km() that fails with a clear message. After installing the
--     extensions, `SELECT install_gis();` (search_path = <schema>, public) adds the rest.
--   * `SET breezeway.gis = 'off'` (e.g. PGOPTIONS='-c breezeway.gis=off') skips GIS on
--     purpose, for servers where nothing may be installed into schema public.

-- Until GIS is installed, the radius query explains itself instead of "function does not exist".
CREATE FUNCTION properties_within_km(
    center_latitude numeric, center_longitude numeric, radius_km numeric
) RETURNS TABLE (
    property_pk bigint, property_id bigint, region_code varchar, name text, distance_km float8
) LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'properties_within_km needs the cube and earthdistance extensions'
        USING HINT = 'install them on the server, then run SELECT install_gis(); in this schema';
END;
$fn$;

-- SET search_path FROM CURRENT pins "<schema>", public (set by the migration runner), so the
-- objects below land in the migrated schema whoever calls install_gis() later.
CREATE FUNCTION install_gis() RETURNS boolean
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
    cube_schema  name;
    earth_schema name;
BEGIN
    IF current_setting('breezeway.gis', true) = 'off' THEN
        RAISE WARNING 'GIS skipped (breezeway.gis = off): no GiST location index, '
            'properties_within_km() unavailable';
        RETURN false;
    END IF;
    IF (SELECT count(*) FROM pg_available_extensions
        WHERE name IN ('cube', 'earthdistance')) < 2 THEN
        RAISE WARNING 'GIS skipped: extensions cube and earthdistance are not available on '
            'this server; no GiST location index, properties_within_km() unavailable';
        RETURN false;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS cube WITH SCHEMA public;
        CREATE EXTENSION IF NOT EXISTS earthdistance WITH SCHEMA public;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'GIS skipped: cannot create extensions cube/earthdistance (%); '
            'ask an administrator to create them in schema public, then run '
            'SELECT install_gis();', SQLERRM;
        RETURN false;
    END;

    -- The extensions may predate us in another schema: use wherever they really are.
    SELECT n.nspname INTO cube_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'cube';
    SELECT n.nspname INTO earth_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'earthdistance';

    -- Not inlinable (it has a SET clause), so index and queries both match this exact call.
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION property_earth_point(latitude numeric, longitude numeric) '
        'RETURNS %1$I.earth LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
        'SET search_path = %1$I, %2$I '
        'AS ''SELECT %1$I.ll_to_earth($1::float8, $2::float8)''',
        earth_schema, cube_schema);
    COMMENT ON FUNCTION property_earth_point(numeric, numeric) IS
        'll_to_earth with a pinned search_path, so the GiST index survives a REINDEX or restore '
        'under any search_path (earthdistance 1.1 functions are not schema-qualified).';

    CREATE INDEX IF NOT EXISTS idx_properties_earth_point
        ON properties USING gist (property_earth_point(latitude, longitude))
        WHERE latitude IS NOT NULL AND longitude IS NOT NULL;

    -- earth_box() finds candidates through the index; it is a cube, slightly larger than the
    -- circle, so earth_distance() then keeps exactly the properties within the radius.
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION properties_within_km('
        '    center_latitude numeric, center_longitude numeric, radius_km numeric'
        ') RETURNS TABLE ('
        '    property_pk bigint, property_id bigint, region_code varchar, name text,'
        '    distance_km float8'
        ') LANGUAGE sql STABLE '
        'SET search_path = %1$I, %2$I, %3$I '
        'AS $body$'
        '    SELECT p.id, p.property_id, p.region_code, p.name,'
        '           earth_distance(property_earth_point(p.latitude, p.longitude),'
        '                          property_earth_point($1, $2)) / 1000.0'
        '      FROM properties p'
        '     WHERE p.latitude IS NOT NULL AND p.longitude IS NOT NULL'
        '       AND p.deleted_at IS NULL'
        '       AND earth_box(property_earth_point($1, $2), $3::float8 * 1000.0)'
        '           @> property_earth_point(p.latitude, p.longitude)'
        '       AND earth_distance(property_earth_point(p.latitude, p.longitude),'
        '                          property_earth_point($1, $2)) <= $3::float8 * 1000.0'
        '     ORDER BY 5, p.id'
        '$body$',
        current_schema(), earth_schema, cube_schema);
    COMMENT ON FUNCTION properties_within_km(numeric, numeric, numeric) IS
        'Live (not soft-deleted) properties within radius_km kilometres (great circle, '
        'earthdistance''s sphere) of a point, nearest first.';
    RETURN true;
END;
$fn$;
COMMENT ON FUNCTION install_gis() IS
    'Creates cube/earthdistance (schema public), the GiST location index and '
    'properties_within_km(); idempotent; RAISEs a WARNING and returns false when it cannot.';

SELECT install_gis();
