-- validate-legacy without Python: the same checks (validation.sql), for psql.
--
--   PGOPTIONS='-c search_path=api_integrations,public' psql "$DB" -f validation_checks.sql
--
-- Prints the counts per region and stream, then the first differences by column, and
-- exits non-zero (psql exit 3, ON_ERROR_STOP) when any row is unaccounted or any migrated
-- value differs. Read only: everything it creates is temporary and rolled back.
\set ON_ERROR_STOP on
BEGIN ISOLATION LEVEL REPEATABLE READ;
\ir 010_helpers.sql
\ir 015_values.sql
\ir validation.sql

SELECT region_code, stream, legacy_rows, loaded, rejected, pipeline_owned, unaccounted,
       duplicates, orphans, failed_casts, differences, status
  FROM legacy_validation
 ORDER BY region_code, stream;

-- Differences by column: how many, and the first few rows named by id (never by value).
SELECT stream, column_name, count(*) AS differences,
       string_agg(example, ', ' ORDER BY natural_id, child_id) FILTER (WHERE rank <= 3)
           AS examples
  FROM (SELECT d.*,
               format('%s %s%s (legacy row %s, %s)', d.stream, d.natural_id,
                      CASE WHEN d.child_id IS NOT NULL THEN ' / ' || d.child_id ELSE '' END,
                      d.legacy_id, coalesce(d.region_code, '(none)')) AS example,
               row_number() OVER (PARTITION BY d.stream, d.column_name
                                  ORDER BY d.natural_id, d.child_id) AS rank
          FROM legacy_difference d) ranked
 GROUP BY stream, column_name
 ORDER BY stream, column_name
 LIMIT 20;

DO $check$
DECLARE
    legacy_rows bigint;
    pipeline_rows bigint;
    failed text;
BEGIN
    SELECT coalesce(sum(v.legacy_rows), 0), coalesce(sum(v.pipeline_owned), 0)
      INTO legacy_rows, pipeline_rows FROM legacy_validation v;
    SELECT string_agg(v.region_code || '/' || v.stream, ', ' ORDER BY v.region_code, v.stream)
      INTO failed FROM legacy_validation v WHERE v.status <> 'ok';
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'legacy validation FAILED for %', failed;
    END IF;
    IF legacy_rows = 0 THEN
        RAISE NOTICE '0 legacy rows found: nothing to validate';
    ELSE
        RAISE NOTICE 'validation passed: % legacy rows accounted for, every migrated value '
                     'matches; % skipped because the pipeline owns them',
                     legacy_rows, pipeline_rows;
    END IF;
END;
$check$;

ROLLBACK;
