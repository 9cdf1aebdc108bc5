-- Legacy reservations → reservations (+ their one flattened guest → reservation_guests),
-- with the outcomes of 020_properties.sql. A reservation whose property is not loaded
-- (whoever loaded it) is an orphan, saying whether the property's own legacy row was
-- rejected or never existed.

CREATE TEMP TABLE legacy_reservation ON COMMIT DROP AS
SELECT v.*,
       p.id AS property_pk,
       CASE WHEN NOT EXISTS (SELECT 1 FROM regions r WHERE r.region_code = v.region_code)
            THEN format('orphan: region_code %L is not a known region', v.region_code)
            WHEN v.problem IS NOT NULL THEN v.problem
            WHEN p.id IS NULL
            THEN pg_temp.orphan_of_property('property', v.property_id, v.region_code)
       END AS reason,
       NULL::text AS outcome,
       NULL::bigint AS reservation_pk
  FROM legacy_reservation_values v
  LEFT JOIN properties p ON p.property_id = v.property_id AND p.region_code = v.region_code;

CREATE UNIQUE INDEX ON legacy_reservation (legacy_id);
CREATE INDEX ON legacy_reservation (reservation_id, region_code);
ANALYZE legacy_reservation;

UPDATE legacy_reservation lr SET outcome = 'pipeline'
  FROM legacy_v2_reservations r
 WHERE r.reservation_id = lr.reservation_id AND r.region_code = lr.region_code
   AND r.owner_legacy_id IS NULL;

UPDATE legacy_reservation lr SET outcome = 'loaded'
  FROM (SELECT DISTINCT ON (reservation_id, region_code) legacy_id
          FROM legacy_reservation
         WHERE reason IS NULL AND outcome IS NULL
         ORDER BY reservation_id, region_code, legacy_id DESC) w
 WHERE lr.legacy_id = w.legacy_id;

UPDATE legacy_reservation lr
   SET outcome = 'rejected',
       reason = coalesce(lr.reason, format(
           'duplicate: reservation %s in region %s: legacy row %s is the copy loaded (the '
           'highest legacy id among loadable copies)', lr.reservation_id, lr.region_code,
           w.legacy_id))
  FROM legacy_reservation w
 WHERE lr.outcome IS NULL
   AND w.outcome = 'loaded' AND w.reservation_id = lr.reservation_id
   AND w.region_code = lr.region_code;
UPDATE legacy_reservation SET outcome = 'rejected' WHERE outcome IS NULL;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_reservations', legacy_id, region_code, reason, record
  FROM legacy_reservation WHERE outcome = 'rejected';

WITH written AS (
    INSERT INTO reservations AS t (
        reservation_id, region_code, property_pk, property_id, reference_reservation_id,
        reference_property_id, reference_external_property_id, status, access_code, guide_url,
        note, checkin_date, checkin_time, checkout_date, checkout_time, synced_at)
    SELECT reservation_id, region_code, property_pk, property_id, reference_reservation_id,
           reference_property_id, reference_external_property_id, status, access_code,
           guide_url, note, checkin_date, checkin_time, checkout_date, checkout_time, now()
      FROM legacy_reservation WHERE outcome = 'loaded'
    ON CONFLICT ON CONSTRAINT uq_reservations_natural_key DO UPDATE
       SET property_pk = EXCLUDED.property_pk, property_id = EXCLUDED.property_id,
           reference_reservation_id = EXCLUDED.reference_reservation_id,
           reference_property_id = EXCLUDED.reference_property_id,
           reference_external_property_id = EXCLUDED.reference_external_property_id,
           status = EXCLUDED.status, access_code = EXCLUDED.access_code,
           guide_url = EXCLUDED.guide_url, note = EXCLUDED.note,
           checkin_date = EXCLUDED.checkin_date, checkin_time = EXCLUDED.checkin_time,
           checkout_date = EXCLUDED.checkout_date, checkout_time = EXCLUDED.checkout_time,
           updated_at = CASE WHEN (t.property_pk, t.reference_reservation_id,
                                   t.reference_property_id, t.reference_external_property_id,
                                   t.status, t.access_code, t.guide_url, t.note, t.checkin_date,
                                   t.checkin_time, t.checkout_date, t.checkout_time)
                                  IS DISTINCT FROM
                                  (EXCLUDED.property_pk, EXCLUDED.reference_reservation_id,
                                   EXCLUDED.reference_property_id,
                                   EXCLUDED.reference_external_property_id, EXCLUDED.status,
                                   EXCLUDED.access_code, EXCLUDED.guide_url, EXCLUDED.note,
                                   EXCLUDED.checkin_date, EXCLUDED.checkin_time,
                                   EXCLUDED.checkout_date, EXCLUDED.checkout_time)
                             THEN now() ELSE t.updated_at END,
           synced_at = EXCLUDED.synced_at
     WHERE EXISTS (SELECT 1 FROM legacy_loads lo
                    WHERE lo.stream = 'reservations' AND lo.region_code = t.region_code
                      AND lo.natural_id = t.reservation_id AND lo.synced_at = t.synced_at)
    RETURNING t.id, t.reservation_id, t.region_code
)
UPDATE legacy_reservation lr SET reservation_pk = w.id
  FROM written w
 WHERE lr.outcome = 'loaded' AND w.reservation_id = lr.reservation_id
   AND w.region_code = lr.region_code;

INSERT INTO legacy_loads (stream, region_code, natural_id, legacy_id, run_id, synced_at)
SELECT 'reservations', region_code, reservation_id, legacy_id,
       current_setting('breezeway.legacy_run_id'), now()
  FROM legacy_reservation WHERE reservation_pk IS NOT NULL
ON CONFLICT (stream, region_code, natural_id) DO UPDATE
   SET legacy_id = EXCLUDED.legacy_id, run_id = EXCLUDED.run_id,
       synced_at = EXCLUDED.synced_at;

-- A legacy-owned reservation's guests are exactly its winning row's guest (or none).
DELETE FROM reservation_guests g
 USING legacy_reservation lr
 WHERE lr.reservation_pk IS NOT NULL AND g.reservation_pk = lr.reservation_pk
   AND NOT EXISTS (
       SELECT 1 FROM legacy_guest_values v
        WHERE v.legacy_id = lr.legacy_id AND v.position = g.position
          AND (v.first_name, v.last_name, v.email, v.emails, v.phone_numbers)
              IS NOT DISTINCT FROM
              (g.first_name, g.last_name, g.email, g.emails, g.phone_numbers));

INSERT INTO reservation_guests (reservation_pk, position, first_name, last_name, email,
                                emails, phone_numbers)
SELECT lr.reservation_pk, v.position, v.first_name, v.last_name, v.email, v.emails,
       v.phone_numbers
  FROM legacy_reservation lr
  JOIN legacy_guest_values v ON v.legacy_id = lr.legacy_id
 WHERE lr.reservation_pk IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM reservation_guests g
                    WHERE g.reservation_pk = lr.reservation_pk AND g.position = v.position);
