-- Legacy → new reconciliation, per stream and region: every legacy row must be accounted
-- for, either loaded (its natural key is in the new table and it has no open reject) or
-- rejected (exactly one open load_rejects row for it): loaded + rejected = legacy_rows.
-- Photos are counted per legacy photo (position in the `--x--` id string).
--
-- Standalone: run with search_path = <schema>, public, e.g.
--   PGOPTIONS='-c search_path=api_integrations,public' psql "$DB" -f validation_checks.sql
-- `breezeway-db validate-legacy` runs this file and exits 1 unless every status is 'ok'.
WITH open_legacy_rejects AS (
    SELECT stream, (natural_key ->> 'legacy_id')::bigint AS legacy_id, reason
      FROM load_rejects
     WHERE resolved_at IS NULL
       AND stream IN ('legacy_properties', 'legacy_property_photos', 'legacy_reservations',
                      'legacy_tasks')
), legacy_rows AS (
    SELECT 'properties' AS stream, l.id, l.region_code,
           CASE WHEN btrim(l.property_id) ~ '^-?[0-9]{1,18}$'
                THEN btrim(l.property_id)::bigint END AS key_id
      FROM breezeaway_properties_gw l
    UNION ALL
    SELECT 'reservations', l.id, l.region_code,
           CASE WHEN btrim(l.reservation_id) ~ '^-?[0-9]{1,18}$'
                THEN btrim(l.reservation_id)::bigint END
      FROM breezeaway_reservations_gw l
    UNION ALL
    SELECT 'tasks', l.id, l.region_code,
           CASE WHEN btrim(l.task_id) ~ '^-?[0-9]{1,18}$' THEN btrim(l.task_id)::bigint END
      FROM breezeaway_tasks_gw l
), checked_rows AS (
    SELECT lr.stream, lr.region_code, rj.reason,
           rj.reason IS NULL AND CASE lr.stream
               WHEN 'properties' THEN EXISTS (
                   SELECT 1 FROM properties p
                    WHERE p.property_id = lr.key_id AND p.region_code = lr.region_code)
               WHEN 'reservations' THEN EXISTS (
                   SELECT 1 FROM reservations r
                    WHERE r.reservation_id = lr.key_id AND r.region_code = lr.region_code)
               ELSE EXISTS (
                   SELECT 1 FROM tasks t
                    WHERE t.task_id = lr.key_id AND t.region_code = lr.region_code)
           END AS loaded
      FROM legacy_rows lr
      LEFT JOIN open_legacy_rejects rj
        ON rj.stream = 'legacy_' || lr.stream AND rj.legacy_id = lr.id
), checked_photos AS (
    SELECT 'property_photos' AS stream, l.region_code,
           coalesce(rp.reason, rs.reason) AS reason,
           rp.reason IS NULL AND rs.reason IS NULL AND EXISTS (
               SELECT 1 FROM property_photos ph JOIN properties p ON p.id = ph.property_pk
                WHERE p.region_code = l.region_code
                  AND p.property_id = CASE WHEN btrim(l.property_id) ~ '^-?[0-9]{1,18}$'
                                           THEN btrim(l.property_id)::bigint END
                  AND ph.photo_id = CASE WHEN btrim(x.raw_id) ~ '^-?[0-9]{1,18}$'
                                         THEN btrim(x.raw_id)::bigint END) AS loaded
      FROM breezeaway_properties_gw l
     CROSS JOIN LATERAL unnest(coalesce(string_to_array(nullif(l.property_photos_id, ''),
                                                        '--x--'), '{}')) AS x (raw_id)
      LEFT JOIN open_legacy_rejects rp
        ON rp.stream = 'legacy_properties' AND rp.legacy_id = l.id
      LEFT JOIN open_legacy_rejects rs
        ON rs.stream = 'legacy_property_photos' AND rs.legacy_id = l.id
), counted AS (
    SELECT stream,
           coalesce(region_code, '(none)') AS region_code,
           count(*) AS legacy_rows,
           count(*) FILTER (WHERE loaded) AS loaded,
           count(*) FILTER (WHERE reason IS NOT NULL) AS rejected,
           count(*) FILTER (WHERE reason LIKE 'duplicate%') AS duplicates,
           count(*) FILTER (WHERE reason LIKE 'orphan:%') AS orphans,
           count(*) FILTER (WHERE reason LIKE 'bad\_value%') AS failed_casts
      FROM (SELECT * FROM checked_rows UNION ALL SELECT * FROM checked_photos) rows
     GROUP BY stream, region_code
)
SELECT region_code, stream, legacy_rows, loaded, rejected,
       legacy_rows - loaded - rejected AS unaccounted,
       duplicates, orphans, failed_casts,
       CASE WHEN legacy_rows = loaded + rejected THEN 'ok' ELSE 'MISMATCH' END AS status
  FROM counted
 ORDER BY region_code, stream;
