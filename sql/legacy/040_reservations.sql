-- Legacy reservations → reservations (+ their one flattened guest → reservation_guests).
-- A reservation whose property is not loaded is an orphan: rejected with reason orphan,
-- saying whether the property's own legacy row was rejected or never existed.

CREATE TEMP TABLE legacy_reservation ON COMMIT DROP AS
SELECT l.id AS legacy_id,
       l.region_code,
       pg_temp.to_bigint(l.reservation_id) AS reservation_id,
       pg_temp.to_bigint(l.property_id) AS property_id,
       pg_temp.to_date(l.checkin_date) AS checkin_date,
       pg_temp.to_time(l.checkin_time) AS checkin_time,
       pg_temp.to_date(l.checkout_date) AS checkout_date,
       pg_temp.to_time(l.checkout_time) AS checkout_time,
       NULL::bigint AS property_pk,
       NULL::text AS reason,
       to_jsonb(l) AS record
  FROM breezeaway_reservations_gw l;

UPDATE legacy_reservation lr SET property_pk = p.id
  FROM properties p
 WHERE p.property_id = lr.property_id AND p.region_code = lr.region_code;

UPDATE legacy_reservation lr SET reason = CASE
    WHEN NOT EXISTS (SELECT 1 FROM regions r WHERE r.region_code = lr.region_code)
        THEN format('orphan: region_code %L is not a known region', lr.region_code)
    WHEN lr.reservation_id IS NULL
        THEN format('bad_value: reservation_id %L is not an integer id', lr.record ->> 'reservation_id')
    WHEN lr.property_id IS NULL
        THEN format('bad_value: property_id %L is not an integer id', lr.record ->> 'property_id')
    WHEN lr.property_pk IS NULL
        THEN pg_temp.orphan_of_property('property', lr.property_id, lr.region_code)
    WHEN NOT pg_temp.absent(lr.record ->> 'checkin_date') AND lr.checkin_date IS NULL
        THEN format('bad_value: checkin_date %L is not a date', lr.record ->> 'checkin_date')
    WHEN NOT pg_temp.absent(lr.record ->> 'checkout_date') AND lr.checkout_date IS NULL
        THEN format('bad_value: checkout_date %L is not a date', lr.record ->> 'checkout_date')
    WHEN NOT pg_temp.absent(lr.record ->> 'checkin_time') AND lr.checkin_time IS NULL
        THEN format('bad_value: checkin_time %L is not a time', lr.record ->> 'checkin_time')
    WHEN NOT pg_temp.absent(lr.record ->> 'checkout_time') AND lr.checkout_time IS NULL
        THEN format('bad_value: checkout_time %L is not a time', lr.record ->> 'checkout_time')
    WHEN lr.checkin_date > lr.checkout_date
        THEN format('bad_value: checkin_date %s is after checkout_date %s',
                    lr.checkin_date, lr.checkout_date)
END;

UPDATE legacy_reservation lr
   SET reason = format('duplicate: reservation %s in region %s is also legacy row %s, which is loaded',
                       lr.reservation_id, lr.region_code, d.kept)
  FROM (SELECT legacy_id,
               max(legacy_id) OVER (PARTITION BY reservation_id, region_code) AS kept
          FROM legacy_reservation WHERE reason IS NULL) d
 WHERE d.legacy_id = lr.legacy_id AND d.kept <> d.legacy_id;

INSERT INTO legacy_reject (stream, legacy_id, region_code, reason, record)
SELECT 'legacy_reservations', legacy_id, region_code, reason, record
  FROM legacy_reservation WHERE reason IS NOT NULL;

INSERT INTO reservations (
    reservation_id, region_code, property_pk, property_id, reference_reservation_id,
    reference_property_id, reference_external_property_id, status, access_code, guide_url,
    note, checkin_date, checkin_time, checkout_date, checkout_time)
SELECT lr.reservation_id, lr.region_code, lr.property_pk, lr.property_id,
       pg_temp.clean(l.reference_reservation_id), pg_temp.clean(l.reference_property_id),
       pg_temp.clean(l.reference_external_property_id), pg_temp.clean(l.reservation_status),
       pg_temp.clean(l.access_code), pg_temp.clean(l.guide_url), pg_temp.clean(l.note),
       lr.checkin_date, lr.checkin_time, lr.checkout_date, lr.checkout_time
  FROM legacy_reservation lr
  JOIN breezeaway_reservations_gw l ON l.id = lr.legacy_id
 WHERE lr.reason IS NULL
ON CONFLICT ON CONSTRAINT uq_reservations_natural_key DO NOTHING;

-- The legacy scripts kept one guest per reservation, flattened: it becomes position 0.
INSERT INTO reservation_guests (reservation_pk, position, first_name, last_name, email,
                                emails, phone_numbers)
SELECT r.id, 0, pg_temp.clean(l.guest_first_name), pg_temp.clean(l.guest_last_name),
       pg_temp.clean(l.guest_email),
       CASE WHEN pg_temp.clean(l.guest_email) IS NOT NULL
            THEN jsonb_build_array(btrim(l.guest_email)) ELSE '[]'::jsonb END,
       CASE WHEN pg_temp.clean(l.guest_phone) IS NOT NULL
            THEN jsonb_build_array(jsonb_build_object('number', btrim(l.guest_phone)))
            ELSE '[]'::jsonb END
  FROM legacy_reservation lr
  JOIN breezeaway_reservations_gw l ON l.id = lr.legacy_id
  JOIN reservations r ON r.reservation_id = lr.reservation_id AND r.region_code = lr.region_code
 WHERE lr.reason IS NULL
   AND num_nonnulls(pg_temp.clean(l.guest_first_name), pg_temp.clean(l.guest_last_name),
                    pg_temp.clean(l.guest_email), pg_temp.clean(l.guest_phone)) > 0
   AND NOT EXISTS (SELECT 1 FROM reservation_guests g WHERE g.reservation_pk = r.id);
