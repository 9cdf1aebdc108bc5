-- Session-local helpers shared by migrate-legacy, validate-legacy and compare-legacy
-- (schema pg_temp: nothing is left behind; OR REPLACE because a pooled session may already
-- hold them from an earlier run). Nothing here reads a table when it is created, so this
-- file runs before schema v2 exists.
--
-- Each conversion returns NULL for a value it cannot convert; callers compare with
-- pg_temp.absent(raw) so that a present-but-unconvertible value becomes a reject, never a
-- silent NULL.

-- '', 'None' (Python's str(None)) and 'null' are how the legacy scripts wrote "no value".
CREATE OR REPLACE FUNCTION pg_temp.absent(raw text) RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN raw IS NULL OR lower(btrim(raw)) IN ('', 'none', 'null');

CREATE OR REPLACE FUNCTION pg_temp.clean(raw text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN NOT pg_temp.absent(raw) THEN raw END;

-- Up to 18 digits always fits a bigint, so the regex alone makes the cast safe.
CREATE OR REPLACE FUNCTION pg_temp.to_bigint(raw text) RETURNS bigint
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN btrim(raw) ~ '^-?[0-9]{1,18}$' THEN btrim(raw)::bigint END;

CREATE OR REPLACE FUNCTION pg_temp.to_numeric(raw text) RETURNS numeric
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN btrim(raw) ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'
            THEN btrim(raw)::numeric END;

CREATE OR REPLACE FUNCTION pg_temp.to_bool(raw text) RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN lower(btrim(raw)) IN ('true', 't', '1', 'yes') THEN true
            WHEN lower(btrim(raw)) IN ('false', 'f', '0', 'no') THEN false END;

-- The regex rejects most garbage cheaply; the exception block catches what it lets through
-- ('2026-02-30', '25:00').
CREATE OR REPLACE FUNCTION pg_temp.to_date(raw text) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
    IF btrim(raw) !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN NULL;
    END IF;
    RETURN btrim(raw)::date;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END;
$fn$;

CREATE OR REPLACE FUNCTION pg_temp.to_time(raw text) RETURNS time
LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
    IF btrim(raw) !~ '^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$' THEN
        RETURN NULL;
    END IF;
    RETURN btrim(raw)::time;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END;
$fn$;

-- Naive values are UTC (as in the stream contract), whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION pg_temp.to_timestamptz(raw text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
    value text := btrim(raw);
BEGIN
    IF value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$' THEN
        RETURN NULL;
    END IF;
    IF value ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
        RETURN value::timestamptz;
    END IF;
    RETURN value::timestamp AT TIME ZONE 'UTC';
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END;
$fn$;

-- `--x--`-joined parallel strings → arrays; a string that is no value as a whole → empty.
CREATE OR REPLACE FUNCTION pg_temp.split_photos(raw text) RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN pg_temp.absent(raw) THEN '{}'::text[] ELSE string_to_array(raw, '--x--') END;

-- The legacy columns this procedure knows. `required`: guaranteed by the seed review's DDL
-- (a run without one stops, naming every missing one); the others are read when present
-- and are NULL when absent. docs/legacy-migration.md lists the same.
CREATE OR REPLACE FUNCTION pg_temp.legacy_columns()
RETURNS TABLE (table_name text, column_name text, required boolean, ordinal integer)
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT t, c, r, (row_number() OVER ())::integer FROM (VALUES
        ('breezeaway_properties_gw', 'id', true),
        ('breezeaway_properties_gw', 'region_code', true),
        ('breezeaway_properties_gw', 'property_id', true),
        ('breezeaway_properties_gw', 'property_company_id', true),
        ('breezeaway_properties_gw', 'reference_external_property_id', true),
        ('breezeaway_properties_gw', 'property_latitude', true),
        ('breezeaway_properties_gw', 'property_longitude', true),
        ('breezeaway_properties_gw', 'property_photos_caption', true),
        ('breezeaway_properties_gw', 'property_photos_default', true),
        ('breezeaway_properties_gw', 'property_photos_id', true),
        ('breezeaway_properties_gw', 'property_photos_original_url', true),
        ('breezeaway_properties_gw', 'property_photos_url', true),
        ('breezeaway_properties_gw', 'reference_property_id', false),
        ('breezeaway_properties_gw', 'reference_company_id', false),
        ('breezeaway_properties_gw', 'property_name', false),
        ('breezeaway_properties_gw', 'property_status', false),
        ('breezeaway_properties_gw', 'property_display', false),
        ('breezeaway_properties_gw', 'property_address1', false),
        ('breezeaway_properties_gw', 'property_address2', false),
        ('breezeaway_properties_gw', 'property_building', false),
        ('breezeaway_properties_gw', 'property_city', false),
        ('breezeaway_properties_gw', 'property_state', false),
        ('breezeaway_properties_gw', 'property_zipcode', false),
        ('breezeaway_properties_gw', 'property_country', false),
        ('breezeaway_properties_gw', 'property_wifi_name', false),
        ('breezeaway_properties_gw', 'property_wifi_password', false),
        ('breezeaway_reservations_gw', 'id', true),
        ('breezeaway_reservations_gw', 'region_code', true),
        ('breezeaway_reservations_gw', 'reservation_id', true),
        ('breezeaway_reservations_gw', 'property_id', true),
        ('breezeaway_reservations_gw', 'reference_reservation_id', false),
        ('breezeaway_reservations_gw', 'reference_property_id', false),
        ('breezeaway_reservations_gw', 'reference_external_property_id', false),
        ('breezeaway_reservations_gw', 'reservation_status', false),
        ('breezeaway_reservations_gw', 'access_code', false),
        ('breezeaway_reservations_gw', 'guide_url', false),
        ('breezeaway_reservations_gw', 'note', false),
        ('breezeaway_reservations_gw', 'checkin_date', false),
        ('breezeaway_reservations_gw', 'checkin_time', false),
        ('breezeaway_reservations_gw', 'checkout_date', false),
        ('breezeaway_reservations_gw', 'checkout_time', false),
        ('breezeaway_reservations_gw', 'guest_first_name', false),
        ('breezeaway_reservations_gw', 'guest_last_name', false),
        ('breezeaway_reservations_gw', 'guest_email', false),
        ('breezeaway_reservations_gw', 'guest_phone', false),
        ('breezeaway_tasks_gw', 'id', true),
        ('breezeaway_tasks_gw', 'region_code', true),
        ('breezeaway_tasks_gw', 'task_id', true),
        ('breezeaway_tasks_gw', 'home_id', false),
        ('breezeaway_tasks_gw', 'task_name', false),
        ('breezeaway_tasks_gw', 'task_description', false),
        ('breezeaway_tasks_gw', 'task_status', false),
        ('breezeaway_tasks_gw', 'type_department', false),
        ('breezeaway_tasks_gw', 'type_priority', false),
        ('breezeaway_tasks_gw', 'scheduled_date', false),
        ('breezeaway_tasks_gw', 'linked_reservation_id', false),
        ('breezeaway_tasks_gw', 'created_at', false),
        ('breezeaway_tasks_gw', 'finished_at', false),
        ('breezeaway_tasks_gw', 'total_cost', false)
    ) AS known (t, c, r)
$fn$;

-- Which v2 column each legacy column becomes (after the transforms of 015_values.sql).
-- `validated`: validate-legacy compares it on every row the migration loaded; `shadowed`:
-- compare-legacy compares it with what the pipeline loaded (only when the legacy column
-- exists: an absent column would differ everywhere). Guests' `phone` is
-- phone_numbers[0].number on both sides: the pipeline keeps the whole list with its types.
CREATE OR REPLACE FUNCTION pg_temp.legacy_mapped_columns()
RETURNS TABLE (stream text, v2_column text, legacy_table text, legacy_column text,
               validated boolean, shadowed boolean)
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT s, v, 'breezeaway_' || CASE s WHEN 'property_photos' THEN 'properties'
                                         WHEN 'reservation_guests' THEN 'reservations'
                                         ELSE s END || '_gw', l, va, sh
      FROM (VALUES
        ('properties', 'company_id', 'property_company_id', true, true),
        ('properties', 'reference_external_property_id', 'reference_external_property_id', true, true),
        ('properties', 'reference_property_id', 'reference_property_id', true, true),
        ('properties', 'reference_company_id', 'reference_company_id', true, true),
        ('properties', 'name', 'property_name', true, true),
        ('properties', 'status', 'property_status', true, true),
        ('properties', 'display', 'property_display', true, true),
        ('properties', 'address1', 'property_address1', true, true),
        ('properties', 'address2', 'property_address2', true, true),
        ('properties', 'building', 'property_building', true, true),
        ('properties', 'city', 'property_city', true, true),
        ('properties', 'state', 'property_state', true, true),
        ('properties', 'zipcode', 'property_zipcode', true, true),
        ('properties', 'country', 'property_country', true, true),
        ('properties', 'latitude', 'property_latitude', true, true),
        ('properties', 'longitude', 'property_longitude', true, true),
        ('properties', 'wifi_name', 'property_wifi_name', true, true),
        ('properties', 'wifi_password', 'property_wifi_password', true, true),
        ('property_photos', 'position', 'property_photos_id', true, true),
        ('property_photos', 'url', 'property_photos_url', true, true),
        ('property_photos', 'original_url', 'property_photos_original_url', true, true),
        ('property_photos', 'caption', 'property_photos_caption', true, true),
        ('property_photos', 'is_default', 'property_photos_default', true, true),
        ('reservations', 'property_id', 'property_id', true, true),
        ('reservations', 'reference_reservation_id', 'reference_reservation_id', true, true),
        ('reservations', 'reference_property_id', 'reference_property_id', true, true),
        ('reservations', 'reference_external_property_id', 'reference_external_property_id', true, true),
        ('reservations', 'status', 'reservation_status', true, true),
        ('reservations', 'access_code', 'access_code', true, true),
        ('reservations', 'guide_url', 'guide_url', true, true),
        ('reservations', 'note', 'note', true, true),
        ('reservations', 'checkin_date', 'checkin_date', true, true),
        ('reservations', 'checkin_time', 'checkin_time', true, true),
        ('reservations', 'checkout_date', 'checkout_date', true, true),
        ('reservations', 'checkout_time', 'checkout_time', true, true),
        ('reservation_guests', 'first_name', 'guest_first_name', true, true),
        ('reservation_guests', 'last_name', 'guest_last_name', true, true),
        ('reservation_guests', 'email', 'guest_email', true, true),
        ('reservation_guests', 'emails', 'guest_email', true, false),
        ('reservation_guests', 'phone_numbers', 'guest_phone', true, false),
        ('reservation_guests', 'phone', 'guest_phone', false, true),
        ('tasks', 'home_id', 'home_id', true, true),
        ('tasks', 'linked_reservation_id', 'linked_reservation_id', true, true),
        ('tasks', 'name', 'task_name', true, true),
        ('tasks', 'description', 'task_description', true, true),
        ('tasks', 'status_code', 'task_status', true, true),
        ('tasks', 'type_department', 'type_department', true, true),
        ('tasks', 'type_priority', 'type_priority', true, true),
        ('tasks', 'scheduled_date', 'scheduled_date', true, true),
        ('tasks', 'source_created_at', 'created_at', true, true),
        ('tasks', 'finished_at', 'finished_at', true, true),
        ('tasks', 'total_cost', 'total_cost', true, true)
    ) AS mapped (s, v, l, va, sh)
$fn$;

CREATE OR REPLACE FUNCTION pg_temp.legacy_column_present(tbl text, col text) RETURNS boolean
LANGUAGE sql STABLE
RETURN EXISTS (
    SELECT 1 FROM pg_attribute a
     WHERE a.attrelid = to_regclass(format('%I.%I', current_schema(), tbl))
       AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped);

-- Required legacy columns that are not there; column_name NULL: the whole table is missing.
CREATE OR REPLACE FUNCTION pg_temp.legacy_missing_columns()
RETURNS TABLE (table_name text, column_name text)
LANGUAGE sql STABLE AS $fn$
    SELECT DISTINCT c.table_name,
           CASE WHEN to_regclass(format('%I.%I', current_schema(), c.table_name)) IS NOT NULL
                THEN c.column_name END
      FROM pg_temp.legacy_columns() c
     WHERE c.required AND NOT pg_temp.legacy_column_present(c.table_name, c.column_name)
     ORDER BY 1, 2
$fn$;

CREATE OR REPLACE FUNCTION pg_temp.legacy_shadow_value(value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN value IS NULL OR value = 'null'
              OR (jsonb_typeof(value) = 'string' AND pg_temp.absent(value #>> '{}'))
            THEN NULL ELSE value END;

-- The columns the mapping compares for `stream_name` whose values differ between
-- `old_row` and `new_row` (jsonb: numbers compare by value, 36.1 = 36.1000000). The shadow
-- compare looks only at columns the legacy table has, and a string that is "no value"
-- counts as null there: the pipeline keeps the API's '' where the legacy '' is no value.
CREATE OR REPLACE FUNCTION pg_temp.legacy_differing(
    stream_name text, old_row jsonb, new_row jsonb, shadow boolean DEFAULT false)
RETURNS text[] LANGUAGE sql STABLE AS $fn$
    SELECT coalesce(array_agg(m.v2_column ORDER BY m.v2_column), '{}')
      FROM pg_temp.legacy_mapped_columns() m
     WHERE m.stream = stream_name
       AND CASE WHEN shadow
                THEN m.shadowed AND pg_temp.legacy_column_present(m.legacy_table, m.legacy_column)
                     AND pg_temp.legacy_shadow_value(old_row -> m.v2_column)
                         IS DISTINCT FROM pg_temp.legacy_shadow_value(new_row -> m.v2_column)
                ELSE m.validated
                     AND coalesce(old_row -> m.v2_column, 'null') IS DISTINCT FROM
                         coalesce(new_row -> m.v2_column, 'null')
           END
$fn$;

-- One view per legacy table, legacy_<properties|reservations|tasks>_src, with every known
-- column as text (absent ones NULL) and `id` as bigint: the rest of the procedure reads
-- these, never the legacy tables themselves. Fails, naming every missing required column.
CREATE OR REPLACE FUNCTION pg_temp.legacy_create_sources() RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    missing text;
    source record;
BEGIN
    SELECT string_agg(coalesce(m.table_name || '.' || m.column_name,
                               m.table_name || ' (the table)'), ', ')
      INTO missing FROM pg_temp.legacy_missing_columns() m;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'legacy tables in schema % lack required columns: %',
            current_schema(), missing USING ERRCODE = 'undefined_column';
    END IF;
    FOR source IN
        SELECT c.table_name,
               replace(replace(c.table_name, 'breezeaway_', 'legacy_'), '_gw', '_src') AS view,
               string_agg(CASE WHEN c.column_name = 'id' THEN 'l.id::bigint AS id'
                               WHEN pg_temp.legacy_column_present(c.table_name, c.column_name)
                               THEN format('l.%1$I::text AS %1$I', c.column_name)
                               ELSE format('NULL::text AS %I', c.column_name) END,
                          ', ' ORDER BY c.ordinal) AS select_list
          FROM pg_temp.legacy_columns() c
         GROUP BY c.table_name
    LOOP
        EXECUTE format('DROP VIEW IF EXISTS pg_temp.%I CASCADE', source.view);
        EXECUTE format('CREATE TEMP VIEW %I AS SELECT %s FROM %I.%I l', source.view,
                       source.select_list, current_schema(), source.table_name);
    END LOOP;
END;
$fn$;

-- The session's views of this procedure, dropped before a migration commits: a pooled
-- session would otherwise keep temp views that depend on the v2 tables (and block changes
-- to them). Checks that only read roll back instead, which drops them too.
CREATE OR REPLACE FUNCTION pg_temp.legacy_drop_views() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    DROP VIEW IF EXISTS pg_temp.legacy_v2_properties, pg_temp.legacy_v2_reservations,
        pg_temp.legacy_v2_tasks, pg_temp.legacy_properties_src, pg_temp.legacy_reservations_src,
        pg_temp.legacy_tasks_src CASCADE;
END;
$fn$;
