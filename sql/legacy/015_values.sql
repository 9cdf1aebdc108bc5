-- The documented transforms, once: every legacy row as the v2 row it becomes. The
-- migration writes these values, validate-legacy compares the v2 tables with them and
-- compare-legacy compares them with what the pipeline loaded, so the three cannot drift.
-- Runs after schema v2 exists (the ownership views read it). Temp tables of the
-- transaction, filled once from the legacy tables as they are now (one snapshot even while
-- the old scripts keep writing) and indexed on the keys every later step joins on.

SELECT pg_temp.legacy_create_sources();

-- `problem`: the first value that cannot be converted (NULL: the row is loadable as far as
-- its own values go). Reasons name the column, never the value: values may be guest
-- contacts, door codes or wifi passwords (the whole row is in load_rejects.record).
CREATE TEMP TABLE legacy_property_values ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       x.property_id,
       x.company_id,
       pg_temp.clean(l.reference_external_property_id) AS reference_external_property_id,
       pg_temp.clean(l.reference_property_id) AS reference_property_id,
       pg_temp.clean(l.reference_company_id) AS reference_company_id,
       pg_temp.clean(l.property_name) AS name,
       pg_temp.clean(l.property_status) AS status,
       pg_temp.clean(l.property_display) AS display,
       pg_temp.clean(l.property_address1) AS address1,
       pg_temp.clean(l.property_address2) AS address2,
       pg_temp.clean(l.property_building) AS building,
       pg_temp.clean(l.property_city) AS city,
       pg_temp.clean(l.property_state) AS state,
       pg_temp.clean(l.property_zipcode) AS zipcode,
       pg_temp.clean(l.property_country) AS country,
       CASE WHEN x.latitude BETWEEN -90 AND 90 THEN x.latitude::numeric(10, 7) END AS latitude,
       CASE WHEN x.longitude BETWEEN -180 AND 180
            THEN x.longitude::numeric(10, 7) END AS longitude,
       pg_temp.clean(l.property_wifi_name) AS wifi_name,
       pg_temp.clean(l.property_wifi_password) AS wifi_password,
       CASE
           WHEN x.property_id IS NULL THEN 'bad_value: property_id is not an integer id'
           WHEN NOT pg_temp.absent(l.property_latitude) AND x.latitude IS NULL
               THEN 'bad_value: property_latitude is not a number'
           WHEN x.latitude NOT BETWEEN -90 AND 90
               THEN 'bad_value: property_latitude is outside -90..90'
           WHEN NOT pg_temp.absent(l.property_longitude) AND x.longitude IS NULL
               THEN 'bad_value: property_longitude is not a number'
           WHEN x.longitude NOT BETWEEN -180 AND 180
               THEN 'bad_value: property_longitude is outside -180..180'
           WHEN NOT pg_temp.absent(l.property_company_id) AND x.company_id IS NULL
               THEN 'bad_value: property_company_id is not an integer id'
       END AS problem,
       to_jsonb(l) AS record
  FROM legacy_properties_src l
 CROSS JOIN LATERAL (
       SELECT pg_temp.to_bigint(l.property_id) AS property_id,
              pg_temp.to_bigint(l.property_company_id) AS company_id,
              pg_temp.to_numeric(l.property_latitude) AS latitude,
              pg_temp.to_numeric(l.property_longitude) AS longitude) x;

-- The five photo strings are parallel arrays joined with `--x--`. When they split into
-- different lengths the pairing is lost — typically a URL or caption that itself contains
-- `--x--` — so the whole set is refused rather than mis-paired. caption / original_url /
-- default may be absent altogether: then every photo gets NULL / NULL / false.
CREATE TEMP TABLE legacy_photo_sets ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       pg_temp.to_bigint(l.property_id) AS property_id,
       a.ids, a.urls, a.captions, a.originals, a.defaults,
       CASE
           WHEN cardinality(a.urls) = 0 AND cardinality(a.ids) > 0
               THEN format('bad_value: property_photos_url has no value for %s photo id(s)',
                           cardinality(a.ids))
           WHEN cardinality(a.urls) <> cardinality(a.ids)
             OR cardinality(a.captions) NOT IN (0, cardinality(a.ids))
             OR cardinality(a.originals) NOT IN (0, cardinality(a.ids))
             OR cardinality(a.defaults) NOT IN (0, cardinality(a.ids))
               THEN format('bad_value: photo strings split into different lengths (id %s, url %s, '
                           'caption %s, original_url %s, default %s); a value containing the '
                           '--x-- delimiter?', cardinality(a.ids), cardinality(a.urls),
                           cardinality(a.captions), cardinality(a.originals),
                           cardinality(a.defaults))
           WHEN EXISTS (SELECT 1 FROM unnest(a.ids) x WHERE pg_temp.to_bigint(x) IS NULL)
               THEN format('bad_value: the photo id at position %s is not an integer id',
                           (SELECT min(n) - 1 FROM unnest(a.ids) WITH ORDINALITY u (x, n)
                             WHERE pg_temp.to_bigint(x) IS NULL))
           WHEN EXISTS (SELECT 1 FROM unnest(a.urls) x WHERE pg_temp.absent(x))
               THEN format('bad_value: the photo at position %s has no url',
                           (SELECT min(n) - 1 FROM unnest(a.urls) WITH ORDINALITY u (x, n)
                             WHERE pg_temp.absent(x)))
           WHEN EXISTS (SELECT 1 FROM unnest(a.defaults) x
                         WHERE NOT pg_temp.absent(x) AND pg_temp.to_bool(x) IS NULL)
               THEN 'bad_value: a photo default flag is neither true nor false'
           WHEN (SELECT count(*) FROM unnest(a.defaults) x WHERE pg_temp.to_bool(x)) > 1
               THEN 'bad_value: more than one default photo'
           WHEN (SELECT count(DISTINCT pg_temp.to_bigint(x)) FROM unnest(a.ids) x)
                <> cardinality(a.ids)
               THEN 'bad_value: the same photo id twice'
       END AS problem,
       jsonb_build_object(
           'property_id', l.property_id, 'region_code', l.region_code,
           'property_photos_id', l.property_photos_id,
           'property_photos_url', l.property_photos_url,
           'property_photos_caption', l.property_photos_caption,
           'property_photos_original_url', l.property_photos_original_url,
           'property_photos_default', l.property_photos_default) AS record
  FROM legacy_properties_src l
 CROSS JOIN LATERAL (
       SELECT pg_temp.split_photos(l.property_photos_id) AS ids,
              pg_temp.split_photos(l.property_photos_url) AS urls,
              pg_temp.split_photos(l.property_photos_caption) AS captions,
              pg_temp.split_photos(l.property_photos_original_url) AS originals,
              pg_temp.split_photos(l.property_photos_default) AS defaults) a;

-- One row per photo of a set that splits cleanly; position = place in the strings.
CREATE TEMP TABLE legacy_photo_values ON COMMIT DROP AS
SELECT s.legacy_id,
       s.region_code,
       s.property_id,
       pg_temp.to_bigint(e.raw_id) AS photo_id,
       (e.ordinal - 1)::integer AS position,
       s.urls[e.ordinal] AS url,
       pg_temp.clean(s.originals[e.ordinal]) AS original_url,
       pg_temp.clean(s.captions[e.ordinal]) AS caption,
       coalesce(pg_temp.to_bool(s.defaults[e.ordinal]), false) AS is_default
  FROM legacy_photo_sets s
 CROSS JOIN LATERAL unnest(s.ids) WITH ORDINALITY AS e (raw_id, ordinal)
 WHERE s.problem IS NULL;

CREATE TEMP TABLE legacy_reservation_values ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       x.reservation_id,
       x.property_id,
       pg_temp.clean(l.reference_reservation_id) AS reference_reservation_id,
       pg_temp.clean(l.reference_property_id) AS reference_property_id,
       pg_temp.clean(l.reference_external_property_id) AS reference_external_property_id,
       pg_temp.clean(l.reservation_status) AS status,
       pg_temp.clean(l.access_code) AS access_code,
       pg_temp.clean(l.guide_url) AS guide_url,
       pg_temp.clean(l.note) AS note,
       x.checkin_date, x.checkin_time, x.checkout_date, x.checkout_time,
       CASE
           WHEN x.reservation_id IS NULL THEN 'bad_value: reservation_id is not an integer id'
           WHEN x.property_id IS NULL THEN 'bad_value: property_id is not an integer id'
           WHEN NOT pg_temp.absent(l.checkin_date) AND x.checkin_date IS NULL
               THEN 'bad_value: checkin_date is not a date'
           WHEN NOT pg_temp.absent(l.checkout_date) AND x.checkout_date IS NULL
               THEN 'bad_value: checkout_date is not a date'
           WHEN NOT pg_temp.absent(l.checkin_time) AND x.checkin_time IS NULL
               THEN 'bad_value: checkin_time is not a time'
           WHEN NOT pg_temp.absent(l.checkout_time) AND x.checkout_time IS NULL
               THEN 'bad_value: checkout_time is not a time'
           WHEN x.checkin_date > x.checkout_date
               THEN 'bad_value: checkin_date is after checkout_date'
       END AS problem,
       to_jsonb(l) AS record
  FROM legacy_reservations_src l
 CROSS JOIN LATERAL (
       SELECT pg_temp.to_bigint(l.reservation_id) AS reservation_id,
              pg_temp.to_bigint(l.property_id) AS property_id,
              pg_temp.to_date(l.checkin_date) AS checkin_date,
              pg_temp.to_time(l.checkin_time) AS checkin_time,
              pg_temp.to_date(l.checkout_date) AS checkout_date,
              pg_temp.to_time(l.checkout_time) AS checkout_time) x;

-- The legacy scripts kept one guest per reservation, flattened: it becomes position 0.
-- Email and phone are trimmed everywhere they appear (email, emails[0], number).
CREATE TEMP TABLE legacy_guest_values ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       pg_temp.to_bigint(l.reservation_id) AS reservation_id,
       0 AS position,
       pg_temp.clean(l.guest_first_name) AS first_name,
       pg_temp.clean(l.guest_last_name) AS last_name,
       g.email,
       CASE WHEN g.email IS NOT NULL THEN jsonb_build_array(g.email)
            ELSE '[]'::jsonb END AS emails,
       CASE WHEN g.phone IS NOT NULL THEN jsonb_build_array(jsonb_build_object('number', g.phone))
            ELSE '[]'::jsonb END AS phone_numbers,
       g.phone
  FROM legacy_reservations_src l
 CROSS JOIN LATERAL (SELECT btrim(pg_temp.clean(l.guest_email)) AS email,
                            btrim(pg_temp.clean(l.guest_phone)) AS phone) g
 WHERE num_nonnulls(pg_temp.clean(l.guest_first_name), pg_temp.clean(l.guest_last_name),
                    g.email, g.phone) > 0;

CREATE TEMP TABLE legacy_task_values ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       x.task_id,
       x.home_id,
       x.linked_reservation_id,
       pg_temp.clean(l.task_name) AS name,
       pg_temp.clean(l.task_description) AS description,
       pg_temp.clean(l.task_status) AS status_code,
       pg_temp.clean(l.type_department) AS type_department,
       pg_temp.clean(l.type_priority) AS type_priority,
       x.scheduled_date,
       x.source_created_at,
       x.finished_at,
       CASE WHEN abs(x.total_cost) < 1e12 THEN x.total_cost::numeric(14, 2) END AS total_cost,
       CASE
           WHEN x.task_id IS NULL THEN 'bad_value: task_id is not an integer id'
           WHEN pg_temp.absent(l.home_id)
               THEN 'bad_value: home_id has no value (a task needs its property)'
           WHEN x.home_id IS NULL THEN 'bad_value: home_id is not an integer id'
           WHEN NOT pg_temp.absent(l.linked_reservation_id) AND x.linked_reservation_id IS NULL
               THEN 'bad_value: linked_reservation_id is not an integer id'
           WHEN NOT pg_temp.absent(l.scheduled_date) AND x.scheduled_date IS NULL
               THEN 'bad_value: scheduled_date is not a date'
           WHEN NOT pg_temp.absent(l.created_at) AND x.source_created_at IS NULL
               THEN 'bad_value: created_at is not a timestamp'
           WHEN NOT pg_temp.absent(l.finished_at) AND x.finished_at IS NULL
               THEN 'bad_value: finished_at is not a timestamp'
           WHEN NOT pg_temp.absent(l.total_cost)
                AND (x.total_cost IS NULL OR abs(x.total_cost) >= 1e12)
               THEN 'bad_value: total_cost is not an amount'
       END AS problem,
       to_jsonb(l) AS record
  FROM legacy_tasks_src l
 CROSS JOIN LATERAL (
       SELECT pg_temp.to_bigint(l.task_id) AS task_id,
              pg_temp.to_bigint(l.home_id) AS home_id,
              pg_temp.to_bigint(l.linked_reservation_id) AS linked_reservation_id,
              pg_temp.to_date(l.scheduled_date) AS scheduled_date,
              pg_temp.to_timestamptz(l.created_at) AS source_created_at,
              pg_temp.to_timestamptz(l.finished_at) AS finished_at,
              pg_temp.to_numeric(l.total_cost) AS total_cost) x;

CREATE UNIQUE INDEX ON legacy_property_values (legacy_id);
CREATE INDEX ON legacy_property_values (property_id, region_code);
CREATE UNIQUE INDEX ON legacy_photo_sets (legacy_id);
CREATE INDEX ON legacy_photo_values (legacy_id, photo_id);
CREATE UNIQUE INDEX ON legacy_reservation_values (legacy_id);
CREATE INDEX ON legacy_reservation_values (reservation_id, region_code);
CREATE INDEX ON legacy_guest_values (legacy_id);
CREATE UNIQUE INDEX ON legacy_task_values (legacy_id);
CREATE INDEX ON legacy_task_values (task_id, region_code);
ANALYZE legacy_property_values, legacy_photo_sets, legacy_photo_values,
    legacy_reservation_values, legacy_guest_values, legacy_task_values;

-- The v2 parents with their owner (006_legacy_loads.sql): owner_legacy_id is the legacy
-- row whose values a legacy-owned row holds, NULL when the pipeline owns the row.
DROP VIEW IF EXISTS pg_temp.legacy_v2_properties, pg_temp.legacy_v2_reservations,
    pg_temp.legacy_v2_tasks;

CREATE TEMP VIEW legacy_v2_properties AS
SELECT p.*, lo.legacy_id AS owner_legacy_id
  FROM properties p
  LEFT JOIN legacy_loads lo
    ON lo.stream = 'properties' AND lo.region_code = p.region_code
   AND lo.natural_id = p.property_id AND lo.synced_at = p.synced_at;

CREATE TEMP VIEW legacy_v2_reservations AS
SELECT r.*, lo.legacy_id AS owner_legacy_id
  FROM reservations r
  LEFT JOIN legacy_loads lo
    ON lo.stream = 'reservations' AND lo.region_code = r.region_code
   AND lo.natural_id = r.reservation_id AND lo.synced_at = r.synced_at;

CREATE TEMP VIEW legacy_v2_tasks AS
SELECT t.*, lo.legacy_id AS owner_legacy_id
  FROM tasks t
  LEFT JOIN legacy_loads lo
    ON lo.stream = 'tasks' AND lo.region_code = t.region_code
   AND lo.natural_id = t.task_id AND lo.synced_at = t.synced_at;
