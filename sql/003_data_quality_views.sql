-- 003: data-quality and monitoring views.
--
-- Foreign keys are NOT NULL, so a row can never point at a missing parent: an "orphan" here
-- is a record that has no live parent — quarantined because its parent was missing, or
-- loaded under a parent that was soft-deleted since, or (tasks) linked to a reservation we
-- do not know. Counts use one subquery per table so joins never multiply them.

COMMENT ON COLUMN load_rejects.reason IS
    'Reason code, then ": " and details. Codes: orphan (the parent record is not '
    'loaded), bad_value (a value failed a cast or a check), duplicate (natural key twice in '
    'one source), invalid_record (not the stream contract). Views match on the code.';

-- A text Breezeway id from a JSON record, as bigint when it is one (NULL otherwise).
CREATE FUNCTION bigint_or_null(value text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN btrim(value) ~ '^[0-9]{1,18}$' THEN btrim(value)::bigint END;

CREATE VIEW v_properties_without_photos AS
SELECT p.id AS property_pk, p.property_id, p.region_code, p.name, p.status, p.synced_at
  FROM properties p
 WHERE p.deleted_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM property_photos ph WHERE ph.property_pk = p.id);
COMMENT ON VIEW v_properties_without_photos IS
    'Live (not soft-deleted) properties with no photo row.';

CREATE VIEW v_orphaned_reservations AS
SELECT 'rejected_missing_property'::text AS orphan_kind,
       lr.region_code::text AS region_code,
       bigint_or_null(coalesce(lr.record ->> 'id', lr.record ->> 'reservation_id')) AS reservation_id,
       bigint_or_null(lr.record ->> 'property_id') AS property_id,
       NULL::bigint AS reservation_pk,
       lr.id AS reject_id,
       lr.reason,
       lr.last_seen_at AS seen_at
  FROM load_rejects lr
 WHERE lr.resolved_at IS NULL
   AND lr.stream IN ('reservations', 'legacy_reservations')
   AND lr.reason LIKE 'orphan:%'
UNION ALL
SELECT 'property_soft_deleted', r.region_code, r.reservation_id, r.property_id, r.id,
       NULL, 'property deleted at ' || p.deleted_at, r.synced_at
  FROM reservations r
  JOIN properties p ON p.id = r.property_pk
 WHERE r.deleted_at IS NULL AND p.deleted_at IS NOT NULL;
COMMENT ON VIEW v_orphaned_reservations IS
    'Reservations without a live property: open load_rejects (streams reservations and '
    'legacy_reservations) whose reason code is orphan, plus live reservations whose '
    'property is soft-deleted. reservation_pk is NULL for a quarantined record.';

CREATE VIEW v_orphaned_tasks AS
SELECT 'rejected_missing_property'::text AS orphan_kind,
       lr.region_code::text AS region_code,
       bigint_or_null(coalesce(lr.record ->> 'id', lr.record ->> 'task_id')) AS task_id,
       bigint_or_null(lr.record ->> 'home_id') AS home_id,
       bigint_or_null(lr.record ->> 'linked_reservation_id') AS linked_reservation_id,
       NULL::bigint AS task_pk,
       lr.id AS reject_id,
       lr.reason,
       lr.last_seen_at AS seen_at
  FROM load_rejects lr
 WHERE lr.resolved_at IS NULL
   AND lr.stream IN ('tasks', 'legacy_tasks')
   AND lr.reason LIKE 'orphan:%'
UNION ALL
SELECT 'property_soft_deleted', t.region_code, t.task_id, t.home_id, t.linked_reservation_id,
       t.id, NULL, 'property deleted at ' || p.deleted_at, t.synced_at
  FROM tasks t
  JOIN properties p ON p.id = t.property_pk
 WHERE t.deleted_at IS NULL AND p.deleted_at IS NOT NULL
UNION ALL
SELECT 'reservation_unknown', t.region_code, t.task_id, t.home_id, t.linked_reservation_id,
       t.id, NULL, 'linked reservation ' || t.linked_reservation_id || ' not loaded', t.synced_at
  FROM tasks t
 WHERE t.deleted_at IS NULL
   AND t.reservation_pk IS NULL AND t.linked_reservation_id IS NOT NULL
UNION ALL
SELECT 'reservation_soft_deleted', t.region_code, t.task_id, t.home_id,
       t.linked_reservation_id, t.id, NULL, 'reservation deleted at ' || r.deleted_at,
       t.synced_at
  FROM tasks t
  JOIN reservations r ON r.id = t.reservation_pk
 WHERE t.deleted_at IS NULL AND r.deleted_at IS NOT NULL;
COMMENT ON VIEW v_orphaned_tasks IS
    'Tasks without a live parent: open load_rejects (streams tasks and legacy_tasks) whose '
    'reason code is orphan; live tasks whose property is soft-deleted; live tasks whose '
    'linked_reservation_id matches no loaded reservation (reservation_unknown); live tasks '
    'whose reservation is soft-deleted. A task can appear under several kinds.';

CREATE VIEW v_region_stats AS
SELECT rg.region_code,
       rg.region_name,
       rg.is_active,
       props.live AS property_count,
       props.deleted AS deleted_property_count,
       (SELECT count(*) FROM property_photos ph JOIN properties p ON p.id = ph.property_pk
         WHERE p.region_code = rg.region_code AND p.deleted_at IS NULL) AS photo_count,
       (SELECT count(*) FROM reservations r
         WHERE r.region_code = rg.region_code AND r.deleted_at IS NULL) AS reservation_count,
       (SELECT count(*) FROM reservation_guests g JOIN reservations r ON r.id = g.reservation_pk
         WHERE r.region_code = rg.region_code AND r.deleted_at IS NULL) AS guest_count,
       (SELECT count(*) FROM tasks t
         WHERE t.region_code = rg.region_code AND t.deleted_at IS NULL) AS task_count,
       (SELECT count(*) FROM load_rejects lr
         WHERE lr.region_code = rg.region_code AND lr.resolved_at IS NULL) AS open_reject_count,
       runs.last_sync_at,
       now() - runs.last_sync_at AS last_sync_age
  FROM regions rg
  CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE p.deleted_at IS NULL) AS live,
               count(*) FILTER (WHERE p.deleted_at IS NOT NULL) AS deleted
          FROM properties p WHERE p.region_code = rg.region_code) props
  CROSS JOIN LATERAL (
        SELECT max(s.finished_at) AS last_sync_at
          FROM sync_runs s
         WHERE s.region_code = rg.region_code AND s.status = 'succeeded') runs;
COMMENT ON VIEW v_region_stats IS
    'Per region: live properties (and soft-deleted ones), their photos, live reservations, '
    'their guests, live tasks, open rejects, and the last successful sync. Each count is its '
    'own subquery, so counts are never multiplied by joins.';

CREATE VIEW v_sync_status AS
SELECT latest.region_code,
       latest.stream,
       latest.run_id,
       latest.status,
       latest.started_at,
       latest.finished_at,
       now() - coalesce(latest.finished_at, latest.started_at) AS age,
       latest.records_read,
       latest.records_loaded,
       latest.records_rejected,
       latest.error_text,
       success.last_succeeded_at,
       now() - success.last_succeeded_at AS success_age
  FROM (SELECT DISTINCT ON (s.region_code, s.stream) s.*
          FROM sync_runs s
         ORDER BY s.region_code, s.stream, s.started_at DESC, s.id DESC) latest
  CROSS JOIN LATERAL (
        SELECT max(s.finished_at) AS last_succeeded_at
          FROM sync_runs s
         WHERE s.region_code = latest.region_code AND s.stream = latest.stream
           AND s.status = 'succeeded') success;
COMMENT ON VIEW v_sync_status IS
    'Latest run per region and stream (by started_at) with its age (since it finished, or '
    'started while running) and the last successful run; one row per region and stream seen.';
