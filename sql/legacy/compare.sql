-- Shadow compare for the side-by-side weeks (after 010_helpers.sql and 015_values.sql):
-- the legacy tables the old scripts still write vs the rows the pipeline loaded, for the
-- region in setting breezeway.compare_region. Fills legacy_compare, prints nothing;
-- `breezeway-db compare-legacy` reads it.
--
-- Old side: per key, the newest legacy copy (highest legacy id) with a readable id, its
-- values after the documented transforms. New side: live v2 rows the pipeline owns; rows
-- the legacy migration wrote are not the pipeline's evidence, so their keys count as "only
-- in old" until the pipeline loads them. Classes: only_in_old, only_in_new, compared
-- (`columns` lists the columns that differ; empty: same), not_comparable (a legacy photo set
-- that does not split cleanly). Only columns the legacy table has are compared.

CREATE TEMP TABLE legacy_compare (
    stream       text   NOT NULL,
    class        text   NOT NULL,
    natural_id   bigint NOT NULL,
    child_id     bigint,
    legacy_id    bigint,
    columns      text[]
) ON COMMIT DROP;

CREATE TEMP TABLE legacy_compare_parent ON COMMIT DROP AS
WITH region AS (SELECT current_setting('breezeway.compare_region') AS code),
old_properties AS (
    SELECT DISTINCT ON (v.property_id) v.*
      FROM legacy_property_values v, region
     WHERE v.region_code = region.code AND v.property_id IS NOT NULL
     ORDER BY v.property_id, v.legacy_id DESC
), new_properties AS (
    SELECT p.* FROM legacy_v2_properties p, region
     WHERE p.region_code = region.code AND p.owner_legacy_id IS NULL AND p.deleted_at IS NULL
), old_reservations AS (
    SELECT DISTINCT ON (v.reservation_id) v.*
      FROM legacy_reservation_values v, region
     WHERE v.region_code = region.code AND v.reservation_id IS NOT NULL
     ORDER BY v.reservation_id, v.legacy_id DESC
), new_reservations AS (
    SELECT r.* FROM legacy_v2_reservations r, region
     WHERE r.region_code = region.code AND r.owner_legacy_id IS NULL AND r.deleted_at IS NULL
), old_tasks AS (
    SELECT DISTINCT ON (v.task_id) v.*
      FROM legacy_task_values v, region
     WHERE v.region_code = region.code AND v.task_id IS NOT NULL
     ORDER BY v.task_id, v.legacy_id DESC
), new_tasks AS (
    SELECT t.* FROM legacy_v2_tasks t, region
     WHERE t.region_code = region.code AND t.owner_legacy_id IS NULL AND t.deleted_at IS NULL
)
SELECT 'properties'::text AS stream, coalesce(o.property_id, n.property_id) AS natural_id,
       o.legacy_id, n.id AS v2_pk, to_jsonb(o) AS old_row, to_jsonb(n) AS new_row
  FROM old_properties o FULL JOIN new_properties n ON n.property_id = o.property_id
UNION ALL
SELECT 'reservations', coalesce(o.reservation_id, n.reservation_id), o.legacy_id, n.id,
       to_jsonb(o), to_jsonb(n)
  FROM old_reservations o FULL JOIN new_reservations n ON n.reservation_id = o.reservation_id
UNION ALL
SELECT 'tasks', coalesce(o.task_id, n.task_id), o.legacy_id, n.id, to_jsonb(o), to_jsonb(n)
  FROM old_tasks o FULL JOIN new_tasks n ON n.task_id = o.task_id;

INSERT INTO legacy_compare (stream, class, natural_id, legacy_id, columns)
SELECT stream,
       CASE WHEN v2_pk IS NULL THEN 'only_in_old'
            WHEN legacy_id IS NULL THEN 'only_in_new'
            ELSE 'compared' END,
       natural_id, legacy_id,
       CASE WHEN v2_pk IS NOT NULL AND legacy_id IS NOT NULL
            THEN pg_temp.legacy_differing(stream, old_row, new_row, shadow => true) END
  FROM legacy_compare_parent;

-- Children only under parents both sides have (a parent only on one side says it all).
INSERT INTO legacy_compare (stream, class, natural_id, legacy_id)
SELECT 'property_photos', 'not_comparable', c.natural_id, c.legacy_id
  FROM legacy_compare_parent c
  JOIN legacy_photo_sets s ON s.legacy_id = c.legacy_id
 WHERE c.stream = 'properties' AND c.v2_pk IS NOT NULL AND s.problem IS NOT NULL;

WITH parents AS (
    SELECT c.natural_id, c.legacy_id, c.v2_pk
      FROM legacy_compare_parent c
      JOIN legacy_photo_sets s ON s.legacy_id = c.legacy_id AND s.problem IS NULL
     WHERE c.stream = 'properties' AND c.v2_pk IS NOT NULL
), old_photos AS (
    SELECT p.natural_id, p.legacy_id, v.photo_id, to_jsonb(v) AS old_row
      FROM parents p JOIN legacy_photo_values v ON v.legacy_id = p.legacy_id
), new_photos AS (
    SELECT p.natural_id, p.legacy_id, ph.photo_id, to_jsonb(ph) AS new_row
      FROM parents p JOIN property_photos ph ON ph.property_pk = p.v2_pk
)
INSERT INTO legacy_compare (stream, class, natural_id, child_id, legacy_id, columns)
SELECT 'property_photos',
       CASE WHEN n.photo_id IS NULL THEN 'only_in_old'
            WHEN o.photo_id IS NULL THEN 'only_in_new'
            ELSE 'compared' END,
       coalesce(o.natural_id, n.natural_id), coalesce(o.photo_id, n.photo_id),
       coalesce(o.legacy_id, n.legacy_id),
       CASE WHEN o.photo_id IS NOT NULL AND n.photo_id IS NOT NULL
            THEN pg_temp.legacy_differing('property_photos', o.old_row, n.new_row,
                                          shadow => true) END
  FROM old_photos o
  FULL JOIN new_photos n ON n.natural_id = o.natural_id AND n.photo_id = o.photo_id;

-- Guests: the legacy row's one flattened guest against the API's first guest (position 0);
-- the API's further guests have no legacy counterpart and are not compared.
INSERT INTO legacy_compare (stream, class, natural_id, child_id, legacy_id, columns)
SELECT 'reservation_guests',
       CASE WHEN g.id IS NULL THEN 'only_in_old'
            WHEN v.legacy_id IS NULL THEN 'only_in_new'
            ELSE 'compared' END,
       c.natural_id, 0, c.legacy_id,
       CASE WHEN g.id IS NOT NULL AND v.legacy_id IS NOT NULL
            THEN pg_temp.legacy_differing(
                     'reservation_guests', to_jsonb(v),
                     to_jsonb(g) || jsonb_build_object(
                         'email', btrim(g.email),
                         'phone', btrim(g.phone_numbers -> 0 ->> 'number')),
                     shadow => true) END
  FROM legacy_compare_parent c
  LEFT JOIN legacy_guest_values v ON v.legacy_id = c.legacy_id
  LEFT JOIN reservation_guests g ON g.reservation_pk = c.v2_pk AND g.position = 0
 WHERE c.stream = 'reservations' AND c.v2_pk IS NOT NULL AND c.legacy_id IS NOT NULL
   AND (v.legacy_id IS NOT NULL OR g.id IS NOT NULL);
