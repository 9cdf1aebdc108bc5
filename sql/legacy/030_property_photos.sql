-- Legacy photo strings → property_photos, split by position (WITH ORDINALITY).
-- The five strings are parallel arrays joined with `--x--`. When they split into different
-- lengths the pairing is lost — typically a URL or caption that itself contains `--x--` —
-- so the whole set is rejected (stream legacy_property_photos) rather than mis-paired.
-- caption / original_url / default may be absent altogether ('' or NULL): then every photo
-- gets NULL / NULL / false. Sets of rejected properties travel inside the property's reject.

CREATE TEMP TABLE legacy_photo_set ON COMMIT DROP AS
SELECT lp.legacy_id,
       lp.region_code,
       p.id AS property_pk,
       pg_temp.split_photos(l.property_photos_id) AS ids,
       pg_temp.split_photos(l.property_photos_url) AS urls,
       pg_temp.split_photos(l.property_photos_caption) AS captions,
       pg_temp.split_photos(l.property_photos_original_url) AS originals,
       pg_temp.split_photos(l.property_photos_default) AS defaults,
       NULL::text AS reason,
       jsonb_build_object(
           'property_id', l.property_id, 'region_code', l.region_code,
           'property_photos_id', l.property_photos_id,
           'property_photos_url', l.property_photos_url,
           'property_photos_caption', l.property_photos_caption,
           'property_photos_original_url', l.property_photos_original_url,
           'property_photos_default', l.property_photos_default) AS record
  FROM legacy_property lp
  JOIN breezeaway_properties_gw l ON l.id = lp.legacy_id
  JOIN properties p ON p.property_id = lp.property_id AND p.region_code = lp.region_code
 WHERE lp.reason IS NULL
   AND (pg_temp.split_photos(l.property_photos_id) <> '{}'
        OR pg_temp.split_photos(l.property_photos_url) <> '{}');

UPDATE legacy_photo_set s SET reason = CASE
    WHEN cardinality(s.urls) <> cardinality(s.ids)
      OR cardinality(s.captions) NOT IN (0, cardinality(s.ids))
      OR cardinality(s.originals) NOT IN (0, cardinality(s.ids))
      OR cardinality(s.defaults) NOT IN (0, cardinality(s.ids))
        THEN format('bad_value: photo strings split into different lengths (id %s, url %s, '
                    'caption %s, original_url %s, default %s); a value containing the --x-- '
                    'delimiter?', cardinality(s.ids), cardinality(s.urls),
                    cardinality(s.captions), cardinality(s.originals), cardinality(s.defaults))
    WHEN EXISTS (SELECT 1 FROM unnest(s.ids) x WHERE pg_temp.to_bigint(x) IS NULL)
        THEN format('bad_value: photo id %L is not an integer id',
                    (SELECT x FROM unnest(s.ids) x WHERE pg_temp.to_bigint(x) IS NULL LIMIT 1))
    WHEN EXISTS (SELECT 1 FROM unnest(s.urls) x WHERE btrim(x) = '')
        THEN 'bad_value: a photo has an empty url'
    WHEN EXISTS (SELECT 1 FROM unnest(s.defaults) x
                  WHERE NOT pg_temp.absent(x) AND pg_temp.to_bool(x) IS NULL)
        THEN 'bad_value: a photo default flag is neither true nor false'
    WHEN (SELECT count(*) FROM unnest(s.defaults) x WHERE pg_temp.to_bool(x)) > 1
        THEN 'bad_value: more than one default photo'
    WHEN (SELECT count(DISTINCT pg_temp.to_bigint(x)) FROM unnest(s.ids) x)
         <> cardinality(s.ids)
        THEN 'bad_value: the same photo id twice'
END;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_property_photos', legacy_id, region_code, reason, record
  FROM legacy_photo_set WHERE reason IS NOT NULL;

-- Only into a property without photos: a re-run adds nothing, and photos the pipeline
-- already loaded from the API are not mixed with legacy ones.
INSERT INTO property_photos (property_pk, photo_id, position, url, original_url, caption,
                             is_default)
SELECT s.property_pk, pg_temp.to_bigint(e.raw_id), e.ordinal - 1, s.urls[e.ordinal],
       pg_temp.clean(s.originals[e.ordinal]), pg_temp.clean(s.captions[e.ordinal]),
       coalesce(pg_temp.to_bool(s.defaults[e.ordinal]), false)
  FROM legacy_photo_set s
 CROSS JOIN LATERAL unnest(s.ids) WITH ORDINALITY AS e (raw_id, ordinal)
 WHERE s.reason IS NULL
   AND NOT EXISTS (SELECT 1 FROM property_photos ph WHERE ph.property_pk = s.property_pk);
