-- Legacy → v2 validation (after 010_helpers.sql and 015_values.sql), by count and by value.
-- Fills three temp tables and prints nothing: `breezeway-db validate-legacy` and the psql
-- wrapper validation_checks.sql read them.
--
-- legacy_row_check: one row per legacy row (photos: per photo, guests: per flattened guest)
-- in exactly one bucket, checked in this order:
--   pipeline    — the pipeline owns the v2 row of its key (or of its parent): the API row
--                 wins, the legacy copy is skipped;
--   rejected    — an open load_rejects row names this legacy row (its set, for photos);
--   loaded      — the v2 row is legacy-owned and holds THIS legacy row's values (for
--                 children: the child exists under such a parent);
--   unaccounted — none of the above: a MISMATCH.
-- legacy_difference: for every loaded row, each migrated column whose v2 value differs
-- from the legacy value after the transforms; also v2 children of a legacy-owned parent
-- that its legacy row does not have, and parent links that point elsewhere.
-- legacy_validation: counts per region and stream; status MISMATCH on any unaccounted row
-- or any difference.

CREATE TEMP TABLE legacy_open_reject ON COMMIT DROP AS
SELECT stream, (natural_key ->> 'legacy_id')::bigint AS legacy_id, reason
  FROM load_rejects
 WHERE resolved_at IS NULL
   AND stream IN ('legacy_properties', 'legacy_property_photos', 'legacy_reservations',
                  'legacy_tasks');
CREATE INDEX ON legacy_open_reject (stream, legacy_id);
ANALYZE legacy_open_reject;

CREATE TEMP TABLE legacy_row_check ON COMMIT DROP AS
SELECT 'properties'::text AS stream, v.legacy_id, v.region_code, v.property_id AS natural_id,
       NULL::bigint AS child_id, p.id AS v2_pk, rj.reason,
       CASE WHEN p.id IS NOT NULL AND p.owner_legacy_id IS NULL THEN 'pipeline'
            WHEN rj.reason IS NOT NULL THEN 'rejected'
            WHEN p.owner_legacy_id = v.legacy_id THEN 'loaded'
            ELSE 'unaccounted' END AS bucket
  FROM legacy_property_values v
  LEFT JOIN legacy_v2_properties p
    ON p.property_id = v.property_id AND p.region_code = v.region_code
  LEFT JOIN legacy_open_reject rj
    ON rj.stream = 'legacy_properties' AND rj.legacy_id = v.legacy_id
UNION ALL
SELECT 'reservations', v.legacy_id, v.region_code, v.reservation_id, NULL, r.id, rj.reason,
       CASE WHEN r.id IS NOT NULL AND r.owner_legacy_id IS NULL THEN 'pipeline'
            WHEN rj.reason IS NOT NULL THEN 'rejected'
            WHEN r.owner_legacy_id = v.legacy_id THEN 'loaded'
            ELSE 'unaccounted' END
  FROM legacy_reservation_values v
  LEFT JOIN legacy_v2_reservations r
    ON r.reservation_id = v.reservation_id AND r.region_code = v.region_code
  LEFT JOIN legacy_open_reject rj
    ON rj.stream = 'legacy_reservations' AND rj.legacy_id = v.legacy_id
UNION ALL
SELECT 'tasks', v.legacy_id, v.region_code, v.task_id, NULL, t.id, rj.reason,
       CASE WHEN t.id IS NOT NULL AND t.owner_legacy_id IS NULL THEN 'pipeline'
            WHEN rj.reason IS NOT NULL THEN 'rejected'
            WHEN t.owner_legacy_id = v.legacy_id THEN 'loaded'
            ELSE 'unaccounted' END
  FROM legacy_task_values v
  LEFT JOIN legacy_v2_tasks t ON t.task_id = v.task_id AND t.region_code = v.region_code
  LEFT JOIN legacy_open_reject rj ON rj.stream = 'legacy_tasks' AND rj.legacy_id = v.legacy_id;

-- Photos: one per id in the legacy row's id string (a photo of a refused set included).
INSERT INTO legacy_row_check
SELECT 'property_photos', c.legacy_id, c.region_code, c.natural_id,
       pg_temp.to_bigint(x.raw_id), ph.id, coalesce(c.reason, rs.reason),
       CASE WHEN c.bucket <> 'loaded' THEN c.bucket
            WHEN rs.reason IS NOT NULL THEN 'rejected'
            WHEN s.problem IS NOT NULL THEN 'unaccounted'
            WHEN ph.id IS NOT NULL THEN 'loaded'
            ELSE 'unaccounted' END
  FROM legacy_row_check c
  JOIN legacy_photo_sets s ON s.legacy_id = c.legacy_id
 CROSS JOIN LATERAL unnest(s.ids) AS x (raw_id)
  LEFT JOIN legacy_open_reject rs
    ON rs.stream = 'legacy_property_photos' AND rs.legacy_id = c.legacy_id
  LEFT JOIN property_photos ph
    ON c.bucket = 'loaded' AND ph.property_pk = c.v2_pk
   AND ph.photo_id = pg_temp.to_bigint(x.raw_id)
 WHERE c.stream = 'properties';

INSERT INTO legacy_row_check
SELECT 'reservation_guests', c.legacy_id, c.region_code, c.natural_id, g.position, rg.id,
       c.reason,
       CASE WHEN c.bucket <> 'loaded' THEN c.bucket
            WHEN rg.id IS NOT NULL THEN 'loaded'
            ELSE 'unaccounted' END
  FROM legacy_row_check c
  JOIN legacy_guest_values g ON g.legacy_id = c.legacy_id
  LEFT JOIN reservation_guests rg
    ON c.bucket = 'loaded' AND rg.reservation_pk = c.v2_pk AND rg.position = g.position
 WHERE c.stream = 'reservations';

CREATE INDEX ON legacy_row_check (stream, bucket);
ANALYZE legacy_row_check;

CREATE TEMP TABLE legacy_difference ON COMMIT DROP AS
SELECT 'properties'::text AS stream, c.region_code, c.natural_id, NULL::bigint AS child_id,
       c.legacy_id, d.column_name
  FROM legacy_row_check c
  JOIN legacy_property_values v ON v.legacy_id = c.legacy_id
  JOIN properties p ON p.id = c.v2_pk
 CROSS JOIN LATERAL unnest(pg_temp.legacy_differing('properties', to_jsonb(v), to_jsonb(p)))
       AS d (column_name)
 WHERE c.stream = 'properties' AND c.bucket = 'loaded'
UNION ALL
SELECT 'property_photos', c.region_code, c.natural_id, c.child_id, c.legacy_id, d.column_name
  FROM legacy_row_check c
  JOIN legacy_photo_values v ON v.legacy_id = c.legacy_id AND v.photo_id = c.child_id
  JOIN property_photos ph ON ph.id = c.v2_pk
 CROSS JOIN LATERAL unnest(pg_temp.legacy_differing('property_photos', to_jsonb(v),
                                                    to_jsonb(ph))) AS d (column_name)
 WHERE c.stream = 'property_photos' AND c.bucket = 'loaded'
UNION ALL
SELECT 'property_photos', c.region_code, c.natural_id, ph.photo_id, c.legacy_id,
       '(photo not in the legacy row)'
  FROM legacy_row_check c
  JOIN property_photos ph ON ph.property_pk = c.v2_pk
 WHERE c.stream = 'properties' AND c.bucket = 'loaded'
   AND NOT EXISTS (SELECT 1 FROM legacy_photo_values v
                    WHERE v.legacy_id = c.legacy_id AND v.photo_id = ph.photo_id)
UNION ALL
SELECT 'reservations', c.region_code, c.natural_id, NULL, c.legacy_id, d.column_name
  FROM legacy_row_check c
  JOIN legacy_reservation_values v ON v.legacy_id = c.legacy_id
  JOIN reservations r ON r.id = c.v2_pk
 CROSS JOIN LATERAL unnest(pg_temp.legacy_differing('reservations', to_jsonb(v), to_jsonb(r)))
       AS d (column_name)
 WHERE c.stream = 'reservations' AND c.bucket = 'loaded'
UNION ALL
SELECT 'reservations', c.region_code, c.natural_id, NULL, c.legacy_id, 'property_pk'
  FROM legacy_row_check c
  JOIN reservations r ON r.id = c.v2_pk
 WHERE c.stream = 'reservations' AND c.bucket = 'loaded'
   AND r.property_pk IS DISTINCT FROM (SELECT p.id FROM properties p
                                        WHERE p.property_id = r.property_id
                                          AND p.region_code = r.region_code)
UNION ALL
SELECT 'reservation_guests', c.region_code, c.natural_id, c.child_id, c.legacy_id,
       d.column_name
  FROM legacy_row_check c
  JOIN legacy_guest_values v ON v.legacy_id = c.legacy_id AND v.position = c.child_id
  JOIN reservation_guests g ON g.id = c.v2_pk
 CROSS JOIN LATERAL unnest(pg_temp.legacy_differing('reservation_guests', to_jsonb(v),
                                                    to_jsonb(g))) AS d (column_name)
 WHERE c.stream = 'reservation_guests' AND c.bucket = 'loaded'
UNION ALL
SELECT 'reservation_guests', c.region_code, c.natural_id, g.position, c.legacy_id,
       '(guest not in the legacy row)'
  FROM legacy_row_check c
  JOIN reservation_guests g ON g.reservation_pk = c.v2_pk
 WHERE c.stream = 'reservations' AND c.bucket = 'loaded'
   AND NOT EXISTS (SELECT 1 FROM legacy_guest_values v
                    WHERE v.legacy_id = c.legacy_id AND v.position = g.position)
UNION ALL
SELECT 'tasks', c.region_code, c.natural_id, NULL, c.legacy_id, d.column_name
  FROM legacy_row_check c
  JOIN legacy_task_values v ON v.legacy_id = c.legacy_id
  JOIN tasks t ON t.id = c.v2_pk
 CROSS JOIN LATERAL unnest(pg_temp.legacy_differing('tasks', to_jsonb(v), to_jsonb(t)))
       AS d (column_name)
 WHERE c.stream = 'tasks' AND c.bucket = 'loaded'
UNION ALL
SELECT 'tasks', c.region_code, c.natural_id, NULL, c.legacy_id, link.column_name
  FROM legacy_row_check c
  JOIN tasks t ON t.id = c.v2_pk
 CROSS JOIN LATERAL (
       SELECT 'property_pk' AS column_name
        WHERE t.property_pk IS DISTINCT FROM (SELECT p.id FROM properties p
                                               WHERE p.property_id = t.home_id
                                                 AND p.region_code = t.region_code)
       UNION ALL
       SELECT 'reservation_pk'
        WHERE t.reservation_pk IS DISTINCT FROM (SELECT r.id FROM reservations r
                                                  WHERE r.reservation_id = t.linked_reservation_id
                                                    AND r.region_code = t.region_code)) link
 WHERE c.stream = 'tasks' AND c.bucket = 'loaded';

CREATE TEMP TABLE legacy_validation ON COMMIT DROP AS
WITH rows AS (
    SELECT coalesce(region_code, '(none)') AS region_code, stream,
           count(*) AS legacy_rows,
           count(*) FILTER (WHERE bucket = 'loaded') AS loaded,
           count(*) FILTER (WHERE bucket = 'rejected') AS rejected,
           count(*) FILTER (WHERE bucket = 'pipeline') AS pipeline_owned,
           count(*) FILTER (WHERE bucket = 'unaccounted') AS unaccounted,
           count(*) FILTER (WHERE bucket = 'rejected' AND reason LIKE 'duplicate%') AS duplicates,
           count(*) FILTER (WHERE bucket = 'rejected' AND reason LIKE 'orphan:%') AS orphans,
           count(*) FILTER (WHERE bucket = 'rejected' AND reason LIKE 'bad\_value%') AS failed_casts
      FROM legacy_row_check
     GROUP BY 1, 2
), differences AS (
    SELECT coalesce(region_code, '(none)') AS region_code, stream, count(*) AS differences
      FROM legacy_difference
     GROUP BY 1, 2
)
SELECT region_code, stream,
       coalesce(r.legacy_rows, 0) AS legacy_rows, coalesce(r.loaded, 0) AS loaded,
       coalesce(r.rejected, 0) AS rejected, coalesce(r.pipeline_owned, 0) AS pipeline_owned,
       coalesce(r.unaccounted, 0) AS unaccounted, coalesce(r.duplicates, 0) AS duplicates,
       coalesce(r.orphans, 0) AS orphans, coalesce(r.failed_casts, 0) AS failed_casts,
       coalesce(d.differences, 0) AS differences,
       CASE WHEN coalesce(r.unaccounted, 0) = 0 AND d.differences IS NULL THEN 'ok'
            ELSE 'MISMATCH' END AS status
  FROM rows r
  FULL JOIN differences d USING (region_code, stream);
