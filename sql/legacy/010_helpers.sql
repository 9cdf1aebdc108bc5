-- Session-local helpers for the legacy migration (schema pg_temp: nothing is left behind;
-- OR REPLACE because a pooled session may already hold them from an earlier run).
-- Each conversion returns NULL for a value it cannot convert; the migration compares with
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

-- `--x--`-joined parallel strings → arrays; NULL/'' → empty array.
CREATE OR REPLACE FUNCTION pg_temp.split_photos(raw text) RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN coalesce(string_to_array(nullif(raw, ''), '--x--'), '{}');

-- Rejects of this run; 090_rejects.sql writes them to load_rejects.
CREATE TEMP TABLE legacy_reject (
    stream       text   NOT NULL,
    legacy_id    bigint NOT NULL,
    region_code  text,
    reason       text   NOT NULL,
    record       jsonb  NOT NULL,
    PRIMARY KEY (stream, legacy_id)
) ON COMMIT DROP;
