-- 004: the reject reason code for a missing parent is `orphan:` — the code the target writes
-- ("orphan: parent properties id=… is neither in the database nor loadable …") and the
-- legacy migration uses. 003 matched `missing_parent`; the two orphan views are redefined
-- (same columns) and the column comment corrected.

COMMENT ON COLUMN load_rejects.reason IS
    'Reason code, then ": " and details. Codes: orphan (the parent record is not loaded), '
    'bad_value (a value failed a cast or a check), duplicate (natural key twice in one '
    'source). Views match on the code.';

CREATE OR REPLACE VIEW v_orphaned_reservations AS
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

CREATE OR REPLACE VIEW v_orphaned_tasks AS
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

COMMENT ON VIEW v_orphaned_reservations IS
    'Reservations without a live property: open load_rejects (streams reservations and '
    'legacy_reservations) whose reason code is orphan, plus live reservations whose '
    'property is soft-deleted. reservation_pk is NULL for a quarantined record.';
COMMENT ON VIEW v_orphaned_tasks IS
    'Tasks without a live parent: open load_rejects (streams tasks and legacy_tasks) whose '
    'reason code is orphan; live tasks whose property is soft-deleted; live tasks whose '
    'linked_reservation_id matches no loaded reservation (reservation_unknown); live tasks '
    'whose reservation is soft-deleted. A task can appear under several kinds.';
