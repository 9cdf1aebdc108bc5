-- Legacy properties → properties. Every legacy row ends in exactly one outcome:
--   pipeline — the pipeline owns the property (its v2 row is not legacy-owned): the API's
--              row wins over every legacy copy, which is left alone and not rejected;
--   loaded   — the winner among the loadable copies of its property: the highest legacy id,
--              on every run, so fixing a row re-evaluates the winner. Its values are
--              written (inserted, or updated while the row is legacy-owned);
--   rejected — a value that cannot convert, an unknown region, or a loadable copy that is
--              not the winner (duplicate). One open load_rejects row each (090_rejects.sql).
-- The caller holds SHARE ROW EXCLUSIVE on the v2 parent and child tables: no pipeline
-- load changes ownership while this runs.

-- This run's rejects; 090_rejects.sql writes them to load_rejects.
CREATE TEMP TABLE legacy_reject (
    stream       text   NOT NULL,
    legacy_id    bigint NOT NULL,
    region_code  text,
    reason       text   NOT NULL,
    record       jsonb  NOT NULL,
    PRIMARY KEY (stream, legacy_id)
) ON COMMIT DROP;

CREATE TEMP TABLE legacy_property ON COMMIT DROP AS
SELECT v.*,
       CASE WHEN NOT EXISTS (SELECT 1 FROM regions r WHERE r.region_code = v.region_code)
            THEN format('orphan: region_code %L is not a known region', v.region_code)
            ELSE v.problem END AS reason,
       NULL::text AS outcome,
       NULL::bigint AS property_pk
  FROM legacy_property_values v;

CREATE UNIQUE INDEX ON legacy_property (legacy_id);
CREATE INDEX ON legacy_property (property_id, region_code);
ANALYZE legacy_property;

UPDATE legacy_property lp SET outcome = 'pipeline'
  FROM legacy_v2_properties p
 WHERE p.property_id = lp.property_id AND p.region_code = lp.region_code
   AND p.owner_legacy_id IS NULL;

-- '0123' and '123' are one property.
UPDATE legacy_property lp SET outcome = 'loaded'
  FROM (SELECT DISTINCT ON (property_id, region_code) legacy_id
          FROM legacy_property
         WHERE reason IS NULL AND outcome IS NULL
         ORDER BY property_id, region_code, legacy_id DESC) w
 WHERE lp.legacy_id = w.legacy_id;

UPDATE legacy_property lp
   SET outcome = 'rejected',
       reason = coalesce(lp.reason, format(
           'duplicate: property %s in region %s: legacy row %s is the copy loaded (the highest '
           'legacy id among loadable copies)', lp.property_id, lp.region_code, w.legacy_id))
  FROM legacy_property w
 WHERE lp.outcome IS NULL
   AND w.outcome = 'loaded' AND w.property_id = lp.property_id
   AND w.region_code = lp.region_code;
UPDATE legacy_property SET outcome = 'rejected' WHERE outcome IS NULL;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_properties', legacy_id, region_code, reason, record
  FROM legacy_property WHERE outcome = 'rejected';

-- Legacy-owned rows take the winner's values (updated_at moves only on a real change);
-- the WHERE keeps a pipeline-owned row untouched even if ownership changed after all.
WITH written AS (
    INSERT INTO properties AS t (
        property_id, region_code, company_id, reference_external_property_id,
        reference_property_id, reference_company_id, name, status, display, address1, address2,
        building, city, state, zipcode, country, latitude, longitude, wifi_name, wifi_password,
        synced_at)
    SELECT property_id, region_code, company_id, reference_external_property_id,
           reference_property_id, reference_company_id, name, status, display, address1,
           address2, building, city, state, zipcode, country, latitude, longitude, wifi_name,
           wifi_password, now()
      FROM legacy_property WHERE outcome = 'loaded'
    ON CONFLICT ON CONSTRAINT uq_properties_natural_key DO UPDATE
       SET company_id = EXCLUDED.company_id,
           reference_external_property_id = EXCLUDED.reference_external_property_id,
           reference_property_id = EXCLUDED.reference_property_id,
           reference_company_id = EXCLUDED.reference_company_id,
           name = EXCLUDED.name, status = EXCLUDED.status, display = EXCLUDED.display,
           address1 = EXCLUDED.address1, address2 = EXCLUDED.address2,
           building = EXCLUDED.building, city = EXCLUDED.city, state = EXCLUDED.state,
           zipcode = EXCLUDED.zipcode, country = EXCLUDED.country,
           latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude,
           wifi_name = EXCLUDED.wifi_name, wifi_password = EXCLUDED.wifi_password,
           updated_at = CASE WHEN (t.company_id, t.reference_external_property_id,
                                   t.reference_property_id, t.reference_company_id, t.name,
                                   t.status, t.display, t.address1, t.address2, t.building,
                                   t.city, t.state, t.zipcode, t.country, t.latitude,
                                   t.longitude, t.wifi_name, t.wifi_password)
                                  IS DISTINCT FROM
                                  (EXCLUDED.company_id, EXCLUDED.reference_external_property_id,
                                   EXCLUDED.reference_property_id, EXCLUDED.reference_company_id,
                                   EXCLUDED.name, EXCLUDED.status, EXCLUDED.display,
                                   EXCLUDED.address1, EXCLUDED.address2, EXCLUDED.building,
                                   EXCLUDED.city, EXCLUDED.state, EXCLUDED.zipcode,
                                   EXCLUDED.country, EXCLUDED.latitude, EXCLUDED.longitude,
                                   EXCLUDED.wifi_name, EXCLUDED.wifi_password)
                             THEN now() ELSE t.updated_at END,
           synced_at = EXCLUDED.synced_at
     WHERE EXISTS (SELECT 1 FROM legacy_loads lo
                    WHERE lo.stream = 'properties' AND lo.region_code = t.region_code
                      AND lo.natural_id = t.property_id AND lo.synced_at = t.synced_at)
    RETURNING t.id, t.property_id, t.region_code
)
UPDATE legacy_property lp SET property_pk = w.id
  FROM written w
 WHERE lp.outcome = 'loaded' AND w.property_id = lp.property_id
   AND w.region_code = lp.region_code;

INSERT INTO legacy_loads (stream, region_code, natural_id, legacy_id, run_id, synced_at)
SELECT 'properties', region_code, property_id, legacy_id,
       current_setting('breezeway.legacy_run_id'), now()
  FROM legacy_property WHERE property_pk IS NOT NULL
ON CONFLICT (stream, region_code, natural_id) DO UPDATE
   SET legacy_id = EXCLUDED.legacy_id, run_id = EXCLUDED.run_id,
       synced_at = EXCLUDED.synced_at;

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
