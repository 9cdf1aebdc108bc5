-- Legacy properties → properties. One staging row per legacy row; `reason` is set for every
-- row that cannot load (first failing check wins) and such rows go to legacy_reject whole.
-- A bad coordinate rejects the row rather than loading it without a location: the operator
-- fixes the legacy value and re-runs (idempotent), nothing is guessed.

CREATE TEMP TABLE legacy_property ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       l.property_id AS raw_property_id,
       pg_temp.to_bigint(l.property_id) AS property_id,
       l.property_company_id AS raw_company_id,
       pg_temp.to_bigint(l.property_company_id) AS company_id,
       l.property_latitude AS raw_latitude,
       pg_temp.to_numeric(l.property_latitude) AS latitude,
       l.property_longitude AS raw_longitude,
       pg_temp.to_numeric(l.property_longitude) AS longitude,
       NULL::text AS reason,
       to_jsonb(l) AS record
  FROM breezeaway_properties_gw l;

UPDATE legacy_property lp SET reason = CASE
    WHEN NOT EXISTS (SELECT 1 FROM regions r WHERE r.region_code = lp.region_code)
        THEN format('orphan: region_code %L is not a known region', lp.region_code)
    WHEN lp.property_id IS NULL
        THEN format('bad_value: property_id %L is not an integer id', lp.raw_property_id)
    WHEN NOT pg_temp.absent(lp.raw_latitude) AND lp.latitude IS NULL
        THEN format('bad_value: latitude %L is not a number', lp.raw_latitude)
    WHEN lp.latitude NOT BETWEEN -90 AND 90
        THEN format('bad_value: latitude %s is outside -90..90', lp.latitude)
    WHEN NOT pg_temp.absent(lp.raw_longitude) AND lp.longitude IS NULL
        THEN format('bad_value: longitude %L is not a number', lp.raw_longitude)
    WHEN lp.longitude NOT BETWEEN -180 AND 180
        THEN format('bad_value: longitude %s is outside -180..180', lp.longitude)
    WHEN NOT pg_temp.absent(lp.raw_company_id) AND lp.company_id IS NULL
        THEN format('bad_value: property_company_id %L is not an integer id', lp.raw_company_id)
END;

-- '0123' and '123' are one property: among the loadable rows the last written (highest
-- legacy id) wins, the others are rejected as duplicates.
UPDATE legacy_property lp
   SET reason = format('duplicate: property %s in region %s is also legacy row %s, which is loaded',
                       lp.property_id, lp.region_code, d.kept)
  FROM (SELECT legacy_id,
               max(legacy_id) OVER (PARTITION BY property_id, region_code) AS kept
          FROM legacy_property WHERE reason IS NULL) d
 WHERE d.legacy_id = lp.legacy_id AND d.kept <> d.legacy_id;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_properties', legacy_id, region_code, reason, record
  FROM legacy_property WHERE reason IS NOT NULL;

-- The API is the authority: a property the pipeline already loaded is left as it is.
INSERT INTO properties (
    property_id, region_code, company_id, reference_external_property_id,
    reference_property_id, reference_company_id, name, status, display, address1, address2,
    building, city, state, zipcode, country, latitude, longitude, wifi_name, wifi_password)
SELECT lp.property_id, lp.region_code, lp.company_id,
       pg_temp.clean(l.reference_external_property_id), pg_temp.clean(l.reference_property_id),
       pg_temp.clean(l.reference_company_id), pg_temp.clean(l.property_name),
       pg_temp.clean(l.property_status), pg_temp.clean(l.property_display),
       pg_temp.clean(l.property_address1), pg_temp.clean(l.property_address2),
       pg_temp.clean(l.property_building), pg_temp.clean(l.property_city),
       pg_temp.clean(l.property_state), pg_temp.clean(l.property_zipcode),
       pg_temp.clean(l.property_country), lp.latitude, lp.longitude,
       pg_temp.clean(l.property_wifi_name), pg_temp.clean(l.property_wifi_password)
  FROM legacy_property lp
  JOIN breezeaway_properties_gw l ON l.id = lp.legacy_id
 WHERE lp.reason IS NULL
ON CONFLICT ON CONSTRAINT uq_properties_natural_key DO NOTHING;

-- The reject reason of a row whose property is not loaded (reservations, tasks): says
-- whether the property's own legacy row was rejected or never existed. PL/pgSQL, so its
-- body is checked at call time, after legacy_property exists.
CREATE OR REPLACE FUNCTION pg_temp.orphan_of_property(noun text, id bigint, region text)
RETURNS text LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN format('orphan: %s %s is not loaded in region %s (%s)', noun, id, region,
                  CASE WHEN EXISTS (SELECT 1 FROM legacy_property lp
                                     WHERE lp.property_id = id AND lp.region_code = region)
                       THEN 'its legacy row was rejected'
                       ELSE 'absent from the legacy properties' END);
END;
$fn$;
