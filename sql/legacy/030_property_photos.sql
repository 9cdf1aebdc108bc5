-- Photo sets → property_photos, for the properties this run wrote (legacy-owned) only: a
-- legacy-owned property's photos are exactly its winning row's set, so a re-run that picks
-- a new winner replaces the set. Photos of pipeline-owned properties are the API's and are
-- never touched; the sets of rejected rows travel inside the property's reject.

CREATE TEMP TABLE legacy_photo_set ON COMMIT DROP AS
SELECT lp.legacy_id, lp.region_code, lp.property_pk, s.problem, s.record
  FROM legacy_property lp
  JOIN legacy_photo_sets s ON s.legacy_id = lp.legacy_id
 WHERE lp.property_pk IS NOT NULL;
ANALYZE legacy_photo_set;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_property_photos', legacy_id, region_code, problem, record
  FROM legacy_photo_set WHERE problem IS NOT NULL;

-- A refused set leaves the property without photos: none of another copy's stay behind.
DELETE FROM property_photos ph
 USING legacy_photo_set s
 WHERE ph.property_pk = s.property_pk
   AND NOT EXISTS (
       SELECT 1 FROM legacy_photo_values v
        WHERE v.legacy_id = s.legacy_id AND v.photo_id = ph.photo_id
          AND (v.position, v.url, v.original_url, v.caption, v.is_default)
              IS NOT DISTINCT FROM
              (ph.position, ph.url, ph.original_url, ph.caption, ph.is_default));

INSERT INTO property_photos (property_pk, photo_id, position, url, original_url, caption,
                             is_default)
SELECT s.property_pk, v.photo_id, v.position, v.url, v.original_url, v.caption, v.is_default
  FROM legacy_photo_set s
  JOIN legacy_photo_values v ON v.legacy_id = s.legacy_id
 WHERE NOT EXISTS (SELECT 1 FROM property_photos ph
                    WHERE ph.property_pk = s.property_pk AND ph.photo_id = v.photo_id);
